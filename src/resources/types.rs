//! The Calico v3 resource types perch reads, with the API's JSON field names.
//!
//! Decoding is lenient about fields perch does not use (they are kept in `extra` so a
//! resource written back is not truncated); [`super::validate`] decides what is acceptable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::asn::AsNumber;
use super::duration::GoDuration;
use super::labels;

/// `metadata` of every resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// metadata.name: the resource's name (for a Node, the node name).
    #[serde(default)]
    pub name: String,
    /// metadata.labels: the resource's labels, matched by Calico selectors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "labels")]
    pub labels: BTreeMap<String, String>,
    /// metadata.resourceVersion: the datastore's version of this resource; `None` when it was not
    /// read from a datastore that sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Other metadata fields perch does not use, kept so a resource written back is not truncated.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `Node` (libcalico-go v3). Only `spec.bgp` matters to BGP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node's metadata; `name` is the node name.
    #[serde(default)]
    pub metadata: Metadata,
    /// The node's spec.
    #[serde(default)]
    pub spec: NodeSpec,
}

/// `spec` of a Node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// spec.bgp: the node's BGP settings; `None` when the node does not run BGP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `spec.bgp` of a Node: its AS number, addresses and route reflector cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBgpSpec {
    /// spec.bgp.asNumber: the node's AS number; `None` means the cluster default (BGPConfiguration
    /// `asNumber`, else 64512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// spec.bgp.ipv4Address: the node's IPv4 address with prefix length (e.g. `10.0.0.1/24`);
    /// `None` when the node has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// spec.bgp.ipv6Address: the node's IPv6 address with prefix length; `None` when the node has
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// spec.bgp.routeReflectorClusterID: set when this node is a route reflector, with the cluster
    /// ID it uses; `None` for an ordinary node.
    #[serde(
        default,
        rename = "routeReflectorClusterID",
        skip_serializing_if = "Option::is_none"
    )]
    pub route_reflector_cluster_id: Option<String>,
    /// Other fields of `spec.bgp` perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `BGPConfiguration`: `default` (global) or `node.<name>` (per node).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpConfiguration {
    /// The configuration's metadata; `default` is the cluster-wide one, `node.<name>` a per-node
    /// override.
    #[serde(default)]
    pub metadata: Metadata,
    /// The configuration's spec.
    #[serde(default)]
    pub spec: BgpConfigurationSpec,
}

/// `spec` of a BGPConfiguration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    /// spec.logSeverityScreen: BIRD's log level (`Debug`, `Info`, `None`, …); `None` here means
    /// `Info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_severity_screen: Option<String>,
    /// spec.nodeToNodeMeshEnabled: whether every node peers with every other node; `None` means
    /// enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_to_node_mesh_enabled: Option<bool>,
    /// spec.asNumber: the default AS number for nodes that set none; `None` means 64512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// spec.serviceLoadBalancerIPs: the LoadBalancer service CIDRs to advertise.
    #[serde(
        default,
        rename = "serviceLoadBalancerIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<ServiceCidr>,
    /// spec.serviceExternalIPs: the external IP CIDRs of services to advertise.
    #[serde(
        default,
        rename = "serviceExternalIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<ServiceCidr>,
    /// spec.serviceClusterIPs: the service cluster IP CIDRs to advertise.
    #[serde(
        default,
        rename = "serviceClusterIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<ServiceCidr>,
    /// spec.communities: named BGP community values that `prefixAdvertisements` can refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// spec.prefixAdvertisements: the communities to attach to routes for given CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// spec.listenPort: the port BIRD listens on for BGP; `None` means 179.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    /// spec.nodeMeshPassword: the secret holding the password for node-to-node mesh sessions;
    /// `None` means no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_password: Option<PasswordSource>,
    /// spec.nodeMeshMaxRestartTime: graceful restart time for mesh sessions, a Go duration (e.g.
    /// `120s`); `None` means BIRD's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_max_restart_time: Option<GoDuration>,
    /// spec.bindMode: `None` or `NodeIP`; with `NodeIP` BIRD listens only on the node's addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_mode: Option<String>,
    /// spec.ignoredInterfaces: interface name patterns BIRD's `protocol direct` ignores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_interfaces: Vec<String>,
    /// v3.32: the kernel metric of normal-priority workload routes (default 1024).
    #[serde(
        default,
        rename = "ipv4NormalRoutePriority",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_normal_route_priority: Option<i64>,
    /// spec.ipv6NormalRoutePriority: the kernel route metric for ordinary IPv6 routes; `None` means
    /// Calico's default.
    #[serde(
        default,
        rename = "ipv6NormalRoutePriority",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_normal_route_priority: Option<i64>,
    /// `Enabled` (default: BIRD programs routes of IPIP and unencapsulated pools into the
    /// kernel) or `Disabled` (Felix does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_cluster_routes: Option<String>,
    /// `Enabled` (default: the LoadBalancer ranges are advertised from every node) or
    /// `Disabled` (only per Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_load_balancer_aggregation: Option<String>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A `{cidr}` entry of the service IP lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceCidr {
    /// cidr: a service CIDR to advertise.
    #[serde(default)]
    pub cidr: String,
}

