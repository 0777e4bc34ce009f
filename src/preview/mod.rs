//! Blast-radius preview: what a proposed change to the resources does to every node's BGP
//! sessions before anything reaches the datastore. Each node is planned against the snapshot
//! before and after the change (one [`Cluster`] per snapshot), rendered to what BIRD sees,
//! and compared with BIRD's reconfiguration rules: sessions added, removed, reset (restarted)
//! or only reloaded, plus the nodes left with no peers or no route-reflector session.
//!
//! Owns: [`change`] (the change set, applied in memory), [`sessions`] (what BIRD sees of a
//! node), [`diff`] (the restart rules) and the cluster-wide [`Preview`] report.
//! Must not: read files, touch BIRD or the datastore. Nodes are compared one at a time, so a
//! thousand-node mesh never holds more than two nodes' sessions in memory.

pub(crate) mod change;
pub(crate) mod diff;
pub(crate) mod sessions;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::plan::{Cluster, PlanOptions, plan_in};
use crate::resources::Warning;
use crate::snapshot::Snapshot;

pub(crate) use diff::{SessionChange, diff_node};
pub(crate) use sessions::{NodeSessions, Session};

/// A session added or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionRef {
    pub name: String,
    /// `NodeMesh`, `GlobalPeer` or `NodePeer`.
    #[serde(rename = "type")]
    pub peer_type: crate::plan::PeerType,
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    pub remote_node: Option<String>,
    pub origin: Vec<String>,
}

impl SessionRef {
    fn of(s: &Session) -> SessionRef {
        SessionRef {
            name: s.view.name.clone(),
            peer_type: s.peer_type,
            peer_ip: s.peer_ip.to_string(),
            remote_node: s.remote_node.clone(),
            origin: s.origin.clone(),
        }
    }
}

/// One node the change touches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodePreview {
    pub node: String,
    /// `added` / `removed` when the change creates or deletes the Node itself, else null.
    pub node_change: Option<&'static str>,
    pub sessions_before: usize,
    pub sessions_after: usize,
    pub added: Vec<SessionRef>,
    pub removed: Vec<SessionRef>,
    pub reset: Vec<SessionChange>,
    pub reloaded: Vec<SessionChange>,
    /// Kernel programming that changes (`192.168.0.0/16: direct → through tunl0`).
    pub kernel: Vec<String>,
    /// It had sessions and has none after the change.
    pub isolated: bool,
    /// It had a session to a route reflector and has none after the change.
    pub lost_route_reflectors: bool,
}

/// A node left without something it had.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeLoss {
    pub node: String,
    /// The sessions it had (all of them, or those to route reflectors).
    pub before: Vec<String>,
}

/// The cluster-wide totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub nodes_touched: usize,
    pub nodes_added: Vec<String>,
    pub nodes_removed: Vec<String>,
    pub sessions_added: usize,
    pub sessions_removed: usize,
    pub sessions_reset: usize,
    pub sessions_reloaded: usize,
    /// Nodes left with no peers at all (they had some).
    pub isolated_nodes: Vec<NodeLoss>,
    /// Nodes left with no session to any route reflector (they had one).
    pub lost_route_reflectors: Vec<NodeLoss>,
    /// Plan warnings that appear only after the change.
    pub new_warnings: Vec<Warning>,
}

/// The whole preview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Preview {
    /// Only the nodes the change touches, by name.
    pub nodes: Vec<NodePreview>,
    pub summary: Summary,
}

/// Plans every node before and after, and compares.
pub(crate) fn preview(before: &Snapshot, after: &Snapshot, options: &PlanOptions) -> Preview {
    let (cb, ca) = (Cluster::new(before), Cluster::new(after));
    let names: BTreeSet<&String> = before.nodes.keys().chain(after.nodes.keys()).collect();
    let mut out = Preview::default();
    let s = &mut out.summary;
    s.nodes_before = before.nodes.len();
    s.nodes_after = after.nodes.len();
    let mut old_warnings = BTreeSet::new();
    let mut new_warnings = BTreeSet::new();
    let side = |cluster: &Cluster<'_>, snap: &Snapshot, node: &str, seen: &mut BTreeSet<_>| {
        if !snap.nodes.contains_key(node) {
            return NodeSessions::absent(node);
        }
        let plan = plan_in(cluster, node, options);
        seen.extend(plan.warnings.iter().cloned());
        NodeSessions::from_plan(cluster, &plan)
    };
    for name in names {
        let b = side(&cb, before, name, &mut old_warnings);
        let a = side(&ca, after, name, &mut new_warnings);
        let d = diff_node(&b, &a);
        let node_change = match (b.exists, a.exists) {
            (false, true) => Some("added"),
            (true, false) => Some("removed"),
            _ => None,
        };
        if d.is_empty() && node_change.is_none() {
            continue;
        }
        let isolated = a.exists && a.sessions.is_empty() && !b.sessions.is_empty();
        let lost_rr = a.exists && b.has_rr_session() && !a.has_rr_session();
        s.nodes_touched += 1;
        s.sessions_added += d.added.len();
        s.sessions_removed += d.removed.len();
        s.sessions_reset += d.reset.len();
        s.sessions_reloaded += d.reloaded.len();
        match node_change {
            Some("added") => s.nodes_added.push(name.clone()),
            Some(_) => s.nodes_removed.push(name.clone()),
            None => {}
        }
        if isolated {
            s.isolated_nodes.push(NodeLoss {
                node: name.clone(),
                before: b.sessions.keys().cloned().collect(),
            });
        }
        if lost_rr {
            s.lost_route_reflectors.push(NodeLoss {
                node: name.clone(),
                before: b
                    .sessions
                    .values()
                    .filter(|x| x.remote_is_rr)
                    .map(|x| x.view.name.clone())
                    .collect(),
            });
        }
        out.nodes.push(NodePreview {
            node: name.clone(),
            node_change,
            sessions_before: b.sessions.len(),
            sessions_after: a.sessions.len(),
            added: d
                .added
                .iter()
                .map(|n| SessionRef::of(&a.sessions[n]))
                .collect(),
            removed: d
                .removed
                .iter()
                .map(|n| SessionRef::of(&b.sessions[n]))
                .collect(),
            reset: d.reset,
            reloaded: d.reloaded,
            kernel: d.kernel,
            isolated,
            lost_route_reflectors: lost_rr,
        });
    }
    s.new_warnings = new_warnings.difference(&old_warnings).cloned().collect();
    out
}

#[cfg(test)]
mod tests;
