//! The lab's topologies from Calico's "Configure BGP peering" guide, with real sessions and
//! real routes: the default full mesh of four nodes, a global peer (a GoBGP ToR in its own AS)
//! and per-rack peers chosen by `nodeSelector` with the mesh disabled.

#[path = "lab/mod.rs"]
mod lab;
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use lab::resources as res;
use lab::tor::Tor;
use lab::{CONVERGE, Lab, ms, until};

/// Waits until `tor`'s RIB holds exactly the blocks of `owners` (CIDR → owner's address),
/// each with a path from its owner. (With the mesh on, every node also passes the blocks it
/// learned from the others on to its eBGP peer, as Calico's nodes do.)
fn wait_rib(tor: &Tor, owners: &BTreeMap<String, String>) {
    until(CONVERGE, &format!("{}'s RIB", tor.name), || {
        let rib = tor.rib()?;
        let from_owner = owners
            .iter()
            .all(|(cidr, owner)| rib.get(cidr).is_some_and(|hops| hops.contains(owner)));
        if rib.keys().eq(owners.keys()) && from_owner {
            Ok(())
        } else {
            Err(format!("{} RIB {rib:?}, want {owners:?}", tor.name))
        }
    });
}

/// Each worker's block and address, for those `pick` selects.
fn blocks_of(lab: &Lab, pick: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
    lab.workers()
        .into_iter()
        .filter(|n| pick(&n.name))
        .map(|n| (n.block.clone().unwrap(), n.address.clone()))
        .collect()
}

#[test]
fn the_default_full_mesh_of_four_nodes() {
    let t = Instant::now();
    let lab = Lab::start(4);
    println!("lab mesh: 4 nodes started in {} ms", ms(t));
    let t = Instant::now();
    lab.wait_mesh();
    println!(
        "lab mesh: every Mesh_ session Established after {} ms",
        ms(t)
    );
    lab.wait_routes();
    println!(
        "lab mesh: every block in every node's kernel table after {} ms",
        ms(t)
    );
    for n in lab.workers() {
        assert_eq!(
            n.protocols(),
            lab.mesh_of(n),
            "{} runs only the mesh",
            n.name
        );
        // Each route leads straight to the block's node.
        let out =
            n.ns.command("ip")
                .args(["-j", "route", "show", "proto", "bird"])
                .output()
                .unwrap();
        let routes: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        for o in lab.workers().into_iter().filter(|o| o.name != n.name) {
            let r = routes
                .iter()
                .find(|r| r["dst"] == o.block.clone().unwrap().as_str())
                .unwrap_or_else(|| panic!("{} has no route to {}", n.name, o.name));
            assert_eq!(
                r["gateway"],
                o.address.as_str(),
                "{} → {}: {r}",
                n.name,
                o.name
            );
        }
    }
}

#[test]
fn a_global_peer_is_a_tor_every_node_peers_with() {
    let mut lab = Lab::start(4);
    let all = lab.neighbors(|_| true);
    lab.add_tor(1, &all);
    let (_, tor_ip, tor_as) = res::tor(1);
    let t = Instant::now();
    lab.apply(
        "global-peer.yaml",
        &res::bgp_peer(
            "my-global-peer",
            &format!("peerIP: {tor_ip}, asNumber: {tor_as}"),
        ),
    );
    let global = res::session("Global", &tor_ip);
    let names: Vec<String> = lab.workers().iter().map(|n| n.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    lab.wait_established(&names, |n| {
        let mut want = lab.mesh_of(n);
        want.push(global.clone());
        want.sort();
        want
    });
    println!(
        "lab global peer: every node's mesh and {global} Established {} ms after the BGPPeer",
        ms(t)
    );
    let tor = &lab.tors[0];
    wait_rib(tor, &blocks_of(&lab, |_| true));
    println!(
        "lab global peer: {} learned all 4 blocks after {} ms",
        tor.name,
        ms(t)
    );
    let addresses: Vec<String> = lab.workers().iter().map(|n| n.address.clone()).collect();
    assert_eq!(
        tor.established().unwrap().into_iter().collect::<Vec<_>>(),
        addresses,
        "GoBGP has every node Established"
    );
    for n in lab.workers() {
        assert_eq!(
            n.bgp_session(&global),
            Some(("Established".into(), res::CLUSTER_AS, tor_as)),
            "{}",
            n.name
        );
    }
}

#[test]
fn rack_peers_by_node_selector_with_the_mesh_disabled() {
    let mut lab = Lab::start(4);
    let rack_of = |name: &str| {
        let i: usize = name.trim_start_matches("node-").parse().unwrap();
        res::rack(i, 4)
    };
    for (i, rack) in [(1, "rack-1"), (2, "rack-2")] {
        let members = lab.neighbors(|n| rack_of(&n.name) == rack);
        lab.add_tor(i, &members);
    }
    let t = Instant::now();
    lab.apply("rack-peers.yaml", &res::rack_tor_peers(|r| res::tor(r).2));
    lab.perch(&[
        "patch",
        "bgpconfiguration",
        "default",
        "-p",
        r#"{"spec":{"nodeToNodeMeshEnabled":false}}"#,
    ]);
    let tor_session = |name: &str| {
        let i = if rack_of(name) == "rack-1" { 1 } else { 2 };
        vec![res::session("Node", &res::tor(i).1)]
    };
    lab.wait_established(&["node-1", "node-2", "node-3", "node-4"], |n| {
        tor_session(&n.name)
    });
    println!(
        "lab racks: each node peers only with its rack's ToR, Established {} ms after the change",
        ms(t)
    );
    for (i, rack) in [(1, "rack-1"), (2, "rack-2")] {
        let tor = &lab.tors[i - 1];
        let mine = blocks_of(&lab, |n| rack_of(n) == rack);
        wait_rib(tor, &mine);
        let members: Vec<String> = mine.values().cloned().collect();
        assert_eq!(
            tor.established().unwrap().into_iter().collect::<Vec<_>>(),
            members,
            "{} has its rack's nodes Established",
            tor.name
        );
    }
    println!(
        "lab racks: each ToR learned exactly its rack's blocks after {} ms",
        ms(t)
    );
    for n in lab.workers() {
        assert_eq!(
            n.protocols(),
            tor_session(&n.name),
            "{} runs no mesh",
            n.name
        );
    }
}
