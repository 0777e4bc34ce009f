//! What this node's routing tables must hold, from the datastore alone.
//!
//! Owns: [`expected`], the routes a node must have in BIRD and in the kernel: every other
//! node's confirmed blocks in pools that BGP exports (with the next hops they may have and the
//! sessions that would bring them), this node's own blocks (blackholes), and the service
//! ranges it advertises (not programmed). Also [`Expected::explains`]: whether a prefix seen in
//! a table is accounted for by some block affinity, and [`Expected::ignored`]: the blocks of
//! nodes that are no Node resource (a deleted node's leftover affinity), which no session
//! advertises, so no route is expected for them (as with Calico's confd).
//! Must not: do I/O, or read BIRD or the kernel (the observed side is [`super::verdict`]'s
//! input).
//!
//! The route policy it assumes (which pools export, how each pool reaches the kernel):
//! - a pool exports unless `disableBGPExport`;
//! - VXLAN pools (`Always`/`CrossSubnet`) are never programmed by BIRD (Felix does it);
//! - the default BGPConfiguration's `programClusterRoutes: Disabled` hands every pool to Felix
//!   (`EnabledIPIPOnly` / `EnabledNoEncapOnly` keep only IPIP / only unencapsulated pools);
//! - IPIP `Always` goes through `tunl0` with `onlink`; IPIP `CrossSubnet` goes direct when the
//!   next hop is in this node's subnet, through `tunl0` otherwise; other pools go direct;
//! - a BGP next hop that is a peer reached through `reachableBy` is resolved to that gateway
//!   in the kernel (the template says `gateway recursive`);
//! - a route from a router that is not a cluster node (a ToR, a spine: a BGPPeer whose peerIP
//!   is no node's address) may carry any next hop the router gives, and BIRD resolves it
//!   recursively: such sessions are listed in [`Expected::router_sessions`], and their
//!   routes' next hops are judged only against the nodes' addresses (the mesh's,
//!   node-to-node and reflectors' fully);
//! - an IPIP tunnel ends only on a node: a tunnel's gateways are node addresses, never a
//!   router's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::plan::{Family, NextHop, Plan};
use crate::resources::addr::{parse_cidr, parse_node_address};
use crate::resources::{BgpFilterRule, IpPoolSpec};
use crate::snapshot::Snapshot;

/// The interface IPIP routes go through.
pub const IPIP_DEVICE: &str = "tunl0";

/// Every route this node should have, sorted by prefix.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    /// The node the routes are for.
    pub node: String,
    /// The routes, sorted by prefix.
    pub routes: Vec<ExpectedRoute>,
    /// The pools' prefixes (all of them, exporting or not): the space where a route no
    /// block explains is `unexpected`.
    pub pools: Vec<IpNet>,
    /// Every block with an affinity (any state), sorted: what explains a route in a pool.
    #[serde(skip)]
    pub blocks: Vec<IpNet>,
    /// This node's sessions with routers that are not cluster nodes (a BGPPeer whose peerIP
    /// is no node's address: a ToR, a spine), sorted. A route learned over one may carry
    /// whatever next hop the router gives (the remote ToR's in Calico's "AS per rack" design,
    /// the router's own with next-hop-self, an address BIRD resolves recursively): its
    /// presence is judged, a next hop that is another node's address is wrong, and the
    /// kernel's gateway is judged against BIRD's best route (a tunnel's against the nodes'
    /// addresses only). Routes from the mesh,
    /// node-to-node and route-reflector nodes keep the next-hop check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub router_sessions: Vec<String>,
    /// Confirmed blocks in exporting pools for which no route is expected, sorted, each with
    /// why: the affine node is no Node resource (an affinity left by a deleted node, until
    /// Calico's IPAM garbage collection releases it). No BGP session advertises such a block
    /// (in Calico neither), so expecting it would keep every node unready.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredBlock>,
}

/// A block with a confirmed affinity for which no route is expected, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoredBlock {
    /// The block.
    pub prefix: IpNet,
    /// The node its affinity names.
    pub owner: String,
    /// Why no route is expected, in words.
    pub reason: String,
}

/// One prefix this node must route.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// The pool the prefix lies in (none for service ranges outside every pool).
    pub pool: Option<IpNet>,
    /// Why the node should have it: another node's block, its own block, or a service range.
    pub source: RouteSource,
    /// How the route must reach the kernel.
    pub kernel: KernelRoute,
}

