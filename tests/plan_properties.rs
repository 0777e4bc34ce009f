//! Properties of the planner over random clusters: nodes with random addresses, AS numbers,
//! labels and route-reflector cluster IDs; random BGPPeers (node, nodeSelector, peerIP,
//! peerSelector and session options); the mesh on or off; random listen ports.

use std::collections::BTreeMap;
use std::net::IpAddr;

use perch::plan::{Cluster, Family, Peer, PeerType, Plan, PlanOptions, plan_in};
use perch::render::{Templates, render};
use perch::resources::{BgpFilterRule, Resource, Secret, Secrets, decode_resource};
use perch::snapshot::{Event, Snapshot};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

// ---------------------------------------------------------------- generators

const SELECTORS: &[&str] = &[
    "all()",
    "rack == 'r1'",
    "rack != 'r2'",
    "rack in {'r1', 'r3'}",
    "!has(rack)",
    "route-reflector == 'true'",
    "has(route-reflector) && rack == 'r2'",
    "rack == 'nowhere'",
];

const ASES: &[u32] = &[64512, 64513, 65000];

/// One Calico node, before it becomes a resource.
#[derive(Debug, Clone)]
struct NodeSpec {
    v4: Option<u8>,
    v6: Option<u8>,
    asn: Option<u32>,
    rack: Option<&'static str>,
    reflector: Option<&'static str>,
    listen_port: Option<u16>,
}

fn node_spec(addr: u8) -> impl Strategy<Value = NodeSpec> {
    (
        // At least one family; IPv6 uses the same host part, so the pairs stay unique.
        prop_oneof![Just((true, false)), Just((false, true)), Just((true, true))],
        prop::option::of(select(ASES)),
        prop::option::of(select(&["r1", "r2", "r3"][..])),
        prop::option::weighted(0.25, select(&["244.0.0.1", "244.0.0.2"][..])),
        prop::option::weighted(0.2, select(&[1790u16, 1791][..])),
    )
        .prop_map(
            move |((v4, v6), asn, rack, reflector, listen_port)| NodeSpec {
                v4: v4.then_some(addr),
                v6: v6.then_some(addr),
                asn,
                rack,
                reflector,
                listen_port,
            },
        )
}

