//! Confirmed apply (`perch run --confirm-window`): a change that breaks a live session is
//! undone by BIRD and reported, and the session returns; a good change is confirmed.

mod support;

use std::time::Duration;

use support::bird::wait_for;
use support::pair::Pair;
use support::perch::Perch;
use support::yaml::{default_config, documents, nodes};

fn cluster() -> String {
    documents([default_config("{asNumber: 64512}"), nodes(2)])
}

fn established(p: &Pair, name: &str) -> bool {
    p.b1.birdc(&["show", "protocols", name])
        .lines()
        .any(|l| l.starts_with(name) && l.contains("Established"))
}

#[test]
fn a_breaking_change_is_undone_and_a_good_one_confirmed() {
    let pair = Pair::start(&cluster(), &[]);
    let perch = Perch::start(
        &pair.run_args(&["--confirm-window", "6s", "--resync-interval", "500ms"]),
        &[],
        pair.dir().join("perch.log"),
    );
    wait_for(Duration::from_secs(30), "the mesh session", || {
        established(&pair, "Mesh_10_99_0_2").then_some(())
    });

    // A good change: a new peer; the live session stays up, so the config is confirmed.
    // (Resyncs every 500 ms overwrite lastApply, so progress is read from the counters.)
    let before = perch.status()["reconfigures"].as_u64().unwrap();
    pair.write_resources(
        "tor.yaml",
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\nspec: {peerIP: 10.99.0.254, asNumber: 65001}\n",
    );
    let st = perch.wait_status(Duration::from_secs(20), "the good change confirmed", |st| {
        st["reconfigures"].as_u64().unwrap() > before
            && st["peers"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|x| x["name"] == "Global_10_99_0_254" && x["inBird"] == true)
            })
    });
    assert!(st["lastApply"]["error"].is_null(), "{}", st["lastApply"]);
    assert_ne!(
        st["lastApply"]["result"], "rolled_back",
        "{}",
        st["lastApply"]
    );
    let cs = pair.b1.birdc(&["configure", "status"]);
    assert!(
        !cs.contains("undo in"),
        "no undo pending after confirm: {cs}"
    );

    // A breaking change: n1 now expects AS 65002 from n2, which still runs AS 64512.
    let broken = cluster().replace(
        "metadata: {name: n2}\nspec: {bgp: {",
        "metadata: {name: n2}\nspec: {bgp: {asNumber: 65002, ",
    );
    pair.write_resources("cluster.yaml", &broken);
    let st = perch.wait_status(
        Duration::from_secs(30),
        "the breaking change rolled back",
        |st| st["lastApply"]["result"] == "rolled_back",
    );
    let err = st["lastApply"]["error"].as_str().unwrap();
    assert!(
        err.contains("Mesh_10_99_0_2") && err.contains("undone"),
        "{err}"
    );
    wait_for(
        Duration::from_secs(30),
        "the session back after the undo",
        || established(&pair, "Mesh_10_99_0_2").then_some(()),
    );
    let running = pair
        .b1
        .birdc(&["show", "protocols", "all", "Mesh_10_99_0_2"]);
    assert!(
        running.contains("Neighbor AS:      64512"),
        "BIRD runs the previous config again: {running}"
    );
    let on_disk = std::fs::read_to_string(&pair.b1.config).unwrap();
    assert!(
        !on_disk.contains("as 65002"),
        "the undone config is not left on disk"
    );

    // The same (bad) config is held back rather than retried in a loop.
    let applies = st["applies"].as_u64().unwrap();
    let reconfigures = st["reconfigures"].as_u64().unwrap();
    let st = perch.wait_status(Duration::from_secs(10), "later resyncs", |st| {
        st["applies"].as_u64().unwrap() >= applies + 2
    });
    assert_eq!(st["lastApply"]["result"], "rolled_back");
    assert_eq!(
        st["reconfigures"].as_u64().unwrap(),
        reconfigures,
        "BIRD was not asked again"
    );
    assert!(established(&pair, "Mesh_10_99_0_2"));
}
