//! Acceptance: `perch preview` agrees with what BIRD really does. Two BIRDs in network
//! namespaces on one bridge; n1 is served by `perch run` (file datastore), n2 runs the config
//! `perch render` makes for it. A global BGPPeer (peerSelector all(), a BGPFilter) gives them
//! one session. Then, for each change, the preview is taken, the change is applied (the file is
//! rewritten; `perch run` picks it up) and BIRD is watched:
//! (a) maxRestartTime and keepaliveTime on the BGPPeer: preview says reset, and the session
//!     really restarts (it leaves Established, its Since moves, n2 hears "Other configuration
//!     change");
//! (b) an export rule of the BGPFilter: preview says reloaded, not reset, and the session stays
//!     Established with the same Since while n2 loses the route the rule now rejects;
//! (c) an import rule added to the BGPFilter: the same, via ROUTE-REFRESH;
//! (d) a new block of n1 (Calico's export policy): reloaded, and n2 learns the block.
//! BIRD's own log on n1 must say `Restarting protocol` twice and `Reloading channel` three times.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::bird::{Bird, wait_for};
use support::pair::Pair;
use support::perch::Perch;
use support::yaml::{default_config, documents, nodes};

const SESSION: &str = "Global_10_99_0_2";

/// Two nodes with the mesh off (the BGPPeer below connects them), a pool and a block each.
fn cluster() -> String {
    documents([
        default_config("{asNumber: 64512, nodeToNodeMeshEnabled: false}"),
        nodes(2),
        POOL_AND_BLOCKS.into(),
    ])
}

const POOL_AND_BLOCKS: &str = "\
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

fn peer(extra: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: everyone}}\n\
         spec: {{peerSelector: all(), filters: [edge]{extra}}}\n"
    )
}

