//! perch: a confd-style BGP control-plane sidecar for BIRD 2 that reads Calico v3 BGP
//! resources (from etcd, in Calico's own key layout, or from a directory of YAML files),
//! plans this node's BGP sessions with Calico's semantics, renders BIRD config from tera
//! templates, installs it safely and reports peering status.
//!
//! # Layout
//!
//! ```text
//! etcd / YAML files ──► datastore ──events──► snapshot ──Arc<Snapshot>──► plan ──Plan──► render ──text──► bird
//!   (list+watch)        (I/O; one seam:       (pure)                       (pure)        (pure view +     (atomic write,
//!                        datastore::Source)                                               tera)            check, configure)
//!
//! perch run (daemon): each task owns one piece of state and publishes it as a view (views):
//!   sync task ── DatastoreView      reconciler ── ReconcileView      templates ── TemplatesView
//!   BIRD monitor ── BirdView (the only runtime task that asks BIRD; drift repair and
//!                             confirmed apply read it)
//!                               │
//!                               ▼
//!   status: /status, /metrics, /readyz, the page, CalicoNodeStatus (read the views only)
//! ```
//!
//! - [`resources`]: Calico v3 types, AS numbers, keys, decoding and validation (pure).
//! - [`selector`]: Calico's selector grammar (pure).
//! - [`snapshot`]: the cluster as the planner sees it; `apply(event)` (pure).
//! - [`plan`]: `plan(&Snapshot, node) → Plan` and explanations (pure).
//! - [`render`]: `Plan` → typed view → tera → BIRD config text (pure, plus template loading).
//! - [`preview`]: a proposed change's blast radius: sessions added, removed, reset, reloaded (pure).
//! - [`datastore`]: the file datastore (watched) and etcd (list at one revision, watch, resume,
//!   re-list after compaction) behind one seam, [`datastore::source::Source`]; both emit the same events.
//! - [`bird`]: BIRD's control socket (client, reply framing, pure parsers) and config install.
//! - [`views`]: the views `perch run`'s tasks publish, one owner each (types only).
//! - [`daemon`]: `perch run`: the wiring, the sync task that owns the snapshot, the coalescing
//!   reconciler, the BIRD monitor, drift repair, confirmed apply.
//! - [`routes`]: route verification: expected routes, BIRD and kernel tables, verdicts.
//! - [`status`]: `/status`, `/metrics`, the HTML page, peer status and drift, CalicoNodeStatus;
//!   reads the views, never the daemon.
//! - [`metrics`], `time`: perch's own metrics; calendar arithmetic and RFC 3339 (neutral).
//! - [`cli`]: the command line; `main.rs` only parses it and maps errors to exit codes.
//!
//! `ARCHITECTURE.md` follows one etcd change to BIRD's `configure`, file by file.

// Resources and events are large values moved a handful of times per change; boxing them
// would only add indirection.
#![allow(clippy::large_enum_variant)]
#![warn(unreachable_pub)]
#![warn(missing_docs)]

pub mod bird;
pub mod cli;
pub(crate) mod daemon;
pub mod datastore;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod metrics;
pub mod plan;
pub(crate) mod preview;
pub mod render;
pub mod resources;
pub mod routes;
pub(crate) mod selector;
pub mod snapshot;
pub mod status;
pub(crate) mod time;
pub(crate) mod views;
