//! What `perch run` is told: every setting of the daemon's tasks, as plain values.

use std::path::PathBuf;
use std::time::Duration;

use crate::bird::install::Installer;
use crate::datastore::source::Source;
use crate::plan::PlanOptions;
use crate::status::http::Readiness;

/// Everything `perch run` needs.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub node: String,
    pub plan_options: PlanOptions,
    pub source: Source,
    pub secrets_dir: Option<PathBuf>,
    /// Felix's endpoint-status directory (local workload peering), watched.
    pub endpoint_status_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    pub installer: Installer,
    /// Re-render from the cached snapshot this often (drift repair; no re-list).
    pub resync_interval: Duration,
    /// Ask BIRD for `show status` this often (restarts, reachability).
    pub bird_poll_interval: Duration,
    /// Read BIRD's full view (`show status` and `show protocols all`) at most this often.
    pub status_interval: Duration,
    /// Coalescing: apply once changes pause for `quiet`, at the latest `max_delay` after the first.
    pub quiet: Duration,
    pub max_delay: Duration,
    /// Confirmed apply: install with `configure timeout`, and confirm only if every session
    /// that was Established before is Established again within this window; else undo.
    pub confirm_window: Option<Duration>,
    /// The status endpoint's `/readyz` rule (the listener is handed to `start`).
    pub readiness: Readiness,
    /// With [`Readiness::CalicoBgp`]: how long after start every session must be Established.
    pub readiness_threshold: Duration,
}
