//! Sessions BIRD refused: which session a refusal names (BIRD's `file:line:col` → the
//! `protocol bgp` block of the rendered text → the plan's peer → its resource), and the memory
//! of refused sessions, so that every later config leaves them out until their plan entry or
//! the templates change.
//!
//! Pure: plain values in and out; the reconciler does the retrying.

use crate::bird::parse::parse_config_error;
use std::sync::Arc;

use crate::plan::{Peer, Plan};
use crate::render::Templates;
use crate::render::blocks::bgp_session_at;

use crate::views::RefusedSession;

/// The sessions of at most this many resources are left out in one apply; past it, the last
/// good config stays.
pub(super) const MAX_REFUSED_PER_APPLY: usize = 8;

/// Whether one more session may be left out of a config that has `shown` sessions, when
/// `refused` are left out already: not the last one when others were refused too (BIRD refusing
/// every session points to a common cause, such as the templates; the last good config stays).
pub(super) fn may_leave_out(shown: usize, refused: usize) -> bool {
    shown > 1 || refused == 0
}

/// Whether this apply may leave out one more session, `report`'s: it may for up to
/// [`MAX_REFUSED_PER_APPLY`] resources, and for every further session of a resource already
/// left out (one BGPPeer whose `peerSelector` gives many sessions costs its sessions, however
/// many; refusals spread over many resources point to a common cause).
pub(super) fn within_refusal_limit(
    refused: &[RefusedSession],
    left_out: &[String],
    report: &RefusedSession,
) -> bool {
    let mut resources: Vec<(&str, &str)> = refused
        .iter()
        .filter(|r| left_out.contains(&r.session))
        .map(|r| (r.kind.as_str(), r.name.as_str()))
        .collect();
    resources.sort_unstable();
    resources.dedup();
    resources.contains(&(report.kind.as_str(), report.name.as_str()))
        || resources.len() < MAX_REFUSED_PER_APPLY
}

/// The refused sessions, each with the plan entry BIRD refused.
#[derive(Default)]
pub(super) struct Refusals {
    /// The templates the refusals were seen with (new templates retry them).
    templates: Option<Arc<Templates>>,
    entries: Vec<(Peer, RefusedSession)>,
}

impl Refusals {
    /// Forgets refusals whose session is no longer planned, or planned with other options, and
    /// all of them when the templates changed; returns the plan to render (without the
    /// refused sessions) and the refusals it leaves out.
    pub(super) fn withhold(
        &mut self,
        plan: &Plan,
        templates: &Arc<Templates>,
    ) -> (Plan, Vec<RefusedSession>) {
        if !self
            .templates
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, templates))
        {
            self.entries.clear();
            self.templates = Some(templates.clone());
        }
        self.entries.retain(|(refused, _)| {
            plan.peers
                .iter()
                .any(|p| p.name == refused.name && p.same_session(refused))
        });
        let mut shown = plan.clone();
        shown
            .peers
            .retain(|p| !self.entries.iter().any(|(r, _)| r.name == p.name));
        let reports = self.entries.iter().map(|(_, r)| r.clone()).collect();
        (shown, reports)
    }

    pub(super) fn add(&mut self, peer: Peer, report: RefusedSession) {
        self.entries.retain(|(p, _)| p.name != peer.name);
        self.entries.push((peer, report));
    }

    /// Forgets the named sessions (refusals of an apply that failed anyway).
    pub(super) fn forget(&mut self, sessions: &[String]) {
        self.entries.retain(|(p, _)| !sessions.contains(&p.name));
    }
}

