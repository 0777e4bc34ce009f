//! Behaviour, not text: Calico's own v3.32.1 config for the KubeVirt live-migration case,
//! run in upstream BIRD 1.6.8, and perch's config for the same node and cluster, run in BIRD
//! 2, each facing the same BIRD 2 peer (AS 64517) that injects the same routes. Both nodes
//! also have the same workload routes in their kernel (Felix's, at priorities 100, 200 and
//! normal 1024). The test asserts that both implementations do the same: the routes the peer
//! receives (AS path, communities, from the priority-100 and -200 workload routes only), the
//! routes each node imports (BIRD preference and LOCAL_PREF) and the kernel routes each node
//! programs (metric).
//!
//! BIRD 1.6.8 is Debian's `bird` package, which conflicts with `bird2`: `tests/run.sh`
//! unpacks it into `target/bird-1.6` (`apt-get download bird`, `dpkg-deb -x`); `PERCH_BIRD16`
//! names another `bird` 1.6 binary (its `birdc` must sit beside it).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use perch::plan::{PlanOptions, plan};
use perch::render::{Templates, render};
use support::bird::{Bird, wait_for};
use support::fixtures::{cases, corpus_root};
use support::netns::{Lan, Netns};

const CASE: &str = "bgpfilter/kubevirt_live_migration";
const NODE_CIDR: &str = "10.192.0.2/16";
const PEER_CIDR: &str = "10.192.0.3/16";

/// What the peer injects: 10.60 carries community 65000:100 (the import filter gives it
/// priority 100), 10.61 and 10.62 nothing special.
const PEER_CONFIG: &str = r#"
router id 10.192.0.3;
protocol device {}
protocol static injected {
  ipv4 {
    import filter {
      if net = 10.60.0.0/24 then bgp_community.add((65000, 100));
      accept;
    };
  };
  route 10.60.0.0/24 blackhole;
  route 10.61.0.0/24 blackhole;
  route 10.62.0.0/24 blackhole;
}
protocol bgp node {
  local as 64517;
  neighbor 10.192.0.2 as 64512;
  ipv4 { import all; export all; };
}
"#;

fn bird16() -> PathBuf {
    let path = std::env::var_os("PERCH_BIRD16").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bird-1.6/usr/sbin/bird"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "BIRD 1.6.8 not found at {}: run tests/run.sh (it unpacks Debian's bird package into \
         target/bird-1.6) or set PERCH_BIRD16",
        path.display()
    );
    path
}

/// A BIRD 1.6 daemon in a namespace, killed on drop.
struct Bird16 {
    socket: PathBuf,
    birdc: PathBuf,
    child: Child,
}

