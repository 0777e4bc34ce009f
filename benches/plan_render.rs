//! Plan and render cost on synthetic clusters: `cargo bench --bench plan_render`.
//!
//! Clusters of 100, 1,000 and 10,000 nodes in two topologies:
//! - `mesh`: the default full node-to-node mesh;
//! - `rr`: three route reflectors (`routeReflectorClusterID`, label `route-reflector=true`),
//!   the BGPPeer `peer-with-route-reflectors` (`nodeSelector: all()`, `peerSelector:
//!   route-reflector == 'true'`) and the mesh off.
//!
//! Both carry 100 more BGPPeers: global peerIP peers, per-rack peerIP peers by nodeSelector,
//! and per-rack peerSelector peers. Measured for one node (a mesh node; a route reflector
//! with every other node as a client; a client): snapshot build, plan and render time (best
//! and median of several runs), and the peak resident memory (`VmHWM`). Each scenario runs
//! in a child process of this binary so each peak is its own. Nothing is written to disk.
//!
//! Goals: a route reflector with 10,000 clients planned and rendered within 100 ms; peak
//! memory within 100 MB.
//!
//! `cargo bench --bench plan_render -- 1000` runs only the scenarios with that many nodes.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use perch::plan::{PlanOptions, plan};
use perch::render::{Templates, render};
use perch::resources::{
    AsNumber, BgpConfiguration, BgpConfigurationSpec, BgpPeer, BgpPeerSpec, Metadata, Node,
    NodeBgpSpec, NodeSpec, Resource,
};
use perch::snapshot::Snapshot;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const RACKS: usize = 50;
const REFLECTORS: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Topology {
    Mesh,
    Reflectors,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    MeshNode,
    Reflector,
    Client,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::MeshNode => "mesh node",
            Role::Reflector => "route reflector",
            Role::Client => "rr client",
        }
    }

    fn parse(s: &str) -> Role {
        match s {
            "mesh" => Role::MeshNode,
            "rr" => Role::Reflector,
            "client" => Role::Client,
            _ => panic!("unknown role {s}"),
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Role::MeshNode => "mesh",
            Role::Reflector => "rr",
            Role::Client => "client",
        }
    }

    fn topology(self) -> Topology {
        match self {
            Role::MeshNode => Topology::Mesh,
            _ => Topology::Reflectors,
        }
    }
}

