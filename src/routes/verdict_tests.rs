use super::*;
use crate::bird::parse::{parse_show_protocols, parse_show_route};
use crate::bird::reply::Reply;
use crate::routes::expected::tests::{expected_for, snapshot};

fn capture(name: &str) -> Reply {
    let path = format!("{}/tests/fixtures/bird/{name}", env!("CARGO_MANIFEST_DIR"));
    Reply::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

fn routes(name: &str) -> Vec<RouteEntry> {
    parse_show_route(&capture(name)).unwrap()
}

fn protocols(name: &str) -> Vec<ProtocolRow> {
    parse_show_protocols(&capture(name)).unwrap()
}

/// The cluster of the captures (tests/fixtures/bird/README.md): a = 10.77.0.1 (the node whose
/// BIRD was captured), b = 10.77.0.2, c = 10.77.0.3 (no BIRD: its session stays Active).
fn lab(b_address: &str, extra: &str) -> Expected {
    let y = format!(
        "kind: Node\nmetadata: {{name: a}}\nspec: {{bgp: {{ipv4Address: 10.77.0.1/24}}}}\n---\n\
         kind: Node\nmetadata: {{name: b}}\nspec: {{bgp: {{ipv4Address: {b_address}}}}}\n---\n\
         kind: Node\nmetadata: {{name: c}}\nspec: {{bgp: {{ipv4Address: 10.77.0.3/24}}}}\n---\n\
         kind: IPPool\nmetadata: {{name: p}}\nspec: {{cidr: 10.244.0.0/16}}\n---\n\
         kind: BGPConfiguration\nmetadata: {{name: default}}\n\
         spec: {{serviceClusterIPs: [{{cidr: 10.96.0.0/12}}]}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: a1}}\nspec: {{node: a, cidr: 10.244.1.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: b1}}\nspec: {{node: b, cidr: 10.244.2.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: b2}}\nspec: {{node: b, cidr: 10.244.2.64/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: c1}}\nspec: {{node: c, cidr: 10.244.3.0/26, state: confirmed}}\n---\n\
         {extra}"
    );
    expected_for(&snapshot(&y), "a")
}

const B9: &str = "kind: BlockAffinity\nmetadata: {name: b9}\nspec: {node: b, cidr: 10.244.9.0/26, state: confirmed}\n";

fn verdicts(c: &RouteCheck) -> Vec<String> {
    c.routes
        .iter()
        .map(|r| {
            let cause = r
                .cause
                .as_ref()
                .map(|c| format!(" {:?}{:?}", c.kind, c.sessions))
                .unwrap_or_default();
            format!("{} {}{cause}", r.prefix, r.verdict.describe())
        })
        .collect()
}

fn kernel_entry(
    prefix: &str,
    kind: &str,
    gateway: Option<&str>,
    device: &str,
    onlink: bool,
) -> KernelEntry {
    KernelEntry {
        prefix: prefix.parse().unwrap(),
        kind: kind.into(),
        gateway: gateway.map(|g| g.parse().unwrap()),
        device: Some(device.into()),
        onlink,
        protocol: "bird".into(),
    }
}

/// BIRD's routes and sessions as captured on the lab's node a.
fn lab_captures() -> (Vec<RouteEntry>, Vec<ProtocolRow>) {
    (
        routes("show_route_all_where_pools.raw"),
        protocols("show_protocols_routes_lab.raw"),
    )
}

/// Checks `e` against BIRD's `bird` routes and `protocols` (no filtered table asked for) and
/// the kernel's table, or `None` for a kernel that was not read.
fn judge(
    e: &Expected,
    bird: &[RouteEntry],
    protocols: &[ProtocolRow],
    kernel: Option<&[KernelEntry]>,
) -> RouteCheck {
    let kernel = kernel.map_or_else(|| KernelView::Unavailable(String::new()), KernelView::Table);
    check(
        e,
        &Observed {
            bird,
            filtered: None,
            protocols,
            kernel,
        },
    )
}

/// The report for `prefix`.
fn report<'c>(c: &'c RouteCheck, prefix: &str) -> &'c RouteReport {
    c.routes
        .iter()
        .find(|r| r.prefix.to_string() == prefix)
        .unwrap_or_else(|| panic!("no report for {prefix}: {:?}", verdicts(c)))
}

/// The kernel table of the capture's node a (`ip route` in its namespace).
fn healthy_kernel() -> Vec<KernelEntry> {
    vec![
        kernel_entry("10.77.0.0/24", "unicast", None, "va0", false),
        kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false),
        kernel_entry("10.244.1.7/32", "unicast", None, "va0", false),
        kernel_entry("10.244.2.0/26", "unicast", Some("10.77.0.2"), "va0", false),
        kernel_entry("10.244.9.0/26", "unicast", Some("10.77.0.2"), "va0", false),
    ]
}

