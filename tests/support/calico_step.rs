//! One step of Calico's confd corpus as the input `perch render -r DIR --secrets-dir S` reads:
//! the preload's block affinities, then every resource the steps so far applied and did not
//! delete, each document kept as Calico's test wrote it (comments, `yes` labels and all), so
//! that perch decodes exactly what calicoctl was given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use perch::resources::decode::{Decoded, decode_documents};
use perch::resources::keys::{affinity_from_value, parse_affinity_key};
use perch::resources::{Resource, ResourceId};

use super::fixtures::Case;

/// Where a written step lives.
pub struct StepDir {
    pub resources: PathBuf,
    pub secrets: PathBuf,
}

/// The documents of a multi-document YAML text, each with its text.
fn documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else {
            let d = docs.last_mut().unwrap();
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.retain(|d| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
    });
    docs
}

/// The resource a document names, decoded by perch itself.
fn id_of(doc: &str, label: &str) -> Option<ResourceId> {
    decode_documents(doc, label)
        .ok()?
        .into_iter()
        .find_map(|d| match d {
            Decoded::Resource(r) => Some(r.id()),
            Decoded::Skipped(_) => None,
        })
}

/// Writes the state after step `last` of `case` into `dir` (`resources/`, `secrets/`).
pub fn write_step(case: &Case, last: usize, dir: &Path) -> StepDir {
    let out = StepDir {
        resources: dir.join("resources"),
        secrets: dir.join("secrets"),
    };
    std::fs::create_dir_all(&out.resources).unwrap();
    std::fs::create_dir_all(&out.secrets).unwrap();

    // Later applies replace earlier documents of the same kind and name (calicoctl apply).
    let mut state: BTreeMap<(String, String), String> = BTreeMap::new();
    for f in case.json["preload"]["etcdv3"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let text = std::fs::read_to_string(case.base().join(f.as_str().unwrap())).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let (node, cidr) = parse_affinity_key(key).expect("affinity key");
            let a = affinity_from_value(&node, &cidr, value).unwrap();
            let r = Resource::BlockAffinity(a);
            let id = r.id();
            state.insert(
                (id.kind.name().to_owned(), id.name.clone()),
                serde_json::to_string(&r.to_json()).unwrap() + "\n",
            );
        }
    }
    for step in &case.steps()[..=last] {
        for f in step["delete"].as_array().into_iter().flatten() {
            let rel = f.as_str().unwrap();
            let text = std::fs::read_to_string(case.base().join(rel)).unwrap();
            for doc in documents(&text) {
                if let Some(id) = id_of(&doc, rel) {
                    state.remove(&(id.kind.name().to_owned(), id.name));
                }
            }
        }
        for f in step["apply"].as_array().into_iter().flatten() {
            let rel = f.as_str().unwrap();
            let text = std::fs::read_to_string(case.base().join(rel)).unwrap();
            for doc in documents(&text) {
                let id = id_of(&doc, rel)
                    .unwrap_or_else(|| panic!("{rel}: a document perch cannot name:\n{doc}"));
                state.insert((id.kind.name().to_owned(), id.name), doc);
            }
        }
    }
    let text = state.into_values().collect::<Vec<_>>().join("---\n");
    std::fs::write(out.resources.join("cluster.yaml"), text).unwrap();

    let step = &case.steps()[last];
    for (k, v) in step["secrets"].as_object().into_iter().flatten() {
        let mut parts = k.splitn(3, '/');
        let (_ns, name, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        std::fs::create_dir_all(out.secrets.join(name)).unwrap();
        std::fs::write(out.secrets.join(name).join(key), v.as_str().unwrap()).unwrap();
    }
    out
}
