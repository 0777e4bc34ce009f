//! The golden cases under `tests/cases/<name>/`: `resources.yaml`, `node`, optionally `env`
//! (`KEY=VALUE` lines) and `secrets/<name>/<key>`, and the expected `plan.json` and `bird.cfg`.

use std::path::{Path, PathBuf};

pub struct GoldenCase {
    /// Relative to the package root, so that warnings naming a document
    /// (`tests/cases/x/resources.yaml document 3`) read the same on every machine.
    pub dir: PathBuf,
    pub node: String,
    /// The `env` file's variables (blank lines and `#` comments skipped).
    pub env: Vec<(String, String)>,
}

impl GoldenCase {
    pub fn resources(&self) -> PathBuf {
        self.dir.join("resources.yaml")
    }

    /// The mounted-secrets directory, when the case has one.
    pub fn secrets(&self) -> Option<PathBuf> {
        let dir = self.dir.join("secrets");
        dir.is_dir().then_some(dir)
    }

    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The package root: run commands from here with the cases' relative paths.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every case, by name.
pub fn golden_cases() -> Vec<GoldenCase> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases"))
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no golden cases under tests/cases");
    dirs.into_iter()
        .map(|abs| {
            let dir = abs.strip_prefix(root()).unwrap().to_owned();
            let node = std::fs::read_to_string(abs.join("node")).expect("node file");
            let env = std::fs::read_to_string(abs.join("env"))
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| {
                    let (k, v) = l
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{}/env: {l:?} is not KEY=VALUE", dir.display()));
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            GoldenCase {
                dir,
                node: node.trim().to_owned(),
                env,
            }
        })
        .collect()
}
