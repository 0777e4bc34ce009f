//! Route verification when things go wrong around it, through `perch run` against a real
//! BIRD 2 in its own network namespace: BIRD gone, and no pool to check.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::bird::{BirdNode, bird_node, wait_for};
use support::perch::{Perch, http_get};

/// One node owning one block of one pool: its check expects the block's blackhole.
const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.97.0.1/24}}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n1-1}
spec: {node: n1, cidr: 10.244.1.0/26, state: confirmed}
";

fn start(s: &BirdNode) -> Perch {
    let args: Vec<String> = [
        "--resources",
        &s.dir.join("resources").display().to_string(),
        "--node",
        "n1",
        "--config",
        &s.bird.config.display().to_string(),
        "--bird-socket",
        &s.bird.socket.display().to_string(),
        "--bird-poll-interval",
        "200ms",
        "--status-interval",
        "1s",
        "--readiness",
        "routes",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    Perch::start_in(Some(&s.ns.name), &args, &[], s.dir.join("perch.log"))
}

fn readyz(port: u16) -> Option<(u16, String)> {
    http_get(port, "/readyz")
}

fn routes(port: u16) -> Option<(u16, Value)> {
    let (code, body) = http_get(port, "/routes")?;
    Some((code, serde_json::from_str(&body).ok()?))
}

#[test]
fn readiness_routes_is_not_ready_while_bird_is_gone() {
    let mut s = bird_node("rf", "10.97.0.1", CLUSTER);
    let perch = start(&s);
    wait_for(
        Duration::from_secs(20),
        "ready: the block's blackhole is in BIRD",
        || readyz(perch.port).filter(|(code, _)| *code == 200),
    );
    let (_, before) = routes(perch.port).unwrap();
    assert_eq!(before["counts"]["ok"], 1, "{before}");

    s.bird.kill();
    // Nothing is known to be routed while BIRD does not answer: not ready, and /routes says
    // why rather than serving the last check as current.
    let (_, why) = wait_for(
        Duration::from_secs(10),
        "not ready once BIRD is gone",
        || readyz(perch.port).filter(|(code, _)| *code == 503),
    );
    assert!(why.contains("BIRD"), "the reason names BIRD: {why}");
    let (_, after) = wait_for(Duration::from_secs(10), "/routes carries the error", || {
        routes(perch.port).filter(|(_, v)| v["error"].is_string())
    });
    assert!(after["error"].as_str().unwrap().contains("BIRD"), "{after}");

    // BIRD back: a fresh check clears the error and readiness returns.
    s.bird.start(&s.ns);
    wait_for(
        Duration::from_secs(20),
        "ready again with BIRD back",
        || readyz(perch.port).filter(|(code, _)| *code == 200),
    );
    let (_, back) = routes(perch.port).unwrap();
    assert_eq!(back["error"], Value::Null, "{back}");
    assert_eq!(back["counts"]["ok"], 1, "{back}");
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn with_no_pool_nothing_is_missing_and_readiness_routes_is_ready() {
    // No IPPool yet (a cluster being set up, or perch peering only with a ToR): nothing is
    // expected, so nothing is missing.
    let cluster = CLUSTER.split("---\nkind: IPPool").next().unwrap();
    let s = bird_node("rn", "10.97.0.1", cluster);
    let perch = start(&s);
    let (_, body) = wait_for(Duration::from_secs(20), "ready without pools", || {
        readyz(perch.port).filter(|(code, _)| *code == 200)
    });
    assert_eq!(body, "ready\n");
    let (code, v) = routes(perch.port).unwrap();
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["routes"], serde_json::json!([]), "{v}");
    assert_eq!(v["counts"]["missingInBird"], 0, "{v}");
    let status = perch.status();
    assert_eq!(status["routes"]["ok"], 0, "{status}");
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}
