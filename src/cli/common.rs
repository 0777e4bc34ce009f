//! Arguments shared by the commands that read resources, and how they load a snapshot.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::plan::{PlanOptions, RouterIdOverride};
use crate::snapshot::Snapshot;

/// Where resources come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A YAML/JSON file (multi-document allowed) or a directory of them.
    #[arg(long, short = 'r', env = "PERCH_RESOURCES", value_name = "PATH")]
    pub resources: Option<PathBuf>,
    /// Directory of mounted BGP password secrets: `<dir>/<secret name>/<key>` files.
    #[arg(long, env = "PERCH_SECRETS_DIR", value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
}

/// The node being served, and environment overrides Calico also honours.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// This node's name (Calico's NODENAME; defaults to the host name).
    #[arg(long, short = 'n', env = "NODENAME", value_name = "NAME")]
    pub node: Option<String>,
    /// Router ID override: an IPv4 address or `hash` (Calico's CALICO_ROUTER_ID).
    #[arg(long, env = "CALICO_ROUTER_ID", value_name = "ID|hash")]
    pub router_id: Option<String>,
}

impl NodeArgs {
    /// The node name: `--node`, `NODENAME`, or the host name.
    pub fn node_name(&self) -> Result<String, CliError> {
        let name = match self.node.as_ref().filter(|n| !n.is_empty()) {
            Some(n) => n.clone(),
            None => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .filter(|h| !h.is_empty())
                .ok_or_else(|| CliError::failed("no node name: pass --node or set NODENAME"))?,
        };
        let valid = name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !valid {
            return Err(CliError::failed(format!(
                "node name {name:?} must be letters, digits, '-', '.' and '_' (a Kubernetes node name)"
            )));
        }
        Ok(name)
    }

    pub fn plan_options(&self) -> Result<PlanOptions, CliError> {
        let router_id = match self.router_id.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => Some(v.parse::<RouterIdOverride>().map_err(CliError::failed)?),
            None => None,
        };
        Ok(PlanOptions { router_id })
    }
}

impl SourceArgs {
    /// Reads the resources into a snapshot.
    pub async fn load(&self) -> Result<Snapshot, CliError> {
        let Some(path) = &self.resources else {
            return Err(CliError::failed(
                "no resources: pass --resources PATH (a YAML/JSON file or directory) or set PERCH_RESOURCES",
            ));
        };
        let snapshot = crate::datastore::files::load_snapshot(path, self.secrets_dir.as_deref())?;
        Ok(snapshot)
    }
}
