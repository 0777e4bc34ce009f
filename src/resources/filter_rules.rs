//! BGPFilter rules as Calico's validator judges them, and what perch does with a rule it
//! refuses: the rule alone is replaced by a `Reject` of what its valid matches select.
//!
//! Owns: each rule problem together with the match it makes unusable ([`RuleFault`]); the
//! community, interface-glob and route-priority limits rules share with BGPConfiguration;
//! [`salvage_filter`], which turns every invalid rule into a valid `Reject` in its place.
//! Must not: know about planning or BIRD text; look at the filter's name (`validate` does).
//!
//! Why dropping an invalid match never fails open: a route that the rewritten rule does not
//! select was not selected by the rule as written either (every kept match is one the rule
//! had, and the prefix lengths are only dropped from an `In` match, where that widens it), so
//! it goes on to the later rules exactly as before; a route it selects is rejected. The rule
//! can only reject more than it meant to, never accept or change a route.

use super::addr::parse_cidr_or_ip;
use super::{BgpFilter, BgpFilterRule, BgpFilterSpec};

/// Route priorities (kernel metrics) Calico accepts: 1..2^31-2.
pub(crate) const PRIORITY_MIN: i64 = 1;
pub(crate) const PRIORITY_MAX: i64 = 2_147_483_646;

/// The part of a rule that one problem makes unusable: what salvage drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleFault {
    /// `action`: neither Accept nor Reject (the rule becomes a Reject anyway).
    Action,
    /// The prefix match as a whole: `cidr`, `matchOperator` and `prefixLength`.
    Prefix,
    /// `prefixLength`: dropped alone from an `In` match (that only widens it), else the
    /// whole prefix match goes (without lengths, `NotIn` would select less).
    PrefixLength,
    Source,
    Interface,
    PeerType,
    Communities,
    Priority,
    /// `operations`: cleared (a Reject has none).
    Operations,
    /// A field perch does not know (a newer Calico's), at any depth: nothing is dropped, the
    /// rule rejects what its known matches select. Not an error for `perch apply`.
    Unknown,
}

/// Every problem Calico's validator finds in a BGPFilter's rules, each naming its field.
pub(crate) fn bgp_filter(f: &BgpFilter, errs: &mut Vec<String>) {
    let s = &f.spec;
    for (field, rules, v4) in [
        ("exportV4", &s.export_v4, true),
        ("importV4", &s.import_v4, true),
        ("exportV6", &s.export_v6, false),
        ("importV6", &s.import_v6, false),
    ] {
        for (i, r) in rules.iter().enumerate() {
            let at = format!("spec.{field}[{i}]");
            errs.extend(rule_faults(r, &at, v4).into_iter().map(|(_, m)| m));
        }
    }
}

/// Turns each invalid rule into a `Reject` of what its valid matches select (the invalid
/// ones dropped, operations cleared), in its place, so that one bad rule costs only itself.
/// Returns one sentence per rule: the problems, with their field paths, and what the rule
/// does instead.
pub(crate) fn salvage_filter(f: &mut BgpFilter) -> Vec<String> {
    // A spec field beside the four rule lists changes no rule (Calico ignores what it does
    // not know there too), but a newer Calico's field must not vanish unsaid.
    let mut notes: Vec<String> = f
        .spec
        .extra
        .keys()
        .map(|k| {
            format!("spec.{k} is a field perch does not know; ignored (the rules apply as written)")
        })
        .collect();
    let BgpFilterSpec {
        export_v4,
        import_v4,
        export_v6,
        import_v6,
        ..
    } = &mut f.spec;
    for (field, rules, v4) in [
        ("exportV4", export_v4, true),
        ("importV4", import_v4, true),
        ("exportV6", export_v6, false),
        ("importV6", import_v6, false),
    ] {
        for (i, r) in rules.iter_mut().enumerate() {
            let at = format!("spec.{field}[{i}]");
            let mut faults = rule_faults(r, &at, v4);
            let unknown = unknown_fields(r);
            if !unknown.is_empty() {
                faults.push((
                    RuleFault::Unknown,
                    format!("{at}: perch does not know {}", unknown.join(", ")),
                ));
            }
            if faults.is_empty() {
                continue;
            }
            for (fault, _) in &faults {
                drop_fault(r, *fault);
            }
            let was = std::mem::replace(&mut r.action, "Reject".into());
            let had_operations = !r.operations.is_empty();
            r.operations.clear();
            let problems: Vec<String> = faults.into_iter().map(|(_, m)| m).collect();
            let mut instead = format!("this rule rejects {}", selection(r, field));
            if was == "Accept" {
                instead.push_str(" instead of accepting");
            }
            if had_operations {
                instead.push_str(", without its operations");
            }
            notes.push(format!("{}; {instead}", problems.join("; ")));
        }
    }
    notes
}

