//! `perch plan` and `perch render`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::common::{NodeArgs, SourceArgs};
use super::error::CliError;
use crate::plan::explain::explain_bgp_peers;
use crate::plan::{Cluster, Plan, plan_in};
use crate::render::Templates;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanOutput {
    Json,
    Table,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  perch plan -r containers/example/resources -n node-1\n  perch plan -r cluster.yaml -n node-1 --output json\n  perch plan -r cluster.yaml -n node-1 --explain\n  DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=http://10.0.0.1:2379 perch plan -n node-1"
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Output format: `json` follows the plan contract field for field.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: PlanOutput,
    /// Also show, per BGPPeer, which nodes each side selects and why it adds nothing here.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  perch render -r containers/example/resources -n node-1\n  perch render -r cluster.yaml -n node-1 --out /etc/bird --check\n  perch render --datastore etcdv3 --etcd-endpoints https://10.0.0.1:2379 \\\n      --etcd-ca-cert-file ca.pem --etcd-cert-file c.pem --etcd-key-file c-key.pem -n node-1"
)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Write `bird.cfg` into this directory instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Validate the rendered config with `bird -p -c` (BIRD's parse-only mode).
    #[arg(long)]
    pub check: bool,
    /// A directory of templates overriding the built-in ones (must contain bird.cfg).
    #[arg(long, env = "PERCH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// The BIRD binary used by --check.
    #[arg(long, env = "PERCH_BIRD", default_value = "bird", value_name = "PATH")]
    pub bird: String,
}

pub(crate) async fn plan(a: PlanArgs) -> Result<ExitCode, CliError> {
    let node = a.node.node_name()?;
    let snapshot = a.source.load(&node).await?;
    let options = a.node.plan_options()?;
    let cluster = Cluster::new(&snapshot);
    let plan = plan_in(&cluster, &node, &options);
    let mut out = std::io::stdout().lock();
    match a.output {
        PlanOutput::Json => {
            let mut v = serde_json::to_value(&plan).map_err(|e| CliError::failed(e.to_string()))?;
            if a.explain {
                v["explain"] =
                    serde_json::to_value(explain_bgp_peers(&cluster, &plan)).unwrap_or_default();
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )?;
        }
        PlanOutput::Table => {
            write!(out, "{}", plan_table(&plan))?;
            if a.explain {
                write!(out, "{}", explain_text(&cluster, &plan))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn render(a: RenderArgs) -> Result<ExitCode, CliError> {
    let node = a.node.node_name()?;
    let snapshot = a.source.load(&node).await?;
    let plan = crate::plan::plan(&snapshot, &node, &a.node.plan_options()?);
    let templates = match &a.templates {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::builtin(),
    };
    let text = crate::render::render(&plan, &snapshot, &templates)?;
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    let written = match &a.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::failed(format!("{}: {e}", dir.display())))?;
            let path = dir.join(crate::render::MAIN_TEMPLATE);
            std::fs::write(&path, &text)
                .map_err(|e| CliError::failed(format!("{}: {e}", path.display())))?;
            eprintln!("wrote {} ({} sessions)", path.display(), plan.peers.len());
            Some(path)
        }
        None => {
            if !a.check {
                std::io::stdout().lock().write_all(text.as_bytes())?;
            }
            None
        }
    };
    if a.check {
        let dir;
        let path = match written {
            Some(p) => p,
            None => {
                dir = tempfile_dir()?;
                let p = dir.join(crate::render::MAIN_TEMPLATE);
                std::fs::write(&p, &text)?;
                p
            }
        };
        let result = crate::bird::check::parse_check(&a.bird, &path).await;
        if a.out.is_none() {
            let _ = std::fs::remove_dir_all(path.parent().unwrap_or(&path));
        }
        match result {
            Ok(()) => eprintln!("bird -p: configuration OK"),
            Err(e) => return Err(CliError::failed(e.to_string())),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("perch-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Pads each column to its widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn plan_table(plan: &Plan) -> String {
    let mut out = String::new();
    let or_dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "node {}{}  router id {}  AS {}  listen port {}  mesh {}{}\n",
        plan.node,
        if plan.node_found {
            ""
        } else {
            " (not found in the datastore)"
        },
        or_dash(plan.router_id.clone()),
        plan.as_number,
        plan.listen_port.map_or("179".into(), |p| p.to_string()),
        if plan.mesh_enabled { "on" } else { "off" },
        plan.route_reflector_cluster_id
            .as_ref()
            .map_or(String::new(), |id| format!(
                "  route reflector (cluster {id})"
            )),
    ));
    if plan.peers.is_empty() {
        out.push_str("\nno BGP sessions planned\n");
    } else {
        let rows: Vec<Vec<String>> = plan
            .peers
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.peer_type.describe().into(),
                    p.peer_ip.to_string(),
                    or_dash(p.port.map(|x| x.to_string())),
                    p.as_number.to_string(),
                    p.local_as_number.to_string(),
                    if p.passive { "yes".into() } else { "-".into() },
                    if p.route_reflector_client {
                        "yes".into()
                    } else {
                        "-".into()
                    },
                    p.origin.join(", "),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "NAME",
                "TYPE",
                "PEER",
                "PORT",
                "AS",
                "LOCAL AS",
                "PASSIVE",
                "RR CLIENT",
                "ORIGIN",
            ],
            &rows,
        ));
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in &plan.warnings {
            out.push_str(&format!("  {w}\n"));
        }
    }
    out
}

fn explain_text(cluster: &Cluster<'_>, plan: &Plan) -> String {
    let explanations = explain_bgp_peers(cluster, plan);
    if explanations.is_empty() {
        return "\nno BGPPeers\n".into();
    }
    explanations
        .iter()
        .map(|e| super::explain::bgp_peer_text(&plan.node, e))
        .collect()
}
