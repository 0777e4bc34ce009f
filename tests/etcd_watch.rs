//! The etcd datastore against a real etcd: listing at one revision, following with a watch,
//! and never losing an event across restarts and compactions.

mod support;

use std::time::Duration;

use perch::datastore::etcd::load_snapshot;
use support::etcd::Etcd;
use support::follow::Follow;

const ROOT: &str = "/calico/resources/v3/projectcalico.org";
const NODE: &str = "node-a";

fn peer(name: &str, ip: &str, asn: u32) -> String {
    format!(
        r#"{{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}"}},"spec":{{"peerIP":"{ip}","asNumber":{asn}}}}}"#
    )
}

fn node(name: &str, ip: &str) -> String {
    format!(
        r#"{{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}"}},"spec":{{"bgp":{{"ipv4Address":"{ip}/24","asNumber":65001}}}}}}"#
    )
}

fn affinity_key(node: &str, block: &str) -> String {
    format!("/calico/ipam/v2/host/{node}/ipv4/block/{block}")
}

/// A small cluster: nodes, a peer, the default config, a pool, affinities for two nodes, a
/// kind perch does not read, and one undecodable value.
fn seed(etcd: &Etcd) {
    etcd.put(
        &format!("{ROOT}/nodes/node-a"),
        &node("node-a", "10.0.0.11"),
    );
    etcd.put(
        &format!("{ROOT}/nodes/node-b"),
        &node("node-b", "10.0.0.12"),
    );
    etcd.put(
        &format!("{ROOT}/bgppeers/tor"),
        &peer("tor", "10.0.0.1", 65000),
    );
    etcd.put(
        &format!("{ROOT}/bgpconfigurations/default"),
        r#"{"kind":"BGPConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"asNumber":65001,"nodeToNodeMeshEnabled":true}}"#,
    );
    etcd.put(
        &format!("{ROOT}/ippools/default-pool"),
        r#"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-pool"},"spec":{"cidr":"10.65.0.0/16"}}"#,
    );
    etcd.put(
        &affinity_key("node-a", "10.65.0.0-26"),
        r#"{"state":"confirmed","deleted":false}"#,
    );
    etcd.put(
        &affinity_key("node-b", "10.65.0.64-26"),
        r#"{"state":"confirmed","deleted":false}"#,
    );
    etcd.put(
        &format!("{ROOT}/felixconfigurations/default"),
        r#"{"kind":"FelixConfiguration"}"#,
    );
    etcd.put(&format!("{ROOT}/bgppeers/broken"), "{this is not json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_is_one_revision_and_undecodable_values_name_their_key() {
    let etcd = Etcd::start();
    seed(&etcd);
    let (s, revision) = load_snapshot(&etcd.config(), NODE).await.expect("list");
    assert_eq!(
        revision,
        etcd.revision(),
        "the list is read at the current revision"
    );
    assert_eq!(s.nodes.len(), 2, "every node is read");
    assert!(s.bgp_peers.contains_key("tor") && s.ip_pools.contains_key("default-pool"));
    assert!(s.bgp_configurations.contains_key("default"));
    let affinities: Vec<_> = s
        .block_affinities
        .values()
        .map(|a| a.spec.cidr.as_str())
        .collect();
    assert_eq!(
        affinities,
        ["10.65.0.0/26"],
        "only this node's block affinities are read"
    );
    let broken = s
        .skipped
        .get("BGPPeer/broken")
        .expect("the broken value is a warning");
    let text = broken.to_string();
    assert!(
        text.contains(&format!("{ROOT}/bgppeers/broken")) && text.contains("not JSON"),
        "the warning names the etcd key and why: {text}"
    );
    assert_eq!(
        s.skipped.len(),
        1,
        "other kinds are ignored, not warned about"
    );
    let tor = &s.bgp_peers["tor"];
    assert!(
        tor.metadata
            .resource_version
            .as_deref()
            .is_some_and(|v| v.parse::<i64>().is_ok()),
        "resourceVersion is the key's mod revision"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_and_deletes_in_etcd_become_the_right_events() {
    let etcd = Etcd::start();
    seed(&etcd);
    let cfg = etcd.config();
    let mut f = Follow::start(cfg.clone(), NODE);
    f.until_matches("the initial list", &cfg).await;
    assert_eq!(f.seen[0], "init", "the follower starts with a full list");
    let wait = Duration::from_secs(10);

    etcd.put(
        &format!("{ROOT}/bgppeers/spine"),
        &peer("spine", "10.0.1.1", 65100),
    );
    let rev = etcd.revision().to_string();
    f.until("a new peer is upserted", wait, |f| {
        f.synced() && f.snapshot.bgp_peers.contains_key("spine")
    })
    .await;
    assert_eq!(
        f.snapshot.bgp_peers["spine"]
            .metadata
            .resource_version
            .as_deref(),
        Some(rev.as_str()),
        "a watched resource carries its mod revision"
    );

    etcd.put(
        &format!("{ROOT}/bgppeers/tor"),
        &peer("tor", "10.0.0.1", 65099),
    );
    f.until("an update replaces the peer", wait, |f| {
        f.snapshot.bgp_peers["tor"].spec.as_number.map(|a| a.get()) == Some(65099)
    })
    .await;

    etcd.del(&format!("{ROOT}/bgppeers/tor"));
    f.until("a delete removes the peer", wait, |f| {
        !f.snapshot.bgp_peers.contains_key("tor")
    })
    .await;

    etcd.put(
        &affinity_key(NODE, "10.65.1.0-26"),
        r#"{"state":"confirmed","deleted":false}"#,
    );
    f.until("this node's new affinity appears", wait, |f| {
        f.snapshot.block_affinities.len() == 2
    })
    .await;
    etcd.del(&affinity_key(NODE, "10.65.0.0-26"));
    f.until("a deleted affinity disappears", wait, |f| {
        f.snapshot.block_affinities.len() == 1
    })
    .await;

    etcd.put(
        &format!("{ROOT}/bgppeers/broken"),
        &peer("broken", "10.0.2.1", 65200),
    );
    f.until("a fixed value replaces its warning", wait, |f| {
        f.snapshot.skipped.is_empty() && f.snapshot.bgp_peers.contains_key("broken")
    })
    .await;
    etcd.put(&format!("{ROOT}/nodes/node-b"), "[1, 2");
    f.until(
        "a value broken by a watch event becomes a warning",
        wait,
        |f| {
            f.snapshot.skipped.contains_key("Node/node-b")
                && !f.snapshot.nodes.contains_key("node-b")
        },
    )
    .await;

    f.until_matches("the followed snapshot equals a fresh list", &cfg)
        .await;
    assert_eq!(f.count("init"), 1, "no re-list without a reason");
    assert_eq!(f.count("unavailable"), 0);
    f.stop().await;
}

/// Stops etcd, makes changes through another port the follower does not use, and starts it
/// again where the follower expects it; optionally compacts away the revisions it missed.
fn change_while_follower_is_cut_off(etcd: &mut Etcd, compact: bool) {
    let side = etcd.restart_elsewhere();
    let put = |key: &str, value: &str| etcd.etcdctl_at(&side, &["put", key, value]);
    put(
        &format!("{ROOT}/bgppeers/added-while-down"),
        &peer("added-while-down", "10.0.3.1", 65300),
    );
    put(
        &format!("{ROOT}/nodes/node-a"),
        &node("node-a", "10.0.0.21"),
    );
    etcd.etcdctl_at(&side, &["del", &format!("{ROOT}/bgppeers/tor")]);
    put(
        &affinity_key(NODE, "10.65.2.0-26"),
        r#"{"state":"confirmed","deleted":false}"#,
    );
    if compact {
        etcd.compact_at(&side);
    }
    etcd.restart();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_watch_loses_no_event() {
    let mut etcd = Etcd::start();
    seed(&etcd);
    let cfg = etcd.config();
    let mut f = Follow::start(cfg.clone(), NODE);
    f.until_matches("the initial list", &cfg).await;

    etcd.stop();
    f.until("the outage is reported", Duration::from_secs(30), |f| {
        f.count("unavailable") == 1
    })
    .await;
    change_while_follower_is_cut_off(&mut etcd, false);
    f.until_matches(
        "the watch resumes with every change made while it was down",
        &cfg,
    )
    .await;
    assert_eq!(
        f.count("unavailable"),
        1,
        "one Unavailable per outage, not per retry"
    );
    assert_eq!(
        f.count("init"),
        1,
        "resumed from the last revision: no re-list needed"
    );

    etcd.put(
        &format!("{ROOT}/bgppeers/after"),
        &peer("after", "10.0.4.1", 65400),
    );
    f.until(
        "changes after the restart still arrive",
        Duration::from_secs(10),
        |f| f.snapshot.bgp_peers.contains_key("after"),
    )
    .await;
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_while_behind_relists_atomically() {
    let mut etcd = Etcd::start();
    seed(&etcd);
    let cfg = etcd.config();
    let mut f = Follow::start(cfg.clone(), NODE);
    f.until_matches("the initial list", &cfg).await;
    let before = f.seen.len();

    etcd.stop();
    change_while_follower_is_cut_off(&mut etcd, true);
    f.until_matches("a re-list brings the snapshot up to date", &cfg)
        .await;
    assert_eq!(
        f.count("init"),
        2,
        "the compacted resume revision forces one re-list"
    );
    assert_eq!(
        f.count("unavailable"),
        1,
        "one Unavailable for the whole outage"
    );

    // After the outage: Init, items, InitDone, then Synced, with nothing in between.
    let after = &f.seen[before..];
    let init = after.iter().position(|s| s == "init").expect("a re-list");
    let done = after
        .iter()
        .position(|s| s == "done")
        .expect("the re-list completes");
    assert!(
        after[init + 1..done].iter().all(|s| s == "item"),
        "a re-list is never interleaved with other updates: {after:?}"
    );
    assert!(
        after[done + 1].starts_with("synced"),
        "Synced follows the re-list: {after:?}"
    );
    assert!(f.snapshot.bgp_peers.contains_key("added-while-down"));
    assert!(
        !f.snapshot.bgp_peers.contains_key("tor"),
        "a delete hidden by the compaction is seen"
    );
    assert_eq!(f.snapshot.block_affinities.len(), 2);
    f.stop().await;
}
