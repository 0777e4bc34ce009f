//! BGPPeer resources → Global_/Node_ sessions: the two forward passes (global BGPPeers, then
//! node-scoped ones) and the reverse pass, with Calico's key rules: one session per
//! (address, port) where port 179 and no port share a key; the first writer wins; a
//! node-specific key is dropped when a global one exists (deviation 1 fixes the order).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::cluster::{Cluster, NodeInfo};
use super::family::Family;
use super::peer::{Direction, NextHop, OriginDetail, Peer, PeerType};
use super::provenance::{AsSource, PortSource, Provenance, node_as_source, port_source};
use crate::resources::addr::{ip_for_name, parse_node_address, parse_peer_ip};
use crate::resources::{AsNumber, BgpPeer, Secret, SecretKeyRef, Warning};

/// One peering a BGPPeer asks for, before key rules and rendering decisions.
#[derive(Debug, Clone)]
struct Candidate<'a> {
    bgp_peer: &'a str,
    direction: Direction,
    remote_node: Option<&'a str>,
    ip: IpAddr,
    port: Option<u16>,
    as_number: AsNumber,
    local_as: Option<AsNumber>,
    rr_cluster_id: Option<String>,
    calico_node: bool,
    allow_local_as: i64,
    ttl: u8,
    reachable_by: Option<IpAddr>,
    filters: &'a [String],
    keep_next_hop: bool,
    next_hop_mode: Option<&'a str>,
    password: Option<Secret>,
    source_none: bool,
    /// A local workload (`localWorkloadSelector`): `Local_Workload_` name, passive.
    local_workload: bool,
    restart_time: Option<i64>,
    keepalive: Option<i64>,
    as_source: AsSource,
    port_source: PortSource,
}

/// Calico's peer key: address and port, where 179 and "no port" are the same key.
type Key = (IpAddr, Option<u16>);

fn key(c: &Candidate<'_>) -> Key {
    (c.ip, c.port.filter(|p| *p != 179))
}

/// Emitted candidates: the winner of each key first, then the ones it beat.
#[derive(Default)]
struct Emitted<'a> {
    global: BTreeMap<Key, Vec<Candidate<'a>>>,
    node: BTreeMap<Key, Vec<Candidate<'a>>>,
}

impl<'a> Emitted<'a> {
    fn emit(&mut self, global: bool, c: Candidate<'a>) {
        let k = key(&c);
        if global {
            self.global.entry(k).or_default().push(c);
        } else if let Some(winners) = self.global.get_mut(&k) {
            winners.push(c);
        } else {
            self.node.entry(k).or_default().push(c);
        }
    }
}

/// What the passes need from a BGPPeer, checked once.
struct Usable<'a> {
    peer: &'a BgpPeer,
    global: bool,
    password: Option<Secret>,
}

