use proptest::prelude::*;

use super::*;
use crate::plan::{PlanOptions, plan};

pub(crate) fn snapshot(yaml: &str) -> Snapshot {
    crate::snapshot::from_yaml(yaml)
}

pub(crate) fn expected_for(s: &Snapshot, node: &str) -> Expected {
    expected(s, &plan(s, node, &PlanOptions::default()))
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The source of a block of b (10.99.0.2, a node perch knows) that no filter rejects, reached
/// through `next_hops` over `sessions`, `direct` when a session is with b itself.
fn remote_b(next_hops: &[&str], sessions: &[&str], direct: bool) -> RouteSource {
    RouteSource::Remote {
        owner: "b".into(),
        owner_address: Some(ip("10.99.0.2")),
        next_hops: next_hops.iter().map(|h| ip(h)).collect(),
        sessions: sessions.iter().map(|s| s.to_string()).collect(),
        direct,
        rejected_by: vec![],
    }
}

fn route<'a>(e: &'a Expected, prefix: &str) -> &'a ExpectedRoute {
    e.routes
        .iter()
        .find(|r| r.prefix == net(prefix))
        .unwrap_or_else(|| panic!("no expected route {prefix} in {:#?}", e.routes))
}

fn block(name: &str, node: &str, cidr: &str, state: &str) -> String {
    format!(
        "kind: BlockAffinity\nmetadata: {{name: {name}}}\n\
         spec: {{node: {node}, cidr: {cidr}, state: {state}}}\n---\n"
    )
}

const MESH3: &str = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.99.0.1/24}}\n---\n\
    kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv4Address: 10.99.0.2/24}}\n---\n\
    kind: Node\nmetadata: {name: c}\nspec: {bgp: {ipv4Address: 10.98.0.3/24}}\n---\n";

fn mesh3(pool: &str) -> Snapshot {
    let mut y = MESH3.to_string();
    y += pool;
    if !pool.is_empty() && !pool.ends_with("---\n") {
        y += "---\n";
    }
    y += &block("a-1", "a", "10.244.1.0/26", "confirmed");
    y += &block("b-1", "b", "10.244.2.0/26", "confirmed");
    y += &block("c-1", "c", "10.244.3.0/26", "");
    y += &block("c-2", "c", "10.244.3.64/26", "pending");
    y += &block("b-gone", "b", "10.244.2.64/26", "confirmed");
    y += "kind: BlockAffinity\nmetadata: {name: b-del}\n\
          spec: {node: b, cidr: 10.244.4.0/26, state: confirmed, deleted: 'true'}\n";
    snapshot(&y)
}

const PLAIN_POOL: &str = "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n---\n";

#[test]
fn mesh_other_nodes_blocks_come_from_their_owner_directly() {
    let e = expected_for(&mesh3(PLAIN_POOL), "a");
    let prefixes: Vec<String> = e.routes.iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(
        prefixes,
        [
            "10.244.1.0/26",
            "10.244.2.0/26",
            "10.244.2.64/26",
            "10.244.3.0/26"
        ],
        "pending and deleted affinities are not routed"
    );
    let b = route(&e, "10.244.2.0/26");
    assert_eq!(
        b.source,
        remote_b(&["10.99.0.2"], &["Mesh_10_99_0_2"], true)
    );
    assert_eq!(
        b.kernel,
        KernelRoute::Direct {
            gateways: vec![ip("10.99.0.2")]
        }
    );
    assert_eq!(b.pool, Some(net("10.244.0.0/16")));
    let own = route(&e, "10.244.1.0/26");
    assert_eq!(own.source, RouteSource::Local);
    assert_eq!(own.kernel, KernelRoute::Blackhole);
    assert!(
        e.explains(&net("10.244.3.64/26")),
        "a pending block explains its route"
    );
    assert!(e.explains(&net("10.244.1.5/32")), "a /32 inside a block");
    assert!(!e.explains(&net("10.244.9.0/26")));
    assert!(!e.explains(&net("10.244.0.0/16")));
}

