//! CalicoNodeStatus: with two BIRDs and an Established mesh session (plus a planned peer that
//! is down), `perch run` following etcd writes the status Calico's schema describes.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::bird::wait_for;
use support::commands::{file, ok};
use support::etcd::Etcd;
use support::pair::Pair;
use support::perch::{Perch, http_get};
use support::yaml::{default_config, documents, nodes};

/// Three nodes (n3 has no BIRD), a pool, and n2's block.
fn cluster() -> String {
    documents([
        default_config("{asNumber: 64512}"),
        nodes(3),
        "kind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: pods}\nspec: {cidr: 10.244.0.0/16}\n".into(),
        "kind: BlockAffinity\napiVersion: projectcalico.org/v3\nmetadata: {name: n2-block}\nspec: {node: n2, cidr: 10.244.2.0/26, state: confirmed}\n".into(),
    ])
}

const NODE_STATUS: &str = "\
kind: CalicoNodeStatus
apiVersion: projectcalico.org/v3
metadata: {name: n1-status}
spec: {node: n1, classes: [Agent, BGP, Routes], updatePeriodSeconds: 1}
";

#[test]
fn calico_node_status_carries_the_sessions() {
    let cluster = cluster();
    let pair = Pair::start(&cluster, &[]);
    let etcd = Etcd::start();
    let tmp = tempfile::tempdir().unwrap();
    // Everything but the BlockAffinity goes to etcd (affinities live under IPAM keys there).
    let resources: String = cluster
        .split("---\n")
        .filter(|d| !d.contains("BlockAffinity"))
        .collect::<Vec<_>>()
        .join("---\n");
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "cluster.yaml", &resources).to_str().unwrap(),
        ],
    );
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "status.yaml", NODE_STATUS).to_str().unwrap(),
        ],
    );
    let args: Vec<String> = [
        "-n",
        "n1",
        "--config",
        pair.b1.config.to_str().unwrap(),
        "--bird-socket",
        pair.b1.socket.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let perch = Perch::start(
        &args,
        &[
            ("DATASTORE_TYPE", "etcdv3"),
            ("ETCD_ENDPOINTS", &etcd.endpoint()),
        ],
        tmp.path().join("perch.log"),
    );

    let key = "/calico/resources/v3/projectcalico.org/caliconodestatuses/n1-status";
    let status = wait_for(
        Duration::from_secs(40),
        "a status with the Established session and its route",
        || {
            let (v, _) = etcd.stored(key)?;
            let s = v.get("status")?.clone();
            let established = s["bgp"]["numberEstablishedV4"] == 1;
            let route = s["routes"]["routesV4"]
                .as_array()?
                .iter()
                .any(|r| r["destination"] == "10.244.2.0/26");
            (established && route).then_some(s)
        },
    );
    assert_eq!(
        status["bgp"]["numberNotEstablishedV4"], 1,
        "n3 has no BIRD: {status}"
    );
    let peers = status["bgp"]["peersV4"].as_array().unwrap();
    let up = peers.iter().find(|p| p["peerIP"] == "10.99.0.2").unwrap();
    assert_eq!(
        (up["type"].as_str(), up["state"].as_str()),
        (Some("NodeMesh"), Some("Established"))
    );
    assert!(up["since"].as_str().unwrap().ends_with('Z'));
    let down = peers.iter().find(|p| p["peerIP"] == "10.99.0.3").unwrap();
    assert_ne!(down["state"], "Established");
    let route: &Value = status["routes"]["routesV4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == "10.244.2.0/26")
        .unwrap();
    assert_eq!(route["type"], "FIB");
    assert_eq!(route["gateway"], "10.99.0.2");
    assert_eq!(route["learnedFrom"]["sourceType"], "NodeMesh");
    assert_eq!(route["learnedFrom"]["peerIP"], "10.99.0.2");
    assert_eq!(status["agent"]["birdV4"]["state"], "Ready");
    assert_eq!(status["agent"]["birdV4"]["routerID"], "10.99.0.1");
    assert!(status["lastUpdated"].as_str().unwrap().ends_with('Z'));

    // Unchanged status is not rewritten. n3's session is not stable (BIRD moves it between
    // Connect and Active, a real change that is written), so n3 leaves the cluster first.
    let counter = |name: &str| -> u64 {
        let (_, m) = http_get(perch.port, "/metrics").unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    ok(&etcd, &["delete", "node", "n3"]);
    wait_for(Duration::from_secs(40), "a status without n3", || {
        let (v, _) = etcd.stored(key)?;
        let peers = v["status"]["bgp"]["peersV4"].as_array()?.clone();
        (peers.len() == 1 && peers[0]["state"] == "Established").then_some(())
    });
    // The check that wrote it has finished once a later check has started.
    let after_write = counter("perch_node_status_checks_total");
    wait_for(Duration::from_secs(15), "the next evaluation", || {
        (counter("perch_node_status_checks_total") > after_write).then_some(())
    });
    let (_, rev) = etcd.stored(key).unwrap();
    let writes = counter("perch_node_status_writes_total");
    let checks = counter("perch_node_status_checks_total");
    wait_for(Duration::from_secs(15), "three more evaluations", || {
        (counter("perch_node_status_checks_total") >= checks + 3).then_some(())
    });
    assert_eq!(
        counter("perch_node_status_writes_total"),
        writes,
        "no write when nothing changed"
    );
    assert_eq!(etcd.stored(key).unwrap().1, rev);
}
