//! The test support the lab's binary uses, from `tests/support/` (the integration tests
//! reach the same files through `tests/support/mod.rs`).
#![allow(dead_code)]

#[path = "../support/bird.rs"]
pub mod bird;
#[path = "../support/certs.rs"]
pub mod certs;
#[path = "../support/commands.rs"]
pub mod commands;
#[path = "../support/etcd.rs"]
pub mod etcd;
#[path = "../support/forward.rs"]
pub mod forward;
#[path = "../support/netns.rs"]
pub mod netns;
#[path = "../support/perch.rs"]
pub mod perch;
