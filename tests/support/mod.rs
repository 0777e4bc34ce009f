//! Test support shared by the integration tests.
#![allow(dead_code)]

pub mod certs;
pub mod commands;
pub mod etcd;
pub mod fixtures;
pub mod follow;
