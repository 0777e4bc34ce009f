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
use std::collections::BTreeSet;

use crate::bird::install::{InstallError, Installed};
use crate::bird::parse::ConfigureOutcome;
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
    let mut rolled_back: Option<(String, String)> = None;
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
                    coalescer.started();
                    continue;
                };
                coalescer.started();
                let tmpl = templates.borrow_and_update().clone();
                let why = std::mem::take(&mut trigger);
                let record = apply(&cfg, &published, &tmpl, force_configure, why, &mut rolled_back, &state).await;
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
                let meanwhile = snapshots.has_changed().unwrap_or(false) || templates.has_changed().unwrap_or(false);
                coalescer.finished(Instant::now(), meanwhile);
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
    rolled_back: &mut Option<(String, String)>,
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
    let rendered_after = started.elapsed();
    if let Some((_, why)) = rolled_back.as_ref().filter(|(h, _)| *h == hash) {
        let msg = format!("held back until the plan changes: {why}");
        let record = record(
            started,
            ApplyResult::RolledBack,
            Some(msg),
            Some(hash),
            published.revision,
            trigger,
        );
        publish(state, &record, Some(plan), published);
        return record;
    }
    let (result, err) = match cfg.confirm_window {
        None => outcome(
            cfg.installer.install(&text, force_configure).await,
            &hash,
            &plan,
            &trigger,
        ),
        Some(window) => {
            let (result, err) = confirmed_install(cfg, &text, force_configure, window, &plan).await;
            if result == ApplyResult::RolledBack {
                *rolled_back = Some((hash.clone(), err.clone().unwrap_or_default()));
            } else if result == ApplyResult::Reconfigured {
                *rolled_back = None;
            }
            (result, err)
        }
    };
    let mut record = record(
        started,
        result,
        err,
        Some(hash),
        published.revision,
        trigger,
    );
    record.render_seconds = Some(rendered_after.as_secs_f64());
    publish(state, &record, Some(plan), published);
    record
}

fn outcome(
    r: Result<Installed, InstallError>,
    hash: &str,
    plan: &crate::plan::Plan,
    trigger: &str,
) -> (ApplyResult, Option<String>) {
    match r {
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
    }
}

/// The BGP sessions BIRD has Established now (empty when BIRD cannot be asked).
async fn established(cfg: &RunConfig) -> BTreeSet<String> {
    let Ok(mut c) =
        crate::bird::Client::connect(&cfg.installer.socket, cfg.installer.command_timeout).await
    else {
        return BTreeSet::new();
    };
    c.show_protocols()
        .await
        .map(|rows| {
            rows.into_iter()
                .filter(|r| {
                    r.proto == "BGP"
                        && r.state == "up"
                        && r.bgp_state.as_deref() == Some("Established")
                })
                .map(|r| r.name)
                .collect()
        })
        .unwrap_or_default()
}

/// Confirmed apply: `configure timeout`, then `configure confirm` once every session that was
/// Established before (and is still planned) is Established again, else `configure undo`.
async fn confirmed_install(
    cfg: &RunConfig,
    text: &str,
    force_configure: bool,
    window: std::time::Duration,
    plan: &crate::plan::Plan,
) -> (ApplyResult, Option<String>) {
    let before = established(cfg).await;
    let previous = cfg.installer.current();
    // BIRD's own timer is a safety net should perch die mid-window.
    let undo_after = u32::try_from(window.as_secs() + 10).unwrap_or(u32::MAX);
    let installed = cfg
        .installer
        .install_with(text, force_configure, Some(undo_after))
        .await;
    let hash = config_hash(text);
    let scheduled = matches!(
        &installed,
        Ok(Installed::Reconfigured {
            outcome: ConfigureOutcome::UndoScheduled { .. }
        })
    );
    if !scheduled {
        return outcome(installed, &hash, plan, "confirmed apply");
    }
    let planned: BTreeSet<&str> = plan.peers.iter().map(|p| p.name.as_str()).collect();
    let expected: BTreeSet<String> = before
        .into_iter()
        .filter(|n| planned.contains(n.as_str()))
        .collect();
    let deadline = Instant::now() + window;
    let mut missing: Vec<String>;
    loop {
        let now_up = established(cfg).await;
        missing = expected
            .iter()
            .filter(|n| !now_up.contains(*n))
            .cloned()
            .collect();
        if missing.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    if missing.is_empty() {
        return match cfg.installer.confirm().await {
            Ok(_) => {
                info!(hash = %hash, sessions = expected.len(), "confirmed: every session that was up is up again");
                (ApplyResult::Reconfigured, None)
            }
            Err(e) => (
                ApplyResult::Error,
                Some(format!(
                    "configure confirm failed: {e} (BIRD will undo the config by itself)"
                )),
            ),
        };
    }
    let why = format!(
        "sessions {} were not Established again within {}s; config {hash} undone",
        missing.join(", "),
        window.as_secs()
    );
    match cfg.installer.undo(previous.as_deref()).await {
        Ok(_) => {
            warn!("{why}");
            (ApplyResult::RolledBack, Some(why))
        }
        Err(e) => (
            ApplyResult::RolledBack,
            Some(format!(
                "{why}; undo failed: {e} (BIRD's own timer will undo it)"
            )),
        ),
    }
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
        at_unix_ms: now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        result,
        error,
        duration_seconds: started.elapsed().as_secs_f64(),
        config_hash,
        revision,
        trigger,
        render_seconds: None,
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