fn node_resource(name: &str, n: &NodeSpec) -> Value {
    let mut labels = serde_json::Map::new();
    if let Some(r) = n.rack {
        labels.insert("rack".into(), json!(r));
    }
    let mut bgp = serde_json::Map::new();
    if let Some(x) = n.v4 {
        bgp.insert("ipv4Address".into(), json!(format!("10.0.0.{x}/24")));
    }
    if let Some(x) = n.v6 {
        bgp.insert("ipv6Address".into(), json!(format!("fd00::{x:x}/64")));
    }
    if let Some(a) = n.asn {
        bgp.insert("asNumber".into(), json!(a));
    }
    if let Some(id) = n.reflector {
        labels.insert("route-reflector".into(), json!("true"));
        bgp.insert("routeReflectorClusterID".into(), json!(id));
    }
    json!({"kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {"bgp": bgp}})
}

/// The remote side of a BGPPeer: a node's address (by index and family) or an outside
/// address, with an AS and maybe a port; or a peerSelector.
#[derive(Debug, Clone)]
enum Remote {
    NodeIp {
        node: usize,
        v6: bool,
        asn: u32,
        port: Option<u16>,
    },
    Outside {
        host: u8,
        asn: u32,
    },
    Selector(&'static str),
}

#[derive(Debug, Clone)]
enum Local {
    Global,
    Node(usize),
    Selector(&'static str),
}

#[derive(Debug, Clone)]
struct PeerSpec {
    local: Local,
    remote: Remote,
    options: Vec<(&'static str, Value)>,
}

fn peer_option() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        select(&[0i64, 1, 2][..]).prop_map(|t| ("ttlSecurity", json!(t))),
        Just(("reversePeering", json!("Manual"))),
        select(&["Auto", "Self", "Keep"][..]).prop_map(|m| ("nextHopMode", json!(m))),
        Just(("sourceAddress", json!("None"))),
        Just(("maxRestartTime", json!("2m"))),
        Just(("keepaliveTime", json!("20s"))),
        select(&["pw1", "pw2", "missing"][..]).prop_map(|k| (
            "password",
            json!({"secretKeyRef": {"name": "bgp", "key": k}})
        )),
        select(&["f1", "f2", "missing"][..]).prop_map(|f| ("filters", json!([f]))),
    ]
}

fn peer_spec(nodes: usize) -> impl Strategy<Value = PeerSpec> {
    let local = prop_oneof![
        Just(Local::Global),
        (0..nodes + 1).prop_map(Local::Node), // index `nodes` names a node that does not exist
        select(SELECTORS).prop_map(Local::Selector),
    ];
    let remote = prop_oneof![
        (
            0..nodes,
            any::<bool>(),
            select(ASES),
            prop::option::weighted(0.3, select(&[179u16, 1790, 1791][..]))
        )
            .prop_map(|(node, v6, asn, port)| Remote::NodeIp {
                node,
                v6,
                asn,
                port
            }),
        (1u8..4, select(ASES)).prop_map(|(host, asn)| Remote::Outside { host, asn }),
        select(SELECTORS).prop_map(Remote::Selector),
    ];
    (
        local,
        remote,
        prop::collection::vec(peer_option(), 0..3),
        prop::option::weighted(0.2, select(ASES)),
        prop::option::weighted(0.2, 1i64..3),
        any::<bool>(),
    )
        .prop_map(|(local, remote, mut options, local_as, allow, keep)| {
            if !matches!(remote, Remote::Selector(_)) {
                if let Some(a) = local_as {
                    options.push(("localASNumber", json!(a)));
                }
                if let Some(n) = allow {
                    options.push(("numAllowedLocalASNumbers", json!(n)));
                }
            }
            if keep && !options.iter().any(|(k, _)| *k == "nextHopMode") {
                options.push(("keepOriginalNextHop", json!(true)));
            }
            PeerSpec {
                local,
                remote,
                options,
            }
        })
}

fn peer_resource(name: &str, p: &PeerSpec, nodes: &[NodeSpec]) -> Value {
    let mut spec = serde_json::Map::new();
    match &p.local {
        Local::Global => {}
        Local::Node(i) => {
            spec.insert("node".into(), json!(format!("node-{i}")));
        }
        Local::Selector(s) => {
            spec.insert("nodeSelector".into(), json!(s));
        }
    }
    match &p.remote {
        Remote::NodeIp {
            node,
            v6,
            asn,
            port,
        } => {
            let x = nodes[*node].v4.or(nodes[*node].v6).unwrap();
            let ip = if *v6 {
                format!("fd00::{x:x}")
            } else {
                format!("10.0.0.{x}")
            };
            let text = match (port, v6) {
                (None, _) => ip,
                (Some(port), true) => format!("[{ip}]:{port}"),
                (Some(port), false) => format!("{ip}:{port}"),
            };
            spec.insert("peerIP".into(), json!(text));
            spec.insert("asNumber".into(), json!(asn));
        }
        Remote::Outside { host, asn } => {
            spec.insert("peerIP".into(), json!(format!("192.0.2.{host}")));
            spec.insert("asNumber".into(), json!(asn));
        }
        Remote::Selector(s) => {
            spec.insert("peerSelector".into(), json!(s));
        }
    }
    for (k, v) in &p.options {
        spec.insert((*k).into(), v.clone());
    }
    json!({"kind": "BGPPeer", "metadata": {"name": name}, "spec": spec})
}

/// A whole cluster as resources, plus the node names.
#[derive(Debug, Clone)]
struct ClusterSpec {
    nodes: Vec<NodeSpec>,
    peers: Vec<PeerSpec>,
    mesh: Option<bool>,
    asn: Option<u32>,
    listen_port: Option<u16>,
}

impl ClusterSpec {
    fn node_names(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| format!("node-{i}")).collect()
    }

    fn resources(&self) -> Vec<Resource> {
        let mut values = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            values.push(node_resource(&format!("node-{i}"), n));
            if let Some(port) = n.listen_port {
                values.push(json!({"kind": "BGPConfiguration",
                    "metadata": {"name": format!("node.node-{i}")},
                    "spec": {"listenPort": port}}));
            }
        }
        for (i, p) in self.peers.iter().enumerate() {
            values.push(peer_resource(&format!("peer-{i}"), p, &self.nodes));
        }
        let mut global = serde_json::Map::new();
        if let Some(m) = self.mesh {
            global.insert("nodeToNodeMeshEnabled".into(), json!(m));
        }
        if let Some(a) = self.asn {
            global.insert("asNumber".into(), json!(a));
        }
        if let Some(p) = self.listen_port {
            global.insert("listenPort".into(), json!(p));
        }
        values.push(
            json!({"kind": "BGPConfiguration", "metadata": {"name": "default"},
            "spec": global}),
        );
        for (name, rules) in [
            (
                "f1",
                json!({"exportV4": [{"action": "Reject", "matchOperator": "In", "cidr": "10.9.0.0/16"}]}),
            ),
            (
                "f2",
                json!({"importV6": [{"action": "Accept", "source": "RemotePeers"}]}),
            ),
        ] {
            values.push(json!({"kind": "BGPFilter", "metadata": {"name": name}, "spec": rules}));
        }
        values
            .iter()
            .map(|v| decode_resource(v).unwrap_or_else(|e| panic!("{e}: {v}")))
            .collect()
    }
}

/// Clusters of 2..8 nodes; node addresses are distinct unless `shared` allows repeats.
fn cluster_spec(shared: bool) -> impl Strategy<Value = ClusterSpec> {
    (2usize..8)
        .prop_flat_map(move |n| {
            let addrs = if shared {
                prop::collection::vec(1u8..6, n).boxed()
            } else {
                Just((1u8..=40).collect::<Vec<u8>>())
                    .prop_shuffle()
                    .prop_map(move |v| v[..n].to_vec())
                    .boxed()
            };
            addrs.prop_flat_map(move |addrs| {
                let nodes: Vec<_> = addrs.into_iter().map(node_spec).collect();
                (
                    nodes,
                    prop::collection::vec(peer_spec(n), 0..6),
                    prop::option::of(any::<bool>()),
                    prop::option::of(select(ASES)),
                    prop::option::weighted(0.2, Just(1790u16)),
                )
            })
        })
        .prop_map(|(nodes, peers, mesh, asn, listen_port)| ClusterSpec {
            nodes,
            peers,
            mesh,
            asn,
            listen_port,
        })
}

fn secrets(pw: &str) -> Secrets {
    let mut s = Secrets::new();
    s.insert("bgp", "pw1", Secret::new(format!("{pw}-one")));
    s.insert("bgp", "pw2", Secret::new(format!("{pw}-two")));
    s
}

fn snapshot_of(resources: &[Resource], pw: &str) -> Snapshot {
    let mut s = Snapshot::from_resources(resources.iter().cloned());
    s.apply(Event::Secrets(secrets(pw)));
    s
}

fn plans(snapshot: &Snapshot, nodes: &[String]) -> Vec<Plan> {
    let cluster = Cluster::new(snapshot);
    nodes
        .iter()
        .map(|n| plan_in(&cluster, n, &PlanOptions::default()))
        .collect()
}

fn own_address(p: &Plan, family: Family) -> Option<IpAddr> {
    match family {
        Family::IPv4 => p.ipv4_address,
        Family::IPv6 => p.ipv6_address,
    }
}

fn mesh_peer(p: &Plan, to: IpAddr) -> Option<&Peer> {
    p.peers
        .iter()
        .find(|x| x.peer_type == PeerType::NodeMesh && x.peer_ip == to)
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Every mesh pair has exactly one passive side; a mesh session is missing only
    /// where Calico has none (mesh off, a reflector at either end, no address in the
    /// family) or an explicit session to the same address replaced it (deviation 4).
    #[test]
    fn every_mesh_pair_has_exactly_one_passive_side(spec in cluster_spec(false)) {
        let names = spec.node_names();
        let snapshot = snapshot_of(&spec.resources(), "pw");
        let plans = plans(&snapshot, &names);
        let mesh_on = spec.mesh.unwrap_or(true);
        for (i, a) in plans.iter().enumerate() {
            for (j, b) in plans.iter().enumerate() {
                if i == j {
                    continue;
                }
                for family in [Family::IPv4, Family::IPv6] {
                    let (Some(a_ip), Some(b_ip)) = (own_address(a, family), own_address(b, family)) else {
                        continue;
                    };
                    let expected = mesh_on
                        && spec.nodes[i].reflector.is_none()
                        && spec.nodes[j].reflector.is_none();
                    match mesh_peer(a, b_ip) {
                        Some(_) => prop_assert!(expected, "{} has Mesh_ to {}", a.node, b.node),
                        None if expected => prop_assert!(
                            a.peers.iter().any(|p| p.peer_ip == b_ip && p.peer_type != PeerType::NodeMesh),
                            "{} lacks Mesh_ to {} and nothing replaced it", a.node, b.node
                        ),
                        None => {}
                    }
                    if let (Some(ab), Some(ba)) = (mesh_peer(a, b_ip), mesh_peer(b, a_ip)) {
                        prop_assert!(
                            ab.passive != ba.passive,
                            "{} ↔ {}: passive {} and {}", a.node, b.node, ab.passive, ba.passive
                        );
                    }
                }
            }
        }
    }

    /// (b) No node peers itself, even when nodes share addresses.
    #[test]
    fn no_node_peers_itself(spec in cluster_spec(true)) {
        let names = spec.node_names();
        let snapshot = snapshot_of(&spec.resources(), "pw");
        for p in plans(&snapshot, &names) {
            for peer in &p.peers {
                prop_assert_ne!(Some(peer.peer_ip), p.ipv4_address, "{} peers itself: {}", p.node, peer.name);
                prop_assert_ne!(Some(peer.peer_ip), p.ipv6_address, "{} peers itself: {}", p.node, peer.name);
            }
        }
    }

    /// (c) The plan does not depend on the order resources arrive in, nor on stale
    /// versions, deletes and repeats before the final version of each resource.
    #[test]
    fn the_plan_does_not_depend_on_arrival_order(
        spec in cluster_spec(false),
        order in prop::collection::vec(any::<prop::sample::Index>(), 64),
        noise in prop::collection::vec((0u8..4, any::<bool>(), any::<bool>()), 64),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 256),
    ) {
        let names = spec.node_names();
        let resources = spec.resources();

        // First order: a permutation.
        let mut shuffled = resources.clone();
        for (i, idx) in order.iter().enumerate().take(shuffled.len()) {
            let j = i + idx.index(shuffled.len() - i);
            shuffled.swap(i, j);
        }

        // Second order: each resource's history (maybe a stale version, valid, invalid or
        // undecodable; maybe a delete; the final version; maybe a repeat), histories
        // interleaved at random.
        let mut histories: Vec<Vec<Event>> = resources
            .iter()
            .zip(noise.iter().cycle())
            .map(|(r, (stale, delete, repeat))| {
                let mut h = Vec::new();
                match stale {
                    1 => h.push(Event::Upsert(stale_version(r, true))),
                    2 => h.push(Event::Upsert(stale_version(r, false))),
                    3 => h.push(Event::Undecodable {
                        key: format!("resources.yaml document {}", h.len()),
                        id: Some(r.id()),
                        message: "spec: invalid type".into(),
                    }),
                    _ => {}
                }
                if *delete {
                    h.push(Event::Delete(r.id()));
                }
                h.push(Event::Upsert(r.clone()));
                if *repeat {
                    h.push(Event::Upsert(r.clone()));
                }
                h.reverse();
                h
            })
            .collect();
        let mut interleaved = Snapshot::new();
        let mut pick = picks.iter().cycle();
        while !histories.is_empty() {
            let i = pick.next().unwrap().index(histories.len());
            interleaved.apply(histories[i].pop().unwrap());
            if histories[i].is_empty() {
                histories.swap_remove(i);
            }
        }
        interleaved.apply(Event::Secrets(secrets("pw")));

        let in_order = snapshot_of(&resources, "pw");
        let permuted = snapshot_of(&shuffled, "pw");
        let mut all_names = names.clone();
        all_names.push("not-a-node".into());
        let json = |s: &Snapshot| -> Vec<String> {
            plans(s, &all_names).iter().map(|p| serde_json::to_string(p).unwrap()).collect()
        };
        let want = json(&in_order);
        prop_assert_eq!(&want, &json(&permuted));
        prop_assert_eq!(&want, &json(&interleaved));
    }

    /// (d) Planning never panics, whatever the resources say: random strings in selectors,
    /// addresses, AS numbers, ports and labels, both validated (through `Snapshot::apply`)
    /// and unvalidated (inserted straight into the snapshot).
    #[test]
    fn planning_never_panics(values in prop::collection::vec(arbitrary_resource(), 1..12)) {
        let mut validated = Snapshot::new();
        let mut raw = Snapshot::new();
        let mut names = vec!["n0".to_owned(), "missing".to_owned()];
        for v in &values {
            if let Ok(r) = decode_resource(v) {
                names.push(r.name().to_owned());
                validated.apply(Event::Upsert(r.clone()));
                insert_unvalidated(&mut raw, r);
            }
        }
        validated.apply(Event::Secrets(secrets("pw")));
        raw.secrets = secrets("pw");
        for s in [&validated, &raw] {
            let ps = plans(s, &names);
            prop_assert_eq!(ps.len(), names.len());
        }
    }

}

