//! Route policy of one node, per family: which blocks it blackholes and exports as aggregates,
//! which service ranges it advertises, which pools it exports, and how BIRD programs each pool's
//! routes into the kernel (directly, through `tunl0`, or not at all because Felix does).
//!
//! Owns: Calico v3.32.1's `bird_aggr.cfg` / `bird_ipam.cfg` decisions (blocks, `/staticroutes`,
//! `/rejectcidrs`, the route-reflector LoadBalancer accept, pool export and kernel filters,
//! `prefixAdvertisements` communities) and their BIRD 2 form for IPIP (`onlink`).
//! Must not: format BIRD config (the render view does), read the environment (the caller passes
//! `CALICO_ADVERTISE_CLUSTER_IPS` in [`super::PlanOptions`]).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::family::Family;
use crate::resources::addr::{parse_cidr, parse_node_address};
use crate::resources::validate::{parse_cidr_or_ip, parse_community};
use crate::resources::{BgpConfigurationSpec, IpPoolSpec, Warning};
use crate::snapshot::Snapshot;

/// The label that keeps service ranges out of a node (kubeadm puts it on control planes).
pub(crate) const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// Both families' route policy (`routePolicy` in `perch plan -o json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePolicy {
    /// IPv4 routes.
    pub ipv4: FamilyRoutes,
    /// IPv6 routes.
    pub ipv6: FamilyRoutes,
}

impl RoutePolicy {
    /// The routes of `family`.
    pub fn family(&self, family: Family) -> &FamilyRoutes {
        match family {
            Family::IPv4 => &self.ipv4,
            Family::IPv6 => &self.ipv6,
        }
    }

    /// Whether some pool's routes go through `tunl0` (needs BIRD ≥ 2.0.12 for `onlink`).
    pub fn uses_tunnel(&self) -> bool {
        self.ipv4.pools.iter().chain(&self.ipv6.pools).any(|p| {
            matches!(
                p.kernel,
                KernelProgramming::Tunnel | KernelProgramming::CrossSubnet
            )
        })
    }
}

/// One family's route policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyRoutes {
    /// This node's block affinities (pending and deleted ones dropped, as confd does).
    pub blocks: Vec<Block>,
    /// Service ranges this node blackholes and exports (Calico's `/staticroutes`).
    pub service_routes: Vec<IpNet>,
    /// Service ranges never programmed into the kernel (Calico's `/rejectcidrs`): kept even
    /// on a node excluded from service advertisement.
    pub kernel_rejects: Vec<IpNet>,
    /// On a route reflector: LoadBalancer ranges accepted from clients and re-exported.
    pub reflected_load_balancer_ranges: Vec<IpNet>,
    /// `reachableBy` routes: the peer's host route through a gateway.
    pub reachable_by: Vec<ReachableBy>,
    /// IP pools, by CIDR.
    pub pools: Vec<PoolRoutes>,
    /// `prefixAdvertisements` communities attached on export.
    pub communities: Vec<CommunityAdvertisement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    pub cidr: IpNet,
    /// Confirmed (or legacy empty state): exported as one aggregate, nothing beneath it.
    pub confirmed: bool,
    /// A blackhole route for the block (not for a /32 or /128 block).
    pub blackhole: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachableBy {
    pub peer: IpNet,
    pub gateway: IpAddr,
}

/// How BIRD programs a pool's BGP-learned routes into the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KernelProgramming {
    /// `via <next hop>` on the interface towards it (unencapsulated pool).
    Direct,
    /// `via <next hop> dev tunl0 onlink` (IPIP Always).
    Tunnel,
    /// Direct when the next hop is in `subnet` (this node's subnet), else through tunl0.
    CrossSubnet,
    /// Not by BIRD: Felix programs them (VXLAN pools, `programClusterRoutes: Disabled`).
    Felix,
    /// No pool statement: the node has no IPv4 subnet, so the routes fall through to the
    /// filter's final accept, as in Calico.
    Unfiltered,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolRoutes {
    pub name: String,
    pub cidr: IpNet,
    /// Exported to BGP peers (false: `disableBGPExport`, rejected before anything else).
    pub export: bool,
    pub kernel: KernelProgramming,
    /// This node's subnet, for [`KernelProgramming::CrossSubnet`].
    pub subnet: Option<IpNet>,
    /// Why, in words (printed as a comment in the config).
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityAdvertisement {
    pub cidr: IpNet,
    /// `(a, b)` standard communities.
    pub standard: Vec<(u32, u32)>,
    /// `(a, b, c)` large communities.
    pub large: Vec<(u32, u32, u32)>,
}

/// Inputs that do not come from the snapshot.
pub(super) struct RouteInputs<'a> {
    pub node: &'a str,
    /// This node is a route reflector.
    pub route_reflector: bool,
    /// `reachableBy` of this node's sessions: (peer address, gateway).
    pub reachable_by: Vec<(IpAddr, IpAddr)>,
    /// `CALICO_ADVERTISE_CLUSTER_IPS`: replaces `serviceClusterIPs` when set.
    pub advertise_cluster_ips: Option<&'a str>,
}