/// Global_ and Node_ sessions of `node`.
pub(super) fn plan_explicit(
    cluster: &Cluster<'_>,
    node: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<Peer> {
    let mut usable = Vec::new();
    for pass_global in [true, false] {
        for bp in cluster.snapshot.bgp_peers.values() {
            let s = &bp.spec;
            let global = s.node.as_deref().unwrap_or("").is_empty()
                && s.node_selector.as_deref().unwrap_or("").is_empty();
            if global != pass_global {
                continue;
            }
            let id = format!("BGPPeer/{}", bp.metadata.name);
            if s.peer_ip.as_deref().is_some_and(|v| !v.is_empty()) && s.as_number.is_none() {
                warnings.push(Warning::new(
                    &id,
                    "peerIP without asNumber; skipped (Calico would render AS 0)",
                ));
                continue;
            }
            let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
            if !set(&s.peer_ip) && !set(&s.peer_selector) && !set(&s.local_workload_selector) {
                // Valid in Calico, and a no-op there too.
                warnings.push(Warning::new(
                    &id,
                    "names no peer (peerIP, peerSelector or localWorkloadSelector); it adds no session",
                ));
                continue;
            }
            let password = match s.password_ref() {
                Some(r) => match resolve_password(cluster, r, &id, warnings) {
                    Ok(p) => p,
                    Err(()) => continue,
                },
                None => None,
            };
            usable.push(Usable {
                peer: bp,
                global,
                password,
            });
        }
    }

    let mut emitted = Emitted::default();
    for u in &usable {
        forward(cluster, node, u, &mut emitted);
    }
    for u in &usable {
        reverse(cluster, node, u, &mut emitted);
    }

    let Some(me) = cluster.node(node) else {
        return Vec::new();
    };
    let mut peers = Vec::new();
    for (global, map) in [(true, &emitted.global), (false, &emitted.node)] {
        for candidates in map.values() {
            let mut built = candidates
                .iter()
                .map(|c| (c, build(cluster, me, c, global)));
            let Some((winner_c, Some(mut winner))) = built.next() else {
                continue;
            };
            for (c, p) in built {
                let Some(p) = p else { continue };
                let origin = format!("BGPPeer/{}", c.bgp_peer);
                if winner.same_session(&p) {
                    if !winner.origin.contains(&origin) {
                        winner.origin.push(origin);
                    }
                    let detail = OriginDetail {
                        bgp_peer: c.bgp_peer.to_owned(),
                        direction: c.direction,
                    };
                    if !winner.origin_detail.contains(&detail) {
                        winner.origin_detail.push(detail);
                    }
                } else if c.bgp_peer != winner_c.bgp_peer {
                    warnings.push(Warning::new(
                        origin,
                        format!(
                            "{} peering with {} conflicts with BGPPeer {:?} ({} {}), which wins{}",
                            dir_word(c.direction),
                            peer_text(&p),
                            winner_c.bgp_peer,
                            dir_word(winner_c.direction),
                            winner.name,
                            if global && c.direction == Direction::Reverse {
                                " (global peerings come first)"
                            } else {
                                ""
                            },
                        ),
                    ));
                }
            }
            peers.push(winner);
        }
    }
    peers
}

fn dir_word(d: Direction) -> &'static str {
    match d {
        Direction::Forward => "its",
        Direction::Reverse => "its reverse",
    }
}

fn peer_text(p: &Peer) -> String {
    match p.port {
        Some(port) => format!("{} port {port}", p.peer_ip),
        None => p.peer_ip.to_string(),
    }
}

/// Forward pass: the BGPPeer's local side includes `node`; its remote side becomes peers.
fn forward<'a>(cluster: &Cluster<'a>, node: &str, u: &Usable<'a>, out: &mut Emitted<'a>) {
    let s = &u.peer.spec;
    let local = if u.global {
        true
    } else if let Some(sel) = s.node_selector.as_deref().filter(|v| !v.is_empty()) {
        cluster.node_matches(sel, node)
    } else {
        s.node.as_deref() == Some(node)
    };
    if !local {
        return;
    }
    if s.local_workload_selector
        .as_deref()
        .is_some_and(|v| !v.is_empty())
    {
        // The workloads Felix found for this BGPPeer: the first address of each family.
        let Some(as_number) = s.as_number else { return };
        for w in cluster
            .snapshot
            .local_workloads
            .values()
            .filter(|w| w.bgp_peer_name == u.peer.metadata.name)
        {
            for nets in [&w.ipv4_nets, &w.ipv6_nets] {
                let Some(ip) = nets
                    .first()
                    .and_then(|n| parse_node_address(n))
                    .map(|a| a.ip)
                else {
                    continue;
                };
                let mut c = base_candidate(u, Direction::Forward, ip, None, as_number);
                // Calico copies only the AS numbers and the filters to a workload's session.
                c.local_as = s.local_as_number;
                c.source_none = true;
                c.local_workload = true;
                c.ttl = 0;
                c.keep_next_hop = false;
                c.next_hop_mode = None;
                c.password = None;
                c.restart_time = None;
                c.keepalive = None;
                c.as_source = AsSource::BgpPeer {
                    name: u.peer.metadata.name.clone(),
                };
                out.emit(u.global, c);
            }
        }
        return;
    }
    if let Some(sel) = s.peer_selector.as_deref().filter(|v| !v.is_empty()) {
        for name in cluster.nodes_matching(sel).iter() {
            if let Some(n) = cluster.node(name) {
                for c in node_as_peers(cluster, n, true, true, u, Direction::Forward) {
                    out.emit(u.global, c);
                }
            }
        }
        return;
    }
    let Some(Ok(addr)) = s.peer_ip.as_deref().map(parse_peer_ip) else {
        return;
    };
    let Some(as_number) = s.as_number else { return };
    let mut port = addr.port;
    let mut port_from = if port.is_some() {
        PortSource::PeerIp
    } else {
        PortSource::Default
    };
    if port.is_none()
        && let Some(first) = nodes_with_ip_port_as(cluster, &addr.ip, as_number, None).first()
    {
        port = cluster.listen_port(first);
        port_from = port_source(cluster, first);
    }
    let mut c = base_candidate(u, Direction::Forward, addr.ip, port, as_number);
    c.as_source = AsSource::BgpPeer {
        name: u.peer.metadata.name.clone(),
    };
    c.port_source = port_from;
    c.local_as = s.local_as_number;
    c.calico_node = !cluster.nodes_with_ip(&addr.ip).is_empty();
    c.allow_local_as = s.num_allowed_local_as_numbers.unwrap_or(0);
    c.reachable_by = s.reachable_by.as_deref().and_then(|g| g.parse().ok());
    out.emit(u.global, c);
}