#[test]
fn ipip_always_goes_through_tunl0_and_cross_subnet_only_across_subnets() {
    let always =
        "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, ipipMode: Always}\n";
    let e = expected_for(&mesh3(always), "a");
    for prefix in ["10.244.2.0/26", "10.244.3.0/26"] {
        assert!(
            matches!(&route(&e, prefix).kernel, KernelRoute::Tunnel { device, .. } if device == "tunl0"),
            "{prefix}"
        );
    }
    let cross =
        "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, ipipMode: CrossSubnet}\n";
    let e = expected_for(&mesh3(cross), "a");
    assert_eq!(
        route(&e, "10.244.2.0/26").kernel,
        KernelRoute::Direct {
            gateways: vec![ip("10.99.0.2")]
        },
        "b shares a's subnet"
    );
    assert_eq!(
        route(&e, "10.244.3.0/26").kernel,
        KernelRoute::Tunnel {
            gateways: vec![ip("10.98.0.3")],
            device: "tunl0".into()
        },
        "c is in another subnet"
    );
}

#[test]
fn vxlan_and_felix_programmed_pools_are_not_programmed_by_bird() {
    let vxlan =
        "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, vxlanMode: Always}\n";
    let e = expected_for(&mesh3(vxlan), "a");
    assert!(
        e.routes
            .iter()
            .all(|r| matches!(r.kernel, KernelRoute::NotProgrammed { .. })),
        "{e:#?}"
    );
    let felix = format!(
        "{PLAIN_POOL}kind: BGPConfiguration\nmetadata: {{name: default}}\n\
         spec: {{programClusterRoutes: Disabled}}\n"
    );
    let e = expected_for(&mesh3(&felix), "a");
    assert!(matches!(
        &route(&e, "10.244.2.0/26").kernel,
        KernelRoute::NotProgrammed { reason } if reason.contains("programClusterRoutes")
    ));
    assert!(
        matches!(
            route(&e, "10.244.2.0/26").source,
            RouteSource::Remote { .. }
        ),
        "BIRD still learns it"
    );
}

#[test]
fn pools_without_bgp_export_expect_only_own_blackholes() {
    let off =
        "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, disableBGPExport: true}\n";
    let e = expected_for(&mesh3(off), "a");
    let prefixes: Vec<String> = e.routes.iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(prefixes, ["10.244.1.0/26"]);
    assert_eq!(
        e.pools,
        [net("10.244.0.0/16")],
        "still a pool: unexpected routes are found there"
    );
}

#[test]
fn blocks_outside_every_pool_are_not_expected() {
    let e = expected_for(&mesh3(""), "a");
    assert!(e.routes.is_empty(), "{e:#?}");
}

#[test]
fn service_ranges_are_advertised_not_programmed() {
    let y = format!(
        "{PLAIN_POOL}kind: BGPConfiguration\nmetadata: {{name: default}}\n\
         spec: {{serviceClusterIPs: [{{cidr: 10.96.0.0/12}}], serviceExternalIPs: [{{cidr: 192.0.2.0/24}}]}}\n"
    );
    let e = expected_for(&mesh3(&y), "a");
    for prefix in ["10.96.0.0/12", "192.0.2.0/24"] {
        let r = route(&e, prefix);
        assert_eq!(r.source, RouteSource::Service);
        assert!(matches!(r.kernel, KernelRoute::NotProgrammed { .. }));
        assert_eq!(r.pool, None);
    }
}

#[test]
fn route_reflector_clients_learn_blocks_through_the_reflectors() {
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: false}}\n---\n\
         kind: Node\nmetadata: {{name: rr, labels: {{rr: 'yes'}}}}\n\
         spec: {{bgp: {{ipv4Address: 10.99.0.10/24, routeReflectorClusterID: 1.0.0.1}}}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: to-rr}}\nspec: {{nodeSelector: all(), peerSelector: rr == 'yes'}}\n---\n{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed")
    );
    let s = snapshot(&y);
    let e = expected_for(&s, "a");
    assert_eq!(
        route(&e, "10.244.2.0/26").source,
        remote_b(&["10.99.0.2"], &["Node_10_99_0_10"], false),
        "an iBGP reflector keeps the owner's next hop"
    );
}

