//! How BIRD 2 reacts, per session, when a node's config changes from one [`NodeSessions`] to
//! another: a protocol that appears is added, one that disappears is removed, and one that
//! stays is restarted ("reset") when an option BIRD compares in `bgp_reconfigure` changed, or
//! only reloaded (re-export, or ROUTE-REFRESH for imports) when just its filters or next-hop
//! handling changed. Anything else (description, debug, comments) does nothing.
//!
//! Owns: the restart-rule table [`RULES`] and [`diff_node`]. Must not: plan, render, print,
//! or reveal a password (a password change is reported as `password changed`, never its value).

use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;

use super::sessions::{FilterCalls, NodeSessions, Session};

/// What a changed option does to an Established session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Effect {
    /// The protocol is restarted: NOTIFICATION Cease, the session is torn down and re-opened.
    Restart,
    /// The session stays up; routes are re-exported or re-requested (ROUTE-REFRESH).
    Reload,
}

/// One option that differs, with what it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OptionChange {
    /// A stable key: `routerID`, `neighborAS`, `password`, `exportFilter`, …
    pub option: &'static str,
    pub effect: Effect,
    /// The old and new values as BIRD config shows them; always null for a password.
    pub before: Option<String>,
    pub after: Option<String>,
    /// For people: `neighbor AS 64512 → 65001`, `password changed`.
    pub text: String,
}

/// A session present before and after, with the options that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionChange {
    pub name: String,
    pub changes: Changes,
}

/// The options that changed, shared by the sessions of a node that have the same ones (a
/// mesh-wide change gives a thousand sessions one list, not a thousand copies).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Changes(Arc<Vec<OptionChange>>);

impl Deref for Changes {
    type Target = [OptionChange];
    fn deref(&self) -> &[OptionChange] {
        &self.0
    }
}

impl Serialize for Changes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// Hands out one shared [`Changes`] per distinct list.
#[derive(Default)]
struct Interner(Vec<Changes>);

impl Interner {
    fn get(&mut self, list: Vec<OptionChange>) -> Changes {
        if let Some(c) = self.0.iter().find(|c| *c.0 == list) {
            return c.clone();
        }
        let c = Changes(Arc::new(list));
        self.0.push(c.clone());
        c
    }
}

/// The sessions of one node that a change adds, removes, resets or reloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NodeDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Restarted: only the options that cause the restart are listed.
    pub reset: Vec<SessionChange>,
    pub reloaded: Vec<SessionChange>,
    /// Kernel programming that changes: `prefix: before → after`.
    pub kernel: Vec<String>,
}

impl NodeDiff {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.reset.is_empty()
            && self.reloaded.is_empty()
            && self.kernel.is_empty()
    }
}

/// How a rule reads its value.
pub(crate) enum Read {
    /// A value shown in BIRD config (`None` = the line is absent).
    Text(fn(&NodeSessions, &Session) -> Option<String>),
    /// A password: compared, never shown.
    Secret,
    /// The BGPFilter functions called in one direction (import = true).
    Filters(bool),
    /// Calico's export functions of the session's family.
    ExportPolicy,
}

/// One row of the restart-rule table.
pub(crate) struct Rule {
    pub option: &'static str,
    /// How the option is named in messages (`neighbor AS`).
    pub label: &'static str,
    pub effect: Effect,
    pub read: Read,
}

fn on_off(b: bool) -> Option<String> {
    Some(if b { "on" } else { "off" }.into())
}