/// Reverse pass: `node` is on the BGPPeer's remote side; its local side becomes Node_ peers.
fn reverse<'a>(cluster: &Cluster<'a>, node: &str, u: &Usable<'a>, out: &mut Emitted<'a>) {
    let s = &u.peer.spec;
    if s.reverse_peering.as_deref() == Some("Manual") {
        return;
    }
    let (is_remote, v4, v6) = if let Some(sel) =
        s.peer_selector.as_deref().filter(|v| !v.is_empty())
    {
        (cluster.node_matches(sel, node), true, true)
    } else {
        let Some(Ok(addr)) = s.peer_ip.as_deref().map(parse_peer_ip) else {
            return;
        };
        let Some(as_number) = s.as_number else { return };
        let hit = nodes_with_ip_port_as(cluster, &addr.ip, as_number, addr.port).contains(&node);
        (hit, addr.ip.is_ipv4(), addr.ip.is_ipv6())
    };
    if !is_remote {
        return;
    }
    let locals = if let Some(sel) = s.node_selector.as_deref().filter(|v| !v.is_empty()) {
        cluster.nodes_matching(sel)
    } else if let Some(n) = s.node.as_deref().filter(|v| !v.is_empty()) {
        std::rc::Rc::new(cluster.node(n).map(|i| i.name).into_iter().collect())
    } else {
        cluster.nodes_matching("all()")
    };
    for name in locals.iter() {
        if let Some(n) = cluster.node(name) {
            for c in node_as_peers(cluster, n, v4, v6, u, Direction::Reverse) {
                out.emit(false, c);
            }
        }
    }
}

/// Calico's `nodesWithIPPortAndAS`, with parsed addresses (deviation 3) and the effective
/// listen port compared when a port is given (deviation 5).
fn nodes_with_ip_port_as<'a>(
    cluster: &Cluster<'a>,
    ip: &IpAddr,
    as_number: AsNumber,
    port: Option<u16>,
) -> Vec<&'a str> {
    cluster
        .nodes_with_ip(ip)
        .iter()
        .copied()
        .filter(|n| cluster.node_as(n) == as_number)
        .filter(|n| port.is_none_or(|p| cluster.listen_port(n).unwrap_or(179) == p))
        .collect()
}

/// Calico's `nodeAsBGPPeers`: a Calico node as the remote end, per requested family.
fn node_as_peers<'a>(
    cluster: &Cluster<'a>,
    n: &NodeInfo<'a>,
    v4: bool,
    v6: bool,
    u: &Usable<'a>,
    direction: Direction,
) -> Vec<Candidate<'a>> {
    let mut out = Vec::new();
    for (want, addr) in [(v4, n.ipv4), (v6, n.ipv6)] {
        let Some(addr) = addr.filter(|_| want) else {
            continue;
        };
        let mut c = base_candidate(
            u,
            direction,
            addr.ip,
            cluster.listen_port(n.name),
            cluster.node_as(n.name),
        );
        c.remote_node = Some(n.name);
        c.rr_cluster_id = n.rr_cluster_id.clone();
        c.as_source = node_as_source(cluster, n.name);
        c.port_source = port_source(cluster, n.name);
        // Deviation 7: reverse peerings do not inherit reachableBy.
        if direction == Direction::Forward {
            c.reachable_by = u
                .peer
                .spec
                .reachable_by
                .as_deref()
                .and_then(|g| g.parse().ok());
        }
        out.push(c);
    }
    out
}

