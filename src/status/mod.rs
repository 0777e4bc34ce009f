//! Peering status: what perch and BIRD are doing, for people and machines.
//!
//! Owns: the HTTP server and the CalicoNodeStatus writer. Reads the daemon's published views
//! ([`crate::views`]) only; never imports the daemon, never asks BIRD itself.
//! Must not: change BIRD's config or the datastore's resources (CalicoNodeStatus `status`
//! excepted).

pub(crate) mod document;
pub(crate) mod http;
pub(crate) mod nodestatus;
pub(crate) mod page;
pub mod peers;
pub(crate) mod writer;
