//! Whole-cluster previews on small snapshots built from YAML.

use super::change::{Change, apply, deletes, upserts};
use super::*;

fn snapshot(yaml: &str) -> Snapshot {
    crate::snapshot::from_yaml(yaml)
}

fn changed(before: &Snapshot, steps: Vec<Change>) -> Snapshot {
    let mut after = before.clone();
    let steps: Vec<(Change, String)> = steps.into_iter().map(|c| (c, "c".into())).collect();
    apply(&mut after, &steps).unwrap();
    after
}

fn node(name: &str, ip: &str, extra: &str) -> String {
    format!(
        "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}{extra}}}\nspec: {{bgp: {{ipv4Address: {ip}/24}}}}\n---\n"
    )
}

const RR_CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: rr1, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.100/24, routeReflectorClusterID: 1.0.0.1}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: to-rr}
spec: {nodeSelector: '!has(rr)', peerSelector: rr == 'true'}
---
kind: BGPFilter
apiVersion: projectcalico.org/v3
metadata: {name: f}
spec: {exportV4: [{action: Reject, cidr: 10.9.0.0/16, matchOperator: In}]}
";

fn rr_cluster() -> Snapshot {
    snapshot(&format!(
        "{}{}{RR_CLUSTER}",
        node("a", "10.0.0.1", ""),
        node("b", "10.0.0.2", "")
    ))
}

#[test]
fn mesh_restart_time_resets_every_mesh_session() {
    let base = format!(
        "{}{}{}",
        node("a", "10.0.0.1", ""),
        node("b", "10.0.0.2", ""),
        node("c", "10.0.0.3", "")
    );
    let before = snapshot(&base);
    let cfg = "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\nspec: {nodeMeshMaxRestartTime: 90s}\n";
    let after = changed(&before, upserts(cfg, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.nodes_touched, 3);
    assert_eq!(p.summary.sessions_reset, 6);
    assert_eq!(p.summary.sessions_reloaded + p.summary.sessions_added, 0);
    let c = &p.nodes[0].reset[0].changes[0];
    assert_eq!(c.text, "graceful restart time unset → 90");
}

#[test]
fn filter_change_reloads_and_deleting_the_peer_isolates() {
    let before = rr_cluster();
    let with_filter = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: to-rr}\nspec: {nodeSelector: '!has(rr)', peerSelector: rr == 'true', filters: [f]}\n";
    let after = changed(&before, upserts(with_filter, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.sessions_reset, 0, "{p:#?}");
    // a and b reload their export to rr1; rr1 reloads its reverse sessions to both.
    assert_eq!(p.summary.sessions_reloaded, 4, "{p:#?}");
    assert!(p.summary.isolated_nodes.is_empty());

    let gone = changed(
        &before,
        deletes("kind: BGPPeer\nmetadata: {name: to-rr}\n", "d").unwrap(),
    );
    let p = preview(&before, &gone, &PlanOptions::default());
    let isolated: Vec<_> = p
        .summary
        .isolated_nodes
        .iter()
        .map(|n| n.node.as_str())
        .collect();
    assert_eq!(isolated, ["a", "b", "rr1"]);
    let lost: Vec<_> = p
        .summary
        .lost_route_reflectors
        .iter()
        .map(|n| n.node.as_str())
        .collect();
    assert_eq!(lost, ["a", "b"], "rr1 peers no route reflector");
    assert_eq!(
        p.summary.lost_route_reflectors[0].before,
        ["Node_10_0_0_100"]
    );
    assert_eq!(p.summary.sessions_removed, 4);
}

#[test]
fn relabelled_reflector_and_new_node() {
    let before = rr_cluster();
    let relabel = node("rr1", "10.0.0.100", ", labels: {rr: 'no'}").replace(
        "ipv4Address: 10.0.0.100/24",
        "ipv4Address: 10.0.0.100/24, routeReflectorClusterID: 1.0.0.1",
    );
    let after = changed(&before, upserts(&relabel, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.lost_route_reflectors.len(), 2);

    let add = node("c", "10.0.0.3", "");
    let after = changed(&before, upserts(&add, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.nodes_added, ["c"]);
    let c = p.nodes.iter().find(|n| n.node == "c").unwrap();
    assert_eq!((c.node_change, c.sessions_after), (Some("added"), 1));
    let rr = p.nodes.iter().find(|n| n.node == "rr1").unwrap();
    assert_eq!(rr.added[0].name, "Node_10_0_0_3");
    assert_eq!(rr.added[0].origin, ["BGPPeer/to-rr"]);
}

#[test]
fn router_id_and_warnings() {
    let before = rr_cluster();
    let opts = PlanOptions {
        router_id: Some("hash".parse().unwrap()),
        ..Default::default()
    };
    let p = preview(&before, &before, &opts);
    assert!(
        p.nodes.is_empty(),
        "the same options on both sides change nothing"
    );
    let dup = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: to-rr-2}\nspec: {nodeSelector: '!has(rr)', peerSelector: rr == 'true', keepaliveTime: 10s}\n";
    let after = changed(&before, upserts(dup, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert!(
        p.summary
            .new_warnings
            .iter()
            .any(|w| w.resource == "BGPPeer/to-rr-2"),
        "{:?}",
        p.summary.new_warnings
    );
}

#[test]
fn a_pools_disable_bgp_export_reloads_every_session_on_every_node() {
    let pool = "kind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {cidr: 192.168.0.0/16}\n";
    let before = snapshot(&format!(
        "{}{}{}{pool}",
        node("a", "10.0.0.1", ""),
        node("b", "10.0.0.2", ""),
        node("c", "10.0.0.3", "")
    ));
    let disabled = pool.replace(
        "cidr: 192.168.0.0/16}",
        "cidr: 192.168.0.0/16, disableBGPExport: true}",
    );
    let after = changed(&before, upserts(&disabled, "c").unwrap());
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.nodes_touched, 3, "{p:#?}");
    assert_eq!(p.summary.sessions_reloaded, 6, "{p:#?}");
    assert_eq!(p.summary.sessions_reset, 0);
    let texts: Vec<&str> = p.nodes[0].reloaded[0]
        .changes
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("IP pools")), "{texts:?}");
}

#[test]
fn an_ipip_mode_change_shows_as_kernel_programming_on_every_node() {
    let pool = "kind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {cidr: 192.168.0.0/16, ipipMode: Never}\n";
    let before = snapshot(&format!(
        "{}{}{pool}",
        node("a", "10.0.0.1", ""),
        node("b", "10.0.0.2", "")
    ));
    let after = changed(
        &before,
        upserts(&pool.replace("Never", "Always"), "c").unwrap(),
    );
    let p = preview(&before, &after, &PlanOptions::default());
    assert_eq!(p.summary.nodes_touched, 2, "{p:#?}");
    assert_eq!(p.summary.sessions_reset + p.summary.sessions_reloaded, 0);
    for n in &p.nodes {
        assert_eq!(n.kernel, ["192.168.0.0/16: direct → through tunl0"]);
    }
}
