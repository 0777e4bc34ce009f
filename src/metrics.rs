//! perch's own Prometheus metrics (apply outcomes and timing, datastore events, revision,
//! skipped resources). The daemon's tasks update them; `status::http` serves them, with the
//! per-protocol BIRD metrics produced at scrape time from the BIRD monitor's view.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabel {
    /// `unchanged`, `reconfigured`, `installed_bird_unreachable`, `rejected`, `render_failed`, `error`.
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    pub kind: String,
}

/// The metrics the daemon updates.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub registry: Registry,
    pub apply: Family<ResultLabel, Counter>,
    pub apply_duration: Histogram,
    pub datastore_events: Family<KindLabel, Counter>,
    pub config_revision: Gauge,
    pub bird_reconfigures: Counter,
    pub bird_refused_sessions: Gauge,
    pub datastore_up: Gauge,
    pub skipped_resources: Gauge,
    pub node_status_checks: Counter,
    pub node_status_writes: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("perch");
        let apply = Family::<ResultLabel, Counter>::default();
        registry.register(
            "apply",
            "Render-and-install attempts by result",
            apply.clone(),
        );
        let apply_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "apply_duration_seconds",
            "Time from the start of an apply (plan, render, check, install, configure) to its end",
            apply_duration.clone(),
        );
        let datastore_events = Family::<KindLabel, Counter>::default();
        registry.register(
            "datastore_events",
            "Datastore events applied to the snapshot, by kind",
            datastore_events.clone(),
        );
        let config_revision = Gauge::default();
        registry.register(
            "config_revision",
            "Datastore revision of the config BIRD last accepted (etcd revision; a counter for files)",
            config_revision.clone(),
        );
        let bird_reconfigures = Counter::default();
        registry.register(
            "bird_reconfigure",
            "configure commands BIRD accepted",
            bird_reconfigures.clone(),
        );
        let bird_refused_sessions = Gauge::default();
        registry.register(
            "bird_refused_sessions",
            "BGP sessions BIRD refused, left out of the config so that the rest applies (listed in /status)",
            bird_refused_sessions.clone(),
        );
        let datastore_up = Gauge::default();
        registry.register(
            "datastore_up",
            "1 when the datastore is reachable and in sync",
            datastore_up.clone(),
        );
        let skipped_resources = Gauge::default();
        registry.register(
            "skipped_resources",
            "Resources skipped because perch cannot use them (listed in /status)",
            skipped_resources.clone(),
        );
        let node_status_checks = Counter::default();
        registry.register(
            "node_status_checks",
            "CalicoNodeStatus resources of this node evaluated for an update",
            node_status_checks.clone(),
        );
        let node_status_writes = Counter::default();
        registry.register(
            "node_status_writes",
            "CalicoNodeStatus status writes to the datastore",
            node_status_writes.clone(),
        );
        Metrics {
            registry,
            apply,
            apply_duration,
            datastore_events,
            config_revision,
            bird_reconfigures,
            bird_refused_sessions,
            datastore_up,
            skipped_resources,
            node_status_checks,
            node_status_writes,
        }
    }

    /// The registry in Prometheus text exposition format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        out
    }
}
