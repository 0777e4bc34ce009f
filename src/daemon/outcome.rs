//! What an install's result means for the apply record, and the config's short hash: shared by
//! the reconciler and confirmed apply.

use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::bird::install::{InstallError, Installed};
use crate::plan::Plan;
use crate::views::ApplyResult;

pub(crate) fn outcome(
    r: Result<Installed, InstallError>,
    hash: &str,
    plan: &Plan,
    trigger: &str,
) -> (ApplyResult, Option<String>) {
    match r {
        Ok(Installed::Unchanged) => (ApplyResult::Unchanged, None),
        Ok(Installed::Reconfigured { outcome }) => {
            info!(hash = %hash, peers = plan.peers.len(), ?outcome, trigger = %trigger, "bird reconfigured");
            (ApplyResult::Reconfigured, None)
        }
        Ok(Installed::FileOnly { reason }) => {
            warn!(
                "config installed but BIRD is unreachable ({reason}); will configure when it is back"
            );
            (ApplyResult::FileOnly, Some(reason))
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

/// First 12 hex digits of the config's SHA-256.
pub(crate) fn config_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_of(error: InstallError) -> ApplyResult {
        let plan = crate::plan::plan(
            &crate::snapshot::Snapshot::default(),
            "n1",
            &crate::plan::PlanOptions::default(),
        );
        outcome(Err(error), "0123456789ab", &plan, "test").0
    }

    #[test]
    fn only_a_config_bird_refused_is_rejected() {
        let rejected = InstallError::Rejected {
            checker: "bird configure".into(),
            message: "bird.cfg:3:1 syntax error".into(),
        };
        assert_eq!(result_of(rejected), ApplyResult::Rejected);
        let refused = InstallError::RefusedAtConfigure {
            message: "bird.cfg:3:1 syntax error".into(),
            restored: "the previous config was restored and is running".into(),
        };
        assert_eq!(result_of(refused), ApplyResult::Rejected);
        // BIRD could not be asked, or could not undo: not a verdict on the config, so no
        // session is left out for it.
        let unreachable = InstallError::BirdUnreachable {
            reason: "bird control socket /run/bird/bird.ctl: not found (is BIRD running?)".into(),
        };
        assert_eq!(result_of(unreachable), ApplyResult::Error);
        let undo = InstallError::UndoFailed {
            message: "bird control socket /run/bird/bird.ctl: connection refused".into(),
        };
        assert_eq!(result_of(undo), ApplyResult::Error);
    }
}