#[test]
fn real_captures_give_ok_filter_and_session_causes() {
    let e = lab("10.77.0.2/24", B9);
    let bird = routes("show_route_all_where_pools.raw");
    let filtered = routes("show_route_filtered_all_where_pools.raw");
    let protocols = protocols("show_protocols_routes_lab.raw");
    let kernel = healthy_kernel();
    let c = check(
        &e,
        &Observed {
            bird: &bird,
            filtered: Some(&filtered),
            protocols: &protocols,
            kernel: KernelView::Table(&kernel),
        },
    );
    assert_eq!(
        verdicts(&c),
        [
            "10.96.0.0/12 ok",
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.2.64/26 missing in BIRD ImportFilter[\"Mesh_10_77_0_2\"]",
            "10.244.3.0/26 missing in BIRD NoEstablishedSession[\"Mesh_10_77_0_3\"]",
            "10.244.9.0/26 ok",
        ]
    );
    assert!(c.kernel_checked);
    assert_eq!(c.counts[&Verdict::Ok], 4);
    assert_eq!(c.counts[&Verdict::MissingInBird], 2);
    assert_eq!(c.counts[&Verdict::Unexpected], 0);
    assert!(!c.nothing_missing());
    let c3 = &c.routes[4];
    assert_eq!(c3.owner.as_deref(), Some("c"));
    assert!(
        c3.cause
            .as_ref()
            .unwrap()
            .message
            .contains("Mesh_10_77_0_3 is Active"),
        "{c3:?}"
    );
}

#[test]
fn a_disabled_session_takes_exactly_its_blocks() {
    let e = lab("10.77.0.2/24", B9);
    let bird = routes("show_route_all_where_pools_disabled.raw");
    let protocols = protocols("show_protocols_routes_lab_disabled.raw");
    let c = check(
        &e,
        &Observed {
            bird: &bird,
            filtered: None,
            protocols: &protocols,
            kernel: KernelView::Unavailable("not asked".into()),
        },
    );
    assert_eq!(
        verdicts(&c),
        [
            "10.96.0.0/12 ok",
            "10.244.1.0/26 ok",
            "10.244.2.0/26 missing in BIRD NoEstablishedSession[\"Mesh_10_77_0_2\"]",
            "10.244.2.64/26 missing in BIRD NoEstablishedSession[\"Mesh_10_77_0_2\"]",
            "10.244.3.0/26 missing in BIRD NoEstablishedSession[\"Mesh_10_77_0_3\"]",
            "10.244.9.0/26 missing in BIRD NoEstablishedSession[\"Mesh_10_77_0_2\"]",
        ]
    );
    assert!(!c.kernel_checked);
    assert_eq!(c.kernel_note.as_deref(), Some("not asked"));
}

#[test]
fn established_sessions_without_the_route_point_at_the_owner() {
    let e = lab("10.77.0.2/24", B9);
    let (bird, protocols) = lab_captures();
    let c = judge(&e, &bird, &protocols, None);
    let r = report(&c, "10.244.2.64/26");
    assert_eq!(r.verdict, Verdict::MissingInBird);
    let cause = r.cause.as_ref().unwrap();
    assert_eq!(cause.kind, CauseKind::NotAdvertised);
    assert_eq!(cause.sessions, ["Mesh_10_77_0_2"]);
}

#[test]
fn a_node_that_changed_address_gives_wrong_next_hop() {
    let e = lab("10.77.0.20/24", B9);
    let (bird, protocols) = lab_captures();
    let c = judge(&e, &bird, &protocols, None);
    let r = report(&c, "10.244.2.0/26");
    assert_eq!(r.verdict, Verdict::WrongNextHop, "{r:?}");
    assert!(
        r.cause
            .as_ref()
            .unwrap()
            .message
            .contains("next hop 10.77.0.2 (no node with a block has that address: a route from before a node moved?); b's is 10.77.0.20"),
        "{r:?}"
    );
}

#[test]
fn a_route_gone_from_the_kernel_is_missing_in_kernel() {
    let e = lab("10.77.0.2/24", B9);
    let (bird, protocols) = lab_captures();
    let mut kernel = healthy_kernel();
    kernel.retain(|k| k.prefix.to_string() != "10.244.9.0/26");
    kernel[1].kind = "unicast".into(); // own block no longer a blackhole
    let c = judge(&e, &bird, &protocols, Some(&kernel));
    assert_eq!(
        report(&c, "10.244.9.0/26").verdict,
        Verdict::MissingInKernel
    );
    assert_eq!(
        report(&c, "10.244.1.0/26").verdict,
        Verdict::MissingInKernel
    );
    assert_eq!(report(&c, "10.244.2.0/26").verdict, Verdict::Ok);
    assert_eq!(
        report(&c, "10.96.0.0/12").verdict,
        Verdict::Ok,
        "services are not programmed"
    );
}

#[test]
fn a_kernel_route_through_the_wrong_gateway_or_device_is_wrong_next_hop() {
    let e = lab("10.77.0.2/24", B9);
    let (bird, protocols) = lab_captures();
    let mut kernel = healthy_kernel();
    kernel[3] = kernel_entry("10.244.2.0/26", "unicast", Some("10.77.0.9"), "va0", false);
    kernel[4] = kernel_entry("10.244.9.0/26", "unicast", Some("10.77.0.2"), "tunl0", true);
    let c = judge(&e, &bird, &protocols, Some(&kernel));
    assert_eq!(report(&c, "10.244.2.0/26").verdict, Verdict::WrongNextHop);
    assert_eq!(
        report(&c, "10.244.9.0/26").verdict,
        Verdict::WrongNextHop,
        "direct expected, not tunl0"
    );
}

#[test]
fn ipip_routes_must_go_through_tunl0_onlink() {
    let ipip = "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, ipipMode: Always}\n";
    let e = lab("10.77.0.2/24", &format!("{B9}---\n{ipip}"));
    let (bird, protocols) = lab_captures();
    let mut kernel = healthy_kernel();
    kernel[4] = kernel_entry("10.244.9.0/26", "unicast", Some("10.77.0.2"), "tunl0", true);
    let c = judge(&e, &bird, &protocols, Some(&kernel));
    assert_eq!(report(&c, "10.244.9.0/26").verdict, Verdict::Ok);
    assert_eq!(
        report(&c, "10.244.2.0/26").verdict,
        Verdict::WrongNextHop,
        "not through tunl0"
    );
}

#[test]
fn a_route_no_affinity_explains_is_unexpected() {
    // Without b's affinity for 10.244.9.0/26, BIRD's route for it is unexplained.
    let e = lab("10.77.0.2/24", "");
    let (bird, protocols) = lab_captures();
    let mut kernel = healthy_kernel();
    kernel.push(kernel_entry(
        "10.244.77.0/24",
        "unicast",
        Some("10.77.0.5"),
        "va0",
        false,
    ));
    let c = judge(&e, &bird, &protocols, Some(&kernel));
    let unexpected: Vec<(String, usize, usize)> = c
        .routes
        .iter()
        .filter(|r| r.verdict == Verdict::Unexpected)
        .map(|r| (r.prefix.to_string(), r.bird.len(), r.kernel.len()))
        .collect();
    assert_eq!(
        unexpected,
        [
            ("10.244.9.0/26".to_string(), 1, 1),
            ("10.244.77.0/24".to_string(), 0, 1)
        ],
        "the kernel's /32 inside this node's block and the connected subnet outside the pool are not flagged"
    );
}

#[test]
fn a_bgp_filter_that_rejects_a_block_is_the_cause() {
    let e = lab(
        "10.77.0.2/24",
        &format!(
            "{B9}---\nkind: BGPFilter\nmetadata: {{name: drop-one}}\n\
             spec: {{importV4: [{{cidr: 10.244.2.64/26, matchOperator: Equal, action: Reject}}]}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: a-b}}\n\
             spec: {{node: a, peerIP: 10.77.0.2, asNumber: 64512, filters: [drop-one]}}\n"
        ),
    );
    // The captures, with the session named as the BGPPeer names it (it replaces the mesh's).
    let rename = |n: &mut String| {
        if n == "Mesh_10_77_0_2" {
            *n = "Node_10_77_0_2".into();
        }
    };
    let mut bird = routes("show_route_all_where_pools.raw");
    bird.iter_mut().for_each(|r| rename(&mut r.protocol));
    let mut protocols = protocols("show_protocols_routes_lab.raw");
    protocols.iter_mut().for_each(|p| rename(&mut p.name));
    let c = judge(&e, &bird, &protocols, None);
    let r = report(&c, "10.244.2.64/26");
    let cause = r.cause.as_ref().unwrap();
    assert_eq!(cause.kind, CauseKind::ImportFilter, "{cause:?}");
    assert_eq!(cause.sessions, ["Node_10_77_0_2"]);
    assert!(cause.message.contains("BGPFilter drop-one"), "{cause:?}");
    let ok = report(&c, "10.244.2.0/26");
    assert_eq!(ok.verdict, Verdict::Ok);
}

/// Racks behind a GoBGP ToR, as `tests/routes_changes.rs` builds them: a, b and c each in an
/// AS of their own, the mesh off, every node peering with the ToR 10.77.0.254 (eBGP).
fn behind_a_tor(mesh: bool) -> Expected {
    let node = |name: &str, i: u32| {
        format!(
            "kind: Node\nmetadata: {{name: {name}}}\n\
             spec: {{bgp: {{ipv4Address: 10.77.0.{}/24, asNumber: {}}}}}\n---\n",
            10 + i,
            65000 + i
        )
    };
    let y = format!(
        "{}{}{}\
         kind: IPPool\nmetadata: {{name: p}}\nspec: {{cidr: 10.244.0.0/16}}\n---\n\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: {mesh}}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: rack-1-tor}}\n\
         spec: {{peerIP: 10.77.0.254, asNumber: 64567, nodeSelector: all()}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: a1}}\nspec: {{node: a, cidr: 10.244.1.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: b1}}\nspec: {{node: b, cidr: 10.244.2.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: c1}}\nspec: {{node: c, cidr: 10.244.3.0/26, state: confirmed}}\n",
        node("a", 1),
        node("b", 2),
        node("c", 3)
    );
    expected_for(&snapshot(&y), "a")
}

/// A BGP route as `show route all` shows it: `PREFIX unicast [PROTOCOL] * via HOP on eth0`.
fn bgp_route(prefix: &str, protocol: &str, hop: &str, primary: bool) -> RouteEntry {
    RouteEntry {
        table: "master4".into(),
        network: prefix.into(),
        kind: "unicast".into(),
        protocol: protocol.into(),
        from: None,
        primary,
        gateway: Some(hop.into()),
        interface: Some("eth0".into()),
        paths: Vec::new(),
        bgp_next_hop: Some(hop.into()),
    }
}

/// One path `via GATEWAY on INTERFACE` of a multipath route (weight set by the caller).
fn path(gateway: &str, interface: &str) -> RoutePath {
    RoutePath {
        gateway: Some(gateway.into()),
        interface: Some(interface.into()),
        weight: None,
    }
}

fn own_blackhole() -> RouteEntry {
    RouteEntry {
        table: "master4".into(),
        network: "10.244.1.0/26".into(),
        kind: "blackhole".into(),
        protocol: "static4".into(),
        from: None,
        primary: true,
        gateway: None,
        interface: None,
        paths: Vec::new(),
        bgp_next_hop: None,
    }
}

fn bgp_protocol(name: &str, established: bool) -> ProtocolRow {
    ProtocolRow {
        name: name.into(),
        proto: "BGP".into(),
        table: "---".into(),
        state: if established { "up" } else { "start" }.into(),
        since: "2026-12-01 22:19:48".into(),
        info: if established { "Established" } else { "Active" }.into(),
        bgp_state: Some(if established { "Established" } else { "Active" }.into()),
        last_error: None,
    }
}

const TOR: &str = "Node_10_77_0_254";

#[test]
fn routes_a_tor_rewrote_the_next_hop_of_are_ok() {
    let e = behind_a_tor(false);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.254", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.254", true),
    ];
    let protocols = [bgp_protocol(TOR, true)];
    let kernel = [
        kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false),
        kernel_entry(
            "10.244.2.0/26",
            "unicast",
            Some("10.77.0.254"),
            "eth0",
            false,
        ),
        kernel_entry(
            "10.244.3.0/26",
            "unicast",
            Some("10.77.0.254"),
            "eth0",
            false,
        ),
    ];
    let c = judge(&e, &bird, &protocols, Some(&kernel));
    assert_eq!(
        verdicts(&c),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"]
    );
}

