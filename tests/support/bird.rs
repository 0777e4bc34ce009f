//! A BIRD 2 daemon for tests, in its own network namespace, stopped by pid on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::netns::Netns;

pub fn require_bird() {
    if std::process::Command::new("bird")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!(
            "bird (Debian bird2) is not installed: run the project's test script (.ci/run) which installs it"
        );
    }
}

/// A running BIRD.
pub struct Bird {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub socket: PathBuf,
    child: Option<Child>,
}

impl Bird {
    /// Paths for a BIRD in `dir`; not started.
    pub fn paths(dir: &Path) -> Bird {
        Bird {
            dir: dir.to_owned(),
            config: dir.join("bird.conf"),
            socket: dir.join("bird.ctl"),
            child: None,
        }
    }

    /// Starts `bird -f -c config -s socket` in `ns` and waits for its socket to answer.
    pub fn start(&mut self, ns: &Netns) {
        require_bird();
        let log = std::fs::File::create(self.dir.join("bird.log")).unwrap();
        let child = ns
            .command("bird")
            .args(["-f", "-c"])
            .arg(&self.config)
            .arg("-s")
            .arg(&self.socket)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start bird");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "bird exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("bird.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("bird did not open {} within 10s", self.socket.display());
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills BIRD (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `birdc -s socket ARGS` and returns its output.
    pub fn birdc(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The BGP protocol names BIRD runs.
    pub fn bgp_protocols(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .birdc(&["show", "protocols"])
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("BGP"))
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }

    /// `Last reconfiguration on …` from `show status`.
    pub fn last_reconfiguration(&self) -> String {
        self.birdc(&["show", "status"])
            .lines()
            .find(|l| l.contains("Last reconfiguration"))
            .unwrap_or("")
            .to_owned()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` every 50 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One node for a `perch run` test: a temporary directory with `resources/cluster.yaml`, a
/// network namespace with the node's address on its loopback, and BIRD running there on a
/// minimal config (router id = that address).
#[allow(dead_code)]
pub struct BirdNode {
    pub tmp: tempfile::TempDir,
    pub dir: std::path::PathBuf,
    pub ns: Netns,
    pub bird: Bird,
}

#[allow(dead_code)]
impl BirdNode {
    /// `perch run` arguments serving this node as n1 from its resource directory, with a
    /// 200 ms BIRD poll, then `extra`.
    pub fn perch_args(&self, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--resources".into(),
            self.dir.join("resources").display().to_string(),
            "--node".into(),
            "n1".into(),
            "--config".into(),
            self.bird.config.display().to_string(),
            "--bird-socket".into(),
            self.bird.socket.display().to_string(),
            "--bird-poll-interval".into(),
            "200ms".into(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    }
}

/// The minimal BIRD config a [`BirdNode`] starts with.
#[allow(dead_code)]
pub fn minimal_bird_config(router_id: &str) -> String {
    format!("router id {router_id};\nprotocol device {{}}\n")
}

/// Starts a [`BirdNode`]: namespace named after `prefix`, `address` on its loopback.
#[allow(dead_code)]
pub fn bird_node(prefix: &str, address: &str, cluster_yaml: &str) -> BirdNode {
    require_bird();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    std::fs::create_dir_all(dir.join("resources")).unwrap();
    std::fs::write(dir.join("resources/cluster.yaml"), cluster_yaml).unwrap();
    let ns = Netns::new(prefix);
    ns.add_loopback_address(&format!("{address}/32"));
    let mut bird = Bird::paths(&dir);
    std::fs::write(&bird.config, minimal_bird_config(address)).unwrap();
    bird.start(&ns);
    BirdNode { tmp, dir, ns, bird }
}
