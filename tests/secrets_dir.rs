//! `--secrets-dir`: perch opens only the keys that resources reference. An unrelated file
//! in the directory (huge, binary, a FIFO) is never opened, by the one-shot commands or by
//! `perch run`; a referenced key that cannot be used costs only its session.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{AccessKind, EventKind};
use notify::{RecursiveMode, Watcher};
use serde_json::Value;
use support::bird::{bird_node, wait_for};
use support::perch::Perch;

/// Records every open of a file under the watched directories (inotify `IN_OPEN`).
struct Opens {
    _watcher: notify::RecommendedWatcher,
    rx: mpsc::Receiver<PathBuf>,
    seen: Vec<PathBuf>,
}

impl Opens {
    fn watch(dirs: &[&Path]) -> Opens {
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
            if let Ok(e) = e
                && matches!(e.kind, EventKind::Access(AccessKind::Open(_)))
            {
                for p in e.paths {
                    let _ = tx.send(p);
                }
            }
        })
        .unwrap();
        for d in dirs {
            watcher.watch(d, RecursiveMode::NonRecursive).unwrap();
        }
        Opens {
            _watcher: watcher,
            rx,
            seen: Vec::new(),
        }
    }

    /// Every open up to now: opens `marker` (in a watched directory) and collects events
    /// until its own arrives — inotify delivers a directory's events in order.
    fn until_now(&mut self, marker: &Path) -> &[PathBuf] {
        std::fs::write(marker, "").unwrap();
        drop(std::fs::File::open(marker).unwrap());
        loop {
            let p = self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the marker's open event arrives");
            if p == marker {
                return &self.seen;
            }
            self.seen.push(p);
        }
    }
}

const NODE: &str = "kind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.97.0.1/24}}\n---\n\
    kind: BGPConfiguration\nmetadata: {name: default}\n\
    spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}\n";

/// A BGPPeer `tor` whose password is key `key` of secret `bgp`.
fn peer(key: &str) -> String {
    format!(
        "kind: BGPPeer\nmetadata: {{name: tor}}\n\
         spec: {{peerIP: 10.97.0.254, asNumber: 65001,\n\
         password: {{secretKeyRef: {{name: bgp, key: {key}}}}}}}\n"
    )
}

fn cluster(key: &str) -> String {
    format!("{NODE}---\n{}", peer(key))
}

/// A secrets directory with `bgp/tor` (the referenced key) and an unrelated secret `other`.
fn secrets_dir(root: &Path) -> (PathBuf, PathBuf) {
    let secrets = root.join("secrets");
    for d in ["bgp", "other"] {
        std::fs::create_dir_all(secrets.join(d)).unwrap();
    }
    std::fs::write(secrets.join("bgp/tor"), "s3cret\n").unwrap();
    std::fs::write(secrets.join("other/blob"), b"\xff\xfe binary").unwrap();
    (secrets.clone(), secrets.join("other"))
}

/// `perch plan -o json` for n1 of `resources` with `--secrets-dir secrets`; it must succeed.
fn plan(resources: &Path, secrets: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_perch"))
        .env_remove("NODENAME")
        .args(["plan", "-o", "json", "-n", "n1", "-r"])
        .arg(resources)
        .arg("--secrets-dir")
        .arg(secrets)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn plan_opens_only_the_referenced_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (secrets, other) = secrets_dir(tmp.path());
    let resources = tmp.path().join("cluster.yaml");
    std::fs::write(&resources, cluster("tor")).unwrap();
    let mut opens = Opens::watch(&[&secrets.join("bgp"), &other]);

    let plan = plan(&resources, &secrets);
    assert_eq!(plan["peers"][0]["hasPassword"], true, "{plan:#}");

    let seen = opens.until_now(&other.join(".marker"));
    assert!(
        seen.contains(&secrets.join("bgp/tor")),
        "the referenced key was read (so the watch sees perch's opens): {seen:?}"
    );
    assert!(
        !seen.contains(&other.join("blob")),
        "an unrelated secret was opened: {seen:?}"
    );
}

