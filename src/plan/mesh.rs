//! The node-to-node mesh: a session to every other non-route-reflector node, per family.

use std::collections::HashSet;

use super::cluster::Cluster;
use super::family::Family;
use super::peer::{Peer, PeerType};
use super::provenance::{Provenance, node_as_source, port_source};
use crate::resources::addr::ip_for_name;
use crate::resources::{Secret, Warning};

/// Mesh sessions of `node`. `enabled` already accounts for this node being a reflector.
pub(super) fn plan_mesh(
    cluster: &Cluster<'_>,
    node: &str,
    enabled: bool,
    warnings: &mut Vec<Warning>,
) -> Vec<Peer> {
    let Some(me) = cluster.node(node) else {
        return Vec::new();
    };
    if !enabled {
        return Vec::new();
    }
    let my_as = cluster.node_as(node);
    let global = cluster.global();
    let restart = global
        .and_then(|g| g.node_mesh_max_restart_time.as_ref())
        .map(|d| d.rounded_seconds());
    let password = match mesh_password(cluster, warnings) {
        Ok(p) => p,
        Err(()) => return Vec::new(),
    };
    let mut peers = Vec::new();
    for (family, mine) in [(Family::IPv4, me.ipv4), (Family::IPv6, me.ipv6)] {
        let Some(mine) = mine else { continue };
        let my_text = mine.ip.to_string();
        let mut seen = HashSet::new();
        for other in cluster.nodes() {
            let addr = match family {
                Family::IPv4 => other.ipv4,
                Family::IPv6 => other.ipv6,
            };
            let Some(addr) = addr else { continue };
            if addr.ip == mine.ip || other.rr_cluster_id.is_some() || !seen.insert(addr.ip) {
                continue;
            }
            let as_number = cluster.node_as(other.name);
            peers.push(Peer {
                name: format!("Mesh_{}", ip_for_name(&addr.ip)),
                peer_type: PeerType::NodeMesh,
                family,
                peer_ip: addr.ip,
                port: cluster.listen_port(other.name),
                as_number,
                local_as_number: my_as,
                // Calico compares the address text, so exactly one side of a pair is passive.
                passive: addr.ip.to_string() > my_text,
                route_reflector_client: false,
                route_reflector_cluster_id: None,
                source_address: Some(mine.ip),
                next_hop: None,
                ttl_security: None,
                graceful_restart_time: restart,
                allow_local_as: None,
                has_password: password.is_some(),
                filters: Vec::new(),
                import_filters: Vec::new(),
                export_filters: Vec::new(),
                origin: vec!["node-to-node mesh".into()],
                internal: as_number == my_as,
                reachable_by: None,
                keepalive_time: None,
                local_as_override: false,
                origin_detail: Vec::new(),
                remote_node: Some(other.name.to_owned()),
                password: password.clone(),
                provenance: Provenance {
                    neighbor_as: node_as_source(cluster, other.name),
                    local_as: node_as_source(cluster, node),
                    port: port_source(cluster, other.name),
                    calico_node: true,
                },
            });
        }
    }
    peers
}

/// The mesh password: Ok(None) when none is configured or its secret is missing,
/// Err when it cannot be written into BIRD config (then the mesh is not planned).
fn mesh_password(cluster: &Cluster<'_>, warnings: &mut Vec<Warning>) -> Result<Option<Secret>, ()> {
    let r = cluster
        .global()
        .and_then(|g| g.node_mesh_password.as_ref())
        .and_then(|p| p.secret_key_ref.as_ref());
    match r {
        Some(r) => {
            super::explicit::resolve_password(cluster, r, "BGPConfiguration/default", warnings)
        }
        None => Ok(None),
    }
}
