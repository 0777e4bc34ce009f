//! Route verification while the network changes, through the lab with real BIRDs: a node that
//! changes address (behind route reflectors its old next hop is `wrongNextHop` until BIRD
//! converges; in a full mesh its block is `missingInBird` until the new session is up) and
//! nodes that peer only with GoBGP top-of-rack routers (eBGP, the mesh off), whose sessions
//! and ToRs go down and come back. Every node's `perch run` runs in the node's namespace, so its
//! `/routes` judges BIRD's table and the kernel's; every assertion reads that `/routes` and is
//! checked against BIRD's own table (`birdc show route` in the node) and the kernel's.

#[path = "lab/mod.rs"]
mod lab;
mod support;

use lab::migration::{self, GUIDE, REFLECTORS};
use lab::node::Placement;
use lab::resources as res;
use lab::routes::{
    all_ok, kernel_gateway, missing_behind, report, routes_of, verdicts, wait_verdicts,
};
use lab::{CONVERGE, Lab, ms, until};
use serde_json::Value;
use std::time::Instant;

/// BIRD's BGP next hops for `prefix` in `node`'s table (`birdc show route PREFIX all`).
fn bird_next_hops(lab: &Lab, node: &str, prefix: &str) -> Vec<String> {
    let all = lab
        .node(node)
        .bird
        .birdc(&["show", "route", "for", prefix, "all"]);
    let mut hops: Vec<String> = all
        .lines()
        .filter_map(|l| l.trim().strip_prefix("BGP.next_hop:"))
        .map(|h| h.trim().to_owned())
        .collect();
    hops.sort();
    hops
}

/// Replaces `node`'s `perch run` with one cut off from the datastore (its etcd endpoint is a
/// loopback port nobody listens on): it never gets a first complete view, so it applies
/// nothing and its BIRD keeps the sessions it runs, as when perch has lost etcd or is stopped.
/// [`release`] undoes it.
fn hold(lab: &mut Lab, node: &str) {
    let nowhere = format!("http://127.0.0.1:{}", support::perch::free_port());
    let ledger = lab.ledger.clone();
    lab.node_mut(node).restart_perch(&nowhere, &[], &ledger);
}

/// Gives `node` back an ordinary `perch run`, which applies the current resources at once.
fn release(lab: &mut Lab, node: &str) {
    let (etcd, ledger) = (lab.endpoint(), lab.ledger.clone());
    lab.node_mut(node).restart_perch(&etcd, &[], &ledger);
}

