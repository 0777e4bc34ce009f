//! A small BGP lab for the behaviour comparison: one BIRD (1.6 or 2) in its own network
//! namespace with the node's address, GoBGP peers (`gobgpd`, each in its own namespace, at
//! the addresses and AS numbers the config names, injecting the same routes), and gateway
//! namespaces for `reachableBy` next hops, all on one bridge.
//!
//! Addressing: the node keeps its address with its prefix length, peers get theirs as /32;
//! every namespace has an on-link default route, so any address on the bridge is reachable
//! whatever its subnet. A `route <peer>/32 via <gw>` of the config gets a gateway namespace
//! at `<gw>` that forwards, and the node a second address in `<gw>`'s /24 (BIRD only accepts
//! a gateway on a directly connected network).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::bgp_routes::{Routes, parse_gobgp_rib};
use super::netns::{Lan, Netns};

/// GoBGP's `session_state` for an Established session.
const ESTABLISHED: u64 = 6;

/// A route a peer originates.
#[derive(Debug, Clone, Default)]
pub struct Injected {
    pub prefix: String,
    pub as_path: Vec<u32>,
    pub communities: Vec<&'static str>,
    pub large_communities: Vec<&'static str>,
    pub local_pref: Option<u64>,
    pub med: Option<u64>,
}

impl Injected {
    /// `gobgp global rib add` arguments.
    fn args(&self) -> Vec<String> {
        let mut a = vec![
            "global".into(),
            "rib".into(),
            "add".into(),
            self.prefix.clone(),
        ];
        if !self.as_path.is_empty() {
            a.push("aspath".into());
            a.push(
                self.as_path
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        if !self.communities.is_empty() {
            a.push("community".into());
            a.push(self.communities.join(","));
        }
        if !self.large_communities.is_empty() {
            a.push("large-community".into());
            a.push(self.large_communities.join(","));
        }
        if let Some(v) = self.local_pref {
            a.push("local-pref".into());
            a.push(v.to_string());
        }
        if let Some(v) = self.med {
            a.push("med".into());
            a.push(v.to_string());
        }
        a.push("-a".into());
        a.push("ipv4".into());
        a
    }
}

/// One GoBGP peer, as the node's config describes the session.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    pub address: String,
    /// The peer's AS (`neighbor … as N`).
    pub asn: u32,
    /// The port the peer listens on (`neighbor … port P`, else 179).
    pub port: u16,
    pub node_address: String,
    /// The AS BIRD speaks on this session (`local as`).
    pub node_as: u32,
    /// The port BIRD listens on (`listen bgp … port P`, else 179).
    pub node_port: u16,
    /// The session's TCP MD5 password, if any.
    pub password: Option<String>,
    pub routes: Vec<Injected>,
}

impl PeerSpec {
    /// How many of its routes the peer sends the node: GoBGP holds back a route whose AS path
    /// already has the node's AS (loop prevention).
    pub fn sent(&self) -> usize {
        self.routes
            .iter()
            .filter(|r| !r.as_path.contains(&self.node_as))
            .count()
    }