/// The fields of `r` perch does not know, at any depth: `field "x"`,
/// `field prefixLength."x"`, `operations[0]."x"`, `operations[0].addCommunity."x"`.
fn unknown_fields(r: &BgpFilterRule) -> Vec<String> {
    let mut out: Vec<String> = r.extra.keys().map(|k| format!("field {k:?}")).collect();
    let nested = [
        ("prefixLength", r.prefix_length.as_ref().map(|p| &p.extra)),
        ("communities", r.communities.as_ref().map(|c| &c.extra)),
    ];
    for (name, extra) in nested {
        out.extend(
            extra
                .into_iter()
                .flat_map(|e| e.keys())
                .map(|k| format!("field {name}.{k:?}")),
        );
    }
    for (i, op) in r.operations.iter().enumerate() {
        out.extend(op.extra.keys().map(|k| format!("operations[{i}].{k:?}")));
        let nested = [
            ("addCommunity", op.add_community.as_ref().map(|c| &c.extra)),
            (
                "prependASPath",
                op.prepend_as_path.as_ref().map(|p| &p.extra),
            ),
            ("setPriority", op.set_priority.as_ref().map(|p| &p.extra)),
        ];
        for (name, extra) in nested {
            out.extend(
                extra
                    .into_iter()
                    .flat_map(|e| e.keys())
                    .map(|k| format!("operations[{i}].{name}.{k:?}")),
            );
        }
    }
    out
}

fn drop_fault(r: &mut BgpFilterRule, fault: RuleFault) {
    let drop_prefix = |r: &mut BgpFilterRule| {
        r.cidr = None;
        r.match_operator = None;
        r.prefix_length = None;
    };
    match fault {
        RuleFault::Action | RuleFault::Operations | RuleFault::Unknown => {}
        RuleFault::Prefix => drop_prefix(r),
        RuleFault::PrefixLength if r.match_operator.as_deref() == Some("In") => {
            r.prefix_length = None
        }
        RuleFault::PrefixLength => drop_prefix(r),
        RuleFault::Source => r.source = None,
        RuleFault::Interface => r.interface = None,
        RuleFault::PeerType => r.peer_type = None,
        RuleFault::Communities => r.communities = None,
        RuleFault::Priority => r.priority = None,
    }
}

/// What a (valid) rule selects, in words: `routes in 10.0.0.0/16 on eBGP sessions`, or
/// `every route` (then later rules of the list never apply).
fn selection(r: &BgpFilterRule, field: &str) -> String {
    let mut parts = Vec::new();
    if let Some(c) = r.cidr.as_deref().filter(|c| !c.is_empty()) {
        let op = match r.match_operator.as_deref() {
            Some("Equal") => "equal to",
            Some("NotEqual") => "other than",
            Some("NotIn") => "not in",
            _ => "in",
        };
        let lengths = match &r.prefix_length {
            Some(pl) => format!(
                " (prefix length {}..{})",
                pl.min.map_or("".into(), |v| v.to_string()),
                pl.max.map_or("".into(), |v| v.to_string())
            ),
            None if op == "in" => " (any prefix length)".into(),
            None => String::new(),
        };
        parts.push(format!("{op} {c}{lengths}"));
    }
    if r.source.as_deref() == Some("RemotePeers") {
        parts.push("learned from BGP peers".into());
    }
    if let Some(i) = r.interface.as_deref().filter(|i| !i.is_empty()) {
        parts.push(format!("on interface {i:?}"));
    }
    if let Some(c) = r.communities.as_ref().and_then(|c| c.values.first()) {
        parts.push(format!("with community {c}"));
    }
    if !r.as_path_prefix.is_empty() {
        let asns: Vec<String> = r.as_path_prefix.iter().map(|a| a.to_string()).collect();
        parts.push(format!("whose AS path starts {}", asns.join(" ")));
    }
    if let Some(p) = r.priority {
        parts.push(format!("with priority {p}"));
    }
    let on = match r.peer_type.as_deref() {
        Some(t @ ("eBGP" | "iBGP")) => format!(" on {t} sessions"),
        _ => String::new(),
    };
    if parts.is_empty() {
        format!("every route{on} (the later rules of spec.{field} never apply there)")
    } else {
        format!("routes {}{on}", parts.join(", "))
    }
}