proptest! {
    // Each case renders every node and runs `bird -p` on each config: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// (e) A valid cluster always renders (and BIRD accepts the result), and the plan's
    /// JSON never contains a password.
    #[test]
    fn rendering_never_fails_and_plans_never_show_passwords(
        spec in cluster_spec(false),
        pw in "[A-Za-z0-9!#$%&*+,./:;<=>?@^_`{|}~ -]{6,20}",
    ) {
        let secret = format!("S3cr3t{pw}");
        let names = spec.node_names();
        let snapshot = snapshot_of(&spec.resources(), &secret);
        let templates = Templates::builtin();
        for p in plans(&snapshot, &names) {
            let json = serde_json::to_string(&p).unwrap();
            prop_assert!(!json.contains(&secret), "{}: plan JSON shows a password", p.node);
            let config = render(&p, &snapshot, &templates);
            prop_assert!(config.is_ok(), "{}: {:?}", p.node, config.err());
            bird_accepts(&config.unwrap())?;
        }
    }
}

/// An earlier version of `r` (for the interleaving in (c)): valid but different, or one
/// that validation refuses.
fn stale_version(r: &Resource, valid: bool) -> Resource {
    let mut r = r.clone();
    match &mut r {
        Resource::Node(n) if valid => {
            n.metadata.labels.insert("stale".into(), "yes".into());
        }
        Resource::Node(n) => n.spec.bgp.as_mut().unwrap().ipv4_address = Some("10.0.0.300".into()),
        Resource::BgpPeer(p) if valid => p.spec.ttl_security = Some(7),
        Resource::BgpPeer(p) => p.spec.next_hop_mode = Some("Bogus".into()),
        Resource::BgpConfiguration(c) if valid => c.spec.log_severity_screen = Some("Debug".into()),
        Resource::BgpConfiguration(c) => c.spec.listen_port = Some(0),
        Resource::BgpFilter(f) if valid => f.spec.import_v4.clear(),
        Resource::BgpFilter(f) => f.spec.export_v4.push(BgpFilterRule {
            action: "Bogus".into(),
            ..Default::default()
        }),
        _ => unreachable!("the generated clusters hold no other kinds"),
    }
    r
}

