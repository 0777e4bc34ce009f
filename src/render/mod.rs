//! Plan → BIRD 2 config text.
//!
//! Owns: the render view ([`view`]: every value decided, sorted and made safe for BIRD config
//! in Rust), and the tera templates that print it ([`templates`]: the built-in ones compiled
//! into the binary, or an operator's directory). Templates use strict variables: a missing
//! value is an error, never an empty string.
//! [`blocks`] traces a line of the rendered text back to its `protocol bgp` session (for
//! BIRD's refusals).
//! Must not: plan, touch BIRD, or write files.

pub(crate) mod blocks;
mod error;
pub(crate) mod templates;
pub(crate) mod view;

use crate::plan::Plan;
use crate::snapshot::Snapshot;

pub use error::RenderError;
pub use templates::{MAIN_TEMPLATE, Templates};
pub use view::{View, build as build_view};

/// Renders `plan` (planned from `snapshot`) with `templates`.
pub fn render(
    plan: &Plan,
    snapshot: &Snapshot,
    templates: &Templates,
) -> Result<String, RenderError> {
    templates.render(&view::build(plan, snapshot))
}
