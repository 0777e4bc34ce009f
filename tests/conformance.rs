//! Conformance with Calico v3.31: every step of Calico's own confd fixture corpus is applied,
//! node planned, and the peer set compared with the `protocol bgp` blocks Calico rendered.
//! Mismatches must be explained by one of the plan contract's deviations; anything else fails.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use perch::plan::{NextHop, PlanOptions, plan};
use perch::render::view::function_name;
use perch::snapshot::Snapshot;
use support::fixtures::{Case, cases, corpus_root};

/// A `protocol bgp` block, reduced to the options the plan decides.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    neighbor: String,
    port: Option<u16>,
    as_number: u32,
    local_as: u32,
    passive: bool,
    rr_client: bool,
    cluster_id: Option<String>,
    source_address: Option<String>,
    next_hop: Option<String>,
    ttl: Option<u8>,
    restart_time: Option<i64>,
    allow_local_as: Option<i64>,
    password: Option<String>,
    internal: bool,
    import_filters: Vec<String>,
    export_filters: Vec<String>,
}

struct Rendered {
    router_id: Option<String>,
    sessions: BTreeMap<String, Session>,
}

fn strip_comment(line: &str) -> &str {
    // Passwords never contain '#' in the corpus; comments start at '#' outside quotes.
    match line.find('#') {
        Some(i) if !line[..i].contains('"') || line[..i].matches('"').count().is_multiple_of(2) => {
            &line[..i]
        }
        _ => line,
    }
}

/// The BGPFilter function a call line names (`'bgp_x_importFilterV4'();` → `bgp_x_importFilterV4`).
fn filter_name(call: &str) -> Option<String> {
    let inner = call
        .trim()
        .trim_end_matches(';')
        .trim_end_matches("()")
        .trim_matches('\'');
    inner.starts_with("bgp_").then(|| inner.to_owned())
}

/// Parses Calico's BIRD 1.6 bird.cfg / bird6.cfg.
fn parse_calico(text: &str) -> Rendered {
    let mut router_id = None;
    let mut template_as = 0;
    let mut sessions = BTreeMap::new();
    let mut lines = text.lines().map(strip_comment).map(str::trim).peekable();
    while let Some(line) = lines.next() {
        if let Some(id) = line.strip_prefix("router id ") {
            router_id = Some(id.trim_end_matches(';').to_owned());
        } else if line.starts_with("template bgp bgp_template") {
            for l in lines.by_ref() {
                if let Some(a) = l.strip_prefix("local as ") {
                    template_as = a.trim_end_matches(';').parse().unwrap();
                }
                if l == "}" {
                    break;
                }
            }
        } else if let Some(rest) = line.strip_prefix("protocol bgp ") {
            let name = rest.split_whitespace().next().unwrap().to_owned();
            let mut s = Session {
                neighbor: String::new(),
                port: None,
                as_number: 0,
                local_as: template_as,
                passive: false,
                rr_client: false,
                cluster_id: None,
                source_address: None,
                next_hop: None,
                ttl: None,
                restart_time: None,
                allow_local_as: None,
                password: None,
                internal: false,
                import_filters: Vec::new(),
                export_filters: Vec::new(),
            };
            let mut depth = 1;
            let mut section = "";
            let mut ttl_on = false;
            for l in lines.by_ref() {
                if l.ends_with('{') {
                    depth += 1;
                    section = if l.starts_with("import") {
                        "import"
                    } else {
                        "export"
                    };
                    continue;
                }
                if l.starts_with('}') {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    continue;
                }
                let l = l.trim_end_matches(';');
                if depth == 2 {
                    if let Some(f) = filter_name(l) {
                        if section == "import" {
                            s.import_filters.push(f)
                        } else {
                            s.export_filters.push(f)
                        }
                    } else if let Some(arg) = l.strip_prefix("calico_export_to_bgp_peers(") {
                        s.internal = arg.starts_with("true");
                    }
                    continue;
                }
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.as_slice() {
                    ["ttl", "security", "on"] => ttl_on = true,
                    ["multihop", n] if ttl_on => s.ttl = n.parse().ok(),
                    ["local", "as", n] => s.local_as = n.parse().unwrap(),
                    ["neighbor", ip, "as", n] => {
                        s.neighbor = ip.to_string();
                        s.as_number = n.parse().unwrap();
                    }
                    ["neighbor", ip, "port", p, "as", n] => {
                        s.neighbor = ip.to_string();
                        s.port = p.parse().ok();
                        s.as_number = n.parse().unwrap();
                    }
                    ["source", "address", a] => s.source_address = Some(a.to_string()),
                    ["passive", "on"] => s.passive = true,
                    ["graceful", "restart", "time", t] => s.restart_time = t.parse().ok(),
                    ["rr", "client"] => s.rr_client = true,
                    ["rr", "cluster", "id", id] => s.cluster_id = Some(id.to_string()),
                    ["next", "hop", how] => s.next_hop = Some(how.to_string()),
                    ["allow", "local", "as", n] => s.allow_local_as = n.parse().ok(),
                    ["import", "all"] => {}
                    _ if l.starts_with("password ") => {
                        s.password = Some(l["password ".len()..].trim_matches('"').to_owned())
                    }
                    _ => {}
                }
            }
            if name.starts_with("Mesh_") {
                s.internal = true; // Calico hard-codes `true` for mesh peers.
            }
            sessions.insert(name, s);
        }
    }
    Rendered {
        router_id,
        sessions,
    }
}