fn filter(export_action: &str, import: &str) -> String {
    format!(
        "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {{name: edge}}\nspec:\n  \
         exportV4: [{{action: {export_action}, matchOperator: In, cidr: 10.244.1.0/26}}]\n{import}"
    )
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

/// Replaces a resource file the way an editor or a ConfigMap update does: write, then rename.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `(since, info)` of the session from `show protocols NAME`.
fn protocol(b: &Bird) -> Option<(String, String)> {
    let out = b.birdc(&["show", "protocols", SESSION]);
    let line = out.lines().find(|l| l.starts_with(SESSION))?;
    // name BGP table state date time info… (timeformat protocol iso long)
    let f: Vec<&str> = line.split_whitespace().collect();
    (f.len() >= 6).then(|| (format!("{} {}", f[4], f[5]), f[6..].join(" ")))
}

fn established(b: &Bird) -> Option<String> {
    protocol(b)
        .filter(|(_, info)| info == "Established")
        .map(|(since, _)| since)
}

/// BIRD's clock, to the second (`show status`: `Current server time is …`).
fn server_time(b: &Bird) -> String {
    let out = b.birdc(&["show", "status"]);
    let t = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Current server time is "))
        .unwrap_or("");
    t.get(..19).unwrap_or(t).to_owned()
}

/// Waits until the session is Established and its Since is at least a second in the past,
/// so a restart is bound to move it.
fn settled(b: &Bird) -> String {
    wait_for(Duration::from_secs(60), "the session Established", || {
        established(b)
    });
    wait_for(Duration::from_secs(5), "Since to be in the past", || {
        let since = established(b)?;
        (server_time(b) > since).then_some(since)
    })
}

fn has_route(b: &Bird, prefix: &str) -> bool {
    b.birdc(&["show", "route", prefix]).contains(prefix)
}

/// Runs `perch preview` for `change` and returns n1's entry.
fn preview_n1(res: &Path, change: &Path) -> Value {
    let (code, out, err) = perch(&[
        "preview",
        "-r",
        res.to_str().unwrap(),
        "-f",
        change.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "n1")
        .cloned()
        .unwrap_or_else(|| panic!("n1 untouched: {out}"))
}

/// One proposed change: the resource file it rewrites, its text, a line it puts in n1's BIRD
/// config, and the option the preview must name.
struct Step {
    file: &'static str,
    text: String,
    rendered: &'static str,
    option: &'static str,
}

/// n1's BIRD and its resources.
struct Lab<'a> {
    b1: &'a Bird,
    res: &'a Path,
    dir: &'a Path,
}

impl Lab<'_> {
    /// `perch preview` of the step, for n1.
    fn preview(&self, step: &Step) -> Value {
        let change = self.dir.join("change.yaml");
        std::fs::write(&change, &step.text).unwrap();
        preview_n1(self.res, &change)
    }

    /// Applies the step and waits for perch to have reconfigured BIRD with it.
    fn apply(&self, step: &Step) {
        let before = self.b1.last_reconfiguration();
        replace(&self.res.join(step.file), &step.text);
        wait_for(Duration::from_secs(30), "perch to reconfigure BIRD", || {
            let cfg = std::fs::read_to_string(&self.b1.config).ok()?;
            (cfg.contains(step.rendered) && self.b1.last_reconfiguration() != before).then_some(())
        });
    }

    /// A change the preview calls a reset: BIRD must restart the session.
    fn expect_restart(&self, step: &Step) {
        let n1 = self.preview(step);
        assert_eq!(n1["reset"][0]["name"], SESSION, "{n1}");
        assert_eq!(n1["reset"][0]["changes"][0]["option"], step.option, "{n1}");
        assert!(n1["reloaded"].as_array().unwrap().is_empty(), "{n1}");
        let b1 = self.b1;
        let since = settled(b1);
        let started = Instant::now();
        let mut states = Vec::new();
        let mut note = || {
            if let Some((_, info)) = protocol(b1)
                && states.last() != Some(&info)
            {
                states.push(info);
            }
        };
        note();
        self.apply(step);
        let new_since = wait_for(Duration::from_secs(60), "the session back", || {
            note();
            established(b1).filter(|s| *s != since)
        });
        println!(
            "{}: BIRD restarted {SESSION}: Since {since} → {new_since}; states seen {states:?}; back after {:?}",
            step.option,
            started.elapsed()
        );
        assert!(new_since > since);
    }

    /// A change the preview calls a reload: the session must stay up, untouched, until
    /// `done` holds and for a few seconds more.
    fn expect_reload(&self, step: &Step, done: impl Fn() -> bool) {
        let n1 = self.preview(step);
        assert!(n1["reset"].as_array().unwrap().is_empty(), "no reset: {n1}");
        assert_eq!(n1["reloaded"][0]["name"], SESSION, "{n1}");
        assert_eq!(
            n1["reloaded"][0]["changes"][0]["option"], step.option,
            "{n1}"
        );
        let since = settled(self.b1);
        self.apply(step);
        let check = || {
            let s = established(self.b1).unwrap_or_else(|| {
                panic!(
                    "{SESSION} left Established after the {} change: {:?}",
                    step.option,
                    protocol(self.b1)
                )
            });
            assert_eq!(
                s, since,
                "{SESSION} restarted after the {} change",
                step.option
            );
        };
        wait_for(Duration::from_secs(20), "the change to take effect", || {
            check();
            done().then_some(())
        });
        let until = Instant::now() + Duration::from_secs(3);
        wait_for(Duration::from_secs(5), "the observation window", || {
            check();
            (Instant::now() > until).then_some(())
        });
        println!(
            "{}: {SESSION} stayed Established since {since}",
            step.option
        );
    }
}

