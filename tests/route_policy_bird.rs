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

const CLUSTER: &str = "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.99.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.99.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: n1-a}
spec: {node: n1, cidr: 192.168.1.0/26, state: confirmed}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: n1-b}
spec: {node: n1, cidr: 192.168.2.0/26, state: confirmed}
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: raise}
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
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: all-nodes}
spec:
  peerSelector: all()
  filters: [raise]
";

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
    let pair = Pair::start(CLUSTER, &[]);
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
