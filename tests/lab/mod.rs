//! A multi-node BGP lab on one machine: one etcd on loopback; nodes, each a network namespace
//! on a shared bridge with BIRD inside and `perch run` serving it; GoBGP top-of-rack routers
//! in namespaces of their own. Every node advertises its pod block as Calico does (a block
//! affinity in etcd and the IPPool `10.244.0.0/16`), so routes are real: BIRD programs peers'
//! blocks into each node namespace's kernel table and the ToRs learn them.
//!
//! Used by the lab scenarios (`tests/lab_*.rs`) and by `perch-lab up` (`perch_lab.rs`).
//! Everything is torn down on drop, failures included: perch and BIRD by pid, then the
//! ToRs, the namespaces and etcd. With a [`Ledger`] each piece is also recorded in a state
//! file as it appears, for `perch-lab down` after a run that was killed.
//! Only namespace and loopback addresses are used; nothing is configured in the root
//! namespace beyond loopback ports.
//!
//! perch runs in the root namespace unless the lab is started with [`Placement::Namespace`]
//! ([`Lab::start_placed`]): then each node's perch runs in its node's namespace, reads the
//! kernel table BIRD programs there, and reaches etcd and is reached through loopback
//! forwarders (`tests/support/forward.rs`).
#![allow(dead_code)]

pub mod ledger;
pub mod migration;
pub mod node;
pub mod prober;
pub mod resources;
pub mod routes;
pub mod tor;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ledger::Ledger;
use node::{Node, Placement};
use prober::Target;
use resources as res;
use tor::Tor;

use crate::support::commands;
use crate::support::etcd::Etcd;
use crate::support::netns::Lan;

/// How long sessions or routes may take to converge after a change.
pub const CONVERGE: Duration = Duration::from_secs(60);

/// Set when `perch-lab up` is asked to stop while the lab is still starting: waits give up.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Polls `f` every 100 ms until it is Ok; on timeout panics with `what` and the last error.
pub fn until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            panic!("interrupted while waiting for {what}");
        }
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Milliseconds since `t`, for the scenarios' timing lines.
pub fn ms(t: Instant) -> u128 {
    t.elapsed().as_millis()
}

/// A running lab. Dropped in field order: nodes, ToRs, the bridge, etcd, the directory.
pub struct Lab {
    pub nodes: Vec<Node>,
    pub tors: Vec<Tor>,
    lan: Lan,
    pub etcd: Etcd,
    pub ledger: Ledger,
    pub dir: PathBuf,
    /// Where the nodes' perch runs (nodes added later too).
    pub placement: Placement,
    _home: tempfile::TempDir,
}

impl Lab {
    /// `n` nodes (`node-1`…, in racks `rack-1`/`rack-2`) with the default full mesh, under a
    /// temporary directory.
    pub fn start(n: usize) -> Lab {
        let home = tempfile::Builder::new()
            .prefix("perch-lab-")
            .tempdir()
            .unwrap();
        Lab::start_in(n, home, Ledger::default())
    }

    /// Like [`Lab::start`], with every node's perch where `placement` says.
    pub fn start_placed(n: usize, placement: Placement) -> Lab {
        let home = tempfile::Builder::new()
            .prefix("perch-lab-")
            .tempdir()
            .unwrap();
        Lab::start_in_placed(n, home, Ledger::default(), placement)
    }

    /// Like [`Lab::start`], in `home`, recording everything in `ledger`.
    pub fn start_in(n: usize, home: tempfile::TempDir, ledger: Ledger) -> Lab {
        Lab::start_in_placed(n, home, ledger, Placement::Root)
    }

    /// Like [`Lab::start_in`], with every node's perch where `placement` says.
    pub fn start_in_placed(
        n: usize,
        home: tempfile::TempDir,
        ledger: Ledger,
        placement: Placement,
    ) -> Lab {
        crate::support::bird::require_bird();
        ledger.dir(home.path());
        let etcd = Etcd::start();
        ledger.process(etcd.pid());
        ledger.dir(etcd.dir());
        let lan = Lan::new();
        ledger.netns(lan.namespace());
        let mut lab = Lab {
            nodes: Vec::new(),
            tors: Vec::new(),
            lan,
            etcd,
            ledger,
            dir: home.path().to_owned(),
            placement,
            _home: home,
        };
        let mut cluster = res::cluster();
        for i in 1..=n {
            let rack = res::rack(i, n);
            cluster.push_str("---\n");
            cluster.push_str(&res::node(
                &res::node_name(i),
                &res::node_address(i),
                &[("rack", &rack)],
            ));
        }
        lab.apply("cluster.yaml", &cluster);
        for i in 1..=n {
            let key = res::affinity_key(&res::node_name(i), &res::node_block(i));
            lab.etcd.put(&key, res::AFFINITY);
        }
        for i in 1..=n {
            lab.add_node(
                &res::node_name(i),
                &res::node_address(i),
                Some(res::node_block(i)),
            );
        }
        lab
    }

    /// The etcd endpoint perch uses.
    pub fn endpoint(&self) -> String {
        self.etcd.endpoint()
    }

    /// Runs a perch command against the lab's etcd (`DATASTORE_TYPE=etcdv3`), insisting it
    /// succeeds; returns its output.
    pub fn perch(&self, args: &[&str]) -> String {
        commands::ok(&self.etcd, args)
    }

