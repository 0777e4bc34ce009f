//! The datastore seam: one [`Source`] with one contract, implemented by the file and etcd
//! datastores. `perch run` and every command that reads resources go through it.
//!
//! The contract: [`Source::spawn`] lists at one revision (`Init`, `InitApply`…, `InitDone`,
//! then `Synced`), then watches from that revision and sends the same events as changes
//! happen; [`Source::load`] is the same list, once. [`Source::status_writer`] writes
//! CalicoNodeStatus `status`, where the datastore can store it.

use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Update;
use super::etcd::{EtcdConfig, EtcdError, Store};
use super::files::FileError;
use crate::snapshot::Snapshot;

/// Where resources come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A YAML/JSON file or a directory of them, watched.
    Files(PathBuf),
    /// etcd v3 in Calico's key layout.
    Etcd(EtcdConfig),
}

/// Why a one-shot read failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Files(#[from] FileError),
    #[error(transparent)]
    Etcd(#[from] EtcdError),
}

/// Why CalicoNodeStatus `status` cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum StatusStoreError {
    /// The datastore has nowhere to write it: do not try again.
    #[error(
        "CalicoNodeStatus status is not written to the {0} datastore (it is read-only to perch)"
    )]
    NotSupported(&'static str),
    /// The datastore is unreachable now: retry later.
    #[error(transparent)]
    Unavailable(#[from] EtcdError),
}

impl Source {
    /// `files` or `etcdv3`, as `/status` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Files(_) => "files",
            Source::Etcd(_) => "etcdv3",
        }
    }

    /// Lists, then follows changes, sending [`Update`]s on `tx` until `cancel`. `node` selects
    /// the block affinities that are read.
    pub fn spawn(
        &self,
        node: &str,
        tx: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        match self {
            Source::Files(path) => super::files::spawn_watch(path.clone(), tx, cancel),
            Source::Etcd(etcd) => super::etcd::spawn(etcd.clone(), node.to_owned(), tx, cancel),
        }
    }

    /// Reads every resource once (with `node`'s block affinities), at one revision.
    pub async fn load(&self, node: &str) -> Result<Snapshot, LoadError> {
        match self {
            Source::Files(path) => Ok(super::files::load_snapshot(path, None)?),
            Source::Etcd(etcd) => {
                let (snapshot, revision) = super::etcd::load_snapshot(etcd, node).await?;
                tracing::debug!(revision, "read etcd");
                Ok(snapshot)
            }
        }
    }

    /// A connection that writes CalicoNodeStatus `status`.
    pub async fn status_writer(&self) -> Result<Store, StatusStoreError> {
        match self {
            Source::Files(_) => Err(StatusStoreError::NotSupported(self.kind())),
            Source::Etcd(etcd) => Ok(Store::connect(etcd).await?),
        }
    }

    /// For `--dry-run` and logs: where the resources are read (no secrets).
    pub fn describe(&self) -> String {
        match self {
            Source::Files(p) => format!("files at {}", p.display()),
            Source::Etcd(e) => format!("etcdv3 at {} ({e:?})", e.endpoints_text()),
        }
    }
}
