//! The cluster as the planner sees it, and how datastore events change it.
//!
//! Owns: the valid resources by kind and name, the resources that were skipped and why, and
//! the mounted secrets. `apply` is the only way in; re-lists arrive as `Init`, `InitApply`…,
//! `InitDone` and are swapped in at once, so a half-listed cluster is never planned.
//! Must not: do I/O, read clocks, or plan.

use std::collections::{BTreeMap, BTreeSet};

use crate::resources::validate;
use crate::resources::{
    BgpConfiguration, BgpFilter, BgpPeer, BlockAffinity, CalicoNodeStatus, EndpointStatus, IpPool,
    Kind, Node, Resource, ResourceId, SecretKeyRef, Secrets, Warning,
};

/// A change reported by a datastore.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A resource was created or updated.
    Upsert(Resource),
    /// A resource was deleted.
    Delete(ResourceId),
    /// A stored value could not be decoded; `key` is the etcd key or `file document N`.
    Undecodable {
        /// Where the value was: the etcd key or `file document N`.
        key: String,
        /// The resource, when its kind and name could be read.
        id: Option<ResourceId>,
        /// Why it could not be decoded.
        message: String,
    },
    /// The mounted secrets changed (the whole set).
    Secrets(Secrets),
    /// The local workloads' endpoint-status files changed (the whole set, by file name).
    LocalWorkloads(BTreeMap<String, EndpointStatus>),
    /// A full re-list starts: what follows replaces everything (secrets excepted).
    Init,
    /// One item of the re-list (an `Upsert` or `Undecodable`).
    InitApply(Box<Event>),
    /// The re-list is complete: swap it in.
    InitDone,
}

