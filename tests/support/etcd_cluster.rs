//! A throwaway three-member etcd cluster on loopback (distinct free ports, one temporary data
//! directory per member), with `etcd grpc-proxy` in front on request. Members can be killed,
//! restarted, frozen (SIGSTOP) and thawed by pid; everything is killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use super::perch::free_port;

/// How long a member may take to become healthy.
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

struct Member {
    name: String,
    client: String,
    peer: String,
    child: Option<Child>,
}

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    members: Vec<Member>,
    proxy: Option<(String, Child)>,
}

impl Cluster {
    /// Starts `count` members and waits until every one of them is healthy.
    pub fn start(count: usize) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("perch-etcd-cluster-")
            .tempdir()
            .expect("temp dir");
        let tag = std::process::id();
        let members: Vec<Member> = (0..count)
            .map(|i| Member {
                name: format!("m{i}-{tag}"),
                client: format!("http://127.0.0.1:{}", free_port()),
                peer: format!("http://127.0.0.1:{}", free_port()),
                child: None,
            })
            .collect();
        let mut c = Cluster {
            dir,
            members,
            proxy: None,
        };
        for i in 0..count {
            c.launch(i);
        }
        for i in 0..count {
            c.wait_healthy(i);
        }
        c
    }

    fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    fn launch(&mut self, i: usize) {
        let initial = self.initial_cluster();
        let m = &self.members[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(&m.name))
            .unwrap();
        let child = Command::new("etcd")
            .arg(format!("--name={}", m.name))
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join(&m.name).display()
            ))
            .arg(format!("--listen-client-urls={}", m.client))
            .arg(format!("--advertise-client-urls={}", m.client))
            .arg(format!("--listen-peer-urls={}", m.peer))
            .arg(format!("--initial-advertise-peer-urls={}", m.peer))
            .arg(format!("--initial-cluster={initial}"))
            .arg("--initial-cluster-state=new")
            .arg("--initial-cluster-token=perch-test")
            .arg("--heartbeat-interval=100")
            .arg("--election-timeout=1000")
            .arg("--experimental-watch-progress-notify-interval=1s")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("etcd runs (Debian's etcd-server)");
        self.members[i].child = Some(child);
    }

    fn ctl(&self, endpoints: &str) -> Command {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg("--command-timeout=2s")
            .arg("--dial-timeout=1s");
        cmd
    }

    fn wait_healthy(&self, i: usize) {
        let deadline = Instant::now() + HEALTHY_WITHIN;
        let m = &self.members[i];
        while Instant::now() < deadline {
            let ok = self
                .ctl(&m.client)
                .args(["endpoint", "health"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.log_path(&m.name)).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        panic!(
            "etcd member {} not healthy within {HEALTHY_WITHIN:?}:\n{}",
            m.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    /// Every member's client URL, in order.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client.clone()).collect()
    }

    /// The client URL of member `i`.
    pub fn endpoint(&self, i: usize) -> &str {
        &self.members[i].client
    }

    /// Waits until the members that run have elected a leader; returns it.
    pub fn wait_leader(&self) -> usize {
        let deadline = Instant::now() + HEALTHY_WITHIN;
        loop {
            if let Some(i) = self.try_leader() {
                return i;
            }
            assert!(Instant::now() < deadline, "no leader elected");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The member that is leader now, asked of the members that answer.
    pub fn leader(&self) -> usize {
        self.try_leader().expect("a leader")
    }

    fn try_leader(&self) -> Option<usize> {
        let out = self
            .ctl(&self.endpoints().join(","))
            .args(["endpoint", "status", "-w", "json"])
            .output()
            .expect("etcdctl runs");
        let status: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let entries = status.as_array().cloned().unwrap_or_default();
        for e in &entries {
            let id = &e["Status"]["header"]["member_id"];
            if *id == e["Status"]["leader"] {
                let url = e["Endpoint"].as_str().unwrap_or("");
                if let Some(i) = self.members.iter().position(|m| m.client == url) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Kills member `i` (SIGKILL by pid) and waits for it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.launch(i);
        self.wait_healthy(i);
    }

    fn signal(&self, i: usize, signal: Signal) {
        let pid = self.members[i].child.as_ref().expect("member running").id();
        kill(Pid::from_raw(pid as i32), signal).expect("signal etcd");
    }

    /// Freezes member `i` (SIGSTOP): its sockets stay open, nothing answers.
    pub fn freeze(&self, i: usize) {
        self.signal(i, Signal::SIGSTOP);
    }

    /// Thaws a frozen member (SIGCONT).
    pub fn thaw(&self, i: usize) {
        self.signal(i, Signal::SIGCONT);
    }

    /// The member whose client port `pid` has an established TCP connection to, if any.
    pub fn member_used_by(&self, pid: u32) -> Option<usize> {
        let out = Command::new("ss")
            .args(["-Htnp", "state", "established"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let own = format!("pid={pid},");
        for line in text.lines().filter(|l| l.contains(&own)) {
            let peer = line.split_whitespace().nth(3).unwrap_or("");
            if let Some(i) = self
                .members
                .iter()
                .position(|m| m.client.trim_start_matches("http://") == peer)
            {
                return Some(i);
            }
        }
        None
    }

    /// Starts `etcd grpc-proxy` in front of every member; returns its endpoint.
    pub fn start_proxy(&mut self) -> String {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(self.log_path("proxy")).unwrap();
        let eps: Vec<String> = self
            .endpoints()
            .iter()
            .map(|e| e.trim_start_matches("http://").to_owned())
            .collect();
        let child = Command::new("etcd")
            .args(["grpc-proxy", "start"])
            .arg(format!("--endpoints={}", eps.join(",")))
            .arg(format!("--listen-addr={addr}"))
            .arg(format!("--advertise-client-url={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("etcd grpc-proxy runs");
        let url = format!("http://{addr}");
        self.proxy = Some((url.clone(), child));
        let deadline = Instant::now() + HEALTHY_WITHIN;
        loop {
            let ok = self
                .ctl(&url)
                .args(["get", "/", "--limit=1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return url;
            }
            assert!(Instant::now() < deadline, "grpc-proxy never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            if self.members[i].child.is_some() {
                // A frozen member cannot die until it is thawed.
                self.thaw(i);
            }
            self.kill(i);
        }
        if let Some((_, mut child)) = self.proxy.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
