//! `perch explain`: why a node has a session (and each of its options), or why a BGPPeer
//! gives the node nothing. The reasoning is [`crate::plan::explain`]; this file picks what to
//! explain and prints it.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{NodeArgs, SourceArgs};
use super::error::CliError;
use crate::plan::explain::session::SideMatch;
use crate::plan::explain::{
    BgpPeerExplanation, SessionExplanation, explain_bgp_peers, explain_session,
};
use crate::plan::{Cluster, Direction, plan_in};
use crate::resources::Kind;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExplainOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
PEER is a session (a BIRD protocol name such as Node_10_0_0_5 or Mesh_10_0_0_9), or a BGPPeer
(`bgppeer/NAME`, or just NAME when no session has that name). For a session: the mesh rule or
each BGPPeer that produced it (forward or reverse, with the selector terms that matched on
each side), how each AS number was resolved, why it is passive or not, why it is a
route-reflector client or not, and where its port came from. For a BGPPeer: which nodes each
side selects and why it adds nothing on this node. Without PEER: every session of the node.

JSON (--output json): {\"node\", \"sessions\": [{session, type, family, peerIP, remoteNode,
mesh: {meshEnabled, enabledBy, thisNodeRouteReflector, remoteNode, remoteAddress,
remoteRouteReflector} | null, bgpPeers: [{bgpPeer, direction, decidesOptions, thisNode,
otherEnd}] (each side: {field, value, node, matched, terms: [{term, matched}]}), neighborAS,
localAS, passive, routeReflectorClient, port (each {value, source, text}), options: [text]}],
\"bgpPeers\": [{bgpPeer, localSide, remoteSide, localNodes, remoteNodes, thisNodeLocal,
thisNodeRemote, selectors, sessions, reasons}]}.

`route PREFIX`: which node owns the block, which session should bring it, what BIRD and
the kernel have, and the verdict (asks BIRD over --bird-socket and reads the kernel). A range
holding blocks (a pool, a /24) is told block by block; otherwise perch says why it expects no
route there. With BIRD not answering, the datastore's side is still told (no verdict, exit
code 1). JSON: {node, query, prefix, sessions: [{session, state}], report (as one route of
`perch routes -o json`), inside: [report], notExpected, birdError, expected (with birdError,
in place of report)}.

Examples:
  perch explain -r cluster/ --node node-1
  perch explain -r cluster/ --node node-1 route 10.244.3.0/26
  perch explain -r cluster/ --node node-1 Node_10_0_0_5
  perch explain -r cluster/ --node node-1 bgppeer/rack1-tor -o json")]
pub struct ExplainArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    /// A session (BIRD protocol name) or a BGPPeer (`bgppeer/NAME` or NAME); or `route`
    /// followed by a prefix.
    #[arg(value_name = "PEER")]
    pub peer: Option<String>,
    /// With `route`: the prefix, an address inside a block, or a range (a pool) to explain.
    #[arg(value_name = "PREFIX")]
    pub prefix: Option<String>,
    #[command(flatten)]
    pub observe: super::routes::ObserveArgs,
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: ExplainOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    node: String,
    sessions: Vec<SessionExplanation>,
    bgp_peers: Vec<BgpPeerExplanation>,
}

/// `route PREFIX`: the prefix to explain (`super::route_explain` does); `None` for a session
/// or a BGPPeer.
pub(crate) fn route_query(a: &ExplainArgs) -> Option<String> {
    match (a.peer.as_deref(), &a.prefix) {
        (Some("route"), Some(prefix)) => Some(prefix.clone()),
        _ => None,
    }
}