fn insert_unvalidated(s: &mut Snapshot, r: Resource) {
    let name = r.name().to_owned();
    match r {
        Resource::Node(x) => drop(s.nodes.insert(name, x)),
        Resource::BgpConfiguration(x) => drop(s.bgp_configurations.insert(name, x)),
        Resource::BgpPeer(x) => drop(s.bgp_peers.insert(name, x)),
        Resource::IpPool(x) => drop(s.ip_pools.insert(name, x)),
        Resource::BgpFilter(x) => drop(s.bgp_filters.insert(name, x)),
        Resource::CalicoNodeStatus(x) => drop(s.node_statuses.insert(name, x)),
        Resource::BlockAffinity(x) => drop(s.block_affinities.insert(name, x)),
    }
}

/// Strings that are sometimes meaningful (selectors, addresses, numbers) and sometimes not.
fn wild_string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(SELECTORS).prop_map(str::to_owned),
        select(
            &[
                "10.0.0.1",
                "10.0.0.1:179",
                "[fd00::1]:1790",
                "fd00::1",
                "FD00::1",
                "10.0.0.1/24",
                "fd00::1/64",
                "0.0.0.0",
                "::",
                "255.255.255.255",
                "1.2",
                "65536.1",
                "4294967296",
                "0",
                "-1",
                "",
                " ",
                "all(",
                "has(",
                "a == 'b",
                "'",
                "\"",
                "{",
                "n0",
                "node.n0",
                "244.0.0.1",
                "true",
                "Manual",
                "None",
                "Self",
                "Keep"
            ][..]
        )
        .prop_map(str::to_owned),
        ".{0,24}",
    ]
}

