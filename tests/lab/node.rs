//! One lab node: a network namespace on the lab's bridge with BIRD inside it, and `perch run`
//! serving that BIRD through its control socket. By default perch runs in the root namespace:
//! it needs only the socket, etcd on loopback and its own status port. With
//! [`Placement::Namespace`] it runs in the node's namespace, as the DaemonSet runs on the
//! host network, so its route check reads the kernel table BIRD programs; etcd is then reached
//! through a forwarder from the namespace's loopback to etcd's root-loopback port, and its
//! status endpoint through one the other way (no address outside the namespace either way).
//!
//! What the scenarios read from a node: its sessions as perch reports them (`/status`), the
//! BGP protocols BIRD runs (birdc), and the routes BIRD programmed into the namespace's kernel
//! table (`ip -n NS -j route show proto bird`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::ledger::Ledger;
use super::until;
use crate::support::bird::Bird;
use crate::support::forward::Forward;
use crate::support::netns::{Lan, Netns};
use crate::support::perch::{Perch, http_get};

/// Where a node's `perch run` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// In the root namespace, next to etcd: its route check cannot read BIRD's kernel table.
    #[default]
    Root,
    /// In the node's namespace, with BIRD (etcd and the status endpoint forwarded).
    Namespace,
}

/// The loopback port of an etcd endpoint such as `http://127.0.0.1:2379`.
fn loopback_port(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in the etcd endpoint {endpoint}"))
}

/// A forwarder from `ns`'s loopback to `etcd` on the root loopback, and the endpoint perch
/// in `ns` uses through it (same scheme, so TLS still names 127.0.0.1).
fn forward_etcd(ns: &Netns, etcd: &str) -> (Forward, String) {
    let port = loopback_port(etcd);
    let forward = Forward::start(
        Some(&ns.name),
        None,
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    );
    let endpoint = etcd.replacen(&format!(":{port}"), &format!(":{}", forward.port), 1);
    (forward, endpoint)
}

/// `perch run` for node `name` against `etcd`, with `extra` arguments, in namespace `ns`
/// when given.
fn start_perch(
    dir: &Path,
    name: &str,
    bird: &Bird,
    etcd: &str,
    extra: &[&str],
    ns: Option<&str>,
) -> Perch {
    let mut args: Vec<String> = [
        "-n",
        name,
        "--config",
        &bird.config.display().to_string(),
        "--bird-socket",
        &bird.socket.display().to_string(),
        "--bird-poll-interval",
        "500ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    Perch::start_in(
        ns,
        &args,
        &[("DATASTORE_TYPE", "etcdv3"), ("ETCD_ENDPOINTS", etcd)],
        dir.join("perch.log"),
    )
}

/// A running node. Dropped in field order: perch, its etcd forwarder, BIRD, the namespace.
pub struct Node {
    pub name: String,
    pub address: String,
    /// The pod block it advertises (route reflectors have none).
    pub block: Option<String>,
    pub dir: PathBuf,
    /// Where its perch runs.
    pub placement: Placement,
    perch: Perch,
    /// The namespace's loopback → etcd, with [`Placement::Namespace`].
    etcd_forward: Option<Forward>,
    pub bird: Bird,
    pub ns: Netns,
}