/// Why the route is expected, and what BIRD must have for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum RouteSource {
    /// Another node's block, learned over BGP.
    Remote {
        /// The node the block is affine to.
        owner: String,
        /// The owner's address in the prefix's family; `None` when it has none (so it has no
        /// session to advertise the block over).
        owner_address: Option<IpAddr>,
        /// BGP next hops BIRD may show: the owner's address, and the address of every relay
        /// session that rewrites the next hop to itself (eBGP, `nextHopMode: Self`), even when
        /// a session with the owner exists (BIRD takes the relay's path while it is down).
        next_hops: Vec<IpAddr>,
        /// This node's sessions that would bring it: the session with the owner when there is
        /// one, otherwise the sessions that can relay it (route reflectors, external peers).
        sessions: Vec<String>,
        /// Whether `sessions` is the direct session with the owner.
        direct: bool,
        /// `SESSION: BGPFilter NAME` for each of `sessions` whose BGPFilters' import rules
        /// reject the prefix.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        rejected_by: Vec<String>,
    },
    /// This node's own block: a blackhole from the static protocol.
    Local,
    /// A service range from the default BGPConfiguration: advertised, never programmed.
    Service,
}

/// What the kernel's main table must hold for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum KernelRoute {
    /// `via GATEWAY` on an ordinary interface, the gateway one of `gateways` (the next hops,
    /// each resolved through `reachableBy`).
    Direct {
        /// The acceptable gateways.
        gateways: Vec<IpAddr>,
    },
    /// `via GATEWAY dev tunl0 onlink`.
    Tunnel {
        /// The acceptable gateways: node addresses only (the owner's, a reflector node's),
        /// since an IPIP tunnel ends only on a node; a router's address is never one.
        gateways: Vec<IpAddr>,
        /// The tunnel device ([`IPIP_DEVICE`]).
        device: String,
    },
    /// `blackhole PREFIX`.
    Blackhole,
    /// BIRD does not program it (VXLAN, Felix programs cluster routes, service ranges): the
    /// kernel is not checked.
    NotProgrammed {
        /// Why BIRD does not program it, in words.
        reason: String,
    },
}

impl Expected {
    /// The pool that holds `net`, if any.
    pub fn pool_of(&self, net: &IpNet) -> Option<IpNet> {
        self.pools.iter().copied().find(|p| p.contains(net))
    }

    /// Whether `session` is a session with a router that is not a cluster node (see
    /// [`Expected::router_sessions`]).
    pub fn is_router_session(&self, session: &str) -> bool {
        self.router_sessions
            .binary_search_by(|s| s.as_str().cmp(session))
            .is_ok()
    }

    /// Whether some block affinity accounts for `net` (the block itself or a route inside it).
    pub fn explains(&self, net: &IpNet) -> bool {
        // Blocks do not overlap one another, so the candidate is the last block that sorts
        // at or before `net` (IpNet orders by address, then prefix length).
        let i = self.blocks.partition_point(|b| b <= net);
        i > 0 && self.blocks[i - 1].contains(net)
    }
}

/// How a pool's routes reach the kernel, before the next hop is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PoolKernel {
    Direct,
    Tunnel,
    /// Direct within `network`, tunnel outside it.
    CrossSubnet,
    NotProgrammed(&'static str),
}

struct Pool {
    net: IpNet,
    export: bool,
    kernel: PoolKernel,
}

fn on(mode: &Option<String>) -> bool {
    matches!(mode.as_deref(), Some("Always" | "CrossSubnet"))
}

fn pool_kernel(spec: &IpPoolSpec, cluster_routes: Option<&str>) -> PoolKernel {
    let ipip = on(&spec.ipip_mode);
    if on(&spec.vxlan_mode) {
        return PoolKernel::NotProgrammed("VXLAN pool: Felix programs these routes");
    }
    match cluster_routes {
        Some("Disabled") => {
            return PoolKernel::NotProgrammed(
                "programClusterRoutes: Disabled: Felix programs cluster routes",
            );
        }
        Some("EnabledIPIPOnly") if !ipip => {
            return PoolKernel::NotProgrammed(
                "programClusterRoutes: EnabledIPIPOnly: Felix programs unencapsulated pools",
            );
        }
        Some("EnabledNoEncapOnly") if ipip => {
            return PoolKernel::NotProgrammed(
                "programClusterRoutes: EnabledNoEncapOnly: Felix programs IPIP pools",
            );
        }
        _ => {}
    }
    match spec.ipip_mode.as_deref() {
        Some("Always") => PoolKernel::Tunnel,
        Some("CrossSubnet") => PoolKernel::CrossSubnet,
        _ => PoolKernel::Direct,
    }
}

