//! `perch run` end to end, against a real etcd and a real BIRD 2 (in a network namespace):
//! `cargo bench --bench daemon` (needs root, etcd and bird2: run tests/run.sh once first).
//!
//! 1. **latency**: 100 changes (a new BGPPeer each) from the etcd put to BIRD having
//!    reconfigured (BIRD's own "Last reconfiguration" time, milliseconds), p50 and p99 —
//!    beside the floor measured in the same run on the same etcd and BIRD: a bare etcd watch
//!    that sends `configure` the moment an event arrives, with configs of the same size.
//!    Goal: perch adds ≤ 20 % on top of the floor.
//! 2. **burst**: 1,000 Node updates written as fast as etcd takes them; goal ≤ 3 BIRD
//!    reconfigurations.
//! 3. **memory**: 10,000 nodes and 100 BGPPeers in etcd; perch's peak RSS once synced and
//!    applied. Goal ≤ 100 MB.
//!
//! `cargo bench --bench daemon -- latency` (or `burst`, `memory`) runs one part.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use etcd_client::{Client, GetOptions, Txn, TxnOp, WatchOptions};
use perch::bird::parse::{BirdTime, parse_bird_time};
use perch::resources::keys::resource_key;
use perch::resources::{
    AsNumber, BgpConfiguration, BgpConfigurationSpec, BgpPeer, BgpPeerSpec, Metadata, Node,
    NodeBgpSpec, NodeSpec, Resource,
};
use support::bird::Bird;
use support::etcd::Etcd;
use support::netns::Netns;
use support::perch::{Perch, http_get};

