//! `perch preview`: the blast radius of a proposed change, before it reaches the datastore.
//!
//! Owns: reading the change files, the text and JSON reports, the exit codes. The comparison
//! itself is [`crate::preview`] (pure).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::SourceArgs;
use super::error::CliError;
use crate::plan::{PlanOptions, RouterIdOverride};
use crate::preview::change::{self, Change, ChangeSummary};
use crate::preview::{NodePreview, Preview, SessionChange, preview};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PreviewOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
For each node, sessions are:
  added     a new BGP protocol starts
  removed   the protocol goes away (the peer gets a Cease NOTIFICATION)
  reset     the protocol restarts: an option BIRD compares changed (AS, address, port, router id,
            local port, passive, ttl security, source address, password, graceful restart or
            keepalive time, rr client, allow local as, strict bind)
  reloaded  the session stays up; routes are re-exported (export filter, next hop, Calico's
            export policy) or re-requested with ROUTE-REFRESH (import filter)

Exit codes: 0 the change is safe to apply; 2 it would leave a node with no BGP peers at all
(unless --allow-isolation); 1 an error (unreadable or invalid change, unreadable resources).

JSON (--output json): {\"change\": [{action, resource, from}], \"nodes\": [{node, nodeChange,
sessionsBefore, sessionsAfter, added: [{name, type, peerIP, remoteNode, origin}], removed: [..],
reset: [{name, changes: [{option, effect, before, after, text}]}], reloaded: [..], isolated,
lostRouteReflectors}], \"summary\": {nodesBefore, nodesAfter, nodesTouched, nodesAdded,
nodesRemoved, sessionsAdded, sessionsRemoved, sessionsReset, sessionsReloaded, isolatedNodes:
[{node, before}], lostRouteReflectors: [{node, before}], newWarnings: [{resource, message}]}}.
Only touched nodes are listed. Passwords are never shown: a password change is `password changed`.

Examples:
  perch preview -r cluster/ -f new-peer.yaml
  perch preview -r cluster/ --secrets-dir /etc/perch/secrets -f filter.yaml -f peer.yaml
  perch preview -r cluster/ --delete -f old-peer.yaml
  perch preview --datastore etcdv3 --patch bgpconfiguration default -p '{\"spec\":{\"nodeToNodeMeshEnabled\":false}}'
  kubectl get bgppeer tor -o yaml | sed s/65001/65002/ | perch preview -r cluster/ -f - -o json")]
pub struct PreviewArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// A file of resources to create or replace (`-` for stdin); repeat for several, applied
    /// in order.
    #[arg(
        long = "filename",
        short = 'f',
        value_name = "FILE",
        required_unless_present = "patch"
    )]
    pub files: Vec<PathBuf>,
    /// Preview a JSON merge patch of one resource instead (as `perch patch KIND NAME -p JSON`;
    /// patching `bgpconfiguration default` previews creating it when absent).
    #[arg(long, num_args = 2, value_names = ["KIND", "NAME"], requires = "patch_json", conflicts_with = "delete")]
    pub patch: Option<Vec<String>>,
    /// The merge patch for --patch.
    #[arg(short = 'p', long = "patch-json", value_name = "JSON")]
    pub patch_json: Option<String>,
    /// The files name resources to delete (as `calicoctl delete -f`): only kind and name are read.
    #[arg(long)]
    pub delete: bool,
    /// Router ID override for every node: an IPv4 address or `hash` (Calico's CALICO_ROUTER_ID).
    #[arg(long, env = "CALICO_ROUTER_ID", value_name = "ID|hash")]
    pub router_id: Option<String>,
    /// One CIDR of cluster IPs to advertise, replacing `serviceClusterIPs` (Calico's
    /// CALICO_ADVERTISE_CLUSTER_IPS).
    #[arg(long, env = "CALICO_ADVERTISE_CLUSTER_IPS", value_name = "CIDR")]
    pub advertise_cluster_ips: Option<String>,
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: PreviewOutput,
    /// Exit 0 even when a node would be left with no BGP peers.
    #[arg(long)]
    pub allow_isolation: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    change: Vec<ChangeSummary>,
    #[serde(flatten)]
    preview: &'a Preview,
}

