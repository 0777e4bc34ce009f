//! What the CLI and the daemon share to observe one check: which prefixes to ask BIRD about,
//! and whether the kernel table perch sees is BIRD's. Pure.

use ipnet::IpNet;

use super::expected::{Expected, KernelRoute};
use super::kernel::KernelEntry;
use super::verdict::KernelView;

/// The prefixes to ask BIRD about: the pools, and the service ranges outside them.
pub fn query_prefixes(expected: &Expected) -> Vec<IpNet> {
    let mut out = expected.pools.clone();
    for r in &expected.routes {
        if r.pool.is_none() {
            out.push(r.prefix);
        }
    }
    out
}

/// Whether a kernel table looks like BIRD's: with nothing of BIRD's in it while BIRD has
/// routes to program, perch is most likely in another network namespace.
pub fn kernel_view<'a>(
    expected: &Expected,
    bird_has: &dyn Fn(&IpNet) -> bool,
    table: &'a Result<Vec<KernelEntry>, String>,
) -> KernelView<'a> {
    match table {
        Err(e) => KernelView::Unavailable(format!("kernel not checked: {e}")),
        Ok(t) => {
            let programmed = expected.routes.iter().any(|r| {
                !matches!(r.kernel, KernelRoute::NotProgrammed { .. }) && bird_has(&r.prefix)
            });
            if programmed && !t.iter().any(|e| e.protocol == "bird") {
                KernelView::Unavailable(
                    "kernel not checked: the routing table perch sees has no route from BIRD, so perch does not share BIRD's network namespace (run it on the host network, or pass --no-kernel)".into(),
                )
            } else {
                KernelView::Table(t)
            }
        }
    }
}