/// A named community value (`aa:nn` or `aa:nn:mm`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Community {
    /// name: the community's name, used in `prefixAdvertisements`.
    #[serde(default)]
    pub name: String,
    /// value: the community, `aa:nn` (standard) or `aa:nn:mm` (large).
    #[serde(default)]
    pub value: String,
}

/// Communities to attach to routes within a CIDR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixAdvertisement {
    /// cidr: the CIDR whose routes get the communities.
    #[serde(default)]
    pub cidr: String,
    /// communities: community names (from `spec.communities`) or literal values.
    #[serde(default)]
    pub communities: Vec<String>,
}

/// `password: {secretKeyRef: {name, key}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSource {
    /// secretKeyRef: the Kubernetes secret and key holding the password; `None` means no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
}

/// A reference to one key of a Kubernetes secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretKeyRef {
    /// name: the secret's name.
    #[serde(default)]
    pub name: String,
    /// key: the key inside the secret.
    #[serde(default)]
    pub key: String,
}

/// `BGPPeer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpPeer {
    /// The peer's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The peer's spec.
    #[serde(default)]
    pub spec: BgpPeerSpec,
}

/// `spec` of a BGPPeer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerSpec {
    /// spec.node: the one node this peering applies to; `None` means not limited to one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// spec.nodeSelector: the nodes this peering applies to, a Calico selector; `None` means not
    /// selected by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    /// spec.peerIP: the peer's address, optionally with :port.
    #[serde(default, rename = "peerIP", skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<String>,
    /// spec.asNumber: the peer's AS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// spec.localASNumber: the AS number this node presents to the peer; `None` means the node's
    /// own.
    #[serde(
        default,
        rename = "localASNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_as_number: Option<AsNumber>,
    /// spec.peerSelector: selects Calico nodes as the peers, instead of `peerIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_selector: Option<String>,
    /// spec.keepOriginalNextHop: forward routes to this peer with their original next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_next_hop: Option<bool>,
    /// spec.nextHopMode: `Auto`, `Self` or `Keep`; `None` means `Auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mode: Option<String>,
    /// spec.password: the secret holding the session's password; `None` means no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordSource>,
    /// spec.sourceAddress: `UseNodeIP` (the default) or `None`: whether sessions use the node's IP
    /// as source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    /// spec.maxRestartTime: graceful restart time, a Go duration (e.g. `120s`); `None` means BIRD's
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restart_time: Option<GoDuration>,
    /// spec.keepaliveTime: BGP keepalive interval, a Go duration; `None` means BIRD's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<GoDuration>,
    /// spec.numAllowedLocalASNumbers: how many times this node's AS may appear in a received AS
    /// path; `None` means 0.
    #[serde(
        default,
        rename = "numAllowedLocalASNumbers",
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<i64>,
    /// spec.ttlSecurity: GTSM hop count; `None` or 0 means off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<i64>,
    /// spec.reachableBy: the gateway address through which the peer is reached; `None` means
    /// directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable_by: Option<String>,
    /// spec.filters: names of BGPFilters applied to this peering, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// spec.localWorkloadSelector: selects local workloads to peer with, instead of `peerIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_workload_selector: Option<String>,
    /// spec.reversePeering: `Auto` or `Manual`: whether a selected node peers back automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_peering: Option<String>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl BgpPeerSpec {
    /// The password key its sessions use. None for a BGPPeer that peers only with local
    /// workloads (`localWorkloadSelector` without `peerSelector`): Calico gives those sessions
    /// no password, so its secret is neither read nor needed.
    pub fn password_ref(&self) -> Option<&SecretKeyRef> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        if set(&self.local_workload_selector) && !set(&self.peer_selector) {
            return None;
        }
        self.password.as_ref()?.secret_key_ref.as_ref()
    }
}