#[test]
fn a_block_no_relay_brings_names_the_relay_and_the_path_beyond_it() {
    // The ToR's session is up but it has no path for c's block (c's own ToR is down).
    let e = behind_a_tor(false);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.254", true),
    ];
    let protocols = [bgp_protocol(TOR, true)];
    let c = judge(&e, &bird, &protocols, None);
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 missing in BIRD NotAdvertised[\"Node_10_77_0_254\"]"
        ]
    );
    let message = &c.routes[2].cause.as_ref().unwrap().message;
    assert!(
        message.starts_with("Node_10_77_0_254 is Established but has no path from c"),
        "{message}"
    );
    // Through the ToR, c's BIRD is not the only suspect: a session further along is.
    assert!(
        message.contains("a session further along is down"),
        "{message}"
    );
}

#[test]
fn a_direct_session_down_and_the_tor_s_path_taken_is_not_a_wrong_next_hop() {
    // Mesh on (eBGP between the nodes' ASes): the mesh session to b is down, so BIRD's best
    // path for b's block is the ToR's, with the ToR as next hop.
    let e = behind_a_tor(true);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.254", true),
        bgp_route("10.244.3.0/26", "Mesh_10_77_0_13", "10.77.0.13", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.254", false),
    ];
    let protocols = [
        bgp_protocol(TOR, true),
        bgp_protocol("Mesh_10_77_0_12", false),
        bgp_protocol("Mesh_10_77_0_13", true),
    ];
    let c = judge(&e, &bird, &protocols, None);
    assert_eq!(
        verdicts(&c),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"]
    );
}