#[test]
fn preview_matches_real_bird_for_resets_and_reloads() {
    let (c, p, f) = (cluster(), peer(""), filter("Accept", ""));
    let files = [
        ("cluster.yaml", c.as_str()),
        ("peer.yaml", &p),
        ("filter.yaml", &f),
    ];
    let pair = Pair::start_with(&files, &[], |d2| {
        format!("log \"{}\" all;\n", d2.join("events.log").display())
    });
    let (dir, res) = (pair.dir(), &pair.resources);
    let (b1, b2) = (&pair.b1, &pair.b2);
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let n2_log = b2.dir.join("events.log");
    let d1 = b1.dir.clone();
    // n1 runs the built-in template plus a log file, to read BIRD's own account of each change.
    let n1_log = d1.join("events.log");
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let template = include_str!("../templates/bird.cfg");
    std::fs::write(
        templates.join("bird.cfg"),
        format!("log \"{}\" all;\n{template}", n1_log.display()),
    )
    .unwrap();
    let args = [
        ("--templates", path(&templates)),
        ("-r", path(res)),
        ("-n", "n1".into()),
        ("--config", path(&b1.config)),
        ("--bird-socket", path(&b1.socket)),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect::<Vec<_>>();
    let _perch = Perch::start(&args, &[], dir.join("perch.log"));
    wait_for(Duration::from_secs(60), "n2 to learn n1's block", || {
        (established(b1).is_some() && has_route(b2, "10.244.1.0/26")).then_some(())
    });
    let ceases = || {
        std::fs::read_to_string(&n2_log)
            .unwrap_or_default()
            .matches("Received: Other configuration change")
            .count()
    };
    assert_eq!(ceases(), 0);

    let lab = Lab { b1, res, dir };

    // (a) Resets.
    lab.expect_restart(&Step {
        file: "peer.yaml",
        text: peer(", maxRestartTime: 90s"),
        rendered: "graceful restart time 90;",
        option: "gracefulRestartTime",
    });
    assert_eq!(ceases(), 1, "n2 heard: Cease, other configuration change");
    lab.expect_restart(&Step {
        file: "peer.yaml",
        text: peer(", maxRestartTime: 90s, keepaliveTime: 20s"),
        rendered: "keepalive time 20;",
        option: "keepaliveTime",
    });
    assert_eq!(ceases(), 2);

    // (b) Export rule: reload only; n2 loses the route the rule now rejects.
    let export = Step {
        file: "filter.yaml",
        text: filter("Reject", ""),
        rendered: "if ((net ~ 10.244.1.0/26)) then { reject; }",
        option: "exportFilter",
    };
    lab.expect_reload(&export, || !has_route(b2, "10.244.1.0/26"));

    // (c) Import rule: reload by ROUTE-REFRESH; n1 drops n2's block.
    assert!(
        has_route(b1, "10.244.2.0/26"),
        "n1 has n2's block before the import rule"
    );
    let import = Step {
        file: "filter.yaml",
        text: filter(
            "Reject",
            "  importV4: [{action: Reject, matchOperator: In, cidr: 10.244.2.0/26}]\n",
        ),
        rendered: "'bgp_edge_importFilterV4'();",
        option: "importFilter",
    };
    lab.expect_reload(&import, || !has_route(b1, "10.244.2.0/26"));

    // (d) A new block of n1 changes Calico's export policy: reload; n2 learns it.
    let block = Step {
        file: "block.yaml",
        text: "kind: BlockAffinity\napiVersion: projectcalico.org/v3\nmetadata: {name: n1-block-2}\nspec: {node: n1, cidr: 10.244.1.64/26, state: confirmed}\n".into(),
        rendered: "net = 10.244.1.64/26",
        option: "exportPolicy",
    };
    lab.expect_reload(&block, || has_route(b2, "10.244.1.64/26"));

    assert_eq!(ceases(), 2, "no further restarts reached n2");
    let log = std::fs::read_to_string(&n1_log).unwrap_or_default();
    let said = |what: &str| log.matches(&format!("{what} {SESSION}")).count();
    assert_eq!(
        (said("Restarting protocol"), said("Reloading channel")),
        (2, 3),
        "{log}"
    );
    println!("n1's BIRD log:\n{log}");
}
