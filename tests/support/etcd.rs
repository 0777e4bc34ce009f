//! A throwaway etcd for integration tests: Debian's `etcd` on free loopback ports with its own
//! temporary data directory, killed by pid when dropped.
//!
//! Helpers stop and restart it on the same data dir (optionally on another client port, so a
//! watcher pointed at the usual port cannot see changes made meanwhile), compact it, enable
//! authentication, and serve TLS with certificates made here with `openssl`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use perch::datastore::etcd::EtcdConfig;
use serde_json::Value;

use super::certs::{Tls, make_certificates};

/// How long etcd may take to become healthy (a restart on an existing data dir takes ~1 s).
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

/// A running (or stopped) test etcd.
pub struct Etcd {
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    tls: Option<Tls>,
    /// `user:password` of root once authentication is on.
    root: Option<String>,
}

fn require_etcd() {
    let found = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "etcd is not installed (no `etcd` on PATH): run the tests through the project's test \
         script, tests/run.sh (CI runs it from .ci/run), which installs etcd-server and etcd-client"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Etcd {
    /// Starts a plain-HTTP etcd.
    pub fn start() -> Etcd {
        Etcd::start_with(false)
    }

    /// Starts an etcd that serves TLS and requires client certificates.
    pub fn start_tls() -> Etcd {
        Etcd::start_with(true)
    }

    fn start_with(tls: bool) -> Etcd {
        require_etcd();
        let dir = tempfile::Builder::new()
            .prefix("perch-etcd-")
            .tempdir()
            .expect("temp dir");
        let tls = tls.then(|| make_certificates(dir.path()));
        let mut etcd = Etcd {
            dir,
            client_port: 0,
            peer_port: 0,
            child: None,
            tls,
            root: None,
        };
        // Ports are probed free, but another process may take one first: retry with new ones.
        let mut last = String::new();
        for _ in 0..3 {
            etcd.client_port = free_port();
            etcd.peer_port = free_port();
            match etcd.launch(etcd.client_port) {
                Ok(()) => return etcd,
                Err(e) => {
                    last = e;
                    let _ = std::fs::remove_dir_all(etcd.data_dir());
                }
            }
        }
        panic!("test etcd did not start: {last}");
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The client URL perch should use.
    pub fn endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.client_port)
    }

    /// The TLS files, for a TLS etcd.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Settings reaching this etcd (with the client certificate when TLS is on).
    pub fn config(&self) -> EtcdConfig {
        let mut cfg = EtcdConfig::new([self.endpoint()]);
        if let Some(t) = &self.tls {
            cfg.ca_cert_file = Some(t.ca.clone());
            cfg.cert_file = Some(t.client_cert.clone());
            cfg.key_file = Some(t.client_key.clone());
        }
        cfg
    }

    fn launch(&mut self, client_port: u16) -> Result<(), String> {
        let client_url = format!("{}://127.0.0.1:{client_port}", self.scheme());
        let peer_url = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new("etcd");
        cmd.arg("--name=perch-test")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=perch-test={peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg("--experimental-watch-progress-notify-interval=1s")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if let Some(t) = &self.tls {
            cmd.arg(format!("--cert-file={}", t.server_cert.display()))
                .arg(format!("--key-file={}", t.server_key.display()))
                .arg(format!("--trusted-ca-file={}", t.ca.display()))
                .arg("--client-cert-auth");
        }
        let child = cmd.spawn().map_err(|e| format!("cannot run etcd: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + HEALTHY_WITHIN;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("etcd exited ({status}); log:\n{}", self.log_tail()));
            }
            if self.healthy(&client_url) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "etcd not healthy within {HEALTHY_WITHIN:?}; log:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn healthy(&self, url: &str) -> bool {
        self.ctl_command(url)
            .args(["--command-timeout=1s", "endpoint", "health"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The directory holding its data and log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Kills etcd (SIGKILL, by pid) and waits for it; committed data stays on disk.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same data dir and port.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(self.client_port).expect("etcd restarts");
    }

    /// Starts etcd again on the same data dir but another client port (returned), so clients
    /// of [`Etcd::endpoint`] see it as down while the test changes things through the other.
    pub fn restart_elsewhere(&mut self) -> String {
        self.stop();
        let port = free_port();
        self.launch(port).expect("etcd restarts on a side port");
        format!("{}://127.0.0.1:{port}", self.scheme())
    }

    fn ctl_command(&self, url: &str) -> Command {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={url}"));
        if let Some(t) = &self.tls {
            cmd.arg(format!("--cacert={}", t.ca.display()))
                .arg(format!("--cert={}", t.client_cert.display()))
                .arg(format!("--key={}", t.client_key.display()));
        }
        if let Some(root) = &self.root {
            cmd.arg(format!("--user={root}"));
        }
        cmd
    }

    /// Runs etcdctl against `url` (this etcd's endpoint by default) and returns its stdout;
    /// panics with its stderr on failure.
    pub fn etcdctl_at(&self, url: &str, args: &[&str]) -> String {
        let out = self
            .ctl_command(url)
            .args(args)
            .output()
            .expect("etcdctl runs");
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs etcdctl against this etcd.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        self.etcdctl_at(&self.endpoint(), args)
    }

    /// Writes a key (any bytes of text, even invalid JSON).
    pub fn put(&self, key: &str, value: &str) {
        self.etcdctl(&["put", key, value]);
    }

    /// Deletes a key.
    pub fn del(&self, key: &str) {
        self.etcdctl(&["del", key]);
    }

    /// The raw value stored under `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        let out = self.etcdctl(&["get", key, "--print-value-only"]);
        (!out.is_empty()).then(|| out.trim_end_matches('\n').to_owned())
    }

    /// The stored JSON of `key` and its mod revision.
    pub fn stored(&self, key: &str) -> Option<(Value, i64)> {
        let text = self.get(key)?;
        let meta: Value = serde_json::from_str(&self.etcdctl(&["get", key, "-w", "json"])).unwrap();
        let value = serde_json::from_str(&text).expect("the stored value is JSON");
        Some((
            value,
            meta["kvs"][0]["mod_revision"]
                .as_i64()
                .expect("a mod revision"),
        ))
    }

    /// The current revision.
    pub fn revision(&self) -> i64 {
        revision_of(&self.etcdctl(&["get", "/", "-w", "json"]))
    }

    /// Compacts (physically) up to the current revision of the etcd at `url`.
    pub fn compact_at(&self, url: &str) -> i64 {
        let rev = revision_of(&self.etcdctl_at(url, &["get", "/", "-w", "json"]));
        self.etcdctl_at(url, &["compact", &rev.to_string(), "--physical"]);
        rev
    }

    /// Turns on authentication: user `root`, and `user` with read-write access to `/calico/`.
    pub fn enable_auth(&mut self, user: &str, password: &str) {
        let root = "root:perch-root-pw";
        self.etcdctl(&["user", "add", root, "--interactive=false"]);
        self.etcdctl(&[
            "user",
            "add",
            &format!("{user}:{password}"),
            "--interactive=false",
        ]);
        self.etcdctl(&["role", "add", "calico-rw"]);
        self.etcdctl(&[
            "role",
            "grant-permission",
            "calico-rw",
            "--prefix=true",
            "readwrite",
            "/calico/",
        ]);
        self.etcdctl(&["user", "grant-role", user, "calico-rw"]);
        self.etcdctl(&["auth", "enable"]);
        self.root = Some(root.to_owned());
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn revision_of(json: &str) -> i64 {
    let v: Value = serde_json::from_str(json).expect("etcdctl -w json output");
    v["header"]["revision"].as_i64().expect("a header revision")
}
