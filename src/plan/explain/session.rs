//! Why one planned session exists and why each of its options has its value: the mesh rule or
//! each contributing BGPPeer (direction, and the selector terms that matched on each side),
//! how both AS numbers were resolved, the passive and route-reflector decisions, and where the
//! port came from. Reads the provenance the planner recorded; decides nothing itself.
//!
//! Must not: reveal a password (only the secret's name and key are named).

use serde::Serialize;

use super::facts::{as_fact, options, passive_fact, port_fact, rr_fact};
use crate::plan::cluster::Cluster;
use crate::plan::{Direction, Family, Peer, PeerType, Plan};
use crate::resources::BgpPeer;
use crate::selector::TermOutcome;

pub use super::facts::Fact;

/// The mesh rule, fact by fact (all of them hold, or the session would not exist).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshRule {
    /// Whether the mesh is on.
    pub mesh_enabled: bool,
    /// `nodeToNodeMeshEnabled: true` in the default BGPConfiguration, or the default.
    pub enabled_by: String,
    /// Whether this node is a route reflector.
    pub this_node_route_reflector: bool,
    /// The node at the other end.
    pub remote_node: String,
    /// The other node's address in the session's family.
    pub remote_address: String,
    /// Whether the other node is a route reflector.
    pub remote_route_reflector: bool,
}

/// How one side of a BGPPeer selects a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideMatch {
    /// `global`, `node`, `nodeSelector`, `peerSelector`, `peerIP` or `localWorkloadSelector`.
    pub field: &'static str,
    /// The field's value (a selector, a node name or an address).
    pub value: String,
    /// The node it was evaluated against (none for a peerIP that is not a Calico node).
    pub node: Option<String>,
    /// Whether it selects the node.
    pub matched: bool,
    /// For selectors: each term and whether it held.
    pub terms: Vec<TermOutcome>,
}

/// One BGPPeer that produced the session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRule {
    /// The BGPPeer's name.
    pub bgp_peer: String,
    /// Whether it produced the session directly or by the reverse pass.
    pub direction: Direction,
    /// The first contributor: its options are the session's.
    pub decides_options: bool,
    /// How this node is on the BGPPeer (its local side forward, its remote side reverse).
    pub this_node: SideMatch,
    /// How the other end is on it.
    pub other_end: SideMatch,
}

/// Everything about one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionExplanation {
    /// The session's BIRD protocol name.
    pub session: String,
    /// Mesh, global or node-specific.
    #[serde(rename = "type")]
    pub peer_type: PeerType,
    /// The session's address family.
    pub family: Family,
    /// The peer's address.
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    /// The Calico node at the other end, when the peer is one.
    pub remote_node: Option<String>,
    /// Set for mesh sessions.
    pub mesh: Option<MeshRule>,
    /// Set for BGPPeer sessions, in contribution order.
    pub bgp_peers: Vec<PeerRule>,
    /// The peer's AS number and how it was decided.
    #[serde(rename = "neighborAS")]
    pub neighbor_as: Fact,
    /// The AS number this node presents, and how it was decided.
    #[serde(rename = "localAS")]
    pub local_as: Fact,
    /// Whether this node waits for the peer to connect, and why.
    pub passive: Fact,
    /// Whether the peer is a route-reflector client, and why.
    pub route_reflector_client: Fact,
    /// The peer's port, and how it was decided.
    pub port: Fact,
    /// Other options and where they came from.
    pub options: Vec<String>,
}

/// Explains every session of `plan`.
pub fn explain_sessions(cluster: &Cluster<'_>, plan: &Plan) -> Vec<SessionExplanation> {
    plan.peers
        .iter()
        .map(|p| explain_session(cluster, plan, p))
        .collect()
}

/// Explains one session of `plan`.
pub fn explain_session(cluster: &Cluster<'_>, plan: &Plan, p: &Peer) -> SessionExplanation {
    let me = plan.node.as_str();
    let remote = p.remote_node.as_deref();
    let bgp_peers: Vec<PeerRule> = p
        .origin_detail
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let bp = cluster.snapshot.bgp_peers.get(&o.bgp_peer)?;
            Some(peer_rule(cluster, me, p, bp, o.direction, i == 0))
        })
        .collect();
    let mesh = (p.peer_type == PeerType::NodeMesh).then(|| MeshRule {
        mesh_enabled: true,
        enabled_by: match cluster.global().map(|g| g.node_to_node_mesh_enabled) {
            Some(Some(_)) => "the default BGPConfiguration sets nodeToNodeMeshEnabled: true".into(),
            Some(None) => {
                "on by default (the default BGPConfiguration does not set nodeToNodeMeshEnabled)"
                    .into()
            }
            None => "on by default (there is no default BGPConfiguration)".into(),
        },
        this_node_route_reflector: false,
        remote_node: remote.unwrap_or("-").to_owned(),
        remote_address: p.peer_ip.to_string(),
        remote_route_reflector: false,
    });
    let winner = p
        .origin_detail
        .first()
        .and_then(|o| cluster.snapshot.bgp_peers.get(&o.bgp_peer));
    SessionExplanation {
        session: p.name.clone(),
        peer_type: p.peer_type,
        family: p.family,
        peer_ip: p.peer_ip.to_string(),
        remote_node: p.remote_node.clone(),
        mesh,
        bgp_peers,
        neighbor_as: as_fact(
            p.as_number.get(),
            &p.provenance.neighbor_as,
            remote,
            "neighbor",
        ),
        local_as: as_fact(
            p.local_as_number.get(),
            &p.provenance.local_as,
            Some(me),
            "local",
        ),
        passive: passive_fact(plan, p),
        route_reflector_client: rr_fact(cluster, plan, p),
        port: port_fact(p),
        options: options(cluster, p, winner),
    }
}

