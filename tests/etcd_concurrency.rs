//! Concurrent writers against a real etcd: every label and patch lands, none is lost, because
//! each read-modify-write is a compare-and-swap retried from a fresh read.

mod support;

use std::process::{Command, Stdio};

use perch::datastore::etcd::{Store, Written};
use perch::resources::{Kind, ResourceId};
use serde_json::json;
use support::commands::{Run, command, file, ok};
use support::etcd::Etcd;

const ROOT: &str = "/calico/resources/v3/projectcalico.org";

#[test]
fn concurrent_label_and_patch_commands_all_land() {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let node = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: worker}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n";
    ok(
        &etcd,
        &["apply", "-f", file(&dir, "n.yaml", node).to_str().unwrap()],
    );
    let mut children = Vec::new();
    for i in 0..6 {
        children.push(
            command(&etcd, &["label", "nodes", "worker", &format!("l{i}=v{i}")]).output_async(),
        );
        let patch = format!(r#"{{"metadata":{{"labels":{{"p{i}":"x"}}}}}}"#);
        children.push(command(&etcd, &["patch", "node", "worker", "-p", &patch]).output_async());
    }
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        assert!(run.ok, "every concurrent writer succeeds: {}", run.stderr);
    }
    let labels =
        etcd.stored(&format!("{ROOT}/nodes/worker")).unwrap().0["metadata"]["labels"].clone();
    let keys: Vec<&String> = labels.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 12, "no concurrent update was lost: {labels}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_modify_writes_retry_until_all_land() {
    let etcd = Etcd::start();
    let id = ResourceId::new(Kind::Node, "worker");
    let mut store = Store::connect(&etcd.config()).await.unwrap();
    let node = json!({"kind": "Node", "apiVersion": "projectcalico.org/v3", "metadata": {"name": "worker"}, "spec": {}});
    assert_eq!(store.apply(&node).await.unwrap().0, Written::Created);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let cfg = etcd.config();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut store = Store::connect(&cfg).await.unwrap();
            store
                .modify(&id, |current| {
                    let mut v = current.cloned().expect("the node exists");
                    v["metadata"]["labels"][format!("k{i}")] = json!("v");
                    Ok(Some(v))
                })
                .await
                .map(|(written, _)| written)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), Written::Updated);
    }
    let stored = store.get(&id).await.unwrap().unwrap();
    let labels = stored.value["metadata"]["labels"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(labels, 12, "each writer's label survived the others");
}

/// Starts a command with its output captured, without waiting for it.
trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("perch starts")
    }
}
