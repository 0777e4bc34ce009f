//! Facts about every node that planning needs, derived once per snapshot: addresses, AS,
//! route-reflector cluster IDs, listen ports, and selector matches (cached, so planning
//! many nodes or evaluating one selector for many BGPPeers costs one pass).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use crate::resources::addr::{NodeAddress, parse_node_address};
use crate::resources::{AsNumber, BgpConfigurationSpec, DEFAULT_AS, Warning};
use crate::selector::Selector;
use crate::snapshot::Snapshot;

/// What planning knows about one Calico node.
#[derive(Debug, Clone)]
pub struct NodeInfo<'a> {
    /// The node's name.
    pub name: &'a str,
    /// The node's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// `spec.bgp.ipv4Address`, if set and valid.
    pub ipv4: Option<NodeAddress>,
    /// `spec.bgp.ipv6Address`, if set and valid.
    pub ipv6: Option<NodeAddress>,
    /// `spec.bgp.asNumber`, if set.
    pub asn: Option<AsNumber>,
    /// `spec.bgp.routeReflectorClusterID`, if set and non-empty.
    pub rr_cluster_id: Option<String>,
}

impl NodeInfo<'_> {
    /// This node's address in the family of `like`.
    pub fn ip_like(&self, like: &IpAddr) -> Option<IpAddr> {
        if like.is_ipv4() {
            self.ipv4.map(|a| a.ip)
        } else {
            self.ipv6.map(|a| a.ip)
        }
    }
}

/// The snapshot, indexed for planning.
pub struct Cluster<'a> {
    /// The snapshot being planned.
    pub snapshot: &'a Snapshot,
    nodes: BTreeMap<&'a str, NodeInfo<'a>>,
    by_ip: HashMap<IpAddr, Vec<&'a str>>,
    global: Option<&'a BgpConfigurationSpec>,
    node_listen_ports: HashMap<&'a str, u16>,
    selectors: RefCell<HashMap<String, Option<Rc<Selector>>>>,
    matches: RefCell<HashMap<String, Rc<Vec<&'a str>>>>,
    /// Problems found while indexing (shared addresses, …).
    pub warnings: Vec<Warning>,
}

impl<'a> Cluster<'a> {
    /// Indexes `snapshot`; problems found go to `warnings`.
    pub fn new(snapshot: &'a Snapshot) -> Cluster<'a> {
        let mut nodes = BTreeMap::new();
        let mut by_ip: HashMap<IpAddr, Vec<&str>> = HashMap::new();
        for (name, node) in &snapshot.nodes {
            let bgp = node.spec.bgp.as_ref();
            let addr = |f: Option<&String>| f.and_then(|t| parse_node_address(t));
            let info = NodeInfo {
                name,
                labels: &node.metadata.labels,
                ipv4: addr(bgp.and_then(|b| b.ipv4_address.as_ref())),
                ipv6: addr(bgp.and_then(|b| b.ipv6_address.as_ref())),
                asn: bgp.and_then(|b| b.as_number),
                rr_cluster_id: bgp
                    .and_then(|b| b.route_reflector_cluster_id.clone())
                    .filter(|id| !id.is_empty()),
            };
            for ip in [info.ipv4, info.ipv6].into_iter().flatten() {
                by_ip.entry(ip.ip).or_default().push(name);
            }
            nodes.insert(name.as_str(), info);
        }
        let mut warnings = Vec::new();
        let mut shared: Vec<_> = by_ip.iter().filter(|(_, names)| names.len() > 1).collect();
        shared.sort();
        for (ip, names) in shared {
            warnings.push(Warning::new(
                format!("Node/{}", names[0]),
                format!(
                    "shares address {ip} with {}; only the first (by name) is peered with",
                    names[1..].join(", ")
                ),
            ));
        }
        let mut node_listen_ports = HashMap::new();
        let mut global = None;
        for (name, cfg) in &snapshot.bgp_configurations {
            if name == "default" {
                global = Some(&cfg.spec);
            } else if let Some(node) = name.strip_prefix("node.")
                && let Some(port) = cfg.spec.listen_port
            {
                node_listen_ports.insert(node, port);
            }
        }
        Cluster {
            snapshot,
            nodes,
            by_ip,
            global,
            node_listen_ports,
            selectors: RefCell::default(),
            matches: RefCell::default(),
            warnings,
        }
    }

    /// The `default` BGPConfiguration's spec, if it exists.
    pub fn global(&self) -> Option<&'a BgpConfigurationSpec> {
        self.global
    }

