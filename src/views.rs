//! The views `perch run` publishes: the contract between the tasks that own the runtime state
//! (`daemon`) and the ones that only read it (`status`). Each view has one owner task, which
//! publishes it on its own `tokio::sync::watch` channel; everyone else reads the latest.
//!
//! | view               | owner (in `daemon`)  | readers                                   |
//! |--------------------|----------------------|-------------------------------------------|
//! | [`DatastoreView`]  | the sync task        | `/status`, the page                       |
//! | [`ReconcileView`]  | the reconciler       | `/status`, `/plan`, `/readyz`, the writer |
//! | [`BirdView`]       | the BIRD monitor     | `/status`, `/metrics`, `/readyz`, the writer, drift repair, confirmed apply |
//! | [`TemplatesView`]  | the templates watch  | `/status`                                 |
//! | [`RoutesView`]     | the BIRD monitor     | `/routes`, `/status`, `/metrics`, `/readyz`, the page |
//!
//! Owns: the types and the one "is Established" rule. Must not: do I/O or import `daemon` or
//! `status` (both import it).

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::watch;

use crate::bird::BirdError;
use crate::bird::parse::{ProtocolDetails, RouteEntry, Status};
use crate::plan::Plan;
use crate::resources::Warning;
use crate::routes::RouteCheck;
use crate::snapshot::Snapshot;

/// The datastore as the sync task sees it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatastoreView {
    /// `files` or `etcdv3`.
    pub kind: String,
    /// A complete view has been received at least once.
    pub synced: bool,
    /// Reachable and in sync now.
    pub available: bool,
    pub revision: i64,
    pub events: u64,
    pub last_error: Option<String>,
    /// Resources skipped because perch cannot use them, with why (never a secret's value).
    pub skipped: Vec<Warning>,
}

/// The outcome of one apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ApplyResult {
    Unchanged,
    Reconfigured,
    FileOnly,
    Rejected,
    /// Applied with `configure timeout`, sessions did not come back, BIRD undid it.
    RolledBack,
    RenderFailed,
    Error,
}

impl ApplyResult {
    /// The metric label and `/status` word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApplyResult::Unchanged => "unchanged",
            ApplyResult::Reconfigured => "reconfigured",
            ApplyResult::FileOnly => "installed_bird_unreachable",
            ApplyResult::Rejected => "rejected",
            ApplyResult::RolledBack => "rolled_back",
            ApplyResult::RenderFailed => "render_failed",
            ApplyResult::Error => "error",
        }
    }

    /// BIRD runs the config perch planned (accepted now, or found unchanged).
    pub(crate) fn accepted(self) -> bool {
        matches!(self, ApplyResult::Unchanged | ApplyResult::Reconfigured)
    }
}

/// One apply: when, why, and what came of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplyRecord {
    /// RFC 3339.
    pub at: String,
    #[serde(skip)]
    pub at_time: SystemTime,
    /// When the apply finished (BIRD answered), in Unix milliseconds.
    pub at_unix_ms: u128,
    pub result: ApplyResult,
    pub error: Option<String>,
    pub duration_seconds: f64,
    /// Of which planning and rendering.
    pub render_seconds: Option<f64>,
    /// First 12 hex digits of SHA-256 of the rendered config.
    pub config_hash: Option<String>,
    pub revision: i64,
    /// Why it ran: `datastore`, `templates`, `resync`, `bird restarted`, `drift`, …
    pub trigger: String,
    /// Sessions BIRD refused, left out of this config so that the rest could be applied.
    pub refused: Vec<RefusedSession>,
}

/// A session BIRD refused (`configure` named a line of its `protocol bgp` block). It stays out
/// of the config until its plan entry or the templates change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefusedSession {
    /// The BIRD protocol name, e.g. `Global_10_0_0_1`.
    pub session: String,
    /// The resource it comes from: `BGPPeer`, or `Node` for a mesh session.
    pub kind: String,
    pub name: String,
    /// BIRD's words, e.g. `Keepalive time must be at most hold time`.
    pub reason: String,
}

/// What the reconciler publishes after every apply.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReconcileView {
    pub last_apply: Option<ApplyRecord>,
    /// The last apply that BIRD accepted (or found unchanged).
    pub last_success: Option<ApplyRecord>,
    pub applies: u64,
    pub reconfigures: u64,
    /// The first full sync was applied and BIRD accepted the config.
    pub ready: bool,
    /// The plan of the last apply that got as far as planning.
    pub plan: Option<Arc<Plan>>,
    /// The snapshot the last apply planned from.
    pub snapshot: Option<Arc<Snapshot>>,
}

