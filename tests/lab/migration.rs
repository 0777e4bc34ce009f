//! The mesh → route-reflector migration of Calico's guide, as steps done with perch's own
//! calicoctl-style commands: register two reflector nodes, give them a
//! `routeReflectorClusterID`, label them `route-reflector=true`, add the
//! `peer-with-route-reflectors` BGPPeer, and disable the mesh. The guide runs them in that
//! order; running `MeshOff` first is the naive order.
//!
//! Each step can also say what it will write, as a resource file for `perch preview`: the
//! patch and label steps read the resource with `perch get … -o yaml` and change it the way
//! the command will.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::resources as res;
use super::{Lab, ms};

/// The reflectors' cluster ID.
pub const CLUSTER_ID: &str = "244.0.0.1";

/// How many route reflectors the migration adds.
pub const REFLECTORS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `perch apply -f` the reflectors' Node resources (their machines already run).
    RegisterReflectors,
    /// `perch patch node rr-i -p '{"spec":{"bgp":{"routeReflectorClusterID":…}}}'`.
    ClusterIds,
    /// `perch label nodes rr-i route-reflector=true`.
    Labels,
    /// `perch apply -f` the `peer-with-route-reflectors` BGPPeer.
    PeerWithReflectors,
    /// `perch patch bgpconfiguration default -p '{"spec":{"nodeToNodeMeshEnabled":false}}'`.
    MeshOff,
}

/// Calico's order.
pub const GUIDE: [Step; 5] = [
    Step::RegisterReflectors,
    Step::ClusterIds,
    Step::Labels,
    Step::PeerWithReflectors,
    Step::MeshOff,
];

/// The mesh disabled before the reflectors exist.
pub const NAIVE: [Step; 5] = [
    Step::MeshOff,
    Step::RegisterReflectors,
    Step::ClusterIds,
    Step::Labels,
    Step::PeerWithReflectors,
];

const MESH_OFF: &str = r#"{"spec":{"nodeToNodeMeshEnabled":false}}"#;

fn cluster_id_patch() -> String {
    json!({"spec": {"bgp": {"routeReflectorClusterID": CLUSTER_ID}}}).to_string()
}

/// Starts the reflectors' machines (BIRD and perch); their Node resources come later.
pub fn start_reflector_machines(lab: &mut Lab) {
    for i in 1..=REFLECTORS {
        let (name, address) = res::reflector(i);
        lab.add_node(&name, &address, None);
    }
}

/// The reflectors' names.
pub fn reflector_names() -> Vec<String> {
    (1..=REFLECTORS).map(|i| res::reflector(i).0).collect()
}

/// A resource as `perch get KIND NAME -o yaml` prints it, as JSON.
fn get(lab: &Lab, kind: &str, name: &str) -> Value {
    let text = lab.perch(&["get", kind, name, "-o", "yaml"]);
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("get {kind} {name}: {e}: {text}"))
}

