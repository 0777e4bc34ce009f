//! The render view: everything a BIRD template prints, decided, sorted and formatted here so
//! templates stay loops and ifs. Every string in the view is safe to place in BIRD config:
//! addresses and numbers are printed from parsed values, names are validated resource names,
//! interface globs and passwords are checked against BIRD's lexer before they get here.
//! BGPFilter functions, each session's filter calls and the route-priority numbers come
//! decided from the plan ([`crate::plan::filters`]), and so does the route policy (blocks,
//! service ranges, pools, kernel programming: [`crate::plan::routes`]); the view only writes
//! them as BIRD text.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::plan::filters::{
    FilterCall, FilterRule, PeerKind, PrefixOperator, RuleAction, RuleMatch, RuleOperation,
};
use crate::plan::routes::KernelProgramming;
use crate::plan::{Family, NextHop, Peer, PeerType, Plan};
use crate::resources::Warning;
use crate::resources::validate::valid_interface_glob;
use crate::snapshot::Snapshot;

/// The whole config of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// The node the config is for.
    pub node: String,
    /// BIRD's router ID; `None` leaves the `router id` line out.
    pub router_id: Option<String>,
    /// This node's AS number.
    pub as_number: u32,
    /// The port BIRD listens on; `None` means 179.
    pub listen_port: Option<u16>,
    /// `debug all;` / `debug { states };` or None.
    pub debug: Option<String>,
    /// `-"eth9", ` terms added before Calico's own exclusions in `protocol direct`.
    pub ignored_interfaces: Vec<String>,
    /// `strict bind` on every session (`bindMode: NodeIP`).
    pub strict_bind: bool,
    /// IPv4 routes and settings.
    pub v4: FamilyView,
    /// IPv6 routes and settings.
    pub v6: FamilyView,
    /// The BGPFilter functions the sessions call.
    pub filter_functions: Vec<FilterFunction>,
    /// One entry per session.
    pub peers: Vec<PeerView>,
    /// Problems found while building the view (e.g. a community that cannot be printed).
    #[serde(skip)]
    pub warnings: Vec<Warning>,
}

/// Per-family routes and export policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FamilyView {
    /// `ipv4` / `ipv6` (channel and table suffix names).
    pub channel: &'static str,
    /// `4` / `6` (suffix of per-family symbols).
    pub suffix: &'static str,
    /// This node's address in this family; None = the family is disabled on this node.
    pub address: Option<String>,
    /// Static routes: `route … blackhole;` bodies and `route … via …;` bodies.
    pub static_routes: Vec<String>,
    /// Blocks affine to this node, for the aggregation function.
    pub blocks: Vec<BlockView>,
    /// Service ranges advertised from this node (blackholed and exported).
    pub service_routes: Vec<String>,
    /// Service ranges never programmed into the kernel.
    pub kernel_rejects: Vec<String>,
    /// On a route reflector: LoadBalancer ranges accepted and re-exported.
    pub reflected_load_balancer_ranges: Vec<String>,
    /// Pools whose routes are exported.
    pub export_pools: Vec<String>,
    /// Pools with `disableBGPExport`.
    pub disabled_pools: Vec<String>,
    /// How each pool's routes are programmed into the kernel.
    pub kernel_rules: Vec<KernelRule>,
    /// Communities to attach, per CIDR.
    pub communities: Vec<CommunityRule>,
    /// The normal route priority (kernel metric): routes inside a block with a lower metric
    /// escape aggregation; BGP routes get this metric in the kernel unless LOCAL_PREF says
    /// otherwise.
    pub normal_priority: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockView {
    pub cidr: String,
    /// Confirmed (or legacy empty state): exported as one aggregate.
    pub confirmed: bool,
}

/// `action`: `reject` (Felix programs it), `accept` (direct), `tunnel` (through tunl0 with
/// `onlink`) or `cross_subnet` (direct when the BGP next hop is in `network`, else tunnel).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelRule {
    pub cidr: String,
    pub action: &'static str,
    pub network: Option<String>,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityRule {
    pub cidr: String,
    /// `(a, b)` pairs, printed as `bgp_community.add((a, b));`.
    pub standard: Vec<String>,
    /// `(a, b, c)` triples, printed as `bgp_large_community.add((a, b, c));`.
    pub large: Vec<String>,
}

