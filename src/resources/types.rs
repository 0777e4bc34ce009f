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
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `Node` (libcalico-go v3). Only `spec.bgp` matters to BGP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: NodeSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBgpSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(
        default,
        rename = "routeReflectorClusterID",
        skip_serializing_if = "Option::is_none"
    )]
    pub route_reflector_cluster_id: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `BGPConfiguration`: `default` (global) or `node.<name>` (per node).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpConfiguration {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: BgpConfigurationSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_severity_screen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    #[serde(
        default,
        rename = "serviceLoadBalancerIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<ServiceCidr>,
    #[serde(
        default,
        rename = "serviceExternalIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<ServiceCidr>,
    #[serde(
        default,
        rename = "serviceClusterIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<ServiceCidr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_password: Option<PasswordSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_max_restart_time: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_interfaces: Vec<String>,
    /// v3.32: the kernel metric of normal-priority workload routes (default 1024).
    #[serde(
        default,
        rename = "ipv4NormalRoutePriority",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_normal_route_priority: Option<i64>,
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
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A `{cidr}` entry of the service IP lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceCidr {
    #[serde(default)]
    pub cidr: String,
}

/// A named community value (`aa:nn` or `aa:nn:mm`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Community {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// Communities to attach to routes within a CIDR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixAdvertisement {
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub communities: Vec<String>,
}

/// `password: {secretKeyRef: {name, key}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretKeyRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
}

/// `BGPPeer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpPeer {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: BgpPeerSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    #[serde(default, rename = "peerIP", skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    #[serde(
        default,
        rename = "localASNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_as_number: Option<AsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_next_hop: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restart_time: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<GoDuration>,
    #[serde(
        default,
        rename = "numAllowedLocalASNumbers",
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_workload_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_peering: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `IPPool`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpPool {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: IpPoolSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolSpec {
    #[serde(default)]
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipip_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(
        default,
        rename = "disableBGPExport",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_bgp_export: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_uses: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `BGPFilter`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpFilter {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: BgpFilterSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterSpec {
    #[serde(default, rename = "exportV4", skip_serializing_if = "Vec::is_empty")]
    pub export_v4: Vec<BgpFilterRule>,
    #[serde(default, rename = "importV4", skip_serializing_if = "Vec::is_empty")]
    pub import_v4: Vec<BgpFilterRule>,
    #[serde(default, rename = "exportV6", skip_serializing_if = "Vec::is_empty")]
    pub export_v6: Vec<BgpFilterRule>,
    #[serde(default, rename = "importV6", skip_serializing_if = "Vec::is_empty")]
    pub import_v6: Vec<BgpFilterRule>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One BGPFilter rule; conditions are ANDed, the first matching rule's action applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLength>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
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
    #[serde(default)]
    pub action: String,
    /// v3.32: changes applied, in order, before an `Accept`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<FilterOperation>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `communities: {values: ["65000:100"]}` of a BGPFilter rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommunityMatch {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One entry of a BGPFilter rule's `operations`: exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_community: Option<CommunityValue>,
    #[serde(
        default,
        rename = "prependASPath",
        skip_serializing_if = "Option::is_none"
    )]
    pub prepend_as_path: Option<AsPathPrefix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<PriorityValue>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `addCommunity: {value: "65001:200"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommunityValue {
    #[serde(default)]
    pub value: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `prependASPath: {prefix: [65000]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AsPathPrefix {
    #[serde(default)]
    pub prefix: Vec<AsNumber>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `setPriority: {value: 256}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriorityValue {
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixLength {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// `CalicoNodeStatus`: which status classes to publish for a node, and how often.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalicoNodeStatus {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: CalicoNodeStatusSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalicoNodeStatusSpec {
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_period_seconds: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A block affinity: `cidr` is affine to `node`. In etcd this is the IPAM key
/// `/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`; in files, a `BlockAffinity` resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinity {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: BlockAffinitySpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinitySpec {
    #[serde(default)]
    pub node: String,
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
    #[serde(default)]
    pub iface_name: String,
    #[serde(default)]
    pub ipv4_nets: Vec<String>,
    #[serde(default)]
    pub ipv6_nets: Vec<String>,
    /// The BGPPeer whose `localWorkloadSelector` selects this workload.
    #[serde(default)]
    pub bgp_peer_name: String,
}