fn num<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// BIRD 2.0.12's rules (`bgp_reconfigure` compares all of `struct bgp_config`;
/// `channel_reconfigure` reloads for filter changes), for the options perch renders.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // Node-level: inherited by every protocol, so they restart every session.
    Rule { option: "routerID", label: "router id", effect: Effect::Restart,
        read: Read::Text(|n, _| Some(n.router_id.clone().unwrap_or_else(|| "automatic".into()))) },
    Rule { option: "listenPort", label: "local port", effect: Effect::Restart,
        read: Read::Text(|n, _| num(Some(n.listen_port.unwrap_or(179)))) },
    Rule { option: "strictBind", label: "strict bind", effect: Effect::Restart,
        read: Read::Text(|n, _| on_off(n.strict_bind)) },
    Rule { option: "localAS", label: "local AS", effect: Effect::Restart,
        read: Read::Text(|n, s| num(Some(s.view.local_as.unwrap_or(n.as_number)))) },
    // Per protocol.
    Rule { option: "neighborAddress", label: "neighbor address", effect: Effect::Restart,
        read: Read::Text(|_, s| Some(s.view.neighbor.clone())) },
    Rule { option: "port", label: "neighbor port", effect: Effect::Restart,
        read: Read::Text(|_, s| num(Some(s.view.port.unwrap_or(179)))) },
    Rule { option: "neighborAS", label: "neighbor AS", effect: Effect::Restart,
        read: Read::Text(|_, s| num(Some(s.view.as_number))) },
    Rule { option: "channel", label: "channel", effect: Effect::Restart,
        read: Read::Text(|_, s| Some(s.view.channel.into())) },
    Rule { option: "sourceAddress", label: "source address", effect: Effect::Restart,
        read: Read::Text(|_, s| s.view.source_address.clone()) },
    Rule { option: "passive", label: "passive", effect: Effect::Restart,
        read: Read::Text(|_, s| on_off(s.view.passive)) },
    Rule { option: "ttlSecurity", label: "ttl security", effect: Effect::Restart,
        read: Read::Text(|_, s| match (s.view.mesh, s.view.ttl_security) {
            (true, _) => None,
            (false, Some(hops)) => Some(format!("on, multihop {hops}")),
            (false, None) => Some("off, multihop".into()),
        }) },
    Rule { option: "gracefulRestartTime", label: "graceful restart time", effect: Effect::Restart,
        read: Read::Text(|_, s| num(s.view.graceful_restart_time)) },
    Rule { option: "keepaliveTime", label: "keepalive time", effect: Effect::Restart,
        read: Read::Text(|_, s| num(s.view.keepalive_time)) },
    Rule { option: "routeReflectorClient", label: "rr client", effect: Effect::Restart,
        read: Read::Text(|_, s| on_off(s.view.rr_client)) },
    Rule { option: "routeReflectorClusterID", label: "rr cluster id", effect: Effect::Restart,
        read: Read::Text(|_, s| s.view.rr_cluster_id.clone()) },
    Rule { option: "password", label: "password", effect: Effect::Restart, read: Read::Secret },
    Rule { option: "allowLocalAS", label: "allow local as", effect: Effect::Restart,
        read: Read::Text(|_, s| num(s.view.allow_local_as)) },
    // Channel filters: reloaded in place (imports by ROUTE-REFRESH, which BIRD and Calico
    // peers support; a peer without it would be restarted).
    Rule { option: "importFilter", label: "import filter", effect: Effect::Reload,
        read: Read::Filters(true) },
    Rule { option: "exportFilter", label: "export filter", effect: Effect::Reload,
        read: Read::Filters(false) },
    Rule { option: "exportPolicy", label: "Calico export policy", effect: Effect::Reload,
        read: Read::ExportPolicy },
    Rule { option: "nextHop", label: "next hop", effect: Effect::Reload,
        read: Read::Text(|_, s| s.view.next_hop.map(str::to_owned)) },
];