/// One BGPFilter function for one direction and family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterFunction {
    pub filter: String,
    /// The quoted BIRD symbol, e.g. `'bgp_my-filter_importFilterV4'`.
    pub symbol: String,
    /// `bool is_same_as` when some rule has a `peerType`, else empty.
    pub parameters: &'static str,
    /// Statement lines, e.g. `if ((net ~ 44.0.0.0/16)) then { accept; }`.
    pub rules: Vec<String>,
}

/// One `protocol bgp`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerView {
    pub name: String,
    pub peer_type: &'static str,
    pub origin: String,
    pub channel: &'static str,
    pub mesh: bool,
    pub neighbor: String,
    pub port: Option<u16>,
    pub as_number: u32,
    /// Set only when this session overrides the template's local AS.
    pub local_as: Option<u32>,
    pub source_address: Option<String>,
    pub passive: bool,
    pub ttl_security: Option<u8>,
    pub graceful_restart_time: Option<i64>,
    pub keepalive_time: Option<i64>,
    pub rr_client: bool,
    pub rr_cluster_id: Option<String>,
    /// Checked at planning: UTF-8 without `"`, `\` or control characters.
    pub password: Option<String>,
    pub next_hop: Option<&'static str>,
    pub allow_local_as: Option<i64>,
    pub internal: bool,
    /// Statements calling the BGPFilter functions (`'bgp_f_importFilterV4'();`), or a
    /// `reject;` for a filter that is missing or invalid.
    pub import_calls: Vec<String>,
    pub export_calls: Vec<String>,
    /// Import: a route with LOCAL_PREF above this gets `preference` `override_preference`.
    pub import_preference_above: u32,
    pub override_preference: u32,
    /// Export: the kernel metric of a local route that has none.
    pub default_metric: u32,
    /// `2147483647`: LOCAL_PREF = this − kernel metric.
    pub local_pref_base: u32,
}

/// Builds the view of `plan` against the snapshot it was planned from.
pub fn build(plan: &Plan, snapshot: &Snapshot) -> View {
    let warnings = Vec::new();
    let global = snapshot.bgp_configurations.get("default").map(|c| &c.spec);
    let node_cfg = snapshot
        .bgp_configurations
        .get(&format!("node.{}", plan.node))
        .map(|c| &c.spec);
    let log_level = node_cfg
        .and_then(|c| c.log_severity_screen.as_deref())
        .or_else(|| global.and_then(|c| c.log_severity_screen.as_deref()))
        .unwrap_or("Info")
        .to_ascii_lowercase();
    // As confd (`getLogSeverityKVPair`, then the template): `debug` logs everything, `info`
    // (and an unset level) state changes, and every other level (Trace, Warning, Error,
    // Fatal, None) becomes `none`, which logs nothing.
    let debug = match log_level.as_str() {
        "debug" => Some("debug all;".to_owned()),
        "info" => Some("debug { states };".to_owned()),
        _ => None,
    };
    let ignored_interfaces = global
        .map(|g| {
            g.ignored_interfaces
                .iter()
                .filter(|i| valid_interface_glob(i) && *i != "*")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let strict_bind = plan.strict_bind;

    let filter_functions = filter_functions(plan);
    let mut peers: Vec<PeerView> = plan.peers.iter().map(|p| peer_view(p, plan)).collect();
    peers.sort_by(|a, b| a.name.cmp(&b.name));

    let v4 = family_view(Family::IPv4, plan);
    let v6 = family_view(Family::IPv6, plan);
    View {
        // Printed in a comment: keep only characters that cannot end it.
        node: plan
            .node
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '?'
                }
            })
            .collect(),
        router_id: plan.router_id.clone(),
        as_number: plan.as_number.get(),
        listen_port: plan.listen_port,
        debug,
        ignored_interfaces,
        strict_bind,
        v4,
        v6,
        filter_functions,
        peers,
        warnings,
    }
}

