//! The BIRD monitor: the one task that asks BIRD anything at runtime. It reads `show status`
//! every poll interval (reachability, restarts) and the full view (`show status` and
//! `show protocols all`, plus `show route` while a CalicoNodeStatus wants routes) at most once
//! per status interval, or sooner when a reader asks for a fresh one, and publishes it as
//! [`BirdView`]. `/status`, `/metrics`, `/readyz`, the CalicoNodeStatus writer, drift repair
//! and confirmed apply all read that view. No lock is held across an await.
//!
//! With the full view, at most once per status interval, it also checks the routes
//! ([`crate::routes`]): the expected routes of the latest plan and snapshot, one
//! `show route all where net ~ [pools]` on the same connection, the kernel's main table over
//! netlink (on a blocking thread, with the judging), published as [`RoutesView`]. No pools,
//! no query.
//!
//! A restart is told from something that really changes ([`restarted`]): the pid behind the
//! socket, or BIRD's uptime going backwards, never the exact text of its boot stamp (which
//! moves by a second between replies, and by any amount when the real-time clock steps).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::channels::BirdEvent;
use crate::bird::parse::ProtocolRow;
use crate::bird::parse::{BirdTime, Status, parse_bird_time};
use crate::bird::{BirdError, Client};
use crate::routes::kernel::read_main_table;
use crate::routes::observe::{kernel_view, query_prefixes};
use crate::routes::{Observed, RouteCheck, check, expected};
use crate::status::peers::utc_offset_from_server_time;
use crate::views::{BirdUnavailable, BirdView, ReconcileView, RoutesView};

/// How far BIRD's uptime may seem to go back (its stamps have whole seconds and are read from
/// two clocks at different moments) before it counts as a restart.
const UPTIME_TOLERANCE_SECS: i64 = 2;
/// BIRD prints its last-reconfiguration time recomputed from a monotonic clock, so the same
/// reconfiguration reads a millisecond or so apart from one `show status` to the next; a
/// reading this close to the kept one is the same reconfiguration. Two real ones are further
/// apart than this (a change waits out the file-watch debounce).
const STAMP_JITTER_MICROS: i64 = 20_000;

/// Microseconds since the epoch of a `YYYY-MM-DD HH:MM:SS[.fff]` stamp (BIRD's local time; only
/// differences are used).
fn stamp_micros(text: &str) -> Option<i64> {
    match parse_bird_time(text)? {
        BirdTime::DateTime(d) => Some(d.to_unix_seconds(0) * 1_000_000 + i64::from(d.time.micros)),
        _ => None,
    }
}

/// The stamp to publish: `kept` when `now` reads the same event within BIRD's print jitter, so
/// readers (`/status`, CalicoNodeStatus) do not see it move; else `now`.
pub(crate) fn steady_stamp(kept: Option<&str>, now: Option<String>) -> Option<String> {
    match (kept, now.as_deref().and_then(stamp_micros)) {
        (Some(k), Some(n))
            if stamp_micros(k).is_some_and(|k| (k - n).abs() <= STAMP_JITTER_MICROS) =>
        {
            Some(k.to_owned())
        }
        _ => now,
    }
}

/// What identifies one run of BIRD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Boot {
    /// The pid behind the socket (`SO_PEERCRED`), when visible.
    pub(crate) pid: Option<i32>,
    /// Seconds since BIRD started: its server time minus its last-reboot stamp. Both are
    /// printed from the real-time clock, so a clock step moves them together.
    pub(crate) uptime: Option<i64>,
}

impl Boot {
    fn of(pid: Option<i32>, status: &Status) -> Boot {
        let seconds = |t: &Option<String>| {
            t.as_deref()
                .and_then(parse_bird_time)
                .and_then(|t| t.to_unix_seconds(0))
        };
        let uptime = match (seconds(&status.server_time), seconds(&status.last_reboot)) {
            (Some(now), Some(boot)) => Some(now - boot),
            _ => None,
        };
        Boot { pid, uptime }
    }
}

/// Whether `now` is a different run of BIRD than `before`: a different pid when both are
/// known, else an uptime that went back by more than the tolerance.
pub(crate) fn restarted(before: &Boot, now: &Boot) -> bool {
    if let (Some(a), Some(b)) = (before.pid, now.pid) {
        return a != b;
    }
    match (before.uptime, now.uptime) {
        (Some(a), Some(b)) => b + UPTIME_TOLERANCE_SECS < a,
        _ => false,
    }
}

