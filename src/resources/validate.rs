//! Calico's validation rules (libcalico-go `validator/v3`, `clientv3`), per resource.
//!
//! `validate` returns every problem found, each a lowercase sentence naming the field.
//! Cross-resource checks (a BGPPeer's filters exist, a node's AS resolves) are the planner's.

use std::collections::BTreeSet;
use std::net::IpAddr;

pub(crate) use super::addr::parse_cidr_or_ip;
use super::addr::{parse_cidr, parse_node_address, parse_peer_ip};
pub(crate) use super::filter_rules::{
    PRIORITY_MAX, PRIORITY_MIN, parse_community, valid_interface_glob,
};
use super::filter_rules::{bgp_filter, salvage_filter};
use super::{
    BgpConfiguration, BgpPeer, BlockAffinity, CalicoNodeStatus, IpPool, Node, PasswordSource,
    Resource,
};
use crate::selector::Selector;

/// The largest number BIRD's config reads (2^32 - 1): more fails the whole config ("Number
/// out of range").
pub(crate) const BIRD_MAX_NUMBER: i64 = u32::MAX as i64;
/// Every problem with `r`; empty when Calico would accept it.
pub(crate) fn validate(r: &Resource) -> Vec<String> {
    let mut errs = Vec::new();
    check_name(r.name(), &mut errs);
    match r {
        Resource::Node(n) => node(n, &mut errs),
        Resource::BgpConfiguration(c) => bgp_configuration(c, &mut errs),
        Resource::BgpPeer(p) => bgp_peer(p, &mut errs),
        Resource::IpPool(p) => ip_pool(p, &mut errs),
        Resource::BgpFilter(f) => bgp_filter(f, &mut errs),
        Resource::CalicoNodeStatus(s) => node_status(s, &mut errs),
        Resource::BlockAffinity(a) => block_affinity(a, &mut errs),
    }
    errs
}

