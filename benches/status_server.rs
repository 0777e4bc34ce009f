//! The status server under slow clients, through `perch run` (file datastore, a real BIRD 2 in
//! a network namespace): `cargo bench --bench status_server` (needs root and bird2).
//!
//! 10,000 clients connect and send half a request each, then wait. Measured: perch's RSS
//! before, at the peak and after; `/livez` answer times while they connect; how long until
//! the server has closed every one of them; and how long perch takes to exit on SIGTERM with
//! slow clients connected.
//! Goals: RSS grows ≤ 10 MB; `/livez` answers within 100 ms (p99); every slow client closed
//! within the header-read timeout (5 s) plus 1 s; exit ≤ 3 s after SIGTERM.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::bird::Bird;
use support::netns::Netns;
use support::perch::{Perch, http_get};

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.97.0.1/24}}
";

const CLIENTS: usize = 10_000;

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn livez_ms(port: u16) -> f64 {
    let t = Instant::now();
    let ok = http_get(port, "/livez").is_some_and(|(c, _)| c == 200);
    assert!(ok, "/livez answered");
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("resources")).unwrap();
    std::fs::write(dir.join("resources/cluster.yaml"), CLUSTER).unwrap();
    let ns = Netns::new("bs");
    ns.add_loopback_address("10.97.0.1/32");
    let mut bird = Bird::paths(dir);
    std::fs::write(&bird.config, "router id 10.97.0.1;\nprotocol device {}\n").unwrap();
    bird.start(&ns);
    // This process opens 10,000 sockets.
    let me = std::process::id().to_string();
    let _ = std::process::Command::new("prlimit")
        .args(["--pid", &me, "--nofile=65536:65536"])
        .status();
    let args: Vec<String> = [
        "--resources",
        &dir.join("resources").display().to_string(),
        "--node",
        "n1",
        "--config",
        &bird.config.display().to_string(),
        "--bird-socket",
        &bird.socket.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let perch = Perch::start(&args, &[], dir.join("perch.log"));
    perch.wait_status(Duration::from_secs(20), "ready", |st| st["ready"] == true);
    let pid = perch.pid();
    let (rss_before, _) = rss_kib(pid);

    let started = Instant::now();
    let mut clients = Vec::with_capacity(CLIENTS);
    let mut livez = Vec::new();
    for i in 0..CLIENTS {
        let mut c = TcpStream::connect(("127.0.0.1", perch.port)).expect("connect");
        let _ = c.write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        clients.push(c);
        if i % 500 == 0 {
            livez.push(livez_ms(perch.port));
        }
    }
    let connected = started.elapsed();
    let (rss_during, hwm) = rss_kib(pid);
    let closing = Instant::now();
    let mut last_closed = Duration::ZERO;
    for c in &mut clients {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 256];
        let closed = loop {
            match c.read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        assert!(closed, "a slow client was not closed within 30 s");
        last_closed = closing.elapsed();
    }
    drop(clients);
    let (rss_after, _) = rss_kib(pid);
    livez.sort_by(f64::total_cmp);
    let p = |q: f64| livez[((livez.len() - 1) as f64 * q).round() as usize];

    // SIGTERM with slow clients connected.
    let _slow: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = TcpStream::connect(("127.0.0.1", perch.port)).unwrap();
            c.write_all(b"GET /status HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    let t = Instant::now();
    assert!(perch.stop(), "perch exits cleanly");
    let exit = t.elapsed();

    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{CLIENTS} slow clients connected in {:.1} s",
        connected.as_secs_f64()
    );
    println!(
        "perch RSS: before {:.1} MiB, with the clients {:.1} MiB (peak {:.1} MiB), after {:.1} MiB",
        rss_before as f64 / 1024.0,
        rss_during as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!(
        "/livez while they connect: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
        p(0.5),
        p(0.99),
        livez.last().unwrap(),
        livez.len()
    );
    println!(
        "every slow client closed by the server {:.1} s after the last one connected",
        last_closed.as_secs_f64()
    );
    println!(
        "exit after SIGTERM with 3 slow clients: {:.2} s",
        exit.as_secs_f64()
    );
}
