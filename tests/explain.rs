//! `perch explain` through the binary: a mesh session, a reverse selector session on a route
//! reflector, a BGPPeer that adds nothing, every session at once, JSON, errors, and a local
//! workload session.

use std::process::Command;

use serde_json::Value;

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {asNumber: 64512, nodeMeshPassword: {secretKeyRef: {name: bgp, key: mesh}}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.10/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n2, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.9/24, asNumber: 64600}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: rr1, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.100/24, routeReflectorClusterID: 1.0.0.1}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: to-rr}
spec: {nodeSelector: rack == 'r1', peerSelector: rr == 'true'}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: rack9}
spec: {nodeSelector: rack == 'r9', peerIP: 10.0.0.254, asNumber: 65001}
";

fn explain(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), CLUSTER).unwrap();
    std::fs::create_dir_all(dir.path().join("s/bgp")).unwrap();
    std::fs::write(dir.path().join("s/bgp/mesh"), "planted-mesh-pw").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .arg("explain")
        .arg("-r")
        .arg(dir.path().join("c.yaml"))
        .arg("--secrets-dir")
        .arg(dir.path().join("s"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn mesh_session_shows_the_rule_as_and_passive_texts() {
    let (code, out, err) = explain(&["--node", "n1", "Mesh_10_0_0_9"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "Mesh_10_0_0_9 on n1: node-to-node mesh session with 10.0.0.9 (node n2)",
        "produced by the node-to-node mesh:",
        "n1 is not a route reflector",
        "n2 (10.0.0.9) is not a route reflector",
        "neighbor AS 64600: n2's own asNumber",
        "local AS 64512: n1 has no asNumber: the default BGPConfiguration's asNumber",
        "passive: \"10.0.0.9\" > \"10.0.0.10\" comparing the address text",
        "rr client no: mesh sessions are never",
        "port 179: BIRD's default",
        "password: secret \"bgp\" key \"mesh\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("planted-mesh-pw"));
}

#[test]
fn reverse_session_on_a_reflector_shows_both_sides() {
    let (code, out, _) = explain(&["--node", "rr1", "Node_10_0_0_10"]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "produced by BGPPeer to-rr (reverse: automatic symmetry)",
        "rr1 is on its remote side: peerSelector rr == 'true' on rr1: matches (rr == \"true\" ✓)",
        "the peer is on its local side: nodeSelector rack == 'r1' on n1: matches (rack == \"r1\" ✓)",
        "active: node-specific (and reverse) peerings are never passive",
        "rr client yes: iBGP (AS 64512), rr1 is a route reflector (cluster 1.0.0.1)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn bgp_peer_that_adds_nothing_and_every_session() {
    for arg in ["bgppeer/rack9", "rack9"] {
        let (code, out, _) = explain(&["--node", "n1", arg]);
        assert_eq!(code, 0);
        assert!(out.contains("BGPPeer rack9"), "{out}");
        assert!(
            out.contains("nodeSelector on n1: does not match (rack == \"r9\" ✗)"),
            "{out}"
        );
        assert!(
            out.contains("adds nothing on n1: n1 is on neither side of it"),
            "{out}"
        );
    }
    let (code, out, _) = explain(&["--node", "n1"]);
    assert_eq!(code, 0);
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(" ") && l.contains(" on n1: "))
        .collect();
    assert_eq!(heads.len(), 2, "one explanation per session: {out}");
}

#[test]
fn json_and_errors() {
    let (code, out, _) = explain(&["--node", "n2", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["node"], "n2");
    let s = v["sessions"].as_array().unwrap();
    let rr = s
        .iter()
        .find(|x| x["session"] == "Node_10_0_0_100")
        .unwrap();
    assert_eq!(rr["bgpPeers"][0]["direction"], "forward");
    assert_eq!(rr["bgpPeers"][0]["thisNode"]["field"], "nodeSelector");
    assert_eq!(rr["bgpPeers"][0]["otherEnd"]["terms"][0]["matched"], true);
    assert_eq!(rr["neighborAS"]["source"], "defaultBGPConfiguration");
    assert_eq!(rr["localAS"]["source"], "node");
    assert_eq!(rr["passive"]["source"], "nodeSpecific");
    assert_eq!(rr["port"]["source"], "default");
    assert!(v["bgpPeers"].as_array().unwrap().is_empty());

    let (code, _, err) = explain(&["--node", "n1", "Node_10_9_9_9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("\"Node_10_9_9_9\" is neither a session of node \"n1\" nor a BGPPeer"),
        "{err}"
    );
    let (code, _, err) = explain(&["--node", "n1", "bgppeer/nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("BGPPeer \"nope\" does not exist"), "{err}");
    let (code, _, err) = explain(&["--node", "ghost"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("node \"ghost\" is not in the resources"),
        "{err}"
    );
}

#[test]
fn a_local_workload_session_names_its_workload_not_a_node() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "kind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.10/24}}\n---\n\
         kind: BGPPeer\nmetadata: {name: vr}\nspec: {localWorkloadSelector: app == 'vr', asNumber: 65010}\n",
    )
    .unwrap();
    let eps = dir.path().join("eps");
    std::fs::create_dir_all(&eps).unwrap();
    std::fs::write(
        eps.join("wep1"),
        r#"{"ifaceName":"cali1234","ipv4Nets":["192.168.1.5/32"],"bgpPeerName":"vr"}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .arg("explain")
        .arg("-r")
        .arg(dir.path().join("c.yaml"))
        .arg("--endpoint-status-dir")
        .arg(&eps)
        .args(["-n", "n1", "Local_Workload_192_168_1_5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "the peer is on its remote side: localWorkloadSelector app == 'vr' (asNumber 65010): workload wep1 at 192.168.1.5, matched by Felix (its endpoint-status file names this BGPPeer)"
        ),
        "{text}"
    );
    assert!(!text.contains("on -:"), "{text}");
}
