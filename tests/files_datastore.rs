//! The file datastore through the binary: what a resource directory may hold without
//! hurting perch (symlink loops, FIFOs, deeply nested documents).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor}
spec: {peerIP: 10.0.0.254, asNumber: 65001}
";

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .env_remove("PERCH_RESOURCES")
        .env_remove("PERCH_SECRETS_DIR")
        .env("PERCH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run perch")
}

/// Waits for `child` until `within`; kills it and fails if it is still running then.
fn finish(mut child: Child, within: Duration, what: &str) -> Output {
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: perch still running after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn plan(dir: &Path, within: Duration, what: &str) -> Output {
    let child = spawn(&[
        "plan",
        "-n",
        "n1",
        "-o",
        "json",
        "-r",
        dir.to_str().unwrap(),
    ]);
    finish(child, within, what)
}

#[test]
fn directory_symlink_loops_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cluster.yaml"), CLUSTER).unwrap();
    std::os::unix::fs::symlink(".", dir.join("a")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("b")).unwrap();
    // A symlinked directory that is not a loop is read, as a ConfigMap mount's is.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("peer.yaml"),
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor2}\n\
         spec: {peerIP: 10.0.0.253, asNumber: 65001}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(other.path(), dir.join("linked")).unwrap();
    let out = plan(
        dir,
        Duration::from_secs(20),
        "planning a directory with loops",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let peers: Vec<&str> = plan["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(peers.len(), 2, "each resource once: {plan}");
    assert!(
        stderr.contains("already read") && stderr.contains("a"),
        "the loop is logged: {stderr}"
    );
}

#[test]
fn a_fifo_in_the_resource_directory_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cluster.yaml"), CLUSTER).unwrap();
    nix::unistd::mkfifo(
        &dir.join("stuck.yaml"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = plan(dir, Duration::from_secs(20), "planning next to a FIFO");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("stuck.yaml") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn deeply_nested_documents_are_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cluster.yaml"), CLUSTER).unwrap();
    let deep = "[".repeat(200_000);
    std::fs::write(dir.join("deep.yaml"), &deep).unwrap();
    std::fs::write(dir.join("deep.json"), format!("{{\"a\": {deep}")).unwrap();
    let out = plan(dir, Duration::from_secs(20), "planning next to deep files");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a file that cannot be parsed fails the one-shot plan"
    );
    assert!(stderr.contains("nested deeper than"), "{stderr}");

    // `perch apply -f` refuses it before connecting anywhere.
    let child = spawn(&["apply", "-f", dir.join("deep.yaml").to_str().unwrap()]);
    let out = finish(child, Duration::from_secs(20), "apply -f of a deep file");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("nested deeper than"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\n\
         spec: {asNumber: 64512}\n",
    );
    for i in 0..2000 {
        text.push_str(&format!(
            "---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: n{i}}}\n\
             spec: {{bgp: {{ipv4Address: 10.{}.{}.1/8}}}}\n",
            i / 250,
            i % 250
        ));
    }
    std::fs::write(tmp.path().join("cluster.yaml"), text).unwrap();
    for output in ["json", "table"] {
        let mut child = spawn(&[
            "plan",
            "-n",
            "n0",
            "-o",
            output,
            "-r",
            tmp.path().to_str().unwrap(),
        ]);
        // Read a little (as `head -c 10` does), then stop reading.
        let mut first = [0u8; 10];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = finish(child, Duration::from_secs(20), "plan into a closed pipe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "-o {output}: {:?} {stderr}",
            out.status
        );
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "-o {output}: {stderr}"
        );
    }
}
