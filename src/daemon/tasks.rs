//! The daemon's tasks other than the reconciler: the sync task that owns the snapshot, the
//! secrets and templates watchers, and the BIRD monitor.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::reconcile::{self, BirdEvent};
use super::{Daemon, DaemonState, RunConfig, SourceConfig};
use crate::bird::Client;
use crate::datastore::Update;
use crate::datastore::watch::PathWatch;
use crate::render::Templates;
use crate::snapshot::{Event, Snapshot};
use crate::status::metrics::{KindLabel, Metrics};
use crate::status::time::rfc3339;

/// A complete snapshot, as published to the reconciler.
#[derive(Debug, Clone)]
pub struct Published {
    pub snapshot: Arc<Snapshot>,
    pub revision: i64,
}

pub(super) fn start(cfg: RunConfig, cancel: CancellationToken) -> Daemon {
    let metrics = Arc::new(Metrics::new());
    let initial = DaemonState {
        node: cfg.node.clone(),
        started_at: rfc3339(SystemTime::now()),
        datastore: super::DatastoreState {
            kind: source_kind(&cfg.source).into(),
            ..Default::default()
        },
        templates: cfg
            .templates_dir
            .as_ref()
            .map_or("built-in".into(), |d| d.display().to_string()),
        ..Default::default()
    };
    let (state_tx, state_rx) = watch::channel(initial);
    let state_tx = Arc::new(state_tx);
    let (updates_tx, updates_rx) = mpsc::channel::<Update>(4096);
    let (snap_tx, snap_rx) = watch::channel::<Option<Published>>(None);
    let (bird_tx, bird_rx) = mpsc::channel::<BirdEvent>(16);

    let mut tasks = Vec::new();
    tasks.push(match &cfg.source {
        SourceConfig::Files(path) => {
            crate::datastore::files::spawn_watch(path.clone(), updates_tx.clone(), cancel.clone())
        }
        SourceConfig::Etcd(etcd) => crate::datastore::etcd::spawn(
            etcd.clone(),
            cfg.node.clone(),
            updates_tx.clone(),
            cancel.clone(),
        ),
    });
    if let Some(dir) = cfg.secrets_dir.clone() {
        tasks.push(tokio::spawn(watch_secrets(
            dir,
            updates_tx.clone(),
            cancel.clone(),
        )));
    }
    if let Some(dir) = cfg.endpoint_status_dir.clone() {
        tasks.push(tokio::spawn(watch_local_workloads(
            dir,
            updates_tx.clone(),
            cancel.clone(),
        )));
    }
    drop(updates_tx);
    let templates = load_templates(cfg.templates_dir.as_ref(), &state_tx);
    let (templates_tx, templates_rx) = watch::channel(Arc::new(templates));
    if let Some(dir) = cfg.templates_dir.clone() {
        tasks.push(tokio::spawn(watch_templates(
            dir,
            templates_tx,
            state_tx.clone(),
            cancel.clone(),
        )));
    }
    tasks.push(tokio::spawn(sync(
        updates_rx,
        snap_tx,
        state_tx.clone(),
        metrics.clone(),
        cancel.clone(),
    )));
    tasks.push(tokio::spawn(monitor_bird(
        cfg.installer.socket.clone(),
        cfg.bird_poll_interval,
        bird_tx,
        state_tx.clone(),
        cancel.clone(),
    )));
    tasks.push(tokio::spawn(reconcile::run(
        cfg,
        snap_rx,
        templates_rx,
        bird_rx,
        state_tx,
        metrics.clone(),
        cancel,
    )));
    Daemon {
        state: state_rx,
        metrics,
        tasks,
    }
}

fn source_kind(s: &SourceConfig) -> &'static str {
    match s {
        SourceConfig::Files(_) => "files",
        SourceConfig::Etcd(_) => "etcdv3",
    }
}

fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Upsert(_) => "upsert",
        Event::Delete(_) => "delete",
        Event::Undecodable { .. } => "undecodable",
        Event::Secrets(_) => "secrets",
        Event::LocalWorkloads(_) => "local_workloads",
        Event::Init | Event::InitDone => "relist",
        Event::InitApply(inner) => event_kind(inner),
    }
}

/// Owns the snapshot: applies updates in batches and publishes complete views.
async fn sync(
    mut rx: mpsc::Receiver<Update>,
    out: watch::Sender<Option<Published>>,
    state: Arc<watch::Sender<DaemonState>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut snapshot = Snapshot::new();
    let mut synced = false;
    let mut revision = 0;
    let mut dirty = false;
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            u = rx.recv() => match u { Some(u) => u, None => return },
        };
        let mut batch = vec![first];
        while batch.len() < 10_000 {
            match rx.try_recv() {
                Ok(u) => batch.push(u),
                Err(_) => break,
            }
        }
        let mut events = 0u64;
        let mut availability: Option<Result<(), String>> = None;
        for u in batch {
            match u {
                Update::Event(e) => {
                    metrics
                        .datastore_events
                        .get_or_create(&KindLabel {
                            kind: event_kind(&e).into(),
                        })
                        .inc();
                    events += 1;
                    dirty |= snapshot.apply(e);
                }
                Update::Synced { revision: r } => {
                    synced = true;
                    revision = r;
                    availability = Some(Ok(()));
                }
                Update::Unavailable { message } => availability = Some(Err(message)),
            }
        }
        if let Some(a) = &availability {
            metrics.datastore_up.set(i64::from(a.is_ok()));
        }
        state.send_modify(|s| {
            s.datastore.events += events;
            s.datastore.synced = synced;
            s.datastore.revision = revision;
            match &availability {
                Some(Ok(())) => {
                    s.datastore.available = true;
                    s.datastore.last_error = None;
                }
                Some(Err(m)) => {
                    s.datastore.available = false;
                    s.datastore.last_error = Some(m.clone());
                }
                None => {}
            }
        });
        if synced && dirty && !snapshot.is_relisting() {
            dirty = false;
            out.send_replace(Some(Published {
                snapshot: Arc::new(snapshot.clone()),
                revision,
            }));
        }
    }
}

