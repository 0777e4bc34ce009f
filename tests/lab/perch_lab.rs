//! `perch-lab`: the multi-node BGP lab (`tests/lab/README.md`) as a command.
//!
//! `perch-lab up [--nodes 4] [--tors 1]` starts one etcd, the nodes (BIRD in a network
//! namespace each, served by `perch run` in the same namespace, as on a host network, so its
//! route check reads the kernel table BIRD programs) and GoBGP ToRs, waits until every session is
//! Established and every block routed, prints where to look and what to try, and runs until
//! Ctrl-C or SIGTERM; then it tears everything down. `perch-lab down` cleans up what a killed
//! run left behind, from its state file.
//!
//! The binary is perch as well: invoked as `perch` (the lab links `STATE_DIR/bin/perch` to it)
//! it runs perch's command line, so the nodes and the commands it suggests run this very build.

#[path = "mod.rs"]
mod lab;
mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use lab::ledger::{self, Ledger};
use lab::node::{Node, Placement};
use lab::resources as res;
use lab::{INTERRUPTED, Lab};

const STATE_DIR: &str = "/run/perch-lab";

#[derive(Debug, Parser)]
#[command(
    name = "perch-lab",
    about = "A multi-node BGP lab: etcd, BIRD + perch per node and GoBGP ToRs in network namespaces",
    after_help = "Example:\n  sudo cargo run --release --bin perch-lab -- up --nodes 4 --tors 1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the lab, print its status pages and commands to try, run until Ctrl-C or SIGTERM.
    Up {
        /// Nodes (node-1…), the first half in rack-1, the rest in rack-2.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=9))]
        nodes: u8,
        /// ToRs: 0; 1 (a global peer of every node); 2 (one per rack, chosen by nodeSelector).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
        tors: u8,
        /// Where the state file, the `perch` link and the lab's files live.
        #[arg(long, default_value = STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Stop and remove everything a lab left behind (after a run that was killed).
    Down {
        #[arg(long, default_value = STATE_DIR)]
        state_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let argv0 = std::env::args_os().next().map(PathBuf::from);
    if argv0.as_deref().and_then(Path::file_name) == Some("perch".as_ref()) {
        return perch_main();
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("failed");
        eprintln!("perch-lab: {text}");
    }));
    let result = std::panic::catch_unwind(|| match Cli::parse().command {
        Command::Up {
            nodes,
            tors,
            state_dir,
        } => up(nodes.into(), tors.into(), &state_dir),
        Command::Down { state_dir } => down(&state_dir),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("perch-lab: {e}");
            ExitCode::FAILURE
        }
        // The panic hook printed why; everything started was torn down while unwinding.
        Err(_) => ExitCode::FAILURE,
    }
}

/// perch's own command line (as `src/main.rs` runs it).
fn perch_main() -> ExitCode {
    perch::cli::entry(perch::cli::Cli::parse())
}

/// Watches SIGINT and SIGTERM from now on: the first interrupts any wait of a lab still
/// starting, and is sent on the returned channel.
fn signals() -> Result<mpsc::Receiver<()>, String> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(r) => r,
            Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
        };
        runtime.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (mut int, mut term) = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(i), Ok(t)) => (i, t),
                (Err(e), _) | (_, Err(e)) => return drop(ready_tx.send(Err(e.to_string()))),
            };
            let _ = ready_tx.send(Ok(()));
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
            let _ = tx.send(());
        });
    });
    ready_rx
        .recv()
        .map_err(|e| format!("signal watcher: {e}"))??;
    Ok(rx)
}

/// Removes the state file and the `perch` link when dropped (after the lab is down).
struct Recorded {
    state: PathBuf,
    bin: PathBuf,
}

impl Drop for Recorded {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.bin);
        let _ = std::fs::remove_file(&self.state);
    }
}

fn up(nodes: usize, tors: usize, state_dir: &Path) -> Result<(), String> {
    let state = state_dir.join("state");
    if state.exists() {
        return Err(format!(
            "{} lists a lab that was not torn down: run `perch-lab down` first",
            state.display()
        ));
    }
    let bin = state_dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let perch = bin.join("perch");
    let _ = std::fs::remove_file(&perch);
    let me = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    std::os::unix::fs::symlink(&me, &perch).map_err(|e| format!("{}: {e}", perch.display()))?;
    let _ = support::perch::BINARY.set(perch);
    let ledger = Ledger::at(&state);
    let _recorded = Recorded {
        state: state.clone(),
        bin: bin.clone(),
    };
    ledger.lab(std::process::id());
    ledger.dir(&bin);
    let stop = signals()?;

    let started = Instant::now();
    let home = tempfile::Builder::new()
        .prefix("lab-")
        .tempdir_in(state_dir)
        .map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let mut lab = Lab::start_in_placed(nodes, home, ledger, Placement::Namespace);
    add_tors(&mut lab, tors);
    let names: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    lab.wait_established(&names, |n| expected_sessions(&lab, n, tors));
    lab.wait_routes();
    print!("{}", banner(&lab, tors, started.elapsed(), state_dir));

    let _ = stop.recv();
    println!("\nperch-lab: tearing down…");
    drop(lab);
    println!("perch-lab: down");
    Ok(())
}

