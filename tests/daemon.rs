//! `perch run` against a real BIRD 2 (in its own network namespace), with the file
//! datastore: changes reach BIRD, refused configs never replace the running one, BIRD
//! restarts are noticed and repaired, and an unchanged plan never touches BIRD.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::bird::{BirdNode, bird_node, wait_for};
use support::netns::Netns;
use support::perch::Perch;

const MINIMAL_BIRD: &str = "router id 10.99.0.1;\nprotocol device {}\n"; // what bird_node starts BIRD with

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.99.0.1/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.99.0.2/24}}
";

const TOR_PEER: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor}
spec: {peerIP: 10.99.0.254, asNumber: 65001}
";

type Setup = BirdNode;

fn setup() -> Setup {
    bird_node("pd", "10.99.0.1", CLUSTER)
}

fn result(s: &Value) -> &str {
    s["lastApply"]["result"].as_str().unwrap_or("")
}

fn start_perch(s: &Setup, extra: &[&str]) -> Perch {
    let p = Perch::start(&s.perch_args(extra), &[], s.dir.join("perch.log"));
    p.wait_status(
        Duration::from_secs(20),
        "the first apply accepted by BIRD",
        |st| st["ready"] == true,
    );
    p
}

fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_new_bgppeer_becomes_a_bird_protocol() {
    let s = setup();
    let perch = start_perch(&s, &[]);
    assert_eq!(
        s.bird.bgp_protocols(),
        Vec::<String>::new(),
        "no peers planned yet"
    );
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    wait_for(
        Duration::from_secs(10),
        "Global_10_99_0_254 in BIRD",
        || {
            s.bird
                .bgp_protocols()
                .contains(&"Global_10_99_0_254".to_string())
                .then_some(())
        },
    );
    let st = perch.wait_status(Duration::from_secs(5), "the peer in /status", |st| {
        st["peers"].as_array().is_some_and(|p| {
            p.iter()
                .any(|x| x["name"] == "Global_10_99_0_254" && x["inBird"] == true)
        })
    });
    assert_eq!(result(&st), "reconfigured");
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn a_config_bird_refuses_leaves_the_previous_one_running() {
    let s = setup();
    let templates = s.dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let builtin = include_str!("../templates/bird.cfg");
    std::fs::write(templates.join("bird.cfg"), builtin).unwrap();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let perch = start_perch(&s, &["--templates", templates.to_str().unwrap()]);
    wait_for(Duration::from_secs(10), "the ToR session in BIRD", || {
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string())
            .then_some(())
    });
    let running = std::fs::read(&s.bird.config).unwrap();

    // A template edit that renders something BIRD cannot parse.
    write(
        &templates.join("bird.cfg"),
        &format!("{builtin}\nthis is not bird config;\n"),
    );
    let st = perch.wait_status(Duration::from_secs(10), "the rejected apply", |st| {
        result(st) == "rejected"
    });
    let err = st["lastApply"]["error"].as_str().unwrap();
    assert!(err.contains("syntax error"), "the error says why: {err}");
    assert_eq!(
        std::fs::read(&s.bird.config).unwrap(),
        running,
        "the running file is untouched"
    );
    assert!(
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string()),
        "BIRD keeps running it"
    );
    assert_eq!(
        st["ready"], true,
        "still ready: the last good config is running"
    );

    // Fixing the template recovers.
    write(&templates.join("bird.cfg"), builtin);
    perch.wait_status(
        Duration::from_secs(10),
        "recovery after the template fix",
        |st| {
            matches!(result(st), "reconfigured" | "unchanged") && st["lastApply"]["error"].is_null()
        },
    );
}

#[test]
fn a_config_refused_at_configure_is_rolled_back() {
    let s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let templates = s.dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let builtin = include_str!("../templates/bird.cfg");
    std::fs::write(templates.join("bird.cfg"), builtin).unwrap();
    // `true` as the checker accepts anything, so only BIRD's own `configure` can refuse.
    let perch = start_perch(
        &s,
        &[
            "--templates",
            templates.to_str().unwrap(),
            "--check",
            "bird",
            "--bird",
            "true",
        ],
    );
    let good = std::fs::read(&s.bird.config).unwrap();
    write(
        &templates.join("bird.cfg"),
        &format!("{builtin}\nprotocol nonsense {{}}\n"),
    );
    let st = perch.wait_status(Duration::from_secs(10), "the refused configure", |st| {
        result(st) == "rejected"
    });
    let err = st["lastApply"]["error"].as_str().unwrap();
    assert!(
        err.contains("refused the new config at configure")
            && err.contains("previous config was restored"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&s.bird.config).unwrap(),
        good,
        "the previous file is back"
    );
    assert!(
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string())
    );
}