/// `IPPool`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpPool {
    /// The pool's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The pool's spec.
    #[serde(default)]
    pub spec: IpPoolSpec,
}

/// `spec` of an IPPool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolSpec {
    /// spec.cidr: the pool's CIDR.
    #[serde(default)]
    pub cidr: String,
    /// spec.ipipMode: `Never`, `Always` or `CrossSubnet`; `None` means `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipip_mode: Option<String>,
    /// spec.vxlanMode: `Never`, `Always` or `CrossSubnet`; `None` means `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_mode: Option<String>,
    /// spec.natOutgoing: masquerade traffic leaving the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing: Option<bool>,
    /// spec.disabled: no new addresses are allocated from the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// spec.disableBGPExport: the pool's routes are not exported over BGP; `None` means exported.
    #[serde(
        default,
        rename = "disableBGPExport",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_bgp_export: Option<bool>,
    /// spec.nodeSelector: the nodes that allocate from this pool, a Calico selector; `None` means
    /// all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    /// spec.blockSize: the prefix length of the blocks nodes claim; `None` means 26 (IPv4) or 122
    /// (IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u8>,
    /// spec.allowedUses: `Workload`, `Tunnel`, `LoadBalancer`; empty means Calico's default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_uses: Vec<String>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `BGPFilter`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpFilter {
    /// The filter's metadata; `name` is what BGPPeer `filters` refer to.
    #[serde(default)]
    pub metadata: Metadata,
    /// The filter's rules.
    #[serde(default)]
    pub spec: BgpFilterSpec,
}

