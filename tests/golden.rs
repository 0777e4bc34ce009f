//! Golden cases: `tests/cases/<name>/` holds a cluster (`resources.yaml`), the node to plan
//! (`node`), optionally `env` (`CALICO_ROUTER_ID=…`) and a `secrets/<name>/<key>` directory,
//! and the expected `perch plan --output json` (`plan.json`) and `perch render` (`bird.cfg`)
//! output. Each case is named after what it pins; the files are a reviewed contract.
//!
//! `PERCH_REGENERATE=1 cargo test --test golden` rewrites the expected files instead of
//! comparing (review the diff before committing it). Every golden `bird.cfg` is also checked
//! with `bird -p -c` (BIRD 2's parse-only mode).

mod support;

use std::process::Command;

use perch::datastore::files::load_snapshot;
use perch::plan::{PlanOptions, plan};
use perch::render::{Templates, render};
use support::golden::{GoldenCase, golden_cases, root};

fn regenerate() -> bool {
    std::env::var_os("PERCH_REGENERATE").is_some_and(|v| v == "1")
}

fn options(case: &GoldenCase) -> PlanOptions {
    for (key, _) in &case.env {
        assert!(
            ["CALICO_ROUTER_ID", "CALICO_ADVERTISE_CLUSTER_IPS"].contains(&key.as_str()),
            "{}/env: unsupported {key}",
            case.dir.display()
        );
    }
    PlanOptions {
        router_id: case
            .env("CALICO_ROUTER_ID")
            .map(|v| v.parse().expect("CALICO_ROUTER_ID in env")),
        advertise_cluster_ips: case.env("CALICO_ADVERTISE_CLUSTER_IPS").map(str::to_owned),
    }
}

/// The values in the case's `secrets/<name>/<key>` files.
fn secret_values(case: &GoldenCase) -> Vec<String> {
    let Some(dir) = case.secrets() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for secret in std::fs::read_dir(dir).unwrap() {
        for key in std::fs::read_dir(secret.unwrap().path()).unwrap() {
            let value = std::fs::read_to_string(key.unwrap().path()).unwrap();
            out.push(value.trim_end().to_owned());
        }
    }
    out
}

/// What `perch plan --output json` and `perch render` print for this case.
fn produce(case: &GoldenCase) -> (String, String) {
    let snapshot = load_snapshot(&case.resources(), case.secrets().as_deref())
        .unwrap_or_else(|e| panic!("{}: {e}", case.dir.display()));
    let plan = plan(&snapshot, &case.node, &options(case));
    let json = serde_json::to_string_pretty(&serde_json::to_value(&plan).unwrap()).unwrap() + "\n";
    let config = render(&plan, &snapshot, &Templates::builtin())
        .unwrap_or_else(|e| panic!("{}: render: {e}", case.dir.display()));
    (json, config)
}

/// The first line where `want` and `got` differ, with a little context.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    let from = at.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(at - from + 4)
            .map(|(i, l)| format!("    {:>4} {l}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {}:\n  expected:\n{}\n  got:\n{}",
        at + 1,
        show(&w),
        show(&g)
    )
}

