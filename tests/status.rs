//! Peering status with real sessions: two BIRDs in network namespaces on one bridge with an
//! Established mesh session (MD5 password), a third planned peer that is down. `/status`,
//! `/metrics`, `perch status` and the HTML page (in headless Chromium) report the right
//! states, counts and errors; drift appears when a session is disabled by hand; BIRD is
//! queried at most once per interval under load; the password never leaks.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::pair::{Pair, perch_cli};
use support::perch::{Perch, http_get};
use support::yaml::{default_config, documents, nodes};

const PASSWORD: &str = "s3cr3t-planted-pw";

/// Three nodes (n3 has no BIRD) with a mesh password, a pool, and a block each for n1, n2.
fn cluster() -> String {
    documents([
        default_config(
            "{asNumber: 64512, nodeMeshPassword: {secretKeyRef: {name: bgp, key: mesh}}}",
        ),
        nodes(3),
        REST.into(),
    ])
}

const REST: &str = "\
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16, ipipMode: Never}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n1-block}
spec: {node: n1, cidr: 10.244.1.0/26, state: confirmed}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n2-block}
spec: {node: n2, cidr: 10.244.2.0/26, state: confirmed}
";

fn peer<'a>(st: &'a Value, name: &str) -> &'a Value {
    st["peers"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

fn chromium_dom(url: &str, profile: &Path) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium is not installed ({e}): run the project's test script (.ci/run) which installs it")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_endpoints_report_real_sessions() {
    let pair = Pair::start(&cluster(), &[("bgp", "mesh", PASSWORD)]);
    let dir = pair.dir();
    let (res, secrets) = (&pair.resources, &pair.secrets);
    let b1 = &pair.b1;
    let args = pair.run_args(&["--log", "debug"]);
    let perch = Perch::start(&args, &[], dir.join("perch.log"));

    // The mesh session to n2 comes up and carries n2's block; n3 has no BIRD.
    let st = perch.wait_status(
        Duration::from_secs(30),
        "Mesh_10_99_0_2 Established with routes",
        |st| {
            let p = peer(st, "Mesh_10_99_0_2");
            p["established"] == true && p["routes"]["imported"].as_u64().unwrap_or(0) >= 1
        },
    );
    let up = peer(&st, "Mesh_10_99_0_2");
    assert_eq!(up["bgpState"], "Established");
    assert_eq!(up["type"], "NodeMesh");
    assert_eq!(up["routes"]["exported"], 1, "n1 exports its one block");
    assert!(
        up["since"].as_str().unwrap().ends_with('Z'),
        "since is RFC 3339: {}",
        up["since"]
    );
    let down = peer(&st, "Mesh_10_99_0_3");
    assert_eq!(down["established"], false);
    assert_ne!(down["bgpState"], "Established");
    assert_eq!(st["summary"]["planned"], 2);
    assert_eq!(st["summary"]["established"], 1);
    assert_eq!(st["bird"]["reachable"], true);
    assert!(
        st["drift"]["missingFromBird"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(st["lastApply"]["result"], "reconfigured");

    // /metrics: bird_exporter-style series and perch's own.
    let (code, metrics) = http_get(perch.port, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        metrics.lines().any(
            |l| l.starts_with("bird_protocol_up{name=\"Mesh_10_99_0_2\"")
                && l.contains("state=\"Established\"")
                && l.ends_with(" 1")
        ),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(
            |l| l.starts_with("bird_protocol_up{name=\"Mesh_10_99_0_3\"") && l.ends_with(" 0")
        )
    );
    assert!(metrics.lines().any(|l| {
        l.starts_with("bird_protocol_prefix_import_count{name=\"Mesh_10_99_0_2\"")
            && l.ends_with(" 1")
    }));
    assert!(metrics.contains("perch_peers{type=\"NodeMesh\",state=\"Established\"} 1"));
    assert!(metrics.contains("perch_apply_total{result=\"reconfigured\"}"));

    // `perch status`, like calicoctl node status.
    let (ok, out, err) = perch_cli(&["status", "--bird-socket", b1.socket.to_str().unwrap()]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.contains("10.99.0.2"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("node-to-node mesh") && line.contains("up") && line.contains("Established"),
        "{line}"
    );
    let line3 = out.lines().find(|l| l.contains("10.99.0.3")).unwrap();
    assert!(!line3.contains("Established"), "{line3}");
    let (ok, json, _) = perch_cli(&[
        "status",
        "--bird-socket",
        b1.socket.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert!(ok);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["ipv4"].as_array().unwrap().len(), 2);

    // The page, rendered by a real browser.
    let dom = chromium_dom(
        &format!("http://127.0.0.1:{}/", perch.port),
        &dir.join("chromium"),
    );
    assert!(dom.contains("<table id=\"peers\""), "{dom}");
    assert!(
        dom.contains("Mesh_10_99_0_2")
            && dom.contains("Established")
            && dom.contains("Mesh_10_99_0_3"),
        "{dom}"
    );

    // Load: 10,000 /status requests, all answered; BIRD asked at most once per second.
    let queries = |m: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("perch_bird_status_queries_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = queries(&http_get(perch.port, "/metrics").unwrap().1);
    let started = Instant::now();
    let port = perch.port;
    let answered: usize = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..1250)
                    .filter(|_| http_get(port, "/status").is_some_and(|(c, _)| c == 200))
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    let elapsed = started.elapsed();
    let after = queries(&http_get(perch.port, "/metrics").unwrap().1);
    println!(
        "10,000 /status requests in {elapsed:?}; BIRD queried {} times",
        after - before
    );
    assert_eq!(answered, 10_000, "every request answered");
    let allowed = elapsed.as_secs() + 2;
    assert!(
        after - before <= allowed,
        "BIRD was queried {} times in {elapsed:?}",
        after - before
    );

    // Drift: a session disabled by hand in BIRD.
    b1.birdc(&["disable", "Mesh_10_99_0_2"]);
    let st = perch.wait_status(Duration::from_secs(10), "drift reported", |st| {
        st["drift"]["downInBird"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "Mesh_10_99_0_2"))
    });
    assert_eq!(peer(&st, "Mesh_10_99_0_2")["established"], false);
    let (_, metrics) = http_get(perch.port, "/metrics").unwrap();
    assert!(
        metrics.contains("perch_drift{kind=\"down_in_bird\"} 1"),
        "{metrics}"
    );

    // The password never leaves the BIRD config.
    let mut seen = Vec::new();
    for path in ["/status", "/plan", "/metrics", "/"] {
        if http_get(perch.port, path).unwrap().1.contains(PASSWORD) {
            seen.push(path.to_string());
        }
    }
    let (_, plan_json, plan_err) = perch_cli(&[
        "plan",
        "-r",
        res.to_str().unwrap(),
        "-n",
        "n1",
        "--secrets-dir",
        secrets.to_str().unwrap(),
        "-o",
        "json",
        "--explain",
    ]);
    assert!(plan_json.contains("\"hasPassword\": true"), "{plan_json}");
    for (what, text) in [
        ("perch plan", plan_json + &plan_err),
        ("perch status -o json", json),
    ] {
        if text.contains(PASSWORD) {
            seen.push(what.into());
        }
    }
    drop(perch);
    let log = std::fs::read_to_string(dir.join("perch.log")).unwrap();
    assert!(log.lines().count() > 10, "debug logging was on");
    if log.contains(PASSWORD) {
        seen.push("perch's debug log".into());
    }
    assert!(
        seen.is_empty(),
        "the planted password appeared in: {seen:?}"
    );
    assert!(
        std::fs::read_to_string(&b1.config)
            .unwrap()
            .contains(PASSWORD),
        "it is in BIRD's config, where it belongs"
    );
}
