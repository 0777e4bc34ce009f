//! Calico v3.32's route policy in a real BIRD 2: two nodes in network namespaces, each
//! running the config `perch render` makes for it, peered by a global BGPPeer that carries a
//! v3.32 BGPFilter. Asserts what BIRD does with the routes, not what the text says: the
//! exporting node's filter adds a community, prepends the AS path and sets a priority; the
//! importing node's preamble turns the raised LOCAL_PREF into `preference = 200`, and its
//! kernel filter programs the route with the metric that LOCAL_PREF stands for; a route at
//! normal priority arrives with LOCAL_PREF 2147483647 − 1024 and kernel metric 1024. (BIRD 2
//! writes its kernel protocol's `metric`, 32 by default, for every route unless that is 0:
//! this test is what showed it.)

mod support;

use std::process::Command;
use std::time::Duration;

use support::bird::wait_for;
use support::pair::{Pair, render_for};

/// Two nodes without the mesh, n1's blocks (`name`, `cidr`), the BGPFilter `filter` (its
/// YAML, named `name`) and a global BGPPeer that uses it.
fn two_nodes(blocks: &[(&str, &str)], name: &str, filter: &str) -> String {
    let mut y = String::from(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n\
         spec: {nodeToNodeMeshEnabled: false}\n",
    );
    for n in 1..=2 {
        y += &format!(
            "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: n{n}}}\n\
             spec: {{bgp: {{ipv4Address: 10.99.0.{n}/24}}}}\n"
        );
    }
    for (block, cidr) in blocks {
        y += &format!(
            "---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {{name: {block}}}\n\
             spec: {{node: n1, cidr: {cidr}, state: confirmed}}\n"
        );
    }
    y += &format!(
        "---\napiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {{name: {name}}}\n{filter}\
         ---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: all-nodes}}\n\
         spec:\n  peerSelector: all()\n  filters: [{name}]\n"
    );
    y
}

/// n1 originates two blocks; the filter raises the first one's priority on export.
fn raise() -> String {
    two_nodes(
        &[("n1-a", "192.168.1.0/26"), ("n1-b", "192.168.2.0/26")],
        "raise",
        "\
spec:
  exportV4:
    - action: Accept
      matchOperator: Equal
      cidr: 192.168.1.0/26
      peerType: iBGP
      operations:
        - addCommunity: {value: \"65000:100\"}
        - prependASPath: {prefix: [65000, 65001]}
        - setPriority: {value: 512}
",
    )
}

fn route(pair: &Pair, prefix: &str) -> Option<String> {
    let out = pair.b2.birdc(&["show", "route", prefix, "all"]);
    out.contains("BGP.local_pref").then_some(out)
}

fn kernel_route(pair: &Pair, prefix: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["-n", &pair.ns2.name, "route", "show", prefix])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (!text.trim().is_empty()).then_some(text)
}

#[test]
fn v3_32_priority_and_filter_operations_act_in_bird() {
    let pair = Pair::start(&raise(), &[]);
    // n2 already runs its rendered config; give n1 its own.
    render_for(&pair.resources, &pair.secrets, "n1", &pair.b1.config);
    let reply = pair.b1.birdc(&["configure"]);
    assert!(reply.contains("Reconfigured"), "n1 configure: {reply}");

    let raised = wait_for(Duration::from_secs(30), "192.168.1.0/26 on n2", || {
        route(&pair, "192.168.1.0/26")
    });
    // The filter's operations, in BIRD's own words.
    assert!(raised.contains("BGP.community: (65000,100)"), "{raised}");
    assert!(raised.contains("BGP.as_path: 65000 65001"), "{raised}");
    assert!(
        raised.contains(&format!("BGP.local_pref: {}", 2147483647 - 512)),
        "{raised}"
    );
    // The import preamble: above normal priority, preference 200.
    assert!(
        raised.contains("(200)"),
        "preference 200 expected: {raised}"
    );

    let normal = wait_for(Duration::from_secs(30), "192.168.2.0/26 on n2", || {
        route(&pair, "192.168.2.0/26")
    });
    assert!(
        normal.contains(&format!("BGP.local_pref: {}", 2147483647 - 1024)),
        "{normal}"
    );
    assert!(!normal.contains("BGP.community"), "{normal}");
    assert!(
        normal.contains("(100)"),
        "default preference expected: {normal}"
    );

    // The kernel filter: the metric the LOCAL_PREF stands for.
    let k = wait_for(
        Duration::from_secs(10),
        "192.168.1.0/26 in n2's kernel",
        || kernel_route(&pair, "192.168.1.0/26"),
    );
    assert!(
        k.contains("metric 512"),
        "{k}\nwhat BIRD exports to the kernel:\n{}",
        pair.b2
            .birdc(&["show", "route", "export", "kernel4", "all"])
    );
    let k = wait_for(
        Duration::from_secs(10),
        "192.168.2.0/26 in n2's kernel",
        || kernel_route(&pair, "192.168.2.0/26"),
    );
    assert!(k.contains("metric 1024"), "{k}");
}

