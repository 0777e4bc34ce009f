//! The file datastore's reading costs: `cargo bench --bench files`.
//!
//! 1. **relist**: a directory of 5,000 resource files (one BGPPeer each) read and decoded as
//!    one list, as `perch run` does after each change. Goal: under 2 s on 2 shared cores
//!    (the read runs on a blocking thread, so the status server and the sync task are not
//!    held up meanwhile).
//! 2. **deep**: documents of 10k, 40k and 100k nested `[` are refused; the time must grow
//!    linearly with the size (the pre-scan refuses them before the parser sees them).
//!    Goal: 100k under 10 ms.

use std::time::Instant;

use perch::datastore::files::read_events;
use perch::resources::decode::parse_documents;

fn relist() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..5000 {
        std::fs::write(
            tmp.path().join(format!("peer-{i:04}.yaml")),
            format!(
                "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: peer-{i}}}\n\
                 spec: {{peerIP: 10.{}.{}.1, asNumber: 65001, nodeSelector: rack == 'r{}'}}\n",
                i / 250,
                i % 250,
                i % 20
            ),
        )
        .unwrap();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let events = read_events(tmp.path()).unwrap();
        assert_eq!(events.len(), 5000);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "relist: 5,000 files read and decoded in {:.0} ms (best of 5)",
        best * 1000.0
    );
}

fn deep() {
    for n in [10_000usize, 40_000, 100_000] {
        let text = format!("a: {}", "[".repeat(n));
        let t = Instant::now();
        let err = parse_documents(&text).unwrap_err();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(err.message.contains("nested deeper"), "{err}");
        println!("deep: {n} nested [ refused in {ms:.2} ms");
    }
}

fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "relist") {
        relist();
    }
    if only.as_deref().is_none_or(|o| o == "deep") {
        deep();
    }
}