/// node-2 moves to a new address in the route-reflector topology (three nodes, two reflectors,
/// the mesh off). node-1 learns node-2's block through the reflectors, which pass node-2's
/// next hop on unchanged, so node-1's own config does not change when node-2 moves: BIRD
/// keeps the route with the old next hop until node-2 and the reflectors have moved their
/// sessions.
///
/// How the stale state is made to last: before the Node resource changes, node-2's and both
/// reflectors' perch are held ([`hold`]: restarted without a reachable etcd, so they apply
/// nothing) and their BIRDs keep the sessions to node-2's old address. node-1's
/// perch is not held: it plans from the new Node resource, so its check expects the new next
/// hop while BIRD still has the old one. Releasing them lets BIRD converge, and node-2's block
/// comes back `ok` with the new next hop.
///
/// (In a full mesh there is no such window: the session name carries the peer's address, so
/// node-1's perch replaces the session and BIRD drops the old route as it applies the change;
/// the block is `missingInBird` until the new session is up.)
#[test]
fn a_node_that_changes_address_is_a_wrong_next_hop_until_bird_converges() {
    let mut lab = Lab::start_placed(3, Placement::Namespace);
    migration::start_reflector_machines(&mut lab);
    migration::run(&lab, &GUIDE, "routes");
    lab.wait_routes();
    let ok = all_ok(3);
    let v = wait_verdicts(&lab, "node-1", &ok);
    assert_eq!(v["kernelChecked"], true, "{v}");
    let (old, new) = (res::node_address(2), "10.77.0.42".to_owned());
    let block = res::node_block(2);
    assert_eq!(
        bird_next_hops(&lab, "node-1", &block),
        [old.clone(), old.clone()]
    );

    // Hold node-2 and the reflectors, give node-2 its new address, then tell etcd.
    hold(&mut lab, "node-2");
    let reflectors: Vec<String> = (1..=REFLECTORS).map(|i| res::reflector(i).0).collect();
    for rr in &reflectors {
        hold(&mut lab, rr);
    }
    lab.node("node-2")
        .ns
        .ip(&["addr", "add", &format!("{new}/24"), "dev", "eth0"])
        .unwrap();
    lab.apply("node-2-moved.yaml", &res::node("node-2", &new, &[]));
    let moved = Instant::now();

    // node-1 expects the new next hop; BIRD still has the old one.
    let rrs: Vec<String> = (1..=REFLECTORS)
        .map(|i| res::session("Node", &res::reflector(i).1))
        .collect();
    let v = until(
        CONVERGE,
        "node-2's block a wrong next hop on node-1",
        || {
            let v = routes_of(&lab, "node-1")?;
            let r = report(&v, &block);
            if r["verdict"] == "wrongNextHop" {
                Ok(v)
            } else {
                Err(format!("{:?}", verdicts(&v)))
            }
        },
    );
    println!(
        "routes reflectors: node-2's block wrongNextHop on node-1's /routes {} ms after the Node update",
        ms(moved)
    );
    let r = report(&v, &block);
    let want = vec![
        format!("{} ok", res::node_block(1)),
        format!(
            "{block} wrongNextHop nextHop [\"{}\"]",
            r["cause"]["sessions"][0].as_str().unwrap()
        ),
        format!("{} ok", res::node_block(3)),
    ];
    assert_eq!(verdicts(&v), want, "{v}");
    assert!(
        rrs.iter().any(|s| r["cause"]["sessions"][0] == s.as_str()),
        "the route came from a reflector: {r}"
    );
    assert_eq!(r["owner"], "node-2", "{r}");
    assert_eq!(
        r["expected"]["source"]["nextHops"],
        serde_json::json!([new]),
        "expected: node-2's new address: {r}"
    );
    assert_eq!(r["expected"]["source"]["ownerAddress"], new.as_str(), "{r}");
    let message = r["cause"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "has next hop {old} (no node with a block has that address: a route from before a node moved?)"
        )) && message.ends_with(&format!("node-2's is {new}")),
        "observed and expected next hop named, the old one as nobody's: {message}"
    );
    let bird_lines = r["bird"].as_array().unwrap();
    assert!(
        !bird_lines.is_empty()
            && bird_lines.iter().all(|l| l
                .as_str()
                .unwrap()
                .contains(&format!("(BGP.next_hop {old})"))),
        "the evidence shows BIRD's routes with the old next hop: {r}"
    );
    assert_eq!(
        bird_next_hops(&lab, "node-1", &block),
        [old.clone(), old.clone()],
        "BIRD's own table agrees"
    );
    assert_eq!(
        kernel_gateway(&lab, "node-1", &block).as_deref(),
        Some(old.as_str()),
        "so does the kernel's"
    );
    assert!(
        r["kernel"][0]
            .as_str()
            .is_some_and(|k| k.contains(&format!("via {old}"))),
        "{r}"
    );

    // Released: BIRD converges on the new next hop and the block is ok again.
    release(&mut lab, "node-2");
    for rr in &reflectors {
        release(&mut lab, rr);
    }
    let released = Instant::now();
    let v = wait_verdicts(&lab, "node-1", &ok);
    println!(
        "routes reflectors: ok again {} ms after node-2 and the reflectors were released",
        ms(released)
    );
    let r = report(&v, &block);
    assert!(
        r["bird"].as_array().unwrap().iter().any(|l| l
            .as_str()
            .unwrap()
            .contains(&format!("(BGP.next_hop {new})"))),
        "{r}"
    );
    // Both reflectors' paths move to the new next hop, and the check follows.
    until(
        CONVERGE,
        "both reflectors' paths with the new next hop",
        || {
            let v = routes_of(&lab, "node-1")?;
            let r = report(&v, &block);
            let lines: Vec<&str> = r["bird"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let moved = lines.len() == REFLECTORS
                && lines
                    .iter()
                    .all(|l| l.contains(&format!("(BGP.next_hop {new})")));
            if r["verdict"] == "ok" && moved {
                Ok(())
            } else {
                Err(format!("{r}"))
            }
        },
    );
    assert_eq!(
        bird_next_hops(&lab, "node-1", &block),
        [new.clone(), new.clone()]
    );
    assert_eq!(kernel_gateway(&lab, "node-1", &block), Some(new));
}

