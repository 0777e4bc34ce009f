//! A top-of-rack router: GoBGP (`gobgpd -f tor.toml`, an independent BGP implementation) in
//! its own network namespace on the lab's bridge and in its own AS, with one neighbor per
//! node it serves. Its RIB and sessions are read with the `gobgp` CLI inside the namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::ledger::Ledger;
use super::until;
use crate::support::netns::{Lan, Netns};

/// GoBGP's `session_state` for an Established session.
const ESTABLISHED: u64 = 6;

/// A running ToR. Dropped in field order: gobgpd, then the namespace.
pub struct Tor {
    pub name: String,
    pub address: String,
    pub asn: u32,
    child: Child,
    pub ns: Netns,
}

/// GoBGP's TOML: the global AS, router id and listen address, accept-everything policies,
/// and one active neighbor per `(address, AS)`; the neighbors in `rr_clients` are its
/// route-reflector clients (iBGP, cluster ID its own address), as a ToR in Calico's "AS per
/// rack" design is for its rack's nodes. A node's BIRD refuses the ToR until the node
/// has a BGPPeer for it, and GoBGP then idles 30 s by default before it accepts a connection
/// again: the idle hold is 1 s here, so sessions come up on BIRD's own schedule.
pub fn config(
    address: &str,
    asn: u32,
    neighbors: &[(String, u32)],
    rr_clients: &[String],
) -> String {
    let mut t = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{address}\"\n  local-address-list = [\"{address}\"]\n\
         [global.apply-policy.config]\n  default-import-policy = \"accept-route\"\n  default-export-policy = \"accept-route\"\n"
    );
    for (peer, peer_as) in neighbors {
        let _ = write!(
            t,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{peer}\"\n    peer-as = {peer_as}\n\
             [neighbors.transport.config]\n    passive-mode = false\n\
             [neighbors.timers.config]\n    connect-retry = 5\n    idle-hold-time-after-reset = 1\n"
        );
        if rr_clients.contains(peer) {
            let _ = write!(
                t,
                "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    \
                 route-reflector-cluster-id = \"{address}\"\n"
            );
        }
    }
    t
}

/// A ToR's BGP neighbors: one per `(address, AS)` of `peers`; those whose address is in
/// `rr_clients` are its route-reflector clients.
pub struct Neighbors<'a> {
    pub peers: &'a [(String, u32)],
    pub rr_clients: &'a [String],
}

impl Tor {
    /// Starts GoBGP in a new namespace at `address`/24 and waits for its API to answer.
    pub fn start(
        home: &Path,
        lan: &Lan,
        name: &str,
        address: &str,
        asn: u32,
        neighbors: Neighbors<'_>,
        ledger: &Ledger,
    ) -> Tor {
        let ns = Netns::new("lt");
        ledger.netns(&ns.name);
        lan.attach(&ns, &format!("{address}/24"));
        let toml = home.join(format!("{name}.toml"));
        std::fs::write(
            &toml,
            config(address, asn, neighbors.peers, neighbors.rr_clients),
        )
        .unwrap();
        let log = std::fs::File::create(home.join(format!("{name}.log"))).unwrap();
        let child = ns
            .command("gobgpd")
            .arg("-f")
            .arg(&toml)
            .args(["--log-plain", "--pprof-disable"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("gobgpd (Debian gobgpd) is installed");
        let tor = Tor {
            name: name.to_owned(),
            address: address.to_owned(),
            asn,
            child,
            ns,
        };
        until(Duration::from_secs(20), &format!("{name}'s API"), || {
            tor.gobgp(&["global", "-j"]).map(|_| ())
        });
        ledger.process(Some(tor.child.id()));
        tor
    }

    /// Runs `gobgp ARGS` inside the ToR's namespace.
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
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The IPv4 RIB: each prefix with the next hops of its paths.
    pub fn rib(&self) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
        let text = self.gobgp(&["global", "rib", "-a", "ipv4", "-j"])?;
        if text.trim().is_empty() || text.trim() == "null" {
            return Ok(BTreeMap::new());
        }
        let rib: BTreeMap<String, Vec<Value>> =
            serde_json::from_str(&text).map_err(|e| format!("{}: rib JSON: {e}", self.name))?;
        Ok(rib
            .into_iter()
            .map(|(prefix, paths)| {
                let hops = paths
                    .iter()
                    .filter_map(|p| {
                        p["attrs"]
                            .as_array()?
                            .iter()
                            .find_map(|a| a["nexthop"].as_str())
                            .map(str::to_owned)
                    })
                    .collect();
                (prefix, hops)
            })
            .collect())
    }

    /// The neighbors whose session is Established.
    pub fn established(&self) -> Result<BTreeSet<String>, String> {
        let text = self.gobgp(&["neighbor", "-j"])?;
        let peers: Vec<Value> = serde_json::from_str(&text)
            .map_err(|e| format!("{}: neighbor JSON: {e}", self.name))?;
        Ok(peers
            .iter()
            .filter(|p| p["state"]["session_state"].as_u64() == Some(ESTABLISHED))
            .filter_map(|p| p["state"]["neighbor_address"].as_str().map(str::to_owned))
            .collect())
    }
}

impl Drop for Tor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