pub(super) fn plan_routes(
    snapshot: &Snapshot,
    input: &RouteInputs<'_>,
    warnings: &mut Vec<Warning>,
) -> RoutePolicy {
    let global = snapshot.bgp_configurations.get("default").map(|c| &c.spec);
    let node_cfg_name = format!("node.{}", input.node);
    let node_cfg = snapshot
        .bgp_configurations
        .get(&node_cfg_name)
        .map(|c| &c.spec);
    let services = services(global, input, snapshot, warnings);
    let communities = communities(global, node_cfg, &node_cfg_name, warnings);
    let mut out = RoutePolicy::default();
    for family in [Family::IPv4, Family::IPv6] {
        let f = family_routes(family, snapshot, global, input, &services, &communities);
        match family {
            Family::IPv4 => out.ipv4 = f,
            Family::IPv6 => out.ipv6 = f,
        }
    }
    out
}

/// Service ranges, both families: (advertised, rejected in the kernel, reflected LB ranges).
struct Services {
    routes: Vec<IpNet>,
    rejects: Vec<IpNet>,
    reflected_lb: Vec<IpNet>,
}

fn single_address(n: &IpNet) -> bool {
    n.prefix_len() == n.max_prefix_len()
}

fn services(
    global: Option<&BgpConfigurationSpec>,
    input: &RouteInputs<'_>,
    snapshot: &Snapshot,
    warnings: &mut Vec<Warning>,
) -> Services {
    let parse = |list: &[crate::resources::ServiceCidr], field: &str, w: &mut Vec<Warning>| {
        let mut out = Vec::new();
        for c in list.iter().filter(|c| !c.cidr.is_empty()) {
            match parse_cidr(&c.cidr) {
                Some(n) => out.push(n.trunc()),
                None => w.push(Warning::new(
                    "BGPConfiguration/default",
                    format!("spec.{field} {:?} is not a CIDR; not advertised", c.cidr),
                )),
            }
        }
        out
    };
    let empty = Vec::new();
    let g = |f: fn(&BgpConfigurationSpec) -> &Vec<crate::resources::ServiceCidr>| {
        global.map(f).unwrap_or(&empty)
    };
    // CALICO_ADVERTISE_CLUSTER_IPS (one CIDR) wins over serviceClusterIPs, as in confd.
    let cluster = match input.advertise_cluster_ips.filter(|v| !v.is_empty()) {
        Some(v) => match parse_cidr(v.trim()) {
            Some(n) => vec![n.trunc()],
            None => {
                warnings.push(Warning::new(
                    "env/CALICO_ADVERTISE_CLUSTER_IPS",
                    format!("{v:?} is not a CIDR; cluster IPs are not advertised"),
                ));
                Vec::new()
            }
        },
        None => parse(g(|s| &s.service_cluster_ips), "serviceClusterIPs", warnings),
    };
    // Single addresses of the external and LoadBalancer lists are advertised per Service
    // by Calico (from nodes with a local endpoint), never from every node.
    let external: Vec<IpNet> = parse(
        g(|s| &s.service_external_ips),
        "serviceExternalIPs",
        warnings,
    )
    .into_iter()
    .filter(|n| !single_address(n))
    .collect();
    let lb_all = parse(
        g(|s| &s.service_load_balancer_ips),
        "serviceLoadBalancerIPs",
        warnings,
    );
    // confd aggregates only when the value is exactly Enabled (or unset); salvage has
    // warned about any other value.
    let aggregate_lb = global
        .and_then(|g| g.service_load_balancer_aggregation.as_deref())
        .is_none_or(|v| v == "Enabled");
    let lb: Vec<IpNet> = if aggregate_lb {
        lb_all
            .iter()
            .filter(|n| !single_address(n))
            .copied()
            .collect()
    } else {
        Vec::new()
    };
    let mut rejects: Vec<IpNet> = cluster
        .iter()
        .chain(&external)
        .chain(&lb)
        .copied()
        .collect();
    rejects.sort();
    rejects.dedup();
    let excluded = snapshot
        .nodes
        .get(input.node)
        .and_then(|n| n.metadata.labels.get(EXCLUDE_LABEL))
        .is_some_and(|v| v == "true");
    let routes = if excluded {
        Vec::new()
    } else {
        rejects.clone()
    };
    // Calico's template accepts every configured LB entry on a reflector, IPv4 only, whatever
    // the node's labels and the aggregation setting.
    let reflected_lb = if input.route_reflector {
        lb_all.into_iter().filter(|n| n.addr().is_ipv4()).collect()
    } else {
        Vec::new()
    };
    Services {
        routes,
        rejects,
        reflected_lb,
    }
}