/// n1 originates three blocks; n2 imports through a BGPFilter whose second rule Calico's
/// validator refuses (`prefixLength.max` 8 is shorter than the cidr's /16).
fn one_bad_rule() -> String {
    two_nodes(
        &[
            ("n1-a", "192.168.1.0/26"),
            ("n1-b", "192.168.2.0/26"),
            ("n1-c", "172.16.5.0/26"),
        ],
        "one-bad-rule",
        "\
spec:
  importV4:
    - {action: Accept, matchOperator: Equal, cidr: 192.168.1.0/26}
    - {action: Accept, matchOperator: In, cidr: 192.168.0.0/16, prefixLength: {max: 8}}
    - {action: Accept}
",
    )
}

/// `(received, filtered, accepted)` import updates of the protocol, from `show protocols all`.
fn import_updates(pair: &Pair, protocol: &str) -> Option<(u64, u64, u64)> {
    let out = pair.b2.birdc(&["show", "protocols", "all", protocol]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Import updates:"))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // received, rejected, filtered, ignored, accepted
    (n.len() == 5).then(|| (n[0], n[2], n[4]))
}

#[test]
fn an_invalid_filter_rule_rejects_its_routes_and_the_other_rules_still_apply() {
    // What perch plans and renders for n2: the bad rule alone becomes a reject, with a warning.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("cluster.yaml"), one_bad_rule()).unwrap();
    let resources = tmp.path().to_str().unwrap();
    let (ok, json, err) =
        support::pair::perch_cli(&["plan", "-r", resources, "-n", "n2", "-o", "json"]);
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let warning = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["resource"] == "BGPFilter/one-bad-rule")
        .unwrap_or_else(|| panic!("no warning on the filter: {json}"));
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "spec.importV4[1].prefixLength.max 8 is shorter than the cidr's prefix length 16"
        ) && message
            .contains("rejects routes in 192.168.0.0/16 (any prefix length) instead of accepting"),
        "{message}"
    );
    let rule = &plan["sessionPolicy"]["filterFunctions"][0]["rules"][1];
    assert_eq!(rule["action"], "reject", "{rule}");
    assert_eq!(
        rule["matches"][0]["prefix"]["cidr"], "192.168.0.0/16",
        "{rule}"
    );
    let (ok, explained, err) = support::pair::perch_cli(&["explain", "-r", resources, "-n", "n2"]);
    assert!(ok, "{err}");
    assert!(
        explained.contains("spec.importV4[1]")
            && explained.contains("rejects routes in 192.168.0.0/16"),
        "{explained}"
    );

    let pair = Pair::start(&one_bad_rule(), &[]);
    let config = std::fs::read_to_string(&pair.b2.config).unwrap();
    assert!(
        config.contains("if ((net ~ 192.168.0.0/16)) then { reject; }"),
        "{config}"
    );
    let sessions = pair.b2.bgp_protocols();
    assert_eq!(sessions.len(), 1, "BIRD took n2's config: {sessions:?}");
    render_for(&pair.resources, &pair.secrets, "n1", &pair.b1.config);
    let reply = pair.b1.birdc(&["configure"]);
    assert!(reply.contains("Reconfigured"), "n1 configure: {reply}");

    // Every update from n1 judged by n2's import filter: three received, none pending.
    let (received, filtered, accepted) = wait_for(
        Duration::from_secs(30),
        "n2 to judge n1's three blocks",
        || import_updates(&pair, &sessions[0]).filter(|&(r, f, a)| r >= 3 && f + a >= r),
    );
    assert_eq!((received, filtered, accepted), (3, 1, 2));
    // The rule before the invalid one still accepts its route; the rule after it still runs.
    assert!(route(&pair, "192.168.1.0/26").is_some());
    assert!(route(&pair, "172.16.5.0/26").is_some());
    // The invalid rule's route is rejected.
    assert!(
        route(&pair, "192.168.2.0/26").is_none(),
        "{}",
        pair.b2.birdc(&["show", "route", "192.168.2.0/26", "all"])
    );
}