fn selector_side(cluster: &Cluster<'_>, field: &'static str, sel: &str, node: &str) -> SideMatch {
    let labels = cluster
        .node(node)
        .map(|n| n.labels.clone())
        .unwrap_or_default();
    let parsed = cluster.selector(sel);
    SideMatch {
        field,
        value: sel.to_owned(),
        node: Some(node.to_owned()),
        matched: parsed.as_ref().is_some_and(|s| s.matches(&labels)),
        terms: parsed.map(|s| s.explain(&labels)).unwrap_or_default(),
    }
}

/// The BGPPeer's local side (`global`, `node`, `nodeSelector`) evaluated on `node`.
fn local_side(cluster: &Cluster<'_>, bp: &BgpPeer, node: &str) -> SideMatch {
    let s = &bp.spec;
    if let Some(sel) = s.node_selector.as_deref().filter(|v| !v.is_empty()) {
        return selector_side(cluster, "nodeSelector", sel, node);
    }
    match s.node.as_deref().filter(|v| !v.is_empty()) {
        Some(n) => SideMatch {
            field: "node",
            value: n.to_owned(),
            node: Some(node.to_owned()),
            matched: n == node,
            terms: Vec::new(),
        },
        None => SideMatch {
            field: "global",
            value: "every node".into(),
            node: Some(node.to_owned()),
            matched: true,
            terms: Vec::new(),
        },
    }
}

/// The BGPPeer's remote side (`peerSelector` or `peerIP`) evaluated on `node`, if a node.
fn remote_side(cluster: &Cluster<'_>, bp: &BgpPeer, node: Option<&str>, p: &Peer) -> SideMatch {
    let s = &bp.spec;
    if let Some(sel) = s
        .local_workload_selector
        .as_deref()
        .filter(|v| !v.is_empty())
    {
        // Felix matched the selector; its endpoint-status file names the workload.
        let workload = cluster
            .snapshot
            .local_workloads
            .values()
            .find(|w| {
                w.bgp_peer_name == bp.metadata.name
                    && w.ipv4_nets
                        .iter()
                        .chain(&w.ipv6_nets)
                        .filter_map(|n| crate::resources::addr::parse_node_address(n))
                        .any(|a| a.ip == p.peer_ip)
            })
            .map(|w| w.name.clone());
        let as_text = s.as_number.map_or("none".into(), |a| a.to_string());
        return SideMatch {
            field: "localWorkloadSelector",
            value: format!(
                "{sel} (asNumber {as_text}): workload {} at {}",
                workload.as_deref().unwrap_or("?"),
                p.peer_ip
            ),
            node: None,
            matched: true,
            terms: Vec::new(),
        };
    }
    if let (Some(sel), Some(n)) = (s.peer_selector.as_deref().filter(|v| !v.is_empty()), node) {
        return selector_side(cluster, "peerSelector", sel, n);
    }
    let as_text = s.as_number.map_or("none".into(), |a| a.to_string());
    // The address's owner, when it is a Calico node.
    let owner = node.or_else(|| cluster.nodes_with_ip(&p.peer_ip).first().copied());
    SideMatch {
        field: "peerIP",
        value: format!(
            "{} (asNumber {as_text})",
            s.peer_ip.as_deref().unwrap_or("")
        ),
        node: owner.map(str::to_owned),
        matched: true,
        terms: Vec::new(),
    }
}

fn peer_rule(
    cluster: &Cluster<'_>,
    me: &str,
    p: &Peer,
    bp: &BgpPeer,
    direction: Direction,
    first: bool,
) -> PeerRule {
    let remote = p.remote_node.as_deref();
    let (this_node, other_end) = match direction {
        Direction::Forward => (
            local_side(cluster, bp, me),
            remote_side(cluster, bp, remote, p),
        ),
        Direction::Reverse => (
            remote_side(cluster, bp, Some(me), p),
            local_side(cluster, bp, remote.unwrap_or("-")),
        ),
    };
    PeerRule {
        bgp_peer: bp.metadata.name.clone(),
        direction,
        decides_options: first,
        this_node,
        other_end,
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
