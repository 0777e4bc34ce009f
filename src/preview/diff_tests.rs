//! The restart rules, one row per option, with plain values.

use std::collections::BTreeMap;

use super::*;
use crate::plan::{Family, PeerType};
use crate::preview::sessions::{ExportPolicy, NodeSessions, Session};
use crate::render::view::PeerView;

fn view(name: &str) -> PeerView {
    PeerView {
        name: name.into(),
        peer_type: "global",
        origin: "BGPPeer/p".into(),
        channel: "ipv4",
        mesh: false,
        neighbor: "10.0.0.2".into(),
        port: None,
        as_number: 64512,
        local_as: None,
        source_address: Some("10.0.0.1".into()),
        passive: false,
        ttl_security: None,
        graceful_restart_time: None,
        keepalive_time: None,
        rr_client: false,
        rr_cluster_id: None,
        password: Some("old-secret".into()),
        next_hop: None,
        allow_local_as: None,
        internal: true,
        import_calls: vec![],
        export_calls: vec!["'bgp_f_exportFilterV4'();".into()],
        import_preference_above: 2147482623,
        override_preference: 200,
        default_metric: 1024,
        local_pref_base: 2147483647,
    }
}

fn session(name: &str) -> Session {
    Session {
        view: view(name),
        peer_type: PeerType::GlobalPeer,
        family: Family::IPv4,
        peer_ip: "10.0.0.2".parse().unwrap(),
        origin: vec!["BGPPeer/p".into()],
        import: vec![],
        export: vec![(
            "f".into(),
            vec!["if ((net ~ 10.0.0.0/8)) then { accept; }".into()],
        )],
        remote_node: Some("n2".into()),
        remote_is_rr: false,
    }
}