fn metadata(name: String, labels: &[(&str, String)]) -> Metadata {
    Metadata {
        name,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

fn asn(n: u32) -> Option<AsNumber> {
    AsNumber::new(n)
}

fn node_name(i: usize) -> String {
    format!("node-{i:05}")
}

fn rack(i: usize) -> String {
    format!("rack-{}", i % RACKS)
}

/// The cluster's resources, in the order a datastore would list them.
fn cluster(nodes: usize, topology: Topology) -> Vec<Resource> {
    let mut out = Vec::new();
    out.push(Resource::BgpConfiguration(BgpConfiguration {
        metadata: metadata("default".into(), &[]),
        spec: BgpConfigurationSpec {
            as_number: asn(64512),
            node_to_node_mesh_enabled: Some(topology == Topology::Mesh),
            ..Default::default()
        },
    }));
    for i in 0..nodes {
        let mut labels = vec![("rack", rack(i))];
        // Per thousand nodes, the first node of each rack is an edge node.
        if (i / RACKS).is_multiple_of(20) {
            labels.push(("edge", "true".into()));
        }
        let reflector = topology == Topology::Reflectors && i >= nodes - REFLECTORS;
        if reflector {
            labels.push(("route-reflector", "true".into()));
        }
        out.push(Resource::Node(Node {
            metadata: metadata(node_name(i), &labels),
            spec: NodeSpec {
                bgp: Some(NodeBgpSpec {
                    ipv4_address: Some(format!("10.{}.{}.{}/16", i >> 16, (i >> 8) & 255, i & 255)),
                    route_reflector_cluster_id: reflector.then(|| "244.0.0.1".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        }));
    }
    let mut peer = |name: String, spec: BgpPeerSpec| {
        out.push(Resource::BgpPeer(BgpPeer {
            metadata: metadata(name, &[]),
            spec,
        }));
    };
    if topology == Topology::Reflectors {
        peer(
            "peer-with-route-reflectors".into(),
            BgpPeerSpec {
                node_selector: Some("all()".into()),
                peer_selector: Some("route-reflector == 'true'".into()),
                ..Default::default()
            },
        );
    }
    // 34 global peers, 33 rack ToRs, 33 rack-to-edge peerings (racks 0..32).
    for k in 0..100 {
        let r = k / 3;
        let spec = match k % 3 {
            // A global peer outside the cluster.
            0 => BgpPeerSpec {
                peer_ip: Some(format!("192.0.2.{}", k + 1)),
                as_number: asn(65000 + k as u32),
                ..Default::default()
            },
            // A rack's ToR.
            1 => BgpPeerSpec {
                node_selector: Some(format!("rack == '{}'", rack(r))),
                peer_ip: Some(format!("10.254.{r}.1")),
                as_number: asn(65100 + r as u32),
                ..Default::default()
            },
            // A rack's nodes with the edge nodes of the next rack.
            _ => BgpPeerSpec {
                node_selector: Some(format!("rack == '{}'", rack(r))),
                peer_selector: Some(format!("rack == '{}' && has(edge)", rack(r + 1))),
                ..Default::default()
            },
        };
        peer(format!("peer-{k:03}"), spec);
    }
    out
}

/// The node measured for a role: the first reflector (the last nodes are the reflectors),
/// or a node in the middle.
fn measured_node(role: Role, nodes: usize) -> String {
    match role {
        Role::Reflector => node_name(nodes - REFLECTORS),
        // An edge node in rack 1: it has a ToR, edge peers in rack 2, and rack 0's nodes
        // peer with it.
        _ => node_name((nodes / 2 / 1000) * 1000 + 1),
    }
}

fn runs(nodes: usize) -> usize {
    match nodes {
        0..=100 => 50,
        101..=1_000 => 20,
        _ => 9,
    }
}

struct Stats {
    best: Duration,
    median: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        best: samples[0],
        median: samples[samples.len() / 2],
    }
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One scenario, in this (child) process: prints one tab-separated line of results.
fn child(nodes: usize, role: Role) {
    let resources = cluster(nodes, role.topology());
    let node = measured_node(role, nodes);
    let templates = Templates::builtin();
    let options = PlanOptions::default();
    let (mut build, mut planning, mut rendering, mut both) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sessions = 0;
    let mut bytes = 0;
    for _ in 0..runs(nodes) {
        let input = resources.clone();
        let t = Instant::now();
        let snapshot = Snapshot::from_resources(input);
        build.push(t.elapsed());

        let t = Instant::now();
        let p = plan(&snapshot, &node, &options);
        let planned = t.elapsed();
        let t = Instant::now();
        let text = render(&p, &snapshot, &templates).expect("render");
        let rendered = t.elapsed();
        planning.push(planned);
        rendering.push(rendered);
        both.push(planned + rendered);
        sessions = p.peers.len();
        bytes = text.len();
    }
    let (b, p, r, pr) = (stats(build), stats(planning), stats(rendering), stats(both));
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        sessions,
        ms(b.best),
        ms(b.median),
        ms(p.best),
        ms(p.median),
        ms(r.best),
        ms(r.median),
        ms(pr.best),
        ms(pr.median),
        bytes,
        peak_kib(),
        runs(nodes),
        node,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args[i + 1].parse().unwrap(), Role::parse(&args[i + 2]));
        return;
    }
    // `cargo bench` passes `--bench`; a number selects one cluster size.
    let only: Option<usize> = args.iter().find_map(|a| a.parse().ok());
    let exe = std::env::current_exe().unwrap();

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores available, {cpu}");
    println!(
        "times in ms (best / median of the runs); peak = VmHWM of the scenario's own process\n"
    );

    let header = [
        "topology",
        "nodes",
        "measured node",
        "sessions",
        "runs",
        "snapshot build",
        "plan",
        "render",
        "plan+render",
        "config",
        "peak",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut goals: BTreeMap<&str, bool> = BTreeMap::new();
    for nodes in SIZES.into_iter().filter(|n| only.is_none_or(|o| o == *n)) {
        for role in [Role::MeshNode, Role::Reflector, Role::Client] {
            let out = Command::new(&exe)
                .args(["--child", &nodes.to_string(), role.arg()])
                .output()
                .expect("run the child");
            assert!(
                out.status.success(),
                "child {nodes} {role:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let f: Vec<&str> = line.trim().split('\t').collect();
            let peak_mib = f[10].parse::<f64>().unwrap() / 1024.0;
            let plan_render_median: f64 = f[8].parse().unwrap();
            if role == Role::Reflector && nodes == 10_000 {
                goals.insert(
                    "RR with 10,000 clients planned+rendered ≤ 100 ms (median)",
                    plan_render_median <= 100.0,
                );
            }
            let within = goals
                .entry("peak memory ≤ 100 MB (every scenario)")
                .or_insert(true);
            *within &= peak_mib <= 100.0;
            rows.push(vec![
                match role.topology() {
                    Topology::Mesh => "full mesh".into(),
                    Topology::Reflectors => "3 RRs".into(),
                },
                nodes.to_string(),
                format!("{} ({})", role.name(), f[12]),
                f[0].into(),
                f[11].into(),
                format!("{} / {}", f[1], f[2]),
                format!("{} / {}", f[3], f[4]),
                format!("{} / {}", f[5], f[6]),
                format!("{} / {}", f[7], f[8]),
                format!("{:.1} KiB", f[9].parse::<f64>().unwrap() / 1024.0),
                format!("{peak_mib:.1} MiB"),
            ]);
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap()
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!("{}", line(header.to_vec()));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for r in &rows {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
    println!();
    for (goal, met) in goals {
        println!("{} {goal}", if met { "met:   " } else { "MISSED:" });
    }
}
