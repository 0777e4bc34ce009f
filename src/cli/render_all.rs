//! `perch render-all`: every node's BIRD config from one snapshot, optionally checked by
//! `bird -p` (run concurrently), for CI before a change reaches the datastore.
//!
//! Owns: the node loop (one [`Cluster`] reused for every node), the staging directory, the
//! concurrent checks, progress on stderr and the report. Planning and rendering are the
//! library's; this file only drives them.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::common::SourceArgs;
use super::error::CliError;
use crate::bird::check::{CheckError, parse_check};
use crate::plan::{Cluster, PlanOptions, RouterIdOverride, plan_in};
use crate::render::{MAIN_TEMPLATE, Templates, build_view};

#[derive(Debug, Args)]
#[command(after_help = "\
Every node in the resources is planned and rendered with the same templates `perch run` uses.
With --check each config is validated by `bird -p -c` (BIRD's parse-only mode), several at a
time. One line is printed per failing node, then a summary; the exit code is 1 if any node
failed, else 0.

Examples:
  perch render-all -r cluster/ --check
  perch render-all -r cluster/ --secrets-dir secrets/ --out rendered/ --check --progress
  perch render-all -r cluster/ --templates my-templates/ --check --jobs 8")]
pub struct RenderAllArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Router ID override for every node: an IPv4 address or `hash` (Calico's CALICO_ROUTER_ID).
    #[arg(long, env = "CALICO_ROUTER_ID", value_name = "ID|hash")]
    pub router_id: Option<String>,
    /// One CIDR of cluster IPs to advertise, replacing `serviceClusterIPs` (Calico's
    /// CALICO_ADVERTISE_CLUSTER_IPS).
    #[arg(long, env = "CALICO_ADVERTISE_CLUSTER_IPS", value_name = "CIDR")]
    pub advertise_cluster_ips: Option<String>,
    /// Write each config to `DIR/<node>/bird.cfg`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Validate each config with `bird -p -c`.
    #[arg(long)]
    pub check: bool,
    /// How many `bird -p` checks run at once (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Report progress on stderr (the default when stderr is a terminal).
    #[arg(long)]
    pub progress: bool,
    /// A directory of templates overriding the built-in ones (must contain bird.cfg).
    #[arg(long, env = "PERCH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// The BIRD binary used by --check.
    #[arg(long, env = "PERCH_BIRD", default_value = "bird", value_name = "PATH")]
    pub bird: String,
}

/// Progress lines on stderr, at most every 10% or every second.
struct Progress {
    on: bool,
    total: usize,
    last: Instant,
    last_tenth: usize,
}

impl Progress {
    fn tick(&mut self, rendered: usize, checked: Option<usize>) {
        let done = checked.unwrap_or(rendered);
        let tenth = done * 10 / self.total.max(1);
        if !self.on || (tenth == self.last_tenth && self.last.elapsed() < Duration::from_secs(1)) {
            return;
        }
        self.last = Instant::now();
        self.last_tenth = tenth;
        match checked {
            Some(c) => eprintln!(
                "rendered {rendered}/{t}, checked {c}/{t} nodes…",
                t = self.total
            ),
            None => eprintln!("rendered {rendered}/{} nodes…", self.total),
        }
    }
}

pub(crate) async fn render_all(a: RenderAllArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let snapshot = a.source.load_all().await?;
    let router_id = match a.router_id.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse::<RouterIdOverride>().map_err(CliError::failed)?),
        None => None,
    };
    let options = PlanOptions {
        router_id,
        advertise_cluster_ips: a.advertise_cluster_ips.clone(),
    };
    let templates = match &a.templates {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::builtin(),
    };
    // Without --out, checked configs are staged in a private directory and removed after.
    let staging = (a.check && a.out.is_none())
        .then(|| std::env::temp_dir().join(format!("perch-render-all-{}", std::process::id())));
    let dir = a.out.clone().or_else(|| staging.clone());
    let jobs = a.jobs.filter(|j| *j > 0).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });

    let cluster = Cluster::new(&snapshot);
    let total = snapshot.nodes.len();
    let mut progress = Progress {
        on: a.progress || std::io::stderr().is_terminal(),
        total,
        last: Instant::now(),
        last_tenth: 0,
    };
    let slots = Arc::new(Semaphore::new(jobs));
    let mut checks: JoinSet<(String, Result<(), CheckError>)> = JoinSet::new();
    let mut t = Tally {
        staging: staging.clone(),
        ..Tally::default()
    };
    let mut warnings = BTreeSet::new();
    let (mut sessions, mut rendered) = (0, 0);

    for node in snapshot.nodes.keys() {
        let plan = plan_in(&cluster, node, &options);
        sessions += plan.peers.len();
        warnings.extend(plan.warnings.iter().cloned());
        let text = match templates.render(&build_view(&plan, &snapshot)) {
            Ok(t) => t,
            Err(e) => {
                t.failures
                    .push((node.clone(), format!("cannot render: {e}")));
                continue;
            }
        };
        rendered += 1;
        if let Some(dir) = &dir {
            let path = dir.join(node).join(MAIN_TEMPLATE);
            if let Err(e) = write(&path, &text) {
                t.failures.push((node.clone(), e.to_string()));
                continue;
            }
            if a.check {
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                let (bird, node) = (a.bird.clone(), node.clone());
                checks.spawn(async move {
                    let r = parse_check(&bird, &path).await;
                    drop(permit);
                    (node, r)
                });
            }
        }
        while let Some(r) = checks.try_join_next() {
            t.finish(r);
        }
        progress.tick(rendered, a.check.then_some(t.checked));
    }
    while let Some(r) = checks.join_next().await {
        t.finish(r);
        progress.tick(rendered, Some(t.checked));
    }
    if let Some(s) = &staging {
        let _ = std::fs::remove_dir_all(s);
    }

    for w in &warnings {
        tracing::warn!("{w}");
    }
    let Tally {
        mut failures,
        refused,
        ..
    } = t;
    failures.sort();
    let mut out = std::io::stdout().lock();
    for (node, message) in &failures {
        writeln!(out, "{node}: {message}")?;
    }
    let mut summary = format!(
        "rendered {rendered} of {total} nodes ({sessions} sessions) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if a.check {
        summary.push_str(&format!(
            "; bird -p: {} OK, {refused} refused",
            rendered.saturating_sub(refused)
        ));
    }
    if let Some(o) = &a.out {
        summary.push_str(&format!("; configs in {}", o.display()));
    }
    writeln!(out, "{summary}")?;
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "{} node(s) failed", failures.len())?;
        Ok(ExitCode::FAILURE)
    }
}

