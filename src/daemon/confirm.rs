//! Confirmed apply (`perch run --confirm-window`): install with `configure timeout`, then
//! `configure confirm` once every session that was Established before (and is still planned)
//! is Established again, else `configure undo`. Which sessions are Established comes from the
//! BIRD monitor's view (read fresh, on request), never from a client of its own.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use super::outcome::{config_hash, outcome};
use crate::bird::install::{Installed, Installer};
use crate::bird::parse::ConfigureOutcome;
use crate::plan::Plan;
use crate::views::{ApplyResult, BirdView};

/// The BIRD monitor's view, and the way to ask it for a fresh one.
pub(crate) struct Confirm {
    pub(crate) bird: watch::Receiver<Arc<BirdView>>,
    pub(crate) refresh: Arc<Notify>,
}

impl Confirm {
    /// The BGP sessions Established in a view read after now (the latest view if the monitor
    /// does not answer in time; empty when BIRD cannot be asked).
    async fn established(&self, timeout: Duration) -> BTreeSet<String> {
        let asked = SystemTime::now();
        let mut rx = self.bird.clone();
        self.refresh.notify_one();
        let fresh = tokio::time::timeout(timeout, rx.wait_for(|v| v.fetched_at >= asked)).await;
        if let Ok(Ok(v)) = fresh {
            return v.established();
        }
        self.bird.borrow().established()
    }

    /// Confirmed apply: `configure timeout`, then `configure confirm` once every session that was
    /// Established before (and is still planned) is Established again, else `configure undo`.
    pub(crate) async fn install(
        &self,
        installer: &Installer,
        text: &str,
        force_configure: bool,
        window: Duration,
        plan: &Plan,
    ) -> (ApplyResult, Option<String>) {
        let before = self.established(installer.command_timeout).await;
        let previous = installer.current();
        // BIRD's own timer is a safety net should perch die mid-window.
        let undo_after = u32::try_from(window.as_secs() + 10).unwrap_or(u32::MAX);
        let installed = installer
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
            let now_up = self.established(installer.command_timeout).await;
            missing = expected
                .iter()
                .filter(|n| !now_up.contains(*n))
                .cloned()
                .collect();
            if missing.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if missing.is_empty() {
            return match installer.confirm().await {
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
        match installer.undo(previous.as_deref()).await {
            Ok(_) => {
                warn!("{why}");
                (ApplyResult::RolledBack, Some(why))
            }
            Err(e) => (
                ApplyResult::RolledBack,
                Some(format!("{why}; {e} (BIRD's own timer will undo it)")),
            ),
        }
    }
}
