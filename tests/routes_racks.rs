//! Route verification in Calico's "AS per rack" design, through the lab with real BIRDs and
//! GoBGP ToRs: each rack is one AS; its ToR is an iBGP route reflector for the rack's nodes
//! (`route-reflector-client` in gobgpd's config, `nodeSelector: rack == …` BGPPeers, the mesh
//! off) and peers over eBGP with the other rack's ToR. A node learns its rack-mates' blocks
//! reflected with their own next hop, and the other rack's blocks with the next hop the ToRs
//! give (the remote ToR's address), not the owning node's: `/routes` must report every block
//! `ok`, which is checked against BIRD's table (`birdc show route`) and the kernel's
//! (`ip route`) in each node's namespace, where its `perch run` runs, and told by `perch
//! explain … route`.

#[path = "lab/mod.rs"]
mod lab;
mod support;

use lab::node::Placement;
use lab::resources as res;
use lab::routes::{kernel_gateway, missing_behind, report, wait_verdicts};
use lab::{Lab, ms};
use std::time::Instant;

/// Rack `r`'s AS: its nodes' and its ToR's.
fn rack_as(r: usize) -> u32 {
    65100 + r as u32
}

/// The rack of node `i` (1-based) of four: nodes 1 and 2 in rack 1, 3 and 4 in rack 2.
fn rack_of(i: usize) -> usize {
    if res::rack(i, 4) == "rack-1" { 1 } else { 2 }
}

/// BIRD's best route for `prefix` in `node`'s table (`birdc show route for PREFIX all`):
/// its BGP next hop and its (resolved) gateway.
fn bird_best(lab: &Lab, node: &str, prefix: &str) -> (Option<String>, Option<String>) {
    let all = lab
        .node(node)
        .bird
        .birdc(&["show", "route", "for", prefix, "all"]);
    let hop = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("BGP.next_hop:"))
        .map(|h| h.trim().to_owned());
    let via = all.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        words.find(|w| *w == "via")?;
        words.next().map(str::to_owned)
    });
    (hop, via)
}

