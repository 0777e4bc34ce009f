//! Arguments shared by the commands that read resources, and how they load a snapshot.
//!
//! Owns: the datastore choice (`--datastore files|etcdv3`, calicoctl's `DATASTORE_TYPE` and
//! `ETCD_*` variables) and turning it into an [`EtcdConfig`]. Must not: print the etcd
//! password (hidden from `--help`, redacted from `Debug`).

use std::fmt;
use std::path::PathBuf;

use clap::Args;

use super::error::CliError;
use crate::datastore::etcd::EtcdConfig;
use crate::datastore::source::Source;
use crate::plan::{PlanOptions, RouterIdOverride};
use crate::snapshot::{Event, Snapshot};

/// Which datastore a command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatastoreType {
    /// A YAML/JSON file or directory (the default).
    Files,
    /// etcd v3 in Calico's key layout.
    Etcdv3,
}

/// Where resources come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A YAML/JSON file (multi-document allowed) or a directory of them.
    #[arg(long, short = 'r', env = "PERCH_RESOURCES", value_name = "PATH")]
    pub resources: Option<PathBuf>,
    /// Directory of mounted BGP password secrets: `<dir>/<secret name>/<key>` files. Only the
    /// keys that BGPPeers and BGPConfigurations reference are read.
    #[arg(long, env = "PERCH_SECRETS_DIR", value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Felix's endpoint-status directory, for `localWorkloadSelector` peering with this node's
    /// workloads (Calico: `$CALICO_ENDPOINT_STATUS_PATH_PREFIX/endpoint-status`, by default
    /// `/var/run/calico/endpoint-status`).
    #[arg(long, env = "PERCH_ENDPOINT_STATUS_DIR", value_name = "DIR")]
    pub endpoint_status_dir: Option<PathBuf>,
    #[command(flatten)]
    pub datastore: DatastoreArgs,
}

/// Which datastore holds the resources, and how to reach etcd (calicoctl's variables).
#[derive(Clone, Args)]
pub struct DatastoreArgs {
    /// Where resources live: `files` (--resources) or `etcdv3` (Calico's etcd key layout).
    #[arg(
        long = "datastore",
        env = "DATASTORE_TYPE",
        value_enum,
        default_value = "files",
        value_name = "TYPE"
    )]
    pub datastore_type: DatastoreType,
    /// etcd endpoints, comma-separated (`https://` when using TLS).
    #[arg(
        long,
        env = "ETCD_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379",
        value_name = "URLS"
    )]
    pub etcd_endpoints: Vec<String>,
    /// CA certificate (PEM) that signed etcd's server certificate.
    #[arg(long, env = "ETCD_CA_CERT_FILE", value_name = "FILE")]
    pub etcd_ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM), when etcd requires client certificates.
    #[arg(long, env = "ETCD_CERT_FILE", value_name = "FILE")]
    pub etcd_cert_file: Option<PathBuf>,
    /// Client key (PEM) for --etcd-cert-file.
    #[arg(long, env = "ETCD_KEY_FILE", value_name = "FILE")]
    pub etcd_key_file: Option<PathBuf>,
    /// etcd user name, when etcd has authentication enabled.
    #[arg(long, env = "ETCD_USERNAME", value_name = "USER")]
    pub etcd_username: Option<String>,
    /// etcd password (prefer the ETCD_PASSWORD variable: arguments are visible in `ps`).
    #[arg(
        long,
        env = "ETCD_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub etcd_password: Option<String>,
}

impl fmt::Debug for DatastoreArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatastoreArgs")
            .field("datastore_type", &self.datastore_type)
            .field("etcd", &self.etcd_config())
            .finish()
    }
}

impl DatastoreArgs {
    /// The etcd settings when `--datastore etcdv3` is selected, else None.
    pub fn etcd_config(&self) -> Option<EtcdConfig> {
        if self.datastore_type != DatastoreType::Etcdv3 {
            return None;
        }
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Some(EtcdConfig {
            endpoints: self
                .etcd_endpoints
                .iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect(),
            ca_cert_file: self.etcd_ca_cert_file.clone(),
            cert_file: self.etcd_cert_file.clone(),
            key_file: self.etcd_key_file.clone(),
            username: non_empty(&self.etcd_username),
            password: non_empty(&self.etcd_password),
        })
    }
}

/// BIRD's control socket, for the commands that talk to BIRD.
#[derive(Debug, Clone, Args)]
pub struct BirdSocketArgs {
    /// BIRD's control socket (`bird -s`).
    #[arg(
        long,
        env = "PERCH_BIRD_SOCKET",
        default_value = "/run/bird/bird.ctl",
        value_name = "PATH"
    )]
    pub bird_socket: PathBuf,
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
    /// One CIDR of cluster IPs to advertise, replacing `serviceClusterIPs` (Calico's
    /// CALICO_ADVERTISE_CLUSTER_IPS).
    #[arg(long, env = "CALICO_ADVERTISE_CLUSTER_IPS", value_name = "CIDR")]
    pub advertise_cluster_ips: Option<String>,
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
        Ok(PlanOptions {
            router_id,
            advertise_cluster_ips: self.advertise_cluster_ips.clone(),
        })
    }
}

impl SourceArgs {
    /// The etcd settings when `--datastore etcdv3` is selected (for `perch run`), else None.
    pub fn etcd_config(&self) -> Option<EtcdConfig> {
        self.datastore.etcd_config()
    }

    /// Reads the resources with every node's block affinities (for commands that plan every
    /// node).
    pub async fn load_all(&self) -> Result<Snapshot, CliError> {
        self.load(crate::datastore::etcd::value::ALL_NODES).await
    }

    /// The datastore chosen by the arguments: the one place `run` and every command that
    /// reads resources pick it.
    pub fn source(&self) -> Result<Source, CliError> {
        if let Some(cfg) = self.etcd_config() {
            if self.resources.is_some() {
                tracing::warn!(
                    "--resources is ignored: resources come from etcd (--datastore etcdv3)"
                );
            }
            return Ok(Source::Etcd(cfg));
        }
        match &self.resources {
            Some(path) => Ok(Source::Files(path.clone())),
            None => Err(CliError::failed(
                "no resources: pass --resources PATH (a YAML/JSON file or directory) or set PERCH_RESOURCES, or read etcd with --datastore etcdv3 (DATASTORE_TYPE=etcdv3) with --etcd-endpoints",
            )),
        }
    }

    /// Reads the resources into a snapshot: from etcd (every kind, plus `node`'s block
    /// affinities, at one revision) or from --resources; from --secrets-dir, the secrets they
    /// reference.
    pub async fn load(&self, node: &str) -> Result<Snapshot, CliError> {
        let mut snapshot = self.source()?.load(node).await?;
        self.read_secrets(&mut snapshot)?;
        self.add_local_workloads(&mut snapshot);
        Ok(snapshot)
    }

    /// Reads, from --secrets-dir, the secrets `snapshot`'s resources reference (again, after
    /// a change to them). Without --secrets-dir there are none.
    pub fn read_secrets(&self, snapshot: &mut Snapshot) -> Result<(), CliError> {
        if let Some(dir) = &self.secrets_dir {
            let wanted = snapshot.secret_refs();
            snapshot.apply(Event::Secrets(crate::datastore::files::read_secrets(
                dir, &wanted,
            )?));
        }
        Ok(())
    }

    fn add_local_workloads(&self, snapshot: &mut Snapshot) {
        if let Some(dir) = &self.endpoint_status_dir {
            snapshot.apply(Event::LocalWorkloads(
                crate::datastore::files::read_endpoint_statuses(dir),
            ));
        }
    }
}
