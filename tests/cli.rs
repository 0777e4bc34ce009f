//! The `perch plan` and `perch render` commands, through the real binary.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use support::golden::{golden_cases, root};

/// A cluster with every session option set somewhere: a route reflector (listening on 1790)
/// with clients, a ToR with a password, filters, ports and timers, an IPv6-only node.
const CLUSTER: &str = r#"
kind: BGPConfiguration
metadata: {name: node.rr-1}
spec: {listenPort: 1790}
---
kind: BGPFilter
metadata: {name: no-private}
spec:
  exportV4: [{action: Reject, matchOperator: In, cidr: 10.0.0.0/8}]
---
kind: BGPPeer
metadata: {name: tor}
spec:
  nodeSelector: rack == 'rack-1'
  peerIP: 192.0.2.1:1179
  asNumber: 65100
  password: {secretKeyRef: {name: bgp, key: tor}}
  filters: [no-private]
  nextHopMode: Self
  ttlSecurity: 2
  maxRestartTime: 2m
  numAllowedLocalASNumbers: 1
---
kind: BGPPeer
metadata: {name: rack-2-tor}
spec:
  nodeSelector: rack == 'rack-2'
  peerIP: 192.0.2.2
  asNumber: 65100
---
kind: BGPPeer
metadata: {name: v6-border}
spec:
  peerIP: 2001:db8::1
  asNumber: 65200
  sourceAddress: None
---
kind: BGPPeer
metadata: {name: to-reflectors}
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
---
kind: Node
metadata: {name: node-a, labels: {rack: rack-1}}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
kind: Node
metadata: {name: node-b, labels: {rack: rack-1}}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
kind: Node
metadata: {name: rr-1, labels: {rack: rack-1, route-reflector: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.100/24, routeReflectorClusterID: 244.0.0.1}}
---
kind: Node
metadata: {name: node-v6}
spec: {bgp: {ipv6Address: fd00::6/64}}
"#;

const PASSWORD: &str = "cli-test-pw";

/// A scratch directory with the cluster file and its secrets.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(cluster: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cluster.yaml"), cluster).unwrap();
        let secret = dir.path().join("secrets/bgp");
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("tor"), PASSWORD).unwrap();
        Fixture { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn perch(&self, args: &[&str]) -> Output {
        // `args` starts with the subcommand; the options follow it.
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--resources".to_owned(),
            self.path("cluster.yaml").display().to_string(),
            "--secrets-dir".to_owned(),
            self.path("secrets").display().to_string(),
        ]);
        perch(&all, &[])
    }
}