#[test]
fn external_peers_may_rewrite_the_next_hop_and_reachable_by_sets_the_gateway() {
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: false, asNumber: 64512}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: tor}}\n\
         spec: {{peerIP: 10.97.0.1, asNumber: 65000, reachableBy: 10.99.0.254}}\n---\n{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed")
    );
    let s = snapshot(&y);
    let e = expected_for(&s, "a");
    let r = route(&e, "10.244.2.0/26");
    assert_eq!(
        r.source,
        remote_b(&["10.97.0.1", "10.99.0.2"], &["Global_10_97_0_1"], false)
    );
    assert_eq!(
        r.kernel,
        KernelRoute::Direct {
            gateways: vec![ip("10.99.0.2"), ip("10.99.0.254")]
        },
        "the ToR's next hop is reached through its reachableBy gateway"
    );
}

#[test]
fn only_sessions_with_routers_that_are_no_node_may_give_any_next_hop() {
    // The mesh to b and c, an iBGP ToR (no node's address), and an explicit peerIP that is
    // c's address (c's BIRD, which passes next hops on as a reflector does).
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{asNumber: 64512}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: rack-tor}}\n\
         spec: {{peerIP: 10.99.0.254, asNumber: 64512}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: to-c}}\n\
         spec: {{peerIP: 10.98.0.3, asNumber: 64512}}\n---\n{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed")
    );
    let e = expected_for(&snapshot(&y), "a");
    assert_eq!(e.router_sessions, ["Global_10_99_0_254"]);
    assert!(e.is_router_session("Global_10_99_0_254"));
    assert!(!e.is_router_session("Global_10_98_0_3"));
    assert!(!e.is_router_session("Mesh_10_99_0_2"));
    // A plain mesh has none, and the JSON leaves the field out.
    let mesh = expected_for(&mesh3(PLAIN_POOL), "a");
    assert!(mesh.router_sessions.is_empty());
    assert!(
        serde_json::to_value(&mesh)
            .unwrap()
            .get("routerSessions")
            .is_none()
    );
    assert_eq!(
        serde_json::to_value(&e).unwrap()["routerSessions"],
        serde_json::json!(["Global_10_99_0_254"])
    );
}

#[test]
fn the_json_spells_every_source_field_in_camel_case() {
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPFilter\nmetadata: {{name: no-b}}\n\
         spec: {{importV4: [{{action: Reject, matchOperator: Equal, cidr: 10.244.2.0/26}}]}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: to-b}}\n\
         spec: {{peerIP: 10.99.0.2, asNumber: 64512, filters: [no-b]}}\n---\n{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed")
    );
    let e = expected_for(&snapshot(&y), "a");
    let json = serde_json::to_value(route(&e, "10.244.2.0/26")).unwrap();
    let mut keys: Vec<&str> = json["source"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "direct",
            "kind",
            "nextHops",
            "owner",
            "ownerAddress",
            "rejectedBy",
            "sessions"
        ],
        "{json}"
    );
}

#[test]
fn with_a_direct_session_an_external_peer_s_next_hop_is_still_right() {
    // The mesh brings b's block from b; the ToR (eBGP, next hop rewritten to itself) brings it
    // too, and BIRD takes the ToR's path when the mesh session is down: not a wrong next hop.
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{asNumber: 64512}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: tor}}\n\
         spec: {{peerIP: 10.99.0.254, asNumber: 65000, numAllowedLocalASNumbers: 1}}\n---\n{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed")
    );
    let e = expected_for(&snapshot(&y), "a");
    let r = route(&e, "10.244.2.0/26");
    assert_eq!(
        r.source,
        remote_b(&["10.99.0.2", "10.99.0.254"], &["Mesh_10_99_0_2"], true)
    );
    assert_eq!(
        r.kernel,
        KernelRoute::Direct {
            gateways: vec![ip("10.99.0.2"), ip("10.99.0.254")]
        }
    );
}