/// Whether a BGPFilter rule matches a route for `net` learned over a session (`internal`:
/// iBGP). `None` when the rule tests what is not known here (the interface, communities, the
/// AS path, the priority).
fn rule_matches(r: &BgpFilterRule, net: &IpNet, internal: bool) -> Option<bool> {
    if r.interface.is_some()
        || r.communities.is_some()
        || !r.as_path_prefix.is_empty()
        || r.priority.is_some()
    {
        return None;
    }
    if r.source.as_deref().is_some_and(|s| s != "RemotePeers") {
        return Some(false);
    }
    match r.peer_type.as_deref() {
        Some("iBGP") if !internal => return Some(false),
        Some("eBGP") if internal => return Some(false),
        _ => {}
    }
    let Some(cidr) = r.cidr.as_deref().and_then(parse_cidr).map(|n| n.trunc()) else {
        return Some(true);
    };
    let within = match &r.prefix_length {
        Some(pl) => {
            let len = i64::from(net.prefix_len());
            let lo = pl.min.map_or(i64::from(cidr.prefix_len()), |m| {
                m.max(i64::from(cidr.prefix_len()))
            });
            let hi = pl.max.unwrap_or(i64::from(net.max_prefix_len()));
            cidr.contains(net) && (lo..=hi).contains(&len)
        }
        None => cidr.contains(net),
    };
    Some(match r.match_operator.as_deref() {
        Some("Equal") => *net == cidr,
        Some("NotEqual") => *net != cidr,
        Some("NotIn") => !within,
        _ => within,
    })
}

/// The BGPFilter (of `filters`, applied in order, first matching rule wins) whose import
/// rules surely reject `net`; none when one accepts it first, or a rule perch cannot evaluate
/// comes first.
fn import_rejects(
    snapshot: &Snapshot,
    filters: &[String],
    net: &IpNet,
    internal: bool,
) -> Option<String> {
    for name in filters {
        let Some(f) = snapshot.bgp_filters.get(name) else {
            continue;
        };
        let rules = if net.addr().is_ipv4() {
            &f.spec.import_v4
        } else {
            &f.spec.import_v6
        };
        for r in rules {
            match rule_matches(r, net, internal)? {
                true => return (r.action != "Accept").then(|| name.clone()),
                false => continue,
            }
        }
    }
    None
}

