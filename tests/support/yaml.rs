//! Calico resources as YAML text, for tests that write clusters to files or etcd.

/// A Node with one IPv4 address (CIDR) and optional labels (`"{rack: r1}"` style, or "").
pub fn node(name: &str, ipv4: &str, labels: &str) -> String {
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!(", labels: {labels}")
    };
    format!(
        "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}{labels}}}\nspec: {{bgp: {{ipv4Address: {ipv4}}}}}\n"
    )
}

/// Nodes `n1`…`nN` at 10.99.0.1/24….
pub fn nodes(count: usize) -> String {
    documents((1..=count).map(|i| node(&format!("n{i}"), &format!("10.99.0.{i}/24"), "")))
}

/// The `default` BGPConfiguration with a flow-style spec (`"{asNumber: 64512}"`).
pub fn default_config(spec: &str) -> String {
    format!(
        "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {{name: default}}\nspec: {spec}\n"
    )
}

/// A BGPPeer with a flow-style spec.
pub fn bgp_peer(name: &str, spec: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )
}

/// Joins documents into one multi-document YAML text.
pub fn documents(docs: impl IntoIterator<Item = String>) -> String {
    docs.into_iter().collect::<Vec<_>>().join("---\n")
}