fn wild_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        wild_string().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        select(&[0i64, 1, 179, 255, 256, 64512, 65535, 4294967295][..]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn wild_map(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec((select(keys), wild_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn arbitrary_resource() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        select(
            &[
                "n0", "n1", "n2", "default", "node.n0", "node.n1", "p0", "f1"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z0-9.-]{1,12}",
    ];
    let labels = prop::collection::btree_map(
        select(&["rack", "route-reflector", "x"][..]).prop_map(str::to_owned),
        wild_string(),
        0..3,
    );
    let node = (name.clone(), labels, wild_map(&["ipv4Address", "ipv6Address", "asNumber", "routeReflectorClusterID"]))
        .prop_map(|(n, l, bgp)| json!({"kind": "Node", "metadata": {"name": n, "labels": l}, "spec": {"bgp": bgp}}));
    let peer = (
        name.clone(),
        wild_map(&[
            "node",
            "nodeSelector",
            "peerIP",
            "asNumber",
            "peerSelector",
            "localASNumber",
            "ttlSecurity",
            "reversePeering",
            "nextHopMode",
            "keepOriginalNextHop",
            "sourceAddress",
            "numAllowedLocalASNumbers",
            "reachableBy",
            "maxRestartTime",
            "keepaliveTime",
        ]),
    )
        .prop_map(|(n, spec)| json!({"kind": "BGPPeer", "metadata": {"name": n}, "spec": spec}));
    let config = (
        name.clone(),
        wild_map(&[
            "nodeToNodeMeshEnabled",
            "asNumber",
            "listenPort",
            "bindMode",
            "logSeverityScreen",
            "nodeMeshMaxRestartTime",
        ]),
    )
        .prop_map(
            |(n, spec)| json!({"kind": "BGPConfiguration", "metadata": {"name": n}, "spec": spec}),
        );
    prop_oneof![
        3 => node,
        3 => peer,
        1 => config,
    ]
}

/// `bird -p` accepts the config (BIRD 2 is required for the tests, as for the golden ones).
fn bird_accepts(config: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bird.cfg");
    std::fs::write(&path, config).unwrap();
    let bird = std::env::var("PERCH_BIRD").unwrap_or_else(|_| "bird".into());
    let out = std::process::Command::new(&bird)
        .arg("-p")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{bird} -p` ({e}): install BIRD 2 or run the project's test script `.ci/run`")
        });
    prop_assert!(
        out.status.success(),
        "bird -p refused: {}\n{config}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn generated_clusters_exercise_every_kind_of_session() {
    // Guards the generators: over a fixed sample, each session type and the passive and
    // route-reflector-client flags all occur, so the properties above are not vacuous.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..200 {
        let spec = cluster_spec(false).new_tree(&mut runner).unwrap().current();
        let snapshot = snapshot_of(&spec.resources(), "pw");
        for p in plans(&snapshot, &spec.node_names()) {
            for peer in &p.peers {
                *seen
                    .entry(match peer.peer_type {
                        PeerType::NodeMesh => "mesh",
                        PeerType::GlobalPeer => "global",
                        PeerType::NodePeer => "node",
                    })
                    .or_default() += 1;
                if peer.passive {
                    *seen.entry("passive").or_default() += 1;
                }
                if peer.route_reflector_client {
                    *seen.entry("rr client").or_default() += 1;
                }
                if peer.has_password {
                    *seen.entry("password").or_default() += 1;
                }
                if peer
                    .origin_detail
                    .iter()
                    .any(|o| o.direction == perch::plan::Direction::Reverse)
                {
                    *seen.entry("reverse").or_default() += 1;
                }
            }
        }
    }
    for kind in [
        "mesh",
        "global",
        "node",
        "passive",
        "rr client",
        "password",
        "reverse",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} sessions generated: {seen:?}"
        );
    }
}
