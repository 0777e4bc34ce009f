//! `perch run` as a child process, and a minimal HTTP client for its status endpoint.
//!
//! `perch run` can also run inside a network namespace (as BIRD's host-network sidecar does,
//! so it reads BIRD's kernel table): its status endpoint then listens on that namespace's
//! loopback and is forwarded to a root-loopback port, so callers reach it the same way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::bird::wait_for;
use super::forward::{Forward, free_port_in};

/// The perch binary for programs Cargo does not build it for (the lab's own binary, which
/// carries perch inside it); integration tests use Cargo's build.
pub static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// The perch binary to run.
pub fn binary() -> PathBuf {
    option_env!("CARGO_BIN_EXE_perch")
        .map(PathBuf::from)
        .or_else(|| BINARY.get().cloned())
        .expect("the perch binary: Cargo's build in tests, support::perch::BINARY elsewhere")
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of metric `name` (a line `name value`, no labels) on perch's `/metrics`.
pub fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    body.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `GET path` on 127.0.0.1:port; returns (status code, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((code, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A running `perch run`.
pub struct Perch {
    /// Its status endpoint on the root namespace's loopback.
    pub port: u16,
    pub log: PathBuf,
    child: Child,
    /// root loopback → the status endpoint in perch's namespace, when it runs in one.
    forward: Option<Forward>,
}

impl Perch {
    /// Starts `perch run ARGS --http-listen 127.0.0.1:<free port>` with its log in `log`.
    pub fn start(args: &[String], envs: &[(&str, &str)], log: PathBuf) -> Perch {
        Perch::start_in(None, args, envs, log)
    }

    /// Like [`Perch::start`], inside network namespace `ns` when given (`ip netns exec`): it
    /// listens on that namespace's loopback, forwarded to a free root-loopback port
    /// ([`Perch::port`]).
    pub fn start_in(
        ns: Option<&str>,
        args: &[String],
        envs: &[(&str, &str)],
        log: PathBuf,
    ) -> Perch {
        let listen = free_port_in(ns);
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        cmd.arg("run")
            .args(args)
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{listen}"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .env("PERCH_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start perch");
        let forward = ns.map(|_| {
            Forward::start(
                None,
                ns,
                std::net::SocketAddr::from(([127, 0, 0, 1], listen)),
            )
        });
        let port = forward.as_ref().map_or(listen, |f| f.port);
        let p = Perch {
            port,
            log,
            child,
            forward,
        };
        wait_for(Duration::from_secs(20), "perch's status endpoint", || {
            http_get(port, "/livez").filter(|(c, _)| *c == 200)
        });
        p
    }

    /// `/status` as JSON.
    pub fn status(&self) -> Value {
        let (_, body) = http_get(self.port, "/status").expect("GET /status");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
    }

    /// Waits until `/status` satisfies `pred`, returning it.
    pub fn wait_status(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_for(timeout, what, || {
            let s = http_get(self.port, "/status")
                .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())?;
            pred(&s).then_some(s)
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let ok = self.child.wait().map(|s| s.success()).unwrap_or(false);
        drop(self.forward.take());
        std::mem::forget(self);
        ok
    }
}

impl Drop for Perch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
