//! How a session uses one of its BGPFilters: the value a [`super::peer::Peer`] carries and
//! [`super::filters`] decides.
//!
//! Owns: [`FilterCall`]. Must not: import `peer` or `filters` (both import it).

use serde::Serialize;

/// How a session uses one of its BGPFilters in one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FilterCall {
    /// Call the function; `sameAs` is the argument when it takes one.
    Function {
        filter: String,
        symbol: String,
        same_as: Option<bool>,
    },
    /// The filter is missing or invalid as a whole (it did not decode): reject every route
    /// here. A rule Calico refuses costs only itself (see `resources::filter_rules`).
    RejectAll { filter: String, reason: String },
}
