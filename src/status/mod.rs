//! Peering status: what perch and BIRD are doing, for people and machines.
//!
//! Owns: the metrics registry, (later) the HTTP server and the CalicoNodeStatus writer.
//! Must not: change BIRD's config or the datastore's resources (CalicoNodeStatus `status`
//! excepted).

pub mod document;
pub mod http;
pub mod nodestatus;
pub mod page;
pub mod peers;
pub mod writer;