/// Four nodes in two racks, each node peering only with its rack's GoBGP ToR (eBGP,
/// `nodeSelector: rack == …` BGPPeers) with the mesh off, as in `lab_topologies.rs`; the two
/// ToRs peer with each other (a spine in one hop). Each node has an AS of its own (Calico's
/// "AS per compute server" design, `spec.bgp.asNumber` 65001…): a ToR never sends a node a
/// path that holds the node's own AS, so with one AS for every node, rack-mates would not learn
/// each other's blocks. The ToRs rewrite the next hop to themselves (eBGP).
#[test]
fn nodes_behind_tors_get_every_block_and_lose_exactly_what_a_tor_carried() {
    let mut lab = Lab::start_placed(4, Placement::Namespace);
    let rack_of = |name: &str| {
        let i: usize = name.trim_start_matches("node-").parse().unwrap();
        res::rack(i, 4)
    };
    let asn = |i: usize| 65000 + i as u32;
    let mut nodes = String::new();
    for i in 1..=4 {
        nodes.push_str("---\n");
        nodes.push_str(
            &res::node(
                &res::node_name(i),
                &res::node_address(i),
                &[("rack", &res::rack(i, 4))],
            )
            .replace("/24}}", &format!("/24, asNumber: {}}}}}", asn(i))),
        );
    }
    lab.apply("nodes-own-as.yaml", &nodes);
    // ToR i's neighbors: its rack's nodes, each in its own AS, and the other ToR.
    let tor_neighbors = |i: usize| -> Vec<(String, u32)> {
        let rack = format!("rack-{i}");
        let (_, other, other_as) = res::tor(3 - i);
        (1..=4)
            .filter(|&j| res::rack(j, 4) == rack)
            .map(|j| (res::node_address(j), asn(j)))
            .chain([(other, other_as)])
            .collect()
    };
    for i in 1..=2 {
        lab.add_tor(i, &tor_neighbors(i));
    }
    lab.apply("rack-peers.yaml", &res::rack_tor_peers(|r| res::tor(r).2));
    lab.perch(&[
        "patch",
        "bgpconfiguration",
        "default",
        "-p",
        r#"{"spec":{"nodeToNodeMeshEnabled":false}}"#,
    ]);
    let tor_of = |name: &str| if rack_of(name) == "rack-1" { 1 } else { 2 };
    let session_of = |name: &str| res::session("Node", &res::tor(tor_of(name)).1);
    lab.wait_established(&["node-1", "node-2", "node-3", "node-4"], |n| {
        vec![session_of(&n.name)]
    });
    lab.wait_routes();

    // Healthy: every block ok on every node, nothing else; the ToR's address is the next hop.
    let ok = all_ok(4);
    for i in 1..=4 {
        let name = res::node_name(i);
        let v = wait_verdicts(&lab, &name, &ok);
        assert_eq!(v["kernelChecked"], true, "{v}");
        let tor_ip = res::tor(tor_of(&name)).1;
        for j in (1..=4).filter(|&j| j != i) {
            let block = res::node_block(j);
            let r = report(&v, &block);
            assert_eq!(
                r["expected"]["source"]["sessions"],
                serde_json::json!([session_of(&name)]),
                "{r}"
            );
            assert_eq!(r["expected"]["source"]["direct"], false, "{r}");
            assert!(
                r["bird"].as_array().unwrap().iter().any(|l| l
                    .as_str()
                    .unwrap()
                    .contains(&format!("(BGP.next_hop {tor_ip})"))),
                "{name}: {r}"
            );
            assert_eq!(
                bird_next_hops(&lab, &name, &block),
                [tor_ip.as_str()],
                "{name}: {block}"
            );
            assert_eq!(
                kernel_gateway(&lab, &name, &block).as_deref(),
                Some(tor_ip.as_str()),
                "{name}'s kernel routes {block} through its ToR"
            );
        }
    }

    // node-1's session with its ToR disabled by hand: every other block is missing in BIRD,
    // with that session as the cause; node-1's own block stays ok.
    let to_tor = session_of("node-1");
    let n1 = lab.node("node-1");
    assert!(n1.bird.birdc(&["disable", &to_tor]).contains("disabled"));
    let disabled = Instant::now();
    let want = missing_behind(4, &[2, 3, 4], &to_tor);
    wait_verdicts(&lab, "node-1", &want);
    println!(
        "routes tors: node-1's three other blocks missingInBird {} ms after birdc disable {to_tor}",
        ms(disabled)
    );
    for j in 2..=4 {
        assert!(bird_next_hops(&lab, "node-1", &res::node_block(j)).is_empty());
    }
    assert!(n1.bird.birdc(&["enable", &to_tor]).contains("enabled"));
    wait_verdicts(&lab, "node-1", &ok);

    // tor-2 taken out of service (GoBGP shuts every session down with a Cease): rack-2's
    // nodes lose every other block (their only session is down); rack-1's nodes lose rack-2's
    // blocks, which nothing else brings (their own ToR session stays Established).
    let tor2 = &lab.tors[1];
    let tor2_neighbors: Vec<String> = tor_neighbors(2).into_iter().map(|(a, _)| a).collect();
    for n in &tor2_neighbors {
        tor2.gobgp(&["neighbor", n, "disable"]).unwrap();
    }
    let out_of_service = Instant::now();
    let to_tor2 = session_of("node-3");
    let want3 = missing_behind(4, &[1, 2, 4], &to_tor2);
    wait_verdicts(&lab, "node-3", &want3);
    let want1 = vec![
        format!("{} ok", res::node_block(1)),
        format!("{} ok", res::node_block(2)),
        format!(
            "{} missingInBird notAdvertised [\"{to_tor}\"]",
            res::node_block(3)
        ),
        format!(
            "{} missingInBird notAdvertised [\"{to_tor}\"]",
            res::node_block(4)
        ),
    ];
    let v = wait_verdicts(&lab, "node-1", &want1);
    println!(
        "routes tors: rack-2's blocks missingInBird on node-1 {} ms after tor-2 went out of service",
        ms(out_of_service)
    );
    let message = report(&v, &res::node_block(3))["cause"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with(&format!(
            "{to_tor} is Established but has no path from node-3: a session further along is down"
        )),
        "{message}"
    );
    assert!(bird_next_hops(&lab, "node-1", &res::node_block(3)).is_empty());

    // tor-2 back in service: every block ok everywhere again.
    for n in &tor2_neighbors {
        lab.tors[1].gobgp(&["neighbor", n, "enable"]).unwrap();
    }
    let back = Instant::now();
    for i in 1..=4 {
        wait_verdicts(&lab, &res::node_name(i), &ok);
    }
    println!(
        "routes tors: every block ok on every node {} ms after tor-2 came back",
        ms(back)
    );
}