/// The monitor's settings and channels (see `wiring`).
pub(crate) struct Monitor {
    pub(crate) socket: PathBuf,
    pub(crate) timeout: Duration,
    /// `show status` this often.
    pub(crate) poll_every: Duration,
    /// The full view at most this often (unless a reader asks through `refresh`).
    pub(crate) view_every: Duration,
    pub(crate) events: mpsc::Sender<BirdEvent>,
    pub(crate) view: watch::Sender<Arc<BirdView>>,
    /// Set by the CalicoNodeStatus writer while a resource asks for routes.
    pub(crate) routes_wanted: watch::Receiver<bool>,
    /// A reader wants a view read after now.
    pub(crate) refresh: Arc<Notify>,
    /// The plan and snapshot the route check expects from.
    pub(crate) reconcile: watch::Receiver<ReconcileView>,
    /// The route check's view (this task is its one writer).
    pub(crate) routes: watch::Sender<Arc<RoutesView>>,
}

impl Monitor {
    /// Runs until `cancel`.
    pub(crate) async fn run(self, cancel: CancellationToken) {
        let every = self.poll_every.min(self.view_every);
        let mut reachable: Option<bool> = None;
        let mut boot: Option<Boot> = None;
        let mut boot_stamp: Option<String> = None;
        let mut reconfig_stamp: Option<String> = None;
        let mut last_view: Option<Instant> = None;
        let mut last_check: Option<Instant> = None;
        let mut checks = 0u64;
        let mut queries = 0u64;
        let mut restarts = 0u64;
        let mut wanted = false;
        loop {
            let full = wanted || last_view.is_none_or(|t| t.elapsed() >= self.view_every);
            let started = SystemTime::now();
            let status = match Client::connect(&self.socket, self.timeout).await {
                Ok(mut c) => {
                    c.set_command_timeout(self.timeout);
                    c.show_status().await.map(|s| (c, s))
                }
                Err(e) => Err(e),
            };
            let mut publish = full;
            match status {
                Ok((mut client, mut s)) => {
                    let now = Boot::of(client.peer_pid(), &s);
                    let same_run = boot.as_ref().is_some_and(|b| !restarted(b, &now));
                    if reachable == Some(false) {
                        info!(socket = %self.socket.display(), "bird is reachable again");
                        let _ = self.events.send(BirdEvent::BackOnline).await;
                        publish = true;
                    }
                    if boot.as_ref().is_some_and(|b| restarted(b, &now)) {
                        warn!(pid = ?now.pid, since = ?s.last_reboot, "bird restarted");
                        restarts += 1;
                        let _ = self.events.send(BirdEvent::Restarted).await;
                        publish = true;
                    }
                    boot = Some(now);
                    reachable = Some(true);
                    // One run of BIRD keeps the boot stamp first read for it, so that readers
                    // (`/status`, CalicoNodeStatus) do not see it jitter.
                    match (&boot_stamp, same_run) {
                        (Some(first), true) => s.last_reboot = Some(first.clone()),
                        _ => boot_stamp = s.last_reboot.clone(),
                    }
                    s.last_reconfiguration =
                        steady_stamp(reconfig_stamp.as_deref(), s.last_reconfiguration.take());
                    reconfig_stamp = s.last_reconfiguration.clone();
                    if publish {
                        queries += 1;
                        let at = Instant::now();
                        last_view = Some(at);
                        let routes = *self.routes_wanted.borrow();
                        let view = read_view(&mut client, s, started, routes).await;
                        let rows: Result<Vec<ProtocolRow>, BirdUnavailable> = view
                            .protocols
                            .as_ref()
                            .map(|p| p.iter().map(|d| d.row.clone()).collect())
                            .map_err(Clone::clone);
                        self.view.send_replace(Arc::new(BirdView {
                            queries,
                            restarts_seen: restarts,
                            ..view
                        }));
                        if last_check.is_none_or(|t| at.duration_since(t) >= self.view_every) {
                            let state = self.reconcile.borrow().clone();
                            let sent = SystemTime::now();
                            if let Some(result) = check_routes(&mut client, &state, rows).await {
                                last_check = Some(at);
                                checks += 1;
                                self.publish_check(result, sent, checks);
                            }
                        }
                    }
                }
                Err(e) => {
                    let e = BirdUnavailable::from(e);
                    if reachable != Some(false) {
                        warn!("{e}; will retry every {}s", every.as_secs_f64());
                        publish = true;
                        // The last check is no longer current: readers (and `--readiness
                        // routes`) see why until BIRD answers a check again.
                        self.publish_check(
                            Err(RouteCheckError::Unreachable(e.clone())),
                            SystemTime::now(),
                            checks,
                        );
                    }
                    reachable = Some(false);
                    if publish {
                        last_view = Some(Instant::now());
                        self.view.send_replace(Arc::new(BirdView {
                            fetched_at: started,
                            queries,
                            restarts_seen: restarts,
                            ..BirdView::unknown(e)
                        }));
                    }
                }
            }
            wanted = tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => false,
                _ = self.refresh.notified() => true,
            };
        }
    }
}