#[test]
fn bird_restart_is_noticed_and_the_config_reapplied() {
    let mut s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let perch = start_perch(&s, &[]);
    wait_for(Duration::from_secs(10), "the ToR session", || {
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string())
            .then_some(())
    });
    s.bird.kill();
    perch.wait_status(Duration::from_secs(10), "BIRD reported unreachable", |st| {
        st["bird"]["reachable"] == false
    });
    // BIRD comes back with a stale file (as if someone restored an old one).
    std::fs::write(&s.bird.config, MINIMAL_BIRD).unwrap();
    let _ = std::fs::remove_file(&s.bird.socket);
    let ns = Netns {
        name: s.ns.name.clone(),
    };
    s.bird.start(&ns);
    std::mem::forget(ns);
    wait_for(
        Duration::from_secs(10),
        "perch re-applying after the restart",
        || {
            s.bird
                .bgp_protocols()
                .contains(&"Global_10_99_0_254".to_string())
                .then_some(())
        },
    );
    let st = perch.wait_status(Duration::from_secs(5), "the re-apply reported", |st| {
        st["lastApply"]["trigger"]
            .as_str()
            .is_some_and(|t| t.contains("bird"))
            && result(st) == "reconfigured"
            && st["bird"]["reachable"] == true
    });
    assert!(st["bird"]["version"].is_string());
    assert!(
        perch.log_text().contains("bird is reachable again"),
        "the log reports it"
    );
}

#[test]
fn an_unchanged_plan_never_reconfigures_bird() {
    let s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let perch = start_perch(&s, &["--resync-interval", "300ms"]);
    let before = perch.status();
    let reconfigured_at = s.bird.last_reconfiguration();
    // A change to the resources that does not change this node's plan.
    let more = CLUSTER.replace("labels: {rack: r1}", "labels: {rack: r1, unused: x}");
    write(&s.dir.join("resources/cluster.yaml"), &more);
    let applies = before["applies"].as_u64().unwrap();
    let st = perch.wait_status(
        Duration::from_secs(10),
        "several more applies (change + resyncs)",
        |st| st["applies"].as_u64().unwrap() >= applies + 3,
    );
    assert_eq!(result(&st), "unchanged");
    assert_eq!(
        st["reconfigures"], before["reconfigures"],
        "perch never sent configure"
    );
    // BIRD prints the stamp by converting its monotonic time to real time at each
    // `show status`, so the millisecond can move between two replies; a reconfiguration moves
    // it by far more (the file watch alone waits 100 ms).
    let after = s.bird.last_reconfiguration();
    let moved = millis(&after) - millis(&reconfigured_at);
    assert!(
        moved.abs() <= 20,
        "BIRD was not reconfigured: {reconfigured_at:?} → {after:?}"
    );
}

/// Milliseconds since the epoch (local time) of a `Last reconfiguration on …` line.
fn millis(line: &str) -> i64 {
    let text = line.rsplit(" on ").next().unwrap_or_default();
    match perch::bird::parse::parse_bird_time(text.trim()) {
        Some(perch::bird::parse::BirdTime::DateTime(t)) => {
            t.to_unix_seconds(0) * 1000 + i64::from(t.time.micros / 1000)
        }
        other => panic!("not a date and time: {line:?} ({other:?})"),
    }
}