/// Four nodes in two racks, one AS per rack; each node's only session is iBGP with its
/// rack's ToR, a route reflector that is no cluster node. Every block is `ok` on every node:
/// the rack-mate's with its own address as next hop, the other rack's with the remote ToR's
/// (BIRD's `BGP.next_hop`, the kernel's gateway). A node's ToR session disabled by hand takes
/// exactly the other blocks, and they come back `ok`.
#[test]
fn as_per_rack_blocks_from_the_other_rack_are_ok_with_the_tor_s_next_hop() {
    let started = Instant::now();
    let mut lab = Lab::start_placed(4, Placement::Namespace);
    let mut nodes = String::new();
    for i in 1..=4 {
        nodes.push_str("---\n");
        nodes.push_str(
            &res::node(
                &res::node_name(i),
                &res::node_address(i),
                &[("rack", &res::rack(i, 4))],
            )
            .replace(
                "/24}}",
                &format!("/24, asNumber: {}}}}}", rack_as(rack_of(i))),
            ),
        );
    }
    lab.apply("nodes-rack-as.yaml", &nodes);
    // ToR r: its rack's nodes as route-reflector clients (iBGP), the other ToR over eBGP.
    for r in 1..=2 {
        let clients: Vec<String> = (1..=4)
            .filter(|&i| rack_of(i) == r)
            .map(res::node_address)
            .collect();
        let other = res::tor(3 - r).1;
        let neighbors: Vec<(String, u32)> = clients
            .iter()
            .map(|a| (a.clone(), rack_as(r)))
            .chain([(other, rack_as(3 - r))])
            .collect();
        lab.add_rack_tor(r, rack_as(r), &neighbors, &clients);
    }
    lab.apply("rack-tor-peers.yaml", &res::rack_tor_peers(rack_as));
    lab.perch(&[
        "patch",
        "bgpconfiguration",
        "default",
        "-p",
        r#"{"spec":{"nodeToNodeMeshEnabled":false}}"#,
    ]);
    let session_of = |i: usize| res::session("Node", &res::tor(rack_of(i)).1);
    lab.wait_established(&["node-1", "node-2", "node-3", "node-4"], |n| {
        let i: usize = n.name.trim_start_matches("node-").parse().unwrap();
        vec![session_of(i)]
    });
    lab.wait_routes();
    let converged = Instant::now();
    println!(
        "routes racks: lab up, sessions Established and every block routed in {} ms",
        ms(started)
    );

    let ok: Vec<String> = (1..=4)
        .map(|i| format!("{} ok", res::node_block(i)))
        .collect();
    for i in 1..=4 {
        let name = res::node_name(i);
        let v = wait_verdicts(&lab, &name, &ok);
        assert_eq!(v["kernelChecked"], true, "{v}");
        assert_eq!(
            v["routerSessions"],
            serde_json::json!([session_of(i)]),
            "{name}: the ToR is a router that is no cluster node"
        );
        for j in (1..=4).filter(|&j| j != i) {
            let block = res::node_block(j);
            let r = report(&v, &block);
            assert_eq!(
                r["expected"]["source"]["sessions"],
                serde_json::json!([session_of(i)]),
                "{r}"
            );
            let (hop, via) = bird_best(&lab, &name, &block);
            let gateway = kernel_gateway(&lab, &name, &block);
            if rack_of(j) == rack_of(i) {
                // Reflected within the rack: the owner's address, in BIRD and the kernel.
                let owner = res::node_address(j);
                assert_eq!(hop.as_deref(), Some(owner.as_str()), "{name}: {block}");
                assert_eq!(gateway.as_deref(), Some(owner.as_str()), "{name}: {block}");
            } else {
                // From the other rack: the remote ToR's address (eBGP between the ToRs), not
                // the owner's, which the check used to call a wrong next hop.
                let remote_tor = res::tor(rack_of(j)).1;
                assert_eq!(hop.as_deref(), Some(remote_tor.as_str()), "{name}: {block}");
                assert!(
                    r["bird"].as_array().unwrap().iter().any(|l| l
                        .as_str()
                        .unwrap()
                        .contains(&format!("(BGP.next_hop {remote_tor})"))),
                    "{name}: {r}"
                );
                // The kernel has what BIRD resolved the next hop to.
                assert_eq!(gateway, via, "{name}: {block}: kernel vs BIRD");
                assert!(gateway.is_some(), "{name}: {block}");
            }
        }
    }
    println!(
        "routes racks: every block ok on the four nodes {} ms after the routes converged",
        ms(converged)
    );

    // The same, told for one prefix by `perch explain … route` (BIRD's side; the kernel's is
    // the namespace's, which this root-namespace command does not see).
    let socket = lab.node("node-1").bird.socket.to_str().unwrap().to_owned();
    let text = lab.perch(&[
        "explain",
        "-n",
        "node-1",
        "--bird-socket",
        &socket,
        "--no-kernel",
        "route",
        "10.244.3.7",
    ]);
    assert!(
        text.starts_with("route 10.244.3.0/26 on node-1 (holds 10.244.3.7): ok"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} is a router that is no cluster node: its route may carry any next hop",
            session_of(1)
        )),
        "{text}"
    );

    // node-1's ToR session disabled by hand: the three other blocks are missing in BIRD,
    // that session the cause; node-1's own block stays ok. Back on: every block ok.
    let to_tor = session_of(1);
    let n1 = lab.node("node-1");
    assert!(n1.bird.birdc(&["disable", &to_tor]).contains("disabled"));
    let disabled = Instant::now();
    let want = missing_behind(4, &[2, 3, 4], &to_tor);
    wait_verdicts(&lab, "node-1", &want);
    println!(
        "routes racks: node-1's three other blocks missingInBird {} ms after birdc disable {to_tor}",
        ms(disabled)
    );
    for j in 2..=4 {
        assert_eq!(
            bird_best(&lab, "node-1", &res::node_block(j)),
            (None, None),
            "BIRD has no route left for {}",
            res::node_block(j)
        );
    }
    assert!(n1.bird.birdc(&["enable", &to_tor]).contains("enabled"));
    let enabled = Instant::now();
    wait_verdicts(&lab, "node-1", &ok);
    println!(
        "routes racks: every block ok on node-1 {} ms after birdc enable {to_tor}",
        ms(enabled)
    );
}
