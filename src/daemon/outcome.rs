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
