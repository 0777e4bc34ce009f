//! The calicoctl-style resource commands, end to end through the real binary against a real
//! etcd: what is stored exactly, what is refused, and compare-and-swap on resourceVersion.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use support::commands::{Run, command, fails, file, ok};
use support::etcd::Etcd;

const ROOT: &str = "/calico/resources/v3/projectcalico.org";

const CLUSTER: &str = "\
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack1-tor
spec:
  peerIP: 10.0.0.1
  asNumber: '1.10'
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-1
  labels:
    rack: r1
spec:
  bgp:
    ipv4Address: 10.0.0.11/24
    asNumber: 65001
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.65.0.0/16
";

#[test]
fn resource_commands_store_what_calico_stores() {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let cluster = file(&dir, "cluster.yaml", CLUSTER);
    let cluster = cluster.to_str().unwrap();

    let out = ok(&etcd, &["apply", "-f", cluster]);
    for kind in ["BGPPeer", "Node", "IPPool"] {
        assert!(
            out.contains(&format!("Successfully applied 1 '{kind}' resource(s)")),
            "{out}"
        );
    }
    let peer_key = format!("{ROOT}/bgppeers/rack1-tor");
    let text = etcd.get(&peer_key).expect("the peer is stored");
    assert!(
        text.starts_with(r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"#),
        "kind and apiVersion lead, as Calico writes them: {text}"
    );
    let (stored, rev) = etcd.stored(&peer_key).unwrap();
    assert_eq!(
        stored["spec"]["asNumber"],
        json!(65546),
        "AS numbers are stored as JSON numbers"
    );
    assert!(
        stored["metadata"].get("resourceVersion").is_none(),
        "resourceVersion is never stored"
    );
    let uid = stored["metadata"]["uid"].as_str().expect("a uid on create");
    assert!(
        uid.len() == 36 && uid.as_bytes()[14] == b'4',
        "a v4 UUID: {uid}"
    );
    let created = stored["metadata"]["creationTimestamp"]
        .as_str()
        .expect("a creation time");
    assert!(
        created.len() == 20 && created.ends_with('Z'),
        "RFC 3339 UTC: {created}"
    );

    let yaml = ok(&etcd, &["get", "bgppeer", "rack1-tor", "-o", "yaml"]);
    assert!(
        yaml.contains(&format!("resourceVersion: '{rev}'")),
        "resourceVersion is the mod revision: {yaml}"
    );
    let table = ok(&etcd, &["get", "bgppeers"]);
    assert!(
        table.contains("rack1-tor") && table.contains("65546"),
        "{table}"
    );

    let plan = ok(&etcd, &["plan", "-n", "node-1"]);
    assert!(
        plan.contains("10.0.0.1") && plan.contains("65546"),
        "perch plan reads etcd: {plan}"
    );

    ok(&etcd, &["apply", "-f", cluster]);
    let (again, rev2) = etcd.stored(&peer_key).unwrap();
    assert!(rev2 > rev, "apply of an existing resource updates it");
    assert_eq!(
        again["metadata"]["uid"], stored["metadata"]["uid"],
        "an update keeps the uid"
    );
    assert_eq!(
        again["metadata"]["creationTimestamp"],
        stored["metadata"]["creationTimestamp"]
    );

    let err = fails(&etcd, &["create", "-f", cluster]);
    assert!(
        err.contains("BGPPeer \"rack1-tor\" already exists"),
        "{err}"
    );

    let listed = file(
        &dir,
        "list.yaml",
        &ok(&etcd, &["get", "nodes", "-o", "yaml"]),
    );
    assert!(
        std::fs::read_to_string(&listed)
            .unwrap()
            .contains("kind: NodeList")
    );
    let out = ok(&etcd, &["apply", "-f", listed.to_str().unwrap()]);
    assert!(
        out.contains("Successfully applied 1 'Node' resource(s)"),
        "a listed kind applies back: {out}"
    );

    let config_key = format!("{ROOT}/bgpconfigurations/default");
    assert!(etcd.get(&config_key).is_none());
    let out = ok(
        &etcd,
        &[
            "patch",
            "bgpconfiguration",
            "default",
            "-p",
            r#"{"spec":{"nodeToNodeMeshEnabled":false}}"#,
        ],
    );
    assert!(
        out.contains("created"),
        "patching an absent default creates it: {out}"
    );
    ok(
        &etcd,
        &[
            "patch",
            "bgpconfig",
            "default",
            "-p",
            r#"{"spec":{"asNumber":"65010"}}"#,
        ],
    );
    let (config, _) = etcd.stored(&config_key).unwrap();
    assert_eq!(
        config["spec"],
        json!({"nodeToNodeMeshEnabled": false, "asNumber": 65010}),
        "patches merge"
    );
    let err = fails(&etcd, &["patch", "bgppeer", "missing", "-p", "{}"]);
    assert!(err.contains("BGPPeer \"missing\" does not exist"), "{err}");

    let node_key = format!("{ROOT}/nodes/node-1");
    let labels = |etcd: &Etcd| etcd.stored(&node_key).unwrap().0["metadata"]["labels"].clone();
    let err = fails(&etcd, &["label", "nodes", "node-1", "rack=r2"]);
    assert!(
        err.contains("--overwrite"),
        "changing a label needs --overwrite: {err}"
    );
    assert_eq!(
        labels(&etcd),
        json!({"rack": "r1"}),
        "a refused label writes nothing"
    );
    ok(
        &etcd,
        &["label", "nodes", "node-1", "rack=r2", "--overwrite"],
    );
    ok(&etcd, &["label", "nodes", "node-1", "route-reflector=true"]);
    assert_eq!(
        labels(&etcd),
        json!({"rack": "r2", "route-reflector": "true"})
    );
    ok(&etcd, &["label", "nodes", "node-1", "rack-"]);
    assert_eq!(labels(&etcd), json!({"route-reflector": "true"}));
    let err = fails(&etcd, &["label", "nodes", "nobody", "a=b"]);
    assert!(err.contains("Node \"nobody\" does not exist"), "{err}");

    let out = ok(&etcd, &["delete", "bgppeer", "rack1-tor"]);
    assert!(
        out.contains("Successfully deleted 1 'BGPPeer' resource(s)"),
        "{out}"
    );
    assert!(etcd.get(&peer_key).is_none());
    let err = fails(&etcd, &["delete", "-f", cluster]);
    assert!(
        err.contains("BGPPeer \"rack1-tor\" does not exist"),
        "{err}"
    );
    ok(&etcd, &["delete", "-f", cluster, "--skip-not-exists"]);
    assert!(etcd.get(&node_key).is_none() && etcd.get(&format!("{ROOT}/ippools/pool-a")).is_none());

    let files = Run::from(
        Command::new(env!("CARGO_BIN_EXE_perch"))
            .args(["get", "nodes"])
            .env_remove("DATASTORE_TYPE")
            .output()
            .unwrap(),
    );
    assert!(
        !files.ok && files.stderr.contains("works on etcd only"),
        "{}",
        files.stderr
    );
}

#[test]
fn invalid_resources_are_refused_and_nothing_is_written() {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let mixed = file(
        &dir,
        "mixed.yaml",
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: good}\nspec: {peerIP: 10.0.0.1, asNumber: 65000}\n---\n\
         kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: bad}\nspec: {peerIP: not-an-ip, asNumber: 65000}\n",
    );
    let err = fails(&etcd, &["apply", "-f", mixed.to_str().unwrap()]);
    assert!(
        err.contains("BGPPeer \"bad\": ") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        etcd.etcdctl(&["get", "--prefix", "/calico/", "--keys-only"])
            .trim(),
        "",
        "no key was written"
    );

    // Through stdin too.
    let mut child = command(&etcd, &["create", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"kind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/33}\n").unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    assert!(
        !run.ok && run.stderr.contains("IPPool \"p\""),
        "{}",
        run.stderr
    );

    let good = file(
        &dir,
        "good.yaml",
        std::fs::read_to_string(&mixed)
            .unwrap()
            .split("---")
            .next()
            .unwrap(),
    );
    ok(&etcd, &["apply", "-f", good.to_str().unwrap()]);
    let key = format!("{ROOT}/bgppeers/good");
    let before = etcd.stored(&key).unwrap();
    let err = fails(
        &etcd,
        &[
            "patch",
            "bgppeer",
            "good",
            "-p",
            r#"{"spec":{"asNumber":0}}"#,
        ],
    );
    assert!(
        err.contains("BGPPeer \"good\""),
        "a patch making it invalid is refused: {err}"
    );
    let err = fails(&etcd, &["label", "bgppeer", "good", "bad key=x"]);
    assert!(err.contains("label key \"bad key\""), "{err}");
    assert_eq!(
        etcd.stored(&key).unwrap(),
        before,
        "refused edits write nothing"
    );
}