#[test]
fn an_owner_without_an_address_is_still_expected() {
    let y = format!(
        "{MESH3}{PLAIN_POOL}kind: Node\nmetadata: {{name: d}}\nspec: {{}}\n---\n{}",
        block("d-1", "d", "10.244.5.0/26", "confirmed")
    );
    let e = expected_for(&snapshot(&y), "a");
    let r = route(&e, "10.244.5.0/26");
    assert!(matches!(
        &r.source,
        RouteSource::Remote { owner_address: None, next_hops, sessions, .. }
            if next_hops.is_empty() && sessions.is_empty()
    ));
}

#[test]
fn a_bgp_filter_import_rule_that_rejects_a_block_is_named() {
    let y = format!(
        "{MESH3}{PLAIN_POOL}\
         kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: false}}\n---\n\
         kind: BGPFilter\nmetadata: {{name: drop-one}}\nspec: {{importV4: [\
           {{cidr: 10.244.2.64/26, matchOperator: Equal, action: Reject}},\
           {{cidr: 10.244.0.0/16, prefixLength: {{max: 26}}, matchOperator: In, action: Accept}}]}}\n---\n\
         kind: BGPPeer\nmetadata: {{name: a-b}}\nspec: {{node: a, peerIP: 10.99.0.2, asNumber: 64512, filters: [drop-one]}}\n---\n\
         {}{}",
        block("b-1", "b", "10.244.2.0/26", "confirmed"),
        block("b-2", "b", "10.244.2.64/26", "confirmed")
    );
    let e = expected_for(&snapshot(&y), "a");
    let rejected = |p: &str| match &route(&e, p).source {
        RouteSource::Remote { rejected_by, .. } => rejected_by.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        rejected("10.244.2.64/26"),
        ["Node_10_99_0_2: BGPFilter drop-one"]
    );
    assert!(
        rejected("10.244.2.0/26").is_empty(),
        "the Accept rule matches first"
    );

    // A rule for eBGP sessions does not apply to this iBGP one; a rule on communities cannot
    // be judged here, so nothing is claimed.
    for rule in [
        "{cidr: 10.244.2.64/26, matchOperator: Equal, peerType: eBGP, action: Reject}",
        "{communities: {values: ['65000:1']}, action: Reject}",
    ] {
        let y2 = y.replace(
            "{cidr: 10.244.2.64/26, matchOperator: Equal, action: Reject}",
            rule,
        );
        assert_ne!(y2, y);
        let e = expected_for(&snapshot(&y2), "a");
        match &route(&e, "10.244.2.64/26").source {
            RouteSource::Remote { rejected_by, .. } => assert!(rejected_by.is_empty(), "{rule}"),
            other => panic!("{other:?}"),
        }
    }
}

proptest! {
    /// Whatever the affinities, every confirmed block in an exporting pool is expected exactly
    /// once, own blocks are blackholes, and every expected prefix is explained.
    #[test]
    fn every_confirmed_block_once(
        blocks in proptest::collection::vec((0u8..4, 0u8..64, 0u8..3), 0..40)
    ) {
        let mut y = MESH3.to_string() + PLAIN_POOL + "kind: Node\nmetadata: {name: d}\nspec: {}\n---\n";
        for (i, (owner, third, state)) in blocks.iter().enumerate() {
            let owner = ["a", "b", "c", "d"][*owner as usize];
            let state = ["confirmed", "pending", ""][*state as usize];
            y += &block(&format!("x{i}"), owner, &format!("10.244.{third}.0/26"), state);
        }
        let s = snapshot(&y);
        let e = expected_for(&s, "a");
        let mut seen = std::collections::BTreeSet::new();
        for r in &e.routes {
            prop_assert!(seen.insert(r.prefix), "{} twice", r.prefix);
            prop_assert!(e.explains(&r.prefix));
            let own = s.block_affinities.values().any(|a| {
                a.spec.node == "a" && parse_cidr(&a.spec.cidr) == Some(r.prefix) && a.spec.state != "pending"
            });
            prop_assert_eq!(own, r.source == RouteSource::Local, "{}", r.prefix);
        }
        for a in s.block_affinities.values().filter(|a| a.spec.state != "pending") {
            prop_assert!(seen.contains(&net(&a.spec.cidr)), "{} missing", a.spec.cidr);
        }
    }

    /// `explains` agrees with a linear scan.
    #[test]
    fn explains_matches_a_linear_scan(
        blocks in proptest::collection::btree_set(0u16..1024, 0..50),
        probe in 0u32..(1 << 16),
        len in 16u8..33,
    ) {
        let nets: Vec<IpNet> = blocks
            .iter()
            .map(|b| IpNet::new(IpAddr::from([10, 244, (b >> 2) as u8, ((b & 3) << 6) as u8]), 26).unwrap())
            .collect();
        let e = Expected { blocks: nets.clone(), ..Default::default() };
        let addr = IpAddr::from([10, 244, (probe >> 8) as u8, probe as u8]);
        let probe = IpNet::new(addr, len).unwrap().trunc();
        prop_assert_eq!(e.explains(&probe), nets.iter().any(|b| b.contains(&probe)));
    }
}

