//! Datastores: where resources come from. Both emit the same [`crate::snapshot::Event`]s.
//!
//! Owns: reading files and etcd, turning keys and documents into events, watching for
//! changes. Must not: plan or render.

pub mod files;
