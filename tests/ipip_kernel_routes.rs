//! IPIP pools on upstream BIRD 2: the kernel routes perch's config makes BIRD program.
//!
//! Three nodes, each a network namespace with a real BIRD running the config perch renders for
//! it (full iBGP mesh), on one bridge. Their Node resources put node-a and node-b in subnet
//! 10.90.1.0/24 and node-c in 10.90.2.0/24 (the interfaces share 10.90.0.0/16, so every
//! session connects; CrossSubnet compares the BGP next hop with the Node resource's subnet, as
//! Calico does). Two pools: `ipip-always` (10.244.0.0/16, IPIP Always) and `ipip-cross`
//! (10.245.0.0/16, IPIP CrossSubnet); every node owns one block of each. Asserted in every
//! namespace (`ip route`): the remote blocks of the Always pool go `via <node> dev tunl0
//! onlink`; those of the CrossSubnet pool go direct (`dev eth0`) to a same-subnet node and
//! through tunl0 to the other-subnet node; the node's own blocks are blackholes.
//!
//! This kernel may have no `ipip` module: a tun device named `tunl0` then stands in (BIRD only
//! looks the interface up by name, so the routes it writes are the same as on a real IPIP
//! tunl0). Traffic over it is not encapsulated, so this test asserts routes, not packets.

mod support;

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use perch::datastore::files::load_snapshot;
use perch::plan::{PlanOptions, plan};
use perch::render::{Templates, render};
use serde_json::Value;
use support::bird::{Bird, require_bird};
use support::netns::{Lan, Netns};

const NODES: [(&str, &str, &str, u8); 3] = [
    // name, interface address, Node ipv4Address, block index
    ("node-a", "10.90.1.1/16", "10.90.1.1/24", 1),
    ("node-b", "10.90.1.2/16", "10.90.1.2/24", 2),
    ("node-c", "10.90.2.3/16", "10.90.2.3/24", 3),
];

fn resources() -> String {
    let mut y = String::from(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n\
         spec: {asNumber: 64512, logSeverityScreen: Info}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ipip-always}\n\
         spec: {cidr: 10.244.0.0/16, ipipMode: Always, blockSize: 26}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ipip-cross}\n\
         spec: {cidr: 10.245.0.0/16, ipipMode: CrossSubnet, blockSize: 26}\n",
    );
    for (name, _, address, i) in NODES {
        y += &format!(
            "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: {name}}}\n\
             spec: {{bgp: {{ipv4Address: {address}}}}}\n"
        );
        for pool in [244, 245] {
            y += &format!(
                "---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\n\
                 metadata: {{name: {name}-10-{pool}-{i}-0-26}}\n\
                 spec: {{node: {name}, cidr: 10.{pool}.{i}.0/26, state: confirmed}}\n"
            );
        }
    }
    y
}

/// Creates `tunl0` in `ns`: a real IPIP device when the kernel has one, else a tun device of
/// that name held open by this process (without a reader it has no carrier and the kernel
/// refuses routes through it). Returns the holding descriptor, if any.
fn tunl0(node: &str, ns: &Netns) -> Option<OwnedFd> {
    if ns.ip(&["link", "add", "tunl0", "type", "ipip"]).is_ok() {
        println!("{node}: tunl0 is a real IPIP device");
        ns.ip(&["link", "set", "tunl0", "up"]).unwrap();
        return None;
    }
    println!(
        "{node}: this kernel has no ipip module; a tun device named tunl0 stands in \
         (BIRD only looks the interface up by name; routes are asserted, not packets)"
    );
    ns.ip(&["tuntap", "add", "tunl0", "mode", "tun"]).unwrap();
    let path = format!("/var/run/netns/{}", ns.name);
    // The namespace is per thread: attach from a thread that joined it.
    let fd = std::thread::spawn(move || {
        use nix::libc;
        let netns = std::fs::File::open(&path).unwrap();
        // SAFETY: plain syscalls on descriptors this thread owns; `ifreq` is a zeroed
        // 40-byte buffer with the name and flags where the kernel reads them.
        unsafe {
            assert_eq!(libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET), 0);
            let fd = libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR);
            assert!(fd >= 0, "open /dev/net/tun");
            let mut ifreq = [0u8; 40];
            ifreq[..5].copy_from_slice(b"tunl0");
            let flags: u16 = 0x0001 | 0x1000; // IFF_TUN | IFF_NO_PI
            ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
            const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
            assert_eq!(
                libc::ioctl(fd, TUNSETIFF, ifreq.as_mut_ptr()),
                0,
                "TUNSETIFF tunl0"
            );
            OwnedFd::from_raw_fd(fd)
        }
    })
    .join()
    .unwrap();
    ns.ip(&["addr", "add", "10.255.255.1/32", "dev", "tunl0"])
        .unwrap();
    ns.ip(&["link", "set", "tunl0", "up"]).unwrap();
    Some(fd)
}

