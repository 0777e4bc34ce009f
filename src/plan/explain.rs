//! Why each BGPPeer does or does not give this node sessions: which nodes each side of it
//! selects, how this node fares against its selectors, and what it finally contributes; and
//! ([`session`]) why each planned session exists and has the options it has.

mod facts;
pub mod session;

pub use session::{SessionExplanation, explain_session, explain_sessions};

use serde::Serialize;

use super::Plan;
use super::cluster::Cluster;
use crate::resources::addr::parse_peer_ip;
use crate::selector::TermOutcome;

/// A list of node names, cut short for display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeList {
    /// How many names there are in all.
    pub count: usize,
    /// At most [`NodeList::SHOWN`] names, in name order.
    pub names: Vec<String>,
}

impl NodeList {
    /// How many names a list keeps.
    pub const SHOWN: usize = 20;

    fn new<'s>(names: impl IntoIterator<Item = &'s str>) -> NodeList {
        let all: Vec<&str> = names.into_iter().collect();
        NodeList {
            count: all.len(),
            names: all
                .iter()
                .take(Self::SHOWN)
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// `a, b, c (+17 more)` or `none`.
    pub fn display(&self) -> String {
        if self.count == 0 {
            return "none".into();
        }
        let mut s = self.names.join(", ");
        if self.count > self.names.len() {
            s.push_str(&format!(" (+{} more)", self.count - self.names.len()));
        }
        s
    }
}

/// One selector evaluated against this node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectorCheck {
    /// The BGPPeer field: `nodeSelector` or `peerSelector`.
    pub field: &'static str,
    /// The selector's text.
    pub selector: String,
    /// Whether this node matches it.
    pub matched: bool,
    /// Each term and whether it held.
    pub terms: Vec<TermOutcome>,
}

/// How one BGPPeer relates to this node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerExplanation {
    /// The BGPPeer's name.
    pub bgp_peer: String,
    /// `global`, `node <name>` or `nodeSelector <selector>`.
    pub local_side: String,
    /// `peerIP <ip> AS <n>` or `peerSelector <selector>`.
    pub remote_side: String,
    /// The nodes on its local side.
    pub local_nodes: NodeList,
    /// The nodes on its remote side.
    pub remote_nodes: NodeList,
    /// Whether this node is on its local side.
    pub this_node_local: bool,
    /// Whether this node is on its remote side.
    pub this_node_remote: bool,
    /// The selectors, evaluated against this node.
    pub selectors: Vec<SelectorCheck>,
    /// Sessions on this node that list this BGPPeer among their origins.
    pub sessions: Vec<String>,
    /// When `sessions` is empty: why.
    pub reasons: Vec<String>,
}

/// Explains every BGPPeer (valid or skipped) for `plan.node`.
pub fn explain_bgp_peers(cluster: &Cluster<'_>, plan: &Plan) -> Vec<BgpPeerExplanation> {
    let node = plan.node.as_str();
    let mut out = Vec::new();
    for (name, skipped) in &cluster.snapshot.skipped {
        if let Some(bp) = name.strip_prefix("BGPPeer/") {
            out.push(BgpPeerExplanation {
                bgp_peer: bp.to_owned(),
                local_side: "-".into(),
                remote_side: "-".into(),
                local_nodes: NodeList::new([]),
                remote_nodes: NodeList::new([]),
                this_node_local: false,
                this_node_remote: false,
                selectors: Vec::new(),
                sessions: Vec::new(),
                reasons: vec![format!("invalid, skipped: {}", skipped.message)],
            });
        }
    }
    for bp in cluster.snapshot.bgp_peers.values() {
        let s = &bp.spec;
        let id = format!("BGPPeer/{}", bp.metadata.name);
        let mut selectors = Vec::new();
        let mut check = |field: &'static str, sel: &str| -> bool {
            let Some(parsed) = cluster.selector(sel) else {
                return false;
            };
            let labels = cluster
                .node(node)
                .map(|n| n.labels.clone())
                .unwrap_or_default();
            let matched = cluster.node(node).is_some() && parsed.matches(&labels);
            selectors.push(SelectorCheck {
                field,
                selector: sel.to_owned(),
                matched,
                terms: parsed.explain(&labels),
            });
            matched
        };
        let non_empty = |o: &Option<String>| o.clone().filter(|v| !v.is_empty());
        let (local_side, local_nodes, this_local) = if let Some(sel) = non_empty(&s.node_selector) {
            let hit = check("nodeSelector", &sel);
            (
                format!("nodeSelector {sel}"),
                NodeList::new(cluster.nodes_matching(&sel).iter().copied()),
                hit,
            )
        } else if let Some(n) = non_empty(&s.node) {
            let exists = cluster.node(&n).is_some();
            let names: Vec<&str> = if exists { vec![n.as_str()] } else { vec![] };
            (format!("node {n}"), NodeList::new(names), n == node)
        } else {
            (
                "global (every node)".into(),
                NodeList::new(cluster.nodes().map(|n| n.name)),
                true,
            )
        };
        let (remote_side, remote_nodes, this_remote) =
            if let Some(sel) = non_empty(&s.peer_selector) {
                let hit = check("peerSelector", &sel);
                (
                    format!("peerSelector {sel}"),
                    NodeList::new(cluster.nodes_matching(&sel).iter().copied()),
                    hit,
                )
            } else if let Some(ip) = non_empty(&s.peer_ip) {
                let as_text = s.as_number.map_or("(none)".to_string(), |a| a.to_string());
                let nodes: Vec<&str> = match (parse_peer_ip(&ip), s.as_number) {
                    (Ok(a), Some(asn)) => cluster
                        .nodes_with_ip(&a.ip)
                        .iter()
                        .copied()
                        .filter(|n| cluster.node_as(n) == asn)
                        .filter(|n| {
                            a.port
                                .is_none_or(|p| cluster.listen_port(n).unwrap_or(179) == p)
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let hit = nodes.contains(&node);
                (
                    format!("peerIP {ip} AS {as_text}"),
                    NodeList::new(nodes),
                    hit,
                )
            } else {
                ("-".into(), NodeList::new([]), false)
            };
        let sessions: Vec<String> = plan
            .peers
            .iter()
            .filter(|p| p.origin.contains(&id))
            .map(|p| p.name.clone())
            .collect();
        let mut reasons = Vec::new();
        if sessions.is_empty() {
            reasons.extend(
                plan.warnings
                    .iter()
                    .filter(|w| w.resource == id)
                    .map(|w| w.message.clone()),
            );
            if !this_local && !this_remote {
                reasons.push(format!("{node} is on neither side of it"));
            } else if this_remote && !this_local && s.reverse_peering.as_deref() == Some("Manual") {
                reasons.push(format!(
                    "{node} is on its remote side, but reversePeering is Manual"
                ));
            } else if this_local && remote_nodes.count == 0 && s.peer_ip.is_none() {
                reasons.push("its peerSelector matches no nodes".into());
            } else if plan.ipv4_address.is_none() && plan.ipv6_address.is_none() {
                reasons.push(format!("{node} has no BGP address"));
            } else {
                reasons.push(format!(
                    "every session it describes is to {node}'s own address, in a family {node} has no address in, or lost to another peering with the same address and port"
                ));
            }
        }
        out.push(BgpPeerExplanation {
            bgp_peer: bp.metadata.name.clone(),
            local_side,
            remote_side,
            local_nodes,
            remote_nodes,
            this_node_local: this_local,
            this_node_remote: this_remote,
            selectors,
            sessions,
            reasons,
        });
    }
    out.sort_by(|a, b| a.bgp_peer.cmp(&b.bgp_peer));
    out
}