    /// The per-node BGPConfiguration `node.<name>`, if it exists.
    pub fn node_config(&self, node: &str) -> Option<&'a BgpConfigurationSpec> {
        self.snapshot
            .bgp_configurations
            .get(&format!("node.{node}"))
            .map(|c| &c.spec)
    }

    /// The node named `name`, if it exists.
    pub fn node(&self, name: &str) -> Option<&NodeInfo<'a>> {
        self.nodes.get(name)
    }

    /// Every node, by name.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo<'a>> {
        self.nodes.values()
    }

    /// The nodes with this address (either family), by name.
    pub fn nodes_with_ip(&self, ip: &IpAddr) -> &[&'a str] {
        self.by_ip.get(ip).map_or(&[], Vec::as_slice)
    }

    /// The cluster AS: the default BGPConfiguration's, else 64512.
    pub fn global_as(&self) -> AsNumber {
        self.global.and_then(|g| g.as_number).unwrap_or(DEFAULT_AS)
    }

    /// A node's effective AS: its own, else the cluster AS.
    pub fn node_as(&self, node: &str) -> AsNumber {
        self.nodes
            .get(node)
            .and_then(|n| n.asn)
            .unwrap_or_else(|| self.global_as())
    }

    /// Whether the node-to-node mesh is on (default true).
    pub fn mesh_enabled(&self) -> bool {
        self.global
            .and_then(|g| g.node_to_node_mesh_enabled)
            .unwrap_or(true)
    }

    /// The global `listenPort`, if set.
    pub fn global_listen_port(&self) -> Option<u16> {
        self.global.and_then(|g| g.listen_port)
    }

    /// A node's listen port: its `node.<name>` config, else the global one, else none (179).
    pub fn listen_port(&self, node: &str) -> Option<u16> {
        self.node_listen_ports
            .get(node)
            .copied()
            .or_else(|| self.global_listen_port())
    }

    /// Parses (once) and returns a selector, or None if it does not parse.
    pub fn selector(&self, text: &str) -> Option<Rc<Selector>> {
        if let Some(s) = self.selectors.borrow().get(text) {
            return s.clone();
        }
        let parsed = Selector::parse(text).ok().map(Rc::new);
        self.selectors
            .borrow_mut()
            .insert(text.to_owned(), parsed.clone());
        parsed
    }

    /// Whether `node` (an existing Node) matches the selector.
    pub fn node_matches(&self, selector: &str, node: &str) -> bool {
        match (self.selector(selector), self.nodes.get(node)) {
            (Some(s), Some(n)) => s.matches(n.labels),
            _ => false,
        }
    }

    /// The names of every node matching the selector, by name (cached per selector text).
    pub fn nodes_matching(&self, selector: &str) -> Rc<Vec<&'a str>> {
        if let Some(m) = self.matches.borrow().get(selector) {
            return m.clone();
        }
        let names: Vec<&'a str> = match self.selector(selector) {
            Some(s) => self
                .nodes
                .values()
                .filter(|n| s.matches(n.labels))
                .map(|n| n.name)
                .collect(),
            None => Vec::new(),
        };
        let names = Rc::new(names);
        self.matches
            .borrow_mut()
            .insert(selector.to_owned(), names.clone());
        names
    }
}
