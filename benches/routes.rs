//! Route verification cost at scale: `cargo bench --bench routes`.
//!
//! A full mesh of 10,000 nodes (and 1,000), one /26 block each in one pool, seen from one
//! node: the expected routes, the parse of BIRD's `show route all where …` and `show
//! protocols` replies (synthetic, in BIRD 2.0.12's exact format, one route per block), and the
//! verdict against a kernel table with every block. Best and median of several runs. The plan
//! itself (the node's sessions) is measured apart: the daemon has it already.
//!
//! Goal: expected + parse + verdict within 50 ms of CPU for 10,000 nodes.
//!
//! Beside it, a floor: the CPU time of framing the route reply into lines (part of every
//! check, a fixed amount of work), so that runs on a busy machine compare as check/floor.
//!
//! The same again behind a rack's ToR (Calico's "AS per rack"): the mesh off, node-0's only
//! session iBGP with a router that is no cluster node, every block learned from it with the
//! remote ToR's address as next hop, resolved recursively through the local ToR (the kernel's
//! gateway): every route takes the path that judges presence and BIRD's gateway.
//!
//! `cargo bench --bench routes -- 1000` runs only that size.

use std::time::{Duration, Instant};

use perch::bird::parse::{parse_show_protocols, parse_show_route};
use perch::bird::reply::Reply;
use perch::plan::{PlanOptions, plan};
use perch::resources::decode::{Decoded, decode_documents};
use perch::resources::{
    BlockAffinity, BlockAffinitySpec, IpPool, IpPoolSpec, Metadata, Node, NodeBgpSpec, NodeSpec,
    Resource,
};
use perch::routes::kernel::KernelEntry;
use perch::routes::{KernelView, Observed, check, expected};
use perch::snapshot::Snapshot;

fn address(i: usize) -> String {
    format!("10.{}.{}.{}", 64 + i / 65536, (i / 256) % 256, i % 256)
}

fn block(i: usize) -> String {
    // 10.128.0.0/9 holds 131,072 /26 blocks.
    let n = i * 64;
    format!("10.{}.{}.{}/26", 128 + n / 65536, (n / 256) % 256, n % 256)
}

fn metadata(name: String) -> Metadata {
    Metadata {
        name,
        ..Default::default()
    }
}

/// The local ToR (node-0's only session in the rack topology) and the remote one (the next
/// hop it passes on).
const TOR: &str = "10.63.255.254";
const REMOTE_TOR: &str = "10.63.255.253";

/// The two topologies measured.
#[derive(Clone, Copy, PartialEq)]
enum Topology {
    /// The full mesh.
    Mesh,
    /// The mesh off, one iBGP session with the rack's ToR.
    Rack,
}

fn cluster(nodes: usize, topology: Topology) -> Snapshot {
    let mut r = vec![Resource::IpPool(IpPool {
        metadata: metadata("pool".into()),
        spec: IpPoolSpec {
            cidr: "10.128.0.0/9".into(),
            ..Default::default()
        },
    })];
    for i in 0..nodes {
        r.push(Resource::Node(Node {
            metadata: metadata(format!("node-{i}")),
            spec: NodeSpec {
                bgp: Some(NodeBgpSpec {
                    ipv4_address: Some(format!("{}/10", address(i + 1))),
                    ..Default::default()
                }),
                ..Default::default()
            },
        }));
        r.push(Resource::BlockAffinity(BlockAffinity {
            metadata: metadata(format!("b-{i}")),
            spec: BlockAffinitySpec {
                node: format!("node-{i}"),
                cidr: block(i),
                state: "confirmed".into(),
                deleted: String::new(),
            },
        }));
    }
    if topology == Topology::Rack {
        let y = format!(
            "kind: BGPConfiguration\nmetadata: {{name: default}}\n\
             spec: {{nodeToNodeMeshEnabled: false, asNumber: 64512}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: rack-tor}}\nspec: {{peerIP: {TOR}, asNumber: 64512}}\n"
        );
        for d in decode_documents(&y, "bench").unwrap() {
            if let Decoded::Resource(res) = d {
                r.push(res);
            }
        }
    }
    Snapshot::from_resources(r)
}

/// The session that brings node `i`'s block, and the next hop and gateway BIRD shows.
fn session(i: usize, topology: Topology) -> (String, String, String) {
    match topology {
        Topology::Mesh => (
            format!("Mesh_{}", address(i + 1).replace('.', "_")),
            address(i + 1),
            address(i + 1),
        ),
        Topology::Rack => (
            format!("Global_{}", TOR.replace('.', "_")),
            REMOTE_TOR.into(),
            TOR.into(),
        ),
    }
}

