//! The route prober: every 100 ms it reads each watched node's kernel routes (one
//! `ip -n NS -j route show proto bird` per node per sample) and notes, for every other node's
//! block, whether the route is there. A gap is a run of samples in which a node lacks a route
//! it had before; its length runs from the first sample without the route to the first sample
//! with it again (or to the end of probing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::node::kernel_routes;

/// The sampling period.
pub const PERIOD: Duration = Duration::from_millis(100);

/// One node to watch: its namespace and the blocks (owner, CIDR) it must have routes to.
#[derive(Debug, Clone)]
pub struct Target {
    pub node: String,
    pub ns: String,
    pub blocks: Vec<(String, String)>,
}

/// A node without a route to another node's block for a while.
#[derive(Debug, Clone)]
pub struct Gap {
    pub node: String,
    pub owner: String,
    /// From the start of probing to the first sample without the route.
    pub at: Duration,
    pub length: Duration,
    pub samples: u32,
}

/// What the prober saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub samples: u32,
    pub gaps: Vec<Gap>,
    /// Errors reading a routing table (not counted as gaps).
    pub errors: Vec<String>,
    /// `node → owner` pairs never routed while probing (probing must start converged).
    pub never_routed: Vec<String>,
    pub probed_for: Duration,
}

impl Report {
    /// The longest gap, zero when there was none.
    pub fn longest(&self) -> Duration {
        self.gaps.iter().map(|g| g.length).max().unwrap_or_default()
    }

    /// One line: samples, gaps and the longest.
    pub fn summary(&self) -> String {
        let worst = self
            .gaps
            .iter()
            .max_by_key(|g| g.length)
            .map(|g| {
                format!(
                    " ({} → {}'s block at +{} ms)",
                    g.node,
                    g.owner,
                    g.at.as_millis()
                )
            })
            .unwrap_or_default();
        format!(
            "{} samples over {:.1} s, {} gaps, longest {} ms{worst}",
            self.samples,
            self.probed_for.as_secs_f64(),
            self.gaps.len(),
            self.longest().as_millis(),
        )
    }
}

/// A running prober.
pub struct Prober {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Report>>,
}

impl Prober {
    /// Starts sampling `targets` every [`PERIOD`]; returns once the first sample is taken,
    /// so that changes made afterwards are measured against it.
    pub fn start(targets: Vec<Target>) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (first, sampled) = mpsc::channel();
        let handle = std::thread::spawn(move || sample(&targets, &flag, first));
        // If the thread fails before its first sample, the join in `stop` reports it.
        let _ = sampled.recv();
        Prober {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops sampling and returns the report.
    pub fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .expect("stopped once")
            .join()
            .expect("the prober thread does not panic")
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// An open gap: when it started and how many samples it has lasted.
type Open = BTreeMap<(usize, usize), (Duration, u32)>;

fn sample(targets: &[Target], stop: &AtomicBool, first: mpsc::Sender<()>) -> Report {
    let start = Instant::now();
    let mut report = Report::default();
    // The (target, block) pairs seen routed: gaps count only after that.
    let mut seen: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut open: Open = BTreeMap::new();
    let mut next = start;
    while !stop.load(Ordering::SeqCst) {
        for (t, target) in targets.iter().enumerate() {
            let routes = match kernel_routes(&target.ns) {
                Ok(r) => r,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            let now = start.elapsed();
            for (b, (owner, cidr)) in target.blocks.iter().enumerate() {
                let key = (t, b);
                if routes.contains(cidr) {
                    seen.insert(key);
                    if let Some((at, samples)) = open.remove(&key) {
                        report.gaps.push(Gap {
                            node: target.node.clone(),
                            owner: owner.clone(),
                            at,
                            length: now - at,
                            samples,
                        });
                    }
                } else if seen.contains(&key) {
                    open.entry(key).or_insert((now, 0)).1 += 1;
                }
            }
        }
        report.samples += 1;
        let _ = first.send(());
        next += PERIOD;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let end = start.elapsed();
    for (t, target) in targets.iter().enumerate() {
        for (b, (owner, _)) in target.blocks.iter().enumerate() {
            if !seen.contains(&(t, b)) {
                report
                    .never_routed
                    .push(format!("{} → {owner}", target.node));
            }
        }
    }
    for ((t, b), (at, samples)) in open {
        report.gaps.push(Gap {
            node: targets[t].node.clone(),
            owner: targets[t].blocks[b].0.clone(),
            at,
            length: end - at,
            samples,
        });
    }
    report.probed_for = end;
    report
}