/// A referenced key that is a FIFO, or larger than any password, costs only its session, with
/// a warning that says why; the read never waits on the FIFO.
#[test]
fn an_unusable_referenced_key_costs_only_its_session() {
    let tmp = tempfile::tempdir().unwrap();
    let (secrets, _) = secrets_dir(tmp.path());
    nix::unistd::mkfifo(
        &secrets.join("bgp/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::write(secrets.join("bgp/huge"), vec![b'x'; 2 << 20]).unwrap();
    for (key, why) in [
        ("fifo", "is not a regular file"),
        ("huge", "is larger than 1048576 bytes"),
    ] {
        let resources = tmp.path().join(format!("{key}.yaml"));
        let mut text = cluster(key);
        text.push_str(
            "---\nkind: BGPPeer\nmetadata: {name: good}\n\
             spec: {peerIP: 10.97.0.253, asNumber: 65001,\n\
             password: {secretKeyRef: {name: bgp, key: tor}}}\n",
        );
        std::fs::write(&resources, text).unwrap();
        let plan = plan(&resources, &secrets);
        let peers: Vec<&str> = plan["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(peers, ["Global_10_97_0_253"], "{key}: {plan:#}");
        let warnings = plan["warnings"].to_string();
        assert!(
            warnings.contains(&format!(
                "password secret \\\"bgp\\\" key \\\"{key}\\\" {why}"
            )),
            "{key}: {warnings}"
        );
    }
}

/// Key `tor` of the Secret volume at `dir`, laid out as the kubelet does (`tor ->
/// ..data/tor`, `..data -> <version>`), with `value` in a new `version` directory; the
/// `..data` link is replaced in one rename.
fn mounted_secret(dir: &Path, version: &str, value: &str) {
    std::fs::create_dir_all(dir.join(version)).unwrap();
    std::fs::write(dir.join(version).join("tor"), value).unwrap();
    std::os::unix::fs::symlink(version, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    if std::fs::symlink_metadata(dir.join("tor")).is_err() {
        std::os::unix::fs::symlink("..data/tor", dir.join("tor")).unwrap();
    }
}

/// `perch run`: a BGPPeer added later that references an existing key is applied with its
/// password at once (never withheld while the secret is read), a value rotated as the kubelet
/// rotates a mounted Secret reaches BIRD, and the unrelated secret is never opened.
#[test]
fn run_reads_referenced_keys_when_they_are_first_needed() {
    let node = bird_node("sec", "10.97.0.1", NODE);
    let (secrets, other) = secrets_dir(&node.dir);
    std::fs::remove_file(secrets.join("bgp/tor")).unwrap();
    mounted_secret(&secrets.join("bgp"), "..v1", "s3cret\n");
    let mut opens = Opens::watch(&[&other]);
    let args = node.perch_args(&["--secrets-dir", secrets.to_str().unwrap()]);
    let perch = Perch::start(&args, &[], node.dir.join("perch.log"));
    perch.wait_status(Duration::from_secs(20), "ready", |st: &Value| {
        st["ready"] == true
    });

    let peer_file = node.dir.join("resources/tor.yaml");
    std::fs::write(node.dir.join("tor.tmp"), peer("tor")).unwrap();
    std::fs::rename(node.dir.join("tor.tmp"), &peer_file).unwrap();
    let config = || std::fs::read_to_string(&node.bird.config).unwrap_or_default();
    wait_for(Duration::from_secs(10), "the tor session in BIRD", || {
        node.bird
            .bgp_protocols()
            .contains(&"Global_10_97_0_254".to_string())
            .then_some(())
    });
    assert!(config().contains("password \"s3cret\";"), "{}", config());
    assert!(
        !perch.log_text().contains("peering skipped"),
        "the session was never withheld for want of its secret:\n{}",
        perch.log_text()
    );

    // Rotated as the kubelet rotates a mounted Secret: a new version directory, then the
    // `..data` link swapped to it in one rename.
    mounted_secret(&secrets.join("bgp"), "..v2", "n3w\n");
    wait_for(
        Duration::from_secs(10),
        "the new password in bird.cfg",
        || config().contains("password \"n3w\";").then_some(()),
    );
    let seen = opens.until_now(&other.join(".marker"));
    assert!(
        !seen.contains(&other.join("blob")),
        "an unrelated secret was opened: {seen:?}"
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

/// `perch run` with a secrets directory it cannot read (here a file): the session whose key
/// it could not look for is withheld, with a warning that says why, instead of peering
/// without the password it may need.
#[test]
fn run_withholds_a_session_whose_key_cannot_be_looked_for() {
    let node = bird_node("sen", "10.97.0.1", &cluster("tor"));
    let not_a_dir = node.dir.join("secrets-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let args = node.perch_args(&["--secrets-dir", not_a_dir.to_str().unwrap()]);
    let perch = Perch::start(&args, &[], node.dir.join("perch.log"));
    perch.wait_status(Duration::from_secs(20), "ready", |st: &Value| {
        st["ready"] == true
    });
    let (_, body) = support::perch::http_get(perch.port, "/plan").expect("/plan");
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plan["peers"], serde_json::json!([]), "{plan:#}");
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("key \\\"tor\\\" cannot be read: ")
            && warnings.contains("not a directory"),
        "{warnings}"
    );
    assert!(
        !node
            .bird
            .bgp_protocols()
            .contains(&"Global_10_97_0_254".to_string()),
        "{:?}",
        node.bird.bgp_protocols()
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}
