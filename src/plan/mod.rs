//! `plan(&Snapshot, node) → Plan`: this node's BGP sessions, as Calico v3.31 computes them,
//! and its route policy (blocks, service ranges, pool export, kernel programming).
//!
//! Owns: the node-to-node mesh, global and node-specific BGPPeers (by `node`, `nodeSelector`,
//! `peerIP`, `peerSelector`), the reverse pass that keeps peerings symmetric, route-reflector
//! rules, AS resolution, passive sides, ports, and every per-session option, including each
//! session's route policy (BGPFilter calls, route priority ↔ LOCAL_PREF); withholding a
//! session BIRD would refuse; plus the deliberate deviations listed in the plan contract.
//! Every peer records its origin.
//! Must not: do I/O, read the clock or the environment, or format BIRD config.
//!
//! Layout: [`cluster`] derives per-node facts (addresses, AS, labels, ports) from the
//! snapshot; [`explicit`] runs the BGPPeer passes; [`mesh`] adds the mesh; [`provenance`]
//! records which rule gave each session its AS numbers and port; [`filters`] decides the
//! BGPFilter functions and calls (failing closed; a call's type is in `filter_call.rs`, which
//! both `peer.rs` and `filters.rs` import) and the route priorities; [`routes`]
//! decides the route policy the kernel and export filters print; [`explain`]
//! answers "why does this peer exist / why does this BGPPeer add nothing here".

pub mod cluster;
pub mod explain;
mod explicit;
mod family;
mod filter_call;
pub(crate) mod filters;
mod mesh;
mod peer;
pub(crate) mod provenance;
pub(crate) mod router_id;
pub(crate) mod routes;

use std::net::IpAddr;

use serde::Serialize;

use crate::resources::{AsNumber, Warning};
use crate::snapshot::Snapshot;

pub use cluster::Cluster;
pub use family::Family;
pub use peer::{Direction, NextHop, OriginDetail, Peer, PeerType};
pub use router_id::RouterIdOverride;
pub use routes::RoutePolicy;

/// Options that come from the node's environment rather than the datastore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `CALICO_ROUTER_ID`: an IPv4 address or `hash`.
    pub router_id: Option<RouterIdOverride>,
    /// `CALICO_ADVERTISE_CLUSTER_IPS`: one CIDR that replaces `serviceClusterIPs`.
    pub advertise_cluster_ips: Option<String>,
}

/// This node's peer list and the settings BIRD needs around it (the `perch plan` contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The node this plan is for.
    pub node: String,
    /// BIRD's router ID (an IPv4 address); `None` when there is nothing to derive it from (no IPv4
    /// address and no `CALICO_ROUTER_ID`).
    #[serde(rename = "routerID")]
    pub router_id: Option<String>,
    /// This node's AS number (its own, else the cluster default, else 64512).
    pub as_number: AsNumber,
    /// The port BIRD listens on (per-node, else the default BGPConfiguration's `listenPort`);
    /// `None` means 179.
    pub listen_port: Option<u16>,
    /// Whether this node is in the node-to-node mesh (`nodeToNodeMeshEnabled`, and the node is not
    /// a route reflector).
    pub mesh_enabled: bool,
    /// This node's BGP sessions, mesh and BGPPeer ones.
    pub peers: Vec<Peer>,
    /// Problems met while planning (invalid or conflicting resources); the plan is still usable.
    pub warnings: Vec<Warning>,
    /// This node's BGP addresses (extra fields, allowed by the contract).
    pub ipv4_address: Option<IpAddr>,
    /// This node's IPv6 BGP address, if any.
    pub ipv6_address: Option<IpAddr>,
    /// This node's route-reflector cluster ID, when it is a route reflector.
    #[serde(rename = "routeReflectorClusterID")]
    pub route_reflector_cluster_id: Option<String>,
    /// Whether the node exists in the datastore.
    pub node_found: bool,
    /// Route policy of the sessions: route priority ↔ LOCAL_PREF and the BGPFilter
    /// functions the sessions call ([`filters`]).
    #[serde(rename = "sessionPolicy")]
    pub policy: filters::SessionPolicy,
    /// Blocks, service ranges, pool export and kernel programming (extra field).
    pub route_policy: routes::RoutePolicy,
    /// `bindMode: NodeIP` as BIRD 2 can do it: every session bound to its source address
    /// (`strict bind`). False when some session has no source address (extra field).
    pub strict_bind: bool,
}

