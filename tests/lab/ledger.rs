//! The lab's state file: one line per thing a lab started or created (`lab PID`, `pid PID
//! COMM`, `netns NAME`, `dir PATH`), appended as they appear, so that `perch-lab down` can
//! clean up after a run that was killed before it could tear itself down.
//!
//! Processes are stopped by pid, and only while `/proc/PID/comm` still names the program that
//! was recorded (a recycled pid is left alone).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where a lab records what it starts; tests keep no ledger.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    path: Option<PathBuf>,
}

/// The program name of a running process.
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

impl Ledger {
    /// A ledger appending to `path`.
    pub fn at(path: &Path) -> Ledger {
        Ledger {
            path: Some(path.to_owned()),
        }
    }

    fn line(&self, text: &str) {
        let Some(path) = &self.path else { return };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("state file {}: {e}", path.display()));
        writeln!(f, "{text}").expect("state file is writable");
    }

    /// The lab's own process (asked to tear down first).
    pub fn lab(&self, pid: u32) {
        self.line(&format!("lab {pid}"));
    }

    /// A process the lab started.
    pub fn process(&self, pid: Option<u32>) {
        if let Some(pid) = pid {
            let name = comm(pid).unwrap_or_default();
            self.line(&format!("pid {pid} {name}"));
        }
    }

    pub fn netns(&self, name: &str) {
        self.line(&format!("netns {name}"));
    }

    pub fn dir(&self, path: &Path) {
        self.line(&format!("dir {}", path.display()));
    }
}

/// The program name of a live process (not a zombie waiting to be reaped).
fn live(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    if matches!(state, 'Z' | 'X') {
        return None;
    }
    comm(pid)
}

/// Waits up to `within` for `pid` to be gone.
fn gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if live(pid).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    live(pid).is_none()
}

/// Cleans up everything `state` lists and removes it; returns what was done, one line each.
pub fn clean_up(state: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(state).map_err(|e| format!("{}: {e}", state.display()))?;
    let mut done = Vec::new();
    let entries: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once(' ')).collect();
    // A lab still running tears itself down when asked.
    for (_, pid) in entries.iter().filter(|(k, _)| *k == "lab") {
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && live(pid).as_deref() == Some("perch-lab") {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            if gone(pid, Duration::from_secs(30)) {
                done.push(format!("the running lab (pid {pid}) tore itself down"));
            }
        }
    }
    for (_, rest) in entries.iter().filter(|(k, _)| *k == "pid") {
        let (pid, name) = rest.split_once(' ').unwrap_or((rest, ""));
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if live(pid).is_some_and(|c| c == name) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            gone(pid, Duration::from_secs(5));
            done.push(format!("stopped {name} (pid {pid})"));
        }
    }
    for (_, name) in entries.iter().filter(|(k, _)| *k == "netns") {
        if Path::new("/run/netns").join(name).exists() {
            let ok = std::process::Command::new("ip")
                .args(["netns", "del", name])
                .status()
                .is_ok_and(|s| s.success());
            done.push(format!(
                "{} network namespace {name}",
                if ok { "deleted" } else { "could not delete" }
            ));
        }
    }
    for (_, dir) in entries.iter().filter(|(k, _)| *k == "dir") {
        if Path::new(dir).exists() {
            let _ = std::fs::remove_dir_all(dir);
            done.push(format!("removed {dir}"));
        }
    }
    // A lab that tore itself down has removed its state file already.
    if state.exists() {
        std::fs::remove_file(state).map_err(|e| format!("{}: {e}", state.display()))?;
    }
    Ok(done)
}
