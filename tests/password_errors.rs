//! A password of the wrong type (`password: "…"` where Calico expects a `secretKeyRef`) is
//! refused without its value appearing anywhere: `perch plan` from files and from etcd,
//! `perch apply`, and `perch run`'s `/plan`.

mod support;

use std::process::Command;
use std::time::Duration;

use support::bird::wait_for;
use support::commands::{file, perch};
use support::etcd::Etcd;
use support::perch::{Perch, http_get};

const SECRET: &str = "PWD-wrong-type-73c1";

const NODE: &str = "\
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
";

fn yaml_peer() -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: tor}}\n\
         spec: {{peerIP: 10.0.0.254, asNumber: 65001, password: {SECRET}}}\n"
    )
}

fn json_peer(name: &str) -> String {
    format!(
        r#"{{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}"}},"spec":{{"peerIP":"10.0.0.253","asNumber":65001,"password":"{SECRET}"}}}}"#
    )
}

#[test]
fn files_yaml_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("node.yaml"), NODE).unwrap();
    std::fs::write(tmp.path().join("peer.yaml"), yaml_peer()).unwrap();
    std::fs::write(tmp.path().join("peer.json"), json_peer("tor-json")).unwrap();
    for output in ["json", "table"] {
        let out = Command::new(env!("CARGO_BIN_EXE_perch"))
            .args(["plan", "-n", "n1", "-o", output, "-r"])
            .arg(tmp.path())
            .env("PERCH_LOG", "debug")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        assert!(all.contains("tor"), "the refused peer is named: {all}");
        assert!(!all.contains(SECRET), "-o {output}: {all}");
    }
}

#[test]
fn etcd_apply_plan_and_run() {
    let etcd = Etcd::start();
    let tmp = tempfile::tempdir().unwrap();
    perch(
        &etcd,
        &[
            "apply",
            "-f",
            file(&tmp, "node.yaml", NODE).to_str().unwrap(),
        ],
    );
    // perch apply refuses it, without the value.
    for (name, text) in [("peer.yaml", yaml_peer()), ("peer.json", json_peer("tor"))] {
        let r = perch(
            &etcd,
            &["apply", "-f", file(&tmp, name, &text).to_str().unwrap()],
        );
        assert!(!r.ok, "{name} is refused");
        assert!(
            !r.stderr.contains(SECRET) && !r.stdout.contains(SECRET),
            "{name}: {}",
            r.stderr
        );
    }
    // Written by another client, it is skipped by every reader, without the value.
    etcd.put(
        "/calico/resources/v3/projectcalico.org/bgppeers/tor-etcd",
        &json_peer("tor-etcd"),
    );
    let r = perch(&etcd, &["plan", "-n", "n1", "-o", "json"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("tor-etcd"), "named: {}", r.stdout);
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));

    let args: Vec<String> = [
        "-n",
        "n1",
        "--config",
        tmp.path().join("bird.conf").to_str().unwrap(),
        "--bird-socket",
        tmp.path().join("no-bird.ctl").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = Perch::start(
        &args,
        &[
            ("DATASTORE_TYPE", "etcdv3"),
            ("ETCD_ENDPOINTS", &etcd.endpoint()),
            ("PERCH_LOG", "debug"),
        ],
        tmp.path().join("perch.log"),
    );
    let plan = wait_for(Duration::from_secs(20), "/plan naming tor-etcd", || {
        let (code, body) = http_get(run.port, "/plan")?;
        (code == 200 && body.contains("tor-etcd")).then_some(body)
    });
    assert!(!plan.contains(SECRET), "/plan: {plan}");
    let (_, status) = http_get(run.port, "/status").unwrap();
    assert!(!status.contains(SECRET), "/status: {status}");
    let (_, page) = http_get(run.port, "/").unwrap();
    assert!(!page.contains(SECRET), "page: {page}");
    assert!(run.stop());
    let log = std::fs::read_to_string(tmp.path().join("perch.log")).unwrap();
    assert!(!log.contains(SECRET), "log: {log}");
}