#[test]
fn golden_files_match() {
    // Relative paths, as the cases name them (see `GoldenCase::dir`).
    std::env::set_current_dir(root()).unwrap();
    let mut failures = Vec::new();
    for case in golden_cases() {
        let dir = &case.dir;
        let (json, config) = produce(&case);
        for secret in secret_values(&case) {
            assert!(
                !json.contains(&secret),
                "{}: plan.json shows a password",
                dir.display()
            );
        }
        for (file, got) in [("plan.json", &json), ("bird.cfg", &config)] {
            let path = dir.join(file);
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if want == *got {
                continue;
            }
            if regenerate() {
                std::fs::write(&path, got).unwrap();
                println!("rewrote {}", path.display());
            } else {
                failures.push(format!(
                    "{}: {}",
                    path.display(),
                    first_difference(&want, got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden files differ (if the change is intended, run `PERCH_REGENERATE=1 cargo test --test golden` and review the diff):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every golden bird.cfg must be accepted by BIRD 2 itself.
#[test]
fn golden_configs_pass_bird_parse_check() {
    let bird = std::env::var("PERCH_BIRD").unwrap_or_else(|_| "bird".into());
    let mut refused = Vec::new();
    for case in golden_cases() {
        let path = root().join(&case.dir).join("bird.cfg");
        let output = match Command::new(&bird).arg("-p").arg("-c").arg(&path).output() {
            Ok(o) => o,
            Err(e) => panic!(
                "cannot run `{bird} -p` ({e}): the golden configs must be checked by BIRD 2. \
                 Install it (Debian/Ubuntu: apt-get install bird2) or run the tests through \
                 the project's test script `.ci/run`, which installs it; PERCH_BIRD names \
                 another binary"
            ),
        };
        if !output.status.success() {
            refused.push(format!(
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(
        refused.is_empty(),
        "bird -p refused:\n{}",
        refused.join("\n")
    );
}

/// What one `protocol bgp` block of a rendered config says.
#[derive(Debug, PartialEq)]
struct Rendered {
    source_address: Option<String>,
    port: Option<u16>,
    passive: bool,
    password: bool,
}

/// The `protocol bgp` blocks of `config`, by protocol name.
fn rendered_sessions(config: &str) -> std::collections::BTreeMap<String, Rendered> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<(String, Rendered)> = None;
    for line in config.lines() {
        if let Some(rest) = line.strip_prefix("protocol bgp ") {
            let name = rest.split_whitespace().next().unwrap().to_owned();
            current = Some((
                name,
                Rendered {
                    source_address: None,
                    port: None,
                    passive: false,
                    password: false,
                },
            ));
            continue;
        }
        let Some((_, r)) = current.as_mut() else {
            continue;
        };
        let l = line.trim();
        if line == "}" {
            let (name, r) = current.take().unwrap();
            out.insert(name, r);
        } else if let Some(a) = l.strip_prefix("source address ") {
            r.source_address = Some(a.trim_end_matches(';').to_owned());
        } else if let Some(n) = l.strip_prefix("neighbor ") {
            let words: Vec<&str> = n.split_whitespace().collect();
            r.port = words
                .iter()
                .position(|w| *w == "port")
                .map(|i| words[i + 1].parse().unwrap());
        } else if l == "passive on;" {
            r.passive = true;
        } else if l.starts_with("password ") {
            r.password = true;
        }
    }
    out
}

#[test]
fn plan_explain_and_config_agree_on_every_session() {
    std::env::set_current_dir(root()).unwrap();
    let mut disagreements = Vec::new();
    let mut sessions = 0;
    for case in golden_cases() {
        let snapshot = load_snapshot(&case.resources(), case.secrets().as_deref()).unwrap();
        let plan = plan(&snapshot, &case.node, &options(&case));
        let config = render(&plan, &snapshot, &Templates::builtin()).unwrap();
        let rendered = rendered_sessions(&config);
        let cluster = perch::plan::Cluster::new(&snapshot);
        let explained = perch::plan::explain::explain_sessions(&cluster, &plan);
        assert_eq!(
            rendered.keys().collect::<Vec<_>>(),
            plan.peers.iter().map(|p| &p.name).collect::<Vec<_>>(),
            "{}: protocols in bird.cfg vs plan",
            case.dir.display()
        );
        for (p, e) in plan.peers.iter().zip(&explained) {
            sessions += 1;
            let from_plan = Rendered {
                source_address: p.source_address.map(|a| a.to_string()),
                port: p.port,
                passive: p.passive,
                password: p.has_password,
            };
            let explained_source = e.options.iter().find_map(|o| {
                if o.starts_with("no source address") {
                    Some(None)
                } else {
                    o.strip_prefix("source address ")
                        .map(|a| Some(a.split_once(": ").map_or(a, |x| x.0).to_owned()))
                }
            });
            let from_explain = Rendered {
                source_address: explained_source.expect("explain names the source address"),
                port: e.port.value.as_u64().map(|p| p as u16),
                passive: e.passive.value.as_bool().unwrap(),
                password: e.options.iter().any(|o| o.starts_with("password")),
            };
            let r = &rendered[&p.name];
            if *r != from_plan || from_explain != from_plan {
                disagreements.push(format!(
                    "{} {}:\n  plan    {from_plan:?}\n  explain {from_explain:?}\n  config  {r:?}",
                    case.dir.display(),
                    p.name
                ));
            }
        }
    }
    println!("{sessions} sessions: plan, explain and bird.cfg compared");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
