//! `perch run`: the sidecar daemon.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::common::{BirdSocketArgs, NodeArgs, SourceArgs};
use super::error::CliError;
use crate::bird::install::{CheckMode, Installer};
use crate::daemon::{Daemon, RunConfig};
use crate::resources::duration::GoDuration;
use crate::status::http::Readiness;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CheckArg {
    /// BIRD parses and applies the staged file in one step (`configure "file"`) when it is up;
    /// when it is not, `bird -p` checks it (if installed) and it is installed for BIRD's start.
    Auto,
    /// `bird -p -c` before installing, then `configure` (needs the bird binary next to perch).
    Bird,
    /// Only over the control socket: nothing is installed while BIRD is unreachable.
    Socket,
}

/// What /readyz requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadinessArg {
    /// Ready once the first full datastore sync is applied and BIRD accepted the config.
    Config,
    /// `Config`, plus Calico's BGP rule: within the startup threshold every BGP session must
    /// be Established (and no graceful restart in progress); after it, at least one.
    CalicoBgp,
    /// `Config`, plus the last route check (once per --status-interval) found no prefix
    /// missing in BIRD or in the kernel, and no check failed since (BIRD gone).
    Routes,
}

impl From<ReadinessArg> for Readiness {
    fn from(a: ReadinessArg) -> Readiness {
        match a {
            ReadinessArg::Config => Readiness::Config,
            ReadinessArg::CalicoBgp => Readiness::CalicoBgp,
            ReadinessArg::Routes => Readiness::Routes,
        }
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    let d = GoDuration::parse(text)?;
    if d.seconds() <= 0.0 {
        return Err(format!("{text:?} must be positive"));
    }
    Ok(Duration::from_secs_f64(d.seconds()))
}

#[derive(Debug, Args)]
#[command(after_help = "\
How it works: perch follows the resources (files watched with inotify, or an etcd watch), plans
this node's sessions, renders bird.cfg, and when the bytes change writes it next to --config,
validates it, renames it into place and sends `configure` over BIRD's control socket. If BIRD
refuses, the previous file is put back. BIRD must run with `-c <--config> -s <--bird-socket>`.

Examples:
  perch run -r /etc/perch/resources -n node-1 --config /etc/bird/bird.conf
  DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=https://10.0.0.1:2379 NODENAME=node-1 perch run")]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    /// The config file BIRD reads (`bird -c`); perch writes it atomically.
    #[arg(
        long,
        env = "PERCH_BIRD_CONFIG",
        default_value = "/etc/bird/bird.conf",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    #[command(flatten)]
    pub socket: BirdSocketArgs,
    /// How a new config is validated before it replaces the running one (a refused config
    /// never replaces it).
    #[arg(long, env = "PERCH_CHECK", value_enum, default_value = "auto")]
    pub check: CheckArg,
    /// The bird binary used for `bird -p` checks.
    #[arg(long, env = "PERCH_BIRD", default_value = "bird", value_name = "PATH")]
    pub bird: String,
    /// A directory of templates overriding the built-in ones (watched: edits re-render).
    #[arg(long, env = "PERCH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Re-plan and re-render from the cached resources this often (no re-list), so that a
    /// config file changed behind perch's back is rewritten. BIRD running other protocols than
    /// the plan (configured by hand, say) is repaired as soon as the BIRD monitor sees it.
    #[arg(long, env = "PERCH_RESYNC_INTERVAL", default_value = "60s", value_parser = duration)]
    pub resync_interval: Duration,
    /// Ask BIRD for `show status` this often, to notice restarts and BIRD coming back.
    #[arg(long, env = "PERCH_BIRD_POLL_INTERVAL", default_value = "2s", value_parser = duration)]
    pub bird_poll_interval: Duration,
    /// Time limit for each control-socket command.
    #[arg(long, env = "PERCH_BIRD_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub bird_timeout: Duration,
    /// After the first change, further changes are applied once they pause this long…
    #[arg(long, env = "PERCH_COALESCE_QUIET", default_value = "200ms", value_parser = duration)]
    pub coalesce_quiet: Duration,
    /// …or at the latest this long after the first of them.
    #[arg(long, env = "PERCH_COALESCE_MAX", default_value = "2s", value_parser = duration)]
    pub coalesce_max: Duration,
    /// Address of the status endpoint (/status, /plan, /metrics, /livez, /readyz, /); `off` disables it.
    #[arg(
        long,
        env = "PERCH_HTTP_LISTEN",
        default_value = "127.0.0.1:9099",
        value_name = "ADDR:PORT|off"
    )]
    pub http_listen: String,
    /// What /readyz requires.
    #[arg(long, env = "PERCH_READINESS", value_enum, default_value = "config")]
    pub readiness: ReadinessArg,
    /// With --readiness calico-bgp: how long after start every session must be Established.
    #[arg(long, env = "PERCH_READINESS_THRESHOLD", default_value = "30s", value_parser = duration)]
    pub readiness_threshold: Duration,
    /// Confirmed apply: install each new config with `configure timeout`, and confirm it only
    /// if every session that was Established is Established again within this window;
    /// otherwise BIRD undoes it and that config is held back until the plan changes.
    #[arg(long, env = "PERCH_CONFIRM_WINDOW", value_parser = duration, value_name = "DURATION")]
    pub confirm_window: Option<Duration>,
    /// Check the arguments and environment, print the effective settings and exit without
    /// starting (used to keep deployment manifests honest).
    #[arg(long)]
    pub dry_run: bool,
    /// BIRD's full view (status and every protocol) is read at most this often, however many
    /// requests arrive; the status endpoints, readiness and CalicoNodeStatus all use it. The
    /// route check (`/routes`) runs with it, at most this often.
    #[arg(long, env = "PERCH_STATUS_INTERVAL", default_value = "1s", value_parser = duration)]
    pub status_interval: Duration,
}