#[test]
fn a_moved_node_s_route_still_relayed_by_the_reflectors_is_a_wrong_next_hop() {
    // As in tests/routes_changes.rs: b moved from 10.77.0.12 to 10.77.0.42; both reflectors
    // still pass on its block with the old next hop (iBGP reflection keeps it).
    let y = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.77.0.11/24}}\n---\n\
         kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv4Address: 10.77.0.42/24}}\n---\n\
         kind: Node\nmetadata: {name: rr-1, labels: {route-reflector: 'true'}}\n\
         spec: {bgp: {ipv4Address: 10.77.0.21/24, routeReflectorClusterID: 224.0.0.1}}\n---\n\
         kind: Node\nmetadata: {name: rr-2, labels: {route-reflector: 'true'}}\n\
         spec: {bgp: {ipv4Address: 10.77.0.22/24, routeReflectorClusterID: 224.0.0.1}}\n---\n\
         kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n---\n\
         kind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: false}\n---\n\
         kind: BGPPeer\nmetadata: {name: peer-with-route-reflectors}\n\
         spec: {nodeSelector: all(), peerSelector: route-reflector == 'true'}\n---\n\
         kind: BlockAffinity\nmetadata: {name: a1}\nspec: {node: a, cidr: 10.244.1.0/26, state: confirmed}\n---\n\
         kind: BlockAffinity\nmetadata: {name: b1}\nspec: {node: b, cidr: 10.244.2.0/26, state: confirmed}\n";
    let e = expected_for(&snapshot(y), "a");
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", "Node_10_77_0_21", "10.77.0.12", true),
        bgp_route("10.244.2.0/26", "Node_10_77_0_22", "10.77.0.12", false),
    ];
    let protocols = [
        bgp_protocol("Node_10_77_0_21", true),
        bgp_protocol("Node_10_77_0_22", true),
    ];
    let observe = |bird: &[RouteEntry]| judge(&e, bird, &protocols, None);
    let c = observe(&bird);
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 wrong next hop NextHop[\"Node_10_77_0_21\"]"
        ]
    );
    assert_eq!(
        c.routes[1].cause.as_ref().unwrap().message,
        "BIRD's route from Node_10_77_0_21 has next hop 10.77.0.12 (no node with a block has \
         that address: a route from before a node moved?); b's is 10.77.0.42"
    );
    // One reflector has the new path and BIRD prefers it: ok, whatever the other still says.
    let moving = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", "Node_10_77_0_22", "10.77.0.42", true),
        bgp_route("10.244.2.0/26", "Node_10_77_0_21", "10.77.0.12", false),
    ];
    assert_eq!(
        verdicts(&observe(&moving)),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok"]
    );
}

#[test]
fn a_wrong_next_hop_that_is_another_node_s_address_names_that_node() {
    // b's block arrives with c's address as next hop (say, c took over b's old address).
    let e = behind_a_tor(true);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", "Mesh_10_77_0_12", "10.77.0.13", true),
        bgp_route("10.244.3.0/26", "Mesh_10_77_0_13", "10.77.0.13", true),
    ];
    let protocols = [
        bgp_protocol("Mesh_10_77_0_12", true),
        bgp_protocol("Mesh_10_77_0_13", true),
    ];
    let c = judge(&e, &bird, &protocols, None);
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 wrong next hop NextHop[\"Mesh_10_77_0_12\"]",
            "10.244.3.0/26 ok"
        ]
    );
    assert_eq!(
        c.routes[1].cause.as_ref().unwrap().message,
        "BIRD's route from Mesh_10_77_0_12 has next hop 10.77.0.13 (c's address); b's is \
         10.77.0.12 or 10.77.0.254"
    );
}