impl Monitor {
    fn publish_check(
        &self,
        result: Result<(RouteCheck, f64), RouteCheckError>,
        at: SystemTime,
        n: u64,
    ) {
        self.routes.send_modify(|v| {
            let mut next = RoutesView {
                checks: n,
                ..v.as_ref().clone()
            };
            match result {
                Ok((check, seconds)) => {
                    next.check = Some(Arc::new(check));
                    next.checked_at = Some(at);
                    next.seconds = seconds;
                    next.error = None;
                }
                Err(e) => {
                    warn!("route check: {e}");
                    next.error = Some(e.to_string());
                }
            }
            *v = Arc::new(next);
        });
    }
}

/// Why a route check could not be made. The monitor reports it in [`RoutesView::error`]
/// (keeping the last check) and checks again at the next status interval.
#[derive(Debug, thiserror::Error)]
enum RouteCheckError {
    /// BIRD does not answer: the last check is stale until it does.
    #[error("BIRD is not reachable: {0}")]
    Unreachable(BirdUnavailable),
    /// BIRD's protocols were not read with this view.
    #[error("show protocols: {0}")]
    Protocols(BirdUnavailable),
    /// `show route` failed.
    #[error("show route: {0}")]
    Routes(BirdError),
    /// Building the expected routes or judging them panicked or was cancelled.
    #[error("route check: {0}")]
    Judging(tokio::task::JoinError),
}

/// One route check on `client`, or None when there is nothing to check yet (no plan). The
/// time is the whole check's, BIRD's reply included.
async fn check_routes(
    client: &mut Client,
    state: &ReconcileView,
    protocols: Result<Vec<ProtocolRow>, BirdUnavailable>,
) -> Option<Result<(RouteCheck, f64), RouteCheckError>> {
    let (plan, snapshot) = (state.plan.clone()?, state.snapshot.clone()?);
    let started = Instant::now();
    // A panic while building the expected routes is this check's error, published like any
    // other (readiness and /routes show it), not a silently kept old check.
    let expected = match off_thread(move || expected(&snapshot, &plan)).await {
        Ok(e) => e,
        Err(e) => return Some(Err(e)),
    };
    let prefixes = query_prefixes(&expected);
    let protocols = match protocols {
        Ok(p) => p,
        Err(e) => return Some(Err(RouteCheckError::Protocols(e))),
    };
    // No pool and no service range: nothing is expected, nothing to ask BIRD about.
    let bird = if prefixes.is_empty() {
        Vec::new()
    } else {
        match client.show_routes_in(false, &prefixes).await {
            Ok(b) => b,
            Err(e) => return Some(Err(RouteCheckError::Routes(e))),
        }
    };
    let judged = off_thread(move || {
        let table = read_main_table().map_err(|e| e.to_string());
        let in_bird: std::collections::HashSet<ipnet::IpNet> = bird
            .iter()
            .filter_map(|r| r.network.parse::<ipnet::IpNet>().ok())
            .collect();
        let kernel = kernel_view(&expected, &|p| in_bird.contains(p), &table);
        check(
            &expected,
            &Observed {
                bird: &bird,
                filtered: None,
                protocols: &protocols,
                kernel,
            },
        )
    })
    .await;
    Some(judged.map(|c| (c, started.elapsed().as_secs_f64())))
}

/// `work` (a CPU-bound part of the check) on a blocking thread; its panic or cancellation is
/// the check's error.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RouteCheckError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(RouteCheckError::Judging)
}