/// Each problem of one rule (at field path `at`), with the part of the rule it concerns.
fn rule_faults(r: &BgpFilterRule, at: &str, v4: bool) -> Vec<(RuleFault, String)> {
    let mut out = Vec::new();
    let mut push = |fault: RuleFault, message: String| out.push((fault, message));
    if !["Accept", "Reject"].contains(&r.action.as_str()) {
        push(
            RuleFault::Action,
            format!("{at}.action {:?} must be Accept or Reject", r.action),
        );
    }
    let cidr = r.cidr.as_deref().filter(|c| !c.is_empty());
    match (cidr, r.match_operator.as_deref().filter(|m| !m.is_empty())) {
        (Some(_), None) => push(
            RuleFault::Prefix,
            format!("{at}: matchOperator is required with cidr"),
        ),
        (None, Some(_)) => push(
            RuleFault::Prefix,
            format!("{at}: cidr is required with matchOperator"),
        ),
        (_, Some(op)) if !["Equal", "NotEqual", "In", "NotIn"].contains(&op) => push(
            RuleFault::Prefix,
            format!("{at}.matchOperator {op:?} must be Equal, NotEqual, In or NotIn"),
        ),
        _ => {}
    }
    let max_len = if v4 { 32 } else { 128 };
    if let Some(c) = cidr {
        match parse_cidr_or_ip(c) {
            Some(net) if net.addr().is_ipv4() == v4 => {}
            Some(_) => push(
                RuleFault::Prefix,
                format!(
                    "{at}.cidr {c:?} is not an IPv{} CIDR",
                    if v4 { 4 } else { 6 }
                ),
            ),
            None => push(RuleFault::Prefix, format!("{at}.cidr {c:?} is not a CIDR")),
        }
    }
    if let Some(pl) = &r.prefix_length {
        if cidr.is_none() {
            push(
                RuleFault::PrefixLength,
                format!("{at}: prefixLength requires cidr"),
            );
        }
        for (name, v) in [("min", pl.min), ("max", pl.max)] {
            if let Some(v) = v
                && !(0..=max_len).contains(&v)
            {
                push(
                    RuleFault::PrefixLength,
                    format!("{at}.prefixLength.{name} {v} must be 0..{max_len}"),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (pl.min, pl.max)
            && lo > hi
        {
            push(
                RuleFault::PrefixLength,
                format!("{at}.prefixLength: min {lo} is greater than max {hi}"),
            );
        }
        // BIRD refuses a prefix pattern whose range ends before the CIDR's own length
        // (`44.0.0.0/16{16,8}`), which would fail the whole config.
        if let (Some(net), Some(hi)) = (cidr.and_then(parse_cidr_or_ip), pl.max)
            && hi < i64::from(net.prefix_len())
        {
            push(
                RuleFault::PrefixLength,
                format!(
                    "{at}.prefixLength.max {hi} is shorter than the cidr's prefix length {}",
                    net.prefix_len()
                ),
            );
        }
    }
    if let Some(src) = r.source.as_deref().filter(|s| !s.is_empty())
        && src != "RemotePeers"
    {
        push(
            RuleFault::Source,
            format!("{at}.source {src:?} must be RemotePeers"),
        );
    }
    if let Some(i) = r.interface.as_deref().filter(|s| !s.is_empty())
        && !valid_interface_glob(i)
    {
        push(
            RuleFault::Interface,
            format!("{at}.interface {i:?} must be 1-15 of [a-zA-Z0-9_.*-]"),
        );
    }
    v3_32_faults(r, at, &mut push);
    out
}

/// The rule fields Calico v3.32 added, with its CRD and validator limits.
fn v3_32_faults(r: &BgpFilterRule, at: &str, push: &mut impl FnMut(RuleFault, String)) {
    if let Some(t) = r.peer_type.as_deref().filter(|t| !t.is_empty())
        && !["eBGP", "iBGP"].contains(&t)
    {
        push(
            RuleFault::PeerType,
            format!("{at}.peerType {t:?} must be eBGP or iBGP"),
        );
    }
    if let Some(c) = &r.communities {
        if c.values.len() != 1 {
            push(
                RuleFault::Communities,
                format!(
                    "{at}.communities.values must hold exactly one community (it has {})",
                    c.values.len()
                ),
            );
        }
        for v in &c.values {
            if parse_community(v).is_none() {
                push(
                    RuleFault::Communities,
                    format!(
                        "{at}.communities.values: {v:?} must be aa:nn (16-bit parts) or aa:nn:mm (32-bit parts)"
                    ),
                );
            }
        }
    }
    if let Some(p) = r.priority
        && !(PRIORITY_MIN..=PRIORITY_MAX).contains(&p)
    {
        push(
            RuleFault::Priority,
            format!("{at}.priority {p} must be {PRIORITY_MIN}..{PRIORITY_MAX}"),
        );
    }
    if r.operations.len() > 10 {
        push(
            RuleFault::Operations,
            format!(
                "{at}.operations has {} entries; at most 10 are allowed",
                r.operations.len()
            ),
        );
    }
    if !r.operations.is_empty() && r.action != "Accept" {
        push(
            RuleFault::Operations,
            format!("{at}.operations may only be used with action Accept"),
        );
    }
    for (i, op) in r.operations.iter().enumerate() {
        let at = format!("{at}.operations[{i}]");
        let set = usize::from(op.add_community.is_some())
            + usize::from(op.prepend_as_path.is_some())
            + usize::from(op.set_priority.is_some());
        if set + op.extra.len() != 1 {
            push(
                RuleFault::Operations,
                format!("{at}: exactly one operation must be set"),
            );
        }
        if let Some(c) = &op.add_community
            && parse_community(&c.value).is_none()
        {
            push(
                RuleFault::Operations,
                format!(
                    "{at}.addCommunity.value {:?} must be aa:nn (16-bit parts) or aa:nn:mm (32-bit parts)",
                    c.value
                ),
            );
        }
        if let Some(p) = &op.prepend_as_path
            && !(1..=10).contains(&p.prefix.len())
        {
            push(
                RuleFault::Operations,
                format!(
                    "{at}.prependASPath.prefix must hold 1 to 10 AS numbers (it has {})",
                    p.prefix.len()
                ),
            );
        }
        if let Some(p) = &op.set_priority {
            match p.value {
                None => push(
                    RuleFault::Operations,
                    format!("{at}.setPriority.value is required"),
                ),
                Some(v) if !(PRIORITY_MIN..=PRIORITY_MAX).contains(&v) => push(
                    RuleFault::Operations,
                    format!("{at}.setPriority.value {v} must be {PRIORITY_MIN}..{PRIORITY_MAX}"),
                ),
                Some(_) => {}
            }
        }
    }
}

/// A BGP community value: `aa:nn` (two 16-bit parts) or `aa:nn:mm` (three 32-bit parts),
/// decimal digits as Calico's validator reads them (leading zeros allowed).
pub(crate) fn parse_community(text: &str) -> Option<Vec<u32>> {
    let parts: Vec<&str> = text.split(':').collect();
    let max: u64 = match parts.len() {
        2 => 0xffff,
        3 => 0xffff_ffff,
        _ => return None,
    };
    parts
        .iter()
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let digits = p.trim_start_matches('0');
            let v: u64 = if digits.is_empty() {
                0
            } else if digits.len() > 10 {
                return None;
            } else {
                digits.parse().ok()?
            };
            (v <= max).then_some(v as u32)
        })
        .collect()
}

/// Interface names and globs Calico accepts (and BIRD can take inside quotes).
pub(crate) fn valid_interface_glob(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.*-".contains(&b))
}

#[cfg(test)]
#[path = "filter_rules_tests.rs"]
mod tests;