/// The resource `--patch KIND NAME -p JSON` would produce, as a change.
fn patched(
    a: &PreviewArgs,
    before: &crate::snapshot::Snapshot,
) -> Result<Option<(Change, String)>, CliError> {
    let (Some(target), Some(json)) = (&a.patch, &a.patch_json) else {
        return Ok(None);
    };
    let kind = crate::resources::Kind::parse(&target[0])
        .ok_or_else(|| CliError::failed(format!("unknown resource kind {:?}", target[0])))?;
    let id = crate::resources::ResourceId::new(kind, &target[1]);
    let patch: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| CliError::failed(format!("--patch-json is not JSON: {e}")))?;
    let mut current = match before.get(&id) {
        Some(r) => r.to_json(),
        None if kind == crate::resources::Kind::BgpConfiguration && id.name == "default" => {
            serde_json::json!({
                "kind": "BGPConfiguration", "apiVersion": crate::resources::API_VERSION, "metadata": {"name": "default"}, "spec": {}
            })
        }
        None => return Err(CliError::failed(format!("{id} does not exist"))),
    };
    super::resource::edit::merge_patch(&mut current, &patch);
    let resource = crate::resources::decode::decode_resource(&current)
        .map_err(|e| CliError::failed(format!("invalid change: {e}")))?;
    if resource.id() != id {
        return Err(CliError::failed(format!(
            "the patch renames {id}; patches cannot change kind or name"
        )));
    }
    crate::resources::validate::check(&resource).map_err(|e| {
        CliError::failed(format!(
            "invalid change: {}",
            crate::resources::Warning::new(&id, e)
        ))
    })?;
    Ok(Some((Change::Upsert(resource), "--patch".into())))
}

/// Reads every change file, in order.
fn read_changes(a: &PreviewArgs) -> Result<Vec<(Change, String)>, CliError> {
    let mut out = Vec::new();
    for path in &a.files {
        let (origin, text) = if path.as_os_str() == "-" {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .map_err(|e| CliError::failed(format!("stdin: {e}")))?;
            ("stdin".to_owned(), t)
        } else {
            let shown = path.display().to_string();
            let t = std::fs::read_to_string(path)
                .map_err(|e| CliError::failed(format!("change {shown}: {e}")))?;
            (shown, t)
        };
        let parsed = if a.delete {
            change::deletes(&text, &origin)
        } else {
            change::upserts(&text, &origin)
        };
        let changes = parsed.map_err(|e| CliError::failed(format!("invalid change: {e}")))?;
        out.extend(changes.into_iter().map(|c| (c, origin.clone())));
    }
    Ok(out)
}

