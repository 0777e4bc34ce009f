//! The etcd datastore: Calico's etcdv3 key layout, listed at one revision, then watched.
//!
//! Owns: connecting (TLS, auth, keep-alive), listing every kind perch reads plus this node's
//! block affinities at ONE revision, watching from the next revision, reconnecting and
//! re-listing after a compaction, and the read/write [`Store`] behind `perch apply` & co.
//! Must not: plan, render, or hold on to resources beyond one list; the snapshot owns them.
//!
//! - [`load_snapshot`]: one-shot list (`perch plan`, `perch render`).
//! - [`spawn`]: list, then follow with a watch; emits [`crate::datastore::Update`]s.
//! - [`Store`]: get, list, create, CAS update, apply, read-modify-write, delete.

mod config;
mod list;
mod retry;
mod store;
pub mod value;
mod watch;

#[cfg(test)]
mod value_tests;

pub use config::{EtcdConfig, EtcdError, connect, quoted};
pub use list::load_snapshot;
pub use store::{Store, Stored, Written};
pub use watch::{MAX_BACKOFF, MIN_BACKOFF, spawn};