/// Several resources as one YAML stream.
fn documents(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| yaml_serde::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::RegisterReflectors => "register the reflector nodes",
            Step::ClusterIds => "routeReflectorClusterID",
            Step::Labels => "label route-reflector=true",
            Step::PeerWithReflectors => "BGPPeer peer-with-route-reflectors",
            Step::MeshOff => "disable the mesh",
        }
    }

    /// The resources as they will be after this step, as a file for `perch preview -f`.
    pub fn resulting(self, lab: &Lab) -> String {
        let reflectors = reflector_names();
        match self {
            Step::RegisterReflectors => (1..=REFLECTORS)
                .map(|i| {
                    let (name, address) = res::reflector(i);
                    res::node(&name, &address, &[])
                })
                .collect::<Vec<_>>()
                .join("---\n"),
            Step::ClusterIds => documents(
                &reflectors
                    .iter()
                    .map(|n| {
                        let mut node = get(lab, "node", n);
                        node["spec"]["bgp"]["routeReflectorClusterID"] = json!(CLUSTER_ID);
                        node
                    })
                    .collect::<Vec<_>>(),
            ),
            Step::Labels => documents(
                &reflectors
                    .iter()
                    .map(|n| {
                        let mut node = get(lab, "node", n);
                        node["metadata"]["labels"]["route-reflector"] = json!("true");
                        node
                    })
                    .collect::<Vec<_>>(),
            ),
            Step::PeerWithReflectors => res::peer_with_route_reflectors(),
            Step::MeshOff => {
                let mut config = get(lab, "bgpconfiguration", "default");
                config["spec"]["nodeToNodeMeshEnabled"] = json!(false);
                documents(&[config])
            }
        }
    }

    /// Does the step with the guide's command.
    pub fn apply(self, lab: &Lab) {
        let reflectors = reflector_names();
        match self {
            Step::RegisterReflectors | Step::PeerWithReflectors => {
                let file = format!("step-{}.yaml", self.name().replace(' ', "-"));
                lab.apply(&file, &self.resulting(lab));
            }
            Step::ClusterIds => {
                for n in &reflectors {
                    lab.perch(&["patch", "node", n, "-p", &cluster_id_patch()]);
                }
            }
            Step::Labels => {
                for n in &reflectors {
                    lab.perch(&["label", "nodes", n, "route-reflector=true"]);
                }
            }
            Step::MeshOff => {
                lab.perch(&["patch", "bgpconfiguration", "default", "-p", MESH_OFF]);
            }
        }
    }
}

/// Every worker's sessions once the reflectors are in: one to each reflector, plus the mesh
/// while it is on.
pub fn worker_sessions(lab: &Lab, node: &super::node::Node, mesh: bool) -> Vec<String> {
    let mut want = res::sessions(
        "Node",
        (1..=REFLECTORS)
            .map(res::reflector)
            .collect::<Vec<_>>()
            .iter()
            .map(|(_, a)| a.as_str()),
    );
    if mesh {
        want.extend(lab.mesh_of(node));
    }
    want.sort();
    want
}

/// A reflector's sessions: one to every other node, workers and reflectors alike.
pub fn reflector_sessions(lab: &Lab, node: &super::node::Node) -> Vec<String> {
    res::sessions(
        "Node",
        lab.nodes
            .iter()
            .filter(|n| n.name != node.name)
            .map(|n| n.address.as_str()),
    )
}

/// Runs `steps` in order: each is applied and waited for until every node's perch applied it
/// with BIRD in step; before `MeshOff` in the guide order (and at the end) every node's
/// reflector sessions must be Established. Prints each step's convergence time.
pub fn run(lab: &Lab, steps: &[Step], label: &str) -> Duration {
    let total = Instant::now();
    let mut mesh = true;
    let mut peered = false;
    for (i, step) in steps.iter().enumerate() {
        if *step == Step::MeshOff && peered {
            let t = Instant::now();
            wait_reflector_sessions(lab, mesh);
            println!(
                "lab {label}: reflector sessions Established (checked in {} ms)",
                ms(t)
            );
        }
        let t = Instant::now();
        step.apply(lab);
        lab.wait_applied(lab.etcd.revision());
        println!(
            "lab {label}: step {} ({}) applied on every node in {} ms",
            i + 1,
            step.name(),
            ms(t)
        );
        mesh &= *step != Step::MeshOff;
        peered |= *step == Step::PeerWithReflectors;
    }
    let t = Instant::now();
    wait_reflector_sessions(lab, mesh);
    lab.wait_routes();
    println!(
        "lab {label}: every session Established and every block routed {} ms after the last step",
        ms(t)
    );
    total.elapsed()
}

/// Waits until every worker and reflector runs exactly its reflector-era sessions, Established.
pub fn wait_reflector_sessions(lab: &Lab, mesh: bool) {
    let names: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    lab.wait_established(&names, |n| {
        if n.block.is_some() {
            worker_sessions(lab, n, mesh)
        } else {
            reflector_sessions(lab, n)
        }
    });
}