pub(crate) async fn run(a: RunArgs) -> Result<ExitCode, CliError> {
    let node = a.node.node_name()?;
    let source = a.source.source()?;
    let cfg = RunConfig {
        node: node.clone(),
        plan_options: a.node.plan_options()?,
        source,
        secrets_dir: a.source.secrets_dir.clone(),
        endpoint_status_dir: a.source.endpoint_status_dir.clone(),
        templates_dir: a.templates.clone(),
        installer: Installer {
            config_path: a.config.clone(),
            socket: a.socket.bird_socket.clone(),
            check: match a.check {
                CheckArg::Auto => CheckMode::Auto,
                CheckArg::Bird => CheckMode::Binary(a.bird.clone()),
                CheckArg::Socket => CheckMode::Socket,
            },
            bird_binary: a.bird.clone(),
            command_timeout: a.bird_timeout,
        },
        resync_interval: a.resync_interval,
        bird_poll_interval: a.bird_poll_interval,
        status_interval: a.status_interval,
        quiet: a.coalesce_quiet,
        max_delay: a.coalesce_max,
        confirm_window: a.confirm_window,
        readiness: a.readiness.into(),
        readiness_threshold: a.readiness_threshold,
    };
    if a.dry_run {
        print!("{}", dry_run_report(&a, &cfg));
        return Ok(ExitCode::SUCCESS);
    }
    let listener = match a.http_listen.as_str() {
        "off" | "" => None,
        addr => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| CliError::failed(format!("--http-listen {addr}: {e}")))?,
        ),
    };
    info!(node = %node, config = %a.config.display(), socket = %a.socket.bird_socket.display(), "perch starting");
    let cancel = CancellationToken::new();
    let daemon = Daemon::start(cfg, listener, cancel.clone());
    shutdown_signal().await;
    info!("shutting down");
    cancel.cancel();
    daemon.join().await;
    Ok(ExitCode::SUCCESS)
}

/// The effective settings, one per line, for `--dry-run`.
fn dry_run_report(a: &RunArgs, cfg: &RunConfig) -> String {
    let mut out = String::from("perch run would start with:\n");
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<18} {v}\n"));
    line("node", cfg.node.clone());
    line("datastore", cfg.source.describe());
    line(
        "secrets",
        cfg.secrets_dir
            .as_ref()
            .map_or("none".into(), |d| d.display().to_string()),
    );
    line(
        "templates",
        cfg.templates_dir
            .as_ref()
            .map_or("built-in".into(), |d| d.display().to_string()),
    );
    line(
        "bird config",
        cfg.installer.config_path.display().to_string(),
    );
    line("bird socket", cfg.installer.socket.display().to_string());
    line("check", format!("{:?}", cfg.installer.check));
    line("http", a.http_listen.clone());
    line(
        "readiness",
        format!("{:?} (threshold {:?})", a.readiness, a.readiness_threshold),
    );
    line("resync", format!("{:?}", cfg.resync_interval));
    line(
        "coalesce",
        format!("quiet {:?}, max {:?}", cfg.quiet, cfg.max_delay),
    );
    line(
        "confirm window",
        cfg.confirm_window
            .map_or("off".into(), |w| format!("{w:?}")),
    );
    if let Some(dir) = &cfg.templates_dir
        && let Err(e) = crate::render::Templates::from_dir(dir)
    {
        line("warning", e.to_string());
    }
    out
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