/// The routes `plan.node` must have. `plan` is this node's plan (its sessions decide which
/// session brings which block); see the module doc for the policy assumed.
pub fn expected(snapshot: &Snapshot, plan: &Plan) -> Expected {
    let me = plan.node.as_str();
    let global = snapshot.bgp_configurations.get("default").map(|c| &c.spec);
    let cluster_routes = global.and_then(|g| g.program_cluster_routes.as_deref());

    let mut pools: Vec<Pool> = snapshot
        .ip_pools
        .values()
        .filter_map(|p| {
            Some(Pool {
                net: parse_cidr(&p.spec.cidr)?.trunc(),
                export: p.spec.disable_bgp_export != Some(true),
                kernel: pool_kernel(&p.spec, cluster_routes),
            })
        })
        .collect();
    pools.sort_by_key(|p| p.net);
    pools.dedup_by_key(|p| p.net);

    let my_network = |v4: bool| {
        snapshot
            .nodes
            .get(me)
            .and_then(|n| n.spec.bgp.as_ref())
            .and_then(|b| {
                if v4 {
                    b.ipv4_address.as_deref()
                } else {
                    b.ipv6_address.as_deref()
                }
            })
            .and_then(parse_node_address)
            .map(|a| a.network)
    };
    let networks = [my_network(true), my_network(false)];

    // Sessions by family: the direct one per remote node, and the relays.
    let mut direct: HashMap<(&str, Family), Vec<&str>> = HashMap::new();
    let mut relays: [Vec<&crate::plan::Peer>; 2] = [Vec::new(), Vec::new()];
    for p in &plan.peers {
        let fi = usize::from(p.family == Family::IPv6);
        match p.remote_node.as_deref() {
            Some(r) => {
                direct.entry((r, p.family)).or_default().push(&p.name);
                let reflector = snapshot
                    .nodes
                    .get(r)
                    .and_then(|n| n.spec.bgp.as_ref())
                    .and_then(|b| b.route_reflector_cluster_id.as_deref())
                    .is_some_and(|id| !id.is_empty());
                if reflector || plan.route_reflector_cluster_id.is_some() {
                    relays[fi].push(p);
                }
            }
            None => relays[fi].push(p),
        }
    }
    // Sessions with routers that are not cluster nodes: no remote node, and a peer address
    // no node has (an explicit peerIP that is a node's address is that node's BIRD, which
    // passes next hops on as a reflector does). Few such peers: the nodes are only scanned
    // when there are some.
    let mut router_sessions: Vec<String> = Vec::new();
    let unnamed: Vec<&crate::plan::Peer> = plan
        .peers
        .iter()
        .filter(|p| p.remote_node.is_none())
        .collect();
    if !unnamed.is_empty() {
        let mut node_address = HashSet::new();
        for b in snapshot.nodes.values().filter_map(|n| n.spec.bgp.as_ref()) {
            for a in [b.ipv4_address.as_deref(), b.ipv6_address.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(parse_node_address)
            {
                node_address.insert(a.ip);
            }
        }
        router_sessions.extend(
            unnamed
                .iter()
                .filter(|p| !node_address.contains(&p.peer_ip))
                .map(|p| p.name.clone()),
        );
        router_sessions.sort();
        router_sessions.dedup();
    }
    let by_name: HashMap<&str, &crate::plan::Peer> =
        plan.peers.iter().map(|p| (p.name.as_str(), p)).collect();
    // Kernel gateways for next hops reached through `reachableBy`.
    let gateways: HashMap<IpAddr, IpAddr> = plan
        .peers
        .iter()
        .filter_map(|p| Some((p.peer_ip, p.reachable_by?)))
        .collect();

    // Affinities: the explaining set (any state) and the confirmed owner of each block.
    let mut all_blocks: Vec<IpNet> = Vec::with_capacity(snapshot.block_affinities.len());
    let mut owners: BTreeMap<IpNet, &str> = BTreeMap::new();
    for a in snapshot.block_affinities.values() {
        let Some(net) = parse_cidr(&a.spec.cidr).map(|n| n.trunc()) else {
            continue;
        };
        all_blocks.push(net);
        let confirmed = a.spec.state == "confirmed" || a.spec.state.is_empty();
        if !confirmed || a.spec.deleted == "true" {
            continue;
        }
        // Two confirmed claims on one block: this node's own claim wins, else the first name.
        let owner = a.spec.node.as_str();
        match owners.get(&net) {
            Some(&o) if o == me || owner != me => {}
            _ => {
                owners.insert(net, owner);
            }
        }
    }
    all_blocks.sort();
    all_blocks.dedup();

    let mut routes = Vec::with_capacity(owners.len());
    let mut ignored: Vec<IgnoredBlock> = Vec::new();
    for (net, owner) in owners {
        let Some(pool) = pools.iter().find(|p| p.net.contains(&net)) else {
            continue;
        };
        let v4 = net.addr().is_ipv4();
        if owner == me {
            if net.prefix_len() == net.max_prefix_len() {
                continue; // confd writes no blackhole for a /32 (/128) block
            }
            // The own blocks stay blackholes in the kernel, IPIP pools included (as in Calico).
            let kernel = match pool.kernel {
                PoolKernel::NotProgrammed(r) => KernelRoute::NotProgrammed { reason: r.into() },
                _ => KernelRoute::Blackhole,
            };
            routes.push(ExpectedRoute {
                prefix: net,
                pool: Some(pool.net),
                source: RouteSource::Local,
                kernel,
            });
            continue;
        }
        if !pool.export {
            continue;
        }
        let family = if v4 { Family::IPv4 } else { Family::IPv6 };
        let owner_node = snapshot.nodes.get(owner);
        // A Node perch skipped as invalid is still a node whose BIRD may advertise the block:
        // its block stays expected (fail closed), only a node absent from the datastore is not.
        if owner_node.is_none() && !snapshot.skipped.contains_key(&format!("Node/{owner}")) {
            // An affinity left by a deleted node: no BIRD advertises the block, no session
            // could bring it (Calico's confd routes it neither).
            ignored.push(IgnoredBlock {
                prefix: net,
                owner: owner.to_owned(),
                reason: format!(
                    "node {owner} is not in the datastore: an affinity left by a deleted node (Calico's IPAM garbage collection releases it); no session advertises the block"
                ),
            });
            continue;
        }
        let owner_address = owner_node
            .and_then(|n| n.spec.bgp.as_ref())
            .and_then(|b| {
                if v4 {
                    b.ipv4_address.as_deref()
                } else {
                    b.ipv6_address.as_deref()
                }
            })
            .and_then(parse_node_address)
            .map(|a| a.ip);
        // The owner's address, and every relay that rewrites the next hop to itself: BIRD may
        // take a relay's path even when a session with the owner exists (while it is down).
        let relays = &relays[usize::from(!v4)];
        let mut next_hops: Vec<IpAddr> = owner_address.into_iter().collect();
        next_hops.extend(
            relays
                .iter()
                .filter(|r| !r.internal || r.next_hop == Some(NextHop::SelfAddress))
                .map(|r| r.peer_ip),
        );
        let (sessions, is_direct): (Vec<String>, bool) = match direct.get(&(owner, family)) {
            Some(names) => (names.iter().map(|s| s.to_string()).collect(), true),
            None => (relays.iter().map(|r| r.name.clone()).collect(), false),
        };
        next_hops.sort();
        next_hops.dedup();
        let rejected_by: Vec<String> = sessions
            .iter()
            .filter_map(|name| by_name.get(name.as_str()))
            .filter(|p| !p.filters.is_empty())
            .filter_map(|p| {
                let f = import_rejects(snapshot, &p.filters, &net, p.internal)?;
                Some(format!("{}: BGPFilter {f}", p.name))
            })
            .collect();
        let mut kernel_gateways: Vec<IpAddr> = next_hops
            .iter()
            .map(|a| gateways.get(a).copied().unwrap_or(*a))
            .collect();
        kernel_gateways.sort();
        kernel_gateways.dedup();
        // An IPIP tunnel ends only on a node: a router's address (a relay that is no node)
        // is no tunnel gateway, whatever BGP next hop it gives.
        let tunnel_gateways = || -> Vec<IpAddr> {
            let mut g: Vec<IpAddr> = next_hops
                .iter()
                .filter(|a| {
                    !relays
                        .iter()
                        .any(|r| r.peer_ip == **a && router_sessions.binary_search(&r.name).is_ok())
                })
                .map(|a| gateways.get(a).copied().unwrap_or(*a))
                .collect();
            g.sort();
            g.dedup();
            g
        };
        let kernel = match pool.kernel {
            PoolKernel::Direct => KernelRoute::Direct {
                gateways: kernel_gateways,
            },
            PoolKernel::Tunnel => KernelRoute::Tunnel {
                gateways: tunnel_gateways(),
                device: IPIP_DEVICE.into(),
            },
            PoolKernel::CrossSubnet => {
                let same = owner_address
                    .zip(networks[usize::from(!v4)])
                    .is_some_and(|(a, n)| n.contains(&a));
                if same {
                    KernelRoute::Direct {
                        gateways: kernel_gateways,
                    }
                } else {
                    KernelRoute::Tunnel {
                        gateways: tunnel_gateways(),
                        device: IPIP_DEVICE.into(),
                    }
                }
            }
            PoolKernel::NotProgrammed(r) => KernelRoute::NotProgrammed { reason: r.into() },
        };
        routes.push(ExpectedRoute {
            prefix: net,
            pool: Some(pool.net),
            source: RouteSource::Remote {
                owner: owner.to_owned(),
                owner_address,
                next_hops,
                sessions,
                direct: is_direct,
                rejected_by,
            },
            kernel,
        });
    }

    // Service ranges, as the static protocol advertises them.
    let excluded = snapshot.nodes.get(me).is_some_and(|n| {
        n.metadata
            .labels
            .get("node.kubernetes.io/exclude-from-external-load-balancers")
            .map(String::as_str)
            == Some("true")
    });
    if let Some(g) = global.filter(|_| !excluded) {
        let mut services: Vec<IpNet> = [
            &g.service_cluster_ips,
            &g.service_external_ips,
            &g.service_load_balancer_ips,
        ]
        .into_iter()
        .flatten()
        .filter_map(|c| parse_cidr(&c.cidr))
        .map(|n| n.trunc())
        .collect();
        services.sort();
        services.dedup();
        for net in services {
            if routes.iter().any(|r| r.prefix == net) {
                continue;
            }
            routes.push(ExpectedRoute {
                prefix: net,
                pool: pools.iter().find(|p| p.net.contains(&net)).map(|p| p.net),
                source: RouteSource::Service,
                kernel: KernelRoute::NotProgrammed {
                    reason: "service range: advertised, not programmed".into(),
                },
            });
        }
    }
    routes.sort_by_key(|r| r.prefix);
    Expected {
        node: me.to_owned(),
        routes,
        pools: pools.iter().map(|p| p.net).collect(),
        blocks: all_blocks,
        router_sessions,
        ignored,
    }
}

#[cfg(test)]
#[path = "expected_tests.rs"]
pub(crate) mod tests;
