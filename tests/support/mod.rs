//! Test support shared by the integration tests.
#![allow(dead_code)]

pub mod bgp_lab;
pub mod bgp_routes;
pub mod bird;
pub mod birdconf;
pub mod calico_step;
pub mod certs;
pub mod commands;
pub mod etcd;
pub mod etcd_cluster;
pub mod fixtures;
pub mod follow;
pub mod forward;
pub mod golden;
pub mod netns;
pub mod pair;
pub mod perch;
pub mod yaml;