#[test]
fn a_kernel_route_through_the_link_local_address_bird_chose_is_ok() {
    // eBGP over IPv6: the ToR sends its global and its link-local next hop; BIRD installs the
    // link-local one (its default for eBGP), so the kernel's gateway is fe80::…, not an
    // address of the datastore. That is BIRD's choice for the right BGP next hop, not a fault.
    let y = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv6Address: 'fd00:77::1/64'}}\n---\n\
         kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv6Address: 'fd00:77::2/64'}}\n---\n\
         kind: IPPool\nmetadata: {name: p6}\nspec: {cidr: 'fd10::/48'}\n---\n\
         kind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: false, asNumber: 64512}\n---\n\
         kind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 'fd00:77::fe', asNumber: 65001}\n---\n\
         kind: BlockAffinity\nmetadata: {name: b1}\nspec: {node: b, cidr: 'fd10::100/122', state: confirmed}\n";
    let e = expected_for(&snapshot(y), "a");
    let bird_route = |gateway: &str| RouteEntry {
        table: "master6".into(),
        network: "fd10::100/122".into(),
        kind: "unicast".into(),
        protocol: "Global_fd00_77__fe".into(),
        from: None,
        primary: true,
        gateway: Some(gateway.into()),
        interface: Some("eth0".into()),
        paths: Vec::new(),
        bgp_next_hop: Some("fd00:77::fe".into()),
    };
    let with_gateways = |bird_gateway: &str, kernel_gateway: &str| {
        let bird = [bird_route(bird_gateway)];
        let kernel = [kernel_entry(
            "fd10::100/122",
            "unicast",
            Some(kernel_gateway),
            "eth0",
            false,
        )];
        verdicts(&judge(&e, &bird, &[], Some(&kernel)))
    };
    assert_eq!(with_gateways("fe80::fe", "fe80::fe"), ["fd10::100/122 ok"]);
    assert_eq!(
        with_gateways("fd00:77::fe", "fd00:77::fe"),
        ["fd10::100/122 ok"]
    );
    // A link-local gateway BIRD did not choose is still wrong.
    assert_eq!(
        with_gateways("fe80::fe", "fe80::99"),
        ["fd10::100/122 wrong next hop NextHop[]"]
    );
}

/// Calico's "AS per rack": a and b in rack-1 (AS 65101), c in rack-2 (AS 65102), the mesh
/// off; each node peers over iBGP with its rack's ToR (a route reflector that is no cluster
/// node: rack-1's is 10.77.0.254, rack-2's 10.77.0.253), and the ToRs peer over eBGP. a learns
/// b's block reflected by its ToR (b's next hop) and c's block with the next hop the ToRs gave
/// it (rack-2's ToR, or rack-1's with next-hop-self), resolved recursively by BIRD.
fn as_per_rack() -> Expected {
    as_per_rack_with("{cidr: 10.244.0.0/16}")
}

/// [`as_per_rack`] with the pool's spec `pool`.
fn as_per_rack_with(pool: &str) -> Expected {
    let node = |name: &str, i: u32, rack: u32| {
        format!(
            "kind: Node\nmetadata: {{name: {name}, labels: {{rack: rack-{rack}}}}}\n\
             spec: {{bgp: {{ipv4Address: 10.77.0.{}/24, asNumber: {}}}}}\n---\n",
            10 + i,
            65100 + rack
        )
    };
    let tor = |rack: u32, ip: &str| {
        format!(
            "kind: BGPPeer\nmetadata: {{name: rack-{rack}-tor}}\n\
             spec: {{peerIP: {ip}, asNumber: {}, nodeSelector: rack == 'rack-{rack}'}}\n---\n",
            65100 + rack
        )
    };
    let y = format!(
        "{}{}{}{}{}\
         kind: IPPool\nmetadata: {{name: p}}\nspec: {pool}\n---\n\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: false}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: a1}}\nspec: {{node: a, cidr: 10.244.1.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: b1}}\nspec: {{node: b, cidr: 10.244.2.0/26, state: confirmed}}\n---\n\
         kind: BlockAffinity\nmetadata: {{name: c1}}\nspec: {{node: c, cidr: 10.244.3.0/26, state: confirmed}}\n",
        node("a", 1, 1),
        node("b", 2, 1),
        node("c", 3, 2),
        tor(1, "10.77.0.254"),
        tor(2, "10.77.0.253"),
    );
    expected_for(&snapshot(&y), "a")
}

/// A BGP route resolved recursively: `via GATEWAY on eth0`, `BGP.next_hop HOP`.
fn recursive_route(prefix: &str, protocol: &str, hop: &str, gateway: &str) -> RouteEntry {
    RouteEntry {
        gateway: Some(gateway.into()),
        ..bgp_route(prefix, protocol, hop, true)
    }
}