    /// Writes `text` to `file` in the lab directory.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `perch apply -f file` with `text`.
    pub fn apply(&self, file: &str, text: &str) {
        let path = self.write(file, text);
        self.perch(&["apply", "-f", path.to_str().unwrap()]);
    }

    /// Starts a node machine (namespace, BIRD, perch). Its Node resource is separate:
    /// [`Lab::register`].
    pub fn add_node(&mut self, name: &str, address: &str, block: Option<String>) -> &Node {
        let node = Node::start_placed(
            &self.dir,
            &self.lan,
            &self.endpoint(),
            name,
            address,
            block,
            &self.ledger,
            self.placement,
        );
        self.nodes.push(node);
        self.nodes.last().unwrap()
    }

    /// Starts ToR `i` (see [`res::tor`]) with a neighbor per `(address, AS)`.
    pub fn add_tor(&mut self, i: usize, neighbors: &[(String, u32)]) -> &Tor {
        let asn = res::tor(i).2;
        self.add_rack_tor(i, asn, neighbors, &[])
    }

    /// Starts ToR `i` (its name and address from [`res::tor`]) in AS `asn`, with a neighbor
    /// per `(address, AS)`, those in `rr_clients` as its route-reflector clients.
    pub fn add_rack_tor(
        &mut self,
        i: usize,
        asn: u32,
        neighbors: &[(String, u32)],
        rr_clients: &[String],
    ) -> &Tor {
        let (name, address, _) = res::tor(i);
        let tor = Tor::start(
            &self.dir,
            &self.lan,
            &name,
            &address,
            asn,
            tor::Neighbors {
                peers: neighbors,
                rr_clients,
            },
            &self.ledger,
        );
        self.tors.push(tor);
        self.tors.last().unwrap()
    }

    /// The lab's nodes as ToR neighbors in the cluster AS, for those `pick` selects.
    pub fn neighbors(&self, pick: impl Fn(&Node) -> bool) -> Vec<(String, u32)> {
        self.nodes
            .iter()
            .filter(|n| pick(n))
            .map(|n| (n.address.clone(), res::CLUSTER_AS))
            .collect()
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in the lab"))
    }

    pub fn node_mut(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in the lab"))
    }

    /// The nodes with pod blocks (not the route reflectors).
    pub fn workers(&self) -> Vec<&Node> {
        self.nodes.iter().filter(|n| n.block.is_some()).collect()
    }

    /// Every worker's mesh sessions: one to each other worker.
    pub fn mesh_of(&self, node: &Node) -> Vec<String> {
        let others = self.workers();
        res::sessions(
            "Mesh",
            others
                .iter()
                .filter(|o| o.name != node.name)
                .map(|o| o.address.as_str()),
        )
    }

    /// What the prober watches: each worker, and every other worker's block.
    pub fn probe_targets(&self) -> Vec<Target> {
        let workers = self.workers();
        workers
            .iter()
            .map(|n| Target {
                node: n.name.clone(),
                ns: n.ns.name.clone(),
                blocks: workers
                    .iter()
                    .filter(|o| o.name != n.name)
                    .map(|o| (o.name.clone(), o.block.clone().unwrap()))
                    .collect(),
            })
            .collect()
    }

    /// Ok when every worker has a kernel route to every other worker's block.
    pub fn check_routes(&self) -> Result<(), String> {
        for t in self.probe_targets() {
            let routes = node::kernel_routes(&t.ns)?;
            let missing: Vec<&str> = t
                .blocks
                .iter()
                .filter(|(_, cidr)| !routes.contains(cidr))
                .map(|(owner, _)| owner.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(format!("{} has no route to {missing:?}'s blocks", t.node));
            }
        }
        Ok(())
    }

    /// Waits until [`Lab::check_routes`] holds.
    pub fn wait_routes(&self) {
        until(CONVERGE, "every block routed on every worker", || {
            self.check_routes()
        });
    }

    /// Waits until every node in `names` runs exactly `want(node)`, all Established.
    pub fn wait_established(&self, names: &[&str], want: impl Fn(&Node) -> Vec<String>) {
        until(CONVERGE, "sessions Established", || {
            names
                .iter()
                .try_for_each(|n| self.node(n).check_established(&want(self.node(n))))
        });
    }

    /// Waits until every worker's full mesh is Established.
    pub fn wait_mesh(&self) {
        let names: Vec<String> = self.workers().iter().map(|n| n.name.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.wait_established(&names, |n| self.mesh_of(n));
    }

    /// Waits until every node's perch has applied etcd revision `revision` or later and BIRD
    /// runs exactly the planned sessions (no drift in either direction).
    pub fn wait_applied(&self, revision: i64) {
        until(CONVERGE, &format!("revision {revision} applied"), || {
            self.nodes.iter().try_for_each(|n| {
                let st = n.status()?;
                let applied = st["lastApply"]["revision"].as_i64().unwrap_or(0);
                let result = st["lastApply"]["result"].as_str().unwrap_or("");
                let drift = &st["drift"];
                let in_step = drift["missingFromBird"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
                    && drift["notInPlan"].as_array().is_some_and(Vec::is_empty);
                if applied >= revision && matches!(result, "reconfigured" | "unchanged") && in_step
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: applied revision {applied} ({result}), drift {drift}",
                        n.name
                    ))
                }
            })
        });
    }
}