/// The same reduction of perch's plan.
fn from_plan(snapshot: &Snapshot, node: &str, options: &PlanOptions, v6: bool) -> Rendered {
    let p = plan(snapshot, node, options);
    let mut sessions = BTreeMap::new();
    for peer in p.peers.iter().filter(|x| x.peer_ip.is_ipv6() == v6) {
        let has_rules = |f: &String, import: bool| {
            let s = &snapshot.bgp_filters[f].spec;
            !match (import, v6) {
                (true, false) => &s.import_v4,
                (false, false) => &s.export_v4,
                (true, true) => &s.import_v6,
                (false, true) => &s.export_v6,
            }
            .is_empty()
        };
        sessions.insert(
            peer.name.clone(),
            Session {
                neighbor: peer.peer_ip.to_string(),
                port: peer.port,
                as_number: peer.as_number.get(),
                local_as: peer.local_as_number.get(),
                passive: peer.passive,
                rr_client: peer.route_reflector_client,
                cluster_id: peer.route_reflector_cluster_id.clone(),
                source_address: peer.source_address.map(|a| a.to_string()),
                next_hop: peer.next_hop.map(|n| match n {
                    NextHop::SelfAddress => "self".into(),
                    NextHop::Keep => "keep".into(),
                }),
                ttl: peer.ttl_security,
                restart_time: peer.graceful_restart_time,
                allow_local_as: peer.allow_local_as,
                password: peer.password.as_ref().map(|s| s.expose().to_owned()),
                internal: peer.internal || peer.name.starts_with("Mesh_"),
                import_filters: peer
                    .filters
                    .iter()
                    .filter(|f| has_rules(f, true))
                    .map(|f| function_name(f, "import", if v6 { "6" } else { "4" }))
                    .collect(),
                export_filters: peer
                    .filters
                    .iter()
                    .filter(|f| has_rules(f, false))
                    .map(|f| function_name(f, "export", if v6 { "6" } else { "4" }))
                    .collect(),
            },
        );
    }
    Rendered {
        router_id: p.router_id,
        sessions,
    }
}

fn compare(expected: &Rendered, got: &Rendered, file: &str, out: &mut Vec<String>) {
    if expected.router_id != got.router_id {
        out.push(format!(
            "{file}: router id {:?}, perch {:?}",
            expected.router_id, got.router_id
        ));
    }
    let names: BTreeSet<&String> = expected
        .sessions
        .keys()
        .chain(got.sessions.keys())
        .collect();
    for n in names {
        match (expected.sessions.get(n), got.sessions.get(n)) {
            (Some(e), Some(g)) if e == g => {}
            (Some(e), Some(g)) => out.push(format!(
                "{file}: {n} differs:\n    calico {e:?}\n    perch  {g:?}"
            )),
            (Some(_), None) => out.push(format!("{file}: {n} only in Calico")),
            (None, Some(_)) => out.push(format!("{file}: {n} only in perch")),
            (None, None) => unreachable!(),
        }
    }
}

fn run_case(case: &Case) -> Vec<(usize, Vec<String>)> {
    let mut snapshot = case.preloaded();
    let options = PlanOptions {
        router_id: case.env("CALICO_ROUTER_ID").map(|v| v.parse().unwrap()),
    };
    let mut results = Vec::new();
    for (i, step) in case.steps().iter().enumerate() {
        case.apply_step(&mut snapshot, i);
        let dir = case.base().join(step["expect"].as_str().unwrap());
        let mut diffs = Vec::new();
        for (file, v6) in [("bird.cfg", false), ("bird6.cfg", true)] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let expected = parse_calico(&text);
            let got = from_plan(&snapshot, case.node(), &options, v6);
            compare(&expected, &got, file, &mut diffs);
        }
        results.push((i + 1, diffs));
    }
    results
}

#[test]
fn calico_fixtures() {
    let Some(root) = corpus_root() else {
        eprintln!("calico fixtures: corpus not found (set PERCH_CALICO_FIXTURES); skipped");
        return;
    };
    let (mut total, mut matched, mut unexplained) = (0, 0, Vec::new());
    let mut explained = Vec::new();
    for case in cases(&root, "cases.json") {
        for (step, diffs) in run_case(&case) {
            total += 1;
            if diffs.is_empty() {
                matched += 1;
                continue;
            }
            let devs = case.changes_expected_deviations();
            let report = format!("{} step {step}:\n  {}", case.name(), diffs.join("\n  "));
            if devs.is_empty() {
                unexplained.push(report);
            } else {
                let why: Vec<String> = devs
                    .iter()
                    .map(|(id, d)| format!("deviation {id}: {d}"))
                    .collect();
                explained.push(format!("{report}\n  explained by {}", why.join("; ")));
            }
        }
    }
    for case in cases(&root, "count-checks.json") {
        let mut snapshot = case.preloaded();
        for (i, step) in case.steps().iter().enumerate() {
            case.apply_step(&mut snapshot, i);
            total += 1;
            let got: Vec<String> =
                from_plan(&snapshot, case.node(), &PlanOptions::default(), false)
                    .sessions
                    .into_keys()
                    .collect();
            let want: Vec<String> = step["expect_protocol_names"]["bird.cfg"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                want.len() as u64,
                step["expect_bgp_protocols"]["bird.cfg"].as_u64().unwrap()
            );
            if got == want {
                matched += 1;
            } else {
                unexplained.push(format!(
                    "{} step {}: Calico {want:?}, perch {got:?}",
                    case.name(),
                    i + 1
                ));
            }
        }
    }
    println!("calico fixtures: {matched}/{total} steps match");
    for e in &explained {
        println!("explained mismatch: {e}");
    }
    for u in &unexplained {
        println!("UNEXPLAINED mismatch: {u}");
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained mismatching steps (see output)",
        unexplained.len()
    );
}
