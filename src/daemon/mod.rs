//! `perch run`: the sidecar. Each piece of runtime state has one owner task, which publishes
//! it on its own `watch` channel ([`crate::views`]); everyone else only reads.
//!
//! ```text
//! datastore task ─Update─► sync task ──watch<Published>──► reconciler ─► bird::install
//! secrets, workloads ─┘     │ DatastoreView               ▲  │ ReconcileView
//! templates watch ──watch<Templates>──────────────────────┤  │
//!                           │ TemplatesView               │  │
//! bird monitor ─BirdEvent (restarted/back)────────────────┤  │
//!   │ BirdView (every BIRD query) ──(drift, confirm)──────┘  │
//!   └────────────────► status: HTTP server, CalicoNodeStatus writer ◄┘
//! ```
//!
//! The sync task is the one owner of the snapshot and publishes it only when it is complete
//! (never mid re-list). The reconciler coalesces bursts ([`coalesce`]), plans, renders and
//! installs; BIRD is touched only when the bytes change, BIRD restarted, or BIRD's protocols
//! drifted from the plan. The BIRD monitor is the only task that asks BIRD anything.
//!
//! - [`wiring`]: the one place that creates the channels and spawns every task.
//! - [`channels`]: the messages between tasks; [`config`]: the settings.
//! - `tasks`: the sync task and the file watchers; `monitor`: the BIRD monitor;
//!   `reconcile`: the reconciler; `confirm`: confirmed apply.

mod channels;
pub(crate) mod coalesce;
mod config;
mod confirm;
mod monitor;
mod outcome;
mod reconcile;
mod refusals;
mod tasks;
mod wiring;

pub(crate) use config::RunConfig;
pub(crate) use wiring::Daemon;