/// Runs the binary with a clean environment for the variables perch reads.
fn perch<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perch"));
    for var in [
        "NODENAME",
        "CALICO_ROUTER_ID",
        "PERCH_RESOURCES",
        "PERCH_SECRETS_DIR",
        "PERCH_TEMPLATES",
        "PERCH_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).args(args);
    cmd.output().expect("run perch")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn plan_json(f: &Fixture, node: &str) -> Value {
    let o = f.perch(&["plan", "--node", node, "--output", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("plan JSON")
}

#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    Num,
    Bool,
    Arr,
}

fn has_type(v: &Value, ty: Ty) -> bool {
    match ty {
        Ty::Str => v.is_string(),
        Ty::Num => v.is_u64(),
        Ty::Bool => v.is_boolean(),
        Ty::Arr => v.is_array(),
    }
}

/// Checks that `obj[field]` exists and has type `ty` (or null, when `nullable`); returns
/// whether it was non-null.
fn check_field(obj: &Value, what: &str, field: &str, ty: Ty, nullable: bool) -> bool {
    let v = obj
        .get(field)
        .unwrap_or_else(|| panic!("{what}: no field {field:?} in {obj}"));
    if v.is_null() {
        assert!(nullable, "{what}: {field} is null");
        return false;
    }
    assert!(has_type(v, ty), "{what}: {field} = {v} is not {ty:?}");
    true
}

const PLAN_FIELDS: &[(&str, Ty, bool)] = &[
    ("node", Ty::Str, false),
    ("routerID", Ty::Str, true),
    ("asNumber", Ty::Num, false),
    ("listenPort", Ty::Num, true),
    ("meshEnabled", Ty::Bool, false),
    ("peers", Ty::Arr, false),
    ("warnings", Ty::Arr, false),
];

const PEER_FIELDS: &[(&str, Ty, bool)] = &[
    ("name", Ty::Str, false),
    ("type", Ty::Str, false),
    ("family", Ty::Str, false),
    ("peerIP", Ty::Str, false),
    ("port", Ty::Num, true),
    ("asNumber", Ty::Num, false),
    ("localASNumber", Ty::Num, false),
    ("passive", Ty::Bool, false),
    ("routeReflectorClient", Ty::Bool, false),
    ("routeReflectorClusterID", Ty::Str, true),
    ("sourceAddress", Ty::Str, true),
    ("nextHop", Ty::Str, true),
    ("ttlSecurity", Ty::Num, true),
    ("gracefulRestartTime", Ty::Num, true),
    ("allowLocalAS", Ty::Num, true),
    ("hasPassword", Ty::Bool, false),
    ("filters", Ty::Arr, false),
    ("origin", Ty::Arr, false),
];

#[test]
fn plan_json_follows_the_contract() {
    let f = Fixture::new(CLUSTER);
    // Every nullable field must be seen both set and null, so each type is really checked.
    let mut set = std::collections::BTreeSet::new();
    let mut null = std::collections::BTreeSet::new();
    for node in ["node-a", "rr-1", "node-v6"] {
        let plan = plan_json(&f, node);
        for (field, ty, nullable) in PLAN_FIELDS {
            let what = format!("plan of {node}");
            if check_field(&plan, &what, field, *ty, *nullable) {
                set.insert(format!("plan.{field}"));
            } else {
                null.insert(format!("plan.{field}"));
            }
        }
        assert_eq!(plan["node"], node);
        let peers = plan["peers"].as_array().unwrap();
        let names: Vec<&str> = peers.iter().map(|p| p["name"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "peers are sorted by name");
        for peer in peers {
            let what = format!("{node} peer {}", peer["name"]);
            for (field, ty, nullable) in PEER_FIELDS {
                if check_field(peer, &what, field, *ty, *nullable) {
                    set.insert(format!("peer.{field}"));
                } else {
                    null.insert(format!("peer.{field}"));
                }
            }
            assert!(
                ["NodeMesh", "GlobalPeer", "NodePeer"].contains(&peer["type"].as_str().unwrap())
            );
            assert!(["IPv4", "IPv6"].contains(&peer["family"].as_str().unwrap()));
            if let Some(nh) = peer["nextHop"].as_str() {
                assert!(["self", "keep"].contains(&nh), "{what}: nextHop {nh}");
            }
            for list in ["filters", "origin"] {
                assert!(
                    peer[list].as_array().unwrap().iter().all(Value::is_string),
                    "{what}: {list} holds strings"
                );
            }
            assert!(!peer["origin"].as_array().unwrap().is_empty(), "{what}");
        }
        for w in plan["warnings"].as_array().unwrap() {
            check_field(w, "warning", "resource", Ty::Str, false);
            check_field(w, "warning", "message", Ty::Str, false);
        }
    }
    for (field, _, nullable) in PLAN_FIELDS
        .iter()
        .map(|f| ("plan", f))
        .chain(PEER_FIELDS.iter().map(|f| ("peer", f)))
        .map(|(kind, (field, ty, nullable))| (format!("{kind}.{field}"), ty, nullable))
    {
        assert!(set.contains(&field), "{field} is never set in this cluster");
        if *nullable {
            assert!(
                null.contains(&field),
                "{field} is never null in this cluster"
            );
        }
    }

    // The values, where the contract says what they are.
    let plan = plan_json(&f, "node-a");
    let tor = &plan["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Node_192_0_2_1_port_1179")
        .expect("the ToR session")
        .clone();
    assert_eq!(tor["hasPassword"], true);
    assert_eq!(tor["filters"], serde_json::json!(["no-private"]));
    assert_eq!(tor["origin"], serde_json::json!(["BGPPeer/tor"]));
    assert!(!stdout(&f.perch(&["plan", "-n", "node-a", "-o", "json"])).contains(PASSWORD));
    let rr = plan_json(&f, "rr-1");
    assert_eq!(rr["meshEnabled"], false);
    let client = rr["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Node_10_0_0_1")
        .expect("rr-1's session to node-a");
    assert_eq!(client["routeReflectorClient"], true);
    assert_eq!(client["routeReflectorClusterID"], "244.0.0.1");
    assert_eq!(plan_json(&f, "node-v6")["routerID"], Value::Null);
}

#[test]
fn an_unparsable_file_fails_naming_the_file_the_document_and_the_reason() {
    let f = Fixture::new(
        "kind: Node\nmetadata: {name: node-a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
         kind: BGPPeer\nmetadata: {name: p\nspec: [\n",
    );
    let o = f.perch(&["plan", "--node", "node-a"]);
    assert!(!o.status.success());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let path = f.path("cluster.yaml").display().to_string();
    assert!(err.contains(&format!("{path}: document 2: ")), "{err}");
    assert!(err.contains("did not find expected ',' or '}'"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn an_invalid_resource_is_a_warning_and_the_rest_still_plans() {
    let f = Fixture::new(&format!(
        "{CLUSTER}---\nkind: BGPPeer\nmetadata: {{name: broken}}\n\
         spec: {{peerIP: 192.0.2.9, peerSelector: all(), asNumber: 65100}}\n"
    ));
    let o = f.perch(&["plan", "--node", "node-a", "--output", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let warnings = plan["warnings"].as_array().unwrap();
    let w = warnings
        .iter()
        .find(|w| w["resource"] == "BGPPeer/broken")
        .unwrap_or_else(|| panic!("no warning for BGPPeer/broken: {warnings:?}"));
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("spec.peerIP and spec.peerSelector cannot both be set"),
        "{w}"
    );
    let names: Vec<&str> = plan["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Mesh_10_0_0_2",
            "Node_10_0_0_100_port_1790",
            "Node_192_0_2_1_port_1179"
        ]
    );

    // The table output names it too.
    let table = stdout(&f.perch(&["plan", "--node", "node-a"]));
    assert!(table.contains("BGPPeer \"broken\": spec.peerIP"), "{table}");
}

#[test]
fn render_check_accepts_a_valid_cluster() {
    let f = Fixture::new(CLUSTER);
    for node in ["node-a", "rr-1", "node-v6"] {
        let o = f.perch(&["render", "--node", node, "--check"]);
        assert!(o.status.success(), "{node}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("bird -p: configuration OK"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn render_check_refuses_broken_templates_with_a_location() {
    let f = Fixture::new(CLUSTER);
    // Valid tera, invalid BIRD: BIRD names file:line:col.
    let bad_bird = f.path("bad-bird");
    std::fs::create_dir_all(&bad_bird).unwrap();
    std::fs::write(
        bad_bird.join("bird.cfg"),
        "router id {{ view.router_id }};\nprotocol bgp {{ view.node }} {\n  neighbor;\n}\n",
    )
    .unwrap();
    let o = f.perch(&[
        "render",
        "--node",
        "node-a",
        "--check",
        "--templates",
        bad_bird.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bird refused the config: "), "{err}");
    assert!(located(&err, "bird.cfg"), "no bird.cfg:line:col in {err}");

    // Invalid tera: the template's own file:line:col.
    let bad_tera = f.path("bad-tera");
    std::fs::create_dir_all(&bad_tera).unwrap();
    std::fs::write(
        bad_tera.join("bird.cfg"),
        "router id {{ view.router_id }};\n{% for p in view.peers %}\nprotocol bgp {{ p.name }} {\n",
    )
    .unwrap();
    let o = f.perch(&[
        "render",
        "--node",
        "node-a",
        "--check",
        "--templates",
        bad_tera.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&bad_tera.display().to_string()), "{err}");
    assert!(located(&err, "bird.cfg"), "no bird.cfg:line:col in {err}");
}

/// Whether `text` holds `<file>:<line>:<col>` for a path ending in `file`.
fn located(text: &str, file: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    text.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &text[i + m.len()..];
        let line = digits(rest);
        line > 0
            && rest[line..]
                .strip_prefix(':')
                .is_some_and(|r| digits(r) > 0)
    })
}

#[test]
fn explain_says_what_each_side_matched_and_why_a_bgp_peer_adds_nothing() {
    let f = Fixture::new(CLUSTER);
    let o = f.perch(&["plan", "--node", "node-a", "--explain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let section = |name: &str| -> String {
        let start = text
            .find(&format!("\nBGPPeer {name}\n"))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        let rest = &text[start + 1..];
        rest[..rest.find("\n\n").unwrap_or(rest.len())].to_owned()
    };
    let reflectors = section("to-reflectors");
    assert!(
        reflectors.contains("local side:  nodeSelector all()  → node-a, node-b, node-v6, rr-1"),
        "{reflectors}"
    );
    assert!(
        reflectors.contains("remote side: peerSelector route-reflector == 'true'  → rr-1"),
        "{reflectors}"
    );
    assert!(
        reflectors.contains("sessions on node-a: Node_10_0_0_100_port_1790"),
        "{reflectors}"
    );
    let rack2 = section("rack-2-tor");
    assert!(
        rack2.contains("local side:  nodeSelector rack == 'rack-2'  → none"),
        "{rack2}"
    );
    assert!(
        rack2.contains("nodeSelector on node-a: does not match (rack == \"rack-2\" ✗)"),
        "{rack2}"
    );
    assert!(
        rack2.contains("adds nothing on node-a: node-a is on neither side of it"),
        "{rack2}"
    );

    // JSON output carries the same explanation.
    let o = f.perch(&["plan", "--node", "node-a", "--explain", "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let e = v["explain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["bgpPeer"] == "rack-2-tor")
        .unwrap();
    assert_eq!(e["thisNodeLocal"], false);
    assert_eq!(e["sessions"], serde_json::json!([]));
    assert_eq!(
        e["reasons"],
        serde_json::json!(["node-a is on neither side of it"])
    );
}

#[test]
fn nodename_env_works_like_node() {
    let f = Fixture::new(CLUSTER);
    let by_flag = f.perch(&["plan", "--node", "node-b", "-o", "json"]);
    let cluster = f.path("cluster.yaml");
    let secrets = f.path("secrets");
    let by_env = perch(
        &["plan", "-o", "json"],
        &[
            ("NODENAME", "node-b"),
            ("PERCH_RESOURCES", cluster.to_str().unwrap()),
            ("PERCH_SECRETS_DIR", secrets.to_str().unwrap()),
        ],
    );
    assert!(by_env.status.success(), "{}", stderr(&by_env));
    assert_eq!(stdout(&by_env), stdout(&by_flag));
    let v: Value = serde_json::from_str(&stdout(&by_env)).unwrap();
    assert_eq!(v["node"], "node-b");
    assert_eq!(v["nodeFound"], true);

    let rendered = perch(
        &["render"],
        &[
            ("NODENAME", "node-b"),
            ("PERCH_RESOURCES", cluster.to_str().unwrap()),
        ],
    );
    assert!(stdout(&rendered).contains("router id 10.0.0.2;"));
}

/// The golden files are exactly what the binary prints: `plan --output json` and `render`,
/// with the case's env file as environment and its secrets directory.
#[test]
fn golden_cases_are_what_the_binary_prints() {
    for case in golden_cases() {
        let mut args = vec![
            "--resources".to_owned(),
            case.resources().display().to_string(),
            "--node".to_owned(),
            case.node.clone(),
        ];
        if let Some(secrets) = case.secrets() {
            args.push("--secrets-dir".into());
            args.push(secrets.display().to_string());
        }
        for (sub, extra, file) in [
            ("plan", &["--output", "json"][..], "plan.json"),
            ("render", &[][..], "bird.cfg"),
        ] {
            let o = Command::new(env!("CARGO_BIN_EXE_perch"))
                .current_dir(root())
                .env_remove("NODENAME")
                .env_remove("CALICO_ROUTER_ID")
                .envs(case.env.iter().map(|(k, v)| (k, v)))
                .arg(sub)
                .args(&args)
                .args(extra)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}: {}", case.dir.display(), stderr(&o));
            let want = std::fs::read_to_string(root().join(&case.dir).join(file)).unwrap();
            assert!(
                stdout(&o) == want,
                "{}/{file} is not what `perch {sub}` prints",
                case.dir.display()
            );
        }
    }
}
