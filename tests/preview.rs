//! `perch preview` through the binary: what each kind of change reports, the JSON shape, exit
//! codes (2 when a node would be isolated, 0 with --allow-isolation, 1 for a bad change), and
//! that passwords never appear.

mod support;

use std::process::Command;

use serde_json::Value;
use support::yaml::{bgp_peer as peer, default_config};

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {asNumber: 64512, nodeMeshPassword: {secretKeyRef: {name: bgp, key: mesh}}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n2, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n3, labels: {rack: r2}}
spec: {bgp: {ipv4Address: 10.0.0.3/24}}
---
kind: BGPFilter
apiVersion: projectcalico.org/v3
metadata: {name: tor-out}
spec: {exportV4: [{action: Reject, matchOperator: In, cidr: 10.9.0.0/16}]}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor}
spec: {nodeSelector: rack == 'r1', peerIP: 10.0.0.254, asNumber: 65001, filters: [tor-out]}
";

const MESH_PW: &str = "mesh-pw-planted-1";

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cluster.yaml"), CLUSTER).unwrap();
        std::fs::create_dir_all(dir.path().join("secrets/bgp")).unwrap();
        std::fs::write(dir.path().join("secrets/bgp/mesh"), MESH_PW).unwrap();
        std::fs::write(dir.path().join("secrets/bgp/other"), "other-pw-planted-2").unwrap();
        Env { dir }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }

    fn preview(&self, extra: &[&str]) -> (i32, String, String) {
        let p = |s: &str| self.dir.path().join(s).to_str().unwrap().to_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_perch"))
            .args([
                "preview",
                "-r",
                &p("cluster.yaml"),
                "--secrets-dir",
                &p("secrets"),
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn preview_reports_added_removed_reset_and_reloaded_sessions() {
    let env = Env::new();
    let change = env.file(
        "change.yaml",
        &format!(
            "{}---\n{}---\n{}",
            peer("tor", "{nodeSelector: rack == 'r1', peerIP: 10.0.0.254, asNumber: 65002, filters: [tor-out]}"),
            "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: tor-out}\nspec: {exportV4: [{action: Reject, matchOperator: In, cidr: 10.8.0.0/16}]}\n",
            peer("tor-r2", "{nodeSelector: rack == 'r2', peerIP: 10.0.0.253, asNumber: 65003, filters: [tor-out]}"),
        ),
    );
    let (code, out, err) = env.preview(&["-f", &change]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("change: upsert BGPPeer/tor ("), "{out}");
    let block = |node: &str| -> String {
        out.split("\n\n")
            .find(|b| b.starts_with(&format!("{node} (")))
            .unwrap_or_else(|| panic!("no block for {node}: {out}"))
            .to_owned()
    };
    let n1 = block("n1");
    assert!(
        n1.contains("reset     Node_10_0_0_254: neighbor AS 65001 → 65002"),
        "the AS change restarts the session: {n1}"
    );
    assert!(!n1.contains("reloaded"), "a restart hides the reload: {n1}");
    let n3 = block("n3");
    assert!(
        n3.contains("added     Node_10_0_0_253 (BGPPeer/tor-r2)"),
        "{n3}"
    );
    assert!(
        out.contains(
            "summary: 3 of 3 nodes touched; sessions: 1 added, 0 removed, 2 reset, 0 reloaded"
        ),
        "{out}"
    );

    // A filter-only change reloads and resets nothing.
    let filter = env.file(
        "filter.yaml",
        "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: tor-out}\nspec: {exportV4: [{action: Reject, matchOperator: In, cidr: 10.8.0.0/16}]}\n",
    );
    let (code, out, _) = env.preview(&["-f", &filter]);
    assert_eq!(code, 0);
    assert!(
        out.contains("reloaded  Node_10_0_0_254: export filter: BGPFilter tor-out rules changed"),
        "{out}"
    );
    assert!(out.contains("0 reset, 2 reloaded"), "{out}");
}

#[test]
fn preview_json_has_the_documented_shape() {
    let env = Env::new();
    let change = env.file("c.yaml", &default_config("{asNumber: 64512, nodeMeshMaxRestartTime: 90s, nodeMeshPassword: {secretKeyRef: {name: bgp, key: mesh}}}"));
    let (code, out, err) = env.preview(&["-f", &change, "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["change"][0]["action"], "upsert");
    assert_eq!(v["change"][0]["resource"], "BGPConfiguration/default");
    let s = &v["summary"];
    for key in [
        "nodesBefore",
        "nodesAfter",
        "nodesTouched",
        "nodesAdded",
        "nodesRemoved",
        "sessionsAdded",
        "sessionsRemoved",
        "sessionsReset",
        "sessionsReloaded",
        "isolatedNodes",
        "lostRouteReflectors",
        "newWarnings",
    ] {
        assert!(s.get(key).is_some(), "summary.{key} missing: {s}");
    }
    assert_eq!(s["sessionsReset"], 6, "every mesh session restarts");
    let n = &v["nodes"][0];
    for key in [
        "node",
        "nodeChange",
        "sessionsBefore",
        "sessionsAfter",
        "added",
        "removed",
        "reset",
        "reloaded",
        "isolated",
        "lostRouteReflectors",
    ] {
        assert!(n.get(key).is_some(), "nodes[].{key} missing: {n}");
    }
    let c = &n["reset"][0]["changes"][0];
    assert_eq!(c["option"], "gracefulRestartTime");
    assert_eq!(c["effect"], "restart");
    assert_eq!(
        (c["before"].clone(), c["after"].clone()),
        (Value::Null, Value::from("90"))
    );
}

#[test]
fn isolating_change_exits_2_unless_allowed() {
    let env = Env::new();
    let off = env.file(
        "off.yaml",
        &default_config("{asNumber: 64512, nodeToNodeMeshEnabled: false}"),
    );
    let (code, out, err) = env.preview(&["-f", &off]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("left with no peers: n3 (had Mesh_10_0_0_1, Mesh_10_0_0_2)"),
        "{out}"
    );
    assert!(
        err.contains("would leave 1 node(s) with no BGP peers: n3"),
        "{err}"
    );
    assert!(err.contains("--allow-isolation"), "{err}");
    let (code, out, _) = env.preview(&["-f", &off, "--allow-isolation", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["isolatedNodes"][0]["node"], "n3");

    // --delete -f: the mesh still connects everyone.
    let del = env.file("del.yaml", "kind: BGPPeer\nmetadata: {name: tor}\n");
    let (code, out, _) = env.preview(&["--delete", "-f", &del]);
    assert_eq!(code, 0, "the mesh still connects everyone: {out}");
    assert!(
        out.contains("removed   Node_10_0_0_254 (BGPPeer/tor)"),
        "{out}"
    );
}

#[test]
fn several_files_apply_in_order() {
    let env = Env::new();
    let a = env.file(
        "a.yaml",
        &peer("x", "{node: n3, peerIP: 10.0.0.250, asNumber: 65010}"),
    );
    let b = env.file(
        "b.yaml",
        &peer("x", "{node: n3, peerIP: 10.0.0.250, asNumber: 65011}"),
    );
    let (code, out, _) = env.preview(&["-f", &a, "-f", &b]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("change: ")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].ends_with("a.yaml)") && lines[1].ends_with("b.yaml)"),
        "{out}"
    );
    assert!(
        out.contains("added     Node_10_0_0_250 (BGPPeer/x)"),
        "{out}"
    );
    let (code, _, err) = env.preview(&["-f", &a, "-f", "-"]);
    assert_eq!(code, 1, "stdin is empty here: {err}");
}

#[test]
fn invalid_changes_exit_1_naming_the_resource() {
    let env = Env::new();
    let bad = env.file(
        "bad.yaml",
        &peer("broken", "{peerIP: 10.0.0.300, asNumber: 65001}"),
    );
    let (code, out, err) = env.preview(&["-f", &bad]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("bad.yaml") && err.contains("BGPPeer \"broken\""),
        "{err}"
    );
    let bad_as = env.file("as.yaml", &peer("zero", "{peerIP: 10.0.0.9, asNumber: 0}"));
    let (code, _, err) = env.preview(&["-f", &bad_as]);
    assert_eq!(code, 1);
    assert!(err.contains("BGPPeer \"zero\": spec.asNumber"), "{err}");
    let missing = env.file("gone.yaml", "kind: BGPPeer\nmetadata: {name: nope}\n");
    let (code, _, err) = env.preview(&["--delete", "-f", &missing]);
    assert_eq!(code, 1);
    assert!(err.contains("BGPPeer \"nope\": does not exist"), "{err}");
    let (code, _, err) = env.preview(&["-f", "/nonexistent/change.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/change.yaml"), "{err}");
}

#[test]
fn password_changes_are_named_never_shown() {
    let env = Env::new();
    let change = env.file(
        "pw.yaml",
        &default_config(
            "{asNumber: 64512, nodeMeshPassword: {secretKeyRef: {name: bgp, key: other}}}",
        ),
    );
    for output in ["text", "json"] {
        let (code, out, err) = env.preview(&["-f", &change, "-o", output]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("password changed"), "{out}");
        for pw in [MESH_PW, "other-pw-planted-2"] {
            assert!(
                !out.contains(pw) && !err.contains(pw),
                "{output} shows a password"
            );
        }
    }
}

#[test]
fn help_teaches() {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(["preview", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--allow-isolation"),
        "{text}"
    );
    assert!(
        text.contains("reloaded") && text.contains("Exit codes"),
        "{text}"
    );
}

#[test]
fn a_merge_patch_previews_like_the_patched_resource() {
    let env = Env::new();
    let (code, out, err) = env.preview(&[
        "--patch",
        "bgpconfiguration",
        "default",
        "-p",
        // Calico refuses a mesh password with the mesh off: the patch removes it too.
        r#"{"spec":{"nodeToNodeMeshEnabled":false,"nodeMeshPassword":null}}"#,
        "-o",
        "json",
        "--allow-isolation",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["change"][0]["resource"], "BGPConfiguration/default");
    assert_eq!(
        v["summary"]["sessionsRemoved"], 6,
        "every mesh session goes: {out}"
    );
    // The fields the patch does not touch stay: the AS is unchanged, so nothing is reset.
    assert_eq!(v["summary"]["sessionsReset"], 0);
    let (code, _, err) = env.preview(&["--patch", "bgppeer", "nope", "-p", "{}"]);
    assert_eq!(code, 1);
    assert!(err.contains("BGPPeer/nope does not exist"), "{err}");
    let (code, _, err) = env.preview(&[
        "--patch",
        "bgppeer",
        "tor",
        "-p",
        r#"{"spec":{"asNumber":0}}"#,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("BGPPeer \"tor\""),
        "the bad change is named: {err}"
    );
}