/// The templates in use, as the templates watch publishes them.
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplatesView {
    /// `built-in` or the directory.
    pub source: String,
    /// Why the directory's templates are not in use (the last good ones are).
    pub error: Option<String>,
}

/// Why a [`BirdView`] holds no answer from BIRD. Readers report it (`/status`, `/readyz`) and
/// read the next view: the monitor asks again by itself at its poll interval.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum BirdUnavailable {
    /// The monitor has not asked BIRD yet.
    #[error("not asked yet")]
    NotAskedYet,
    /// Asking BIRD failed: unreachable, timed out, or an answer that did not parse (the
    /// client's message names the socket and the cause).
    #[error(transparent)]
    Bird(Arc<BirdError>),
}

impl From<BirdError> for BirdUnavailable {
    fn from(e: BirdError) -> BirdUnavailable {
        BirdUnavailable::Bird(Arc::new(e))
    }
}

/// One observation of BIRD, as the BIRD monitor publishes it.
#[derive(Debug, Clone)]
pub(crate) struct BirdView {
    /// When `protocols` was read.
    pub fetched_at: SystemTime,
    /// The session greeting's version, when connected.
    pub version: Option<String>,
    pub status: Result<Status, BirdUnavailable>,
    pub protocols: Result<Vec<ProtocolDetails>, BirdUnavailable>,
    /// `show route`, read only while a CalicoNodeStatus asks for routes.
    pub routes: Option<Vec<RouteEntry>>,
    /// BIRD's local time offset from UTC (seconds), from its server time.
    pub utc_offset: i32,
    /// How many full views (`show status` + `show protocols all`) the monitor has read.
    pub queries: u64,
    /// Restarts of BIRD the monitor noticed.
    pub restarts_seen: u64,
}

impl BirdView {
    /// A view without an answer from BIRD, and why.
    pub(crate) fn unknown(why: BirdUnavailable) -> BirdView {
        BirdView {
            fetched_at: SystemTime::UNIX_EPOCH,
            version: None,
            status: Err(why.clone()),
            protocols: Err(why),
            routes: None,
            utc_offset: 0,
            queries: 0,
            restarts_seen: 0,
        }
    }

    /// BIRD answered the last `show status`.
    pub(crate) fn reachable(&self) -> bool {
        self.status.is_ok()
    }

    /// The BGP sessions Established in this view (empty when BIRD could not be asked).
    pub(crate) fn established(&self) -> std::collections::BTreeSet<String> {
        self.protocols
            .iter()
            .flatten()
            .filter(|p| p.row.proto == "BGP" && is_established(p))
            .map(|p| p.row.name.clone())
            .collect()
    }
}

/// The one "is Established" rule: the protocol is `up` and its BGP state is `Established`.
pub(crate) fn is_established(p: &ProtocolDetails) -> bool {
    let bgp_state = p
        .bgp
        .as_ref()
        .and_then(|b| b.state.as_deref())
        .or(p.row.bgp_state.as_deref());
    p.row.state == "up" && bgp_state == Some("Established")
}

/// Why the BIRD in `view` cannot run `plan`'s config (IPIP pools need `onlink`), or None.
pub(crate) fn bird_incompatible(plan: Option<&Plan>, view: &BirdView) -> Option<String> {
    let version = view.version.as_deref()?;
    let tunnels = plan.is_some_and(|p| p.route_policy.uses_tunnel());
    crate::bird::version::ipip_problem(version, tunnels)
}

/// The last route check (expected routes against BIRD's and the kernel's tables), as the BIRD
/// monitor publishes it: at most one check per status interval.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoutesView {
    /// The last check; None before the first (no plan yet).
    pub check: Option<Arc<RouteCheck>>,
    /// When the last check's BIRD query was sent.
    pub checked_at: Option<SystemTime>,
    /// perch's time for the last check (expected routes, BIRD's reply, kernel table, verdicts).
    pub seconds: f64,
    /// Checks run since start.
    pub checks: u64,
    /// Why the last check could not run (BIRD refused the query, the kernel read failed, …);
    /// `check` then keeps the one before.
    pub error: Option<String>,
}

/// Every view of a running daemon, for the readers.
#[derive(Debug, Clone)]
pub(crate) struct Views {
    pub node: String,
    /// RFC 3339.
    pub started_at: String,
    pub datastore: watch::Receiver<DatastoreView>,
    pub reconcile: watch::Receiver<ReconcileView>,
    pub bird: watch::Receiver<Arc<BirdView>>,
    pub templates: watch::Receiver<TemplatesView>,
    pub routes: watch::Receiver<Arc<RoutesView>>,
}