fn family_routes(
    family: Family,
    snapshot: &Snapshot,
    global: Option<&BgpConfigurationSpec>,
    input: &RouteInputs<'_>,
    services: &Services,
    communities: &[CommunityAdvertisement],
) -> FamilyRoutes {
    let v4 = family == Family::IPv4;
    let in_family = |net: &IpNet| net.addr().is_ipv4() == v4;
    let subnet = snapshot
        .nodes
        .get(input.node)
        .and_then(|n| n.spec.bgp.as_ref())
        .and_then(|b| {
            if v4 {
                b.ipv4_address.as_deref()
            } else {
                b.ipv6_address.as_deref()
            }
        })
        .and_then(parse_node_address)
        .map(|a| a.network);

    let mut blocks: Vec<Block> = snapshot
        .block_affinities
        .values()
        .filter(|a| {
            a.spec.node == input.node && a.spec.state != "pending" && a.spec.deleted != "true"
        })
        .filter_map(|a| {
            let net = parse_cidr(&a.spec.cidr)?.trunc();
            in_family(&net).then_some(Block {
                cidr: net,
                confirmed: a.spec.state == "confirmed" || a.spec.state.is_empty(),
                blackhole: !single_address(&net),
            })
        })
        .collect();
    blocks.sort_by_key(|b| b.cidr);
    blocks.dedup_by_key(|b| b.cidr);

    let mut reachable_by: Vec<ReachableBy> = input
        .reachable_by
        .iter()
        .filter(|(peer, gw)| peer.is_ipv4() == v4 && gw.is_ipv4() == v4)
        .map(|(peer, gw)| ReachableBy {
            peer: IpNet::from(*peer),
            gateway: *gw,
        })
        .collect();
    reachable_by.sort_by_key(|r| (r.peer, r.gateway));
    reachable_by.dedup();

    let program_cluster_routes = global
        .and_then(|g| g.program_cluster_routes.as_deref())
        .is_none_or(|v| v != "Disabled");
    let mut pools: Vec<PoolRoutes> = snapshot
        .ip_pools
        .values()
        .filter_map(|p| {
            let cidr = parse_cidr(&p.spec.cidr)?.trunc();
            in_family(&cidr).then(|| {
                pool_routes(
                    &p.metadata.name,
                    cidr,
                    &p.spec,
                    subnet,
                    program_cluster_routes,
                )
            })
        })
        .collect();
    pools.sort_by(|a, b| (a.cidr, &a.name).cmp(&(b.cidr, &b.name)));
    pools.dedup_by_key(|p| p.cidr);

    let fam = |list: &[IpNet]| list.iter().filter(|n| in_family(n)).copied().collect();
    FamilyRoutes {
        blocks,
        service_routes: fam(&services.routes),
        kernel_rejects: fam(&services.rejects),
        reflected_load_balancer_ranges: fam(&services.reflected_lb),
        reachable_by,
        pools,
        communities: communities
            .iter()
            .filter(|c| in_family(&c.cidr))
            .cloned()
            .collect(),
    }
}

/// Calico v3.32.1's `processIPPool` for the kernel filter, with IPIP in BIRD 2's terms.
fn pool_routes(
    name: &str,
    cidr: IpNet,
    s: &IpPoolSpec,
    subnet: Option<IpNet>,
    program_cluster_routes: bool,
) -> PoolRoutes {
    fn mode(m: &Option<String>) -> &str {
        m.as_deref().unwrap_or("Never")
    }
    let (kernel, reason) = if cidr.addr().is_ipv4() && subnet.is_none() {
        // Calico writes no IPv4 pool statement without the node's IPv4 network.
        (
            KernelProgramming::Unfiltered,
            "No IPv4 address on this node: routes are programmed as learned.",
        )
    } else if matches!(mode(&s.vxlan_mode), "Always" | "CrossSubnet") {
        (
            KernelProgramming::Felix,
            "VXLAN routes are handled by Felix.",
        )
    } else if !program_cluster_routes {
        (
            KernelProgramming::Felix,
            "Cluster routes are handled by Felix (programClusterRoutes: Disabled).",
        )
    } else if cidr.addr().is_ipv6() {
        (KernelProgramming::Direct, "Unencapsulated pool.")
    } else {
        match mode(&s.ipip_mode) {
            "Always" => (KernelProgramming::Tunnel, "IPIP pool: through tunl0."),
            "CrossSubnet" => (
                KernelProgramming::CrossSubnet,
                "IPIP CrossSubnet pool: direct within this node's subnet, else through tunl0.",
            ),
            _ => (KernelProgramming::Direct, "Unencapsulated pool."),
        }
    };
    PoolRoutes {
        name: name.to_owned(),
        cidr,
        export: s.disable_bgp_export != Some(true),
        kernel,
        subnet: (kernel == KernelProgramming::CrossSubnet)
            .then_some(subnet)
            .flatten(),
        reason,
    }
}