/// BIRD's hold time when the config sets none (perch never sets one).
pub const BIRD_HOLD_TIME: i64 = 240;

/// The largest number BIRD's config reads (2^32 - 1): a `graceful restart time` above it
/// fails the whole config ("Number out of range").
pub const BIRD_MAX_NUMBER: i64 = crate::resources::validate::BIRD_MAX_NUMBER;

/// Drops the sessions BIRD would refuse, so that one BGPPeer cannot stop every later
/// configure (each rule checked against `bird -p`): `keepalive time` above the hold time
/// ("Keepalive time must be at most hold time"), a `graceful restart time` above
/// [`BIRD_MAX_NUMBER`] ("Number out of range"), a link-local IPv6 neighbor or source address
/// without an interface ("Link-local addresses require defined interface"; a node whose
/// `ipv6Address` is link-local gives every IPv6 session such a source address) and the
/// unspecified address ("Neighbor must be configured"). Each withheld session gets a warning
/// naming the resources that produced it and why.
fn withhold_refused_by_bird(peers: &mut Vec<Peer>, warnings: &mut Vec<Warning>) {
    let is_link_local = |a: &IpAddr| match a {
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    };
    peers.retain(|p| {
        let why = if let Some(k) = p.keepalive_time.filter(|k| *k > BIRD_HOLD_TIME) {
            format!(
                "keepaliveTime {k}s is above BIRD's hold time ({BIRD_HOLD_TIME}s), which BIRD refuses"
            )
        } else if let Some(t) = p.graceful_restart_time.filter(|t| *t > BIRD_MAX_NUMBER) {
            format!("maxRestartTime {t}s is above {BIRD_MAX_NUMBER}s, the largest number BIRD reads")
        } else if is_link_local(&p.peer_ip) {
            format!(
                "peer address {} is link-local, which BIRD refuses without an interface",
                p.peer_ip
            )
        } else if let Some(a) = p.source_address.filter(is_link_local) {
            format!(
                "source address {a} (this node's ipv6Address) is link-local, which BIRD refuses without an interface"
            )
        } else if p.peer_ip.is_unspecified() && p.peer_ip.is_ipv6() {
            "peer address :: is unspecified, which BIRD refuses".to_owned()
        } else {
            return true;
        };
        for origin in &p.origin {
            warnings.push(Warning::new(
                origin,
                format!("session {} withheld: {why}", p.name),
            ));
        }
        false
    });
}

/// Plans `node`'s sessions. Never fails: problems become warnings.
pub fn plan(snapshot: &Snapshot, node: &str, options: &PlanOptions) -> Plan {
    let cluster = Cluster::new(snapshot);
    plan_in(&cluster, node, options)
}

