//! One BGP session of this node and the enums that describe it.

use std::net::IpAddr;

use serde::Serialize;

use super::family::Family;
use super::filter_call::FilterCall;
use super::provenance;
use crate::resources::{AsNumber, Secret};

/// The peer type, named as CalicoNodeStatus names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PeerType {
    /// A session of the node-to-node mesh.
    NodeMesh,
    /// A session from a BGPPeer that applies to every node.
    GlobalPeer,
    /// A session from a BGPPeer that applies to selected nodes (`node` or `nodeSelector`).
    NodePeer,
}

impl PeerType {
    /// The name CalicoNodeStatus and `/status` use (`NodeMesh`, `GlobalPeer`, `NodePeer`).
    pub fn name(self) -> &'static str {
        match self {
            PeerType::NodeMesh => "NodeMesh",
            PeerType::GlobalPeer => "GlobalPeer",
            PeerType::NodePeer => "NodePeer",
        }
    }

    /// The words `calicoctl node status` prints (and the rendered config's comments).
    pub fn describe(self) -> &'static str {
        match self {
            PeerType::NodeMesh => "node-to-node mesh",
            PeerType::GlobalPeer => "global",
            PeerType::NodePeer => "node specific",
        }
    }
}

/// `nextHop` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NextHop {
    /// `next hop self`: routes to this peer carry this node's address as next hop.
    #[serde(rename = "self")]
    SelfAddress,
    /// `next hop keep`: routes to this peer keep their original next hop.
    Keep,
}

/// Whether a BGPPeer produced a peering directly or by the reverse (symmetry) pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The BGPPeer selects this node on its local side (`node`, `nodeSelector` or global).
    Forward,
    /// The BGPPeer selects this node on its remote side (`peerSelector`): the symmetric session.
    Reverse,
}

/// One contributor to a peer: `{"bgpPeer": "x", "direction": "reverse"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginDetail {
    /// The BGPPeer's name.
    pub bgp_peer: String,
    /// Whether the BGPPeer produced the session directly or by the reverse pass.
    pub direction: Direction,
}

/// One BGP session of this node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    /// BIRD's protocol name for the session (`Mesh_10_0_0_2`, `Node_…`, `Global_…`).
    pub name: String,
    /// Mesh, global or node-specific.
    #[serde(rename = "type")]
    pub peer_type: PeerType,
    /// The family of `peer_ip`.
    pub family: Family,
    /// The peer's address.
    #[serde(rename = "peerIP")]
    pub peer_ip: IpAddr,
    /// The peer's BGP port; `None` means 179.
    pub port: Option<u16>,
    /// The peer's AS number.
    pub as_number: AsNumber,
    /// The AS number this node presents on the session.
    #[serde(rename = "localASNumber")]
    pub local_as_number: AsNumber,
    /// This node does not connect; it waits for the peer to.
    pub passive: bool,
    /// The peer is a route-reflector client of this node.
    pub route_reflector_client: bool,
    /// The route-reflector cluster ID used on the session, when this node reflects to the peer.
    #[serde(rename = "routeReflectorClusterID")]
    pub route_reflector_cluster_id: Option<String>,
    /// The session's source address; `None` leaves it to BIRD.
    pub source_address: Option<IpAddr>,
    /// How routes to the peer get their next hop; `None` means BIRD's default.
    pub next_hop: Option<NextHop>,
    /// GTSM: the number of hops the peer may be away; `None` means off.
    pub ttl_security: Option<u8>,
    /// Graceful restart time in seconds (`maxRestartTime` or `nodeMeshMaxRestartTime`); `None`
    /// means BIRD's default.
    pub graceful_restart_time: Option<i64>,
    /// How many times this node's AS may appear in a received AS path (`numAllowedLocalASNumbers`);
    /// `None` means 0.
    #[serde(rename = "allowLocalAS")]
    pub allow_local_as: Option<i64>,
    /// Whether the session has a password (the password itself is in `password`).
    pub has_password: bool,
    /// The BGPPeer's `filters`, in order (including any that are missing or invalid).
    pub filters: Vec<String>,
    /// How the import and export filters use them (decided in [`filters`]).
    pub import_filters: Vec<FilterCall>,
    /// How the export filters use them (decided in [`filters`]).
    pub export_filters: Vec<FilterCall>,
    /// What produced the session: `BGPPeer/<name>` for each contributing BGPPeer, or `node-to-node
    /// mesh`.
    pub origin: Vec<String>,
    /// Extra fields (allowed by the contract):
    /// whether the session is iBGP (neighbor AS = local AS).
    pub internal: bool,
    /// A gateway to reach the peer through (`reachableBy`): BIRD gets a static route.
    pub reachable_by: Option<IpAddr>,
    /// `keepaliveTime` in seconds.
    pub keepalive_time: Option<i64>,
    /// Whether `local as` is set on this session (a `localASNumber` override).
    #[serde(rename = "localASOverride")]
    pub local_as_override: bool,
    /// Each contributing BGPPeer and its direction, in contribution order.
    pub origin_detail: Vec<OriginDetail>,
    /// The Calico node at the other end, when the peer is one.
    pub remote_node: Option<String>,
    /// The password itself: never serialized, only rendered.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// How the AS numbers, port and passive input were derived (for `perch explain`).
    #[serde(skip)]
    pub provenance: provenance::Provenance,
}

impl Peer {
    /// The resource this session comes from, as (kind, name): `("BGPPeer", "rack1-tor")`, or
    /// `("Node", "node-b")` for a mesh session. The first origin when several BGPPeers
    /// give the same session.
    pub fn origin_resource(&self) -> (String, String) {
        if let Some(o) = self.origin_detail.first() {
            return ("BGPPeer".into(), o.bgp_peer.clone());
        }
        if let Some(name) = self.origin.iter().find_map(|o| o.strip_prefix("BGPPeer/")) {
            return ("BGPPeer".into(), name.to_owned());
        }
        let node = self.remote_node.clone();
        (
            "Node".into(),
            node.unwrap_or_else(|| self.peer_ip.to_string()),
        )
    }

    /// Whether `other` is the same session with the same options (origins aside).
    pub fn same_session(&self, other: &Peer) -> bool {
        let strip = |p: &Peer| {
            let mut p = p.clone();
            p.origin.clear();
            p.origin_detail.clear();
            p.provenance = Default::default();
            p
        };
        strip(self) == strip(other)
    }
}