#[test]
fn bird_configured_behind_perchs_back_is_repaired() {
    let s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    // The default resync interval (60 s): the repair must not wait for it.
    let perch = start_perch(&s, &[]);
    wait_for(Duration::from_secs(10), "the ToR session", || {
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string())
            .then_some(())
    });
    let applies = perch.status()["applies"].as_u64().unwrap();
    // Someone points BIRD at a stub config: every session is gone, perch's file unchanged.
    let stub = s.dir.join("stub.conf");
    std::fs::write(&stub, MINIMAL_BIRD).unwrap();
    let reply = s
        .bird
        .birdc(&["configure", &format!("\"{}\"", stub.display())]);
    assert!(reply.contains("Reconfigur"), "{reply}");
    let st = perch.wait_status(Duration::from_secs(10), "the repair reported", |st| {
        st["lastApply"]["trigger"]
            .as_str()
            .is_some_and(|t| t.contains("drift"))
            && result(st) == "reconfigured"
    });
    assert!(
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string()),
        "the ToR session is back"
    );
    assert!(st["applies"].as_u64().unwrap() > applies);
    let log = perch.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("differ from the plan") && l.contains("Global_10_99_0_254")),
        "the log says why: {log}"
    );
}

#[test]
fn skipped_resources_are_logged_once_counted_and_listed() {
    let s = setup();
    write(
        &s.dir.join("resources/bad.yaml"),
        "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: bad}
spec: {peerIP: 999.1.1.1, asNumber: 65001}
",
    );
    let perch = start_perch(&s, &[]);
    let st = perch.wait_status(Duration::from_secs(10), "the skipped BGPPeer", |st| {
        st["datastore"]["skipped"]
            .as_array()
            .is_some_and(|a| a.iter().any(|w| w["resource"] == "BGPPeer/bad"))
    });
    let skipped = st["datastore"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("999.1.1.1")),
        "says why: {skipped:?}"
    );
    let (_, metrics) = support::perch::http_get(perch.port, "/metrics").unwrap();
    assert!(
        metrics.lines().any(|l| l == "perch_skipped_resources 1"),
        "{metrics}"
    );
    let (_, page) = support::perch::http_get(perch.port, "/").unwrap();
    assert!(
        page.contains("id=\"skipped\"") && page.contains("BGPPeer/bad"),
        "{page}"
    );
    // A later, unrelated change is applied; the skipped resource is not logged again.
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    wait_for(Duration::from_secs(10), "the ToR session", || {
        s.bird
            .bgp_protocols()
            .contains(&"Global_10_99_0_254".to_string())
            .then_some(())
    });
    let log = perch.log_text();
    let lines = log
        .lines()
        .filter(|l| l.contains("skipped") && l.contains("BGPPeer/bad"))
        .count();
    assert_eq!(lines, 1, "logged once when it appeared: {log}");
    // Fixed: it leaves the list and the gauge.
    std::fs::remove_file(s.dir.join("resources/bad.yaml")).unwrap();
    perch.wait_status(Duration::from_secs(10), "no skipped resources", |st| {
        st["datastore"]["skipped"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
}

#[test]
fn a_jittering_boot_stamp_is_not_a_restart() {
    let s = setup();
    // BIRD prints its boot stamp to the microsecond: it is computed from two clocks read at
    // different moments, so it moves between replies although BIRD never restarted.
    let templates = s.dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let builtin = include_str!("../templates/bird.cfg");
    std::fs::write(
        templates.join("bird.cfg"),
        format!("{builtin}\ntimeformat base iso long us;\n"),
    )
    .unwrap();
    let perch = start_perch(
        &s,
        &[
            "--templates",
            &templates.display().to_string(),
            "--status-interval",
            "200ms",
        ],
    );
    let reboot = || {
        s.bird
            .birdc(&["show", "status"])
            .lines()
            .find(|l| l.contains("Last reboot"))
            .unwrap_or("")
            .to_owned()
    };
    let queries = || -> u64 {
        let (_, m) = support::perch::http_get(perch.port, "/metrics").unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix("perch_bird_status_queries_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = perch.status();
    let first = reboot();
    let asked = queries();
    // The stamp does move on this machine (else the test would prove nothing); reading it
    // until it does, rather than once, since two reads can land on the same microsecond.
    wait_for(Duration::from_secs(20), "BIRD's boot stamp to move", || {
        (reboot() != first).then_some(())
    });
    wait_for(Duration::from_secs(20), "15 more views of BIRD", || {
        (queries() >= asked + 15).then_some(())
    });
    let st = perch.status();
    let log = perch.log_text();
    assert!(!log.contains("bird restarted"), "{log}");
    assert_eq!(
        st["reconfigures"], before["reconfigures"],
        "BIRD was not reconfigured"
    );
}