fn down(state_dir: &Path) -> Result<(), String> {
    let state = state_dir.join("state");
    if !state.exists() {
        println!(
            "perch-lab: no lab recorded in {}: nothing to do",
            state.display()
        );
        return Ok(());
    }
    for line in ledger::clean_up(&state)? {
        println!("  {line}");
    }
    println!("perch-lab: down");
    Ok(())
}

/// The node's rack number (from its name, `node-i`).
fn rack_of(lab: &Lab, node: &Node) -> usize {
    let i: usize = node.name.trim_start_matches("node-").parse().unwrap_or(1);
    let rack = res::rack(i, lab.workers().len());
    rack.trim_start_matches("rack-").parse().unwrap_or(1)
}

/// One ToR as every node's global peer, or one per rack peered by `nodeSelector`.
fn add_tors(lab: &mut Lab, tors: usize) {
    for i in 1..=tors {
        let members = if tors == 1 {
            lab.neighbors(|_| true)
        } else {
            let racks: Vec<(String, usize)> = lab
                .nodes
                .iter()
                .map(|n| (n.name.clone(), rack_of(lab, n)))
                .collect();
            lab.neighbors(|n| racks.contains(&(n.name.clone(), i)))
        };
        lab.add_tor(i, &members);
        let (_, ip, asn) = res::tor(i);
        let peer = if tors == 1 {
            res::bgp_peer("my-global-peer", &format!("peerIP: {ip}, asNumber: {asn}"))
        } else {
            res::bgp_peer(
                &format!("rack-{i}-tor"),
                &format!("peerIP: {ip}, asNumber: {asn}, nodeSelector: rack == 'rack-{i}'"),
            )
        };
        lab.apply(&format!("tor-{i}-peer.yaml"), &peer);
    }
}

/// A node's sessions: the mesh and its ToR.
fn expected_sessions(lab: &Lab, node: &Node, tors: usize) -> Vec<String> {
    let mut want = lab.mesh_of(node);
    match tors {
        1 => want.push(res::session("Global", &res::tor(1).1)),
        2 => want.push(res::session("Node", &res::tor(rack_of(lab, node)).1)),
        _ => {}
    }
    want.sort();
    want
}

/// What `up` prints once everything converged.
fn banner(lab: &Lab, tors: usize, took: Duration, state_dir: &Path) -> String {
    let mut out = format!(
        "\nperch lab is up: {} nodes, {tors} ToR(s); every session Established and every block routed after {:.1} s\n\n",
        lab.nodes.len(),
        took.as_secs_f64()
    );
    out.push_str(&format!(
        "  {:<7} {:<12} {:<14} {:<24} {}\n",
        "node", "address", "pod block", "status page", "namespace"
    ));
    for n in &lab.nodes {
        out.push_str(&format!(
            "  {:<7} {:<12} {:<14} {:<24} {}\n",
            n.name,
            n.address,
            n.block.as_deref().unwrap_or("-"),
            n.status_url(),
            n.ns.name
        ));
    }
    for t in &lab.tors {
        out.push_str(&format!(
            "  {:<7} {:<12} {:<14} {:<24} {}\n",
            t.name,
            t.address,
            format!("AS {}", t.asn),
            "GoBGP",
            t.ns.name
        ));
    }
    let first = &lab.nodes[0];
    out.push_str(&format!(
        "\netcd: {}; files and logs (perch.log, bird.log): {}\n\nTry, in another shell:\n",
        lab.endpoint(),
        lab.dir.display()
    ));
    let mut try_line = |s: String| out.push_str(&format!("  {s}\n"));
    try_line(format!(
        "export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS={} PATH={}:$PATH",
        lab.endpoint(),
        state_dir.join("bin").display()
    ));
    try_line("perch get nodes".into());
    try_line(format!(
        "perch status --bird-socket {}",
        first.bird.socket.display()
    ));
    try_line(format!("curl -s {}status", first.status_url()));
    try_line(format!("curl -s {}routes", first.status_url()));
    try_line(format!("ip -n {} route show proto bird", first.ns.name));
    if let Some(t) = lab.tors.first() {
        try_line(format!(
            "ip netns exec {} gobgp global rib -a ipv4",
            t.ns.name
        ));
    }
    try_line(
        "perch patch bgpconfiguration default -p '{\"spec\":{\"nodeToNodeMeshEnabled\":false}}'"
            .into(),
    );
    out.push_str(
        "\nCtrl-C here (or `perch-lab down` from another shell) stops the lab and removes everything.\n",
    );
    out
}
