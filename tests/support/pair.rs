//! Two nodes on one bridge, each with its own BIRD: n1 (10.99.0.1) to be served by
//! `perch run`, n2 (10.99.0.2) running the config `perch render` makes for it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bird::{Bird, require_bird};
use super::netns::{Lan, Netns};

pub struct Pair {
    pub tmp: tempfile::TempDir,
    pub resources: PathBuf,
    pub secrets: PathBuf,
    pub b1: Bird,
    pub b2: Bird,
    pub ns1: Netns,
    pub ns2: Netns,
    _lan: Lan,
}

/// Runs the perch binary.
pub fn perch_cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Pair {
    /// Writes `cluster` (and `secrets`: (secret name, key, value)) and starts both BIRDs.
    pub fn start(cluster: &str, secrets: &[(&str, &str, &str)]) -> Pair {
        Pair::start_with(&[("cluster.yaml", cluster)], secrets, |_| String::new())
    }

    /// Like [`Pair::start`] with several resource files, and `n2_prefix(n2's directory)` put
    /// before n2's config (e.g. a `log` statement).
    pub fn start_with(
        files: &[(&str, &str)],
        secrets: &[(&str, &str, &str)],
        n2_prefix: impl Fn(&Path) -> String,
    ) -> Pair {
        require_bird();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let resources = dir.join("resources");
        let secrets_dir = dir.join("secrets");
        std::fs::create_dir_all(&resources).unwrap();
        std::fs::create_dir_all(&secrets_dir).unwrap();
        for (name, text) in files {
            std::fs::write(resources.join(name), text).unwrap();
        }
        for (name, key, value) in secrets {
            std::fs::create_dir_all(secrets_dir.join(name)).unwrap();
            std::fs::write(secrets_dir.join(name).join(key), format!("{value}\n")).unwrap();
        }
        let lan = Lan::new();
        let (ns1, ns2) = (Netns::new("pq"), Netns::new("pq"));
        lan.attach(&ns1, "10.99.0.1/24");
        lan.attach(&ns2, "10.99.0.2/24");
        let (d1, d2) = (dir.join("n1"), dir.join("n2"));
        std::fs::create_dir_all(&d1).unwrap();
        std::fs::create_dir_all(&d2).unwrap();
        let (mut b1, mut b2) = (Bird::paths(&d1), Bird::paths(&d2));
        std::fs::write(&b1.config, "router id 10.99.0.1;\nprotocol device {}\n").unwrap();
        render_for(&resources, &secrets_dir, "n2", &b2.config);
        let rendered = std::fs::read_to_string(&b2.config).unwrap();
        std::fs::write(&b2.config, format!("{}{rendered}", n2_prefix(&d2))).unwrap();
        b1.start(&ns1);
        b2.start(&ns2);
        Pair {
            tmp,
            resources,
            secrets: secrets_dir,
            b1,
            b2,
            ns1,
            ns2,
            _lan: lan,
        }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `perch run` arguments serving n1.
    pub fn run_args(&self, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-r".into(),
            self.resources.display().to_string(),
            "-n".into(),
            "n1".into(),
            "--secrets-dir".into(),
            self.secrets.display().to_string(),
            "--config".into(),
            self.b1.config.display().to_string(),
            "--bird-socket".into(),
            self.b1.socket.display().to_string(),
            "--bird-poll-interval".into(),
            "200ms".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// Replaces the resources file atomically.
    pub fn write_resources(&self, name: &str, text: &str) {
        let tmp = self.resources.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.resources.join(name)).unwrap();
    }
}

/// Renders `node`'s config to `out` with the perch binary.
pub fn render_for(resources: &Path, secrets: &Path, node: &str, out: &Path) {
    let (ok, text, err) = perch_cli(&[
        "render",
        "-r",
        resources.to_str().unwrap(),
        "-n",
        node,
        "--secrets-dir",
        secrets.to_str().unwrap(),
    ]);
    assert!(ok, "render {node}: {err}");
    std::fs::write(out, text).unwrap();
}