fn peer_view(p: &Peer, plan: &Plan) -> PeerView {
    let calls = |calls: &[FilterCall]| -> Vec<String> {
        calls
            .iter()
            .map(|c| match c {
                FilterCall::Function {
                    symbol,
                    same_as: None,
                    ..
                } => format!("'{symbol}'();"),
                FilterCall::Function {
                    symbol,
                    same_as: Some(b),
                    ..
                } => format!("'{symbol}'({b});"),
                FilterCall::RejectAll { filter, .. } => {
                    format!("reject; # BGPFilter {filter} is missing or invalid: fail closed")
                }
            })
            .collect()
    };
    let priority = plan.policy.route_priority.of(p.family);
    // The plan's source address, also under bindMode NodeIP: a session with sourceAddress
    // None has none (the plan then turns strict bind off, see `Plan::strict_bind`).
    let source_address = p.source_address;
    PeerView {
        name: p.name.clone(),
        peer_type: p.peer_type.describe(),
        origin: p.origin.join(", "),
        channel: if p.family == Family::IPv4 {
            "ipv4"
        } else {
            "ipv6"
        },
        mesh: p.peer_type == PeerType::NodeMesh,
        neighbor: p.peer_ip.to_string(),
        port: p.port,
        as_number: p.as_number.get(),
        local_as: p.local_as_override.then_some(p.local_as_number.get()),
        source_address: source_address.map(|a| a.to_string()),
        passive: p.passive,
        ttl_security: p.ttl_security,
        graceful_restart_time: p.graceful_restart_time,
        keepalive_time: p.keepalive_time,
        rr_client: p.route_reflector_client,
        rr_cluster_id: p.route_reflector_cluster_id.clone(),
        password: p.password.as_ref().map(|s| s.expose().to_owned()),
        next_hop: p.next_hop.map(|n| match n {
            NextHop::SelfAddress => "self",
            NextHop::Keep => "keep",
        }),
        allow_local_as: p.allow_local_as,
        internal: p.internal,
        import_calls: calls(&p.import_filters),
        export_calls: calls(&p.export_filters),
        import_preference_above: priority.import_preference_above_local_pref,
        override_preference: crate::plan::filters::OVERRIDE_PREFERENCE,
        default_metric: priority.export_default_metric,
        local_pref_base: crate::plan::filters::LOCAL_PREF_BASE,
    }
}

fn filter_functions(plan: &Plan) -> Vec<FilterFunction> {
    // IPv4 functions first, then IPv6; by filter name, import before export.
    let mut fns: Vec<&crate::plan::filters::FilterFunction> =
        plan.policy.filter_functions.iter().collect();
    fns.sort_by(|a, b| (a.family, &a.filter, a.direction).cmp(&(b.family, &b.filter, b.direction)));
    fns.into_iter()
        .map(|f| FilterFunction {
            filter: f.filter.clone(),
            symbol: format!("'{}'", f.symbol),
            parameters: if f.peer_type_parameter {
                "bool is_same_as"
            } else {
                ""
            },
            rules: f.rules.iter().map(filter_statement).collect(),
        })
        .collect()
}

