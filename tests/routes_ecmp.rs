//! Multipath (ECMP) routes through `perch routes` and `perch explain … route`, with real BIRDs
//! and kernel tables: two nodes on loopback addresses joined by two links, each reaching the
//! other's address over an ECMP route. n1's BIRD resolves n2's block (BGP next hop n2's
//! address, `gateway recursive`) to both links and installs a two-path kernel route.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::bird::{Bird, wait_for};
use support::netns::Netns;
use support::pair::render_for;

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: true, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.97.0.1/32}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.97.0.2/32}}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n1-1}
spec: {node: n1, cidr: 10.244.1.0/26, state: confirmed}
---
kind: BlockAffinity
apiVersion: projectcalico.org/v3
metadata: {name: n2-1}
spec: {node: n2, cidr: 10.244.2.0/26, state: confirmed}
";

/// Two namespaces, two links (`up1` 10.98.1.0/24, `up2` 10.98.2.0/24), each node's address on
/// its loopback and an ECMP route to the other's; both BIRDs running perch's config.
struct Ecmp {
    _tmp: tempfile::TempDir,
    resources: std::path::PathBuf,
    ns1: Netns,
    b1: Bird,
    _ns2: Netns,
    _b2: Bird,
}

fn ecmp_pair() -> Ecmp {
    support::bird::require_bird();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let resources = dir.join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(resources.join("cluster.yaml"), CLUSTER).unwrap();
    let (ns1, ns2) = (Netns::new("ea"), Netns::new("eb"));
    ns1.add_loopback_address("10.97.0.1/32");
    ns2.add_loopback_address("10.97.0.2/32");
    for i in 1..=2 {
        let link = format!("up{i}");
        ns1.ip(&[
            "link", "add", &link, "type", "veth", "peer", "name", &link, "netns", &ns2.name,
        ])
        .unwrap();
        for (ns, host) in [(&ns1, 1), (&ns2, 2)] {
            ns.ip(&["addr", "add", &format!("10.98.{i}.{host}/24"), "dev", &link])
                .unwrap();
            ns.ip(&["link", "set", &link, "up"]).unwrap();
        }
    }
    for (ns, other, host) in [(&ns1, "10.97.0.2/32", 2), (&ns2, "10.97.0.1/32", 1)] {
        ns.ip(&[
            "route",
            "add",
            other,
            "nexthop",
            "via",
            &format!("10.98.1.{host}"),
            "nexthop",
            "via",
            &format!("10.98.2.{host}"),
        ])
        .unwrap();
    }
    let mut birds = Vec::new();
    for (node, ns) in [("n1", &ns1), ("n2", &ns2)] {
        let d = dir.join(node);
        std::fs::create_dir_all(&d).unwrap();
        let mut b = Bird::paths(&d);
        render_for(&resources, &dir.join("secrets"), node, &b.config);
        let mut config = std::fs::read_to_string(&b.config).unwrap();
        assert!(
            config.contains("merge paths on"),
            "perch's kernel protocol merges paths"
        );
        // The ECMP route to the other node in BIRD too (as an IGP would bring it), so that
        // BIRD resolves the BGP next hop whether or not its kernel protocol runs.
        let (other, host) = if node == "n1" {
            ("10.97.0.2", 2)
        } else {
            ("10.97.0.1", 1)
        };
        config += &format!(
            "\nprotocol static igp4 {{\n  ipv4;\n  route {other}/32 via 10.98.1.{host} via 10.98.2.{host};\n}}\n"
        );
        std::fs::write(&b.config, config).unwrap();
        b.start(ns);
        birds.push(b);
    }
    let b2 = birds.pop().unwrap();
    let b1 = birds.pop().unwrap();
    Ecmp {
        _tmp: tmp,
        resources,
        ns1,
        b1,
        _ns2: ns2,
        _b2: b2,
    }
}

