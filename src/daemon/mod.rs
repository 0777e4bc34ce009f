//! `perch run`: the sidecar. Wires the tasks together:
//!
//! ```text
//! datastore task ─Update─► sync task (owns Snapshot) ─watch<Arc<Snapshot>>─► reconciler ─► bird::install
//! secrets watch ──Update─┘                        templates watch ─watch<Templates>─┘   ▲
//!                                                 bird monitor ─(restarted/back)─────────┘
//! ```
//!
//! The sync task is the one owner of the snapshot and publishes it only when it is complete
//! (never mid re-list). The reconciler coalesces bursts ([`coalesce`]), plans, renders and
//! installs; BIRD is touched only when the bytes change or BIRD restarted. Everything the
//! daemon knows is published as [`DaemonState`] for the status endpoints.

pub mod coalesce;
mod reconcile;
mod tasks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::bird::install::Installer;
use crate::plan::{Plan, PlanOptions};
use crate::snapshot::Snapshot;
use crate::status::metrics::Metrics;

/// Where resources come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Files(PathBuf),
    Etcd(crate::datastore::etcd::EtcdConfig),
}

/// Everything `perch run` needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub node: String,
    pub plan_options: PlanOptions,
    pub source: SourceConfig,
    pub secrets_dir: Option<PathBuf>,
    /// Felix's endpoint-status directory (local workload peering), watched.
    pub endpoint_status_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    pub installer: Installer,
    /// Re-render from the cached snapshot this often (drift repair; no re-list).
    pub resync_interval: Duration,
    /// Ask BIRD for its status this often (restart detection).
    pub bird_poll_interval: Duration,
    /// Coalescing: apply once changes pause for `quiet`, at the latest `max_delay` after the first.
    pub quiet: Duration,
    pub max_delay: Duration,
    /// Confirmed apply: install with `configure timeout`, and confirm only if every session
    /// that was Established before is Established again within this window; else undo.
    pub confirm_window: Option<Duration>,
}

/// The datastore as the daemon sees it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreState {
    /// `files` or `etcdv3`.
    pub kind: String,
    /// A complete view has been received at least once.
    pub synced: bool,
    /// Reachable and in sync now.
    pub available: bool,
    pub revision: i64,
    pub events: u64,
    pub last_error: Option<String>,
}

/// The outcome of one apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyResult {
    Unchanged,
    Reconfigured,
    InstalledBirdUnreachable,
    Rejected,
    /// Applied with `configure timeout`, sessions did not come back, BIRD undid it.
    RolledBack,
    RenderFailed,
    Error,
}

impl ApplyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyResult::Unchanged => "unchanged",
            ApplyResult::Reconfigured => "reconfigured",
            ApplyResult::InstalledBirdUnreachable => "installed_bird_unreachable",
            ApplyResult::Rejected => "rejected",
            ApplyResult::RolledBack => "rolled_back",
            ApplyResult::RenderFailed => "render_failed",
            ApplyResult::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyRecord {
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
    /// Why it ran: `datastore`, `templates`, `resync`, `bird restarted`, …
    pub trigger: String,
}

/// BIRD as the monitor last saw it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BirdState {
    pub reachable: bool,
    pub version: Option<String>,
    #[serde(rename = "routerID")]
    pub router_id: Option<String>,
    pub last_reboot: Option<String>,
    pub last_reconfiguration: Option<String>,
    pub restarts_seen: u64,
    pub error: Option<String>,
    /// Why this BIRD cannot run the planned config (an IPIP pool needs `onlink`).
    pub incompatible: Option<String>,
}

/// Everything the daemon knows, published after every change.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonState {
    pub node: String,
    pub started_at: String,
    pub datastore: DatastoreState,
    pub last_apply: Option<ApplyRecord>,
    /// The last apply that BIRD accepted (or found unchanged).
    pub last_success: Option<ApplyRecord>,
    pub applies: u64,
    pub reconfigures: u64,
    /// The first full sync was applied and BIRD accepted the config.
    pub ready: bool,
    pub bird: BirdState,
    pub templates: String,
    pub templates_error: Option<String>,
    #[serde(skip)]
    pub plan: Option<Arc<Plan>>,
    #[serde(skip)]
    pub snapshot: Option<Arc<Snapshot>>,
}

/// A running daemon: its state and metrics, and the tasks to wait for.
pub struct Daemon {
    pub state: watch::Receiver<DaemonState>,
    pub metrics: Arc<Metrics>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Starts every task. They stop when `cancel` is cancelled.
    pub fn start(cfg: RunConfig, cancel: CancellationToken) -> Daemon {
        tasks::start(cfg, cancel)
    }

    /// Waits for every task to stop.
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