/// `spec` of a BGPFilter: rule lists per direction and family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterSpec {
    /// spec.exportV4: rules for IPv4 routes sent to the peer, in order.
    #[serde(default, rename = "exportV4", skip_serializing_if = "Vec::is_empty")]
    pub export_v4: Vec<BgpFilterRule>,
    /// spec.importV4: rules for IPv4 routes received from the peer, in order.
    #[serde(default, rename = "importV4", skip_serializing_if = "Vec::is_empty")]
    pub import_v4: Vec<BgpFilterRule>,
    /// spec.exportV6: rules for IPv6 routes sent to the peer, in order.
    #[serde(default, rename = "exportV6", skip_serializing_if = "Vec::is_empty")]
    pub export_v6: Vec<BgpFilterRule>,
    /// spec.importV6: rules for IPv6 routes received from the peer, in order.
    #[serde(default, rename = "importV6", skip_serializing_if = "Vec::is_empty")]
    pub import_v6: Vec<BgpFilterRule>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One BGPFilter rule; conditions are ANDed, the first matching rule's action applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterRule {
    /// cidr: the prefix the route must fall in; `None` means any prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// prefixLength: bounds on the route's prefix length; `None` means no bounds beyond `cidr` and
    /// `matchOperator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLength>,
    /// source: `RemotePeers` to match only routes learned from BGP peers; `None` means any source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// interface: an interface name pattern the route must go out of; `None` means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// matchOperator: how `cidr` is compared: `Equal`, `NotEqual`, `In` or `NotIn`; `None` means
    /// `In`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_operator: Option<String>,
    /// `eBGP` / `iBGP` (v3.32): the rule applies only to sessions of that kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_type: Option<String>,
    /// v3.32: the route carries this community (`aa:nn` or `aa:nn:mm`; one value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunityMatch>,
    /// v3.32: the AS path begins with these AS numbers.
    #[serde(
        default,
        rename = "asPathPrefix",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub as_path_prefix: Vec<AsNumber>,
    /// v3.32: the route has this priority (kernel metric; LOCAL_PREF `2147483647 - p`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// action: `Accept` or `Reject`.
    #[serde(default)]
    pub action: String,
    /// v3.32: changes applied, in order, before an `Accept`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<FilterOperation>,
    /// Other rule fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `communities: {values: ["65000:100"]}` of a BGPFilter rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommunityMatch {
    /// values: the communities a route must carry.
    #[serde(default)]
    pub values: Vec<String>,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One entry of a BGPFilter rule's `operations`: exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperation {
    /// addCommunity: a community to add to the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_community: Option<CommunityValue>,
    /// prependASPath: AS numbers to prepend to the route's AS path.
    #[serde(
        default,
        rename = "prependASPath",
        skip_serializing_if = "Option::is_none"
    )]
    pub prepend_as_path: Option<AsPathPrefix>,
    /// setPriority: the route priority to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<PriorityValue>,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `addCommunity: {value: "65001:200"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommunityValue {
    /// value: the community, `aa:nn` or `aa:nn:mm`.
    #[serde(default)]
    pub value: String,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `prependASPath: {prefix: [65000]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AsPathPrefix {
    /// prefix: the AS numbers to prepend, in order.
    #[serde(default)]
    pub prefix: Vec<AsNumber>,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `setPriority: {value: 256}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriorityValue {
    /// value: the priority; `None` when not given.
    #[serde(default)]
    pub value: Option<i64>,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `prefixLength` of a filter rule: bounds on the route's prefix length.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixLength {
    /// min: the shortest prefix length matched; `None` means the `cidr` length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// max: the longest prefix length matched; `None` means the family's maximum (32 or 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Other fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `CalicoNodeStatus`: which status classes to publish for a node, and how often.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalicoNodeStatus {
    /// The status resource's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The status resource's spec: which node and what to report.
    #[serde(default)]
    pub spec: CalicoNodeStatusSpec,
    /// status: the reported status as written; `None` before the first report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// `spec` of a CalicoNodeStatus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalicoNodeStatusSpec {
    /// spec.node: the node whose status is reported.
    #[serde(default)]
    pub node: String,
    /// spec.classes: what to report: `Agent`, `BGP`, `Routes`.
    #[serde(default)]
    pub classes: Vec<String>,
    /// spec.updatePeriodSeconds: how often to rewrite the status, in seconds; `None` or 0 means
    /// only when first seen or when the spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_period_seconds: Option<i64>,
    /// Other spec fields perch does not use, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A block affinity: `cidr` is affine to `node`. In etcd this is the IPAM key
/// `/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`; in files, a `BlockAffinity` resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinity {
    /// The affinity's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The affinity's spec: which node owns which block.
    #[serde(default)]
    pub spec: BlockAffinitySpec,
}

/// `spec` of a BlockAffinity: one IPAM block claimed by one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinitySpec {
    /// spec.node: the node that owns the block.
    #[serde(default)]
    pub node: String,
    /// spec.cidr: the block's CIDR.
    #[serde(default)]
    pub cidr: String,
    /// `confirmed`, `pending`, `pendingDeletion`, or empty (legacy, treated as confirmed).
    #[serde(default)]
    pub state: String,
    /// `"true"` when the affinity is being deleted (a string in Calico's CRD).
    #[serde(default, with = "labels::loose_string")]
    pub deleted: String,
}

/// A local workload that wants a BGP session with this node (`localWorkloadSelector`
/// peering): the endpoint-status file Felix writes for it
/// (`/var/run/calico/endpoint-status/<name>`), read as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// The file name.
    #[serde(default, skip_serializing)]
    pub name: String,
    /// ifaceName: the workload's interface on the host.
    #[serde(default)]
    pub iface_name: String,
    /// ipv4Nets: the workload's IPv4 addresses, as CIDRs.
    #[serde(default)]
    pub ipv4_nets: Vec<String>,
    /// ipv6Nets: the workload's IPv6 addresses, as CIDRs.
    #[serde(default)]
    pub ipv6_nets: Vec<String>,
    /// The BGPPeer whose `localWorkloadSelector` selects this workload.
    #[serde(default)]
    pub bgp_peer_name: String,
}
