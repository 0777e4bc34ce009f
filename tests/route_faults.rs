//! Route verification when things go wrong around it, through `perch run` against a real
//! BIRD 2 in its own network namespace: BIRD gone, no pool to check, a deleted node's leftover
//! affinity.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::bird::{BirdNode, bird_node, wait_for};
use support::perch::{Perch, http_get, metric};

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
    let args = s.perch_args(&["--status-interval", "1s", "--readiness", "routes"]);
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
    // Alerts on `perch_routes` would see stale counts: a gauge says the check is failing.
    assert_eq!(metric(perch.port, "perch_route_check_failed"), Some(1.0));

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
    assert_eq!(metric(perch.port, "perch_route_check_failed"), Some(0.0));
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
    // Ready with nothing checked: /routes and /status say so, and why.
    let note = v["note"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(
        note.starts_with("nothing checked: there is no IP pool"),
        "{note}"
    );
    let status = perch.status();
    assert_eq!(status["routes"]["ok"], 0, "{status}");
    assert_eq!(status["routes"]["note"], note, "{status}");
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn a_deleted_node_s_leftover_affinity_is_ignored_not_missing() {
    // Node `gone` was deleted; its block affinity waits for Calico's IPAM garbage collection.
    // No BIRD advertises the block and no session could bring it (Calico routes it neither):
    // this node stays ready, and the block is listed as ignored with why.
    let cluster = format!(
        "{CLUSTER}---\nkind: BlockAffinity\napiVersion: projectcalico.org/v3\n\
         metadata: {{name: gone-1}}\nspec: {{node: gone, cidr: 10.244.3.0/26, state: confirmed}}\n"
    );
    let s = bird_node("rg", "10.97.0.1", &cluster);
    let perch = start(&s);
    wait_for(
        Duration::from_secs(20),
        "ready beside the leftover affinity",
        || readyz(perch.port).filter(|(code, _)| *code == 200),
    );
    let (_, v) = routes(perch.port).unwrap();
    assert_eq!(v["counts"]["ok"], 1, "{v}");
    assert_eq!(v["counts"]["missingInBird"], 0, "{v}");
    let prefixes: Vec<&str> = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes, ["10.244.1.0/26"], "{v}");
    assert_eq!(v["ignored"][0]["prefix"], "10.244.3.0/26", "{v}");
    assert_eq!(v["ignored"][0]["owner"], "gone", "{v}");
    let reason = v["ignored"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("node gone is not in the datastore"),
        "{reason}"
    );
    assert_eq!(perch.status()["routes"]["ignored"], 1);

    // `perch routes` lists it under the table.
    let out = std::process::Command::new(support::perch::binary())
        .args(["routes", "-n", "n1", "--no-kernel", "-r"])
        .arg(s.dir.join("resources"))
        .arg("--bird-socket")
        .arg(&s.bird.socket)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(
        table.contains("ignored (1): no route expected\n  10.244.3.0/26 of gone: node gone is not in the datastore"),
        "{table}"
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

/// [`CLUSTER`] plus a second node whose session never comes up, a pending block, a block of
/// a node that is not in the datastore.
const WIDER: &str = "\
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.97.0.2/24}}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n2-1}
spec: {node: n2, cidr: 10.244.2.0/26, state: confirmed}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n2-pending}
spec: {node: n2, cidr: 10.244.4.0/26, state: pending}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: gone-1}
spec: {node: gone, cidr: 10.244.3.0/26, state: confirmed}
";