/// Every resource perch plans from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Nodes, by name.
    pub nodes: BTreeMap<String, Node>,
    /// BGPConfigurations, by name (`default`, `node.<name>`).
    pub bgp_configurations: BTreeMap<String, BgpConfiguration>,
    /// BGPPeers, by name.
    pub bgp_peers: BTreeMap<String, BgpPeer>,
    /// IPPools, by name.
    pub ip_pools: BTreeMap<String, IpPool>,
    /// BGPFilters, by name.
    pub bgp_filters: BTreeMap<String, BgpFilter>,
    /// CalicoNodeStatuses, by name.
    pub node_statuses: BTreeMap<String, CalicoNodeStatus>,
    /// Block affinities, by name.
    pub block_affinities: BTreeMap<String, BlockAffinity>,
    /// The mounted BGP passwords.
    pub secrets: Secrets,
    /// Local workloads that asked for BGP sessions (`localWorkloadSelector` peering).
    pub local_workloads: BTreeMap<String, EndpointStatus>,
    /// Resources that were skipped, with why: keyed by `Kind/name` or by key/location.
    pub skipped: BTreeMap<String, Warning>,
    /// Resources kept without some of their values (see `validate::salvage`), by `Kind/name`.
    pub ignored_values: BTreeMap<String, Vec<Warning>>,
    /// A re-list in progress.
    pending: Option<Box<Snapshot>>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// Builds a snapshot from resources, as if each were upserted.
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> Snapshot {
        let mut s = Snapshot::new();
        for r in resources {
            s.apply(Event::Upsert(r));
        }
        s
    }

    /// Every secret key the resources use (BGPPeer passwords, the mesh password): the only
    /// secrets perch reads.
    pub fn secret_refs(&self) -> BTreeSet<SecretKeyRef> {
        let peers = self
            .bgp_peers
            .values()
            .filter_map(|p| p.spec.password_ref());
        let mesh = self
            .bgp_configurations
            .values()
            .filter_map(|c| c.spec.node_mesh_password.as_ref()?.secret_key_ref.as_ref());
        peers.chain(mesh).cloned().collect()
    }

    /// Whether a re-list has started and not finished.
    pub fn is_relisting(&self) -> bool {
        self.pending.is_some()
    }

    /// Applies one event. Returns whether the visible snapshot changed.
    pub fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Init => {
                self.pending = Some(Box::new(Snapshot {
                    secrets: self.secrets.clone(),
                    ..Default::default()
                }));
                false
            }
            Event::InitApply(inner) => {
                match self.pending.as_mut() {
                    Some(p) => {
                        p.apply(*inner);
                    }
                    // Items outside a re-list are plain events.
                    None => {
                        return self.apply(*inner);
                    }
                }
                false
            }
            Event::InitDone => match self.pending.take() {
                Some(mut p) => {
                    p.secrets = std::mem::take(&mut self.secrets);
                    p.local_workloads = std::mem::take(&mut self.local_workloads);
                    *self = *p;
                    true
                }
                None => false,
            },
            Event::Secrets(s) => {
                if let Some(p) = self.pending.as_mut() {
                    p.secrets = s.clone();
                }
                let changed = self.secrets != s;
                self.secrets = s;
                changed
            }
            Event::LocalWorkloads(w) => {
                if let Some(p) = self.pending.as_mut() {
                    p.local_workloads = w.clone();
                }
                let changed = self.local_workloads != w;
                self.local_workloads = w;
                changed
            }
            Event::Upsert(r) => self.upsert(r),
            Event::Delete(id) => self.delete(&id),
            Event::Undecodable { key, id, message } => {
                if let Some(id) = &id {
                    self.remove_valid(id);
                    self.ignored_values.remove(&id.to_string());
                }
                let warning = match &id {
                    Some(id) => Warning::new(id, message),
                    None => Warning::new(&key, message),
                };
                self.skipped
                    .insert(id.map_or(key, |i| i.to_string()), warning);
                true
            }
        }
    }

    fn upsert(&mut self, mut r: Resource) -> bool {
        let id = r.id();
        let key = id.to_string();
        let notes = validate::salvage(&mut r);
        if notes.is_empty() {
            self.ignored_values.remove(&key);
        } else {
            let warnings = notes.into_iter().map(|n| Warning::new(&id, n)).collect();
            self.ignored_values.insert(key.clone(), warnings);
        }
        if let Err(why) = validate::check(&r) {
            self.ignored_values.remove(&key);
            self.remove_valid(&id);
            self.skipped.insert(key, Warning::new(&id, why));
            return true;
        }
        self.skipped.remove(&key);
        match r {
            Resource::Node(x) => replace(&mut self.nodes, x.metadata.name.clone(), x),
            Resource::BgpConfiguration(x) => {
                replace(&mut self.bgp_configurations, x.metadata.name.clone(), x)
            }
            Resource::BgpPeer(x) => replace(&mut self.bgp_peers, x.metadata.name.clone(), x),
            Resource::IpPool(x) => replace(&mut self.ip_pools, x.metadata.name.clone(), x),
            Resource::BgpFilter(x) => replace(&mut self.bgp_filters, x.metadata.name.clone(), x),
            Resource::CalicoNodeStatus(x) => {
                replace(&mut self.node_statuses, x.metadata.name.clone(), x)
            }
            Resource::BlockAffinity(x) => {
                replace(&mut self.block_affinities, x.metadata.name.clone(), x)
            }
        }
    }

    fn delete(&mut self, id: &ResourceId) -> bool {
        self.ignored_values.remove(&id.to_string());
        let was_skipped = self.skipped.remove(&id.to_string()).is_some();
        self.remove_valid(id) || was_skipped
    }

    fn remove_valid(&mut self, id: &ResourceId) -> bool {
        let n = &id.name;
        match id.kind {
            Kind::Node => self.nodes.remove(n).is_some(),
            Kind::BgpConfiguration => self.bgp_configurations.remove(n).is_some(),
            Kind::BgpPeer => self.bgp_peers.remove(n).is_some(),
            Kind::IpPool => self.ip_pools.remove(n).is_some(),
            Kind::BgpFilter => self.bgp_filters.remove(n).is_some(),
            Kind::CalicoNodeStatus => self.node_statuses.remove(n).is_some(),
            Kind::BlockAffinity => self.block_affinities.remove(n).is_some(),
        }
    }

    /// The resource with this id, if valid and present.
    pub fn get(&self, id: &ResourceId) -> Option<Resource> {
        let n = &id.name;
        Some(match id.kind {
            Kind::Node => Resource::Node(self.nodes.get(n)?.clone()),
            Kind::BgpConfiguration => {
                Resource::BgpConfiguration(self.bgp_configurations.get(n)?.clone())
            }
            Kind::BgpPeer => Resource::BgpPeer(self.bgp_peers.get(n)?.clone()),
            Kind::IpPool => Resource::IpPool(self.ip_pools.get(n)?.clone()),
            Kind::BgpFilter => Resource::BgpFilter(self.bgp_filters.get(n)?.clone()),
            Kind::CalicoNodeStatus => {
                Resource::CalicoNodeStatus(self.node_statuses.get(n)?.clone())
            }
            Kind::BlockAffinity => Resource::BlockAffinity(self.block_affinities.get(n)?.clone()),
        })
    }

    /// Every valid resource, in [`Kind::ALL`] order then by name.
    pub fn resources(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        out.extend(self.nodes.values().cloned().map(Resource::Node));
        out.extend(
            self.bgp_configurations
                .values()
                .cloned()
                .map(Resource::BgpConfiguration),
        );
        out.extend(self.ip_pools.values().cloned().map(Resource::IpPool));
        out.extend(self.bgp_filters.values().cloned().map(Resource::BgpFilter));
        out.extend(self.bgp_peers.values().cloned().map(Resource::BgpPeer));
        out.extend(
            self.node_statuses
                .values()
                .cloned()
                .map(Resource::CalicoNodeStatus),
        );
        out.extend(
            self.block_affinities
                .values()
                .cloned()
                .map(Resource::BlockAffinity),
        );
        out
    }

    /// The number of valid resources.
    pub fn len(&self) -> usize {
        self.nodes.len()
            + self.bgp_configurations.len()
            + self.bgp_peers.len()
            + self.ip_pools.len()
            + self.bgp_filters.len()
            + self.node_statuses.len()
            + self.block_affinities.len()
    }

    /// Whether there are no valid resources.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn replace<T: PartialEq>(map: &mut BTreeMap<String, T>, name: String, value: T) -> bool {
    match map.get(&name) {
        Some(old) if *old == value => false,
        _ => {
            map.insert(name, value);
            true
        }
    }
}