/// The destinations of the routes BIRD programmed into namespace `ns`.
pub fn kernel_routes(ns: &str) -> Result<BTreeSet<String>, String> {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-j", "route", "show", "proto", "bird"])
        .output()
        .map_err(|e| format!("ip -n {ns} route: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip -n {ns} route: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(BTreeSet::new());
    }
    let routes: Vec<Value> =
        serde_json::from_str(&text).map_err(|e| format!("ip -j route: {e}: {text}"))?;
    Ok(routes
        .iter()
        .filter_map(|r| r["dst"].as_str().map(str::to_owned))
        .collect())
}

impl Node {
    /// Starts the node's namespace (`address`/24 on the bridge), its BIRD with a minimal
    /// config, and `perch run` for it against `etcd` (in the root namespace); records each in
    /// `ledger`.
    pub fn start(
        home: &Path,
        lan: &Lan,
        etcd: &str,
        name: &str,
        address: &str,
        block: Option<String>,
        ledger: &Ledger,
    ) -> Node {
        Node::start_placed(
            home,
            lan,
            etcd,
            name,
            address,
            block,
            ledger,
            Placement::Root,
        )
    }

    /// Like [`Node::start`], with perch where `placement` says.
    #[allow(clippy::too_many_arguments)]
    pub fn start_placed(
        home: &Path,
        lan: &Lan,
        etcd: &str,
        name: &str,
        address: &str,
        block: Option<String>,
        ledger: &Ledger,
        placement: Placement,
    ) -> Node {
        let ns = Netns::new("ln");
        ledger.netns(&ns.name);
        lan.attach(&ns, &format!("{address}/24"));
        let dir = home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut bird = Bird::paths(&dir);
        std::fs::write(
            &bird.config,
            format!("router id {address};\nprotocol device {{}}\n"),
        )
        .unwrap();
        bird.start(&ns);
        ledger.process(bird.pid());
        let (etcd_forward, endpoint) = match placement {
            Placement::Root => (None, etcd.to_owned()),
            Placement::Namespace => {
                let (f, e) = forward_etcd(&ns, etcd);
                (Some(f), e)
            }
        };
        let in_ns = (placement == Placement::Namespace).then_some(ns.name.as_str());
        let perch = start_perch(&dir, name, &bird, &endpoint, &[], in_ns);
        ledger.process(Some(perch.pid()));
        Node {
            name: name.to_owned(),
            address: address.to_owned(),
            block,
            dir,
            placement,
            perch,
            etcd_forward,
            bird,
            ns,
        }
    }

    /// The status page.
    pub fn status_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.perch.port)
    }

    /// perch's `/status`, or why it could not be read.
    pub fn status(&self) -> Result<Value, String> {
        let (code, body) = http_get(self.perch.port, "/status")
            .ok_or_else(|| format!("{}: /status unreachable", self.name))?;
        if code != 200 {
            return Err(format!("{}: /status answered {code}", self.name));
        }
        serde_json::from_str(&body).map_err(|e| format!("{}: /status: {e}", self.name))
    }

    /// The planned sessions perch reports, with BIRD's BGP state of each.
    pub fn sessions(&self) -> Result<Vec<(String, String)>, String> {
        let st = self.status()?;
        let mut v: Vec<(String, String)> = st["peers"]
            .as_array()
            .ok_or_else(|| format!("{}: no peers in /status", self.name))?
            .iter()
            .filter(|p| p["planned"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap_or("").to_owned();
                (name, p["bgpState"].as_str().unwrap_or("").to_owned())
            })
            .collect();
        v.sort();
        Ok(v)
    }

    /// Ok when perch plans exactly `want` (sorted names) and every one is Established.
    pub fn check_established(&self, want: &[String]) -> Result<(), String> {
        let got = self.sessions()?;
        let names: Vec<&String> = got.iter().map(|(n, _)| n).collect();
        let all_up = got.iter().all(|(_, s)| s == "Established");
        if names.iter().copied().eq(want.iter()) && all_up {
            Ok(())
        } else {
            Err(format!(
                "{}: sessions {got:?}, want {want:?} Established",
                self.name
            ))
        }
    }

    /// Waits until [`Node::check_established`] holds.
    pub fn wait_established(&self, want: &[String], timeout: Duration) {
        until(timeout, &format!("{} sessions", self.name), || {
            self.check_established(want)
        });
    }

    /// The destinations BIRD programmed into this node's kernel table.
    pub fn kernel_routes(&self) -> BTreeSet<String> {
        kernel_routes(&self.ns.name).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// The BGP protocols BIRD runs.
    pub fn protocols(&self) -> Vec<String> {
        self.bird.bgp_protocols()
    }

    /// A BGP protocol's BGP state, Local AS and Neighbor AS, from one `show protocols all`
    /// reply (so the three belong together).
    pub fn bgp_session(&self, protocol: &str) -> Option<(String, u32, u32)> {
        let all = self.bird.birdc(&["show", "protocols", "all", protocol]);
        let field = |key: &str| {
            all.lines()
                .find_map(|l| l.trim().strip_prefix(key))
                .map(|v| v.trim().to_owned())
        };
        Some((
            field("BGP state:")?,
            field("Local AS:")?.parse().ok()?,
            field("Neighbor AS:")?.parse().ok()?,
        ))
    }

    /// Replaces the node's `perch run` with one started with `extra` arguments, placed as
    /// before.
    pub fn restart_perch(&mut self, etcd: &str, extra: &[&str], ledger: &Ledger) {
        let mut endpoint = etcd.to_owned();
        let mut in_ns = None;
        if self.placement == Placement::Namespace {
            let port = loopback_port(etcd);
            let stale = self
                .etcd_forward
                .as_ref()
                .is_none_or(|f| f.target.port() != port);
            if stale {
                let (f, _) = forward_etcd(&self.ns, etcd);
                self.etcd_forward = Some(f);
            }
            let f = self.etcd_forward.as_ref().unwrap();
            endpoint = etcd.replacen(&format!(":{port}"), &format!(":{}", f.port), 1);
            in_ns = Some(self.ns.name.as_str());
        }
        let old = std::mem::replace(
            &mut self.perch,
            start_perch(&self.dir, &self.name, &self.bird, &endpoint, extra, in_ns),
        );
        drop(old);
        ledger.process(Some(self.perch.pid()));
    }

    /// `GET path` on the node's status endpoint: (status code, body).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.perch.port, path)
    }

    /// Kills BIRD (SIGKILL).
    pub fn kill_bird(&mut self) {
        self.bird.kill();
    }

    /// Starts BIRD again, the same way, reading the config perch installed.
    pub fn restart_bird(&mut self, ledger: &Ledger) {
        self.bird.start(&self.ns);
        ledger.process(self.bird.pid());
    }
}
