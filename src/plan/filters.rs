//! Route policy of the BGP sessions: BGPFilter rules → filter functions, each session's calls
//! to them, and the route-priority ↔ LOCAL_PREF policy of Calico v3.32.
//!
//! Owns: turning every BGPFilter a session uses into typed rules (matches, peer type, action,
//! operations) per family and direction; the calls each session makes (with Calico's
//! `is_same_as` argument when a function has `peerType` rules); failing closed when a filter is
//! missing, invalid, or has a rule perch cannot express; the normal route priority per family.
//! Must not: format BIRD text (the render view prints these values), do I/O.
//!
//! Failing closed, costing the smallest unit: a session whose BGPFilter is missing, or
//! invalid as a whole (undecodable, a bad name), rejects every route in both directions of
//! that family (the call becomes `RejectAll`), with a warning naming the filter and why. A
//! rule Calico's validator refuses arrives here already rewritten by the snapshot
//! (`resources::filter_rules`) as a `Reject` of what its valid matches select, in its place,
//! with a warning on `BGPFilter/<name>` naming the field; so does a rule with a field perch
//! does not know (a newer Calico's), as a `Reject` of what its known matches select. Either
//! way the rule can only reject more; the filter's other rules stay.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use super::family::Family;
pub(crate) use super::filter_call::FilterCall;
use super::peer::Peer;
use crate::resources::addr::parse_cidr_or_ip;
use crate::resources::validate::{PRIORITY_MAX, PRIORITY_MIN, parse_community};
use crate::resources::{BgpConfigurationSpec, BgpFilterRule, BgpFilterSpec, Warning};
use crate::snapshot::Snapshot;

/// `2^31 - 1`: Calico converts a route priority `p` to LOCAL_PREF `2147483647 - p`.
pub(crate) const LOCAL_PREF_BASE: u32 = 2_147_483_647;
/// The normal route priority (kernel metric) when BGPConfiguration sets none.
pub(crate) const DEFAULT_NORMAL_PRIORITY: u32 = 1024;
/// BIRD `preference` given to an imported route above normal priority, so that it overrides
/// a local workload route (KubeVirt live migration).
pub(crate) const OVERRIDE_PREFERENCE: u32 = 200;

/// The route-priority policy of one family, applied on every session (Calico v3.32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePriority {
    /// `ipv4NormalRoutePriority` / `ipv6NormalRoutePriority` (default 1024).
    pub normal: u32,
    /// Import: a route whose LOCAL_PREF is above this gets `preference` [`OVERRIDE_PREFERENCE`].
    pub import_preference_above_local_pref: u32,
    /// Export: a locally originated route without a kernel metric gets this one, and
    /// LOCAL_PREF = `2147483647 - metric`; a BGP-learned route keeps its LOCAL_PREF.
    pub export_default_metric: u32,
}

impl RoutePriority {
    fn new(normal: u32) -> RoutePriority {
        RoutePriority {
            normal,
            import_preference_above_local_pref: LOCAL_PREF_BASE - normal,
            export_default_metric: normal,
        }
    }
}

/// Both families' priority policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoutePriorities {
    pub ipv4: RoutePriority,
    pub ipv6: RoutePriority,
}