/// BIRD's replies as node-0 would send them.
fn bird_replies(nodes: usize, topology: Topology) -> (Vec<u8>, Vec<u8>) {
    let mut routes = String::from("1007-Table master4:\n");
    routes += &format!(
        " {:20} blackhole [static4 19:25:34.724] * (200)\n1008-\tType: static univ\n",
        block(0)
    );
    for i in 1..nodes {
        let (name, hop, via) = session(i, topology);
        routes += &format!(
            "1007-{:20} unicast [{name} 19:25:38.745] * (100) [i]\n \tvia {via} on eth0\n1008-\tType: BGP univ\n\
             1012-\tBGP.origin: IGP\n \tBGP.as_path: \n \tBGP.next_hop: {hop}\n \tBGP.local_pref: 100\n",
            block(i),
        );
    }
    routes += "0000 \n";
    let mut protocols =
        String::from("2002-Name       Proto      Table      State  Since         Info\n");
    protocols += "1002-device1    Device     ---        up     2026-12-01 19:25:34  \n";
    let sessions: Vec<String> = match topology {
        Topology::Mesh => (1..nodes).map(|i| session(i, topology).0).collect(),
        Topology::Rack => vec![session(1, topology).0],
    };
    for name in sessions {
        protocols +=
            &format!(" {name} BGP        ---        up     2026-12-01 19:25:38  Established   \n");
    }
    protocols += "0000 \n";
    (routes.into_bytes(), protocols.into_bytes())
}

fn kernel(nodes: usize, topology: Topology) -> Vec<KernelEntry> {
    let mut out = vec![KernelEntry {
        prefix: block(0).parse().unwrap(),
        kind: "blackhole".into(),
        gateway: None,
        device: None,
        onlink: false,
        protocol: "bird".into(),
    }];
    for i in 1..nodes {
        out.push(KernelEntry {
            prefix: block(i).parse().unwrap(),
            kind: "unicast".into(),
            gateway: Some(session(i, topology).2.parse().unwrap()),
            device: Some("eth0".into()),
            onlink: false,
            protocol: "bird".into(),
        });
    }
    out
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`, nanoseconds): on a shared
/// machine, wall time also counts the other jobs' turns.
fn cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    (ms(v[0]), ms(v[v.len() / 2]))
}

fn main() {
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    for (topology, nodes) in [
        (Topology::Mesh, 1_000),
        (Topology::Mesh, 10_000),
        (Topology::Rack, 1_000),
        (Topology::Rack, 10_000),
    ] {
        if only.is_some_and(|o| o != nodes) {
            continue;
        }
        let snapshot = cluster(nodes, topology);
        let t = Instant::now();
        let p = plan(&snapshot, "node-0", &PlanOptions::default());
        let plan_time = t.elapsed();
        let (routes_bytes, protocols_bytes) = bird_replies(nodes, topology);
        let table = kernel(nodes, topology);
        let (mut e_t, mut p_t, mut v_t, mut all, mut cpu_t, mut floor_t) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut last = None;
        for _ in 0..7 {
            // The floor: framing the reply into lines (CPU time), a fixed amount of work that
            // tells how fast the machine runs at that moment.
            let floor_start = cpu();
            std::hint::black_box(Reply::from_bytes(&routes_bytes).unwrap());
            floor_t.push(cpu() - floor_start);
            let cpu_start = cpu();
            let start = Instant::now();
            let e = expected(&snapshot, &p);
            let t1 = Instant::now();
            let bird = parse_show_route(&Reply::from_bytes(&routes_bytes).unwrap()).unwrap();
            let protocols =
                parse_show_protocols(&Reply::from_bytes(&protocols_bytes).unwrap()).unwrap();
            let t2 = Instant::now();
            let c = check(
                &e,
                &Observed {
                    bird: &bird,
                    filtered: Some(&[]),
                    protocols: &protocols,
                    kernel: KernelView::Table(&table),
                },
            );
            let t3 = Instant::now();
            cpu_t.push(cpu() - cpu_start);
            e_t.push(t1 - start);
            p_t.push(t2 - t1);
            v_t.push(t3 - t2);
            all.push(t3 - start);
            last = Some(c);
        }
        let c = last.unwrap();
        assert_eq!(
            c.counts[&perch::routes::Verdict::Ok],
            nodes,
            "{:?}",
            c.counts
        );
        let (e_best, e_med) = stats(e_t);
        let (p_best, p_med) = stats(p_t);
        let (v_best, v_med) = stats(v_t);
        let (a_best, a_med) = stats(all);
        let (c_best, c_med) = stats(cpu_t);
        let (f_best, f_med) = stats(floor_t);
        if topology == Topology::Rack {
            assert_eq!(c.router_sessions, [session(1, topology).0]);
        }
        let label = match topology {
            Topology::Mesh => "mesh",
            Topology::Rack => "rack",
        };
        println!(
            "routes {label} {nodes:>6} nodes: expected {e_best:.1}/{e_med:.1} ms, parse {p_best:.1}/{p_med:.1} ms, \
             verdict {v_best:.1}/{v_med:.1} ms, check total {a_best:.1}/{a_med:.1} ms (best/median); \
             check CPU {c_best:.1}/{c_med:.1} ms; floor (framing the reply) {f_best:.1}/{f_med:.1} ms, \
             check/floor {:.1}; plan {:.1} ms; BIRD reply {} KiB",
            c_med / f_med,
            ms(plan_time),
            routes_bytes.len() / 1024
        );
    }
}