fn node(name: &str, ip: &str, labels: &[(&str, &str)], rr: Option<&str>) -> Resource {
    Resource::Node(Node {
        metadata: Metadata {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        },
        spec: NodeSpec {
            bgp: Some(NodeBgpSpec {
                ipv4_address: Some(ip.into()),
                route_reflector_cluster_id: rr.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        },
    })
}

fn peer(name: &str, ip: &str, asn: u32) -> Resource {
    Resource::BgpPeer(BgpPeer {
        metadata: Metadata {
            name: name.into(),
            ..Default::default()
        },
        spec: BgpPeerSpec {
            peer_ip: Some(ip.into()),
            as_number: AsNumber::new(asn),
            ..Default::default()
        },
    })
}

fn selector_peer(name: &str, node_selector: &str, peer_selector: &str) -> Resource {
    Resource::BgpPeer(BgpPeer {
        metadata: Metadata {
            name: name.into(),
            ..Default::default()
        },
        spec: BgpPeerSpec {
            node_selector: Some(node_selector.into()),
            peer_selector: Some(peer_selector.into()),
            ..Default::default()
        },
    })
}

fn mesh(on: bool) -> Resource {
    Resource::BgpConfiguration(BgpConfiguration {
        metadata: Metadata {
            name: "default".into(),
            ..Default::default()
        },
        spec: BgpConfigurationSpec {
            node_to_node_mesh_enabled: Some(on),
            ..Default::default()
        },
    })
}

fn kv(r: &Resource) -> (String, String) {
    (resource_key(r.kind(), r.name()), r.to_json().to_string())
}

/// Writes resources in transactions of 100 puts.
async fn put_all(c: &mut Client, resources: &[Resource]) {
    for chunk in resources.chunks(100) {
        let ops: Vec<TxnOp> = chunk
            .iter()
            .map(kv)
            .map(|(k, v)| TxnOp::put(k, v, None))
            .collect();
        c.txn(Txn::new().and_then(ops)).await.expect("etcd txn");
    }
}

/// BIRD's "Last reconfiguration" as Unix milliseconds.
async fn last_reconfiguration_ms(socket: &Path) -> Option<i64> {
    let mut c = perch::bird::Client::connect(socket, Duration::from_secs(5))
        .await
        .ok()?;
    let s = c.show_status().await.ok()?;
    match parse_bird_time(s.last_reconfiguration.as_deref()?)? {
        // The bench and BIRD share the host clock and zone (UTC on the CI machines).
        BirdTime::DateTime(t) => {
            Some(t.to_unix_seconds(local_offset(&s)) * 1000 + i64::from(t.time.micros / 1000))
        }
        _ => None,
    }
}

fn local_offset(s: &perch::bird::parse::Status) -> i32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    s.server_time
        .as_deref()
        .and_then(|t| perch::status::peers::utc_offset_from_server_time(t, now))
        .unwrap_or(0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits for BIRD's reconfiguration time to move past `after`, and returns it.
async fn next_reconfiguration(socket: &Path, after: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(t) = last_reconfiguration_ms(socket).await
            && t > after
        {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "BIRD did not reconfigure within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Bench {
    tmp: tempfile::TempDir,
    etcd: Etcd,
    bird: Bird,
    _ns: Netns,
}

fn setup() -> Bench {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = Etcd::start();
    let ns = Netns::new("pbd");
    ns.add_loopback_address("10.90.0.1/32");
    let mut bird = Bird::paths(tmp.path());
    std::fs::write(&bird.config, "router id 10.90.0.1;\nprotocol device {}\n").unwrap();
    bird.start(&ns);
    Bench {
        tmp,
        etcd,
        bird,
        _ns: ns,
    }
}

fn start_perch(b: &Bench, node: &str, extra: &[&str]) -> Perch {
    let mut args: Vec<String> = [
        "-n",
        node,
        "--config",
        b.bird.config.to_str().unwrap(),
        "--bird-socket",
        b.bird.socket.to_str().unwrap(),
        "--log",
        "warn",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let p = Perch::start(
        &args,
        &[
            ("DATASTORE_TYPE", "etcdv3"),
            ("ETCD_ENDPOINTS", &b.etcd.endpoint()),
        ],
        b.tmp.path().join(format!("perch-{node}.log")),
    );
    p.wait_status(Duration::from_secs(120), "perch ready", |s| {
        s["ready"] == true
    });
    p
}

async fn latency() {
    let b = setup();
    let mut c = Client::connect([b.etcd.endpoint()], None).await.unwrap();
    let mut base: Vec<Resource> = (1..=50)
        .map(|i| node(&format!("n{i}"), &format!("10.90.0.{i}/16"), &[], None))
        .collect();
    base.push(mesh(true));
    put_all(&mut c, &base).await;
    let perch = start_perch(&b, "n1", &[]);
    let socket = b.bird.socket.clone();

    // Two end points: BIRD committed the new config (its "Last reconfiguration" stamp), and
    // BIRD answered `configure` (reconfiguration done: perch's lastApply time).
    let (mut perch_commit, mut perch_done) = (Vec::new(), Vec::new());
    let initial = std::fs::read_to_string(&b.bird.config).unwrap();
    let mut configs = Vec::new();
    for i in 0..100 {
        let before = last_reconfiguration_ms(&socket).await.unwrap_or(0);
        let (k, v) = kv(&peer(
            &format!("bench-{i}"),
            &format!("10.91.{}.{}", i / 250, i % 250 + 1),
            65001,
        ));
        let t0 = now_ms();
        let rev = c
            .put(k, v, None)
            .await
            .unwrap()
            .header()
            .unwrap()
            .revision();
        let t1 = next_reconfiguration(&socket, before).await;
        let st = perch.wait_status(Duration::from_secs(30), "the apply of this change", |s| {
            s["lastApply"]["revision"].as_i64().unwrap_or(0) >= rev
        });
        assert_eq!(st["lastApply"]["result"], "reconfigured");
        perch_commit.push(t1 - t0);
        perch_done.push(st["lastApply"]["atUnixMs"].as_i64().unwrap() - t0);
        configs.push(std::fs::read_to_string(&b.bird.config).unwrap());
    }
    let (_, m) = http_get(perch.port, "/metrics").unwrap();
    let metric = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let apply_mean_ms = 1000.0 * metric("perch_apply_duration_seconds_sum")
        / metric("perch_apply_duration_seconds_count").max(1.0);
    drop(perch);

    // The floor: a bare watch that configures BIRD the moment an event arrives, replaying the
    // very configs perch installed, so BIRD does the same work.
    let dir = b.tmp.path();
    let current = configs.last().cloned().unwrap_or_default();
    std::fs::write(dir.join("floor-initial.conf"), &initial).unwrap();
    for (i, c) in configs.iter().enumerate() {
        std::fs::write(dir.join(format!("floor-{i}.conf")), c).unwrap();
    }
    let mut bird = perch::bird::Client::connect(&socket, Duration::from_secs(30))
        .await
        .unwrap();
    bird.set_command_timeout(Duration::from_secs(30));
    bird.configure_file(&dir.join("floor-initial.conf"))
        .await
        .unwrap();
    let rev = c
        .get("/floor/", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let mut watch = c
        .watch(
            "/floor/",
            Some(
                WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(rev + 1),
            ),
        )
        .await
        .unwrap();
    let _created = watch.message().await.unwrap();
    let mut writer = c.clone();
    let (mut floor_commit, mut floor_done) = (Vec::new(), Vec::new());
    for i in 0..100 {
        let before = last_reconfiguration_ms(&socket).await.unwrap_or(0);
        let t0 = now_ms();
        writer.put(format!("/floor/{i}"), "x", None).await.unwrap();
        loop {
            let m = watch.message().await.unwrap().unwrap();
            if !m.events().is_empty() {
                break;
            }
        }
        bird.configure_file(&dir.join(format!("floor-{i}.conf")))
            .await
            .unwrap();
        floor_done.push(now_ms() - t0);
        let t1 = next_reconfiguration(&socket, before).await;
        floor_commit.push(t1 - t0);
    }
    println!(
        "latency: etcd put → BIRD, 100 changes (one new BGPPeer each), config of {} bytes",
        current.len()
    );
    let report = |what: &str, perch: &mut Vec<i64>, floor: &mut Vec<i64>| {
        perch.sort();
        floor.sort();
        let (p50, p99) = (percentile(perch, 0.5), percentile(perch, 0.99));
        let (f50, f99) = (percentile(floor, 0.5), percentile(floor, 0.99));
        println!(
            "  {what:<28} perch p50 {p50:>4} ms p99 {p99:>4} ms | floor p50 {f50:>4} ms p99 {f99:>4} ms | ratio p50 {:.2} p99 {:.2}",
            p50 as f64 / f50.max(1) as f64,
            p99 as f64 / f99.max(1) as f64
        );
    };
    report(
        "BIRD reconfigured (answered)",
        &mut perch_done,
        &mut floor_done,
    );
    report(
        "BIRD committed (its stamp)",
        &mut perch_commit,
        &mut floor_commit,
    );
    println!(
        "  (floor: etcd watch delivery + BIRD configure alone; goal: perch ≤ 1.20 × floor; perch's apply took {apply_mean_ms:.1} ms on average)"
    );
}

async fn burst() {
    let b = setup();
    let mut c = Client::connect([b.etcd.endpoint()], None).await.unwrap();
    let mut base: Vec<Resource> = (1..=1000)
        .map(|i| {
            node(
                &format!("n{i}"),
                &format!("10.90.{}.{}/16", i / 250, i % 250 + 1),
                &[],
                None,
            )
        })
        .collect();
    base.push(mesh(true));
    put_all(&mut c, &base).await;
    let perch = start_perch(&b, "n1", &[]);
    let reconfigures = |p: &Perch| -> u64 { p.status()["reconfigures"].as_u64().unwrap() };
    let before = reconfigures(&perch);
    // 1,000 separate updates, each changing a node's AS (so every one changes n1's config).
    let started = Instant::now();
    for i in 2..=1001 {
        let n = if i <= 1000 { i } else { 2 };
        let mut r = node(
            &format!("n{n}"),
            &format!("10.90.{}.{}/16", n / 250, n % 250 + 1),
            &[],
            None,
        );
        if let Resource::Node(x) = &mut r {
            x.spec.bgp.as_mut().unwrap().as_number = AsNumber::new(65000 + i as u32);
        }
        let (k, v) = kv(&r);
        c.put(k, v, None).await.unwrap();
    }
    let written = started.elapsed();
    let revision = c.get("/", None).await.unwrap().header().unwrap().revision();
    let st = perch.wait_status(Duration::from_secs(60), "perch caught up", |s| {
        s["lastSuccess"]["revision"].as_i64().unwrap_or(0) >= revision
    });
    let after = st["reconfigures"].as_u64().unwrap();
    println!(
        "burst: 1,000 node updates written in {written:?}; BIRD reconfigured {} times (goal ≤ 3); {} applies",
        after - before,
        st["applies"]
    );
}

async fn memory() {
    let b = setup();
    let mut c = Client::connect([b.etcd.endpoint()], None).await.unwrap();
    let mut all: Vec<Resource> = (1..=10_000)
        .map(|i| {
            let rr = (i <= 3).then_some("244.0.0.1");
            let labels: &[(&str, &str)] = if i <= 3 {
                &[("route-reflector", "true")]
            } else {
                &[("rack", "r")]
            };
            node(
                &format!("n{i}"),
                &format!(
                    "10.{}.{}.{}/8",
                    90 + i / 62500,
                    (i / 250) % 250,
                    i % 250 + 1
                ),
                labels,
                rr,
            )
        })
        .collect();
    all.push(mesh(false));
    all.push(selector_peer(
        "peer-with-route-reflectors",
        "all()",
        "route-reflector == 'true'",
    ));
    all.extend((0..99).map(|i| peer(&format!("tor-{i}"), &format!("10.200.0.{}", i + 1), 65001)));
    put_all(&mut c, &all).await;
    let started = Instant::now();
    let perch = start_perch(&b, "n100", &[]);
    let synced = started.elapsed();
    let pid = perch.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or("")
            .split_whitespace()
            .nth(1)
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap()
            / 1024
    };
    let (_, m) = http_get(perch.port, "/metrics").unwrap();
    let events = m
        .lines()
        .filter(|l| l.starts_with("perch_datastore_events_total"))
        .count();
    println!(
        "memory: 10,000 nodes + 100 BGPPeers in etcd; synced and applied in {synced:?}; perch RSS now {} MiB, peak {} MiB (goal ≤ 100 MB); {events} event kinds",
        field("VmRSS:"),
        field("VmHWM:")
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "machine: {} cores, {cpu}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if want("latency") {
        rt.block_on(latency());
    }
    if want("burst") {
        rt.block_on(burst());
    }
    if want("memory") {
        rt.block_on(memory());
    }
}
