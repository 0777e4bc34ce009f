//! Why one planned session exists and why each of its options has its value: the mesh rule or
//! each contributing BGPPeer (direction, and the selector terms that matched on each side),
//! how both AS numbers were resolved, the passive and route-reflector decisions, and where the
//! port came from. Reads the provenance the planner recorded; decides nothing itself.
//!
//! Must not: reveal a password (only the secret's name and key are named).

use serde::Serialize;
use serde_json::{Value, json};

use crate::plan::cluster::Cluster;
use crate::plan::provenance::{AsSource, PortSource};
use crate::plan::{Direction, Family, Peer, PeerType, Plan};
use crate::resources::BgpPeer;
use crate::selector::TermOutcome;

/// A decided value, the rule that decided it, and the rule in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub value: Value,
    /// A stable key naming the rule (`remoteNode`, `bgpPeer`, `addressText`, …).
    pub source: &'static str,
    pub text: String,
}

/// The mesh rule, fact by fact (all of them hold, or the session would not exist).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshRule {
    pub mesh_enabled: bool,
    /// `nodeToNodeMeshEnabled: true` in the default BGPConfiguration, or the default.
    pub enabled_by: String,
    pub this_node_route_reflector: bool,
    pub remote_node: String,
    pub remote_address: String,
    pub remote_route_reflector: bool,
}

/// How one side of a BGPPeer selects a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideMatch {
    /// `global`, `node`, `nodeSelector`, `peerSelector` or `peerIP`.
    pub field: &'static str,
    pub value: String,
    /// The node it was evaluated against (none for a peerIP that is not a Calico node).
    pub node: Option<String>,
    pub matched: bool,
    /// For selectors: each term and whether it held.
    pub terms: Vec<TermOutcome>,
}

/// One BGPPeer that produced the session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRule {
    pub bgp_peer: String,
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
    pub session: String,
    #[serde(rename = "type")]
    pub peer_type: PeerType,
    pub family: Family,
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    pub remote_node: Option<String>,
    /// Set for mesh sessions.
    pub mesh: Option<MeshRule>,
    /// Set for BGPPeer sessions, in contribution order.
    pub bgp_peers: Vec<PeerRule>,
    #[serde(rename = "neighborAS")]
    pub neighbor_as: Fact,
    #[serde(rename = "localAS")]
    pub local_as: Fact,
    pub passive: Fact,
    pub route_reflector_client: Fact,
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

fn as_fact(value: u32, source: &AsSource, node: Option<&str>, which: &str) -> Fact {
    let who = node.unwrap_or("the node");
    let (key, text) = match source {
        AsSource::BgpPeer { name } if which == "local" => (
            "bgpPeerLocalAS",
            format!("BGPPeer {name}'s localASNumber (rendered as `local as`)"),
        ),
        AsSource::BgpPeer { name } => ("bgpPeer", format!("BGPPeer {name}'s asNumber")),
        AsSource::Node { node } => ("node", format!("{node}'s own asNumber")),
        AsSource::Cluster { node } => (
            "defaultBGPConfiguration",
            format!("{node} has no asNumber: the default BGPConfiguration's asNumber"),
        ),
        AsSource::Builtin => (
            "builtinDefault",
            format!(
                "neither {who} nor the default BGPConfiguration sets asNumber: Calico's default"
            ),
        ),
    };
    Fact {
        value: json!(value),
        source: key,
        text: format!("{which} AS {value}: {text}"),
    }
}

fn passive_fact(plan: &Plan, p: &Peer) -> Fact {
    let mine = match p.family {
        Family::IPv4 => plan.ipv4_address,
        Family::IPv6 => plan.ipv6_address,
    }
    .map_or(String::new(), |a| a.to_string());
    let theirs = p.peer_ip.to_string();
    let compared = |passive: bool| {
        let (op, what) = if passive {
            (">", "this side waits for the peer to connect")
        } else {
            ("<", "this side connects")
        };
        format!(
            "\"{theirs}\" {op} \"{mine}\" comparing the address text (as Calico does), so {what}"
        )
    };
    let (source, text) = match p.peer_type {
        PeerType::NodeMesh => ("addressText", compared(p.passive)),
        PeerType::GlobalPeer if p.provenance.calico_node => ("addressText", compared(p.passive)),
        PeerType::GlobalPeer => (
            "notCalicoNode",
            "only global peerIP peerings to a Calico node's address use the passive rule; this side connects".to_owned(),
        ),
        PeerType::NodePeer => (
            "nodeSpecific",
            "node-specific (and reverse) peerings are never passive in Calico; both sides connect".to_owned(),
        ),
    };
    let word = if p.passive { "passive" } else { "active" };
    Fact {
        value: json!(p.passive),
        source,
        text: format!("{word}: {text}"),
    }
}