fn node(sessions: &[Session]) -> NodeSessions {
    NodeSessions {
        node: "n1".into(),
        exists: true,
        router_id: Some("10.0.0.1".into()),
        as_number: 64512,
        listen_port: None,
        strict_bind: false,
        export_v4: ExportPolicy {
            pools: vec!["10.244.0.0/16".into()],
            ..Default::default()
        },
        export_v6: ExportPolicy::default(),
        kernel: BTreeMap::new(),
        sessions: sessions
            .iter()
            .map(|s| (s.view.name.clone(), s.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

type Edit = fn(&mut NodeSessions, &mut Session);

/// (what changes, the edit, the expected effect, the option key, the expected text)
#[rustfmt::skip]
const CASES: &[(&str, Edit, Effect, &str, &str)] = &[
    ("router id", |n, _| n.router_id = Some("10.0.0.9".into()), Effect::Restart, "routerID", "router id 10.0.0.1 → 10.0.0.9"),
    ("router id lost", |n, _| n.router_id = None, Effect::Restart, "routerID", "router id 10.0.0.1 → automatic"),
    ("listen port", |n, _| n.listen_port = Some(1790), Effect::Restart, "listenPort", "local port 179 → 1790"),
    ("strict bind", |n, _| n.strict_bind = true, Effect::Restart, "strictBind", "strict bind off → on"),
    ("node AS", |n, _| n.as_number = 65000, Effect::Restart, "localAS", "local AS 64512 → 65000"),
    ("local AS override", |_, s| s.view.local_as = Some(65010), Effect::Restart, "localAS", "local AS 64512 → 65010"),
    ("neighbor port", |_, s| s.view.port = Some(1790), Effect::Restart, "port", "neighbor port 179 → 1790"),
    ("neighbor AS", |_, s| s.view.as_number = 65001, Effect::Restart, "neighborAS", "neighbor AS 64512 → 65001"),
    ("source address", |_, s| s.view.source_address = None, Effect::Restart, "sourceAddress", "source address 10.0.0.1 → unset"),
    ("passive", |_, s| s.view.passive = true, Effect::Restart, "passive", "passive off → on"),
    ("ttl security", |_, s| s.view.ttl_security = Some(2), Effect::Restart, "ttlSecurity", "ttl security off, multihop → on, multihop 2"),
    ("graceful restart time", |_, s| s.view.graceful_restart_time = Some(90), Effect::Restart, "gracefulRestartTime", "graceful restart time unset → 90"),
    ("keepalive time", |_, s| s.view.keepalive_time = Some(10), Effect::Restart, "keepaliveTime", "keepalive time unset → 10"),
    ("rr client", |_, s| s.view.rr_client = true, Effect::Restart, "routeReflectorClient", "rr client off → on"),
    ("rr cluster id", |_, s| s.view.rr_cluster_id = Some("1.0.0.1".into()), Effect::Restart, "routeReflectorClusterID", "rr cluster id unset → 1.0.0.1"),
    ("password changed", |_, s| s.view.password = Some("new-secret".into()), Effect::Restart, "password", "password changed"),
    ("password removed", |_, s| s.view.password = None, Effect::Restart, "password", "password removed"),
    ("allow local as", |_, s| s.view.allow_local_as = Some(1), Effect::Restart, "allowLocalAS", "allow local as unset → 1"),
    ("import filter added", |_, s| s.import = vec![("g".into(), vec!["accept;".into()])], Effect::Reload, "importFilter", "import filter: BGPFilters none → g"),
    ("export filter rules", |_, s| s.export[0].1 = vec!["reject;".into()], Effect::Reload, "exportFilter", "export filter: BGPFilter f rules changed"),
    ("export filter removed", |_, s| s.export.clear(), Effect::Reload, "exportFilter", "export filter: BGPFilters f → none"),
    ("export policy", |n, _| n.export_v4.blocks = vec!["10.244.1.0/26".into()], Effect::Reload, "exportPolicy", "Calico export policy changed (blocks)"),
    ("next hop", |_, s| s.view.next_hop = Some("self"), Effect::Reload, "nextHop", "next hop unset → self"),
];

#[test]
fn each_option_restarts_or_reloads_as_bird_does() {
    for (what, edit, effect, option, text) in CASES {
        let before = node(&[session("Global_10_0_0_2")]);
        let mut after = before.clone();
        let mut s = after.sessions.remove("Global_10_0_0_2").unwrap();
        edit(&mut after, &mut s);
        after.sessions.insert(s.view.name.clone(), s);
        let d = diff_node(&before, &after);
        assert!(d.added.is_empty() && d.removed.is_empty(), "{what}: {d:?}");
        let (hit, other) = match effect {
            Effect::Restart => (&d.reset, &d.reloaded),
            Effect::Reload => (&d.reloaded, &d.reset),
        };
        assert!(other.is_empty(), "{what}: {d:?}");
        assert_eq!(hit.len(), 1, "{what}: {d:?}");
        let c = &hit[0].changes;
        assert_eq!(c.len(), 1, "{what}: {c:?}");
        assert_eq!(
            (c[0].option, c[0].text.as_str()),
            (*option, *text),
            "{what}"
        );
        assert_eq!(c[0].effect, *effect, "{what}");
    }
}

#[test]
fn options_bird_ignores_change_nothing() {
    let before = node(&[session("Global_10_0_0_2")]);
    let mut after = before.clone();
    let s = after.sessions.get_mut("Global_10_0_0_2").unwrap();
    s.view.origin = "BGPPeer/other".into();
    s.origin = vec!["BGPPeer/other".into()];
    // 179 written out is the same port as none.
    s.view.port = Some(179);
    after.listen_port = Some(179);
    assert!(diff_node(&before, &after).is_empty());
}

#[test]
fn a_restart_hides_the_reloads_that_come_with_it() {
    let before = node(&[session("Global_10_0_0_2")]);
    let mut after = before.clone();
    let s = after.sessions.get_mut("Global_10_0_0_2").unwrap();
    s.view.keepalive_time = Some(20);
    s.export.clear();
    let d = diff_node(&before, &after);
    assert!(d.reloaded.is_empty());
    let options: Vec<_> = d.reset[0].changes.iter().map(|c| c.option).collect();
    assert_eq!(options, ["keepaliveTime"]);
}

#[test]
fn router_id_change_resets_every_session() {
    let before = node(&[session("Global_10_0_0_2"), session("Mesh_10_0_0_3")]);
    let mut after = before.clone();
    after.router_id = Some("10.0.0.7".into());
    let d = diff_node(&before, &after);
    let names: Vec<_> = d.reset.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Global_10_0_0_2", "Mesh_10_0_0_3"]);
}

#[test]
fn added_and_removed_sessions() {
    let before = node(&[session("Global_10_0_0_2"), session("Mesh_10_0_0_3")]);
    let after = node(&[session("Mesh_10_0_0_3"), session("Node_10_0_0_4")]);
    let d = diff_node(&before, &after);
    assert_eq!(d.added, ["Node_10_0_0_4"]);
    assert_eq!(d.removed, ["Global_10_0_0_2"]);
    assert!(d.reset.is_empty() && d.reloaded.is_empty());
    let gone = diff_node(&before, &NodeSessions::absent("n1"));
    assert_eq!(gone.removed.len(), 2);
}

#[test]
fn passwords_never_appear() {
    let before = node(&[session("Global_10_0_0_2")]);
    let mut after = before.clone();
    after
        .sessions
        .get_mut("Global_10_0_0_2")
        .unwrap()
        .view
        .password = Some("new-secret".into());
    let d = diff_node(&before, &after);
    let json = serde_json::to_string(&d.reset).unwrap();
    assert!(!json.contains("secret"), "{json}");
    assert!(json.contains("\"before\":null"), "{json}");
}