/// `prefixAdvertisements`: the node's own BGPConfiguration when it has any, else the default's.
/// A community that is neither a defined name nor a value costs only itself, with a warning.
fn communities(
    global: Option<&BgpConfigurationSpec>,
    node_cfg: Option<&BgpConfigurationSpec>,
    node_cfg_name: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<CommunityAdvertisement> {
    let (cfg, owner) = match node_cfg.filter(|c| !c.prefix_advertisements.is_empty()) {
        Some(c) => (c, format!("BGPConfiguration/{node_cfg_name}")),
        None => match global {
            Some(g) => (g, "BGPConfiguration/default".to_owned()),
            None => return Vec::new(),
        },
    };
    let named = |name: &str| {
        cfg.communities
            .iter()
            .chain(global.map(|g| g.communities.as_slice()).unwrap_or(&[]))
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    };
    let mut out = Vec::new();
    for pa in &cfg.prefix_advertisements {
        let Some(net) = parse_cidr_or_ip(&pa.cidr) else {
            warnings.push(Warning::new(
                &owner,
                format!(
                    "prefixAdvertisements: {:?} is not a CIDR; its communities are not attached",
                    pa.cidr
                ),
            ));
            continue;
        };
        let mut standard = BTreeSet::new();
        let mut large = BTreeSet::new();
        for c in &pa.communities {
            let value = named(c).unwrap_or_else(|| c.clone());
            match parse_community(&value).as_deref() {
                Some([a, b]) => {
                    standard.insert((*a, *b));
                }
                Some([a, b, c]) => {
                    large.insert((*a, *b, *c));
                }
                _ => warnings.push(Warning::new(
                    &owner,
                    format!(
                        "prefixAdvertisements {}: community {c:?} is not a community value; not attached",
                        pa.cidr
                    ),
                )),
            }
        }
        out.push(CommunityAdvertisement {
            cidr: net.trunc(),
            standard: standard.into_iter().collect(),
            large: large.into_iter().collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, plan};

    fn snapshot(yaml: &str) -> Snapshot {
        crate::snapshot::from_yaml(yaml)
    }

    const CLUSTER: &str = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
        kind: BGPConfiguration\nmetadata: {name: default}\n\
        spec: {serviceClusterIPs: [{cidr: 10.96.0.0/12}],\n\
        serviceLoadBalancerIPs: [{cidr: 203.0.113.0/24}, {cidr: 203.0.113.9/32}]}\n";

    #[test]
    fn the_environment_replaces_cluster_ips_and_a_bad_value_is_named() {
        let s = snapshot(CLUSTER);
        let opts = |v: &str| PlanOptions {
            advertise_cluster_ips: Some(v.to_owned()),
            ..Default::default()
        };
        let p = plan(&s, "a", &opts("10.100.0.0/16"));
        let routes: Vec<String> = p
            .route_policy
            .ipv4
            .service_routes
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(routes, ["10.100.0.0/16", "203.0.113.0/24"]);

        let p = plan(&s, "a", &opts("10.100.0.0/16,10.101.0.0/16"));
        assert_eq!(p.route_policy.ipv4.service_routes.len(), 1);
        assert_eq!(
            p.warnings[0].to_string(),
            "env/CALICO_ADVERTISE_CLUSTER_IPS: \"10.100.0.0/16,10.101.0.0/16\" is not a CIDR; cluster IPs are not advertised"
        );
    }

    #[test]
    fn load_balancer_aggregation_disabled_drops_the_ranges() {
        let s = snapshot(&CLUSTER.replace(
            "spec: {serviceClusterIPs",
            "spec: {serviceLoadBalancerAggregation: Disabled, serviceClusterIPs",
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let r = &p.route_policy.ipv4;
        assert_eq!(r.service_routes, r.kernel_rejects);
        assert_eq!(r.service_routes, ["10.96.0.0/12".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn load_balancer_aggregation_other_than_enabled_drops_the_ranges_as_in_calico() {
        // confd aggregates only when the value is exactly Enabled (or unset).
        let s = snapshot(&CLUSTER.replace(
            "spec: {serviceClusterIPs",
            "spec: {serviceLoadBalancerAggregation: enabled, serviceClusterIPs",
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let r = &p.route_policy.ipv4;
        assert_eq!(r.service_routes, ["10.96.0.0/12".parse::<IpNet>().unwrap()]);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter().any(|w| w.contains(
                "spec.serviceLoadBalancerAggregation \"enabled\" is not Enabled or Disabled"
            )),
            "{w:?}"
        );
    }
}
