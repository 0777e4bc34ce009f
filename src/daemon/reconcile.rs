//! The reconciler: on every change (coalesced), plan → render → install; record the outcome.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::coalesce::Coalescer;
use super::tasks::Published;
use super::{ApplyRecord, ApplyResult, DaemonState, RunConfig};
use crate::bird::install::{InstallError, Installed};
use crate::render::Templates;
use crate::status::metrics::{Metrics, ResultLabel};
use crate::status::time::rfc3339;

/// What the BIRD monitor tells the reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirdEvent {
    /// BIRD was unreachable and answers again.
    BackOnline,
    /// BIRD's boot time changed: it restarted.
    Restarted,
}

pub(super) async fn run(
    cfg: RunConfig,
    mut snapshots: watch::Receiver<Option<Published>>,
    mut templates: watch::Receiver<Arc<Templates>>,
    mut bird: mpsc::Receiver<BirdEvent>,
    state: Arc<watch::Sender<DaemonState>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut coalescer = Coalescer::new(cfg.quiet, cfg.max_delay);
    let mut resync = tokio::time::interval(cfg.resync_interval);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    // Ask BIRD to configure once at start even if the file on disk is already current, so
    // that readiness means "BIRD accepted this config".
    let mut force_configure = true;
    let mut trigger = String::from("start");
    let mut templates_watched = true;
    loop {
        let due = coalescer.due();
        let sleep = async {
            match due {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = snapshots.changed() => {
                if r.is_err() { return; }
                coalescer.change(Instant::now());
                note(&mut trigger, "datastore");
            }
            r = templates.changed(), if templates_watched => {
                // Without a template directory nobody sends: stop listening.
                if r.is_err() { templates_watched = false; continue; }
                coalescer.change(Instant::now());
                note(&mut trigger, "templates");
            }
            Some(ev) = bird.recv() => {
                force_configure = true;
                coalescer.change(Instant::now());
                note(&mut trigger, match ev { BirdEvent::BackOnline => "bird reachable again", BirdEvent::Restarted => "bird restarted" });
            }
            _ = resync.tick() => {
                coalescer.change(Instant::now());
                note(&mut trigger, "resync");
            }
            _ = sleep => {
                let Some(published) = snapshots.borrow_and_update().clone() else {
                    // Not synced yet: wait for the first complete view.
                    coalescer.applied(Instant::now());
                    continue;
                };
                coalescer.applied(Instant::now());
                let tmpl = templates.borrow_and_update().clone();
                let why = std::mem::take(&mut trigger);
                let record = apply(&cfg, &published, &tmpl, force_configure, why, &state).await;
                if matches!(record.result, ApplyResult::Unchanged | ApplyResult::Reconfigured) {
                    force_configure = false;
                }
                metrics.apply.get_or_create(&ResultLabel { result: record.result.as_str().into() }).inc();
                metrics.apply_duration.observe(record.duration_seconds);
                if record.result == ApplyResult::Reconfigured {
                    metrics.bird_reconfigures.inc();
                }
                if matches!(record.result, ApplyResult::Unchanged | ApplyResult::Reconfigured) {
                    metrics.config_revision.set(record.revision);
                }
                coalescer.finished(Instant::now());
            }
        }
    }
}

fn note(trigger: &mut String, why: &str) {
    if !trigger.split(", ").any(|t| t == why) {
        if !trigger.is_empty() {
            trigger.push_str(", ");
        }
        trigger.push_str(why);
    }
}

async fn apply(
    cfg: &RunConfig,
    published: &Published,
    templates: &Arc<Templates>,
    force_configure: bool,
    trigger: String,
    state: &watch::Sender<DaemonState>,
) -> ApplyRecord {
    let started = Instant::now();
    let snapshot = published.snapshot.clone();
    let node = cfg.node.clone();
    let options = cfg.plan_options.clone();
    let tmpl = templates.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let plan = crate::plan::plan(&snapshot, &node, &options);
        let text = crate::render::render(&plan, &snapshot, &tmpl);
        (plan, text)
    })
    .await;
    let (plan, text) = match rendered {
        Ok(r) => r,
        Err(e) => {
            let record = record(
                started,
                ApplyResult::Error,
                Some(format!("planning panicked: {e}")),
                None,
                published.revision,
                trigger,
            );
            publish(state, &record, None, published);
            return record;
        }
    };
    let plan = Arc::new(plan);
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            error!("{e}; the last good config stays installed");
            let record = record(
                started,
                ApplyResult::RenderFailed,
                Some(e.to_string()),
                None,
                published.revision,
                trigger,
            );
            publish(state, &record, Some(plan), published);
            return record;
        }
    };
    let hash = config_hash(&text);
    let (result, err) = match cfg.installer.install(&text, force_configure).await {
        Ok(Installed::Unchanged) => (ApplyResult::Unchanged, None),
        Ok(Installed::Reconfigured { outcome }) => {
            info!(hash = %hash, peers = plan.peers.len(), ?outcome, trigger = %trigger, "bird reconfigured");
            (ApplyResult::Reconfigured, None)
        }
        Ok(Installed::InstalledBirdUnreachable { reason }) => {
            warn!(
                "config installed but BIRD is unreachable ({reason}); will configure when it is back"
            );
            (ApplyResult::InstalledBirdUnreachable, Some(reason))
        }
        Err(e @ (InstallError::Rejected { .. } | InstallError::RefusedAtConfigure { .. })) => {
            error!("{e}");
            (ApplyResult::Rejected, Some(e.to_string()))
        }
        Err(e) => {
            error!("{e}");
            (ApplyResult::Error, Some(e.to_string()))
        }
    };
    let record = record(
        started,
        result,
        err,
        Some(hash),
        published.revision,
        trigger,
    );
    publish(state, &record, Some(plan), published);
    record
}

fn record(
    started: Instant,
    result: ApplyResult,
    error: Option<String>,
    config_hash: Option<String>,
    revision: i64,
    trigger: String,
) -> ApplyRecord {
    let now = SystemTime::now();
    ApplyRecord {
        at: rfc3339(now),
        at_time: now,
        result,
        error,
        duration_seconds: started.elapsed().as_secs_f64(),
        config_hash,
        revision,
        trigger,
    }
}

fn publish(
    state: &watch::Sender<DaemonState>,
    record: &ApplyRecord,
    plan: Option<Arc<crate::plan::Plan>>,
    published: &Published,
) {
    state.send_modify(|s| {
        s.applies += 1;
        if record.result == ApplyResult::Reconfigured {
            s.reconfigures += 1;
        }
        if matches!(
            record.result,
            ApplyResult::Unchanged | ApplyResult::Reconfigured
        ) {
            s.last_success = Some(record.clone());
            // Ready once a full sync was applied and BIRD accepted the config.
            if s.datastore.synced {
                s.ready = true;
            }
        }
        s.last_apply = Some(record.clone());
        if plan.is_some() {
            s.plan = plan;
        }
        s.snapshot = Some(published.snapshot.clone());
    });
}

/// First 12 hex digits of the config's SHA-256.
pub fn config_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}
