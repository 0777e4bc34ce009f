//! What BIRD sees of one node's BGP sessions, reduced to what decides how a reconfiguration
//! affects each of them: the per-protocol render view, the bodies of the BGPFilter functions
//! each protocol calls, Calico's export policy per family, and the node-level options every
//! protocol inherits from `bgp_template` (router id, `local port`, `strict bind`, local AS).
//!
//! Owns: building [`NodeSessions`] from a plan and its snapshot. Must not: compare (that is
//! `diff`), print, or do I/O.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::plan::{Cluster, Family, PeerType, Plan};
use crate::render::view::{FamilyView, PeerView, build};

/// The BGPFilter functions one protocol calls in one direction: `(BGPFilter name, rule lines)`.
pub(crate) type FilterCalls = Vec<(String, Vec<String>)>;

/// One `protocol bgp`, as BIRD sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    pub view: PeerView,
    pub peer_type: PeerType,
    pub family: Family,
    pub peer_ip: IpAddr,
    pub origin: Vec<String>,
    pub import: FilterCalls,
    pub export: FilterCalls,
    /// The Calico node at the other end: the planner's, else the node owning the address.
    pub remote_node: Option<String>,
    /// Whether that node is a route reflector (has a `routeReflectorClusterID`).
    pub remote_is_rr: bool,
}

/// Calico's export functions for one family (`calico_export_to_bgp_peers` and what it
/// calls): a change re-exports every session of the family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExportPolicy {
    pub pools: Vec<String>,
    pub disabled_pools: Vec<String>,
    pub blocks: Vec<String>,
    pub communities: Vec<String>,
    pub service_cidrs: Vec<String>,
}

impl ExportPolicy {
    fn of(f: &FamilyView) -> ExportPolicy {
        ExportPolicy {
            pools: f.export_pools.clone(),
            disabled_pools: f.disabled_pools.clone(),
            blocks: f
                .blocks
                .iter()
                .filter(|b| b.confirmed)
                .map(|b| b.cidr.clone())
                .collect(),
            communities: f
                .communities
                .iter()
                .map(|c| format!("{} {:?} {:?}", c.cidr, c.standard, c.large))
                .collect(),
            service_cidrs: f
                .service_routes
                .iter()
                .chain(&f.reflected_load_balancer_ranges)
                .cloned()
                .collect(),
        }
    }

    /// The parts that differ from `other`, in words (`IP pools`, `blocks`, …).
    pub(crate) fn changed_parts(&self, other: &ExportPolicy) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.pools != other.pools || self.disabled_pools != other.disabled_pools {
            out.push("IP pools");
        }
        if self.blocks != other.blocks {
            out.push("blocks");
        }
        if self.communities != other.communities {
            out.push("communities");
        }
        if self.service_cidrs != other.service_cidrs {
            out.push("service CIDRs");
        }
        out
    }
}

/// One node's sessions and the node-level options they inherit.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NodeSessions {
    pub node: String,
    /// Whether the node exists in the snapshot.
    pub exists: bool,
    pub router_id: Option<String>,
    pub as_number: u32,
    pub listen_port: Option<u16>,
    pub strict_bind: bool,
    pub export_v4: ExportPolicy,
    pub export_v6: ExportPolicy,
    /// How BIRD programs each prefix into this node's kernel: `prefix → how` (no session is
    /// touched when it changes, but routes are).
    pub kernel: BTreeMap<String, String>,
    /// By protocol name.
    pub sessions: BTreeMap<String, Session>,
}

impl NodeSessions {
    /// A node that does not exist: no sessions.
    pub(crate) fn absent(node: &str) -> NodeSessions {
        NodeSessions {
            node: node.to_owned(),
            ..Default::default()
        }
    }

    /// The sessions of `plan`, planned from `cluster`'s snapshot.
    pub(crate) fn from_plan(cluster: &Cluster<'_>, plan: &Plan) -> NodeSessions {
        let view = build(plan, cluster.snapshot);
        let bodies: HashMap<&str, (&str, &[String])> = view
            .filter_functions
            .iter()
            .map(|f| (f.symbol.as_str(), (f.filter.as_str(), f.rules.as_slice())))
            .collect();
        let calls = |calls: &[crate::plan::filters::FilterCall]| -> FilterCalls {
            use crate::plan::filters::FilterCall;
            calls
                .iter()
                .map(|c| match c {
                    FilterCall::Function { filter, symbol, .. } => {
                        match bodies.get(format!("'{symbol}'").as_str()) {
                            Some((name, rules)) => ((*name).to_owned(), rules.to_vec()),
                            None => (filter.clone(), Vec::new()),
                        }
                    }
                    FilterCall::RejectAll { filter, .. } => {
                        (filter.clone(), vec!["reject;".into()])
                    }
                })
                .collect()
        };
        let peers: HashMap<&str, &crate::plan::Peer> =
            plan.peers.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut sessions = BTreeMap::new();
        for pv in &view.peers {
            let Some(p) = peers.get(pv.name.as_str()) else {
                continue;
            };
            let remote_node = p.remote_node.clone().or_else(|| {
                cluster
                    .nodes_with_ip(&p.peer_ip)
                    .first()
                    .map(|n| (*n).to_owned())
            });
            let remote_is_rr = remote_node
                .as_deref()
                .and_then(|n| cluster.node(n))
                .is_some_and(|n| n.rr_cluster_id.is_some());
            sessions.insert(
                pv.name.clone(),
                Session {
                    view: pv.clone(),
                    peer_type: p.peer_type,
                    family: p.family,
                    peer_ip: p.peer_ip,
                    origin: p.origin.clone(),
                    import: calls(&p.import_filters),
                    export: calls(&p.export_filters),
                    remote_node,
                    remote_is_rr,
                },
            );
        }
        NodeSessions {
            node: plan.node.clone(),
            exists: plan.node_found,
            router_id: view.router_id.clone(),
            as_number: view.as_number,
            listen_port: view.listen_port,
            strict_bind: view.strict_bind,
            export_v4: ExportPolicy::of(&view.v4),
            export_v6: ExportPolicy::of(&view.v6),
            kernel: kernel_programming(plan),
            sessions,
        }
    }

    /// The export policy of a family.
    pub(crate) fn export_policy(&self, family: Family) -> &ExportPolicy {
        match family {
            Family::IPv4 => &self.export_v4,
            Family::IPv6 => &self.export_v6,
        }
    }

    /// Whether any session goes to a route reflector.
    pub(crate) fn has_rr_session(&self) -> bool {
        self.sessions.values().any(|s| s.remote_is_rr)
    }
}

/// The plan's kernel programming per prefix: each pool's way, each service range's reject.
fn kernel_programming(plan: &Plan) -> BTreeMap<String, String> {
    use crate::plan::routes::KernelProgramming as K;
    let mut out = BTreeMap::new();
    for f in [&plan.route_policy.ipv4, &plan.route_policy.ipv6] {
        for p in &f.pools {
            let how = match p.kernel {
                K::Direct => "direct".to_owned(),
                K::Tunnel => "through tunl0".to_owned(),
                K::CrossSubnet => format!(
                    "direct within {}, else through tunl0",
                    p.subnet.map_or("-".into(), |n| n.to_string())
                ),
                K::Felix => "left to Felix".to_owned(),
                K::Unfiltered => "as learned".to_owned(),
            };
            out.insert(p.cidr.to_string(), how);
        }
        for r in &f.kernel_rejects {
            out.insert(r.to_string(), "never (service range)".to_owned());
        }
    }
    out
}