impl Bird16 {
    fn start(ns: &Netns, dir: &Path) -> Bird16 {
        let bird = bird16();
        let socket = dir.join("bird.ctl");
        let log = std::fs::File::create(dir.join("bird.log")).unwrap();
        let child = ns
            .command(bird.to_str().unwrap())
            .current_dir(dir)
            .args(["-f", "-c", "bird.cfg", "-s"])
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut b = Bird16 {
            socket,
            birdc: bird.with_file_name("birdc"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&b.socket).is_err() {
            if let Ok(Some(status)) = b.child.try_wait() {
                panic!(
                    "bird 1.6 exited ({status}): {}",
                    std::fs::read_to_string(dir.join("bird.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "bird 1.6 did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        b
    }

    fn birdc(&self, args: &[&str]) -> String {
        let out = Command::new(&self.birdc)
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bird16 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One side of the comparison: a node and its peer on their own LAN.
struct Side {
    node: Netns,
    peer_bird: Bird,
    _peer: Netns,
    _lan: Lan,
}

fn side(tmp: &Path, name: &str) -> Side {
    let lan = Lan::new();
    let (node, peer) = (Netns::new("cn"), Netns::new("cp"));
    lan.attach(&node, NODE_CIDR);
    lan.attach(&peer, PEER_CIDR);
    // Felix's workload routes: priority 100 and 200 (live migration) and normal.
    // A workload interface (a veth pair: the kernel may have no dummy module).
    node.ip(&[
        "link", "add", "cali0", "type", "veth", "peer", "name", "wl0",
    ])
    .unwrap();
    node.ip(&["link", "set", "wl0", "up"]).unwrap();
    node.ip(&["link", "set", "cali0", "up"]).unwrap();
    for (dst, metric) in [
        ("192.168.221.70/32", "100"),
        ("192.168.221.80/32", "200"),
        ("192.168.221.90/32", "1024"),
    ] {
        node.ip(&["route", "add", dst, "dev", "cali0", "metric", metric])
            .unwrap();
    }
    let dir = tmp.join(format!("{name}-peer"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut peer_bird = Bird::paths(&dir);
    std::fs::write(&peer_bird.config, PEER_CONFIG).unwrap();
    peer_bird.start(&peer);
    Side {
        node,
        peer_bird,
        _peer: peer,
        _lan: lan,
    }
}

/// `prefix → attribute lines` of `show route … all` output (BIRD 1.6 or 2), keeping the
/// BIRD preference and the BGP attributes.
fn routes(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('/') && first.parse::<ipnet::IpNet>().is_ok() {
            let pref = line
                .split('(')
                .nth(1)
                .and_then(|r| r.split([')', '/']).next())
                .unwrap_or("?");
            out.entry(first.to_owned())
                .or_default()
                .push(format!("preference {pref}"));
            current = Some(first.to_owned());
        } else if let Some(attr) = line.trim().strip_prefix("BGP.")
            && let Some(c) = &current
            && !attr.starts_with("next_hop")
        {
            out.get_mut(c).unwrap().push(attr.to_owned());
        }
    }
    out
}

fn kernel_metrics(ns: &Netns, prefixes: &[&str]) -> BTreeMap<String, String> {
    prefixes
        .iter()
        .map(|p| {
            let out = ns
                .command("ip")
                .args(["route", "show", p])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let metric = text
                .split_whitespace()
                .skip_while(|w| *w != "metric")
                .nth(1)
                .unwrap_or(if text.trim().is_empty() {
                    "absent"
                } else {
                    "0"
                })
                .to_owned();
            ((*p).to_owned(), metric)
        })
        .collect()
}

#[test]
fn calicos_own_config_in_bird_1_6_and_perchs_in_bird_2_route_alike() {
    let root = corpus_root().expect("the Calico fixture corpus (../shared/calico-fixtures)");
    let case = cases(&root, "cases-v3.32.1.json")
        .into_iter()
        .find(|c| c.name() == CASE)
        .unwrap();
    let mut snapshot = case.preloaded();
    case.apply_step(&mut snapshot, 0);
    let expected = case
        .base()
        .join(case.steps()[0]["expect"].as_str().unwrap());
    let tmp = tempfile::tempdir().unwrap();

    // Calico: its files as they are, minus the fork-only krt_tunnel statements.
    let calico = side(tmp.path(), "calico");
    let cdir = tmp.path().join("calico-node");
    std::fs::create_dir_all(&cdir).unwrap();
    for f in ["bird.cfg", "bird_aggr.cfg", "bird_ipam.cfg"] {
        let text = std::fs::read_to_string(expected.join(f)).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.contains("krt_tunnel"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(cdir.join(f), text).unwrap();
    }
    let calico_node = Bird16::start(&calico.node, &cdir);

    // perch: what `perch render` prints for the same node and cluster.
    let perch_side = side(tmp.path(), "perch");
    let pdir = tmp.path().join("perch-node");
    std::fs::create_dir_all(&pdir).unwrap();
    let mut perch_node = Bird::paths(&pdir);
    let p = plan(&snapshot, case.node(), &PlanOptions::default());
    std::fs::write(
        &perch_node.config,
        render(&p, &snapshot, &Templates::builtin()).unwrap(),
    )
    .unwrap();
    perch_node.start(&perch_side.node);

    let injected = ["10.60.0.0/24", "10.61.0.0/24", "10.62.0.0/24"];
    let imported = |show: &dyn Fn() -> String| {
        wait_for(Duration::from_secs(40), "the peer's three routes", || {
            let r = routes(&show());
            injected.iter().all(|p| r.contains_key(*p)).then_some(r)
        })
    };
    let calico_imported = imported(&|| calico_node.birdc(&["show", "route", "all"]));
    let perch_imported = imported(&|| perch_node.birdc(&["show", "route", "all"]));
    for p in injected {
        assert_eq!(
            calico_imported[p], perch_imported[p],
            "{p} as imported: Calico (BIRD 1.6) vs perch (BIRD 2)"
        );
    }
    // The community → setPriority 100 → LOCAL_PREF chain, in both. (The rule's `accept;`
    // ends the whole import filter in both BIRDs, so the preamble's `preference = 200`
    // after the call never runs for it: Calico's behaviour, kept.)
    assert!(
        perch_imported["10.60.0.0/24"].contains(&format!("local_pref: {}", 2147483647 - 100)),
        "{perch_imported:?}"
    );

    let exported = |b: &Bird| {
        wait_for(
            Duration::from_secs(20),
            "the node's exports at the peer",
            || {
                let r = routes(&b.birdc(&["show", "route", "protocol", "node", "all"]));
                (r.len() >= 2).then_some(r)
            },
        )
    };
    let (mut c, q) = (exported(&calico.peer_bird), exported(&perch_side.peer_bird));
    // The one difference, a BIRD 2 adaptation (README): on an eBGP session BIRD 1.6 has
    // already put the local AS on the path when the export filter prepends, BIRD 2 adds it
    // afterwards. Calico's 192.168.221.80/32 reaches the peer as `65000 64512`, perch's as
    // `64512 65000`.
    let prepended = c.get_mut("192.168.221.80/32").unwrap();
    assert!(
        prepended.contains(&"as_path: 65000 64512".to_owned()),
        "{prepended:?}"
    );
    for a in prepended.iter_mut() {
        if a == "as_path: 65000 64512" {
            *a = "as_path: 64512 65000".to_owned();
        }
    }
    assert_eq!(
        c, q,
        "what the peer receives: Calico (BIRD 1.6) vs perch (BIRD 2)"
    );
    assert!(
        q.contains_key("192.168.221.70/32") && q.contains_key("192.168.221.80/32"),
        "{q:?}"
    );

    let kernel = |ns: &Netns| {
        wait_for(Duration::from_secs(10), "kernel routes", || {
            let m = kernel_metrics(ns, &injected);
            m.values().all(|v| v != "absent").then_some(m)
        })
    };
    let (c, q) = (kernel(&calico.node), kernel(&perch_side.node));
    assert_eq!(c, q, "kernel metrics: Calico (BIRD 1.6) vs perch (BIRD 2)");
    assert_eq!(q["10.60.0.0/24"], "100", "{q:?}");
}