/// Validates and joins the problems into one message, or Ok.
pub(crate) fn check(r: &Resource) -> Result<(), String> {
    let errs = validate(r);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Makes a resource usable by dropping only the values perch cannot use, so that one bad
/// value never costs a whole BGPConfiguration (its AS, mesh setting and listen port), and one
/// bad rule never costs a whole BGPFilter (the rule alone becomes a `Reject`, see
/// `filter_rules`): returns one sentence per dropped value or rewritten rule, naming the
/// field. `validate` then judges what is left. `perch apply` does not salvage: it refuses
/// what Calico refuses.
pub(crate) fn salvage(r: &mut Resource) -> Vec<String> {
    let c = match r {
        Resource::BgpConfiguration(c) => c,
        Resource::BgpFilter(f) => return salvage_filter(f),
        Resource::Node(n) => return salvage_node(n),
        Resource::BgpPeer(p) => return salvage_peer(p),
        _ => return Vec::new(),
    };
    let is_default = c.metadata.name == "default";
    let s = &mut c.spec;
    let mut notes = Vec::new();
    if s.as_number.take_if(|a| a.is_zero()).is_some() {
        notes.push(format!(
            "spec.asNumber 0 is not an AS number; ignored{}",
            if is_default {
                " (the default AS 64512 is used)"
            } else {
                ""
            }
        ));
    }
    if let Some(level) = &s.log_severity_screen
        && !valid_log_level(level)
    {
        notes.push(format!(
            "spec.logSeverityScreen {level:?} is not a log level; BIRD logs nothing for it, as confd turns it into none"
        ));
        s.log_severity_screen = Some("None".into());
    }
    if let Some(v) = s
        .service_load_balancer_aggregation
        .as_deref()
        .filter(|v| !["Enabled", "Disabled"].contains(v))
    {
        // Kept as given: the plan aggregates only `Enabled`, as confd does.
        notes.push(format!(
            "spec.serviceLoadBalancerAggregation {v:?} is not Enabled or Disabled; LoadBalancer ranges are not aggregated, as Calico treats it"
        ));
    }
    if s.listen_port == Some(0) {
        notes.push("spec.listenPort 0 is not a port; ignored".into());
        s.listen_port = None;
    }
    if let Some(mode) = &s.bind_mode
        && !["None", "NodeIP"].contains(&mode.as_str())
    {
        notes.push(format!(
            "spec.bindMode {mode:?} is not None or NodeIP; ignored"
        ));
        s.bind_mode = None;
    }
    s.ignored_interfaces.retain(|i| {
        let ok = valid_interface_glob(i) && i != "*";
        if !ok {
            notes.push(format!(
                "spec.ignoredInterfaces {i:?} is not an interface name or glob; ignored"
            ));
        }
        ok
    });
    for (field, list) in [
        ("serviceLoadBalancerIPs", &mut s.service_load_balancer_ips),
        ("serviceExternalIPs", &mut s.service_external_ips),
        ("serviceClusterIPs", &mut s.service_cluster_ips),
    ] {
        list.retain(|c| {
            let ok = c.cidr.is_empty() || parse_cidr_or_ip(&c.cidr).is_some();
            if !ok {
                notes.push(format!("spec.{field} {:?} is not a CIDR; ignored", c.cidr));
            }
            ok
        });
    }
    s.communities.retain(|c| {
        let ok = !c.name.is_empty() && parse_community(&c.value).is_some();
        if !ok {
            notes.push(format!(
                "spec.communities {:?}: {:?} is not a community value; ignored",
                c.name, c.value
            ));
        }
        ok
    });
    let names: BTreeSet<String> = s.communities.iter().map(|c| c.name.clone()).collect();
    s.prefix_advertisements.retain_mut(|pa| {
        if parse_cidr_or_ip(&pa.cidr).is_none() {
            notes.push(format!(
                "spec.prefixAdvertisements {:?} is not a CIDR; ignored",
                pa.cidr
            ));
            return false;
        }
        pa.communities.retain(|c| {
            let ok = names.contains(c) || parse_community(c).is_some();
            if !ok {
                notes.push(format!(
                    "spec.prefixAdvertisements {}: community {c:?} is neither defined nor a value; ignored",
                    pa.cidr
                ));
            }
            ok
        });
        true
    });
    if s.prefix_advertisements.is_empty() && !s.communities.is_empty() {
        // Unused, so harmless: Calico refuses it on write, perch just does not need it.
        s.communities.clear();
    }
    if s.node_to_node_mesh_enabled == Some(false) {
        if s.node_mesh_password.take().is_some() {
            notes.push("spec.nodeMeshPassword is ignored: the mesh is disabled".into());
        }
        if s.node_mesh_max_restart_time.take().is_some() {
            notes.push("spec.nodeMeshMaxRestartTime is ignored: the mesh is disabled".into());
        }
    }
    if s.node_mesh_max_restart_time
        .as_ref()
        .is_some_and(|d| d.seconds() < 0.0)
    {
        notes.push("spec.nodeMeshMaxRestartTime is negative; ignored".into());
        s.node_mesh_max_restart_time = None;
    }
    // More than BIRD reads would fail the whole config.
    if let Some(d) = s
        .node_mesh_max_restart_time
        .take_if(|d| d.rounded_seconds() > BIRD_MAX_NUMBER)
    {
        notes.push(format!(
            "spec.nodeMeshMaxRestartTime {d} is above {BIRD_MAX_NUMBER}s, the largest number BIRD reads; ignored"
        ));
    }
    if !is_default {
        let mut dropped = Vec::new();
        let mut drop_if = |set: bool, field: &str| {
            if set {
                dropped.push(field.to_owned());
            }
        };
        drop_if(
            s.node_to_node_mesh_enabled.take().is_some(),
            DEFAULT_ONLY[0],
        );
        drop_if(s.as_number.take().is_some(), DEFAULT_ONLY[1]);
        drop_if(
            !std::mem::take(&mut s.service_load_balancer_ips).is_empty(),
            DEFAULT_ONLY[2],
        );
        drop_if(
            !std::mem::take(&mut s.service_external_ips).is_empty(),
            DEFAULT_ONLY[3],
        );
        drop_if(
            !std::mem::take(&mut s.service_cluster_ips).is_empty(),
            DEFAULT_ONLY[4],
        );
        drop_if(s.node_mesh_password.take().is_some(), DEFAULT_ONLY[5]);
        drop_if(
            s.node_mesh_max_restart_time.take().is_some(),
            DEFAULT_ONLY[6],
        );
        for field in dropped {
            notes.push(format!(
                "spec.{field} may only be set on the \"default\" BGPConfiguration; ignored"
            ));
        }
    }
    notes
}

/// A Node's AS 0 (which BIRD refuses) costs only the field: the node takes the global AS.
fn salvage_node(n: &mut Node) -> Vec<String> {
    let zero = n
        .spec
        .bgp
        .as_mut()
        .and_then(|bgp| bgp.as_number.take_if(|a| a.is_zero()));
    match zero {
        Some(_) => vec!["spec.bgp.asNumber 0 is not an AS number; the global AS is used".into()],
        None => Vec::new(),
    }
}

/// A BGPPeer's `asNumber: 0` is "not set", as in Calico (a `peerSelector` peer must leave it
/// so); a `localASNumber` of 0 (which BIRD refuses) costs only the field; a `nextHopMode` or
/// `reversePeering` Calico's validator lets through but does not know is Auto, as confd
/// treats it.
fn salvage_peer(p: &mut BgpPeer) -> Vec<String> {
    let s = &mut p.spec;
    let mut notes = Vec::new();
    s.as_number.take_if(|a| a.is_zero());
    if s.local_as_number.take_if(|a| a.is_zero()).is_some() {
        notes.push("spec.localASNumber 0 is not an AS number; the node's AS is used".into());
    }
    // With keepOriginalNextHop, any nextHopMode is refused (as Calico refuses it).
    if s.keep_original_next_hop != Some(true)
        && let Some(m) = s
            .next_hop_mode
            .take_if(|m| !["Auto", "Self", "Keep"].contains(&m.as_str()))
    {
        notes.push(format!(
            "spec.nextHopMode {m:?} is not Auto, Self or Keep; Auto is used, as Calico does"
        ));
    }
    if let Some(r) = s
        .reverse_peering
        .take_if(|r| !["Auto", "Manual"].contains(&r.as_str()))
    {
        notes.push(format!(
            "spec.reversePeering {r:?} is not Auto or Manual; Auto is used, as Calico does"
        ));
    }
    notes
}

/// Resource names: a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`).
fn check_name(name: &str, errs: &mut Vec<String>) {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if !ok {
        errs.push(format!(
            "metadata.name {name:?} must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        ));
    }
}

fn node(n: &Node, errs: &mut Vec<String>) {
    let Some(bgp) = &n.spec.bgp else { return };
    if bgp.as_number.is_some_and(|a| a.is_zero()) {
        errs.push("spec.bgp.asNumber 0 is not an AS number".into());
    }
    if bgp.ipv4_address.is_none() && bgp.ipv6_address.is_none() {
        errs.push("spec.bgp must set ipv4Address or ipv6Address".into());
    }
    if let Some(a) = &bgp.ipv4_address
        && !parse_node_address(a).is_some_and(|a| a.ip.is_ipv4())
    {
        errs.push(format!(
            "spec.bgp.ipv4Address {a:?} is not an IPv4 address or CIDR"
        ));
    }
    if let Some(a) = &bgp.ipv6_address
        && !parse_node_address(a).is_some_and(|a| a.ip.is_ipv6())
    {
        errs.push(format!(
            "spec.bgp.ipv6Address {a:?} is not an IPv6 address or CIDR"
        ));
    }
    if let Some(id) = &bgp.route_reflector_cluster_id
        && !id.is_empty()
        && id.parse::<std::net::Ipv4Addr>().is_err()
    {
        errs.push(format!(
            "spec.bgp.routeReflectorClusterID {id:?} must be an IPv4 address"
        ));
    }
}

const DEFAULT_ONLY: [&str; 7] = [
    "nodeToNodeMeshEnabled",
    "asNumber",
    "serviceLoadBalancerIPs",
    "serviceExternalIPs",
    "serviceClusterIPs",
    "nodeMeshPassword",
    "nodeMeshMaxRestartTime",
];

fn bgp_configuration(c: &BgpConfiguration, errs: &mut Vec<String>) {
    let name = c.metadata.name.as_str();
    let s = &c.spec;
    let is_default = name == "default";
    if !is_default && !name.starts_with("node.") {
        errs.push(format!(
            "name {name:?} must be \"default\" or \"node.<nodename>\""
        ));
    }
    if !is_default {
        let set = [
            s.node_to_node_mesh_enabled.is_some(),
            s.as_number.is_some(),
            !s.service_load_balancer_ips.is_empty(),
            !s.service_external_ips.is_empty(),
            !s.service_cluster_ips.is_empty(),
            s.node_mesh_password.is_some(),
            s.node_mesh_max_restart_time.is_some(),
        ];
        for (field, is_set) in DEFAULT_ONLY.iter().zip(set) {
            if is_set {
                errs.push(format!(
                    "spec.{field} may only be set on the \"default\" BGPConfiguration"
                ));
            }
        }
    }
    if s.as_number.is_some_and(|a| a.is_zero()) {
        errs.push("spec.asNumber 0 is not an AS number".into());
    }
    if let Some(level) = &s.log_severity_screen
        && !valid_log_level(level)
    {
        errs.push(format!(
            "spec.logSeverityScreen {level:?} must be Trace, Debug, Info, Warning, Error, Fatal or None"
        ));
    }
    if s.listen_port == Some(0) {
        errs.push("spec.listenPort must be 1..65535".into());
    }
    if let Some(mode) = &s.bind_mode
        && !["None", "NodeIP"].contains(&mode.as_str())
    {
        errs.push(format!("spec.bindMode {mode:?} must be None or NodeIP"));
    }
    for (i, iface) in s.ignored_interfaces.iter().enumerate() {
        if !valid_interface_glob(iface) || iface == "*" {
            errs.push(format!(
                "spec.ignoredInterfaces[{i}] {iface:?} must be 1-15 of [a-zA-Z0-9_.*-] and not \"*\""
            ));
        }
    }
    for (field, list) in [
        ("serviceLoadBalancerIPs", &s.service_load_balancer_ips),
        ("serviceExternalIPs", &s.service_external_ips),
        ("serviceClusterIPs", &s.service_cluster_ips),
    ] {
        for (i, c) in list.iter().enumerate() {
            if !c.cidr.is_empty()
                && parse_cidr(&c.cidr).is_none()
                && c.cidr.parse::<IpAddr>().is_err()
            {
                errs.push(format!("spec.{field}[{i}].cidr {:?} is not a CIDR", c.cidr));
            }
        }
    }
    let mut names = BTreeSet::new();
    for (i, c) in s.communities.iter().enumerate() {
        if c.name.is_empty() {
            errs.push(format!("spec.communities[{i}].name is required"));
        }
        // Calico accepts a name defined twice; the first definition is used.
        names.insert(c.name.as_str());
        if parse_community(&c.value).is_none() {
            errs.push(format!(
                "spec.communities[{i}].value {:?} must be aa:nn (16-bit parts) or aa:nn:mm (32-bit parts)",
                c.value
            ));
        }
    }
    // Calico refuses communities only when no prefixAdvertisement exists at all; a defined
    // community that no prefixAdvertisement uses is fine.
    if s.prefix_advertisements.is_empty() && !s.communities.is_empty() {
        errs.push(
            "spec.communities are defined but there are no spec.prefixAdvertisements to use them"
                .into(),
        );
    }
    for (i, pa) in s.prefix_advertisements.iter().enumerate() {
        if parse_cidr_or_ip(&pa.cidr).is_none() {
            errs.push(format!(
                "spec.prefixAdvertisements[{i}].cidr {:?} is not a CIDR",
                pa.cidr
            ));
        }
        for c in &pa.communities {
            if !names.contains(c.as_str()) && parse_community(c).is_none() {
                errs.push(format!(
                    "spec.prefixAdvertisements[{i}]: community {c:?} is neither a defined community name nor a community value"
                ));
            }
        }
    }
    if s.node_to_node_mesh_enabled == Some(false) {
        if s.node_mesh_password.is_some() {
            errs.push(
                "spec.nodeMeshPassword is not allowed when nodeToNodeMeshEnabled is false".into(),
            );
        }
        if s.node_mesh_max_restart_time.is_some() {
            errs.push(
                "spec.nodeMeshMaxRestartTime is not allowed when nodeToNodeMeshEnabled is false"
                    .into(),
            );
        }
    }
    if let Some(p) = &s.node_mesh_password {
        password(p, "spec.nodeMeshPassword", errs);
    }
    if let Some(d) = &s.node_mesh_max_restart_time
        && d.seconds() < 0.0
    {
        errs.push("spec.nodeMeshMaxRestartTime must not be negative".into());
    }
}

/// `logSeverityScreen` values: Calico's (Trace, Debug, Info, Warning, Error, Fatal), plus
/// None, in any case.
pub(crate) fn valid_log_level(level: &str) -> bool {
    [
        "trace", "debug", "info", "warning", "error", "fatal", "none",
    ]
    .contains(&level.to_ascii_lowercase().as_str())
}

fn password(p: &PasswordSource, field: &str, errs: &mut Vec<String>) {
    match &p.secret_key_ref {
        Some(r) if !r.name.is_empty() && !r.key.is_empty() => {
            if r.name.contains(['/', '\0'])
                || r.key.contains(['/', '\0'])
                || r.name == ".."
                || r.key == ".."
            {
                errs.push(format!(
                    "{field}.secretKeyRef: name and key must not contain '/'"
                ));
            }
        }
        _ => errs.push(format!("{field}.secretKeyRef needs a name and a key")),
    }
}

fn selector(text: &Option<String>, field: &str, errs: &mut Vec<String>) {
    if let Some(t) = text
        && let Err(e) = Selector::parse(t)
    {
        errs.push(format!("{field}: {e}"));
    }
}

fn bgp_peer(p: &BgpPeer, errs: &mut Vec<String>) {
    let s = &p.spec;
    let set = |o: &Option<String>| o.as_deref().is_some_and(|v| !v.is_empty());
    if set(&s.node) && set(&s.node_selector) {
        errs.push("spec.node and spec.nodeSelector cannot both be set".into());
    }
    if set(&s.peer_ip) && set(&s.peer_selector) {
        errs.push("spec.peerIP and spec.peerSelector cannot both be set".into());
    }
    // asNumber 0 is "not set", as in Calico; written next to a peerIP it is a mistake
    // (Calico would render `as 0`, which BIRD refuses), so an edit is refused.
    if set(&s.peer_ip) && s.as_number.is_some_and(|a| a.is_zero()) {
        errs.push("spec.asNumber 0 is not an AS number".into());
    }
    let as_number = s.as_number.filter(|a| !a.is_zero());
    if set(&s.peer_selector) && as_number.is_some() {
        errs.push("spec.asNumber must not be set with spec.peerSelector (the peers' own AS numbers are used)".into());
    }
    if s.local_as_number.is_some_and(|a| a.is_zero()) {
        errs.push("spec.localASNumber 0 is not an AS number".into());
    }
    if set(&s.local_workload_selector) {
        if as_number.is_none() {
            errs.push("spec.asNumber is required with spec.localWorkloadSelector".into());
        }
        if set(&s.peer_ip) || set(&s.peer_selector) {
            errs.push(
                "spec.peerIP and spec.peerSelector must be empty with spec.localWorkloadSelector"
                    .into(),
            );
        }
    }
    // A BGPPeer naming no peer at all is valid in Calico (it adds no session; the planner
    // says so).
    let peer = s
        .peer_ip
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(parse_peer_ip);
    if let Some(Err(e)) = &peer {
        errs.push(format!("spec.peerIP: {e}"));
    }
    if let Some(gw) = s.reachable_by.as_deref().filter(|v| !v.is_empty()) {
        match (gw.parse::<IpAddr>(), &peer) {
            (Err(_), _) => errs.push(format!("spec.reachableBy {gw:?} is not an IP address")),
            (Ok(_), None) => errs.push("spec.reachableBy requires spec.peerIP".into()),
            (Ok(g), Some(Ok(pa))) if g.is_ipv4() != pa.ip.is_ipv4() => {
                errs.push("spec.reachableBy must be of the same IP family as spec.peerIP".into())
            }
            _ => {}
        }
    }
    if s.keep_original_next_hop == Some(true) && s.next_hop_mode.is_some() {
        errs.push("spec.keepOriginalNextHop cannot be set together with spec.nextHopMode".into());
    }
    if let Some(m) = &s.next_hop_mode
        && !["Auto", "Self", "Keep"].contains(&m.as_str())
    {
        errs.push(format!("spec.nextHopMode {m:?} must be Auto, Self or Keep"));
    }
    if let Some(a) = &s.source_address
        && !["UseNodeIP", "None"].contains(&a.as_str())
    {
        errs.push(format!(
            "spec.sourceAddress {a:?} must be UseNodeIP or None"
        ));
    }
    if let Some(r) = &s.reverse_peering
        && !["Auto", "Manual"].contains(&r.as_str())
    {
        errs.push(format!("spec.reversePeering {r:?} must be Auto or Manual"));
    }
    if let Some(t) = s.ttl_security
        && !(0..=255).contains(&t)
    {
        errs.push(format!("spec.ttlSecurity {t} must be 0..255"));
    }
    if let Some(n) = s.num_allowed_local_as_numbers
        && !(0..=i64::from(i32::MAX)).contains(&n)
    {
        errs.push(format!(
            "spec.numAllowedLocalASNumbers {n} must not be negative"
        ));
    }
    for (field, d) in [
        ("maxRestartTime", &s.max_restart_time),
        ("keepaliveTime", &s.keepalive_time),
    ] {
        if let Some(d) = d
            && d.seconds() < 0.0
        {
            errs.push(format!("spec.{field} must not be negative"));
        }
    }
    if let Some(pw) = &s.password {
        password(pw, "spec.password", errs);
    }
    for (i, f) in s.filters.iter().enumerate() {
        let mut sub = Vec::new();
        check_name(f, &mut sub);
        if !sub.is_empty() {
            errs.push(format!(
                "spec.filters[{i}] {f:?} is not a valid BGPFilter name"
            ));
        }
    }
    selector(&s.node_selector, "spec.nodeSelector", errs);
    selector(&s.peer_selector, "spec.peerSelector", errs);
    selector(
        &s.local_workload_selector,
        "spec.localWorkloadSelector",
        errs,
    );
}

fn ip_pool(p: &IpPool, errs: &mut Vec<String>) {
    let s = &p.spec;
    let Some(cidr) = parse_cidr(&s.cidr) else {
        errs.push(format!("spec.cidr {:?} is not a CIDR", s.cidr));
        return;
    };
    let mode_ok = |m: &Option<String>| {
        m.as_deref()
            .is_none_or(|m| ["", "Never", "Always", "CrossSubnet"].contains(&m))
    };
    if !mode_ok(&s.ipip_mode) {
        errs.push(format!(
            "spec.ipipMode {:?} must be Never, Always or CrossSubnet",
            s.ipip_mode.as_deref().unwrap_or("")
        ));
    }
    if !mode_ok(&s.vxlan_mode) {
        errs.push(format!(
            "spec.vxlanMode {:?} must be Never, Always or CrossSubnet",
            s.vxlan_mode.as_deref().unwrap_or("")
        ));
    }
    let on = |m: &Option<String>| matches!(m.as_deref(), Some("Always" | "CrossSubnet"));
    if on(&s.ipip_mode) && on(&s.vxlan_mode) {
        errs.push("spec.ipipMode and spec.vxlanMode cannot both be enabled".into());
    }
    if cidr.addr().is_ipv6() && on(&s.ipip_mode) {
        errs.push("spec.ipipMode must be Never for an IPv6 pool".into());
    }
    if let Some(b) = s.block_size {
        let ok = if cidr.addr().is_ipv4() {
            (20..=32).contains(&b)
        } else {
            (116..=128).contains(&b)
        };
        if !ok {
            errs.push(format!(
                "spec.blockSize {b} is out of range (IPv4 20-32, IPv6 116-128)"
            ));
        }
    }
    selector(&s.node_selector, "spec.nodeSelector", errs);
}

fn node_status(s: &CalicoNodeStatus, errs: &mut Vec<String>) {
    if s.spec.node.is_empty() {
        errs.push("spec.node is required".into());
    }
    if s.spec.classes.is_empty() {
        errs.push("spec.classes is required (Agent, BGP, Routes)".into());
    }
    let mut seen = BTreeSet::new();
    for c in &s.spec.classes {
        if !["Agent", "BGP", "Routes"].contains(&c.as_str()) {
            errs.push(format!("spec.classes: {c:?} must be Agent, BGP or Routes"));
        }
        if !seen.insert(c) {
            errs.push(format!("spec.classes: {c:?} is listed twice"));
        }
    }
    match s.spec.update_period_seconds {
        None => errs.push("spec.updatePeriodSeconds is required".into()),
        Some(p) if !(0..=86400).contains(&p) => {
            errs.push(format!("spec.updatePeriodSeconds {p} must be 0..86400"))
        }
        _ => {}
    }
}

fn block_affinity(a: &BlockAffinity, errs: &mut Vec<String>) {
    if a.spec.node.is_empty() {
        errs.push("spec.node is required".into());
    }
    if parse_cidr(&a.spec.cidr).is_none() {
        errs.push(format!("spec.cidr {:?} is not a CIDR", a.spec.cidr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::decode::{Decoded, decode_documents};

    fn one(yaml: &str) -> Resource {
        match decode_documents(yaml, "t").unwrap().remove(0) {
            Decoded::Resource(r) => r,
            Decoded::Skipped(w) => panic!("{w}"),
        }
    }

    #[test]
    fn as_number_zero_decodes_and_costs_only_its_field() {
        let config = "kind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 0, listenPort: 1790}\n";
        let node = "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24, asNumber: '0.0'}}\n";
        let local = "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.9, asNumber: 65001, localASNumber: 0}\n";
        let peer_ip = "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.9, asNumber: 0}\n";
        // An edit (`perch apply`) is refused, naming the field…
        for yaml in [config, node, local, peer_ip] {
            let errs = validate(&one(yaml));
            assert!(
                errs.iter().any(|e| e.contains("0 is not an AS number")),
                "{yaml}: {errs:?}"
            );
        }
        // …but a peerSelector BGPPeer's 0 is "not set", as in Calico.
        let selector =
            one("kind: BGPPeer\nmetadata: {name: p}\nspec: {peerSelector: all(), asNumber: 0}\n");
        assert_eq!(validate(&selector), Vec::<String>::new());
        // What is read from the datastore drops only the field.
        for (yaml, note) in [
            (config, Some("the default AS 64512 is used")),
            (node, Some("the global AS is used")),
            (local, Some("the node's AS is used")),
            (peer_ip, None),
        ] {
            let mut r = one(yaml);
            let notes = salvage(&mut r);
            match note {
                Some(n) => assert!(notes.len() == 1 && notes[0].contains(n), "{notes:?}"),
                None => assert!(notes.is_empty(), "{notes:?}"),
            }
            assert_eq!(validate(&r), Vec::<String>::new(), "{yaml}");
        }
    }

    #[test]
    fn an_unknown_log_level_logs_nothing_as_confd_reads_it() {
        // confd turns every level but Debug and Info into none; so does salvage, on a node's
        // BGPConfiguration too (not the global level, not Info).
        let mut r = one(
            "kind: BGPConfiguration\nmetadata: {name: node.a}\nspec: {logSeverityScreen: verbose}\n",
        );
        let notes = salvage(&mut r);
        assert_eq!(
            notes,
            [
                "spec.logSeverityScreen \"verbose\" is not a log level; BIRD logs nothing for it, as confd turns it into none"
            ]
        );
        let Resource::BgpConfiguration(c) = r else {
            panic!()
        };
        assert_eq!(c.spec.log_severity_screen.as_deref(), Some("None"));
    }
}

#[cfg(test)]
mod peer_mode_tests {
    use super::*;
    use crate::resources::decode::{Decoded, decode_documents};

    #[test]
    fn an_unknown_next_hop_mode_or_reverse_peering_is_auto_as_in_calico() {
        // Calico's validator does not check them and confd treats any other value as Auto.
        let yaml = "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.9, asNumber: 65001, nextHopMode: keep, reversePeering: manual}\n";
        let Decoded::Resource(mut r) = decode_documents(yaml, "t").unwrap().remove(0) else {
            panic!()
        };
        // `perch apply` refuses them (a typo, most likely)…
        assert_eq!(validate(&r).len(), 2, "{:?}", validate(&r));
        // …but what is read from the datastore keeps the BGPPeer, as Auto, with a warning.
        let notes = salvage(&mut r);
        assert_eq!(
            notes,
            [
                "spec.nextHopMode \"keep\" is not Auto, Self or Keep; Auto is used, as Calico does",
                "spec.reversePeering \"manual\" is not Auto or Manual; Auto is used, as Calico does",
            ]
        );
        assert_eq!(validate(&r), Vec::<String>::new());
        let Resource::BgpPeer(p) = r else { panic!() };
        assert_eq!((p.spec.next_hop_mode, p.spec.reverse_peering), (None, None));
    }
}
