//! The facts of one session in words: how each AS number was resolved, why it is passive or
//! not, why it is a route-reflector client or not, where its port and other options came
//! from. Reads the planner's provenance; decides nothing.
//!
//! Must not: reveal a password (only the secret's name and key are named).

use serde::Serialize;
use serde_json::{Value, json};

use crate::plan::cluster::Cluster;
use crate::plan::filter_call::FilterCall;
use crate::plan::provenance::{AsSource, PortSource};
use crate::plan::{Family, Peer, PeerType, Plan};
use crate::resources::BgpPeer;

/// A decided value, the rule that decided it, and the rule in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// The decided value.
    pub value: Value,
    /// A stable key naming the rule (`remoteNode`, `bgpPeer`, `addressText`, …).
    pub source: &'static str,
    /// The rule in words.
    pub text: String,
}

pub(super) fn as_fact(value: u32, source: &AsSource, node: Option<&str>, which: &str) -> Fact {
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

pub(super) fn passive_fact(plan: &Plan, p: &Peer) -> Fact {
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
        _ if p.name.starts_with("Local_Workload_") => (
            "localWorkload",
            "a local workload's session (localWorkloadSelector): the workload connects to this node, as in Calico".to_owned(),
        ),
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

pub(super) fn rr_fact(cluster: &Cluster<'_>, plan: &Plan, p: &Peer) -> Fact {
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

pub(super) fn port_fact(p: &Peer) -> Fact {
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

/// What fails closed in the session's BGPFilters: a whole filter (missing or invalid as a
/// whole) rejecting every route, or single rules rejecting instead (the snapshot's notes on
/// `BGPFilter/<name>`: the same sentences as the plan's warnings).
fn filter_facts(cluster: &Cluster<'_>, p: &Peer) -> Vec<String> {
    let mut out = Vec::new();
    for name in &p.filters {
        let reject_all = p.import_filters.iter().find_map(|c| match c {
            FilterCall::RejectAll { filter, reason } if filter == name => Some(reason),
            _ => None,
        });
        if let Some(reason) = reject_all {
            out.push(format!(
                "BGPFilter {name} {reason}: every route is rejected in both directions"
            ));
            continue;
        }
        let notes = cluster
            .snapshot
            .ignored_values
            .get(&format!("BGPFilter/{name}"));
        for w in notes.into_iter().flatten() {
            // A filter named twice on one session is explained once.
            let fact = format!("BGPFilter {name}: {}", w.message);
            if !out.contains(&fact) {
                out.push(fact);
            }
        }
    }
    out
}

pub(super) fn options(cluster: &Cluster<'_>, p: &Peer, winner: Option<&BgpPeer>) -> Vec<String> {
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
        None if p.name.starts_with("Local_Workload_") => out.push(
            "no source address: a local workload's session never has one (as in Calico)".into(),
        ),
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
        out.extend(filter_facts(cluster, p));
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