/// Check results so far.
#[derive(Default)]
struct Tally {
    staging: Option<PathBuf>,
    checked: usize,
    refused: usize,
    /// `(node, message)`.
    failures: Vec<(String, String)>,
}

impl Tally {
    fn finish(&mut self, r: Result<(String, Result<(), CheckError>), tokio::task::JoinError>) {
        self.checked += 1;
        match r {
            Ok((_, Ok(()))) => {}
            Ok((node, Err(e))) => {
                self.refused += 1;
                let message = shorten(&e.to_string(), self.staging.as_deref());
                self.failures.push((node, message));
            }
            Err(e) => self.failures.push(("(check task)".into(), e.to_string())),
        }
    }
}

/// A node's config that could not be written: that node is reported as failed, the others
/// are still rendered and written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
struct WriteError {
    path: PathBuf,
    source: std::io::Error,
}

/// Writes `path`, creating its directory.
fn write(path: &Path, text: &str) -> Result<(), WriteError> {
    let parent = path.parent().unwrap_or(path);
    std::fs::create_dir_all(parent)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|source| WriteError {
            path: path.to_path_buf(),
            source,
        })
}

/// Drops the private staging directory from BIRD's `file:line:col` messages.
fn shorten(message: &str, staging: Option<&Path>) -> String {
    match staging {
        Some(dir) => message.replace(&format!("{}/", dir.display()), ""),
        None => message.to_owned(),
    }
}