/// Plans `node` against an already-derived cluster (reuse it to plan many nodes).
pub fn plan_in(cluster: &Cluster<'_>, node: &str, options: &PlanOptions) -> Plan {
    let mut warnings: Vec<Warning> = cluster.snapshot.skipped.values().cloned().collect();
    warnings.extend(cluster.snapshot.ignored_values.values().flatten().cloned());
    warnings.extend(cluster.warnings.iter().cloned());
    let me = cluster.node(node);
    let my_rr = me.and_then(|n| n.rr_cluster_id.clone());
    let my_as = cluster.node_as(node);
    let mesh_enabled = cluster.mesh_enabled() && my_rr.is_none();

    let mut explicit = explicit::plan_explicit(cluster, node, &mut warnings);
    let mut peers = mesh::plan_mesh(cluster, node, mesh_enabled, &mut warnings);
    explicit::drop_mesh_duplicates(&mut peers, &explicit, &mut warnings);
    peers.append(&mut explicit);
    peers.sort_by(|a, b| a.name.cmp(&b.name));
    withhold_refused_by_bird(&mut peers, &mut warnings);
    let filter_functions = filters::decide(cluster.snapshot, &mut peers, &mut warnings);
    let route_priority = filters::route_priorities(cluster.global(), &mut warnings);

    let strict_bind = strict_bind(cluster, &peers, &mut warnings);
    let route_policy = routes::plan_routes(
        cluster.snapshot,
        &routes::RouteInputs {
            node,
            route_reflector: my_rr.as_deref().is_some_and(|id| !id.is_empty()),
            reachable_by: peers
                .iter()
                .filter_map(|p| Some((p.peer_ip, p.reachable_by?)))
                .collect(),
            advertise_cluster_ips: options.advertise_cluster_ips.as_deref(),
        },
        &mut warnings,
    );
    let router_id = router_id::router_id(
        node,
        me.and_then(|n| n.ipv4.map(|a| a.ip)),
        options.router_id.as_ref(),
    );
    if router_id.is_none() && me.is_some() {
        // BIRD then takes the host's lowest IPv4 address, often the same on every node
        // (docker0, link-local), and equal router IDs break iBGP between them.
        warnings.push(Warning::new(
            format!("Node/{node}"),
            "no IPv4 address and no CALICO_ROUTER_ID: BIRD picks the router id from this host's IPv4 addresses, which may equal another node's; set CALICO_ROUTER_ID=hash (as Calico needs for IPv6-only nodes) or an address",
        ));
    }
    warnings.sort();
    warnings.dedup();
    Plan {
        node: node.to_owned(),
        router_id,
        as_number: my_as,
        listen_port: cluster.listen_port(node),
        mesh_enabled,
        peers,
        warnings,
        ipv4_address: me.and_then(|n| n.ipv4.map(|a| a.ip)),
        ipv6_address: me.and_then(|n| n.ipv6.map(|a| a.ip)),
        route_reflector_cluster_id: my_rr,
        node_found: me.is_some(),
        policy: filters::SessionPolicy {
            route_priority,
            filter_functions,
        },
        route_policy,
        strict_bind,
    }
}

