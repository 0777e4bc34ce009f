//! The deployment manifest stays true to the binary: the perch container's exact arguments
//! and environment (with Kubernetes' `$(VAR)` expansion and downward-API values filled in)
//! pass `perch run --dry-run`, and the BIRD container, the probes and the shared volumes
//! agree with them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn manifest() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("containers/daemonset.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    perch::resources::decode::parse_documents(&text)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} container"))
}

/// The container's environment as the kubelet would set it on node `node-1` at 10.0.0.21.
fn environment(c: &Value, config_map: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for e in c["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap().to_owned();
        let value = if let Some(v) = e["value"].as_str() {
            v.to_owned()
        } else if let Some(f) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            match f {
                "spec.nodeName" => "node-1".into(),
                "status.hostIP" => "10.0.0.21".into(),
                other => panic!("unexpected fieldRef {other}"),
            }
        } else if let Some(k) = e["valueFrom"]["configMapKeyRef"]["key"].as_str() {
            config_map["data"][k]
                .as_str()
                .unwrap_or_else(|| panic!("ConfigMap has no {k}"))
                .to_owned()
        } else {
            panic!("unsupported env source for {name}: {e}");
        };
        env.insert(name, value);
    }
    env
}

/// Kubernetes' `$(VAR)` expansion in args.
fn expand(arg: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = arg.to_owned();
    for (k, v) in env {
        out = out.replace(&format!("$({k})"), v);
    }
    assert!(!out.contains("$("), "unexpanded variable in {arg}");
    out
}

#[test]
fn the_daemonset_runs_perch_with_valid_arguments() {
    let docs = manifest();
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true, "BGP needs the node's network");
    let perch = container(pod, "perch");
    let env = environment(perch, config_map);
    let args: Vec<String> = perch["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| expand(a.as_str().unwrap(), &env))
        .collect();
    assert_eq!(args[0], "run");

    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(&args)
        .arg("--dry-run")
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "perch {args:?} --dry-run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let setting = |key: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{key} in {stdout}"))
    };
    assert_eq!(setting("node"), "node-1");
    assert!(
        setting("datastore").starts_with("etcdv3 at https://10.0.0.10:2379"),
        "{stdout}"
    );
    let http = setting("http");
    assert_eq!(
        http, "10.0.0.21:9099",
        "the status endpoint listens on the node address"
    );

    // BIRD reads the file perch writes and opens the socket perch talks to.
    let bird = container(pod, "bird");
    let bird_env = environment(bird, config_map);
    assert_eq!(bird_env["BIRD_CONFIG"], setting("bird config"));
    assert_eq!(bird_env["BIRD_SOCKET"], setting("bird socket"));
    let mounts = |c: &Value| -> BTreeMap<String, String> {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap().into(),
                    m["mountPath"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let (pm, bm) = (mounts(perch), mounts(bird));
    for shared in ["bird-config", "bird-socket"] {
        assert_eq!(
            pm.get(shared),
            bm.get(shared),
            "{shared} is mounted at the same path in both containers"
        );
    }
    assert!(setting("bird config").starts_with(&pm["bird-config"]));
    assert!(setting("bird socket").starts_with(&pm["bird-socket"]));
    assert!(setting("secrets").starts_with(&pm["bgp-secrets"]));
    for var in ["ETCD_CA_CERT_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE"] {
        assert!(
            env[var].starts_with(&pm["etcd-certs"]),
            "{var} lies in the etcd-certs volume"
        );
    }

    // The probes hit perch's endpoints on its port.
    let port: u64 = http.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(perch["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(perch["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(perch["livenessProbe"]["httpGet"]["port"], port);
    assert_eq!(perch["readinessProbe"]["httpGet"]["port"], port);
    assert!(
        perch["resources"]["requests"]["memory"].is_string()
            && bird["resources"]["requests"]["cpu"].is_string()
    );
}

#[test]
fn the_images_copy_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, context) in [
        ("containers/perch.Containerfile", root.to_path_buf()),
        ("containers/bird.Containerfile", root.join("containers")),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for line in text
            .lines()
            .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
        {
            let parts: Vec<&str> = line.split_whitespace().collect();
            for src in &parts[1..parts.len() - 1] {
                assert!(
                    context.join(src).exists(),
                    "{file}: {src} does not exist in the build context"
                );
            }
        }
    }
}