fn rr_fact(cluster: &Cluster<'_>, plan: &Plan, p: &Peer) -> Fact {
    let me = &plan.node;
    // peerIP peerings carry no cluster ID (Calico's quirk), node-based ones the node's.
    let theirs = p
        .remote_node
        .as_deref()
        .and_then(|n| cluster.node(n))
        .and_then(|n| n.rr_cluster_id.clone());
    let text = match (&plan.route_reflector_cluster_id, p.route_reflector_client) {
        _ if p.peer_type == PeerType::NodeMesh => {
            "no: mesh sessions are never route-reflector client sessions".to_owned()
        }
        (None, _) => format!("no: {me} is not a route reflector (no routeReflectorClusterID)"),
        (Some(id), true) => format!(
            "yes: iBGP (AS {}), {me} is a route reflector (cluster {id}) and the peer is not in that cluster (its cluster: {})",
            p.as_number,
            theirs.as_deref().unwrap_or("none")
        ),
        (Some(_), false) if !p.internal => format!(
            "no: eBGP (neighbor AS {} ≠ local AS {})",
            p.as_number, p.local_as_number
        ),
        (Some(id), false) => {
            format!("no: the peer is in the same route-reflector cluster {id}")
        }
    };
    Fact {
        value: json!(p.route_reflector_client),
        source: "reflectorRule",
        text: format!("rr client {text}"),
    }
}

fn port_fact(p: &Peer) -> Fact {
    let shown = p.port.map_or("179".to_owned(), |x| x.to_string());
    let (source, text) = match &p.provenance.port {
        PortSource::Default => (
            "default",
            match &p.remote_node {
                Some(n) => format!(
                    "BIRD's default: {n} has no listenPort and the default BGPConfiguration sets none"
                ),
                None => "BIRD's default: the peerIP has no port and no listenPort applies".into(),
            },
        ),
        PortSource::PeerIp => ("peerIP", "written in the BGPPeer's peerIP".to_owned()),
        PortSource::NodeListenPort { node } => (
            "nodeListenPort",
            format!("{node}'s listenPort (BGPConfiguration node.{node})"),
        ),
        PortSource::GlobalListenPort { node } => (
            "globalListenPort",
            format!("the default BGPConfiguration's listenPort ({node} has none of its own)"),
        ),
    };
    Fact {
        value: json!(p.port),
        source,
        text: format!("port {shown}: {text}"),
    }
}

fn options(cluster: &Cluster<'_>, p: &Peer, winner: Option<&BgpPeer>) -> Vec<String> {
    let mut out = Vec::new();
    let from = winner.map_or("the default BGPConfiguration".to_owned(), |w| {
        format!("BGPPeer {}", w.metadata.name)
    });
    out.push(if p.internal {
        "iBGP (neighbor AS = local AS): tunnel routes are not exported".to_owned()
    } else {
        "eBGP (neighbor AS ≠ local AS)".to_owned()
    });
    match p.source_address {
        Some(a) => out.push(format!("source address {a}: this node's address")),
        None => out.push(format!(
            "no source address: {from} sets sourceAddress: None"
        )),
    }
    if let Some(t) = p.graceful_restart_time {
        let field = if winner.is_some() {
            "maxRestartTime"
        } else {
            "nodeMeshMaxRestartTime"
        };
        out.push(format!("graceful restart time {t}: {from}'s {field}"));
    }
    if let Some(t) = p.keepalive_time {
        out.push(format!("keepalive time {t}: {from}'s keepaliveTime"));
    }
    if let Some(h) = p.ttl_security {
        out.push(format!(
            "ttl security on, multihop {h}: {from}'s ttlSecurity"
        ));
    }
    if p.has_password {
        let r = match winner {
            Some(w) => w.spec.password.as_ref(),
            None => cluster.global().and_then(|g| g.node_mesh_password.as_ref()),
        }
        .and_then(|s| s.secret_key_ref.as_ref());
        if let Some(r) = r {
            out.push(format!(
                "password: secret {:?} key {:?} via {from} (the value is never shown)",
                r.name, r.key
            ));
        }
    }
    if !p.filters.is_empty() {
        out.push(format!(
            "BGPFilters {}: {from}'s filters",
            p.filters.join(", ")
        ));
    }
    if let Some(n) = p.next_hop {
        let mode = serde_json::to_value(n).unwrap_or_default();
        out.push(format!("next hop {}: {from}", mode.as_str().unwrap_or("")));
    }
    if let Some(n) = p.allow_local_as {
        out.push(format!(
            "allow local as {n}: {from}'s numAllowedLocalASNumbers"
        ));
    }
    if let Some(g) = p.reachable_by {
        out.push(format!(
            "reached through gateway {g}: {from}'s reachableBy (a static route)"
        ));
    }
    out
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
