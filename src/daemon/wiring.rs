//! The one place the daemon is wired: every channel is created and every task spawned here,
//! the status server and the CalicoNodeStatus writer included.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::channels::{BirdEvent, Published};
use super::config::RunConfig;
use super::{monitor, reconcile, tasks};
use crate::datastore::Update;
use crate::metrics::Metrics;
use crate::time::rfc3339;
use crate::views::{BirdUnavailable, BirdView, DatastoreView, ReconcileView, RoutesView, Views};

/// How long the tasks get to stop after shutdown is asked for (the status server gives
/// requests in flight 2 s of it).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A running daemon: the tasks to wait for.
pub(crate) struct Daemon {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Starts every task, and the status server on `listener` when given. They stop when
    /// `cancel` is cancelled.
    pub(crate) fn start(
        cfg: RunConfig,
        listener: Option<tokio::net::TcpListener>,
        cancel: CancellationToken,
    ) -> Daemon {
        let metrics = Arc::new(Metrics::new());
        let (updates_tx, updates_rx) = mpsc::channel::<Update>(4096);
        let (snap_tx, snap_rx) = watch::channel::<Option<Published>>(None);
        let (bird_events_tx, bird_events_rx) = mpsc::channel::<BirdEvent>(16);
        let (datastore_tx, datastore_rx) = watch::channel(DatastoreView {
            kind: cfg.source.kind().into(),
            ..Default::default()
        });
        let (reconcile_tx, reconcile_rx) = watch::channel(ReconcileView::default());
        let (bird_tx, bird_rx) =
            watch::channel(Arc::new(BirdView::unknown(BirdUnavailable::NotAskedYet)));
        let (routes_tx, routes_rx) = watch::channel(false);
        let (route_check_tx, route_check_rx) = watch::channel(Arc::new(RoutesView::default()));
        let refresh = Arc::new(tokio::sync::Notify::new());

        // Every node's block affinities: the plan keeps this node's, the route check needs
        // the others' (the blocks this node must route).
        let mut handles = vec![cfg.source.spawn(
            crate::datastore::etcd::value::ALL_NODES,
            updates_tx.clone(),
            cancel.clone(),
        )];
        if let Some(dir) = cfg.secrets_dir.clone() {
            handles.push(tokio::spawn(tasks::watch_secrets(
                dir,
                updates_tx.clone(),
                cancel.clone(),
            )));
        }
        if let Some(dir) = cfg.endpoint_status_dir.clone() {
            handles.push(tokio::spawn(tasks::watch_local_workloads(
                dir,
                updates_tx.clone(),
                cancel.clone(),
            )));
        }
        drop(updates_tx);
        let (templates, templates_view) = tasks::load_templates(cfg.templates_dir.as_ref());
        let (templates_tx, templates_rx) = watch::channel(Arc::new(templates));
        let (templates_view_tx, templates_view_rx) = watch::channel(templates_view);
        if let Some(dir) = cfg.templates_dir.clone() {
            handles.push(tokio::spawn(tasks::watch_templates(
                dir,
                templates_tx,
                templates_view_tx,
                cancel.clone(),
            )));
        }
        handles.push(tokio::spawn(tasks::sync(
            updates_rx,
            cfg.secrets_dir.clone(),
            snap_tx,
            datastore_tx,
            metrics.clone(),
            cancel.clone(),
        )));
        handles.push(tokio::spawn(
            monitor::Monitor {
                socket: cfg.installer.socket.clone(),
                timeout: cfg.installer.command_timeout,
                poll_every: cfg.bird_poll_interval,
                view_every: cfg.status_interval,
                events: bird_events_tx,
                view: bird_tx,
                routes_wanted: routes_rx,
                refresh: refresh.clone(),
                reconcile: reconcile_rx.clone(),
                routes: route_check_tx,
            }
            .run(cancel.clone()),
        ));
        let views = Views {
            node: cfg.node.clone(),
            started_at: rfc3339(SystemTime::now()),
            datastore: datastore_rx,
            reconcile: reconcile_rx,
            bird: bird_rx,
            templates: templates_view_rx,
            routes: route_check_rx,
        };
        if let Some(listener) = listener {
            handles.push(tokio::spawn(crate::status::http::serve(
                listener,
                views.clone(),
                metrics.clone(),
                cfg.readiness,
                cfg.readiness_threshold,
                cancel.clone(),
            )));
        }
        handles.push(tokio::spawn(crate::status::writer::run(
            cfg.source.clone(),
            views.clone(),
            routes_tx,
            metrics.clone(),
            cancel.clone(),
        )));
        handles.push(tokio::spawn(reconcile::run(
            cfg,
            reconcile::Inputs {
                snapshots: snap_rx,
                templates: templates_rx,
                bird_events: bird_events_rx,
                bird: views.bird.clone(),
                refresh,
            },
            reconcile_tx,
            metrics.clone(),
            cancel,
        )));
        Daemon { tasks: handles }
    }

    /// Waits for every task to stop, at most [`SHUTDOWN_GRACE`]: a configure or a query
    /// waiting on a hung BIRD (or etcd) would otherwise hold the exit for its timeouts. What
    /// is cut short is what a kill would cut short; BIRD finishes a configure it was sent.
    pub(crate) async fn join(self) {
        let all = async {
            for t in self.tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            warn!(
                "exiting with work in flight {SHUTDOWN_GRACE:?} after shutdown was asked for (BIRD or the datastore not answering)"
            );
        }
    }
}
