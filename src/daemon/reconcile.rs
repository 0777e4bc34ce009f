//! The reconciler: on every change (coalesced), plan → render → install; record the outcome
//! in the [`ReconcileView`] it owns. It also repairs drift: when the BIRD monitor's view shows
//! BIRD running other BGP protocols than the plan (after someone configured BIRD by hand, say),
//! it configures again even though the file's bytes did not change.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::channels::{BirdEvent, Published};
use super::coalesce::Coalescer;
use super::config::RunConfig;
use super::confirm;
use super::outcome::{config_hash, outcome};
use super::refusals::{Refusals, may_leave_out, refused_session, within_refusal_limit};
use crate::metrics::{Metrics, ResultLabel};
use crate::plan::Plan;
use crate::render::Templates;
use crate::status::peers::{Drift, peer_statuses, type_from_name};
use crate::time::rfc3339;
use crate::views::{
    ApplyRecord, ApplyResult, BirdView, ReconcileView, RefusedSession, bird_incompatible,
};

/// What the reconciler reads.
pub(crate) struct Inputs {
    pub(crate) snapshots: watch::Receiver<Option<Published>>,
    pub(crate) templates: watch::Receiver<Arc<Templates>>,
    pub(crate) bird_events: mpsc::Receiver<BirdEvent>,
    /// The BIRD monitor's view (drift repair, confirmed apply).
    pub(crate) bird: watch::Receiver<Arc<BirdView>>,
    /// Asks the monitor for a fresh view.
    pub(crate) refresh: Arc<Notify>,
}

pub(crate) async fn run(
    cfg: RunConfig,
    inputs: Inputs,
    state: watch::Sender<ReconcileView>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let Inputs {
        mut snapshots,
        mut templates,
        bird_events: mut bird,
        bird: mut bird_view,
        refresh,
    } = inputs;
    // The drift the last repair was for: a drift that a `configure` did not repair is not
    // tried again until it changes or goes away.
    let mut repaired: Option<String> = None;
    // The BIRD/config incompatibility last logged (logged once when it appears).
    let mut incompatible: Option<String> = None;
    let mut refusals = Refusals::default();
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
            r = bird_view.changed() => {
                if r.is_err() { return; }
                let view = bird_view.borrow_and_update().clone();
                let last = state.borrow().last_apply.clone();
                let plan = state.borrow().plan.clone();
                let problem = bird_incompatible(plan.as_deref(), &view);
                if problem.is_some() && problem != incompatible {
                    error!("{}", problem.as_deref().unwrap_or_default());
                }
                if view.reachable() {
                    incompatible = problem;
                }
                let (Some(last), Some(plan)) = (last, plan) else { continue };
                if coalescer.due().is_some() || !judged(&view, &last) {
                    continue;
                }
                match drift(&view, &plan) {
                    None => repaired = None,
                    Some(why) if repaired.as_ref() == Some(&why) => {}
                    Some(why) => {
                        warn!("bird's protocols differ from the plan ({why}); configuring again");
                        repaired = Some(why);
                        force_configure = true;
                        coalescer.change(Instant::now());
                        note(&mut trigger, "drift");
                    }
                }
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
                let confirm = confirm::Confirm { bird: bird_view.clone(), refresh: refresh.clone() };
                let record = apply(&cfg, &published, &tmpl, force_configure, why, &mut rolled_back, &mut refusals, &state, &confirm).await;
                if record.result.accepted() {
                    force_configure = false;
                }
                metrics.apply.get_or_create(&ResultLabel { result: record.result.as_str().into() }).inc();
                metrics.apply_duration.observe(record.duration_seconds);
                if record.result == ApplyResult::Reconfigured {
                    metrics.bird_reconfigures.inc();
                }
                metrics.bird_refused_sessions.set(i64::try_from(record.refused.len()).unwrap_or(i64::MAX));
                if record.result.accepted() {
                    metrics.config_revision.set(record.revision);
                }
                // Drift is judged on a view read after this apply.
                refresh.notify_one();
                let meanwhile = snapshots.has_changed().unwrap_or(false) || templates.has_changed().unwrap_or(false);
                coalescer.finished(Instant::now(), meanwhile);
            }
        }
    }
}

/// Whether `view` can judge drift: read after the last apply, which BIRD accepted.
fn judged(view: &BirdView, last: &ApplyRecord) -> bool {
    last.result.accepted() && view.fetched_at > last.at_time
}