fn base_candidate<'a>(
    u: &Usable<'a>,
    direction: Direction,
    ip: IpAddr,
    port: Option<u16>,
    as_number: AsNumber,
) -> Candidate<'a> {
    let s = &u.peer.spec;
    let next_hop_mode = s.next_hop_mode.as_deref().filter(|m| !m.is_empty());
    Candidate {
        bgp_peer: &u.peer.metadata.name,
        direction,
        remote_node: None,
        ip,
        port,
        as_number,
        local_as: None,
        rr_cluster_id: None,
        calico_node: false,
        allow_local_as: 0,
        ttl: s.ttl_security.unwrap_or(0).clamp(0, 255) as u8,
        reachable_by: None,
        filters: &s.filters,
        keep_next_hop: s.keep_original_next_hop.unwrap_or(false) && next_hop_mode.is_none(),
        next_hop_mode,
        password: u.password.clone(),
        source_none: s.source_address.as_deref() == Some("None"),
        local_workload: false,
        restart_time: s.max_restart_time.as_ref().map(|d| d.rounded_seconds()),
        keepalive: s.keepalive_time.as_ref().map(|d| d.rounded_seconds()),
        as_source: AsSource::Builtin,
        port_source: PortSource::Default,
    }
}

/// Turns a candidate into a session of `me`, or None when it is not rendered (our own
/// address, or a family this node has no address in).
fn build(
    cluster: &Cluster<'_>,
    me: &NodeInfo<'_>,
    c: &Candidate<'_>,
    global: bool,
) -> Option<Peer> {
    let my_ip = me.ip_like(&c.ip)?;
    if my_ip == c.ip {
        return None;
    }
    let my_as = cluster.node_as(me.name);
    let local_as = c.local_as.unwrap_or(my_as);
    let internal = c.as_number == local_as;
    let rr_client = internal && me.rr_cluster_id.is_some() && c.rr_cluster_id != me.rr_cluster_id;
    let next_hop = match c.next_hop_mode {
        Some("Self") => Some(NextHop::SelfAddress),
        Some("Keep") => Some(NextHop::Keep),
        Some(_) => None,
        None if c.keep_next_hop && !internal => Some(NextHop::Keep),
        None => None,
    };
    let prefix = match (c.local_workload, global) {
        (true, _) => "Local_Workload",
        (false, true) => "Global",
        (false, false) => "Node",
    };
    let name = match c.port {
        Some(p) => format!("{prefix}_{}_port_{p}", ip_for_name(&c.ip)),
        None => format!("{prefix}_{}", ip_for_name(&c.ip)),
    };
    Some(Peer {
        name,
        peer_type: if global {
            PeerType::GlobalPeer
        } else {
            PeerType::NodePeer
        },
        family: Family::of(&c.ip),
        peer_ip: c.ip,
        port: c.port,
        as_number: c.as_number,
        local_as_number: local_as,
        // Global section only, and only towards Calico nodes: Calico compares address text.
        // Local workloads connect to us. Otherwise: global section only, towards Calico
        // nodes, and Calico compares address text.
        passive: c.local_workload
            || (global && c.calico_node && c.ip.to_string() > my_ip.to_string()),
        route_reflector_client: rr_client,
        route_reflector_cluster_id: if rr_client {
            me.rr_cluster_id.clone()
        } else {
            None
        },
        source_address: (!c.source_none).then_some(my_ip),
        next_hop,
        ttl_security: (c.ttl > 0).then_some(c.ttl),
        graceful_restart_time: c.restart_time,
        allow_local_as: (c.allow_local_as > 0).then_some(c.allow_local_as),
        has_password: c.password.is_some(),
        filters: c.filters.to_vec(),
        import_filters: Vec::new(),
        export_filters: Vec::new(),
        origin: vec![format!("BGPPeer/{}", c.bgp_peer)],
        internal,
        reachable_by: c.reachable_by,
        keepalive_time: c.keepalive,
        local_as_override: c.local_as.is_some(),
        origin_detail: vec![OriginDetail {
            bgp_peer: c.bgp_peer.to_owned(),
            direction: c.direction,
        }],
        remote_node: c.remote_node.map(str::to_owned),
        password: c.password.clone(),
        provenance: Provenance {
            neighbor_as: c.as_source.clone(),
            local_as: match c.local_as {
                Some(_) => AsSource::BgpPeer {
                    name: c.bgp_peer.to_owned(),
                },
                None => node_as_source(cluster, me.name),
            },
            port: c.port_source.clone(),
            calico_node: c.calico_node,
        },
    })
}

