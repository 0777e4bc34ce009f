//! Runs the perch binary against a test etcd, for the resource command tests.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::etcd::Etcd;

/// What a perch run printed, and whether it succeeded.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `perch ARGS` set up for `etcd` (calicoctl's variables), not started.
pub fn command(etcd: &Etcd, args: &[&str]) -> Command {
    let mut cmd = Command::new(super::perch::binary());
    cmd.args(args)
        .env("DATASTORE_TYPE", "etcdv3")
        .env("ETCD_ENDPOINTS", etcd.endpoint())
        .env("PERCH_LOG", "warn");
    cmd
}

/// Runs perch against `etcd`.
pub fn perch(etcd: &Etcd, args: &[&str]) -> Run {
    Run::from(command(etcd, args).output().expect("perch runs"))
}

/// Runs perch and insists it succeeds.
pub fn ok(etcd: &Etcd, args: &[&str]) -> String {
    let r = perch(etcd, args);
    assert!(r.ok, "perch {args:?} failed: {}", r.stderr);
    r.stdout
}

/// Runs perch and insists it fails; returns stderr.
pub fn fails(etcd: &Etcd, args: &[&str]) -> String {
    let r = perch(etcd, args);
    assert!(!r.ok, "perch {args:?} should fail; printed {}", r.stdout);
    r.stderr
}

/// Writes a test file.
pub fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}