#[test]
fn as_per_rack_routes_with_a_router_s_next_hop_are_ok() {
    let e = as_per_rack();
    let unicast =
        |prefix: &str, via: &str| kernel_entry(prefix, "unicast", Some(via), "eth0", false);
    let observe = |bird: &[RouteEntry], kernel: &[KernelEntry]| {
        verdicts(&judge(&e, bird, &[bgp_protocol(TOR, true)], Some(kernel)))
    };
    let ok = ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"];
    let blackhole = kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false);
    // The remote ToR's address as next hop (the ToRs pass eBGP routes on to their clients).
    assert_eq!(
        observe(
            &[
                own_blackhole(),
                bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
                bgp_route("10.244.3.0/26", TOR, "10.77.0.253", true),
            ],
            &[
                blackhole.clone(),
                unicast("10.244.2.0/26", "10.77.0.12"),
                unicast("10.244.3.0/26", "10.77.0.253"),
            ],
        ),
        ok
    );
    // The local ToR's own address (next-hop-self towards its clients).
    assert_eq!(
        observe(
            &[
                own_blackhole(),
                bgp_route("10.244.2.0/26", TOR, "10.77.0.254", true),
                bgp_route("10.244.3.0/26", TOR, "10.77.0.254", true),
            ],
            &[
                blackhole.clone(),
                unicast("10.244.2.0/26", "10.77.0.254"),
                unicast("10.244.3.0/26", "10.77.0.254"),
            ],
        ),
        ok
    );
    // A next hop on no connected subnet (a ToR's loopback), resolved recursively by BIRD
    // through the local ToR: the kernel's via is the resolved gateway.
    assert_eq!(
        observe(
            &[
                own_blackhole(),
                bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
                recursive_route("10.244.3.0/26", TOR, "192.0.2.2", "10.77.0.254"),
            ],
            &[
                blackhole.clone(),
                unicast("10.244.2.0/26", "10.77.0.12"),
                unicast("10.244.3.0/26", "10.77.0.254"),
            ],
        ),
        ok
    );
    // The kernel routing c's block somewhere BIRD does not: still a wrong next hop.
    assert_eq!(
        observe(
            &[
                own_blackhole(),
                bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
                bgp_route("10.244.3.0/26", TOR, "10.77.0.253", true),
            ],
            &[
                blackhole,
                unicast("10.244.2.0/26", "10.77.0.12"),
                unicast("10.244.3.0/26", "10.77.0.99"),
            ],
        ),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[]"
        ]
    );
}

#[test]
fn as_per_rack_blocks_judge_presence_through_the_tor() {
    // The ToR's session is up, c's block did not arrive: missing, the ToR named.
    let e = as_per_rack();
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
    ];
    let c = judge(&e, &bird, &[bgp_protocol(TOR, true)], None);
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 missing in BIRD NotAdvertised[\"Node_10_77_0_254\"]"
        ]
    );
}

#[test]
fn as_per_rack_ipip_routes_must_end_on_a_node() {
    // IPIP Always: the kernel protocol's filter sets `gw = bgp_next_hop` on tunl0, onlink.
    // A tunnel ends only on a Calico node: encapsulated to a ToR, the packet is dropped.
    let e = as_per_rack_with("{cidr: 10.244.0.0/16, ipipMode: Always}");
    let tunnel =
        |prefix: &str, via: &str| kernel_entry(prefix, "unicast", Some(via), "tunl0", true);
    let observe = |bird: &[RouteEntry], kernel: &[KernelEntry]| {
        judge(&e, bird, &[bgp_protocol(TOR, true)], Some(kernel))
    };
    let blackhole = kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false);
    // The owners' addresses as next hops: the tunnels end on b and c.
    assert_eq!(
        verdicts(&observe(
            &[
                own_blackhole(),
                bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
                recursive_route("10.244.3.0/26", TOR, "10.77.0.13", "10.77.0.254"),
            ],
            &[
                blackhole.clone(),
                tunnel("10.244.2.0/26", "10.77.0.12"),
                tunnel("10.244.3.0/26", "10.77.0.13"),
            ]
        )),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"]
    );
    // The remote ToR's address as BGP next hop: the kernel tunnels to a router, a blackhole.
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
        recursive_route("10.244.3.0/26", TOR, "10.77.0.253", "10.77.0.254"),
    ];
    let c = observe(
        &bird,
        &[
            blackhole.clone(),
            tunnel("10.244.2.0/26", "10.77.0.12"),
            tunnel("10.244.3.0/26", "10.77.0.253"),
        ],
    );
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[]"
        ]
    );
    let message = &report(&c, "10.244.3.0/26").cause.as_ref().unwrap().message;
    assert!(
        message.contains("IPIP to 10.77.0.253, which is no node and cannot decapsulate"),
        "{message}"
    );
    assert!(
        message.ends_with("expected via 10.77.0.13 dev tunl0 onlink"),
        "{message}"
    );
    // Not through the tunnel: a wrong next hop, the owner's address named as expected.
    let c = observe(
        &bird,
        &[
            blackhole,
            tunnel("10.244.2.0/26", "10.77.0.12"),
            kernel_entry(
                "10.244.3.0/26",
                "unicast",
                Some("10.77.0.253"),
                "eth0",
                false,
            ),
        ],
    );
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[]"
        ]
    );
    let message = &report(&c, "10.244.3.0/26").cause.as_ref().unwrap().message;
    assert!(
        message.ends_with("expected via 10.77.0.13 dev tunl0 onlink"),
        "{message}"
    );
}

#[test]
fn as_per_rack_routes_with_another_node_s_address_are_a_wrong_next_hop() {
    // A ToR passing on b's address for c's block (a stale route): a wrong next hop.
    let e = as_per_rack();
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.12", true),
    ];
    let c = judge(&e, &bird, &[bgp_protocol(TOR, true)], None);
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[\"Node_10_77_0_254\"]"
        ]
    );
    let message = &report(&c, "10.244.3.0/26").cause.as_ref().unwrap().message;
    assert!(message.contains("10.77.0.12 (b's address)"), "{message}");
}

#[test]
fn as_per_rack_kernel_follows_bird_s_best_route_only() {
    // A backup route BIRD does not use names 10.77.0.99: the kernel via it is wrong.
    let e = as_per_rack();
    let unicast =
        |prefix: &str, via: &str| kernel_entry(prefix, "unicast", Some(via), "eth0", false);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.253", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.99", false),
    ];
    let kernel = [
        kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false),
        unicast("10.244.2.0/26", "10.77.0.12"),
        unicast("10.244.3.0/26", "10.77.0.99"),
    ];
    let c = judge(&e, &bird, &[bgp_protocol(TOR, true)], Some(&kernel));
    assert_eq!(
        verdicts(&c),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[]"
        ]
    );
}

