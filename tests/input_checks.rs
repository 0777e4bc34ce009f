//! Input Calico refuses is refused the same way by every perch command, and input Calico
//! accepts is accepted: labels written by `apply`, `patch` and `label`; JSON surrogate-pair
//! escapes; AS numbers written as floats; `peerIP` with spaces.

mod support;

use std::process::Command;

use support::commands::{fails, file, ok};
use support::etcd::Etcd;

const NODE: &str = "\
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
";

fn plan_json(dir: &std::path::Path) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(["plan", "-n", "n1", "-o", "json", "-r"])
        .arg(dir)
        .env("PERCH_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn warning<'a>(plan: &'a serde_json::Value, resource: &str) -> &'a str {
    plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["resource"] == resource)
        .and_then(|w| w["message"].as_str())
        .unwrap_or_else(|| panic!("no warning for {resource}: {}", plan["warnings"]))
}

#[test]
fn floats_as_as_numbers_and_spaces_in_peer_ips_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("node.yaml"), NODE).unwrap();
    std::fs::write(
        tmp.path().join("peers.yaml"),
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: exp}\n\
         spec: {peerIP: 10.0.0.2, asNumber: 1e5}\n---\n\
         kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: spaced}\n\
         spec: {peerIP: '  10.0.0.3', asNumber: 65001}\n---\n\
         kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: good}\n\
         spec: {peerIP: 10.0.0.4, asNumber: 65001}\n",
    )
    .unwrap();
    let (plan, _) = plan_json(tmp.path());
    assert!(
        warning(&plan, "BGPPeer/exp").contains("floating-point"),
        "{}",
        plan["warnings"]
    );
    assert!(
        warning(&plan, "BGPPeer/spaced").contains("is not an IP address"),
        "{}",
        plan["warnings"]
    );
    let peers: Vec<&str> = plan["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(peers, ["Global_10_0_0_4"], "only the good peer");
}

#[test]
fn a_json_surrogate_pair_escape_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("node.json"),
        r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"n1","annotations":{"crab":"\ud83e\udd80"}},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24"}}}"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("peer.yaml"),
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: good}\n\
         spec: {peerIP: 10.0.0.4, asNumber: 65001}\n",
    )
    .unwrap();
    let (plan, stderr) = plan_json(tmp.path());
    assert_eq!(plan["peers"].as_array().unwrap().len(), 1, "{stderr}");
    assert!(plan["warnings"].as_array().unwrap().is_empty(), "{plan}");
}

#[test]
fn labels_are_checked_the_same_by_apply_patch_and_label() {
    let etcd = Etcd::start();
    let tmp = tempfile::tempdir().unwrap();
    ok(
        &etcd,
        &["apply", "-f", file(&tmp, "n.yaml", NODE).to_str().unwrap()],
    );
    let bad_key = "kind: Node\napiVersion: projectcalico.org/v3\n\
                   metadata: {name: n2, labels: {'bad key!': x}}\nspec: {}\n";
    let bad_value = "kind: Node\napiVersion: projectcalico.org/v3\n\
                     metadata: {name: n3, labels: {rack: 'no spaces allowed'}}\nspec: {}\n";
    for (name, text, what) in [
        ("k.yaml", bad_key, "label key"),
        ("v.yaml", bad_value, "label value"),
    ] {
        let path = file(&tmp, name, text);
        for verb in ["apply", "create"] {
            let err = fails(&etcd, &[verb, "-f", path.to_str().unwrap()]);
            assert!(err.contains(what), "{verb} {name}: {err}");
        }
        let label_arg = if what == "label key" {
            "bad key!=x"
        } else {
            "rack=no spaces allowed"
        };
        let err = fails(&etcd, &["label", "nodes", "n1", label_arg]);
        assert!(err.contains(what), "label: {err}");
    }
    let err = fails(
        &etcd,
        &[
            "patch",
            "node",
            "n1",
            "-p",
            r#"{"metadata":{"labels":{"rack":"no spaces allowed"}}}"#,
        ],
    );
    assert!(err.contains("label value"), "patch: {err}");
    // Valid labels still go through every command.
    let fine = "kind: Node\napiVersion: projectcalico.org/v3\n\
                metadata: {name: n4, labels: {example.com/rack: r-1, rr: yes, empty: ''}}\nspec: {}\n";
    ok(
        &etcd,
        &["apply", "-f", file(&tmp, "f.yaml", fine).to_str().unwrap()],
    );
    ok(&etcd, &["label", "nodes", "n1", "example.com/rack=r-2"]);
}

fn peer(name: &str, ip: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\n\
         spec: {{peerIP: {ip}, asNumber: 65001}}\n"
    )
}

#[test]
fn duplicates_are_named_with_both_places_and_the_last_wins() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("node.yaml"), NODE).unwrap();
    std::fs::write(
        tmp.path().join("a.yaml"),
        format!(
            "{}---\n{}",
            peer("tor", "10.0.0.5"),
            peer("tor", "10.0.0.6")
        ),
    )
    .unwrap();
    std::fs::write(tmp.path().join("b.yaml"), peer("tor", "10.0.0.7")).unwrap();
    std::fs::write(
        tmp.path().join("c.yaml"),
        format!("{}---\n{}", peer("rr", "10.0.0.8"), peer("rr", "10.0.0.9")),
    )
    .unwrap();
    for _ in 0..3 {
        let (plan, _) = plan_json(tmp.path());
        let tor = warning(&plan, "BGPPeer/tor (duplicate)");
        for place in [
            "a.yaml document 1",
            "a.yaml document 2",
            "b.yaml document 1",
        ] {
            assert!(tor.contains(place), "{tor}");
        }
        let rr = warning(&plan, "BGPPeer/rr (duplicate)");
        assert!(
            rr.contains("c.yaml document 1") && rr.contains("c.yaml document 2"),
            "{rr}"
        );
        let mut peers: Vec<&str> = plan["peers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        peers.sort();
        assert_eq!(
            peers,
            ["Global_10_0_0_7", "Global_10_0_0_9"],
            "the last wins"
        );
    }
    let text = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(["plan", "-n", "n1", "-r"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("BGPPeer \"tor\" (duplicate): defined 3 times: "),
        "the name is quoted alone: {text}"
    );
}

#[test]
fn yaml_traps_get_errors_that_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("node.yaml"), NODE).unwrap();
    let mut text = String::from("kind: Deployment\napiVersion: apps/v1\nmetadata: {name: web}\n");
    for name in ["y", "no", "0123"] {
        text.push_str(&format!(
            "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\n\
             spec: {{peerIP: 10.0.0.2, asNumber: 65001}}\n"
        ));
    }
    std::fs::write(tmp.path().join("traps.yaml"), text).unwrap();
    let (plan, _) = plan_json(tmp.path());
    let warnings: Vec<String> = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("{}: {}", w["resource"], w["message"]))
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("Deployment/web")),
        "{warnings:?}"
    );
    for doc in 2..=4 {
        let place = format!("traps.yaml document {doc}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&place) && w.contains("quote it")),
            "{place}: {warnings:?}"
        );
    }
    assert!(plan["peers"].as_array().unwrap().is_empty());
}