impl Ecmp {
    /// `ip route show 10.244.2.0/26` in n1's namespace.
    fn kernel_route(&self) -> String {
        let out = self
            .ns1
            .command("ip")
            .args(["route", "show", "10.244.2.0/26"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `perch ARGS -n n1 -r RESOURCES --bird-socket …` in n1's namespace: (exit code, stdout).
    fn perch(&self, args: &[&str], tail: &[&str]) -> (Option<i32>, String) {
        let out = self
            .ns1
            .command(support::perch::binary().to_str().unwrap())
            .args(args)
            .args(["-n", "n1", "-r"])
            .arg(&self.resources)
            .arg("--bird-socket")
            .arg(&self.b1.socket)
            .args(tail)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 3),
            "perch {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), stdout)
    }

    /// `perch routes -o json --exit-code`: (exit code, n2's block's report).
    fn routes(&self) -> (Option<i32>, Value) {
        let (code, stdout) = self.perch(&["routes", "-o", "json", "--exit-code"], &[]);
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["kernelChecked"], true, "{v}");
        let block = v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["prefix"] == "10.244.2.0/26")
            .unwrap_or_else(|| panic!("{v}"))
            .clone();
        (code, block)
    }
}

#[test]
fn a_block_with_two_paths_in_bird_and_the_kernel_is_ok_and_a_changed_path_is_not() {
    let lab = ecmp_pair();
    // BIRD's route and the kernel's, each with both paths.
    let kernel = wait_for(
        Duration::from_secs(30),
        "n1's kernel route to n2's block over both links",
        || {
            let k = lab.kernel_route();
            (k.matches("nexthop via").count() == 2).then_some(k)
        },
    );
    assert!(
        kernel.contains("via 10.98.1.2 dev up1") && kernel.contains("via 10.98.2.2 dev up2"),
        "{kernel}"
    );
    let bird = lab
        .b1
        .birdc(&["show", "route", "all", "for", "10.244.2.0/26"]);
    assert!(
        bird.contains("via 10.98.1.2 on up1 weight 1")
            && bird.contains("via 10.98.2.2 on up2 weight 1")
            && bird.contains("BGP.next_hop: 10.97.0.2"),
        "{bird}"
    );

    let (code, block) = lab.routes();
    assert_eq!(block["verdict"], "ok", "{block}");
    assert_eq!(code, Some(0), "every route ok: {block}");
    assert_eq!(
        block["paths"],
        serde_json::json!([
            {"gateway": "10.98.1.2", "interface": "up1", "weight": 1},
            {"gateway": "10.98.2.2", "interface": "up2", "weight": 1}
        ]),
        "{block}"
    );
    assert_eq!(
        block["kernel"],
        serde_json::json!([
            "10.244.2.0/26 via 10.98.1.2 dev up1 proto bird",
            "10.244.2.0/26 via 10.98.2.2 dev up2 proto bird"
        ]),
        "{block}"
    );
    let (_, explained) = lab.perch(&["explain"], &["route", "10.244.2.5"]);
    for line in [
        "route 10.244.2.0/26 on n1 (holds 10.244.2.5): ok",
        "BIRD's best route has 2 paths (ECMP), each expected in the kernel:",
        "    via 10.98.1.2 on up1 weight 1",
        "    via 10.98.2.2 on up2 weight 1",
    ] {
        assert!(explained.contains(line), "{line:?} in:\n{explained}");
    }

    // BIRD stops syncing the kernel (its routes stay: `persist`), and the kernel's route is
    // changed by hand: first one path lacking, then a path BIRD does not have.
    let reply = lab.b1.birdc(&["disable", "kernel4"]);
    assert!(reply.contains("disabled"), "{reply}");
    let replace = |nexthops: &[&str]| {
        lab.ns1
            .ip(&["route", "flush", "exact", "10.244.2.0/26"])
            .unwrap();
        let mut args = vec!["route", "add", "10.244.2.0/26", "proto", "bird"];
        for gw in nexthops {
            args.extend(["nexthop", "via", gw]);
        }
        lab.ns1.ip(&args).unwrap();
        let paths = lab.kernel_route().matches(" via ").count();
        assert_eq!(paths, nexthops.len(), "{}", lab.kernel_route());
    };
    replace(&["10.98.2.2"]);
    let (code, block) = lab.routes();
    assert_eq!(block["verdict"], "missingInKernel", "{block}");
    assert_eq!(code, Some(3), "{block}");
    let message = block["cause"]["message"].as_str().unwrap();
    assert!(message.contains("lacks via 10.98.1.2"), "{message}");

    replace(&["10.98.1.2", "10.98.2.2", "10.98.1.9"]);
    let (_, block) = lab.routes();
    assert_eq!(block["verdict"], "wrongNextHop", "{block}");
    let message = block["cause"]["message"].as_str().unwrap();
    assert!(
        message.contains("via 10.98.1.9 dev up1") && message.contains("one of its 3 paths"),
        "{message}"
    );
}