/// The ECMP capture's cluster: n1 and n2 on loopback addresses (10.97.0.1/32, 10.97.0.2/32),
/// full mesh, joined by two links; n1's BIRD resolves n2's address through an ECMP route.
fn ecmp_cluster() -> Expected {
    let y = "kind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.97.0.1/32}}\n---\n\
             kind: Node\nmetadata: {name: n2}\nspec: {bgp: {ipv4Address: 10.97.0.2/32}}\n---\n\
             kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n---\n\
             kind: BlockAffinity\nmetadata: {name: n1-1}\nspec: {node: n1, cidr: 10.244.1.0/26, state: confirmed}\n---\n\
             kind: BlockAffinity\nmetadata: {name: n2-1}\nspec: {node: n2, cidr: 10.244.2.0/26, state: confirmed}\n";
    expected_for(&snapshot(y), "n1")
}

/// n1's kernel route for n2's block with one entry per gateway (`ip route`'s `nexthop via`).
fn ecmp_kernel(gateways: &[(&str, &str)]) -> Vec<KernelEntry> {
    let mut k = vec![kernel_entry(
        "10.244.1.0/26",
        "blackhole",
        None,
        "lo",
        false,
    )];
    for (gateway, device) in gateways {
        k.push(kernel_entry(
            "10.244.2.0/26",
            "unicast",
            Some(gateway),
            device,
            false,
        ));
    }
    k
}

#[test]
fn a_multipath_route_is_judged_by_its_set_of_paths() {
    // The real capture: n2's block over the mesh, BGP next hop n2's address, resolved by BIRD
    // to two paths. The kernel holding both paths is right.
    let e = ecmp_cluster();
    let bird = routes("show_route_all_where_pools_ecmp.raw");
    let mesh = [bgp_protocol("Mesh_10_97_0_2", true)];
    let both = ecmp_kernel(&[("10.98.1.2", "up1"), ("10.98.2.2", "up2")]);
    let c = judge(&e, &bird, &mesh, Some(&both));
    assert_eq!(verdicts(&c), ["10.244.1.0/26 ok", "10.244.2.0/26 ok"]);
    let r = report(&c, "10.244.2.0/26");
    let paths: Vec<_> = r
        .paths
        .iter()
        .map(|p| (p.gateway.as_deref(), p.interface.as_deref(), p.weight))
        .collect();
    assert_eq!(
        paths,
        [
            (Some("10.98.1.2"), Some("up1"), Some(1)),
            (Some("10.98.2.2"), Some("up2"), Some(1))
        ]
    );
    assert_eq!(
        r.bird,
        [
            "10.244.2.0/26 unicast [Mesh_10_97_0_2] * via 10.98.1.2 on up1 weight 1, via 10.98.2.2 on up2 weight 1 (BGP.next_hop 10.97.0.2)"
        ]
    );
    assert_eq!(
        r.kernel.len(),
        2,
        "one line per kernel path: {:?}",
        r.kernel
    );
    assert!(
        report(&c, "10.244.1.0/26").paths.is_empty(),
        "only a multipath route lists its paths"
    );

    // A kernel route with a path BIRD does not have sends part of the traffic astray.
    let stray = ecmp_kernel(&[("10.98.1.2", "up1"), ("10.98.1.9", "up1")]);
    let c = judge(&e, &bird, &mesh, Some(&stray));
    let r = report(&c, "10.244.2.0/26");
    assert_eq!(r.verdict, Verdict::WrongNextHop);
    let message = &r.cause.as_ref().unwrap().message;
    assert!(
        message.contains("via 10.98.1.9 dev up1") && message.contains("one of its 2 paths"),
        "{message}"
    );
    // A kernel route lacking one of BIRD's paths: missing in the kernel, the path named.
    let one = ecmp_kernel(&[("10.98.2.2", "up2")]);
    let c = judge(&e, &bird, &mesh, Some(&one));
    let r = report(&c, "10.244.2.0/26");
    assert_eq!(r.verdict, Verdict::MissingInKernel);
    let message = &r.cause.as_ref().unwrap().message;
    assert!(
        message.contains("2 paths") && message.contains("lacks via 10.98.1.2"),
        "{message}"
    );
}

#[test]
fn a_multipath_route_with_the_owner_among_its_paths_is_not_a_wrong_next_hop() {
    // Without a BGP next hop to judge (`show route` without `all`), the paths' gateways are:
    // one of them being the owner's address is right.
    let e = lab("10.77.0.2/24", "");
    let multipath = |first: &str, second: &str| RouteEntry {
        gateway: Some(first.into()),
        paths: vec![
            RoutePath {
                weight: Some(1),
                ..path(first, "eth0")
            },
            RoutePath {
                weight: Some(1),
                ..path(second, "eth1")
            },
        ],
        bgp_next_hop: None,
        ..bgp_route("10.244.2.0/26", "Mesh_10_77_0_2", first, true)
    };
    let mesh = [bgp_protocol("Mesh_10_77_0_2", true)];
    for bird in [
        multipath("10.77.0.99", "10.77.0.2"),
        multipath("10.77.0.2", "10.77.0.99"),
    ] {
        let c = judge(&e, &[own_blackhole(), bird], &mesh, None);
        assert_eq!(report(&c, "10.244.2.0/26").verdict, Verdict::Ok);
    }
    // No path to the owner: wrong, the first path named.
    let c = judge(
        &e,
        &[own_blackhole(), multipath("10.77.0.98", "10.77.0.99")],
        &mesh,
        None,
    );
    let r = report(&c, "10.244.2.0/26");
    assert_eq!(r.verdict, Verdict::WrongNextHop);
    assert!(
        r.cause
            .as_ref()
            .unwrap()
            .message
            .contains("next hop 10.77.0.98"),
        "{:?}",
        r.cause
    );
}

