//! Conformance with Calico: every step of Calico's own confd fixture corpus (v3.32.1, the
//! target, and v3.31.7) is applied, the node's config rendered by perch's real renderer (what
//! `perch render` prints), and compared section by section with the files Calico rendered:
//! router id, listen port, every BGP session with all its options and filter statements,
//! static routes, aggregation, communities, the export policy, the kernel-programming policy
//! and each BGPFilter function. The BIRD 1.6 / BIRD 2 normalisation is `support::birdconf`
//! (its doc table names every allowed difference). A remaining difference must be listed in
//! [`EXPLAINED`] with its reason; anything else fails the test.

mod support;

use perch::plan::{PlanOptions, plan};
use perch::render::{Templates, render};
use support::birdconf::{self, Difference, Version};
use support::fixtures::{Case, cases, corpus_root};

/// A known difference: steps of cases whose name starts with `case`, in sections starting
/// with `section`, where Calico's side contains `calico` (empty: anything), and why.
/// `PERCH_CONFORMANCE_RAW=1` prints every difference as if nothing were explained.
struct Explained {
    case: &'static str,
    section: &'static str,
    calico: &'static str,
    why: &'static str,
}

const EXPLAINED: &[Explained] = &[
    Explained {
        case: "explicit_peering/route_reflector_v6_by_ip",
        section: "ipv6 session Node_fe0a__",
        calico: "",
        why: "deviation 2: a peerIP BGPPeer without asNumber is skipped (Calico renders its reverse peerings)",
    },
    Explained {
        case: "bgpfilter/filter_deletion",
        section: "ipv",
        calico: "",
        why: "fail closed (issue 9 item 5): the BGPPeer still names the deleted BGPFilter; Calico drops the call and accepts every route, perch rejects every route of those sessions",
    },
    Explained {
        case: "mesh/static-routes",
        section: "ipv4 static routes",
        calico: "/32 blackhole",
        why: "per-Service /32 advertisement needs Kubernetes Services and EndpointSlices, which perch does not read (README: not supported)",
    },
    Explained {
        case: "mesh/static-routes",
        section: "ipv6 static routes",
        calico: "/128 blackhole",
        why: "per-Service /128 advertisement needs Kubernetes Services and EndpointSlices, which perch does not read (README: not supported)",
    },
    Explained {
        case: "mesh/static-routes",
        section: "ipv",
        calico: "/32\"",
        why: "per-Service /32 advertisement needs Kubernetes Services and EndpointSlices, which perch does not read (README: not supported)",
    },
    Explained {
        case: "mesh/static-routes",
        section: "ipv6 export accepted",
        calico: "/128\"",
        why: "per-Service /128 advertisement needs Kubernetes Services and EndpointSlices, which perch does not read (README: not supported)",
    },
    Explained {
        case: "explicit_peering/global",
        section: "bind to node address",
        calico: "true",
        why: "BIRD 2 has one address per session for listening and connecting: the sourceAddress None session gets no source address (as in Calico), so no session can be bound to the node address (README: BIRD 2 adaptations, bindMode NodeIP)",
    },
];

fn explanation(case: &str, d: &Difference) -> Option<&'static str> {
    if std::env::var_os("PERCH_CONFORMANCE_RAW").is_some() {
        return None;
    }
    EXPLAINED
        .iter()
        .find(|e| {
            case.starts_with(e.case)
                && d.section.starts_with(e.section)
                && d.calico.contains(e.calico)
        })
        .map(|e| e.why)
}

/// What `perch render` prints for the case's node in the current state.
fn rendered(case: &Case, snapshot: &perch::snapshot::Snapshot) -> String {
    let options = PlanOptions {
        router_id: case.env("CALICO_ROUTER_ID").map(|v| v.parse().unwrap()),
        ..Default::default()
    };
    let p = plan(snapshot, case.node(), &options);
    render(&p, snapshot, &Templates::builtin())
        .unwrap_or_else(|e| panic!("{}: render: {e}", case.name()))
}

struct Outcome {
    total: usize,
    matched: usize,
    explained: Vec<String>,
    unexplained: Vec<String>,
}

fn run_corpus(root: &std::path::Path, file: &str, version: Version) -> Outcome {
    let mut o = Outcome {
        total: 0,
        matched: 0,
        explained: Vec::new(),
        unexplained: Vec::new(),
    };
    for case in cases(root, file) {
        let mut snapshot = case.preloaded();
        for (i, step) in case.steps().iter().enumerate() {
            case.apply_step(&mut snapshot, i);
            o.total += 1;
            let dir = case.base().join(step["expect"].as_str().unwrap());
            let calico = birdconf::calico(&dir);
            let mut ours = birdconf::perch(&rendered(&case, &snapshot));
            if version == Version::V3_31 {
                birdconf::without_route_priority(&mut ours);
            }
            let diffs = birdconf::diff(&calico, &ours);
            if diffs.is_empty() {
                o.matched += 1;
                continue;
            }
            let at = format!("{} step {}", case.name(), i + 1);
            let (mut why, mut unknown) = (Vec::new(), Vec::new());
            for d in &diffs {
                match explanation(case.name(), d) {
                    Some(w) => why.push(format!("{}: {w}", d.section)),
                    None => unknown.push(format!("  {d}")),
                }
            }
            why.dedup();
            if unknown.is_empty() {
                o.explained.push(format!("{at}:\n  {}", why.join("\n  ")));
            } else {
                o.unexplained.push(format!("{at}:\n{}", unknown.join("\n")));
            }
        }
    }
    o
}

/// Calico checks these only by counting `protocol bgp` lines in `bird.cfg`.
fn run_count_checks(root: &std::path::Path, file: &str, o: &mut Outcome) {
    for case in cases(root, file) {
        let mut snapshot = case.preloaded();
        for (i, step) in case.steps().iter().enumerate() {
            case.apply_step(&mut snapshot, i);
            o.total += 1;
            let got: Vec<String> = birdconf::perch(&rendered(&case, &snapshot))
                .v4
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
                o.matched += 1;
            } else {
                o.unexplained.push(format!(
                    "{} step {}: Calico {want:?}, perch {got:?}",
                    case.name(),
                    i + 1
                ));
            }
        }
    }
}

#[test]
fn calico_fixtures() {
    let root = corpus_root().filter(|r| r.join("cases-v3.32.1.json").is_file());
    let Some(root) = root else {
        assert!(
            std::env::var_os("CI").is_none(),
            "calico fixtures: corpus not found (../shared/calico-fixtures or PERCH_CALICO_FIXTURES); CI must run this test"
        );
        eprintln!("calico fixtures: corpus not found (set PERCH_CALICO_FIXTURES); skipped");
        return;
    };
    let mut failed = 0;
    for (label, file, counts, version) in [
        (
            "v3.32.1",
            "cases-v3.32.1.json",
            "count-checks-v3.32.1.json",
            Version::V3_32,
        ),
        ("v3.31.7", "cases.json", "count-checks.json", Version::V3_31),
    ] {
        let mut o = run_corpus(&root, file, version);
        run_count_checks(&root, counts, &mut o);
        println!(
            "calico fixtures {label}: {}/{} steps match",
            o.matched, o.total
        );
        for e in &o.explained {
            println!("{label} explained mismatch: {e}");
        }
        for u in &o.unexplained {
            println!("{label} UNEXPLAINED mismatch: {u}");
        }
        failed += o.unexplained.len();
    }
    assert!(
        failed == 0,
        "{failed} unexplained mismatching steps (see output)"
    );
}
