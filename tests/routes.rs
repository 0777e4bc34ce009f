//! Route verification against real tables: the kernel's main table read over netlink in a
//! network namespace, and `perch routes` / `perch explain … route` with real BIRDs.

mod support;

use std::os::fd::AsFd;

use perch::routes::kernel::{KernelEntry, read_main_table};
use support::netns::Netns;

/// Reads the main table of `ns` from a thread that joined it (setns changes only that thread).
fn table_of(ns: &Netns) -> Vec<KernelEntry> {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        read_main_table().unwrap()
    })
    .join()
    .unwrap()
}

#[test]
fn the_kernel_table_is_read_over_netlink() {
    let ns = Netns::new("rk");
    for args in [
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"][..],
        &["link", "set", "v0", "up"],
        &["link", "set", "v1", "up"],
        &["addr", "add", "10.77.0.1/24", "dev", "v0"],
        &[
            "route",
            "add",
            "blackhole",
            "10.244.1.0/26",
            "proto",
            "bird",
        ],
        &[
            "route",
            "add",
            "10.244.2.0/26",
            "via",
            "10.77.0.2",
            "proto",
            "bird",
        ],
        &[
            "route",
            "add",
            "10.244.3.0/26",
            "via",
            "10.98.0.3",
            "dev",
            "v0",
            "onlink",
            "proto",
            "bird",
        ],
        &[
            "route",
            "add",
            "10.244.4.0/26",
            "proto",
            "bird",
            "nexthop",
            "via",
            "10.77.0.2",
            "nexthop",
            "via",
            "10.77.0.3",
        ],
        &[
            "route",
            "add",
            "10.244.5.0/26",
            "via",
            "10.77.0.2",
            "table",
            "100",
        ],
        &[
            "-6",
            "route",
            "add",
            "blackhole",
            "fd00:244::/122",
            "proto",
            "bird",
        ],
    ] {
        ns.ip(args).unwrap();
    }
    let mut seen: Vec<String> = table_of(&ns)
        .iter()
        .filter(|e| e.protocol == "bird" || e.prefix.to_string() == "10.77.0.0/24")
        .map(KernelEntry::describe)
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "10.244.2.0/26 via 10.77.0.2 dev v0 proto bird",
            "10.244.3.0/26 via 10.98.0.3 dev v0 proto bird onlink",
            "10.244.4.0/26 via 10.77.0.2 dev v0 proto bird",
            "10.244.4.0/26 via 10.77.0.3 dev v0 proto bird",
            "10.77.0.0/24 dev v0 proto kernel",
            "blackhole 10.244.1.0/26 proto bird",
            "blackhole fd00:244::/122 dev lo proto bird",
        ],
        "main table only (table 100's route is left out), both families, multipath split per next hop"
    );
}
