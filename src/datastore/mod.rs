//! Datastores: where resources come from. Both emit the same [`Update`]s; [`source::Source`] is the
//! one seam the rest of perch uses to pick and run one.
//!
//! Owns: reading files and etcd, turning keys and documents into [`Event`]s, watching for
//! changes, reconnecting, re-listing atomically. Must not: plan, render, or touch BIRD.
//!
//! A running datastore is a task that sends [`Update`]s on a channel: first a full list
//! (`Event::Init`, `InitApply`…, `InitDone`, then `Synced`), then changes as they happen; after
//! a reconnect that cannot resume (etcd compaction) it sends a full list again.

pub mod etcd;
pub mod files;
pub(crate) mod source;
pub(crate) mod watch;

use crate::snapshot::Event;

/// What a datastore task reports.
#[derive(Debug, Clone)]
pub enum Update {
    /// A change to apply to the snapshot.
    Event(Event),
    /// Everything up to this point is a complete, consistent view (after a list, and after
    /// each batch of watched changes). `revision` is the etcd revision (0 for files).
    Synced {
        /// The etcd revision the view is at; 0 for files.
        revision: i64,
    },
    /// Something in the mounted secrets directory changed: the secrets the resources
    /// reference are read again (by the task that owns the snapshot, which knows which).
    SecretsDirChanged,
    /// The datastore is unreachable or failing; the last synced view is still in use.
    Unavailable {
        /// What failed, in words.
        message: String,
    },
}