/// `perch explain -n n1 route QUERY` in the node's namespace, against its BIRD.
fn explain_route(s: &BirdNode, query: &str, json: bool) -> String {
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", &s.ns.name])
        .arg(support::perch::binary())
        .args(["explain", "-n", "n1", "-r"])
        .arg(s.dir.join("resources"))
        .arg("--bird-socket")
        .arg(&s.bird.socket);
    if json {
        cmd.args(["-o", "json"]);
    }
    let out = cmd.args(["route", query]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "explain route {query}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn explain_route_teaches_for_ranges_pending_blocks_and_addresses_outside_the_pools() {
    let cluster = format!(
        "{}{WIDER}",
        CLUSTER.replace(
            "nodeToNodeMeshEnabled: false",
            "nodeToNodeMeshEnabled: true"
        )
    );
    let s = bird_node("re", "10.97.0.1", &cluster);
    let perch = start(&s);
    wait_for(Duration::from_secs(20), "the first check", || {
        routes(perch.port).filter(|(code, _)| *code == 200)
    });

    // A range holding blocks (the pool, a /24): each block inside, with its verdict.
    let pool = explain_route(&s, "10.244.0.0/16", false);
    for line in [
        "10.244.1.0/26 on n1: ok",
        "10.244.2.0/26 on n1: missing in BIRD",
    ] {
        assert!(pool.contains(line), "{line:?} in:\n{pool}");
    }
    // The deleted node's block is not checked, and said so.
    assert!(
        pool.contains("10.244.3.0/26 on n1: not checked: node gone is not in the datastore"),
        "{pool}"
    );
    let json: Value = serde_json::from_str(&explain_route(&s, "10.244.2.0/24", true)).unwrap();
    let inside: Vec<&str> = json["inside"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(inside, ["10.244.2.0/26"], "{json}");

    // Not covered by any expected route: say which case it is.
    // Pasted with spaces around it, as from a table.
    let outside = explain_route(&s, " 10.1.1.1 ", false);
    assert!(outside.contains("outside every IP pool"), "{outside}");
    let pending = explain_route(&s, "10.244.4.1", false);
    assert!(
        pending.contains("10.244.4.0/26") && pending.contains("not confirmed"),
        "{pending}"
    );

    // The block of a node the datastore does not have: said so, and no empty next hop.
    let gone = explain_route(&s, "10.244.3.1", false);
    assert!(
        gone.contains("in block 10.244.3.0/26 of node gone: node gone is not in the datastore"),
        "{gone}"
    );
    assert!(
        !gone
            .lines()
            .any(|l| l.trim_end().ends_with("via") || l.contains("via  ")),
        "no empty gateway: {gone}"
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn the_page_lists_a_bounded_number_of_routes_that_are_not_ok() {
    // n2's session never comes up (it has no BIRD): every one of its 150 blocks is missing.
    let mut cluster = format!(
        "{}\n---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: n2}}\n\
         spec: {{bgp: {{ipv4Address: 10.97.0.2/24}}}}\n",
        CLUSTER
            .replace(
                "nodeToNodeMeshEnabled: false",
                "nodeToNodeMeshEnabled: true"
            )
            .trim_end()
    );
    for i in 0..150 {
        cluster += &format!(
            "---\nkind: BlockAffinity\napiVersion: projectcalico.org/v3\nmetadata: {{name: n2-{i}}}\n\
             spec: {{node: n2, cidr: 10.244.{}.{}/26, state: confirmed}}\n",
            10 + i / 4,
            (i % 4) * 64
        );
    }
    let s = bird_node("rp", "10.97.0.1", &cluster);
    let perch = start(&s);
    let (_, v) = wait_for(Duration::from_secs(20), "the check", || {
        routes(perch.port).filter(|(code, _)| *code == 200)
    });
    assert_eq!(v["counts"]["missingInBird"], 150, "{}", v["counts"]);
    let (_, page) = http_get(perch.port, "/").unwrap();
    assert!(page.contains("routes not ok (150)"), "{page}");
    let listed = page.matches("<b class=\"bad\">missing in BIRD</b>").count();
    assert_eq!(listed, 100, "the page lists the first 100");
    assert!(
        page.contains("and 50 more"),
        "and says how many it left out"
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn perch_routes_names_the_resources_it_could_not_use() {
    // A block affinity perch cannot read costs only that block, and `perch routes` says so
    // (as `perch plan` does), rather than leaving its block silently unchecked.
    let cluster = format!(
        "{CLUSTER}---\nkind: BlockAffinity\napiVersion: projectcalico.org/v3\n\
         metadata: {{name: broken}}\nspec: {{node: n2, cidr: 10.244.9.0/99, state: confirmed}}\n"
    );
    let s = bird_node("rw", "10.97.0.1", &cluster);
    let run = |output: &str| {
        std::process::Command::new(support::perch::binary())
            .args(["routes", "-n", "n1", "--no-kernel", "-o", output, "-r"])
            .arg(s.dir.join("resources"))
            .arg("--bird-socket")
            .arg(&s.bird.socket)
            .output()
            .unwrap()
    };
    let table = run("table");
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "warnings:\n  BlockAffinity \"broken\": spec.cidr \"10.244.9.0/99\" is not a CIDR"
        ),
        "{stdout}"
    );
    let json = run("json");
    let stdout = String::from_utf8_lossy(&json.stdout);
    let stderr = String::from_utf8_lossy(&json.stderr);
    assert!(json.status.success(), "{stderr}");
    serde_json::from_str::<Value>(&stdout).expect("stdout stays one JSON document");
    assert!(
        stderr.contains("BlockAffinity \"broken\": spec.cidr"),
        "the warning on stderr: {stderr}"
    );
}

#[test]
fn an_unknown_node_is_named_with_how_perch_chose_it_and_the_nodes_it_knows() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    let run = |node: Option<&str>| {
        let mut cmd = std::process::Command::new(support::perch::binary());
        cmd.args([
            "routes",
            "--no-kernel",
            "--bird-socket",
            "/nonexistent",
            "-r",
        ])
        .arg(tmp.path())
        .env_remove("NODENAME");
        if let Some(n) = node {
            cmd.args(["-n", n]);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let host = nix::unistd::gethostname().unwrap();
    let host = host.to_string_lossy();
    let defaulted = run(None);
    assert!(
        defaulted.contains(&format!("node \"{host}\" (this host's name; pass -n NODE or set NODENAME) is not in the resources")),
        "{defaulted}"
    );
    assert!(defaulted.contains("nodes there: n1"), "{defaulted}");
    let named = run(Some("n9"));
    assert!(
        named.contains("node \"n9\" is not in the resources; nodes there: n1"),
        "{named}"
    );
}

#[test]
fn explain_route_with_bird_down_still_tells_the_datastore_side() {
    // "Pods on n1 cannot reach n2's": BIRD not answering is a likely cause; what the
    // datastore says (owner, next hop, the session that should bring it) still helps.
    let tmp = tempfile::tempdir().unwrap();
    let cluster = format!(
        "{}{WIDER}",
        CLUSTER.replace(
            "nodeToNodeMeshEnabled: false",
            "nodeToNodeMeshEnabled: true"
        )
    );
    std::fs::write(tmp.path().join("cluster.yaml"), cluster).unwrap();
    let run = |output: &str| {
        std::process::Command::new(support::perch::binary())
            .args(["explain", "-n", "n1", "--no-kernel", "-o", output])
            .args(["--bird-socket", "/nonexistent/bird.ctl", "-r"])
            .arg(tmp.path())
            .args(["route", "10.244.2.5"])
            .output()
            .unwrap()
    };
    let out = run("text");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "BIRD's side is unknown: a failure");
    assert!(stderr.contains("BIRD is not reachable"), "{stderr}");
    for line in [
        "route 10.244.2.0/26 on n1 (holds 10.244.2.5): no verdict, BIRD is not reachable",
        "owner: node n2 (10.97.0.2), by its block affinity",
        "expected in BIRD: a BGP route with next hop 10.97.0.2",
        "Mesh_10_97_0_2: unknown (BIRD is not reachable)",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("missing in BIRD"),
        "no verdict claimed: {stdout}"
    );
    let out = run("json");
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(
        v["birdError"].as_str().unwrap().contains("not reachable"),
        "{v}"
    );
    assert_eq!(v["report"], Value::Null, "{v}");
    assert_eq!(v["expected"]["source"]["owner"], "n2", "{v}");
}

#[test]
fn perch_routes_exit_code_says_whether_every_route_is_ok() {
    // n2 owns a block but this node has no session to it: that block is missing in BIRD.
    let cluster = format!(
        "{CLUSTER}---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: n2}}\n\
         spec: {{bgp: {{ipv4Address: 10.97.0.2/24}}}}\n\
         ---\nkind: BlockAffinity\napiVersion: projectcalico.org/v3\nmetadata: {{name: n2-1}}\n\
         spec: {{node: n2, cidr: 10.244.2.0/26, state: confirmed}}\n"
    );
    let s = bird_node("rx", "10.97.0.1", &cluster);
    let run_with = |resources: &std::path::Path, exit_code: bool, no_kernel: bool| {
        let mut cmd = std::process::Command::new(support::perch::binary());
        cmd.args(["routes", "-n", "n1", "-o", "json", "-r"])
            .arg(resources)
            .arg("--bird-socket")
            .arg(&s.bird.socket);
        if no_kernel {
            cmd.arg("--no-kernel");
        }
        if exit_code {
            cmd.arg("--exit-code");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        (out.status.code(), v, stderr)
    };
    let run = |resources: &std::path::Path, exit_code: bool| {
        let (code, v, _) = run_with(resources, exit_code, true);
        (code, v)
    };
    let all = s.dir.join("resources");
    // BIRD runs n1's rendered config: its own block's blackhole.
    support::pair::render_for(&all, &s.dir.join("secrets"), "n1", &s.bird.config);
    let reply = s.bird.birdc(&["configure"]);
    assert!(reply.contains("Reconfigured"), "{reply}");
    let (_, v) = wait_for(Duration::from_secs(20), "n1's block ok", || {
        let (code, v) = run(&all, true);
        (v["counts"]["ok"] == 1).then_some((code, v))
    });
    assert_eq!(v["counts"]["missingInBird"], 1, "{v}");
    assert_eq!(run(&all, true).0, Some(3), "a route is not ok");
    assert_eq!(run(&all, false).0, Some(0), "without --exit-code");

    // Only n1's own block: everything ok, exit 0 with --exit-code too.
    let alone = s.dir.join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::write(alone.join("cluster.yaml"), CLUSTER).unwrap();
    let (code, v) = run(&alone, true);
    assert_eq!(v["counts"]["ok"], 1, "{v}");
    assert_eq!(code, Some(0), "{v}");

    // The same check without --no-kernel, from outside BIRD's network namespace: the kernel
    // perch reads has no route from BIRD, so it is not compared. Every route ok in BIRD is not
    // a pass then: exit 4, the reason on stderr; without --exit-code still 0.
    let (code, v, stderr) = run_with(&alone, true, false);
    assert_eq!(v["counts"]["ok"], 1, "{v}");
    assert_eq!(v["kernelChecked"], false, "{v}");
    let note = v["kernelNote"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(note.contains("network namespace"), "{note}");
    assert_eq!(code, Some(4), "{v} {stderr}");
    assert!(
        stderr.contains("check incomplete: the kernel was not read: ")
            && stderr.contains("network namespace"),
        "{stderr}"
    );
    let (code, _, _) = run_with(&alone, false, false);
    assert_eq!(code, Some(0), "without --exit-code");
    // A route not ok outranks the incomplete check: 3.
    let (code, v, _) = run_with(&all, true, false);
    assert_eq!(v["kernelChecked"], false, "{v}");
    assert_eq!(code, Some(3), "{v}");
}