/// Explains a session or a BGPPeer (`route PREFIX` is [`route_query`]'s, dispatched before).
pub(crate) async fn explain(a: ExplainArgs) -> Result<ExitCode, CliError> {
    if let Some(extra) = &a.prefix {
        return Err(CliError::failed(format!(
            "unexpected argument {extra:?} (only `route PREFIX` takes two)"
        )));
    }
    let node = a.node.node_name()?;
    let snapshot = a.source.load(&node).await?;
    let cluster = Cluster::new(&snapshot);
    let plan = plan_in(&cluster, &node, &a.node.plan_options()?);
    if !plan.node_found {
        return Err(CliError::failed(format!(
            "node {node:?} is not in the resources"
        )));
    }
    let mut report = Report {
        node: node.clone(),
        sessions: Vec::new(),
        bgp_peers: Vec::new(),
    };
    let bgp_peer_named = |name: &str| -> Result<Vec<BgpPeerExplanation>, CliError> {
        let found: Vec<_> = explain_bgp_peers(&cluster, &plan)
            .into_iter()
            .filter(|e| e.bgp_peer == name)
            .collect();
        if found.is_empty() {
            return Err(CliError::failed(format!("BGPPeer {name:?} does not exist")));
        }
        Ok(found)
    };
    match a.peer.as_deref() {
        None => {
            report.sessions = plan
                .peers
                .iter()
                .map(|p| explain_session(&cluster, &plan, p))
                .collect();
        }
        Some(peer) => {
            let as_bgp_peer = peer
                .split_once('/')
                .filter(|(k, _)| Kind::parse(k) == Some(Kind::BgpPeer))
                .map(|(_, n)| n);
            if let Some(name) = as_bgp_peer {
                report.bgp_peers = bgp_peer_named(name)?;
            } else if let Some(p) = plan.peers.iter().find(|p| p.name == peer) {
                report.sessions = vec![explain_session(&cluster, &plan, p)];
            } else if snapshot.bgp_peers.contains_key(peer)
                || snapshot.skipped.contains_key(&format!("BGPPeer/{peer}"))
            {
                report.bgp_peers = bgp_peer_named(peer)?;
            } else {
                let names: Vec<&str> = plan.peers.iter().map(|p| p.name.as_str()).collect();
                return Err(CliError::failed(format!(
                    "{peer:?} is neither a session of node {node:?} nor a BGPPeer (its sessions: {})",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    match a.output {
        ExplainOutput::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| CliError::failed(e.to_string()))?
        )?,
        ExplainOutput::Text => {
            if report.sessions.is_empty() && report.bgp_peers.is_empty() {
                writeln!(out, "node {node} has no BGP sessions")?;
            }
            for s in &report.sessions {
                write!(out, "{}", session_text(&node, s))?;
            }
            for e in &report.bgp_peers {
                write!(out, "{}", bgp_peer_text(&node, e))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn side_text(s: &SideMatch) -> String {
    let on = s.node.as_deref().unwrap_or("-");
    match s.field {
        "global" => format!("global BGPPeer (every node, {on} included)"),
        "node" => format!("node: {} ({on})", s.value),
        // Felix, not perch, matches the selector against the workload's labels.
        "localWorkloadSelector" => format!(
            "localWorkloadSelector {}, matched by Felix (its endpoint-status file names this BGPPeer)",
            s.value
        ),
        "peerIP" => match &s.node {
            Some(n) => format!("peerIP {}, the address of node {n}", s.value),
            None => format!("peerIP {}", s.value),
        },
        field => {
            let terms: Vec<String> = s
                .terms
                .iter()
                .map(|t| format!("{} {}", t.term, if t.matched { "✓" } else { "✗" }))
                .collect();
            format!(
                "{field} {} on {on}: {} ({})",
                s.value,
                if s.matched {
                    "matches"
                } else {
                    "does not match"
                },
                terms.join(", ")
            )
        }
    }
}

fn session_text(node: &str, s: &SessionExplanation) -> String {
    let mut out = format!(
        "\n{} on {node}: {} session with {}{}\n",
        s.session,
        s.peer_type.describe(),
        s.peer_ip,
        s.remote_node
            .as_ref()
            .map_or(String::new(), |n| format!(" (node {n})")),
    );
    if let Some(m) = &s.mesh {
        out.push_str(&format!("  produced by the node-to-node mesh:\n    mesh on: {}\n    {node} is not a route reflector (mesh applies to it)\n    {} ({}) is not a route reflector (mesh peers with it)\n", m.enabled_by, m.remote_node, m.remote_address));
    }
    for r in &s.bgp_peers {
        let (this_side, other_side) = match r.direction {
            Direction::Forward => ("its local side", "its remote side"),
            Direction::Reverse => ("its remote side", "its local side"),
        };
        out.push_str(&format!(
            "  produced by BGPPeer {} ({}{}):\n    {node} is on {this_side}: {}\n    the peer is on {other_side}: {}\n",
            r.bgp_peer,
            match r.direction {
                Direction::Forward => "forward",
                Direction::Reverse => "reverse: automatic symmetry",
            },
            if r.decides_options && s.bgp_peers.len() > 1 { "; its options apply" } else { "" },
            side_text(&r.this_node),
            side_text(&r.other_end),
        ));
    }
    for f in [
        &s.neighbor_as,
        &s.local_as,
        &s.passive,
        &s.route_reflector_client,
        &s.port,
    ] {
        out.push_str(&format!("  {}\n", f.text));
    }
    for o in &s.options {
        out.push_str(&format!("  {o}\n"));
    }
    out
}

/// One BGPPeer explanation as text (also used by `perch plan --explain`).
pub(crate) fn bgp_peer_text(node: &str, e: &BgpPeerExplanation) -> String {
    let mut out = format!("\nBGPPeer {}\n", e.bgp_peer);
    out.push_str(&format!(
        "  local side:  {}  → {}\n",
        e.local_side,
        e.local_nodes.display()
    ));
    out.push_str(&format!(
        "  remote side: {}  → {}\n",
        e.remote_side,
        e.remote_nodes.display()
    ));
    for s in &e.selectors {
        let terms: Vec<String> = s
            .terms
            .iter()
            .map(|t| format!("{} {}", t.term, if t.matched { "✓" } else { "✗" }))
            .collect();
        out.push_str(&format!(
            "  {} on {node}: {} ({})\n",
            s.field,
            if s.matched {
                "matches"
            } else {
                "does not match"
            },
            terms.join(", ")
        ));
    }
    if e.sessions.is_empty() {
        for r in &e.reasons {
            out.push_str(&format!("  adds nothing on {node}: {r}\n"));
        }
    } else {
        out.push_str(&format!(
            "  sessions on {node}: {}\n",
            e.sessions.join(", ")
        ));
    }
    out
}