/// The rest of a full view, on a connection that already answered `show status`.
async fn read_view(client: &mut Client, status: Status, at: SystemTime, routes: bool) -> BirdView {
    let unix = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let utc_offset = status
        .server_time
        .as_deref()
        .and_then(|t| utc_offset_from_server_time(t, unix))
        .unwrap_or(0);
    let protocols = client
        .show_protocols_all(None)
        .await
        .map_err(BirdUnavailable::from);
    let routes = if routes {
        Some(client.show_route().await.unwrap_or_default())
    } else {
        None
    };
    BirdView {
        fetched_at: at,
        version: Some(client.version().to_owned()),
        status: Ok(status),
        protocols,
        routes,
        utc_offset,
        queries: 0,
        restarts_seen: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconfiguration_stamp_read_a_millisecond_apart_is_the_same_one() {
        let first = Some("2026-12-02 00:17:31.461");
        assert_eq!(
            steady_stamp(first, Some("2026-12-02 00:17:31.462".into())).as_deref(),
            first,
            "print jitter"
        );
        assert_eq!(
            steady_stamp(first, Some("2026-12-02 00:17:31.460".into())).as_deref(),
            first
        );
        let later = "2026-12-02 00:17:33.120";
        assert_eq!(
            steady_stamp(first, Some(later.into())).as_deref(),
            Some(later),
            "a real reconfiguration moves it"
        );
        assert_eq!(
            steady_stamp(None, Some(later.into())).as_deref(),
            Some(later)
        );
        assert_eq!(
            steady_stamp(first, None),
            None,
            "BIRD says nothing: nothing kept"
        );
        assert_eq!(
            steady_stamp(first, Some("garbage".into())).as_deref(),
            Some("garbage")
        );
    }

    fn status(server_time: &str, last_reboot: &str) -> Status {
        Status {
            server_time: Some(server_time.into()),
            last_reboot: Some(last_reboot.into()),
            ..Status::default()
        }
    }

    #[tokio::test]
    async fn a_panic_off_thread_is_the_checks_error() {
        // Building the expected routes or judging them: a panic is reported, not swallowed.
        let err = off_thread(|| -> u8 { panic!("no expected routes") })
            .await
            .unwrap_err();
        assert!(matches!(err, RouteCheckError::Judging(_)), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("route check: ") && message.contains("panicked"),
            "{message}"
        );
        assert_eq!(off_thread(|| 7).await.unwrap(), 7);
    }

    #[test]
    fn a_jittering_boot_stamp_is_not_a_restart() {
        // The stamp moves by a second either way between replies; the server time moves on.
        let first = Boot::of(None, &status("2026-11-25 19:07:04", "2026-11-25 19:06:47"));
        for (now, reboot) in [
            ("2026-11-25 19:07:05", "2026-11-25 19:06:48"),
            ("2026-11-25 19:07:06", "2026-11-25 19:06:46"),
            ("2026-11-25 19:07:06.999", "2026-11-25 19:06:47.001"),
            ("2026-11-25 19:07:07", "2026-11-25 19:06:49"),
        ] {
            let next = Boot::of(None, &status(now, reboot));
            assert!(!restarted(&first, &next), "{now} / {reboot}");
        }
    }

    #[test]
    fn a_clock_step_is_not_a_restart() {
        let first = Boot::of(None, &status("2026-11-25 19:07:04", "2026-11-25 19:06:47"));
        for (now, reboot) in [
            // An hour forward, a day back: both stamps move together.
            ("2026-11-25 20:07:05", "2026-11-25 20:06:47"),
            ("2026-11-24 19:07:06", "2026-11-24 19:06:48"),
        ] {
            let next = Boot::of(None, &status(now, reboot));
            assert!(!restarted(&first, &next), "{now} / {reboot}");
        }
        // The same process, whatever its stamps say.
        let a = Boot::of(
            Some(41),
            &status("2026-11-25 19:07:04", "2026-11-25 19:06:47"),
        );
        let b = Boot::of(
            Some(41),
            &status("2026-11-25 19:07:05", "2026-11-25 19:07:05"),
        );
        assert!(!restarted(&a, &b));
    }

    #[test]
    fn a_new_process_or_a_reset_uptime_is_a_restart() {
        let a = Boot::of(
            Some(41),
            &status("2026-11-25 19:07:04", "2026-11-25 19:06:47"),
        );
        let b = Boot::of(
            Some(97),
            &status("2026-11-25 19:07:05", "2026-11-25 19:06:47"),
        );
        assert!(restarted(&a, &b), "a new pid");
        let a = Boot::of(None, &status("2026-11-25 19:07:04", "2026-11-25 19:06:47"));
        let b = Boot::of(None, &status("2026-11-25 19:07:06", "2026-11-25 19:07:05"));
        assert!(restarted(&a, &b), "uptime went from 17 s to 1 s");
        // Nothing to compare: not a restart.
        assert!(!restarted(&Boot::default(), &b));
    }
}