#[test]
fn a_router_s_routes_merged_into_a_multipath_kernel_route_are_ok_and_a_stray_path_is_not() {
    // AS per rack: c's block from the ToR (add paths: two routes, next hops rack-2's ToR and
    // another of its addresses). With `merge paths` the kernel route holds both gateways.
    let e = as_per_rack();
    let unicast =
        |prefix: &str, via: &str| kernel_entry(prefix, "unicast", Some(via), "eth0", false);
    let bird = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.253", true),
        bgp_route("10.244.3.0/26", TOR, "10.77.0.252", false),
    ];
    let blackhole = kernel_entry("10.244.1.0/26", "blackhole", None, "lo", false);
    let tor = [bgp_protocol(TOR, true)];
    let merged = [
        blackhole.clone(),
        unicast("10.244.2.0/26", "10.77.0.12"),
        unicast("10.244.3.0/26", "10.77.0.253"),
        unicast("10.244.3.0/26", "10.77.0.252"),
    ];
    assert_eq!(
        verdicts(&judge(&e, &bird, &tor, Some(&merged))),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"]
    );
    // One route from the ToR whose next hop BIRD resolved over two links: both paths in the
    // kernel are right (the router's BGP next hop itself need not be a kernel gateway).
    let recursive = RouteEntry {
        paths: vec![
            RoutePath {
                weight: Some(1),
                ..path("10.77.0.254", "eth0")
            },
            RoutePath {
                weight: Some(1),
                ..path("10.77.0.251", "eth1")
            },
        ],
        ..recursive_route("10.244.3.0/26", TOR, "192.0.2.2", "10.77.0.254")
    };
    let bird_recursive = [
        own_blackhole(),
        bgp_route("10.244.2.0/26", TOR, "10.77.0.12", true),
        recursive,
    ];
    let both = [
        blackhole.clone(),
        unicast("10.244.2.0/26", "10.77.0.12"),
        unicast("10.244.3.0/26", "10.77.0.254"),
        unicast("10.244.3.0/26", "10.77.0.251"),
    ];
    assert_eq!(
        verdicts(&judge(&e, &bird_recursive, &tor, Some(&both))),
        ["10.244.1.0/26 ok", "10.244.2.0/26 ok", "10.244.3.0/26 ok"]
    );
    // A path to an address no BIRD route names, beside the right one: wrong.
    let stray = [
        blackhole,
        unicast("10.244.2.0/26", "10.77.0.12"),
        unicast("10.244.3.0/26", "10.77.0.253"),
        unicast("10.244.3.0/26", "10.77.0.99"),
    ];
    assert_eq!(
        verdicts(&judge(&e, &bird, &tor, Some(&stray))),
        [
            "10.244.1.0/26 ok",
            "10.244.2.0/26 ok",
            "10.244.3.0/26 wrong next hop NextHop[]"
        ]
    );
}

#[test]
fn a_deleted_node_s_block_is_listed_as_ignored_and_nothing_is_missing() {
    // c's Node is gone, its affinity left behind: no route expected, listed with why.
    let e = lab("10.77.0.2/24", B9);
    let mut y = String::new();
    for line in [
        "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.77.0.1/24}}\n---\n",
        "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n---\n",
        "kind: BlockAffinity\nmetadata: {name: a1}\nspec: {node: a, cidr: 10.244.1.0/26, state: confirmed}\n---\n",
        "kind: BlockAffinity\nmetadata: {name: c1}\nspec: {node: c, cidr: 10.244.3.0/26, state: confirmed}\n",
    ] {
        y += line;
    }
    let alone = expected_for(&snapshot(&y), "a");
    let c = judge(&alone, &[own_blackhole()], &[], None);
    assert_eq!(verdicts(&c), ["10.244.1.0/26 ok"]);
    assert!(c.nothing_missing());
    assert_eq!(c.ignored.len(), 1);
    assert_eq!(c.ignored[0].prefix.to_string(), "10.244.3.0/26");
    assert_eq!(c.note, None, "a prefix was checked");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["ignored"][0]["owner"], "c", "{json}");
    // With every node known, nothing is ignored and the field is left out.
    let c = judge(&e, &lab_captures().0, &lab_captures().1, None);
    assert!(c.ignored.is_empty());
    assert!(serde_json::to_value(&c).unwrap().get("ignored").is_none());
}

#[test]
fn a_check_with_nothing_to_judge_says_so_and_why() {
    let no_pool = expected_for(
        &snapshot("kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.77.0.1/24}}\n"),
        "a",
    );
    let c = judge(&no_pool, &[], &[], None);
    assert!(c.routes.is_empty() && c.nothing_missing());
    let note = c.note.as_deref().unwrap();
    assert!(
        note.starts_with("nothing checked: there is no IP pool"),
        "{note}"
    );
    let gone_only = expected_for(
        &snapshot(
            "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.77.0.1/24}}\n---\n\
             kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n---\n\
             kind: BlockAffinity\nmetadata: {name: c1}\nspec: {node: c, cidr: 10.244.3.0/26, state: confirmed}\n",
        ),
        "a",
    );
    let note = judge(&gone_only, &[], &[], None).note.unwrap();
    assert!(note.contains("ignored (1 of nodes"), "{note}");
}
