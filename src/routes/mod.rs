//! Route verification: is every pod block really routed here, by BIRD and by the kernel?
//!
//! Owns: [`expected`] (what the datastore says this node must route, pure),
//! [`verdict`] (expected vs observed, one verdict per prefix, pure) and [`kernel`] (reading
//! the kernel's main table over netlink, the only I/O here) and [`observe`] (which prefixes to
//! ask BIRD about, and whether a kernel table is BIRD's). BIRD's side is parsed by
//! [`crate::bird::parse`].
//! Must not: query BIRD itself (callers pass its replies in), or decide route policy.

pub mod expected;
pub mod kernel;
pub mod observe;
pub(crate) mod verdict;

pub use expected::{Expected, ExpectedRoute, IgnoredBlock, KernelRoute, RouteSource, expected};
pub use verdict::{
    Cause, CauseKind, KernelView, Observed, RouteCheck, RouteReport, Verdict, check,
};
