//! The command line: clap definitions turned into typed settings, one file per family of
//! subcommands. Each subcommand returns `Result<ExitCode, CliError>`; `main` prints the error.
//!
//! This file holds the top-level clap definition and dispatches to the subcommand files; what
//! they share lives in leaf files they import (`error.rs`, `common.rs`), never here, so no
//! subcommand imports its parent.

pub(crate) mod common;
pub(crate) mod error;
pub(crate) mod explain;
pub(crate) mod plan;
pub(crate) mod preview;
pub(crate) mod render_all;
pub(crate) mod resource;
pub(crate) mod route_explain;
pub(crate) mod routes;
pub(crate) mod run;
pub(crate) mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// perch's command line.
#[derive(Debug, Parser)]
#[command(
    name = "perch",
    version,
    about = "A BGP control-plane sidecar for BIRD 2 that reads Calico v3 BGP resources",
    long_about = "perch reads Calico v3 BGP resources (Node, BGPConfiguration, BGPPeer, IPPool, \
BGPFilter, CalicoNodeStatus, block affinities) from etcd in Calico's own key layout, or from a \
directory of YAML files, plans this node's BGP sessions exactly as Calico does, renders BIRD 2 \
config from tera templates, installs it safely and reports peering status.\n\n\
Try it without etcd: `perch plan -r containers/example/resources -n node-1 --explain` shows a \
node's sessions and why each BGPPeer does or does not apply; `perch render … --check` the BIRD \
config; `perch run` keeps BIRD current. With etcd, set DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS \
(as for calicoctl) and every command reads Calico's datastore; apply/get/patch/label/delete edit it.",
    after_help = "Exit codes: 0 success, 1 failure (unreadable input, rejected config, …), 2 usage error."
)]
pub struct Cli {
    /// Log filter, e.g. `info`, `debug`, `perch=debug` (tracing env-filter syntax).
    #[arg(long, global = true, env = "PERCH_LOG", default_value = "info")]
    pub log: String,
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "PERCH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// perch's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show this node's planned BGP sessions (the peer list perch renders).
    Plan(plan::PlanArgs),
    /// Render this node's BIRD config (to stdout or a directory), optionally checked by `bird -p`.
    Render(plan::RenderArgs),
    /// Run the sidecar: follow the resources and keep BIRD's config current.
    Run(run::RunArgs),
    /// Show this node's BGP sessions as BIRD reports them (like `calicoctl node status`).
    Status(status::StatusArgs),
    /// apply, create, get, delete, patch, label: calicoctl-style edits of resources in etcd.
    #[command(flatten)]
    Resource(resource::ResourceCommand),
    /// Show what a change would do to every node's sessions (added, removed, reset, reloaded).
    Preview(preview::PreviewArgs),
    /// Render every node's BIRD config (for CI), optionally checked by `bird -p`.
    RenderAll(render_all::RenderAllArgs),
    /// Every prefix this node must route, checked against BIRD's and the kernel's tables.
    Routes(routes::RoutesArgs),
    /// Explain why a node has a session (and each option's value), or why a BGPPeer adds nothing.
    Explain(explain::ExplainArgs),
}

/// Everything `main` does: logging set up as asked, the async runtime, the command, and
/// the error printed once with its exit code.
pub fn entry(cli: Cli) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // A file still being read on a blocking thread must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("perch: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Plan(a) => plan::plan(a).await,
        Command::Render(a) => plan::render(a).await,
        Command::Run(a) => run::run(a).await,
        Command::Status(a) => status::status(a).await,
        Command::Resource(c) => resource::run(c).await,
        Command::Preview(a) => preview::preview_cmd(a).await,
        Command::RenderAll(a) => render_all::render_all(a).await,
        Command::Explain(a) => match explain::route_query(&a) {
            Some(prefix) => route_explain::explain_route(&a, &prefix).await,
            None => explain::explain(a).await,
        },
        Command::Routes(a) => routes::routes(a).await,
    }
}
