//! perch: a confd-style BGP control-plane sidecar for BIRD 2 that reads Calico v3 BGP
//! resources (from etcd, in Calico's own key layout, or from a directory of YAML files),
//! plans this node's BGP sessions with Calico's semantics, renders BIRD config from tera
//! templates, installs it safely and reports peering status.
//!
//! # Layout
//!
//! ```text
//! etcd / YAML files ──► datastore ──events──► snapshot ──Arc<Snapshot>──► plan ──Plan──► render ──text──► bird
//!   (list+watch)        (I/O)                 (pure)                       (pure)        (pure view +     (atomic write,
//!                                                                                         tera)            check, configure)
//!                                                                status ◄── bird replies (pure parsers) ◄──┘
//!                                                                (HTTP, metrics, CalicoNodeStatus)
//! ```
//!
//! - [`resources`]: Calico v3 types, AS numbers, keys, decoding and validation (pure).
//! - [`selector`]: Calico's selector grammar (pure).
//! - [`snapshot`]: the cluster as the planner sees it; `apply(event)` (pure).
//! - [`plan`]: `plan(&Snapshot, node) → Plan` and explanations (pure).
//! - [`render`]: `Plan` → typed view → tera → BIRD config text (pure, plus template loading).
//! - [`preview`]: a proposed change's blast radius: sessions added, removed, reset, reloaded (pure).
//! - [`datastore`]: the file datastore (watched) and etcd (list at one revision, watch, resume,
//!   re-list after compaction); both emit the same events.
//! - [`bird`]: BIRD's control socket (client, reply framing, pure parsers) and config install.
//! - [`daemon`]: `perch run`: the sync task that owns the snapshot, the coalescing reconciler,
//!   the BIRD monitor, confirmed apply.
//! - [`status`]: `/status`, `/metrics`, the HTML page, peer status and drift, CalicoNodeStatus.
//! - [`cli`]: the command line; `main.rs` only parses it and maps errors to exit codes.

// Resources and events are large values moved a handful of times per change; boxing them
// would only add indirection.
#![allow(clippy::large_enum_variant)]

pub mod bird;
pub mod cli;
pub mod daemon;
pub mod datastore;
pub mod metrics;
pub mod plan;
pub mod preview;
pub mod render;
pub mod resources;
pub mod selector;
pub mod snapshot;
pub mod status;
pub mod time;
pub mod views;
