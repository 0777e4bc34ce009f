//! `perch render-all` through the binary: a generated 1,000-node cluster (route reflectors,
//! per-rack top-of-rack peers with BGPFilters, blocks) is rendered and every config checked by
//! the real `bird -p`; a broken template fails exactly the nodes it breaks, each on one line.

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use support::bird::require_bird;

/// A cluster of `n` nodes: 3 route reflectors, the rest clients in 20 racks, each rack with a
/// top-of-rack BGPPeer that uses a BGPFilter; the mesh is off.
fn cluster(n: usize) -> String {
    let mut y = String::from(
        "kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: false}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: pods}
spec: {cidr: 10.128.0.0/9, ipipMode: Never, blockSize: 26}
---
kind: BGPFilter
apiVersion: projectcalico.org/v3
metadata: {name: tor-export}
spec:
  exportV4:
  - {action: Reject, matchOperator: In, cidr: 10.255.0.0/16}
  - {action: Accept, matchOperator: In, cidr: 10.128.0.0/9, prefixLength: {min: 26}}
  importV4:
  - {action: Accept, matchOperator: Equal, cidr: 0.0.0.0/0}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: rr-mesh}
spec: {nodeSelector: has(route-reflector), peerSelector: has(route-reflector)}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: rr-clients}
spec: {nodeSelector: '!has(route-reflector)', peerSelector: has(route-reflector)}
",
    );
    for rack in 0..20 {
        write!(
            y,
            "---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {{name: tor-rack-{rack}}}
spec: {{nodeSelector: rack == 'r{rack}', peerIP: '10.250.{rack}.1', asNumber: {}, filters: [tor-export], keepaliveTime: 10s}}
",
            65000 + rack
        )
        .unwrap();
    }
    for i in 0..n {
        let (ip, name) = (
            format!("10.1.{}.{}", i / 250, i % 250 + 1),
            format!("node-{i:04}"),
        );
        let extra = if i < 3 {
            "route-reflector: 'true'".to_owned()
        } else {
            format!("rack: r{}", i % 20)
        };
        let rr = if i < 3 {
            ", routeReflectorClusterID: 244.0.0.1"
        } else {
            ""
        };
        write!(
            y,
            "---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {{name: {name}, labels: {{{extra}}}}}
spec: {{bgp: {{ipv4Address: {ip}/16{rr}}}}}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {{name: {name}-block}}
spec: {{node: {name}, cidr: 10.{}.{}.0/26, state: confirmed}}
",
            128 + i / 256,
            i % 256
        )
        .unwrap();
    }
    y
}

fn perch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn render_all_checks_a_thousand_nodes_with_bird() {
    require_bird();
    let tmp = tempfile::tempdir().unwrap();
    let res = tmp.path().join("cluster.yaml");
    std::fs::write(&res, cluster(1000)).unwrap();
    let out_dir = tmp.path().join("out");
    let started = Instant::now();
    let (code, out, err) = perch(&[
        "render-all",
        "-r",
        s(&res),
        "--check",
        "--out",
        s(&out_dir),
        "--progress",
    ]);
    let elapsed = started.elapsed();
    println!("render-all --check of 1,000 nodes: {elapsed:?}\n{out}");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("rendered 1000 of 1000 nodes"), "{out}");
    assert!(out.contains("bird -p: 1000 OK, 0 refused"), "{out}");
    assert!(err.contains("checked 1000/1000 nodes"), "progress: {err}");
    assert!(
        !err.contains("WARN"),
        "the generated cluster is valid: {err}"
    );
    assert!(
        err.lines().filter(|l| l.starts_with("rendered ")).count() <= 40,
        "{err}"
    );
    for node in ["node-0000", "node-0500", "node-0999"] {
        let cfg = std::fs::read_to_string(out_dir.join(node).join("bird.cfg")).unwrap();
        assert!(cfg.contains(&format!("for node {node},")), "{node}");
    }
    let rr = std::fs::read_to_string(out_dir.join("node-0000/bird.cfg")).unwrap();
    assert_eq!(
        rr.matches("protocol bgp ").count(),
        999,
        "a reflector peers everyone"
    );
    let client = std::fs::read_to_string(out_dir.join("node-0500/bird.cfg")).unwrap();
    assert_eq!(
        client.matches("protocol bgp ").count(),
        4,
        "3 reflectors + the ToR"
    );
}

#[test]
fn render_all_reports_each_failing_node_on_one_line() {
    require_bird();
    let tmp = tempfile::tempdir().unwrap();
    let res = tmp.path().join("cluster.yaml");
    std::fs::write(&res, cluster(20)).unwrap();
    let templates = tmp.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let broken = format!(
        "{}{}",
        include_str!("../templates/bird.cfg"),
        "{% if view.node == \"node-0007\" %}\nprotocol bgp {% endif %}\n\
         {% if view.node == \"node-0011\" %}{{ view.no_such_value }}{% endif %}\n"
    );
    std::fs::write(templates.join("bird.cfg"), broken).unwrap();
    let (code, out, err) = perch(&[
        "render-all",
        "-r",
        s(&res),
        "--check",
        "--templates",
        s(&templates),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("node-0007: bird refused the config: node-0007/bird.cfg:"),
        "the staging directory is not shown: {out}"
    );
    assert!(lines[0].contains("syntax error"), "{out}");
    assert!(
        lines[1].starts_with("node-0011: cannot render: template bird.cfg"),
        "{out}"
    );
    assert!(out.contains("bird -p: 18 OK, 1 refused"), "{out}");
    assert!(out.contains("2 node(s) failed"), "{out}");
    assert!(
        !err.contains("checked"),
        "no progress unless asked or a terminal: {err}"
    );

    // Without --check nothing runs BIRD: only the render failure remains.
    let (code, out, _) = perch(&["render-all", "-r", s(&res), "--templates", s(&templates)]);
    assert_eq!(code, 1);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("node-")).count(),
        1,
        "{out}"
    );
}
