//! The hitless mesh → route-reflector migration, end to end: Calico's guide order keeps every
//! node's route to every other node's block in the kernel throughout (a prober samples them
//! every 100 ms), while the naive order (mesh off first) leaves a gap the prober sees. And
//! `perch preview`, run before each step, names exactly the BGP protocols BIRD then creates
//! and removes on every node.

#[path = "lab/mod.rs"]
mod lab;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use lab::migration::{self, GUIDE, NAIVE, Step};
use lab::prober::Prober;
use lab::{Lab, ms};
use serde_json::Value;

/// A converged four-node mesh with the reflectors' machines running.
fn mesh_with_reflector_machines() -> Lab {
    let t = Instant::now();
    let mut lab = Lab::start(4);
    lab.wait_mesh();
    lab.wait_routes();
    migration::start_reflector_machines(&mut lab);
    println!(
        "lab: 4-node mesh converged, reflector machines up, in {} ms",
        ms(t)
    );
    lab
}

#[test]
fn the_guide_order_migrates_without_a_gap() {
    let lab = mesh_with_reflector_machines();
    let prober = Prober::start(lab.probe_targets());
    let took = migration::run(&lab, &GUIDE, "guide order");
    let report = prober.stop();
    println!(
        "lab guide order: migrated in {} ms; prober: {}",
        took.as_millis(),
        report.summary()
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.never_routed.is_empty(), "{:?}", report.never_routed);
    assert!(report.samples > 10, "the prober sampled throughout");
    assert!(
        report.gaps.is_empty(),
        "no node lost a route: {:?}",
        report.gaps
    );
}

#[test]
fn the_naive_order_leaves_a_gap_the_prober_sees() {
    let lab = mesh_with_reflector_machines();
    let prober = Prober::start(lab.probe_targets());
    let took = migration::run(&lab, &NAIVE, "naive order");
    let report = prober.stop();
    println!(
        "lab naive order: migrated in {} ms; prober: {}",
        took.as_millis(),
        report.summary()
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.never_routed.is_empty(), "{:?}", report.never_routed);
    assert!(
        report.longest().as_millis() > 0,
        "the mesh off first drops routes"
    );
    // Every worker loses every other worker's block until the reflectors are in.
    assert_eq!(report.gaps.len(), 4 * 3, "{:?}", report.gaps);
}

/// Per node, the sessions added and removed (nodes with neither are left out).
type Changes = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

/// What `perch preview -o json` says each node gains and loses.
fn previewed(report: &Value) -> Changes {
    let names = |list: &Value| -> BTreeSet<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    report["nodes"]
        .as_array()
        .expect("a nodes list")
        .iter()
        .map(|n| {
            let node = n["node"].as_str().unwrap().to_owned();
            (node, (names(&n["added"]), names(&n["removed"])))
        })
        .filter(|(_, (a, r))| !a.is_empty() || !r.is_empty())
        .collect()
}

/// The BGP protocols each node's BIRD runs.
fn protocols(lab: &Lab) -> BTreeMap<String, BTreeSet<String>> {
    lab.nodes
        .iter()
        .map(|n| (n.name.clone(), n.protocols().into_iter().collect()))
        .collect()
}

/// What BIRD created and removed between two readings.
fn created_and_removed(
    before: &BTreeMap<String, BTreeSet<String>>,
    after: &BTreeMap<String, BTreeSet<String>>,
) -> Changes {
    after
        .iter()
        .map(|(node, now)| {
            let was = &before[node];
            let added = now.difference(was).cloned().collect();
            let removed = was.difference(now).cloned().collect();
            (node.clone(), (added, removed))
        })
        .filter(
            |(_, (a, r)): &(String, (BTreeSet<String>, BTreeSet<String>))| {
                !a.is_empty() || !r.is_empty()
            },
        )
        .collect()
}

#[test]
fn preview_names_exactly_the_sessions_bird_creates_and_removes() {
    let lab = mesh_with_reflector_machines();
    for (i, step) in GUIDE.into_iter().enumerate() {
        if step == Step::MeshOff {
            migration::wait_reflector_sessions(&lab, true);
        }
        let file = lab.write(&format!("preview-{}.yaml", i + 1), &step.resulting(&lab));
        let run = support::commands::perch(
            &lab.etcd,
            &["preview", "-f", file.to_str().unwrap(), "-o", "json"],
        );
        let report: Value = serde_json::from_str(&run.stdout).expect("preview JSON");
        // A reflector with a cluster ID leaves the mesh before the BGPPeer brings it back:
        // the preview flags the reflectors (exit code 2), never a worker.
        let isolated: Vec<&str> = report["summary"]["isolatedNodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["node"].as_str().unwrap())
            .collect();
        assert!(
            isolated.iter().all(|n| n.starts_with("rr-")),
            "step {}: {isolated:?}",
            step.name()
        );
        assert_eq!(run.ok, isolated.is_empty(), "{}", run.stderr);
        let said = previewed(&report);
        let before = protocols(&lab);
        let t = Instant::now();
        step.apply(&lab);
        lab.wait_applied(lab.etcd.revision());
        let did = created_and_removed(&before, &protocols(&lab));
        assert_eq!(
            said,
            did,
            "step {} ({}): preview vs BIRD",
            i + 1,
            step.name()
        );
        let count = |c: &Changes, added: bool| -> usize {
            c.values()
                .map(|(a, r)| if added { a.len() } else { r.len() })
                .sum()
        };
        println!(
            "lab preview: step {} ({}): previewed {} added / {} removed on {} nodes; BIRD did the same ({} ms)",
            i + 1,
            step.name(),
            count(&said, true),
            count(&said, false),
            said.len(),
            ms(t)
        );
    }
    assert!(
        !protocols(&lab)
            .values()
            .any(|p| p.iter().any(|n| n.starts_with("Mesh_")))
    );
}
