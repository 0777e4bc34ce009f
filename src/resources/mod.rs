//! Calico v3 BGP resources: types, AS numbers, etcd keys, decoding and validation.
//!
//! Owns: what a Node, BGPConfiguration, BGPPeer, IPPool, BGPFilter, CalicoNodeStatus and
//! block affinity look like, how text (YAML or JSON, one or many documents, `kind: List`)
//! becomes typed resources, which resources Calico's validator would accept, and what perch
//! keeps of some it refuses (a BGPConfiguration without its bad values, a BGPFilter whose bad
//! rules become rejects).
//! Must not: read files, talk to etcd, or know about planning. Everything here is pure.

pub(crate) mod addr;
pub(crate) mod asn;
pub mod decode;
pub(crate) mod duration;
pub(crate) mod filter_rules;
pub mod keys;
pub(crate) mod labels;
mod resource;
pub(crate) mod secret;
pub mod types;
pub(crate) mod validate;

pub use asn::{AsNumber, DEFAULT_AS};
pub use decode::{DecodeError, Document, decode_documents, decode_resource};
pub use resource::{API_VERSION, Kind, Resource, ResourceId, Warning};
pub use secret::{Secret, Secrets};
pub use types::*;