    /// GoBGP's TOML: accept everything, one active neighbor (the node), short timers so that
    /// the session comes up within a second or two of BIRD starting.
    fn toml(&self) -> String {
        let mut t = format!(
            "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = {}\n  local-address-list = [\"{}\"]\n\
             [global.apply-policy.config]\n  default-import-policy = \"accept-route\"\n  default-export-policy = \"accept-route\"\n\
             \n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n\
             [neighbors.transport.config]\n    passive-mode = false\n    remote-port = {}\n    local-address = \"{}\"\n\
             [neighbors.timers.config]\n    connect-retry = 1\n    idle-hold-time-after-reset = 1\n",
            self.asn,
            self.address,
            self.port,
            self.address,
            self.node_address,
            self.node_as,
            self.node_port,
            self.address
        );
        if let Some(p) = &self.password {
            // After the neighbor's transport and timers: `auth-password` belongs to its config.
            t = t.replacen(
                "    peer-as",
                &format!("    auth-password = \"{p}\"\n    peer-as"),
                1,
            );
        }
        if self.asn != self.node_as {
            let _ = write!(
                t,
                "[neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = 64\n"
            );
        }
        t
    }
}

/// A running GoBGP peer. Dropped in field order: gobgpd, then its namespace.
pub struct Peer {
    pub spec: PeerSpec,
    child: Child,
    pub ns: Netns,
}

impl Peer {
    /// Starts gobgpd in a new namespace on `lan`, waits for its API and injects the routes.
    pub fn start(dir: &Path, lan: &Lan, spec: PeerSpec) -> Peer {
        let ns = Netns::new("cb");
        lan.attach(&ns, &format!("{}/32", spec.address));
        ns.ip(&["route", "add", "default", "dev", "eth0"]).unwrap();
        let name = format!("gobgp-{}", spec.address);
        let toml = dir.join(format!("{name}.toml"));
        std::fs::write(&toml, spec.toml()).unwrap();
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = ns
            .command("gobgpd")
            .arg("-f")
            .arg(&toml)
            .args(["--log-plain", "--pprof-disable"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("gobgpd (Debian gobgpd) is installed: run tests/run.sh");
        let peer = Peer { spec, child, ns };
        until(Duration::from_secs(20), "gobgpd's API", || {
            peer.gobgp(&["global", "-j"]).ok()
        });
        for r in &peer.spec.routes {
            let args = r.args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            peer.gobgp(&args).unwrap();
        }
        peer
    }

    /// Runs `gobgp ARGS` inside the peer's namespace.
    pub fn gobgp(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .ns
            .command("gobgp")
            .args(args)
            .output()
            .map_err(|e| format!("gobgp: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{}: gobgp {args:?}: {}",
                self.spec.address,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Whether the session with the node is Established.
    pub fn established(&self) -> bool {
        self.gobgp(&["neighbor", "-j"])
            .ok()
            .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
            .is_some_and(|peers| {
                peers
                    .iter()
                    .any(|p| p["state"]["session_state"].as_u64() == Some(ESTABLISHED))
            })
    }

    /// What the peer received from the node (its Adj-RIB-In, before any policy).
    pub fn received(&self) -> Result<Routes, String> {
        let text = self.gobgp(&[
            "neighbor",
            &self.spec.node_address,
            "adj-in",
            "-a",
            "ipv4",
            "-j",
        ])?;
        parse_gobgp_rib(&text)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The namespaces of one run. Dropped in field order: peers, gateways, node, bridge.
pub struct Topology {
    pub peers: Vec<Peer>,
    pub gateways: Vec<Netns>,
    pub node: Netns,
    pub lan: Lan,
}

impl Topology {
    /// The node at `node_cidr` (its address with prefix length) with `kernel_routes`
    /// (`(prefix, metric)`, on eth0, as Felix programs workload routes) in its kernel, a
    /// gateway namespace per address in `gateways`, and one GoBGP peer per spec.
    pub fn start(
        dir: &Path,
        node_cidr: &str,
        kernel_routes: &[(&str, u32)],
        gateways: &[String],
        peers: Vec<PeerSpec>,
    ) -> Self {
        let lan = Lan::new();
        let node = Netns::new("cb");
        lan.attach(&node, node_cidr);
        node.ip(&["route", "add", "default", "dev", "eth0"])
            .unwrap();
        for (prefix, metric) in kernel_routes {
            let metric = metric.to_string();
            node.ip(&["route", "add", prefix, "dev", "eth0", "metric", &metric])
                .unwrap();
        }
        let mut gws = Vec::new();
        for gw in gateways {
            let octets: Vec<&str> = gw.split('.').collect();
            let host = if octets[3] == "250" { "251" } else { "250" };
            let own = format!("{}.{}.{}.{host}/24", octets[0], octets[1], octets[2]);
            node.ip(&["addr", "add", &own, "dev", "eth0"]).unwrap();
            let ns = Netns::new("cb");
            lan.attach(&ns, &format!("{gw}/24"));
            ns.ip(&["route", "add", "default", "dev", "eth0"]).unwrap();
            let ok = ns
                .command("sysctl")
                .args(["-qw", "net.ipv4.ip_forward=1"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "cannot turn on forwarding in the gateway namespace");
            gws.push(ns);
        }
        let peers = peers
            .into_iter()
            .map(|spec| Peer::start(dir, &lan, spec))
            .collect();
        Topology {
            peers,
            gateways: gws,
            node,
            lan,
        }
    }
}

/// A BIRD daemon (either version) in a namespace, killed by pid on drop.
pub struct Bird {
    pub socket: PathBuf,
    pub log: PathBuf,
    birdc: PathBuf,
    child: Child,
}

impl Bird {
    /// Starts `BIRD -f -c CONFIG -s SOCKET` in `ns` and waits for its control socket.
    pub fn start(ns: &Netns, bird: &Path, birdc: &Path, config: &Path, dir: &Path) -> Bird {
        let socket = dir.join("bird.ctl");
        let log = dir.join("bird.log");
        let child = ns
            .command(bird.to_str().unwrap())
            .arg("-f")
            .arg("-c")
            .arg(config)
            .arg("-s")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bird.display()));
        let mut b = Bird {
            socket,
            log,
            birdc: birdc.to_owned(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::os::unix::net::UnixStream::connect(&b.socket).is_ok() {
                return b;
            }
            if let Ok(Some(status)) = b.child.try_wait() {
                panic!(
                    "{} exited ({status}) with {}: {}",
                    bird.display(),
                    config.display(),
                    std::fs::read_to_string(&b.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not open its socket within 10 s",
                bird.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `birdc -s SOCKET ARGS`.
    pub fn birdc(&self, args: &[&str]) -> String {
        let out = Command::new(&self.birdc)
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counters of one BGP protocol from `show protocols all` (BIRD 1.6 and 2 alike): import
/// updates received and routes currently exported.
pub fn protocol_counters(text: &str, protocol: &str) -> Option<(u64, u64)> {
    let mut inside = false;
    let (mut received, mut exported) = (None, None);
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            inside = line.split_whitespace().next() == Some(protocol);
            continue;
        }
        if !inside {
            continue;
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Routes:") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            exported = words
                .windows(2)
                .find(|w| w[1].starts_with("exported"))
                .and_then(|w| w[0].parse().ok());
        } else if let Some(rest) = t.strip_prefix("Import updates:") {
            received = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    Some((received?, exported?))
}

/// Polls `f` every 100 ms until it returns Some, or None once `timeout` has passed.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Like [`poll`], but a timeout is a test failure naming `what`.
pub fn until<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    poll(timeout, f).unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}