/// Test input: a snapshot of the resources in `yaml` (every document must decode).
#[cfg(test)]
pub(crate) fn from_yaml(yaml: &str) -> Snapshot {
    use crate::resources::decode::{Decoded, decode_documents};
    Snapshot::from_resources(
        decode_documents(yaml, "test")
            .unwrap()
            .into_iter()
            .map(|d| match d {
                Decoded::Resource(r) => r,
                Decoded::Skipped(w) => panic!("{w}"),
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Metadata, NodeBgpSpec, NodeSpec};

    fn node(name: &str, ip: &str) -> Resource {
        Resource::Node(Node {
            metadata: Metadata {
                name: name.into(),
                ..Default::default()
            },
            spec: NodeSpec {
                bgp: Some(NodeBgpSpec {
                    ipv4_address: Some(ip.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        })
    }

    #[test]
    fn invalid_resources_are_skipped_and_named() {
        let mut s = Snapshot::new();
        assert!(s.apply(Event::Upsert(node("a", "10.0.0.1/24"))));
        assert!(
            !s.apply(Event::Upsert(node("a", "10.0.0.1/24"))),
            "same value is no change"
        );
        s.apply(Event::Upsert(node("a", "not-an-ip")));
        assert!(s.nodes.is_empty());
        let w = &s.skipped["Node/a"];
        assert!(
            w.to_string()
                .starts_with("Node \"a\": spec.bgp.ipv4Address"),
            "{w}"
        );
        s.apply(Event::Upsert(node("a", "10.0.0.2/24")));
        assert!(s.skipped.is_empty());
        assert!(s.apply(Event::Delete(ResourceId::new(Kind::Node, "a"))));
        assert!(s.is_empty());
    }

    fn yaml(text: &str) -> Resource {
        match crate::resources::decode::decode_documents(text, "test")
            .unwrap()
            .remove(0)
        {
            crate::resources::decode::Decoded::Resource(r) => r,
            crate::resources::decode::Decoded::Skipped(w) => panic!("{w}"),
        }
    }

    #[test]
    fn values_calico_accepts_keep_the_whole_bgp_configuration() {
        let s = Snapshot::from_resources([yaml(
            "kind: BGPConfiguration\nmetadata: {name: default}\n\
             spec: {asNumber: 65001, nodeToNodeMeshEnabled: false, listenPort: 1790,\n\
             logSeverityScreen: Trace,\n\
             communities: [{name: used, value: '65001:1'}, {name: unused, value: '65001:2'},\n\
                           {name: used, value: '65001:3'}],\n\
             prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [used]},\n\
                                    {cidr: 10.1.0.1, communities: ['0065001:007']}]}\n",
        )]);
        assert!(s.skipped.is_empty(), "{:?}", s.skipped);
        assert!(s.ignored_values.is_empty(), "{:?}", s.ignored_values);
        assert_eq!(s.bgp_configurations["default"].spec.listen_port, Some(1790));
    }

    #[test]
    fn a_value_perch_cannot_use_costs_only_that_value() {
        let s = Snapshot::from_resources([yaml(
            "kind: BGPConfiguration\nmetadata: {name: default}\n\
             spec: {asNumber: 65001, nodeToNodeMeshEnabled: false, listenPort: 1790,\n\
             logSeverityScreen: Verbose, ignoredInterfaces: ['*', eth9],\n\
             serviceClusterIPs: [{cidr: 10.96.0.0/12}, {cidr: nonsense}],\n\
             communities: [{name: bad, value: '70000:1'}],\n\
             prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [bad, '1:2']}]}\n",
        )]);
        assert!(s.skipped.is_empty(), "{:?}", s.skipped);
        let c = &s.bgp_configurations["default"].spec;
        assert_eq!(
            (
                c.as_number.map(|a| a.get()),
                c.node_to_node_mesh_enabled,
                c.listen_port
            ),
            (Some(65001), Some(false), Some(1790)),
            "the rest of the resource still counts"
        );
        assert_eq!(c.ignored_interfaces, ["eth9"]);
        assert_eq!(c.service_cluster_ips.len(), 1);
        assert_eq!(c.prefix_advertisements[0].communities, ["1:2"]);
        let w: Vec<String> = s.ignored_values["BGPConfiguration/default"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(w.len(), 5, "{w:#?}");
        assert!(
            w.iter()
                .all(|w| w.starts_with("BGPConfiguration \"default\": spec.")),
            "{w:#?}"
        );
        assert!(w[0].contains("logSeverityScreen \"Verbose\""), "{w:#?}");
    }

    #[test]
    fn relist_swaps_in_at_once() {
        let mut s = Snapshot::from_resources([node("old", "10.0.0.1/24")]);
        s.apply(Event::Init);
        s.apply(Event::InitApply(Box::new(Event::Upsert(node(
            "new",
            "10.0.0.2/24",
        )))));
        assert!(
            s.nodes.contains_key("old") && !s.nodes.contains_key("new"),
            "half a list is never visible"
        );
        assert!(s.is_relisting());
        assert!(s.apply(Event::InitDone));
        assert_eq!(s.nodes.keys().collect::<Vec<_>>(), ["new"]);
        assert!(!s.is_relisting());
    }

    #[test]
    fn secret_refs_are_every_peer_and_mesh_password_reference() {
        let s = from_yaml(
            "kind: BGPPeer\nmetadata: {name: a}\n\
             spec: {peerIP: 192.0.2.1, asNumber: 1, password: {secretKeyRef: {name: s, key: a}}}\n---\n\
             kind: BGPPeer\nmetadata: {name: b}\nspec: {peerIP: 192.0.2.2, asNumber: 1}\n---\n\
             kind: BGPConfiguration\nmetadata: {name: default}\n\
             spec: {nodeMeshPassword: {secretKeyRef: {name: mesh, key: pw}}}\n",
        );
        let refs: Vec<String> = s
            .secret_refs()
            .into_iter()
            .map(|r| format!("{}/{}", r.name, r.key))
            .collect();
        assert_eq!(refs, ["mesh/pw", "s/a"]);
    }
}