#[test]
fn a_block_of_a_node_that_is_no_node_resource_is_ignored_with_why() {
    // A deleted node's affinity outlives it until Calico's IPAM garbage collection: no BIRD
    // advertises the block, no session could bring it, so no route is expected (every node
    // would stay unready under `--readiness routes` otherwise); it is listed as ignored.
    let mut y = MESH3.to_string() + PLAIN_POOL;
    y += &block("a-1", "a", "10.244.1.0/26", "confirmed");
    y += &block("b-1", "b", "10.244.2.0/26", "confirmed");
    y += &block("gone-1", "gone", "10.244.3.0/26", "confirmed");
    y += &block("gone-2", "gone", "10.244.5.0/26", "pending");
    let e = expected_for(&snapshot(y.trim_end_matches("---\n")), "a");
    let prefixes: Vec<String> = e.routes.iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(prefixes, ["10.244.1.0/26", "10.244.2.0/26"]);
    assert_eq!(e.ignored.len(), 1, "{:?}", e.ignored);
    let i = &e.ignored[0];
    assert_eq!((i.prefix, i.owner.as_str()), (net("10.244.3.0/26"), "gone"));
    assert!(
        i.reason.contains("node gone is not in the datastore"),
        "{}",
        i.reason
    );
    // The affinity still explains a route for the block: not `unexpected`.
    assert!(e.explains(&net("10.244.3.0/26")));
    // On the node the affinity names (if it comes back under that name), its own block.
    let mut back = y.clone();
    back += "kind: Node\nmetadata: {name: gone}\nspec: {bgp: {ipv4Address: 10.99.0.9/24}}\n";
    let e = expected_for(&snapshot(&back), "a");
    assert!(e.ignored.is_empty());
    assert!(e.routes.iter().any(|r| r.prefix == net("10.244.3.0/26")));
}

#[test]
fn a_block_of_a_node_perch_skipped_as_invalid_stays_expected() {
    // A Node refused by validation is still a node whose BIRD may advertise its block: the
    // block is expected (and judged), never quietly ignored as a deleted node's.
    let mut y = MESH3.to_string() + PLAIN_POOL;
    y += &block("a-1", "a", "10.244.1.0/26", "confirmed");
    y += &block("bad-1", "bad", "10.244.3.0/26", "confirmed");
    y += "kind: Node\nmetadata: {name: bad}\nspec: {bgp: {ipv4Address: 999.1.1.1/24}}\n";
    let s = snapshot(&y);
    assert!(s.skipped.contains_key("Node/bad"), "{:?}", s.skipped);
    let e = expected_for(&s, "a");
    assert!(e.ignored.is_empty(), "{:?}", e.ignored);
    assert!(
        e.routes.iter().any(|r| r.prefix == net("10.244.3.0/26")),
        "{:?}",
        e.routes
    );
}
