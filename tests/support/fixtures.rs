//! Loads Calico's confd fixture corpus (`../shared/calico-fixtures`) into snapshots.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use perch::resources::decode::{Decoded, decode_documents};
use perch::resources::keys::{affinity_from_value, parse_affinity_key};
use perch::resources::{Resource, Secret, Secrets};
use perch::snapshot::{Event, Snapshot};
use serde_json::Value;

/// The corpus root, or None when it is not on this machine.
pub fn corpus_root() -> Option<PathBuf> {
    let root = match std::env::var_os("PERCH_CALICO_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/calico-fixtures"),
    };
    root.join("cases.json").is_file().then_some(root)
}

pub struct Case {
    pub json: Value,
    pub root: PathBuf,
}

impl Case {
    pub fn name(&self) -> &str {
        self.json["case"].as_str().unwrap()
    }
    pub fn node(&self) -> &str {
        self.json["node"].as_str().unwrap()
    }
    pub fn base(&self) -> PathBuf {
        self.root.join(self.json["base"].as_str().unwrap())
    }
    pub fn env(&self, key: &str) -> Option<&str> {
        self.json["env"][key].as_str()
    }
    pub fn steps(&self) -> &Vec<Value> {
        self.json["steps"].as_array().unwrap()
    }
    pub fn changes_expected_deviations(&self) -> Vec<(u64, String)> {
        self.json["deviations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["changes_expected"].as_bool() == Some(true))
            .map(|d| {
                (
                    d["id"].as_u64().unwrap_or(0),
                    d["detail"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// The snapshot with the etcd preload (block affinities) applied.
    pub fn preloaded(&self) -> Snapshot {
        let mut s = Snapshot::new();
        for f in self.json["preload"]["etcdv3"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let text = std::fs::read_to_string(self.base().join(f.as_str().unwrap())).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let (key, value) = line.split_once(' ').unwrap_or((line, ""));
                let (node, cidr) = parse_affinity_key(key).expect("affinity key");
                let a = affinity_from_value(&node, &cidr, value).unwrap();
                s.apply(Event::Upsert(Resource::BlockAffinity(a)));
            }
        }
        s
    }

    /// Applies step `i` (deletes, applies, secrets) to `s`.
    pub fn apply_step(&self, s: &mut Snapshot, i: usize) {
        let step = &self.steps()[i];
        for f in step["delete"].as_array().into_iter().flatten() {
            for r in self.resources(f.as_str().unwrap()) {
                s.apply(Event::Delete(r.id()));
            }
        }
        for f in step["apply"].as_array().into_iter().flatten() {
            for r in self.resources(f.as_str().unwrap()) {
                s.apply(Event::Upsert(r));
            }
        }
        let mut secrets = Secrets::new();
        for (k, v) in step["secrets"].as_object().into_iter().flatten() {
            let mut parts = k.splitn(3, '/');
            let (_ns, name, key) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            secrets.insert(name, key, Secret::new(v.as_str().unwrap()));
        }
        s.apply(Event::Secrets(secrets));
        let mut workloads = std::collections::BTreeMap::new();
        for f in step["endpoint_status"].as_array().into_iter().flatten() {
            let path = self.base().join(f.as_str().unwrap());
            let mut w: perch::resources::EndpointStatus =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            w.name = path.file_name().unwrap().to_string_lossy().into_owned();
            workloads.insert(w.name.clone(), w);
        }
        s.apply(Event::LocalWorkloads(workloads));
    }

    fn resources(&self, rel: &str) -> Vec<Resource> {
        let path = self.base().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        decode_documents(&text, rel)
            .unwrap()
            .into_iter()
            .filter_map(|d| match d {
                Decoded::Resource(r) => Some(r),
                Decoded::Skipped(_) => None,
            })
            .collect()
    }
}

pub fn cases(root: &Path, file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    let v: Vec<Value> = serde_json::from_str(&text).unwrap();
    v.into_iter()
        .map(|json| Case {
            json,
            root: root.to_owned(),
        })
        .collect()
}