/// The IPv4 routes BIRD programmed in `ns`, by destination.
fn bird_routes(ns: &Netns) -> BTreeMap<String, Value> {
    let out = std::process::Command::new("ip")
        .args(["-n", &ns.name, "-j", "route", "show", "proto", "bird"])
        .output()
        .unwrap();
    let routes: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    routes
        .into_iter()
        .filter_map(|r| Some((r["dst"].as_str()?.to_owned(), r)))
        .collect()
}

/// `blackhole`, `via GW dev DEV [onlink]`: the parts this test asserts.
fn describe(r: &Value) -> String {
    if r["type"] == "blackhole" {
        return "blackhole".into();
    }
    let onlink = r["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "onlink"));
    format!(
        "via {} dev {}{}",
        r["gateway"].as_str().unwrap_or("?"),
        r["dev"].as_str().unwrap_or("?"),
        if onlink { " onlink" } else { "" }
    )
}

#[test]
fn ipip_always_and_cross_subnet_blocks_are_programmed_through_tunl0() {
    require_bird();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("cluster.yaml");
    std::fs::write(&file, resources()).unwrap();
    let snapshot = load_snapshot(&file, None).unwrap();

    let lan = Lan::new();
    let mut running = Vec::new();
    for (name, iface, _, _) in NODES {
        let ns = Netns::new("ip");
        lan.attach(&ns, iface);
        let holder = tunl0(name, &ns);
        let p = plan(&snapshot, name, &PlanOptions::default());
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
        assert!(p.route_policy.uses_tunnel());
        let config = render(&p, &snapshot, &Templates::builtin()).unwrap();
        let dir = home.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut bird = Bird::paths(&dir);
        std::fs::write(&bird.config, &config).unwrap();
        bird.start(&ns);
        running.push((name, bird, ns, holder));
    }

    let addr = |n: &str| {
        NODES
            .iter()
            .find(|x| x.0 == n)
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap()
    };
    for (name, _bird, ns, _) in &running {
        let me = NODES.iter().find(|x| x.0 == *name).unwrap();
        let mut want = BTreeMap::new();
        for (other, _, _, i) in NODES {
            for pool in [244, 245] {
                let dst = format!("10.{pool}.{i}.0/26");
                let route = if other == *name {
                    "blackhole".to_owned()
                } else {
                    let same_subnet = me.2.starts_with("10.90.1.")
                        == NODES
                            .iter()
                            .find(|x| x.0 == other)
                            .unwrap()
                            .2
                            .starts_with("10.90.1.");
                    if pool == 245 && same_subnet {
                        format!("via {} dev eth0", addr(other))
                    } else {
                        format!("via {} dev tunl0 onlink", addr(other))
                    }
                };
                want.insert(dst, route);
            }
        }
        // BGP converges in seconds; give a loaded machine a minute.
        let deadline = Instant::now() + Duration::from_secs(60);
        let got = loop {
            let got: BTreeMap<String, String> = bird_routes(ns)
                .iter()
                .filter(|(d, _)| d.starts_with("10.244.") || d.starts_with("10.245."))
                .map(|(d, r)| (d.clone(), describe(r)))
                .collect();
            if got == want {
                break got;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: kernel routes\n  want {want:#?}\n  got {got:#?}\n{}",
                _bird.birdc(&["show", "protocols"])
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        println!("{name} ({}):", me.2);
        for (dst, route) in &got {
            println!("  {dst} {route}");
        }
    }
}
