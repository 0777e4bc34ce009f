//! The daemon's input tasks: the sync task that owns the snapshot (and publishes
//! [`DatastoreView`]; it reads the referenced secrets too), the secrets and local-workload
//! watchers that feed it, and the templates watch (which publishes [`TemplatesView`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::channels::Published;
use crate::datastore::Update;
use crate::datastore::files;
use crate::datastore::watch::PathWatch;
use crate::metrics::{KindLabel, Metrics};
use crate::render::Templates;
use crate::resources::{SecretKeyRef, Secrets, Warning};
use crate::snapshot::{Event, Snapshot};
use crate::views::{DatastoreView, TemplatesView};

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
///
/// With a secrets directory it also reads the secrets the resources reference — before the
/// first publish, whenever the set of references changes and when the directory changes — so
/// a view is never published with a referenced secret not yet read.
pub(crate) async fn sync(
    mut rx: mpsc::Receiver<Update>,
    secrets_dir: Option<PathBuf>,
    out: watch::Sender<Option<Published>>,
    view: watch::Sender<DatastoreView>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut snapshot = Snapshot::new();
    // The references the secrets were last read for, and whether the directory changed since.
    let mut secrets_read_for: Option<BTreeSet<SecretKeyRef>> = None;
    let mut secrets_dir_changed = false;
    let mut synced = false;
    let mut revision = 0;
    let mut dirty = false;
    // The skipped resources already logged, and why.
    let mut reported: BTreeMap<String, Warning> = BTreeMap::new();
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
                Update::SecretsDirChanged => secrets_dir_changed = true,
            }
        }
        if let Some(dir) = &secrets_dir
            && synced
            && !snapshot.is_relisting()
        {
            let wanted = snapshot.secret_refs();
            if secrets_dir_changed || secrets_read_for.as_ref() != Some(&wanted) {
                let secrets = match read_secrets(dir, &wanted).await {
                    Ok(s) => s,
                    Err(why) => {
                        warn!(
                            "secrets: {why}; keeping the secrets read before (the sessions of a key referenced since are withheld)"
                        );
                        files::secrets_when_unreadable(&snapshot.secrets, &wanted, &why)
                    }
                };
                let usable = secrets.len();
                if snapshot.apply(Event::Secrets(secrets)) {
                    dirty = true;
                    info!(
                        dir = %dir.display(),
                        referenced = wanted.len(),
                        usable,
                        "secrets read"
                    );
                }
                secrets_read_for = Some(wanted);
                secrets_dir_changed = false;
            }
        }
        if let Some(a) = &availability {
            metrics.datastore_up.set(i64::from(a.is_ok()));
        }
        let complete = !snapshot.is_relisting();
        let skipped = complete.then(|| report_skipped(&mut reported, &snapshot.skipped));
        if let Some(skipped) = &skipped {
            metrics.skipped_resources.set(skipped.len() as i64);
        }
        view.send_modify(|s| {
            s.events += events;
            s.synced = synced;
            s.revision = revision;
            match &availability {
                Some(Ok(())) => {
                    s.available = true;
                    s.last_error = None;
                }
                Some(Err(m)) => {
                    s.available = false;
                    s.last_error = Some(m.clone());
                }
                None => {}
            }
            if let Some(skipped) = skipped {
                s.skipped = skipped;
            }
        });
        if synced && dirty && complete {
            dirty = false;
            out.send_replace(Some(Published {
                snapshot: Arc::new(snapshot.clone()),
                revision,
            }));
        }
    }
}

/// Logs each skipped resource once, when it appears (or its reason changes), and returns the
/// current list.
fn report_skipped(
    reported: &mut BTreeMap<String, Warning>,
    skipped: &BTreeMap<String, Warning>,
) -> Vec<Warning> {
    for (key, w) in skipped {
        if reported.get(key) != Some(w) {
            warn!(resource = %w.resource, "skipped: {}", w.message);
        }
    }
    *reported = skipped.clone();
    skipped.values().cloned().collect()
}

/// Tells the sync task when something in the secrets directory changed; the sync task reads
/// the keys its resources reference (it alone knows which).
pub(crate) async fn watch_secrets(
    dir: PathBuf,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
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
        if tx.send(Update::SecretsDirChanged).await.is_err() {
            return;
        }
    }
}

/// Reads the referenced secrets on a blocking thread (file I/O never stalls the runtime).
/// `Err(why)` when the directory cannot be read.
async fn read_secrets(dir: &Path, wanted: &BTreeSet<SecretKeyRef>) -> Result<Secrets, String> {
    let (dir, wanted) = (dir.to_path_buf(), wanted.clone());
    let read = tokio::task::spawn_blocking(move || files::read_secrets(&dir, &wanted));
    match read.await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("reading failed: {e}")),
    }
}

/// Follows Felix's endpoint-status files (local workload peering).
pub(crate) async fn watch_local_workloads(
    dir: PathBuf,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
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

/// The templates to start with, and the view that says which they are.
pub(crate) fn load_templates(dir: Option<&PathBuf>) -> (Templates, TemplatesView) {
    let Some(dir) = dir else {
        return (
            Templates::builtin(),
            TemplatesView {
                source: "built-in".into(),
                error: None,
            },
        );
    };
    let source = dir.display().to_string();
    match Templates::from_dir(dir) {
        Ok(t) => (
            t,
            TemplatesView {
                source,
                error: None,
            },
        ),
        Err(e) => {
            error!("{e}; using the built-in templates until the directory is fixed");
            let error = Some(e.to_string());
            (Templates::builtin(), TemplatesView { source, error })
        }
    }
}

/// Follows the template directory: publishes the templates and the view of them.
pub(crate) async fn watch_templates(
    dir: PathBuf,
    tx: watch::Sender<Arc<Templates>>,
    view: watch::Sender<TemplatesView>,
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
                view.send_modify(|v| v.error = None);
                tx.send_replace(Arc::new(t));
            }
            Err(e) => {
                error!("{e}; keeping the templates loaded before");
                view.send_modify(|v| v.error = Some(e.to_string()));
            }
        }
    }
}