/// Deviation 4: an explicit peering to the same address and port as a mesh one replaces it.
pub(super) fn drop_mesh_duplicates(
    mesh: &mut Vec<Peer>,
    explicit: &[Peer],
    warnings: &mut Vec<Warning>,
) {
    mesh.retain(|m| {
        let port_key = |p: &Peer| p.port.filter(|p| *p != 179);
        match explicit
            .iter()
            .find(|e| e.peer_ip == m.peer_ip && port_key(e) == port_key(m))
        {
            Some(e) => {
                warnings.push(Warning::new(
                    &e.origin[0],
                    format!(
                        "{} replaces the node-to-node mesh session {} to the same neighbor",
                        e.name, m.name
                    ),
                ));
                false
            }
            None => true,
        }
    });
}

/// Whether a password can be written between BIRD's double quotes as it is: any UTF-8 but
/// `"`, `\` and control characters, at most 80 bytes (the kernel's TCP-MD5 key length).
pub(crate) fn password_fits_bird(v: &str) -> bool {
    !v.is_empty() && v.len() <= 80 && !v.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

/// Looks up a BGP password. Ok(None) when the secret is missing (a warning says so);
/// Err when its value cannot be written safely into BIRD config (the peering is skipped).
pub(super) fn resolve_password(
    cluster: &Cluster<'_>,
    r: &SecretKeyRef,
    owner: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Secret>, ()> {
    if let Some(why) = cluster.snapshot.secrets.unusable(&r.name, &r.key) {
        warnings.push(Warning::new(
            owner,
            format!(
                "password secret {:?} key {:?} {why}; peering skipped",
                r.name, r.key
            ),
        ));
        return Err(());
    }
    let Some(secret) = cluster.snapshot.secrets.get(&r.name, &r.key) else {
        warnings.push(Warning::new(
            owner,
            format!(
                "password secret {:?} key {:?} not found; peering without a password",
                r.name, r.key
            ),
        ));
        return Ok(None);
    };
    if !password_fits_bird(secret.expose()) {
        warnings.push(Warning::new(
            owner,
            format!(
                "password secret {:?} key {:?} must be 1-80 bytes of UTF-8 without '\"', '\\\\' or control characters; peering skipped",
                r.name, r.key
            ),
        ));
        return Err(());
    }
    Ok(Some(secret.clone()))
}

#[cfg(test)]
mod tests {
    use crate::plan::{PlanOptions, plan};
    use crate::snapshot::Snapshot;

    fn snapshot(yaml: &str) -> Snapshot {
        crate::snapshot::from_yaml(yaml)
    }

    #[test]
    fn a_missing_bgp_filter_is_named_and_its_sessions_fail_closed() {
        let s = snapshot(
            "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             kind: BGPFilter\nmetadata: {name: present}\nspec: {exportV4: [{action: Reject}]}\n---\n\
             kind: BGPPeer\nmetadata: {name: tor}\n\
             spec: {peerIP: 192.0.2.1, asNumber: 65100, filters: [gone, present]}\n",
        );
        let p = plan(&s, "a", &PlanOptions::default());
        assert_eq!(p.peers.len(), 1);
        assert_eq!(p.peers[0].filters, ["gone", "present"]);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "BGPPeer \"tor\": BGPFilter \"gone\" does not exist; its sessions reject every route in both directions"
            ]
        );
    }
}

#[cfg(test)]
mod secret_tests {
    use crate::datastore::files::load_snapshot;
    use crate::plan::{PlanOptions, plan};