impl RoutePriorities {
    pub fn of(&self, family: Family) -> RoutePriority {
        match family {
            Family::IPv4 => self.ipv4,
            Family::IPv6 => self.ipv6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterDirection {
    Import,
    Export,
}

impl FilterDirection {
    pub fn word(self) -> &'static str {
        match self {
            FilterDirection::Import => "import",
            FilterDirection::Export => "export",
        }
    }
}

/// One BIRD function: a BGPFilter's rules for one family and direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterFunction {
    pub filter: String,
    pub family: Family,
    pub direction: FilterDirection,
    /// The BIRD symbol (`bgp_<name>_importFilterV4`, cut and hashed past 64 characters).
    pub symbol: String,
    /// Whether the function takes `bool is_same_as` (some rule has a `peerType`).
    pub peer_type_parameter: bool,
    pub rules: Vec<FilterRule>,
}

/// One rule: when every match holds (and the peer type fits), apply the operations, then
/// the action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterRule {
    pub matches: Vec<RuleMatch>,
    /// `iBGP`: only when the session is iBGP; `eBGP`: only when it is not.
    pub peer_type: Option<PeerKind>,
    pub operations: Vec<RuleOperation>,
    pub action: RuleAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PeerKind {
    #[serde(rename = "iBGP")]
    Ibgp,
    #[serde(rename = "eBGP")]
    Ebgp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Accept,
    Reject,
}

/// `=`, `!=`, `~` (in) or `!~` (not in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrefixOperator {
    Equal,
    NotEqual,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleMatch {
    /// `net <op> cidr`, or `net <op> [ cidr{min,max} ]` when lengths are given.
    Prefix {
        operator: PrefixOperator,
        cidr: IpNet,
        lengths: Option<(u8, u8)>,
    },
    /// The route was learned from a BGP peer.
    RemotePeers,
    /// The route's interface matches this glob.
    Interface(String),
    /// The route carries this community.
    Community(Community),
    /// The AS path begins with these AS numbers.
    AsPathPrefix(Vec<u32>),
    /// The route's LOCAL_PREF equals this (`2147483647 - priority`).
    LocalPref(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleOperation {
    AddCommunity(Community),
    /// AS numbers in the order they end up at the front of the path.
    PrependAsPath(Vec<u32>),
    /// Set LOCAL_PREF (`2147483647 - priority`).
    SetLocalPref(u32),
}

/// A standard (`a:b`) or large (`a:b:c`) community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community(pub Vec<u32>);

impl Community {
    pub fn is_large(&self) -> bool {
        self.0.len() == 3
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(":"))
    }
}

impl Serialize for Community {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The route policy decided for this node's sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPolicy {
    pub route_priority: RoutePriorities,
    pub filter_functions: Vec<FilterFunction>,
}

/// The normal route priority of each family from the default BGPConfiguration.
pub(crate) fn route_priorities(
    global: Option<&BgpConfigurationSpec>,
    warnings: &mut Vec<Warning>,
) -> RoutePriorities {
    let mut pick = |field: &str, v: Option<i64>| match v {
        None => RoutePriority::new(DEFAULT_NORMAL_PRIORITY),
        Some(p) if (PRIORITY_MIN..=PRIORITY_MAX).contains(&p) => RoutePriority::new(p as u32),
        Some(p) => {
            warnings.push(Warning::new(
                "BGPConfiguration/default",
                format!(
                    "spec.{field} {p} must be {PRIORITY_MIN}..{PRIORITY_MAX}; {DEFAULT_NORMAL_PRIORITY} is used"
                ),
            ));
            RoutePriority::new(DEFAULT_NORMAL_PRIORITY)
        }
    };
    RoutePriorities {
        ipv4: pick(
            "ipv4NormalRoutePriority",
            global.and_then(|g| g.ipv4_normal_route_priority),
        ),
        ipv6: pick(
            "ipv6NormalRoutePriority",
            global.and_then(|g| g.ipv6_normal_route_priority),
        ),
    }
}

/// Decides the filter calls of every peer and the functions they call.
pub(crate) fn decide(
    snapshot: &Snapshot,
    peers: &mut [Peer],
    warnings: &mut Vec<Warning>,
) -> Vec<FilterFunction> {
    let mut functions: BTreeMap<(Family, String, FilterDirection), FilterFunction> =
        BTreeMap::new();
    let mut warned: BTreeSet<(String, String)> = BTreeSet::new();
    for peer in peers.iter_mut() {
        let mut import = Vec::new();
        let mut export = Vec::new();
        for name in &peer.filters {
            let Some(filter) = snapshot.bgp_filters.get(name) else {
                let reason = match snapshot.skipped.get(&format!("BGPFilter/{name}")) {
                    Some(w) => format!("is invalid: {}", w.message),
                    None => "does not exist".to_owned(),
                };
                for origin in &peer.origin {
                    if warned.insert((origin.clone(), name.clone())) {
                        warnings.push(Warning::new(
                            origin,
                            format!(
                                "BGPFilter {name:?} {reason}; its sessions reject every route in both directions"
                            ),
                        ));
                    }
                }
                for calls in [&mut import, &mut export] {
                    calls.push(FilterCall::RejectAll {
                        filter: name.clone(),
                        reason: reason.clone(),
                    });
                }
                continue;
            };
            for (direction, calls) in [
                (FilterDirection::Import, &mut import),
                (FilterDirection::Export, &mut export),
            ] {
                let rules = rules_for(&filter.spec, direction, peer.family);
                if rules.is_empty() {
                    continue;
                }
                let f = functions
                    .entry((peer.family, name.clone(), direction))
                    .or_insert_with(|| function(name, peer.family, direction, rules));
                calls.push(FilterCall::Function {
                    filter: name.clone(),
                    symbol: f.symbol.clone(),
                    same_as: f.peer_type_parameter.then_some(peer.internal),
                });
            }
        }
        peer.import_filters = import;
        peer.export_filters = export;
    }
    functions.into_values().collect()
}

fn rules_for(spec: &BgpFilterSpec, direction: FilterDirection, family: Family) -> &[BgpFilterRule] {
    match (direction, family) {
        (FilterDirection::Import, Family::IPv4) => &spec.import_v4,
        (FilterDirection::Export, Family::IPv4) => &spec.export_v4,
        (FilterDirection::Import, Family::IPv6) => &spec.import_v6,
        (FilterDirection::Export, Family::IPv6) => &spec.export_v6,
    }
}

fn function(
    name: &str,
    family: Family,
    direction: FilterDirection,
    rules: &[BgpFilterRule],
) -> FilterFunction {
    let digit = if family == Family::IPv4 { "4" } else { "6" };
    let rules: Vec<FilterRule> = rules.iter().map(|r| rule(r, family)).collect();
    FilterFunction {
        filter: name.to_owned(),
        family,
        direction,
        symbol: function_name(name, direction.word(), digit),
        peer_type_parameter: rules.iter().any(|r| r.peer_type.is_some()),
        rules,
    }
}

/// One validated rule as typed matches and operations (a rule with a field perch does not
/// know arrives as a `Reject` of its known matches).
fn rule(r: &BgpFilterRule, family: Family) -> FilterRule {
    let mut matches = Vec::new();
    if let Some(net) = r
        .cidr
        .as_deref()
        .and_then(parse_cidr_or_ip)
        .map(|n| n.trunc())
    {
        let operator = match r.match_operator.as_deref() {
            Some("Equal") => PrefixOperator::Equal,
            Some("NotEqual") => PrefixOperator::NotEqual,
            Some("NotIn") => PrefixOperator::NotIn,
            _ => PrefixOperator::In,
        };
        let max_len: i64 = if family == Family::IPv4 { 32 } else { 128 };
        let lengths = r.prefix_length.as_ref().map(|pl| {
            let own = i64::from(net.prefix_len());
            let lo = pl.min.map_or(own, |m| m.max(own));
            let hi = pl.max.map_or(max_len, |m| m.min(max_len));
            (lo as u8, hi as u8)
        });
        matches.push(RuleMatch::Prefix {
            operator,
            cidr: net,
            lengths,
        });
    }
    if r.source.as_deref() == Some("RemotePeers") {
        matches.push(RuleMatch::RemotePeers);
    }
    if let Some(i) = r.interface.as_deref().filter(|i| !i.is_empty()) {
        matches.push(RuleMatch::Interface(i.to_owned()));
    }
    if let Some(c) = &r.communities {
        // Calico allows exactly one value and matches the first.
        if let Some(v) = c.values.first().and_then(|v| parse_community(v)) {
            matches.push(RuleMatch::Community(Community(v)));
        }
    }
    if !r.as_path_prefix.is_empty() {
        matches.push(RuleMatch::AsPathPrefix(
            r.as_path_prefix.iter().map(|a| a.get()).collect(),
        ));
    }
    if let Some(p) = r.priority {
        matches.push(RuleMatch::LocalPref(LOCAL_PREF_BASE - p as u32));
    }
    let mut operations = Vec::new();
    for op in &r.operations {
        if let Some(c) = op
            .add_community
            .as_ref()
            .and_then(|c| parse_community(&c.value))
        {
            operations.push(RuleOperation::AddCommunity(Community(c)));
        }
        if let Some(p) = &op.prepend_as_path {
            operations.push(RuleOperation::PrependAsPath(
                p.prefix.iter().map(|a| a.get()).collect(),
            ));
        }
        if let Some(v) = op.set_priority.as_ref().and_then(|p| p.value) {
            operations.push(RuleOperation::SetLocalPref(LOCAL_PREF_BASE - v as u32));
        }
    }
    let peer_type = match r.peer_type.as_deref() {
        Some("iBGP") => Some(PeerKind::Ibgp),
        Some("eBGP") => Some(PeerKind::Ebgp),
        _ => None,
    };
    let action = if r.action == "Accept" {
        RuleAction::Accept
    } else {
        RuleAction::Reject
    };
    FilterRule {
        matches,
        peer_type,
        operations,
        action,
    }
}

/// The unquoted BIRD symbol of a BGPFilter function (`bgp_<name>_importFilterV4`), with
/// Calico's rule for names that would exceed BIRD's 64-character symbols: the name is cut
/// and suffixed with `_` and the first 16 hex digits of its SHA-256.
pub(crate) fn function_name(filter: &str, direction: &str, family: &str) -> String {
    use sha2::{Digest, Sha256};
    let fixed = "bgp_".len() + "_".len() + direction.len() + "FilterV".len() + family.len();
    let max = 64 - fixed;
    let name = if filter.len() <= max {
        filter.to_owned()
    } else {
        let hash: String = Sha256::digest(filter.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02X}"))
            .collect();
        format!("{}_{hash}", &filter[..max - 17])
    };
    format!("bgp_{name}_{direction}FilterV{family}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, plan};
    use crate::resources::decode::{Decoded, decode_documents};
    use crate::resources::{Kind, ResourceId};
    use crate::snapshot::{Event, Snapshot};

    fn snapshot(yaml: &str) -> Snapshot {
        let mut s = Snapshot::new();
        for d in decode_documents(yaml, "test").unwrap() {
            match d {
                Decoded::Resource(r) => s.apply(Event::Upsert(r)),
                // As the datastores report an item that does not decode.
                Decoded::Skipped(w) => s.apply(Event::Undecodable {
                    id: w
                        .resource
                        .split_once('/')
                        .and_then(|(k, n)| Kind::from_kind_field(k).map(|k| ResourceId::new(k, n))),
                    key: w.resource,
                    message: w.message,
                }),
            };
        }
        s
    }

    const NODE: &str =
        "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n";

    #[test]
    fn v3_32_matches_and_operations_are_typed_in_the_plan() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  exportV4:\n  \
             - {{action: Accept, peerType: eBGP, priority: 100, communities: {{values: ['65000:1']}}, asPathPrefix: [65000, 65001],\n     \
             operations: [{{addCommunity: {{value: '1:2:3'}}}}, {{prependASPath: {{prefix: [1, 2]}}}}, {{setPriority: {{value: 256}}}}]}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let f = &p.policy.filter_functions[0];
        assert!(f.peer_type_parameter);
        let r = &f.rules[0];
        assert_eq!(r.peer_type, Some(PeerKind::Ebgp));
        assert_eq!(
            r.matches,
            [
                RuleMatch::Community(Community(vec![65000, 1])),
                RuleMatch::AsPathPrefix(vec![65000, 65001]),
                RuleMatch::LocalPref(2147483547),
            ]
        );
        assert_eq!(
            r.operations,
            [
                RuleOperation::AddCommunity(Community(vec![1, 2, 3])),
                RuleOperation::PrependAsPath(vec![1, 2]),
                RuleOperation::SetLocalPref(2147483391),
            ]
        );
        assert_eq!(
            p.peers[0].export_filters,
            [FilterCall::Function {
                filter: "f".into(),
                symbol: "bgp_f_exportFilterV4".into(),
                same_as: Some(false),
            }]
        );
        assert!(p.peers[0].import_filters.is_empty());
    }

    #[test]
    fn an_undecodable_filter_fails_closed_and_says_why() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  importV4: {{action: Reject}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let peer = &p.peers[0];
        for calls in [&peer.import_filters, &peer.export_filters] {
            assert!(matches!(&calls[..], [FilterCall::RejectAll { filter, .. }] if filter == "f"));
        }
        let w = p
            .warnings
            .iter()
            .find(|w| w.resource == "BGPPeer/tor")
            .unwrap();
        assert!(
            w.message.contains("BGPFilter \"f\" is invalid")
                && w.message.contains("importV4")
                && w.message.contains("reject every route in both directions"),
            "{w:?}"
        );
    }

    #[test]
    fn an_invalid_rule_costs_only_that_rule() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  importV4:\n  \
             - {{action: Accept, matchOperator: Equal, cidr: 192.168.1.0/26}}\n  \
             - {{action: Accept, matchOperator: In, cidr: 10.0.0.0/16, prefixLength: {{max: 8}}, operations: [{{setPriority: {{value: 5}}}}]}}\n  \
             - {{action: Accept, matchOperator: NotIn, cidr: 10.1.0.0/16, prefixLength: {{min: 40}}}}\n  \
             - {{action: Accept}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let peer = &p.peers[0];
        assert_eq!(
            peer.import_filters,
            [FilterCall::Function {
                filter: "f".into(),
                symbol: "bgp_f_importFilterV4".into(),
                same_as: None,
            }]
        );
        let prefix = |operator, cidr: &str| RuleMatch::Prefix {
            operator,
            cidr: cidr.parse().unwrap(),
            lengths: None,
        };
        let f = &p.policy.filter_functions[0];
        let rule = |matches: Vec<RuleMatch>, action| FilterRule {
            matches,
            peer_type: None,
            operations: Vec::new(),
            action,
        };
        assert_eq!(
            f.rules,
            [
                rule(
                    vec![prefix(PrefixOperator::Equal, "192.168.1.0/26")],
                    RuleAction::Accept
                ),
                // The bad length bound dropped: every length inside the cidr is rejected.
                rule(
                    vec![prefix(PrefixOperator::In, "10.0.0.0/16")],
                    RuleAction::Reject
                ),
                // NotIn without its lengths would select less: the prefix match goes.
                rule(Vec::new(), RuleAction::Reject),
                rule(Vec::new(), RuleAction::Accept),
            ]
        );
        let about_f: Vec<&str> = p
            .warnings
            .iter()
            .filter(|w| w.resource == "BGPFilter/f")
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(about_f.len(), 2, "{:?}", p.warnings);
        assert!(
            about_f[0].starts_with("spec.importV4[1].prefixLength.max 8 is shorter than the cidr's prefix length 16")
                && about_f[0].contains("this rule rejects routes in 10.0.0.0/16 (any prefix length) instead of accepting, without its operations"),
            "{about_f:?}"
        );
        assert!(
            about_f[1].starts_with("spec.importV4[2].prefixLength.min 40 must be 0..32")
                && about_f[1].contains("this rule rejects every route"),
            "{about_f:?}"
        );
        assert!(
            !p.warnings.iter().any(|w| w.resource == "BGPPeer/tor"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn a_missing_filter_fails_closed() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [gone]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        assert!(matches!(
            &p.peers[0].import_filters[..],
            [FilterCall::RejectAll { reason, .. }] if reason == "does not exist"
        ));
    }

    #[test]
    fn a_rule_with_an_unknown_field_rejects_what_it_matches() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  importV4:\n  \
             - {{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, futureMatch: 7, operations: [{{setMed: {{value: 1}}}}]}}\n  \
             - {{action: Accept}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let f = &p.policy.filter_functions[0];
        assert_eq!(f.rules[0].action, RuleAction::Reject);
        assert!(f.rules[0].operations.is_empty());
        assert_eq!(f.rules[1].action, RuleAction::Accept);
        assert!(p.warnings.iter().any(|w| w.resource == "BGPFilter/f"
            && w.message.contains("\"futureMatch\"")
            && w.message.contains("\"setMed\"")));
    }

    #[test]
    fn an_unknown_field_inside_a_match_or_an_operation_rejects_what_the_rule_matches() {
        // A newer Calico's field one level down (in prefixLength or in an operation's
        // value) may narrow the match or change the operation: the rule must not accept.
        let s = snapshot(&format!(
            "{NODE}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  importV4:\n  \
             - {{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {{min: 16, exact: 24}}}}\n  \
             - {{action: Accept, operations: [{{addCommunity: {{value: '65000:1', onlyIf: x}}}}]}}\n  \
             - {{action: Accept, operations: [{{prependASPath: {{prefix: [65000], times: 3}}}}]}}\n  \
             - {{action: Accept, operations: [{{setPriority: {{value: 5, relative: true}}}}]}}\n  \
             - {{action: Accept}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        let f = &p.policy.filter_functions[0];
        for (i, rule) in f.rules[..4].iter().enumerate() {
            assert_eq!(rule.action, RuleAction::Reject, "rule {i}: {rule:?}");
            assert!(rule.operations.is_empty(), "rule {i}: {rule:?}");
        }
        // The prefix match stays (with its lengths): the rule rejects only what it selects.
        assert_eq!(
            f.rules[0].matches,
            [RuleMatch::Prefix {
                operator: PrefixOperator::In,
                cidr: "10.0.0.0/8".parse().unwrap(),
                lengths: Some((16, 32)),
            }]
        );
        assert_eq!(f.rules[4].action, RuleAction::Accept);
        let about_f: Vec<&str> = p
            .warnings
            .iter()
            .filter(|w| w.resource == "BGPFilter/f")
            .map(|w| w.message.as_str())
            .collect();
        for field in [
            "prefixLength.\"exact\"",
            "addCommunity.\"onlyIf\"",
            "prependASPath.\"times\"",
            "setPriority.\"relative\"",
        ] {
            assert!(
                about_f.iter().any(|m| m.contains(field)),
                "{field}: {about_f:?}"
            );
        }
    }

    #[test]
    fn a_filter_cidr_without_a_mask_is_one_address_as_in_calicos_validator() {
        // Calico's validator accepts an address as a fully masked network.
        let s = snapshot(&format!(
            "{}kind: BGPFilter\nmetadata: {{name: f}}\nspec:\n  importV4:\n  \
             - {{action: Reject, matchOperator: Equal, cidr: 10.0.0.1}}\n  \
             - {{action: Accept}}\n  importV6:\n  \
             - {{action: Reject, matchOperator: In, cidr: 'fd00::1', prefixLength: {{max: 128}}}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor}}\nspec: {{peerIP: 10.0.0.9, asNumber: 65100, filters: [f]}}\n---\n\
             kind: BGPPeer\nmetadata: {{name: tor6}}\nspec: {{peerIP: 'fd00::9', asNumber: 65100, filters: [f]}}\n",
            NODE.replace("10.0.0.1/24}", "10.0.0.1/24, ipv6Address: 'fd00::1/64'}")
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        assert!(
            !p.warnings
                .iter()
                .any(|w| w.resource.starts_with("BGPFilter")),
            "{:?}",
            p.warnings
        );
        let first = |family: Family| {
            p.policy
                .filter_functions
                .iter()
                .find(|f| f.family == family)
                .map(|f| f.rules[0].clone())
                .unwrap()
        };
        let v4 = first(Family::IPv4);
        assert_eq!(v4.action, RuleAction::Reject);
        assert_eq!(
            v4.matches,
            [RuleMatch::Prefix {
                operator: PrefixOperator::Equal,
                cidr: "10.0.0.1/32".parse().unwrap(),
                lengths: None,
            }]
        );
        assert_eq!(
            first(Family::IPv6).matches,
            [RuleMatch::Prefix {
                operator: PrefixOperator::In,
                cidr: "fd00::1/128".parse().unwrap(),
                lengths: Some((128, 128)),
            }]
        );
    }

    #[test]
    fn normal_route_priority_comes_from_the_default_configuration() {
        let s = snapshot(&format!(
            "{NODE}kind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{ipv4NormalRoutePriority: 512}}\n"
        ));
        let p = plan(&s, "a", &PlanOptions::default());
        assert_eq!(p.policy.route_priority.ipv4.normal, 512);
        assert_eq!(
            p.policy
                .route_priority
                .ipv4
                .import_preference_above_local_pref,
            2147483135
        );
        assert_eq!(p.policy.route_priority.ipv6.normal, 1024);
    }
}
