//! Where a session's derived values came from: which rule picked its neighbor AS, local AS
//! and port, and whether its address is a Calico node's. The planner records these while it
//! decides, so `perch explain` reports the rule that was applied instead of guessing it
//! again afterwards.
//!
//! Owns: the provenance types and the two lookups every pass shares (a node's AS source and
//! listen-port source). Must not: decide anything; it only names the decision.

use serde::Serialize;

use super::cluster::Cluster;

/// How a session's facts were derived. Not part of the plan JSON (the contract output stays
/// stable); `perch explain` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub neighbor_as: AsSource,
    pub local_as: AsSource,
    pub port: PortSource,
    /// The peer address is a Calico node's (Calico's `calico_node`): global peerings to a
    /// Calico node use the passive rule.
    pub calico_node: bool,
}

/// Which rule produced an AS number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "camelCase")]
pub enum AsSource {
    /// `spec.asNumber` (neighbor) or `spec.localASNumber` (local) of this BGPPeer.
    BgpPeer { name: String },
    /// The node's own `spec.bgp.asNumber`.
    Node { node: String },
    /// The node has none: the default BGPConfiguration's `asNumber`.
    Cluster { node: String },
    /// Neither is set: Calico's default, 64512.
    #[default]
    Builtin,
}

/// Which rule produced a session's port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "camelCase")]
pub enum PortSource {
    /// No port anywhere: BIRD's default, 179.
    #[default]
    Default,
    /// Written in the BGPPeer's `peerIP` (`ip:port`).
    PeerIp,
    /// The `listenPort` of the BGPConfiguration `node.<node>`.
    NodeListenPort { node: String },
    /// The node has no own listen port: the default BGPConfiguration's `listenPort`.
    GlobalListenPort { node: String },
}

/// Where `node`'s effective AS comes from.
pub(crate) fn node_as_source(cluster: &Cluster<'_>, node: &str) -> AsSource {
    if cluster.node(node).and_then(|n| n.asn).is_some() {
        AsSource::Node { node: node.into() }
    } else if cluster.global().and_then(|g| g.as_number).is_some() {
        AsSource::Cluster { node: node.into() }
    } else {
        AsSource::Builtin
    }
}

/// Where `node`'s listen port (the port its peers connect to) comes from.
pub(crate) fn port_source(cluster: &Cluster<'_>, node: &str) -> PortSource {
    if cluster
        .node_config(node)
        .and_then(|c| c.listen_port)
        .is_some()
    {
        PortSource::NodeListenPort { node: node.into() }
    } else if cluster.global_listen_port().is_some() {
        PortSource::GlobalListenPort { node: node.into() }
    } else {
        PortSource::Default
    }
}