/// Why BIRD's running BGP protocols differ from `plan`; None when they agree (sessions merely
/// down, or disabled by hand, are not drift a `configure` repairs).
fn drift(view: &BirdView, plan: &Plan) -> Option<String> {
    let protocols = view.protocols.as_ref().ok()?;
    let (_, d) = peer_statuses(Some(plan), protocols, view.utc_offset);
    let Drift {
        missing_from_bird,
        not_in_plan,
        mismatched,
        ..
    } = d;
    let not_in_plan: Vec<String> = not_in_plan
        .into_iter()
        .filter(|n| type_from_name(n).is_some())
        .collect();
    let mut why = Vec::new();
    for (what, names) in [
        ("missing from bird", missing_from_bird),
        ("not in the plan", not_in_plan),
        ("neighbor differs", mismatched),
    ] {
        if !names.is_empty() {
            why.push(format!("{what}: {}", names.join(", ")));
        }
    }
    (!why.is_empty()).then(|| why.join("; "))
}

fn note(trigger: &mut String, why: &str) {
    if !trigger.split(", ").any(|t| t == why) {
        if !trigger.is_empty() {
            trigger.push_str(", ");
        }
        trigger.push_str(why);
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    cfg: &RunConfig,
    published: &Published,
    templates: &Arc<Templates>,
    force_configure: bool,
    trigger: String,
    rolled_back: &mut Option<(String, String)>,
    refusals: &mut Refusals,
    state: &watch::Sender<ReconcileView>,
    confirm: &confirm::Confirm,
) -> ApplyRecord {
    let started = Instant::now();
    let snapshot = published.snapshot.clone();
    let node = cfg.node.clone();
    let options = cfg.plan_options.clone();
    let planned =
        tokio::task::spawn_blocking(move || crate::plan::plan(&snapshot, &node, &options)).await;
    let plan = match planned {
        Ok(p) => Arc::new(p),
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
    // Sessions BIRD refused before stay out until their plan entry or the templates change.
    let (shown, refused) = refusals.withhold(&plan, templates);
    let text = match render_off(&shown, published, templates).await {
        Ok(t) => t,
        Err(e) => {
            error!("{e}; the last good config stays installed");
            let mut record = record(
                started,
                ApplyResult::RenderFailed,
                Some(e.to_string()),
                None,
                published.revision,
                trigger,
            );
            record.refused = refused;
            publish(state, &record, Some(plan), published);
            return record;
        }
    };
    let rendered_after = started.elapsed();
    let hash = config_hash(&text);
    if let Some((_, why)) = rolled_back.as_ref().filter(|(h, _)| *h == hash) {
        let msg = format!("held back until the plan changes: {why}");
        let mut record = record(
            started,
            ApplyResult::RolledBack,
            Some(msg),
            Some(hash),
            published.revision,
            trigger,
        );
        record.refused = refused;
        publish(state, &record, Some(plan), published);
        return record;
    }
    let applied = install_without_refused(
        cfg,
        Attempt {
            text,
            shown,
            refused,
        },
        published,
        templates,
        force_configure,
        &trigger,
        rolled_back,
        refusals,
        confirm,
    )
    .await;
    let mut record = record(
        started,
        applied.result,
        applied.error,
        Some(config_hash(&applied.attempt.text)),
        published.revision,
        trigger,
    );
    record.render_seconds = Some(rendered_after.as_secs_f64());
    record.refused = applied.attempt.refused;
    // The plan BIRD was given: refused sessions are reported in the record, not as drift.
    let given = if record.refused.is_empty() {
        plan
    } else {
        Arc::new(applied.attempt.shown)
    };
    publish(state, &record, Some(given), published);
    record
}

/// Renders `plan` on a blocking thread.
async fn render_off(
    plan: &Plan,
    published: &Published,
    templates: &Arc<Templates>,
) -> Result<String, RenderFailure> {
    let plan = plan.clone();
    let snapshot = published.snapshot.clone();
    let tmpl = templates.clone();
    Ok(
        tokio::task::spawn_blocking(move || crate::render::render(&plan, &snapshot, &tmpl))
            .await
            .map_err(RenderFailure::Panicked)??,
    )
}

/// Why a plan gave no config text. Either way the last good config stays installed, and the
/// next change (of the resources or the templates) renders again.
#[derive(Debug, thiserror::Error)]
enum RenderFailure {
    /// The templates refused the plan (the template's file, line and cause).
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    /// The rendering thread panicked.
    #[error("rendering panicked: {0}")]
    Panicked(tokio::task::JoinError),
}

/// A config to install: its text, the plan it was rendered from, and the sessions left out.
struct Attempt {
    text: String,
    shown: Plan,
    refused: Vec<RefusedSession>,
}

struct Applied {
    attempt: Attempt,
    result: ApplyResult,
    error: Option<String>,
}

/// Installs the attempt; when BIRD refuses it at a line of one BGP session, leaves that
/// session out, remembers it, and tries again (each retry has one session fewer, the sessions
/// of at most [`MAX_REFUSED_PER_APPLY`](super::refusals::MAX_REFUSED_PER_APPLY) resources,
/// and never the last of several). If the config is still refused, the sessions this apply
/// left out are forgotten and the last good config stays.
#[allow(clippy::too_many_arguments)]
async fn install_without_refused(
    cfg: &RunConfig,
    mut attempt: Attempt,
    published: &Published,
    templates: &Arc<Templates>,
    force_configure: bool,
    trigger: &str,
    rolled_back: &mut Option<(String, String)>,
    refusals: &mut Refusals,
    confirm: &confirm::Confirm,
) -> Applied {
    let mut left_out: Vec<String> = Vec::new();
    loop {
        let (result, error) = install_once(
            cfg,
            &attempt.text,
            force_configure,
            &attempt.shown,
            trigger,
            rolled_back,
            confirm,
        )
        .await;
        // BIRD's words are inside the error (`config rejected by …: file:line:col message`).
        let refusal = error.clone().filter(|_| result == ApplyResult::Rejected);
        let named = refusal
            .filter(|_| may_leave_out(attempt.shown.peers.len(), attempt.refused.len()))
            .and_then(|message| {
                refused_session(&message, &attempt.text, &attempt.shown, |f| {
                    cfg.installer.is_rendered_file(f)
                })
            })
            .filter(|(_, report)| within_refusal_limit(&attempt.refused, &left_out, report));
        let Some((peer, report)) = named else {
            if !matches!(
                result,
                ApplyResult::Reconfigured | ApplyResult::Unchanged | ApplyResult::FileOnly
            ) {
                refusals.forget(&left_out);
                attempt.refused.retain(|r| !left_out.contains(&r.session));
            }
            return Applied {
                attempt,
                result,
                error,
            };
        };
        warn!(
            session = %report.session,
            "BIRD refused session {} of {} {}: {}; configuring BIRD without it",
            report.session,
            report.kind,
            report.name,
            report.reason
        );
        attempt.shown.peers.retain(|p| p.name != peer.name);
        left_out.push(peer.name.clone());
        refusals.add(peer, report.clone());
        attempt.refused.push(report);
        attempt.text = match render_off(&attempt.shown, published, templates).await {
            Ok(t) => t,
            Err(e) => {
                refusals.forget(&left_out);
                attempt.refused.retain(|r| !left_out.contains(&r.session));
                return Applied {
                    attempt,
                    result: ApplyResult::RenderFailed,
                    error: Some(e.to_string()),
                };
            }
        };
    }
}

/// One install (confirmed or not): the result and its error.
async fn install_once(
    cfg: &RunConfig,
    text: &str,
    force_configure: bool,
    plan: &Plan,
    trigger: &str,
    rolled_back: &mut Option<(String, String)>,
    confirm: &confirm::Confirm,
) -> (ApplyResult, Option<String>) {
    let hash = config_hash(text);
    match cfg.confirm_window {
        None => outcome(
            cfg.installer.install(text, force_configure).await,
            &hash,
            plan,
            trigger,
        ),
        Some(window) => {
            let (result, err) = confirm
                .install(&cfg.installer, text, force_configure, window, plan)
                .await;
            if result == ApplyResult::RolledBack {
                *rolled_back = Some((hash, err.clone().unwrap_or_default()));
            } else if result == ApplyResult::Reconfigured {
                *rolled_back = None;
            }
            (result, err)
        }
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
        refused: Vec::new(),
    }
}

fn publish(
    state: &watch::Sender<ReconcileView>,
    record: &ApplyRecord,
    plan: Option<Arc<crate::plan::Plan>>,
    published: &Published,
) {
    state.send_modify(|s| {
        s.applies += 1;
        if record.result == ApplyResult::Reconfigured {
            s.reconfigures += 1;
        }
        if record.result.accepted() {
            s.last_success = Some(record.clone());
            // Ready once a full sync was applied and BIRD accepted the config (the reconciler
            // only ever sees complete snapshots).
            s.ready = true;
        }
        s.last_apply = Some(record.clone());
        if plan.is_some() {
            s.plan = plan;
        }
        s.snapshot = Some(published.snapshot.clone());
    });
}