    #[test]
    fn a_non_utf8_secret_file_costs_only_the_sessions_that_use_it() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        for (secret, key, value) in [
            ("bgp", "tor", b"s3cret\n".as_slice()),
            ("unrelated", "blob", b"\xff\xfe\x00binary".as_slice()),
            ("bgp", "broken", b"\xc3\x28".as_slice()),
        ] {
            std::fs::create_dir_all(secrets.join(secret)).unwrap();
            std::fs::write(secrets.join(secret).join(key), value).unwrap();
        }
        let resources = dir.path().join("cluster.yaml");
        std::fs::write(
            &resources,
            "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             kind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 65100,\n\
             password: {secretKeyRef: {name: bgp, key: tor}}}\n---\n\
             kind: BGPPeer\nmetadata: {name: other}\nspec: {peerIP: 192.0.2.2, asNumber: 65100,\n\
             password: {secretKeyRef: {name: bgp, key: broken}}}\n",
        )
        .unwrap();
        let s = load_snapshot(&resources, Some(&secrets)).expect("an unrelated file fails nothing");
        let p = plan(&s, "a", &PlanOptions::default());
        let names: Vec<&str> = p.peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Global_192_0_2_1"]);
        assert!(p.peers[0].has_password);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "BGPPeer \"other\": password secret \"bgp\" key \"broken\" is not UTF-8; peering skipped"
            ]
        );
    }
}

#[cfg(test)]
mod local_workload_tests {
    use crate::plan::{PlanOptions, plan};
    use crate::resources::EndpointStatus;
    use crate::snapshot::Event;

    #[test]
    fn a_workload_session_copies_only_as_numbers_and_filters() {
        let mut s = crate::snapshot::from_yaml(
            "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject}]}\n---\n\
             kind: BGPPeer\nmetadata: {name: vm}\n\
             spec: {localWorkloadSelector: has(vm), asNumber: 64516, localASNumber: 65002,\n\
             filters: [f], ttlSecurity: 2, maxRestartTime: 90s, keepaliveTime: 10s,\n\
             nextHopMode: Self, numAllowedLocalASNumbers: 1,\n\
             password: {secretKeyRef: {name: bgp, key: pw}}}\n",
        );
        let mut secrets = crate::resources::Secrets::new();
        secrets.insert("bgp", "pw", crate::resources::Secret::new("pw"));
        s.apply(Event::Secrets(secrets));
        s.apply(Event::LocalWorkloads(
            [(
                "w1".to_owned(),
                EndpointStatus {
                    name: "w1".into(),
                    iface_name: "cali1".into(),
                    ipv4_nets: vec!["192.168.1.5/32".into()],
                    ipv6_nets: vec![],
                    bgp_peer_name: "vm".into(),
                },
            )]
            .into(),
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        assert_eq!(p.peers.len(), 1, "{:?}", p.warnings);
        assert!(
            p.warnings.is_empty(),
            "the password the workload sessions never use is not looked up: {:?}",
            p.warnings
        );
        let w = &p.peers[0];
        assert_eq!(w.name, "Local_Workload_192_168_1_5");
        assert_eq!(
            (
                w.as_number.get(),
                w.local_as_number.get(),
                w.filters.clone()
            ),
            (64516, 65002, vec!["f".to_owned()])
        );
        assert!(w.passive);
        assert_eq!(w.source_address, None);
        assert!(!w.has_password && w.password.is_none());
        assert_eq!(
            (
                w.ttl_security,
                w.graceful_restart_time,
                w.keepalive_time,
                w.next_hop
            ),
            (None, None, None, None),
            "not copied by Calico"
        );

        let e = crate::plan::explain::explain_session(&crate::plan::Cluster::new(&s), &p, w);
        assert_eq!(e.neighbor_as.source, "bgpPeer", "{}", e.neighbor_as.text);
        assert_eq!(e.local_as.source, "bgpPeerLocalAS", "{}", e.local_as.text);
        assert_eq!(e.passive.source, "localWorkload", "{}", e.passive.text);
        assert!(
            e.passive.text.starts_with("passive: "),
            "{}",
            e.passive.text
        );
        let other = &e.bgp_peers[0].other_end;
        assert_eq!(other.field, "localWorkloadSelector");
        assert_eq!(
            other.value,
            "has(vm) (asNumber 64516): workload w1 at 192.168.1.5"
        );
        assert!(
            e.options.iter().any(|o| o
                == "no source address: a local workload's session never has one (as in Calico)"),
            "{:?}",
            e.options
        );
    }
}