/// `bindMode: NodeIP`. BIRD 2 has one address per session for listening and connecting, and
/// a wildcard listening socket cannot share the port with bound ones: when a session has no
/// source address (`sourceAddress: None`, local workloads), no session is bound, with a
/// warning naming them.
fn strict_bind(cluster: &Cluster<'_>, peers: &[Peer], warnings: &mut Vec<Warning>) -> bool {
    if cluster.global().and_then(|g| g.bind_mode.as_deref()) != Some("NodeIP") {
        return false;
    }
    let unbound: Vec<&str> = peers
        .iter()
        .filter(|p| p.source_address.is_none())
        .map(|p| p.name.as_str())
        .collect();
    if unbound.is_empty() {
        return true;
    }
    warnings.push(Warning::new(
        "BGPConfiguration/default",
        format!(
            "bindMode NodeIP: {} ha{} no source address (sourceAddress None or a local workload), \
             which BIRD 2 cannot combine with sockets bound to the node address; BIRD listens on \
             every address of this node",
            unbound.join(", "),
            if unbound.len() == 1 { "s" } else { "ve" }
        ),
    ));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keepalive_above_birds_hold_time_withholds_only_that_session() {
        let yaml = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             kind: BGPPeer\nmetadata: {name: slow}\nspec: {peerIP: 10.0.0.9, asNumber: 65100, keepaliveTime: 1000s}\n---\n\
             kind: BGPPeer\nmetadata: {name: ok}\nspec: {peerIP: 10.0.0.8, asNumber: 65100, keepaliveTime: 240s}\n";
        let s = crate::snapshot::from_yaml(yaml);
        let p = plan(&s, "a", &PlanOptions::default());
        let names: Vec<&str> = p.peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Global_10_0_0_8"]);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "BGPPeer \"slow\": session Global_10_0_0_9 withheld: keepaliveTime 1000s is above BIRD's hold time (240s), which BIRD refuses"
            ]
        );
    }

    #[test]
    fn a_link_local_source_address_withholds_the_sessions_that_use_it() {
        let yaml = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: 'fe80::5/64'}}\n---\n\
             kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv4Address: 10.0.0.2/24, ipv6Address: 'fd00::2/64'}}\n---\n\
             kind: BGPPeer\nmetadata: {name: v6}\nspec: {peerIP: 'fd00::9', asNumber: 65100}\n---\n\
             kind: BGPPeer\nmetadata: {name: unbound}\nspec: {peerIP: 'fd00::8', asNumber: 65100, sourceAddress: None}\n";
        let s = crate::snapshot::from_yaml(yaml);
        let p = plan(&s, "a", &PlanOptions::default());
        let names: Vec<&str> = p.peers.iter().map(|p| p.name.as_str()).collect();
        // The IPv4 mesh session and the session without a source address stay.
        assert_eq!(names, ["Global_fd00__8", "Mesh_10_0_0_2"]);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "BGPPeer \"v6\": session Global_fd00__9 withheld: source address fe80::5 (this node's ipv6Address) is link-local, which BIRD refuses without an interface",
                "node-to-node mesh: session Mesh_fd00__2 withheld: source address fe80::5 (this node's ipv6Address) is link-local, which BIRD refuses without an interface",
            ]
        );
    }

    #[test]
    fn a_restart_time_beyond_what_bird_reads_costs_only_its_session_or_value() {
        // BIRD reads numbers up to 2^32 - 1 ("Number out of range" fails the whole config).
        let yaml = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv4Address: 10.0.0.2/24}}\n---\n\
             kind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeMeshMaxRestartTime: 2000000h}\n---\n\
             kind: BGPPeer\nmetadata: {name: long}\nspec: {peerIP: 10.0.0.9, asNumber: 65100, maxRestartTime: 1193047h}\n---\n\
             kind: BGPPeer\nmetadata: {name: ok}\nspec: {peerIP: 10.0.0.8, asNumber: 65100, maxRestartTime: 1193046h}\n";
        let s = crate::snapshot::from_yaml(yaml);
        let p = plan(&s, "a", &PlanOptions::default());
        let names: Vec<(&str, Option<i64>)> = p
            .peers
            .iter()
            .map(|p| (p.name.as_str(), p.graceful_restart_time))
            .collect();
        assert_eq!(
            names,
            [
                ("Global_10_0_0_8", Some(4294965600)),
                ("Mesh_10_0_0_2", None)
            ]
        );
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.contains(&"BGPPeer \"long\": session Global_10_0_0_9 withheld: maxRestartTime 4294969200s is above 4294967295s, the largest number BIRD reads".to_owned()),
            "{w:?}"
        );
        assert!(
            w.iter().any(|w| w.starts_with("BGPConfiguration \"default\": spec.nodeMeshMaxRestartTime 2000000h is above 4294967295s")),
            "{w:?}"
        );
    }

    #[test]
    fn an_ipv6_only_node_without_a_router_id_override_is_warned_about() {
        // BIRD would take the lowest IPv4 address of the host (often the same docker0 or
        // link-local address on every node: equal router IDs break iBGP).
        let yaml = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv6Address: fd00::1/64}}\n---\n\
             kind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv6Address: fd00::2/64}}\n";
        let s = crate::snapshot::from_yaml(yaml);
        let p = plan(&s, "a", &PlanOptions::default());
        assert_eq!(p.router_id, None);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter().any(
                |w| w.starts_with("Node \"a\": no IPv4 address and no CALICO_ROUTER_ID")
                    && w.contains("CALICO_ROUTER_ID=hash")
            ),
            "{w:?}"
        );
        let hashed = PlanOptions {
            router_id: Some(RouterIdOverride::Hash),
            ..PlanOptions::default()
        };
        let p = plan(&s, "a", &hashed);
        assert!(p.router_id.is_some());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_link_local_or_unspecified_neighbor_is_withheld() {
        let yaml = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv6Address: fd00::1/64}}\n---\n\
             kind: BGPPeer\nmetadata: {name: ll}\nspec: {peerIP: 'fe80::1', asNumber: 65100}\n---\n\
             kind: BGPPeer\nmetadata: {name: any}\nspec: {peerIP: '::', asNumber: 65100}\n---\n\
             kind: BGPPeer\nmetadata: {name: ok}\nspec: {peerIP: 'fd00::9', asNumber: 65100}\n";
        let s = crate::snapshot::from_yaml(yaml);
        let p = plan(&s, "a", &PlanOptions::default());
        let names: Vec<&str> = p.peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Global_fd00__9"]);
        let w: Vec<String> = p
            .warnings
            .iter()
            .filter(|w| w.resource.starts_with("BGPPeer/"))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            w,
            [
                "BGPPeer \"any\": session Global___ withheld: peer address :: is unspecified, which BIRD refuses",
                "BGPPeer \"ll\": session Global_fe80__1 withheld: peer address fe80::1 is link-local, which BIRD refuses without an interface",
            ]
        );
    }
}