/// One BGPFilter rule as a BIRD statement, as Calico writes it.
fn filter_statement(r: &FilterRule) -> String {
    let conditions: Vec<String> = r
        .matches
        .iter()
        .map(|m| match m {
            RuleMatch::Prefix {
                operator,
                cidr,
                lengths,
            } => {
                let op = match operator {
                    PrefixOperator::Equal => "=",
                    PrefixOperator::NotEqual => "!=",
                    PrefixOperator::In => "~",
                    PrefixOperator::NotIn => "!~",
                };
                match lengths {
                    Some((lo, hi)) => format!("(net {op} [ {cidr}{{{lo},{hi}}} ])"),
                    None => format!("(net {op} {cidr})"),
                }
            }
            RuleMatch::RemotePeers => "((defined(source))&&(source ~ [ RTS_BGP ]))".into(),
            // Validated interface globs: 1-15 of [a-zA-Z0-9_.*-].
            RuleMatch::Interface(i) => format!("((defined(ifname))&&(ifname ~ \"{i}\"))"),
            RuleMatch::Community(c) if c.is_large() => {
                format!(
                    "(({}) ~ bgp_large_community)",
                    c.0.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            RuleMatch::Community(c) => {
                format!(
                    "(({}) ~ bgp_community)",
                    c.0.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            RuleMatch::AsPathPrefix(asns) => format!(
                "(bgp_path ~ [= {} * =])",
                asns.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            RuleMatch::LocalPref(v) => {
                format!("(defined(bgp_local_pref)&&(bgp_local_pref = {v}))")
            }
        })
        .collect();
    let mut body: Vec<String> = Vec::new();
    for op in &r.operations {
        match op {
            RuleOperation::AddCommunity(c) => {
                let parts =
                    c.0.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                if c.is_large() {
                    body.push(format!("bgp_large_community.add(({parts}));"));
                } else {
                    body.push(format!("bgp_community.add(({parts}));"));
                }
            }
            // BIRD prepends one AS at a time: the last one prepended ends up first.
            RuleOperation::PrependAsPath(asns) => {
                body.extend(asns.iter().rev().map(|a| format!("bgp_path.prepend({a});")));
            }
            RuleOperation::SetLocalPref(v) => body.push(format!("bgp_local_pref = {v};")),
        }
    }
    body.push(
        match r.action {
            RuleAction::Accept => "accept;",
            RuleAction::Reject => "reject;",
        }
        .to_owned(),
    );
    let body = body.join(" ");
    let statement = if conditions.is_empty() {
        body
    } else {
        format!("if ({}) then {{ {body} }}", conditions.join("&&"))
    };
    match r.peer_type {
        Some(PeerKind::Ibgp) => format!("if (is_same_as) then {{ {statement} }}"),
        Some(PeerKind::Ebgp) => format!("if (!is_same_as) then {{ {statement} }}"),
        None => statement,
    }
}

/// Formats one family of the plan's route policy.
fn family_view(family: Family, plan: &Plan) -> FamilyView {
    let v4 = family == Family::IPv4;
    let r = plan.route_policy.family(family);
    let address = if v4 {
        plan.ipv4_address
    } else {
        plan.ipv6_address
    };
    let text = |list: &[IpNet]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut static_routes: Vec<String> = r
        .blocks
        .iter()
        .filter(|b| b.blackhole)
        .map(|b| format!("{} blackhole", b.cidr))
        .collect();
    static_routes.extend(r.service_routes.iter().map(|n| format!("{n} blackhole")));
    static_routes.extend(
        r.reachable_by
            .iter()
            .map(|rb| format!("{} via {}", rb.peer, rb.gateway)),
    );
    static_routes.dedup();
    let kernel_rules = r
        .pools
        .iter()
        .filter_map(|p| {
            let action = match p.kernel {
                KernelProgramming::Direct => "accept",
                KernelProgramming::Felix => "reject",
                KernelProgramming::Tunnel => "tunnel",
                KernelProgramming::CrossSubnet => "cross_subnet",
                KernelProgramming::Unfiltered => return None,
            };
            Some(KernelRule {
                cidr: p.cidr.to_string(),
                action,
                network: p.subnet.map(|n| n.to_string()),
                reason: p.reason,
            })
        })
        .collect();
    FamilyView {
        channel: if v4 { "ipv4" } else { "ipv6" },
        suffix: if v4 { "4" } else { "6" },
        address: address.map(|a: IpAddr| a.to_string()),
        static_routes,
        blocks: r
            .blocks
            .iter()
            .map(|b| BlockView {
                cidr: b.cidr.to_string(),
                confirmed: b.confirmed,
            })
            .collect(),
        service_routes: text(&r.service_routes),
        kernel_rejects: text(&r.kernel_rejects),
        reflected_load_balancer_ranges: text(&r.reflected_load_balancer_ranges),
        export_pools: r
            .pools
            .iter()
            .filter(|p| p.export)
            .map(|p| p.cidr.to_string())
            .collect(),
        disabled_pools: r
            .pools
            .iter()
            .filter(|p| !p.export)
            .map(|p| p.cidr.to_string())
            .collect(),
        kernel_rules,
        communities: r
            .communities
            .iter()
            .map(|c| CommunityRule {
                cidr: c.cidr.to_string(),
                standard: c
                    .standard
                    .iter()
                    .map(|(a, b)| format!("({a}, {b})"))
                    .collect(),
                large: c
                    .large
                    .iter()
                    .map(|(a, b, c)| format!("({a}, {b}, {c})"))
                    .collect(),
            })
            .collect(),
        normal_priority: plan.policy.route_priority.of(family).normal,
    }
}
