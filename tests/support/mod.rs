//! Test support shared by the integration tests.
#![allow(dead_code)]

pub mod bird;
pub mod fixtures;
pub mod golden;
pub mod netns;
pub mod pair;
pub mod perch;