/// The session of `plan` that BIRD's refusal `error` of the rendered `text` names, with its
/// report. `None` when the error has no place, names another file (`is_rendered_file` says
/// which are perch's), or a line outside every planned session.
pub(super) fn refused_session(
    error: &str,
    text: &str,
    plan: &Plan,
    is_rendered_file: impl Fn(&str) -> bool,
) -> Option<(Peer, RefusedSession)> {
    let at = parse_config_error(error)?;
    if !is_rendered_file(&at.file) {
        return None;
    }
    let session = bgp_session_at(text, at.line)?;
    let peer = plan.peers.iter().find(|p| p.name == session)?;
    let (kind, name) = peer.origin_resource();
    Some((
        peer.clone(),
        RefusedSession {
            session,
            kind,
            name,
            reason: at.message,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanOptions;
    use crate::resources::decode::{Decoded, decode_documents};
    use crate::snapshot::Snapshot;

    const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.9/24}}
";

    /// `n1`'s plan with a BGPPeer per (name, peerIP, keepaliveTime).
    fn plan(peers: &[(&str, &str, &str)]) -> Plan {
        let mut yaml = CLUSTER.to_owned();
        for (name, ip, keepalive) in peers {
            yaml.push_str(&format!(
                "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\n\
                 spec: {{peerIP: {ip}, asNumber: 65001, keepaliveTime: {keepalive}}}\n"
            ));
        }
        let snapshot =
            Snapshot::from_resources(decode_documents(&yaml, "t").unwrap().into_iter().map(|d| {
                match d {
                    Decoded::Resource(r) => r,
                    Decoded::Skipped(w) => panic!("{w}"),
                }
            }));
        crate::plan::plan(&snapshot, "n1", &PlanOptions::default())
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.peers.iter().map(|p| p.name.as_str()).collect()
    }

    const TEXT: &str = "router id 1.1.1.1;\n\
protocol bgp Global_10_0_0_1 from t {\n  neighbor 10.0.0.1 as 65001;\n}\n\n\
protocol bgp Global_10_0_0_2 from t {\n  neighbor 10.0.0.2 as 65001;\n  source address fe80::5;\n}\n\n";

    fn report() -> RefusedSession {
        RefusedSession {
            session: "Global_10_0_0_2".into(),
            kind: "BGPPeer".into(),
            name: "poison".into(),
            reason: "Link-local addresses require defined interface".into(),
        }
    }

    #[test]
    fn a_refusal_names_a_session_and_its_bgppeer() {
        let plan = plan(&[("tor-a", "10.0.0.1", "10s"), ("poison", "10.0.0.2", "100s")]);
        let error = "config rejected by bird configure: /run/.bird.cfg.perch-7:10:1 Link-local addresses require defined interface";
        let (p, r) =
            refused_session(error, TEXT, &plan, |f| f == "/run/.bird.cfg.perch-7").unwrap();
        assert_eq!(p.name, "Global_10_0_0_2");
        assert_eq!(r, report());
    }

    #[test]
    fn the_limit_counts_resources_not_sessions() {
        let of = |session: &str, name: &str| RefusedSession {
            session: session.into(),
            name: name.into(),
            ..report()
        };
        // Twelve sessions of one BGPPeer, all left out in this apply: a thirteenth is too.
        let one: Vec<RefusedSession> = (0..12).map(|i| of(&format!("s{i}"), "many")).collect();
        let left_out: Vec<String> = one.iter().map(|r| r.session.clone()).collect();
        assert!(within_refusal_limit(&one, &left_out, &of("s12", "many")));
        // Sessions of MAX_REFUSED_PER_APPLY resources: another resource's is not, theirs are.
        let spread: Vec<RefusedSession> = (0..MAX_REFUSED_PER_APPLY)
            .map(|i| of(&format!("s{i}"), &format!("p{i}")))
            .collect();
        let left_out: Vec<String> = spread.iter().map(|r| r.session.clone()).collect();
        assert!(!within_refusal_limit(&spread, &left_out, &of("x", "other")));
        assert!(within_refusal_limit(&spread, &left_out, &of("x", "p3")));
        // Refusals remembered from earlier applies do not count against this one.
        assert!(within_refusal_limit(&spread, &[], &of("x", "other")));
    }

    #[test]
    fn never_every_session_of_several() {
        assert!(may_leave_out(3, 0));
        assert!(may_leave_out(2, 5));
        assert!(may_leave_out(1, 0), "a node's only session");
        assert!(!may_leave_out(1, 1), "the last of several");
    }

    #[test]
    fn refusals_outside_sessions_or_in_other_files_name_nobody() {
        let plan = plan(&[("tor-a", "10.0.0.1", "10s")]);
        let own = |f: &str| f == "bird.cfg";
        for error in [
            "bird.cfg:1:3 syntax error",                // outside every session
            "inc/peers.conf:3:1 syntax error",          // an included file
            "bird.cfg:7:1 Neighbor must be configured", // Global_10_0_0_2 is not planned
            "Access denied",
        ] {
            assert!(
                refused_session(error, TEXT, &plan, own).is_none(),
                "{error}"
            );
        }
    }

    #[test]
    fn refusals_are_remembered_until_the_session_or_templates_change() {
        let full = plan(&[("tor-a", "10.0.0.1", "10s"), ("poison", "10.0.0.2", "100s")]);
        let poison = full.peers[1].clone();
        let (t1, t2) = (
            Arc::new(Templates::builtin()),
            Arc::new(Templates::builtin()),
        );
        let mut r = Refusals::default();
        assert_eq!(r.withhold(&full, &t1).0.peers.len(), 2);
        r.add(poison.clone(), report());

        // An unrelated change: the refused session stays out.
        let more = plan(&[
            ("tor-a", "10.0.0.1", "10s"),
            ("poison", "10.0.0.2", "100s"),
            ("tor-c", "10.0.0.3", "10s"),
        ]);
        let (shown, reports) = r.withhold(&more, &t1);
        assert_eq!(names(&shown), ["Global_10_0_0_1", "Global_10_0_0_3"]);
        assert_eq!(reports, vec![report()]);

        // New templates: tried again.
        assert_eq!(r.withhold(&more, &t2).0.peers.len(), 3);
        r.add(poison.clone(), report());

        // The BGPPeer fixed: tried again, and forgotten.
        let fixed = plan(&[("poison", "10.0.0.2", "10s")]);
        let (shown, reports) = r.withhold(&fixed, &t2);
        assert_eq!(names(&shown), ["Global_10_0_0_2"]);
        assert!(reports.is_empty());
        assert_eq!(r.withhold(&more, &t2).0.peers.len(), 3);

        r.add(poison, report());
        r.forget(&["Global_10_0_0_2".into()]);
        assert!(r.withhold(&more, &t2).1.is_empty());
    }
}
