//! Session explanations on small clusters: each AS, port, passive and rr-client rule.

use super::*;
use crate::plan::{PlanOptions, plan_in};
use crate::snapshot::Snapshot;
use serde_json::json;

fn snapshot(yaml: &str) -> Snapshot {
    crate::snapshot::from_yaml(yaml)
}

fn explain(s: &Snapshot, node: &str, session: &str) -> SessionExplanation {
    let cluster = Cluster::new(s);
    let plan = plan_in(&cluster, node, &PlanOptions::default());
    let p = plan
        .peers
        .iter()
        .find(|p| p.name == session)
        .unwrap_or_else(|| {
            panic!(
                "{session} not in {:?}",
                plan.peers.iter().map(|p| &p.name).collect::<Vec<_>>()
            )
        });
    explain_session(&cluster, &plan, p)
}

const NODES: &str = "\
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: a, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.10/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: b, labels: {rack: r1}}
spec: {bgp: {ipv4Address: 10.0.0.9/24, asNumber: 64600}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: rr1, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.100/24, routeReflectorClusterID: 1.0.0.1}}
";

#[test]
fn mesh_rule_builtin_as_and_address_text_passive() {
    let s = snapshot(NODES);
    let e = explain(&s, "a", "Mesh_10_0_0_9");
    let m = e.mesh.as_ref().unwrap();
    assert_eq!(
        (m.remote_node.as_str(), m.remote_address.as_str()),
        ("b", "10.0.0.9")
    );
    assert!(
        m.enabled_by
            .contains("there is no default BGPConfiguration")
    );
    assert!(e.bgp_peers.is_empty());
    assert_eq!(
        (e.neighbor_as.source, e.neighbor_as.value.clone()),
        ("node", json!(64600))
    );
    assert_eq!(e.local_as.source, "builtinDefault");
    assert_eq!(e.local_as.value, json!(64512));
    // "10.0.0.9" > "10.0.0.10" as text, though not as numbers.
    assert_eq!(e.passive.value, json!(true));
    assert!(
        e.passive.text.contains("\"10.0.0.9\" > \"10.0.0.10\""),
        "{}",
        e.passive.text
    );
    assert_eq!(e.port.source, "default");
    assert!(
        e.options.iter().any(|o| o.starts_with("eBGP")),
        "{:?}",
        e.options
    );
}

#[test]
fn forward_and_reverse_selector_peerings() {
    let s = snapshot(&format!(
        "{NODES}---
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {{name: default}}
spec: {{asNumber: 64512, listenPort: 1790, nodeToNodeMeshEnabled: false}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {{name: to-rr}}
spec: {{nodeSelector: rack == 'r1' && !has(rr), peerSelector: rr == 'true', maxRestartTime: 90s}}
"
    ));
    let fwd = explain(&s, "a", "Node_10_0_0_100_port_1790");
    let r = &fwd.bgp_peers[0];
    assert_eq!(
        (r.bgp_peer.as_str(), r.direction),
        ("to-rr", Direction::Forward)
    );
    assert_eq!(r.this_node.field, "nodeSelector");
    let terms: Vec<_> = r
        .this_node
        .terms
        .iter()
        .map(|t| (t.term.as_str(), t.matched))
        .collect();
    assert_eq!(terms, [("rack == \"r1\"", true), ("!has(rr)", true)]);
    assert_eq!(
        (r.other_end.field, r.other_end.node.as_deref()),
        ("peerSelector", Some("rr1"))
    );
    assert_eq!(fwd.neighbor_as.source, "defaultBGPConfiguration");
    assert_eq!(fwd.port.source, "globalListenPort");
    assert!(
        fwd.route_reflector_client
            .text
            .contains("a is not a route reflector")
    );
    assert!(
        fwd.options
            .iter()
            .any(|o| o == "graceful restart time 90: BGPPeer to-rr's maxRestartTime")
    );

    let rev = explain(&s, "rr1", "Node_10_0_0_10_port_1790");
    let r = &rev.bgp_peers[0];
    assert_eq!(r.direction, Direction::Reverse);
    assert_eq!(
        (r.this_node.field, r.this_node.node.as_deref()),
        ("peerSelector", Some("rr1"))
    );
    assert_eq!(
        (r.other_end.field, r.other_end.node.as_deref()),
        ("nodeSelector", Some("a"))
    );
    assert_eq!(rev.route_reflector_client.value, json!(true));
    assert!(rev.route_reflector_client.text.contains("cluster 1.0.0.1"));
    assert_eq!(rev.passive.source, "nodeSpecific");
    // b has its own AS 64600: eBGP with the reflector, so no rr client.
    let b = explain(&s, "rr1", "Node_10_0_0_9_port_1790");
    assert!(
        b.route_reflector_client.text.contains("eBGP"),
        "{}",
        b.route_reflector_client.text
    );
    assert_eq!(b.neighbor_as.source, "node");
}

#[test]
fn peer_ip_as_port_and_local_as_override() {
    let s = snapshot(&format!(
        "{NODES}---
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {{name: node.b}}
spec: {{listenPort: 1791}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {{name: to-b}}
spec: {{peerIP: 10.0.0.9, asNumber: 64600}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {{name: tor}}
spec: {{node: a, peerIP: '10.0.0.254:1179', asNumber: 65001, localASNumber: 64999, password: {{secretKeyRef: {{name: bgp, key: tor}}}}}}
"
    ));
    let g = explain(&s, "a", "Global_10_0_0_9_port_1791");
    assert_eq!(g.neighbor_as.source, "bgpPeer");
    assert_eq!(g.port.source, "nodeListenPort");
    assert!(
        g.port.text.contains("BGPConfiguration node.b"),
        "{}",
        g.port.text
    );
    assert_eq!(g.passive.source, "addressText");
    assert_eq!(
        g.bgp_peers[0].other_end.node.as_deref(),
        Some("b"),
        "the address is b's"
    );
    let t = explain(&s, "a", "Node_10_0_0_254_port_1179");
    assert_eq!(t.port.source, "peerIP");
    assert_eq!(
        (t.local_as.source, t.local_as.value.clone()),
        ("bgpPeerLocalAS", json!(64999))
    );
    assert_eq!(t.passive.source, "nodeSpecific");
    assert_eq!(t.bgp_peers[0].this_node.field, "node");
    // The secret is missing here: no password, and nothing about its value anywhere.
    let text = serde_json::to_string(&t).unwrap();
    assert!(!text.contains("password:"), "{text}");
}

#[test]
fn a_rule_with_an_unknown_field_is_named_on_each_session_using_its_filter() {
    let s = snapshot(
        "kind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
         kind: BGPFilter\nmetadata: {name: future}\nspec:\n  importV4:\n  \
         - {action: Accept, cidr: 10.0.0.0/8, matchOperator: In, futureMatch: 7}\n---\n\
         kind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 10.0.0.9, asNumber: 65100, filters: [future]}\n",
    );
    let e = explain(&s, "a", "Global_10_0_0_9");
    let about: Vec<&String> = e
        .options
        .iter()
        .filter(|o| o.starts_with("BGPFilter future:"))
        .collect();
    assert_eq!(about.len(), 1, "{:?}", e.options);
    assert!(
        about[0].contains("perch does not know field \"futureMatch\"")
            && about[0].contains("this rule rejects"),
        "{about:?}"
    );
}