pub(crate) async fn preview_cmd(a: PreviewArgs) -> Result<ExitCode, CliError> {
    let mut changes = read_changes(&a)?;
    let before = a.source.load_all().await?;
    changes.extend(patched(&a, &before)?);
    let router_id = match a.router_id.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse::<RouterIdOverride>().map_err(CliError::failed)?),
        None => None,
    };
    let options = PlanOptions {
        router_id,
        advertise_cluster_ips: a.advertise_cluster_ips.clone(),
    };
    let mut after = before.clone();
    change::apply(&mut after, &changes).map_err(CliError::failed)?;
    // The change may reference secrets the cluster did not.
    a.source.read_secrets(&mut after)?;
    let result = preview(&before, &after, &options);
    let report = Report {
        change: changes
            .iter()
            .map(|(c, from)| ChangeSummary {
                action: c.action(),
                resource: c.id().to_string(),
                from: from.clone(),
            })
            .collect(),
        preview: &result,
    };
    // Streamed: a mesh-wide change on a large cluster is a large report.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.output {
        PreviewOutput::Json => {
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(|e| CliError::failed(e.to_string()))?;
            writeln!(out)?;
        }
        PreviewOutput::Text => write!(out, "{}", text(&report))?,
    }
    out.flush()?;
    let isolated = &result.summary.isolated_nodes;
    if !isolated.is_empty() && !a.allow_isolation {
        let names: Vec<&str> = isolated.iter().map(|n| n.node.as_str()).collect();
        eprintln!(
            "perch: the change would leave {} node(s) with no BGP peers: {} (pass --allow-isolation to accept)",
            names.len(),
            names.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn text(r: &Report<'_>) -> String {
    let mut out = String::new();
    for c in &r.change {
        out.push_str(&format!(
            "change: {} {} ({})\n",
            c.action, c.resource, c.from
        ));
    }
    for n in &r.preview.nodes {
        out.push_str(&node_text(n));
    }
    let s = &r.preview.summary;
    out.push_str(&format!(
        "\nsummary: {} of {} nodes touched; sessions: {} added, {} removed, {} reset, {} reloaded\n",
        s.nodes_touched,
        s.nodes_before.max(s.nodes_after),
        s.sessions_added,
        s.sessions_removed,
        s.sessions_reset,
        s.sessions_reloaded
    ));
    if !s.nodes_added.is_empty() {
        out.push_str(&format!("  nodes added: {}\n", s.nodes_added.join(", ")));
    }
    if !s.nodes_removed.is_empty() {
        out.push_str(&format!(
            "  nodes removed: {}\n",
            s.nodes_removed.join(", ")
        ));
    }
    for n in &s.isolated_nodes {
        out.push_str(&format!(
            "  left with no peers: {} (had {})\n",
            n.node,
            n.before.join(", ")
        ));
    }
    for n in &s.lost_route_reflectors {
        out.push_str(&format!(
            "  left with no route-reflector session: {} (had {})\n",
            n.node,
            n.before.join(", ")
        ));
    }
    for w in &s.new_warnings {
        out.push_str(&format!("  new warning: {w}\n"));
    }
    out
}

/// One node's block. Sessions with the same reasons are grouped, so a mesh-wide change on a
/// large cluster stays readable.
fn node_text(n: &NodePreview) -> String {
    let mut out = format!(
        "\n{}{} ({} → {} sessions)\n",
        n.node,
        n.node_change
            .map_or(String::new(), |c| format!(" [node {c}]")),
        n.sessions_before,
        n.sessions_after
    );
    let line = |out: &mut String, word: &str, names: &[String], why: &str| {
        let who = match names {
            [one] => one.clone(),
            many => {
                let shown: Vec<&str> = many.iter().take(3).map(String::as_str).collect();
                let more = many.len().saturating_sub(3);
                let tail = if more > 0 {
                    format!(", +{more} more")
                } else {
                    String::new()
                };
                format!("{} sessions ({}{tail})", many.len(), shown.join(", "))
            }
        };
        let sep = if why.is_empty() { "" } else { ": " };
        out.push_str(&format!("  {word:<9} {who}{sep}{why}\n"));
    };
    for (word, list) in [("added", &n.added), ("removed", &n.removed)] {
        for s in list.iter() {
            let from = if s.origin.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.origin.join(", "))
            };
            out.push_str(&format!("  {word:<9} {}{from}\n", s.name));
        }
    }
    for (word, list) in [("reset", &n.reset), ("reloaded", &n.reloaded)] {
        for (why, names) in grouped(list) {
            line(&mut out, word, &names, &why);
        }
    }
    for k in &n.kernel {
        out.push_str(&format!("  {:<9} {k}\n", "kernel"));
    }
    if n.isolated {
        out.push_str("  ! left with no BGP peers\n");
    }
    if n.lost_route_reflectors {
        out.push_str("  ! left with no route-reflector session\n");
    }
    out
}

/// Sessions grouped by their reasons, in order of first appearance.
fn grouped(list: &[SessionChange]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for s in list {
        let why: Vec<&str> = s.changes.iter().map(|c| c.text.as_str()).collect();
        let why = why.join("; ");
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(s.name.clone()),
            None => groups.push((why, vec![s.name.clone()])),
        }
    }
    groups
}
