//! Day-two operations on a running four-node lab: changing the cluster's AS and one node's AS,
//! an etcd outage, a BIRD crash, and CalicoNodeStatus. Sessions are read from perch's
//! `/status` and BIRD, routes from the nodes' kernel tables.

#[path = "lab/mod.rs"]
mod lab;
mod support;

use std::time::{Duration, Instant};

use lab::node::Node;
use lab::prober::Prober;
use lab::resources as res;
use lab::{CONVERGE, Lab, ms, until};
use serde_json::Value;

/// How long etcd stays down in the outage scenario.
const OUTAGE: Duration = Duration::from_secs(10);

/// A converged four-node mesh, with the time it took printed under `label`.
fn converged_mesh(label: &str) -> Lab {
    let t = Instant::now();
    let lab = Lab::start(4);
    lab.wait_mesh();
    lab.wait_routes();
    println!(
        "lab {label}: 4-node mesh Established and routed in {} ms",
        ms(t)
    );
    lab
}

/// Ok when every worker's BIRD has each mesh session Established with the AS numbers
/// `expect(node, peer)` gives as (Local AS, Neighbor AS), read together from one reply: BIRD
/// shows a session's new AS only once it restarted with it. perch's `/status` then agrees.
fn check_mesh_as(lab: &Lab, expect: impl Fn(&Node, &Node) -> (u32, u32)) -> Result<(), String> {
    for n in lab.workers() {
        for peer in lab.workers().into_iter().filter(|p| p.name != n.name) {
            let protocol = res::session("Mesh", &peer.address);
            let got = n.bgp_session(&protocol);
            let (local, neighbor) = expect(n, peer);
            if got != Some(("Established".into(), local, neighbor)) {
                return Err(format!(
                    "{} {protocol}: {got:?}, want Established {local}/{neighbor}",
                    n.name
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn sessions_come_back_with_a_new_cluster_as_and_a_node_as() {
    let lab = converged_mesh("AS change");
    let t = Instant::now();
    lab.perch(&[
        "patch",
        "bgpconfiguration",
        "default",
        "-p",
        r#"{"spec":{"asNumber":64513}}"#,
    ]);
    until(CONVERGE, "the mesh Established in AS 64513", || {
        check_mesh_as(&lab, |_, _| (64513, 64513))
    });
    println!(
        "lab AS change: cluster AS 64512 → 64513, mesh Established again in {} ms",
        ms(t)
    );

    let t = Instant::now();
    lab.perch(&[
        "patch",
        "node",
        "node-1",
        "-p",
        r#"{"spec":{"bgp":{"asNumber":64514}}}"#,
    ]);
    let as_of = |n: &Node| if n.name == "node-1" { 64514 } else { 64513 };
    until(CONVERGE, "node-1 in AS 64514, Established", || {
        check_mesh_as(&lab, |n, peer| (as_of(n), as_of(peer)))
    });
    println!(
        "lab AS change: node-1 → AS 64514 (eBGP to the rest), Established in {} ms",
        ms(t)
    );
    lab.wait_routes();
    let peer = || {
        let st = lab.node("node-2").status().unwrap();
        st["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Mesh_10_77_0_11")
            .cloned()
            .unwrap_or(Value::Null)
    };
    // /status shows the BIRD monitor's latest view, read at most one status interval ago.
    until(CONVERGE, "perch's status showing the session", || {
        let p = peer();
        (p["bgpState"] == "Established")
            .then_some(())
            .ok_or_else(|| p.to_string())
    });
    let to_node_1 = peer();
    assert_eq!(
        to_node_1["asNumber"], 64514,
        "perch's status shows the peer's AS: {to_node_1}"
    );
    assert_eq!(to_node_1["bgpState"], "Established");
}

#[test]
fn an_etcd_outage_keeps_sessions_and_routes_and_later_changes_apply() {
    let mut lab = converged_mesh("etcd outage");
    let all = lab.neighbors(|_| true);
    lab.add_tor(1, &all);
    let prober = Prober::start(lab.probe_targets());
    let down = Instant::now();
    lab.etcd.stop();
    // The outage is the scenario: etcd stays down for OUTAGE, measured, while perch is
    // checked to notice it and keep everything as it was.
    until(OUTAGE, "every perch reporting etcd unavailable", || {
        lab.nodes.iter().try_for_each(|n| {
            let st = n.status()?;
            match st["datastore"]["available"].as_bool() {
                Some(false) => Ok(()),
                _ => Err(format!("{}: datastore {}", n.name, st["datastore"])),
            }
        })
    });
    println!(
        "lab etcd outage: every perch reported etcd unavailable after {} ms",
        ms(down)
    );
    std::thread::sleep(OUTAGE.saturating_sub(down.elapsed()));
    for n in lab.workers() {
        n.check_established(&lab.mesh_of(n)).unwrap();
    }
    lab.check_routes().unwrap();
    println!("lab etcd outage: etcd stopped for {} ms", ms(down));
    let t = Instant::now();
    lab.etcd.restart();
    println!(
        "lab etcd outage: etcd healthy again {} ms after its start",
        ms(t)
    );

    let t = Instant::now();
    let (_, tor_ip, tor_as) = res::tor(1);
    lab.apply(
        "global-peer.yaml",
        &res::bgp_peer(
            "my-global-peer",
            &format!("peerIP: {tor_ip}, asNumber: {tor_as}"),
        ),
    );
    let global = res::session("Global", &tor_ip);
    until(CONVERGE, "the global peer in every BIRD", || {
        lab.workers().iter().try_for_each(|n| {
            if n.protocols().contains(&global) {
                Ok(())
            } else {
                Err(format!("{} runs {:?}", n.name, n.protocols()))
            }
        })
    });
    println!(
        "lab etcd outage: a global peer added after etcd returned is in every BIRD after {} ms",
        ms(t)
    );
    let names = ["node-1", "node-2", "node-3", "node-4"];
    lab.wait_established(&names, |n| {
        let mut want = lab.mesh_of(n);
        want.push(global.clone());
        want.sort();
        want
    });
    println!(
        "lab etcd outage: …and Established on every node after {} ms",
        ms(t)
    );
    let report = prober.stop();
    println!("lab etcd outage: prober: {}", report.summary());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.never_routed.is_empty(), "{:?}", report.never_routed);
    assert!(report.gaps.is_empty(), "no route lost: {:?}", report.gaps);
    for n in lab.workers() {
        let st = n.status().unwrap();
        assert_eq!(st["datastore"]["available"], true, "{}", n.name);
    }
}

#[test]
fn a_killed_bird_is_reported_and_reconfigured_when_it_returns() {
    let mut lab = converged_mesh("BIRD killed");
    let node = "node-2";
    let before = lab.node(node).status().unwrap()["applies"]
        .as_u64()
        .unwrap();
    let t = Instant::now();
    lab.node_mut(node).kill_bird();
    until(CONVERGE, "perch reporting BIRD unreachable", || {
        let st = lab.node(node).status()?;
        match st["bird"]["reachable"].as_bool() {
            Some(false) => Ok(()),
            _ => Err(format!("bird: {}", st["bird"])),
        }
    });
    println!(
        "lab BIRD killed: perch reported BIRD unreachable after {} ms",
        ms(t)
    );

    let t = Instant::now();
    let ledger = lab.ledger.clone();
    lab.node_mut(node).restart_bird(&ledger);
    let st = until(CONVERGE, "perch re-applying to the new BIRD", || {
        let st = lab.node(node).status()?;
        let apply = &st["lastApply"];
        let trigger = apply["trigger"].as_str().unwrap_or("");
        let again = st["applies"].as_u64().unwrap_or(0) > before
            && trigger.contains("bird")
            && apply["result"] == "reconfigured";
        if again && st["bird"]["reachable"] == true {
            Ok(st)
        } else {
            Err(format!("lastApply {apply}, bird {}", st["bird"]))
        }
    });
    println!(
        "lab BIRD killed: BIRD restarted, perch re-applied ({}) after {} ms",
        st["lastApply"]["trigger"],
        ms(t)
    );
    lab.wait_mesh();
    lab.wait_routes();
    println!(
        "lab BIRD killed: mesh Established and routed again {} ms after the restart",
        ms(t)
    );
}

#[test]
fn calico_node_status_carries_the_established_peers() {
    let lab = converged_mesh("CalicoNodeStatus");
    let t = Instant::now();
    lab.apply(
        "node-status.yaml",
        "kind: CalicoNodeStatus\napiVersion: projectcalico.org/v3\nmetadata: {name: node-1-status}\n\
         spec: {node: node-1, classes: [BGP], updatePeriodSeconds: 1}\n",
    );
    let key = "/calico/resources/v3/projectcalico.org/caliconodestatuses/node-1-status";
    let others: Vec<String> = lab
        .workers()
        .iter()
        .filter(|n| n.name != "node-1")
        .map(|n| n.address.clone())
        .collect();
    let status = until(CONVERGE, "node-1's status with 3 Established peers", || {
        let (v, _) = lab.etcd.stored(key).ok_or("no status yet")?;
        let s = v.get("status").cloned().ok_or("no status yet")?;
        let mut up: Vec<String> = s["bgp"]["peersV4"]
            .as_array()
            .ok_or(format!("no peersV4 in {s}"))?
            .iter()
            .filter(|p| p["state"] == "Established" && p["type"] == "NodeMesh")
            .filter_map(|p| p["peerIP"].as_str().map(str::to_owned))
            .collect();
        up.sort();
        if up == others && s["bgp"]["numberEstablishedV4"] == 3 {
            Ok(s)
        } else {
            Err(format!("status {s}"))
        }
    });
    println!(
        "lab CalicoNodeStatus: node-1's status in etcd lists its 3 Established peers after {} ms",
        ms(t)
    );
    assert_eq!(status["bgp"]["numberNotEstablishedV4"], 0);
    assert!(
        status.get("routes").is_none_or(Value::is_null),
        "only the BGP class: {status}"
    );
}