#[test]
fn a_stale_resource_version_is_a_conflict() {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let peer = |asn: u32| {
        format!(
            "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\nspec: {{peerIP: 10.0.0.1, asNumber: {asn}}}\n"
        )
    };
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&dir, "a.yaml", &peer(65001)).to_str().unwrap(),
        ],
    );
    let stale = file(
        &dir,
        "stale.yaml",
        &ok(&etcd, &["get", "bgppeer", "p", "-o", "yaml"]),
    );
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&dir, "b.yaml", &peer(65002)).to_str().unwrap(),
        ],
    );

    let edited = std::fs::read_to_string(&stale)
        .unwrap()
        .replace("65001", "65003");
    let err = fails(
        &etcd,
        &[
            "apply",
            "-f",
            file(&dir, "edited.yaml", &edited).to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("BGPPeer \"p\" was modified concurrently"),
        "{err}"
    );
    let key = format!("{ROOT}/bgppeers/p");
    assert_eq!(
        etcd.stored(&key).unwrap().0["spec"]["asNumber"],
        json!(65002),
        "the newer write survives"
    );
    let err = fails(&etcd, &["delete", "-f", stale.to_str().unwrap()]);
    assert!(
        err.contains("stale"),
        "a delete at a stale revision is refused: {err}"
    );
    assert!(etcd.get(&key).is_some());

    let current = file(
        &dir,
        "current.yaml",
        &ok(&etcd, &["get", "bgppeer", "p", "-o", "yaml"]),
    );
    let edited = std::fs::read_to_string(&current)
        .unwrap()
        .replace("65002", "65004");
    ok(
        &etcd,
        &[
            "apply",
            "-f",
            file(&dir, "fresh.yaml", &edited).to_str().unwrap(),
        ],
    );
    assert_eq!(
        etcd.stored(&key).unwrap().0["spec"]["asNumber"],
        json!(65004),
        "a current resourceVersion applies"
    );
}