/// Compares one node's sessions before and after a change.
pub(crate) fn diff_node(before: &NodeSessions, after: &NodeSessions) -> NodeDiff {
    let mut out = NodeDiff::default();
    if before.exists && after.exists {
        let prefixes: std::collections::BTreeSet<&String> =
            before.kernel.keys().chain(after.kernel.keys()).collect();
        for prefix in prefixes {
            let (b, a) = (before.kernel.get(prefix), after.kernel.get(prefix));
            if b != a {
                let show = |v: Option<&String>| v.map_or("unset", String::as_str).to_owned();
                out.kernel
                    .push(format!("{prefix}: {} → {}", show(b), show(a)));
            }
        }
    }
    let mut shared = Interner::default();
    for name in before.sessions.keys() {
        if !after.sessions.contains_key(name) {
            out.removed.push(name.clone());
        }
    }
    for (name, a) in &after.sessions {
        let Some(b) = before.sessions.get(name) else {
            out.added.push(name.clone());
            continue;
        };
        let changes = diff_session(before, b, after, a);
        let restarts: Vec<OptionChange> = changes
            .iter()
            .filter(|c| c.effect == Effect::Restart)
            .cloned()
            .collect();
        if !restarts.is_empty() {
            out.reset.push(SessionChange {
                name: name.clone(),
                changes: shared.get(restarts),
            });
        } else if !changes.is_empty() {
            out.reloaded.push(SessionChange {
                name: name.clone(),
                changes: shared.get(changes),
            });
        }
    }
    out
}

/// Every option of one session that differs, in [`RULES`] order.
pub(crate) fn diff_session(
    bn: &NodeSessions,
    b: &Session,
    an: &NodeSessions,
    a: &Session,
) -> Vec<OptionChange> {
    let mut out = Vec::new();
    let same_node = bn.router_id == an.router_id
        && bn.as_number == an.as_number
        && bn.listen_port == an.listen_port
        && bn.strict_bind == an.strict_bind
        && bn.export_policy(b.family) == an.export_policy(a.family);
    if same_node && b == a {
        return out;
    }
    for rule in RULES {
        let change = |before: Option<String>, after: Option<String>, text: String| OptionChange {
            option: rule.option,
            effect: rule.effect,
            before,
            after,
            text,
        };
        match &rule.read {
            Read::Text(read) => {
                let (x, y) = (read(bn, b), read(an, a));
                if x != y {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
                    let text = format!("{} {} → {}", rule.label, show(&x), show(&y));
                    out.push(change(x, y, text));
                }
            }
            Read::Secret => {
                let text = match (&b.view.password, &a.view.password) {
                    (x, y) if x == y => continue,
                    (None, Some(_)) => "password added",
                    (Some(_), None) => "password removed",
                    _ => "password changed",
                };
                out.push(change(None, None, text.into()));
            }
            Read::Filters(import) => {
                let (x, y) = if *import {
                    (&b.import, &a.import)
                } else {
                    (&b.export, &a.export)
                };
                // The export filter also passes whether the peer is internal.
                let (xi, yi) = (
                    b.view.internal || b.view.mesh,
                    a.view.internal || a.view.mesh,
                );
                if x == y && (*import || xi == yi) {
                    continue;
                }
                let text = filter_text(rule.label, x, y, (!*import && xi != yi).then_some(yi));
                out.push(change(Some(filter_names(x)), Some(filter_names(y)), text));
            }
            Read::ExportPolicy => {
                let (x, y) = (bn.export_policy(b.family), an.export_policy(a.family));
                if x != y {
                    let text =
                        format!("{} changed ({})", rule.label, x.changed_parts(y).join(", "));
                    out.push(change(None, None, text));
                }
            }
        }
    }
    out
}

fn filter_names(calls: &FilterCalls) -> String {
    if calls.is_empty() {
        return "none".into();
    }
    calls
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn filter_text(label: &str, x: &FilterCalls, y: &FilterCalls, internal: Option<bool>) -> String {
    let names = |c: &FilterCalls| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(x) != names(y) {
        return format!(
            "{label}: BGPFilters {} → {}",
            filter_names(x),
            filter_names(y)
        );
    }
    let changed: Vec<&str> = x
        .iter()
        .zip(y)
        .filter(|(p, q)| p.1 != q.1)
        .map(|(p, _)| p.0.as_str())
        .collect();
    if !changed.is_empty() {
        return format!("{label}: BGPFilter {} rules changed", changed.join(", "));
    }
    match internal {
        Some(true) => format!("{label}: peer is now internal (iBGP)"),
        Some(false) => format!("{label}: peer is now external (eBGP)"),
        None => format!("{label} changed"),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
