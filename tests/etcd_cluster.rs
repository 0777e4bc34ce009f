//! perch against a three-member etcd cluster, given every endpoint: the member listed first
//! is killed, then the leader, then the member perch is connected to is frozen (SIGSTOP).
//! During each failover a change is made with perch's own resource commands, and it reaches
//! BIRD through `perch run`; no event is lost. The same through `etcd grpc-proxy`.

mod support;

use std::process::Command;
use std::time::Duration;

use support::bird::{Bird, require_bird, wait_for};
use support::etcd_cluster::Cluster;
use support::netns::Netns;
use support::perch::{Perch, binary};

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
";

fn peer(name: &str, ip: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\n\
         spec: {{peerIP: {ip}, asNumber: 65001}}\n"
    )
}

/// Runs a perch resource command against `endpoints`; panics with its stderr on failure.
fn perch(endpoints: &str, args: &[&str]) -> String {
    let out = Command::new(binary())
        .args(args)
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", endpoints)
        .env("PERCH_LOG", "warn")
        .output()
        .expect("perch runs");
    assert!(
        out.status.success(),
        "perch {args:?} with {endpoints} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply(endpoints: &str, dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    perch(endpoints, &["apply", "-f", path.to_str().unwrap()]);
}

struct Node {
    _tmp: tempfile::TempDir,
    bird: Bird,
    _ns: Netns,
    perch: Perch,
}

impl Node {
    /// BIRD in a namespace and `perch run` for n1 reading `endpoints`.
    fn start(endpoints: &str) -> Node {
        require_bird();
        let tmp = tempfile::tempdir().unwrap();
        let ns = Netns::new("pc");
        ns.add_loopback_address("10.97.0.1/32");
        let mut bird = Bird::paths(tmp.path());
        std::fs::write(&bird.config, "router id 10.97.0.1;\nprotocol device {}\n").unwrap();
        bird.start(&ns);
        let args: Vec<String> = [
            "--node",
            "n1",
            "--config",
            bird.config.to_str().unwrap(),
            "--bird-socket",
            bird.socket.to_str().unwrap(),
            "--bird-poll-interval",
            "500ms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let perch = Perch::start(
            &args,
            &[
                ("DATASTORE_TYPE", "etcdv3"),
                ("ETCD_ENDPOINTS", endpoints),
                ("PERCH_LOG", "info,perch=debug"),
            ],
            tmp.path().join("perch.log"),
        );
        perch.wait_status(Duration::from_secs(20), "ready", |st| st["ready"] == true);
        Node {
            _tmp: tmp,
            bird,
            _ns: ns,
            perch,
        }
    }

    /// Waits until BIRD's BGP protocols are exactly `names`.
    fn wait_sessions(&self, names: &[&str], within: Duration, during: &str) {
        let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        want.sort();
        wait_for(
            within,
            &format!("BIRD sessions {want:?} ({during})"),
            || {
                let mut got = self.bird.bgp_protocols();
                got.sort();
                (got == want).then_some(())
            },
        );
    }
}

#[test]
fn perch_keeps_working_while_members_fail() {
    let mut cluster = Cluster::start(3);
    let all = cluster.endpoints().join(",");
    let tmp = tempfile::tempdir().unwrap();
    apply(&all, tmp.path(), "cluster", CLUSTER);
    let node = Node::start(&all);

    // 1. The member listed first dies.
    cluster.kill(0);
    assert!(perch(&all, &["get", "nodes"]).contains("n1"));
    apply(&all, tmp.path(), "a", &peer("tor-a", "10.97.0.11"));
    node.wait_sessions(
        &["Global_10_97_0_11"],
        Duration::from_secs(15),
        "first member down",
    );
    cluster.restart(0);

    // 2. The leader dies.
    let leader = cluster.leader();
    cluster.kill(leader);
    cluster.wait_leader();
    assert!(perch(&all, &["get", "nodes"]).contains("n1"));
    apply(&all, tmp.path(), "b", &peer("tor-b", "10.97.0.12"));
    node.wait_sessions(
        &["Global_10_97_0_11", "Global_10_97_0_12"],
        Duration::from_secs(15),
        "leader down",
    );
    cluster.restart(leader);

    // 3. The member perch's watch is on freezes: keep-alive notices, perch moves on.
    let used = wait_for(
        Duration::from_secs(10),
        "perch's connection to a member",
        || cluster.member_used_by(node.perch.pid()),
    );
    cluster.freeze(used);
    apply(&all, tmp.path(), "c", &peer("tor-c", "10.97.0.13"));
    perch(&all, &["delete", "bgppeer", "tor-a"]);
    assert!(perch(&all, &["get", "nodes"]).contains("n1"));
    node.wait_sessions(
        &["Global_10_97_0_12", "Global_10_97_0_13"],
        Duration::from_secs(30),
        "the watched member frozen",
    );
    let moved = cluster.member_used_by(node.perch.pid());
    assert_ne!(
        moved,
        Some(used),
        "perch left the frozen member\n{}",
        node.perch.log_text()
    );
    cluster.thaw(used);
    assert!(node.perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn perch_through_grpc_proxy_survives_member_failures() {
    let mut cluster = Cluster::start(3);
    let proxy = cluster.start_proxy();
    let tmp = tempfile::tempdir().unwrap();
    apply(&proxy, tmp.path(), "cluster", CLUSTER);
    let node = Node::start(&proxy);

    cluster.kill(0);
    apply(&proxy, tmp.path(), "a", &peer("tor-a", "10.97.0.11"));
    assert!(perch(&proxy, &["get", "nodes"]).contains("n1"));
    node.wait_sessions(
        &["Global_10_97_0_11"],
        Duration::from_secs(15),
        "first member down, through the proxy",
    );
    cluster.restart(0);

    let leader = cluster.leader();
    cluster.kill(leader);
    cluster.wait_leader();
    apply(&proxy, tmp.path(), "b", &peer("tor-b", "10.97.0.12"));
    perch(&proxy, &["delete", "bgppeer", "tor-a"]);
    node.wait_sessions(
        &["Global_10_97_0_12"],
        Duration::from_secs(15),
        "leader down, through the proxy",
    );
    assert!(node.perch.stop(), "perch exits cleanly on SIGTERM");
}
