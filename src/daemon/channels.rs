//! The messages the daemon's tasks send each other (the views they publish are in
//! [`crate::views`]).

use std::sync::Arc;

use crate::snapshot::Snapshot;

/// A complete snapshot, as the sync task publishes it to the reconciler.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) revision: i64,
}

/// What the BIRD monitor tells the reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BirdEvent {
    /// BIRD was unreachable and answers again.
    BackOnline,
    /// A new BIRD process answers the socket: it restarted.
    Restarted,
}