async fn watch_secrets(dir: PathBuf, tx: mpsc::Sender<Update>, cancel: CancellationToken) {
    let read = |dir: &PathBuf| match crate::datastore::files::read_secrets(dir) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("secrets: {e}; keeping the secrets read before");
            None
        }
    };
    if let Some(s) = read(&dir) {
        info!(dir = %dir.display(), count = s.len(), "secrets read");
        if tx.send(Update::Event(Event::Secrets(s))).await.is_err() {
            return;
        }
    }
    let mut watch = match PathWatch::new(&dir, Duration::from_millis(100)) {
        Ok(w) => w,
        Err(e) => {
            warn!("secrets: {e}; secret changes will not be noticed until restart");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            c = watch.changed() => if c.is_none() { return },
        }
        if let Some(s) = read(&dir) {
            info!(count = s.len(), "secrets changed");
            if tx.send(Update::Event(Event::Secrets(s))).await.is_err() {
                return;
            }
        }
    }
}

/// Follows Felix's endpoint-status files (local workload peering).
async fn watch_local_workloads(dir: PathBuf, tx: mpsc::Sender<Update>, cancel: CancellationToken) {
    let read = || {
        Update::Event(Event::LocalWorkloads(
            crate::datastore::files::read_endpoint_statuses(&dir),
        ))
    };
    if tx.send(read()).await.is_err() {
        return;
    }
    let mut watch = match PathWatch::new(&dir, Duration::from_millis(100)) {
        Ok(w) => w,
        Err(e) => {
            warn!("endpoint status: {e}; re-reading every 5s instead");
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                if tx.send(read()).await.is_err() {
                    return;
                }
            }
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            c = watch.changed() => if c.is_none() { return },
        }
        if tx.send(read()).await.is_err() {
            return;
        }
    }
}

fn load_templates(dir: Option<&PathBuf>, state: &watch::Sender<DaemonState>) -> Templates {
    let Some(dir) = dir else {
        return Templates::builtin();
    };
    match Templates::from_dir(dir) {
        Ok(t) => t,
        Err(e) => {
            error!("{e}; using the built-in templates until the directory is fixed");
            state.send_modify(|s| s.templates_error = Some(e.to_string()));
            Templates::builtin()
        }
    }
}

async fn watch_templates(
    dir: PathBuf,
    tx: watch::Sender<Arc<Templates>>,
    state: Arc<watch::Sender<DaemonState>>,
    cancel: CancellationToken,
) {
    let mut watch = match PathWatch::new(&dir, Duration::from_millis(100)) {
        Ok(w) => w,
        Err(e) => {
            warn!("templates: {e}; template edits will not be noticed until restart");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            c = watch.changed() => if c.is_none() { return },
        }
        match Templates::from_dir(&dir) {
            Ok(t) => {
                info!(dir = %dir.display(), "templates reloaded");
                state.send_modify(|s| s.templates_error = None);
                tx.send_replace(Arc::new(t));
            }
            Err(e) => {
                error!("{e}; keeping the templates loaded before");
                state.send_modify(|s| s.templates_error = Some(e.to_string()));
            }
        }
    }
}

/// Polls `show status`: notices BIRD going away, coming back, and restarting.
async fn monitor_bird(
    socket: PathBuf,
    every: Duration,
    tx: mpsc::Sender<BirdEvent>,
    state: Arc<watch::Sender<DaemonState>>,
    cancel: CancellationToken,
) {
    let mut reachable: Option<bool> = None;
    let mut last_reboot: Option<String> = None;
    loop {
        let status = match Client::connect(&socket, Duration::from_secs(5)).await {
            Ok(mut c) => c.show_status().await.map(|s| (c.version().to_owned(), s)),
            Err(e) => Err(e),
        };
        match status {
            Ok((version, s)) => {
                if reachable == Some(false) {
                    info!(socket = %socket.display(), "bird is reachable again");
                    let _ = tx.send(BirdEvent::BackOnline).await;
                }
                let reboot = s.last_reboot.clone();
                if last_reboot.is_some() && reboot.is_some() && reboot != last_reboot {
                    warn!(since = ?reboot, "bird restarted");
                    state.send_modify(|st| st.bird.restarts_seen += 1);
                    let _ = tx.send(BirdEvent::Restarted).await;
                }
                last_reboot = reboot.or(last_reboot);
                reachable = Some(true);
                state.send_modify(|st| {
                    let tunnels = st
                        .plan
                        .as_ref()
                        .is_some_and(|p| p.route_policy.uses_tunnel());
                    let problem = crate::bird::version::ipip_problem(&version, tunnels);
                    if problem.is_some() && problem != st.bird.incompatible {
                        error!("{}", problem.as_deref().unwrap_or_default());
                    }
                    st.bird.incompatible = problem;
                    st.bird.reachable = true;
                    st.bird.version = Some(version);
                    st.bird.router_id = s.router_id.clone();
                    st.bird.last_reboot = s.last_reboot.clone();
                    st.bird.last_reconfiguration = s.last_reconfiguration.clone();
                    st.bird.error = None;
                });
            }
            Err(e) => {
                if reachable != Some(false) {
                    warn!("{e}; will retry every {}s", every.as_secs_f64());
                }
                reachable = Some(false);
                state.send_modify(|st| {
                    st.bird.reachable = false;
                    st.bird.error = Some(e.to_string());
                });
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
