//! Calico's "Configure BGP peering" guide, step by step, done with perch's own commands
//! against etcd while `perch run` serves node n1 (its BIRD in a network namespace): each step
//! asserts the BGP protocols BIRD runs and the AS numbers they use.

mod support;

use std::time::Duration;

use support::bird::{Bird, require_bird, wait_for};
use support::commands::{file, ok};
use support::etcd::Etcd;
use support::netns::Netns;
use support::perch::Perch;
use support::yaml::nodes;

fn protocols_become(bird: &Bird, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    wait_for(
        Duration::from_secs(15),
        &format!("BIRD running exactly {want:?}"),
        || (bird.bgp_protocols() == want).then_some(()),
    );
}

fn as_numbers(bird: &Bird, protocol: &str) -> (u32, u32) {
    let all = bird.birdc(&["show", "protocols", "all", protocol]);
    let field = |key: &str| {
        all.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("{key} in {all}"))
    };
    (field("Local AS:"), field("Neighbor AS:"))
}

#[test]
fn the_calico_guide_with_perch_alone() {
    require_bird();
    let etcd = Etcd::start();
    let tmp = tempfile::tempdir().unwrap();
    let ns = Netns::new("ph");
    ns.add_loopback_address("10.99.0.1/32");
    let mut bird = Bird::paths(tmp.path());
    std::fs::write(&bird.config, "router id 10.99.0.1;\nprotocol device {}\n").unwrap();
    bird.start(&ns);
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "nodes.yaml", &nodes(3)).to_str().unwrap(),
        ],
    );

    let args: Vec<String> = [
        "-n",
        "n1",
        "--config",
        bird.config.to_str().unwrap(),
        "--bird-socket",
        bird.socket.to_str().unwrap(),
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

    // The default: a full node-to-node mesh, AS 64512.
    protocols_become(&bird, &["Mesh_10_99_0_2", "Mesh_10_99_0_3"]);
    assert_eq!(as_numbers(&bird, "Mesh_10_99_0_2"), (64512, 64512));

    // A global peer.
    let global = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: my-global-peer}\nspec: {peerIP: 192.20.30.40, asNumber: 64567}\n";
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "global.yaml", global).to_str().unwrap(),
        ],
    );
    protocols_become(
        &bird,
        &["Global_192_20_30_40", "Mesh_10_99_0_2", "Mesh_10_99_0_3"],
    );
    assert_eq!(as_numbers(&bird, "Global_192_20_30_40"), (64512, 64567));

    // A per-node peer, by nodeSelector, for the nodes labelled rack=rack-1.
    let rack = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: rack1-tor}\nspec: {peerIP: 192.20.30.41, asNumber: 64567, nodeSelector: rack == 'rack-1'}\n";
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "rack.yaml", rack).to_str().unwrap(),
        ],
    );
    ok(&etcd, &["label", "nodes", "n1", "rack=rack-1"]);
    protocols_become(
        &bird,
        &[
            "Global_192_20_30_40",
            "Mesh_10_99_0_2",
            "Mesh_10_99_0_3",
            "Node_192_20_30_41",
        ],
    );

    // Route reflector: n2 gets a cluster ID and the label, and every node peers with it.
    ok(
        &etcd,
        &[
            "patch",
            "node",
            "n2",
            "-p",
            r#"{"spec":{"bgp":{"routeReflectorClusterID":"244.0.0.1"}}}"#,
        ],
    );
    ok(&etcd, &["label", "nodes", "n2", "route-reflector=true"]);
    let rr = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: peer-with-route-reflectors}\nspec:\n  nodeSelector: all()\n  peerSelector: route-reflector == 'true'\n";
    ok(
        &etcd,
        &["apply", "-f", file(&tmp, "rr.yaml", rr).to_str().unwrap()],
    );
    // The reflector leaves the mesh; n1 now peers with it explicitly.
    protocols_become(
        &bird,
        &[
            "Global_192_20_30_40",
            "Mesh_10_99_0_3",
            "Node_10_99_0_2",
            "Node_192_20_30_41",
        ],
    );
    let got = ok(
        &etcd,
        &["get", "bgppeer", "peer-with-route-reflectors", "-o", "yaml"],
    );
    assert!(
        got.contains("route-reflector == 'true'") || got.contains("route-reflector == \"true\""),
        "{got}"
    );

    // Disable the full mesh: only the explicit sessions remain.
    ok(
        &etcd,
        &[
            "patch",
            "bgpconfiguration",
            "default",
            "-p",
            r#"{"spec": {"nodeToNodeMeshEnabled": false}}"#,
        ],
    );
    protocols_become(
        &bird,
        &["Global_192_20_30_40", "Node_10_99_0_2", "Node_192_20_30_41"],
    );

    // Change the default AS: every session of n1 and its reflector move to it.
    ok(
        &etcd,
        &[
            "patch",
            "bgpconfiguration",
            "default",
            "-p",
            r#"{"spec": {"asNumber": 64513}}"#,
        ],
    );
    wait_for(Duration::from_secs(15), "local AS 64513", || {
        (as_numbers(&bird, "Node_10_99_0_2") == (64513, 64513)).then_some(())
    });
    assert_eq!(as_numbers(&bird, "Global_192_20_30_40"), (64513, 64567));

    // A per-node AS for n1: its session to the reflector becomes eBGP.
    ok(
        &etcd,
        &[
            "patch",
            "node",
            "n1",
            "-p",
            r#"{"spec":{"bgp":{"asNumber":64514}}}"#,
        ],
    );
    wait_for(Duration::from_secs(15), "local AS 64514", || {
        (as_numbers(&bird, "Node_10_99_0_2") == (64514, 64513)).then_some(())
    });
    let text = std::fs::read_to_string(&bird.config).unwrap();
    assert!(
        text.contains("local as 64514;"),
        "the template carries the node's AS"
    );

    // Deleting the global peer removes its session.
    ok(&etcd, &["delete", "bgppeer", "my-global-peer"]);
    protocols_become(&bird, &["Node_10_99_0_2", "Node_192_20_30_41"]);
    let st = perch.status();
    assert_eq!(st["datastore"]["kind"], "etcdv3");
    assert!(st["datastore"]["revision"].as_i64().unwrap() > 0);
}
