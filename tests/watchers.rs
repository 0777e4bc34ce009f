//! `perch run`'s file watchers (`--resources` directory, `--secrets-dir`, `--templates`)
//! against a real BIRD: one edit gives a bounded number of applies and then none. perch's
//! own reads of the watched files must never count as a change.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::bird::{Bird, require_bird, wait_for};
use support::netns::Netns;
use support::perch::Perch;

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.98.0.1/24}}
";

const TOR_PEER: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor}
spec:
  peerIP: 10.98.0.254
  asNumber: 65001
  password: {secretKeyRef: {name: bgp-secrets, key: tor}}
";

fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn counters(perch: &Perch) -> (u64, u64, usize) {
    let st = perch.status();
    let applies = st["applies"].as_u64().unwrap_or(0);
    let events = st["datastore"]["events"].as_u64().unwrap_or(0);
    let warnings = perch
        .log_text()
        .lines()
        .filter(|l| l.contains("broken.yaml"))
        .count();
    (applies, events, warnings)
}

/// Waits until the counters have not moved for `quiet` (by the clock, while polling them),
/// returning them; fails if they keep moving until `deadline`.
fn settled(perch: &Perch, quiet: Duration, deadline: Duration) -> (u64, u64, usize) {
    let mut last = counters(perch);
    let mut since = Instant::now();
    wait_for(
        deadline,
        "applies, datastore events and warnings to stop",
        || {
            let now = counters(perch);
            if now != last {
                last = now;
                since = Instant::now();
            }
            (since.elapsed() >= quiet).then_some(now)
        },
    )
}

#[test]
fn one_edit_gives_a_bounded_number_of_applies_and_then_none() {
    require_bird();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let resources = dir.join("resources");
    let secrets = dir.join("secrets");
    let templates = dir.join("templates");
    for d in [&resources, &secrets.join("bgp-secrets"), &templates] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(resources.join("cluster.yaml"), CLUSTER).unwrap();
    std::fs::write(resources.join("broken.yaml"), "kind: [\n").unwrap();
    std::fs::write(secrets.join("bgp-secrets/tor"), "s3cret\n").unwrap();
    std::fs::write(
        templates.join("bird.cfg"),
        include_str!("../templates/bird.cfg"),
    )
    .unwrap();
    let ns = Netns::new("pw");
    ns.add_loopback_address("10.98.0.1/32");
    let mut bird = Bird::paths(dir);
    std::fs::write(&bird.config, "router id 10.98.0.1;\nprotocol device {}\n").unwrap();
    bird.start(&ns);

    let args: Vec<String> = [
        "--resources",
        resources.to_str().unwrap(),
        "--secrets-dir",
        secrets.to_str().unwrap(),
        "--templates",
        templates.to_str().unwrap(),
        "--node",
        "n1",
        "--config",
        bird.config.to_str().unwrap(),
        "--bird-socket",
        bird.socket.to_str().unwrap(),
        "--bird-poll-interval",
        "200ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let perch = Perch::start(&args, &[], dir.join("perch.log"));
    perch.wait_status(Duration::from_secs(20), "ready", |st: &Value| {
        st["ready"] == true
    });
    let quiet = Duration::from_secs(2);
    let (applies0, events0, warnings0) = settled(&perch, quiet, Duration::from_secs(15));
    assert!(
        warnings0 <= 2,
        "the broken file was read once: its parse warning and its skipped-resource line, \
         {warnings0} lines\n{}",
        perch.log_text()
    );

    // One edit of each watched directory.
    write(&resources.join("tor.yaml"), TOR_PEER);
    wait_for(
        Duration::from_secs(10),
        "Global_10_98_0_254 in BIRD",
        || {
            bird.bgp_protocols()
                .contains(&"Global_10_98_0_254".to_string())
                .then_some(())
        },
    );
    write(&secrets.join("bgp-secrets/tor"), "n3w-s3cret\n");
    let mut edited = include_str!("../templates/bird.cfg").to_owned();
    edited.push_str("\n# edited\n");
    write(&templates.join("bird.cfg"), &edited);

    let (applies, events, warnings) = settled(&perch, quiet, Duration::from_secs(15));
    assert!(
        applies > applies0 && applies - applies0 <= 6,
        "three edits give a few applies, not a stream: {applies0} → {applies}"
    );
    assert!(
        events - events0 <= 20,
        "datastore events after three edits: {events0} → {events}"
    );
    assert!(
        warnings - warnings0 <= 2,
        "the broken file is warned about again only when re-read for a change: {warnings0} → {warnings}"
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

fn peer(name: &str, ip: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\n\
         spec: {{peerIP: {ip}, asNumber: 65001}}\n"
    )
}

/// `--resources` names a symlink to a directory, re-pointed as deploy tools release
/// (`ln -s r2 current.tmp; mv -T current.tmp current`): the new directory is read, and edits
/// inside it are followed afterwards.
#[test]
fn a_resources_symlink_repointed_to_another_directory_is_followed() {
    let s = support::bird::bird_node("pw", "10.98.0.1", CLUSTER);
    let releases = s.dir.join("releases");
    for (r, peers) in [
        ("r1", vec![("tor", "10.98.0.254")]),
        ("r2", vec![("tor2", "10.98.0.253")]),
    ] {
        std::fs::create_dir_all(releases.join(r)).unwrap();
        std::fs::write(releases.join(r).join("cluster.yaml"), CLUSTER).unwrap();
        for (name, ip) in peers {
            std::fs::write(
                releases.join(r).join(format!("{name}.yaml")),
                peer(name, ip),
            )
            .unwrap();
        }
    }
    let current = s.dir.join("current");
    std::os::unix::fs::symlink(releases.join("r1"), &current).unwrap();
    let mut args = s.perch_args(&[]);
    let at = args.iter().position(|a| a == "--resources").unwrap();
    args[at + 1] = current.display().to_string();
    let perch = Perch::start(&args, &[], s.dir.join("perch.log"));
    let in_bird = |name: &str| s.bird.bgp_protocols().iter().any(|p| p == name);
    wait_for(Duration::from_secs(15), "r1's ToR in BIRD", || {
        in_bird("Global_10_98_0_254").then_some(())
    });

    let tmp_link = s.dir.join("current.tmp");
    std::os::unix::fs::symlink(releases.join("r2"), &tmp_link).unwrap();
    std::fs::rename(&tmp_link, &current).unwrap();
    wait_for(
        Duration::from_secs(15),
        "r2's ToR in BIRD, r1's gone",
        || (in_bird("Global_10_98_0_253") && !in_bird("Global_10_98_0_254")).then_some(()),
    );

    // An edit inside the directory the link now points to.
    write(&releases.join("r2/tor3.yaml"), &peer("tor3", "10.98.0.252"));
    wait_for(Duration::from_secs(15), "an edit inside r2 in BIRD", || {
        in_bird("Global_10_98_0_252").then_some(())
    });
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}