/// The same move in the default full mesh: node-1's session with node-2 is named after node-2's
/// address, so node-1's perch replaces `Mesh_10_77_0_12` with `Mesh_10_77_0_42` and BIRD
/// drops the old route with the old session. node-2's block is `missingInBird`, the new
/// session named as the cause, until node-2 (held meanwhile, see [`hold`]) moves its side of
/// the session; never a wrong next hop.
#[test]
fn in_a_mesh_a_node_that_changes_address_is_missing_until_its_new_session_is_up() {
    let mut lab = Lab::start_placed(3, Placement::Namespace);
    lab.wait_mesh();
    lab.wait_routes();
    let ok = all_ok(3);
    let v = wait_verdicts(&lab, "node-1", &ok);
    assert_eq!(v["kernelChecked"], true, "{v}");
    let (old, new) = (res::node_address(2), "10.77.0.42".to_owned());
    let block = res::node_block(2);
    assert_eq!(bird_next_hops(&lab, "node-1", &block), [old.as_str()]);

    hold(&mut lab, "node-2");
    lab.node("node-2")
        .ns
        .ip(&["addr", "add", &format!("{new}/24"), "dev", "eth0"])
        .unwrap();
    lab.apply("node-2-moved.yaml", &res::node("node-2", &new, &[]));
    let moved = Instant::now();
    let to_new = res::session("Mesh", &new);
    let want = vec![
        format!("{} ok", res::node_block(1)),
        format!("{block} missingInBird noEstablishedSession [\"{to_new}\"]"),
        format!("{} ok", res::node_block(3)),
    ];
    let v = until(CONVERGE, "node-2's block missing on node-1", || {
        let v = routes_of(&lab, "node-1")?;
        let seen = verdicts(&v);
        assert!(
            report(&v, &block)["verdict"] != "wrongNextHop",
            "the old route goes with the old session: {seen:?}"
        );
        if seen == want {
            Ok(v)
        } else {
            Err(format!("{seen:?}"))
        }
    });
    println!(
        "routes mesh: node-2's block missingInBird on node-1 {} ms after the Node update",
        ms(moved)
    );
    let r = report(&v, &block);
    assert_eq!(
        r["expected"]["source"]["nextHops"],
        serde_json::json!([new])
    );
    assert!(r["bird"].as_array().unwrap().is_empty(), "{r}");
    assert!(
        bird_next_hops(&lab, "node-1", &block).is_empty(),
        "BIRD agrees"
    );
    assert_eq!(
        kernel_gateway(&lab, "node-1", &block),
        None,
        "so does the kernel"
    );

    release(&mut lab, "node-2");
    let released = Instant::now();
    let v = wait_verdicts(&lab, "node-1", &ok);
    println!(
        "routes mesh: ok again {} ms after node-2 was released",
        ms(released)
    );
    assert!(
        report(&v, &block)["bird"][0]
            .as_str()
            .unwrap()
            .contains(&format!("[{to_new}] * via {new}")),
        "{v}"
    );
    assert_eq!(bird_next_hops(&lab, "node-1", &block), [new.as_str()]);
    assert_eq!(kernel_gateway(&lab, "node-1", &block), Some(new));
}
