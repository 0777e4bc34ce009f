//! The lab's Calico resources and addressing plan, as text: node `i` is `node-i` at
//! `10.77.0.(10+i)` with the pod block `10.244.i.0/26`, in rack `rack-1` (first half) or
//! `rack-2`; route reflectors are `rr-i` at `10.77.0.(20+i)` without blocks; ToR `i` is at
//! `10.77.0.(255-i)` in AS `64566+i`. The cluster runs AS 64512 with the full mesh on, and one
//! IPPool `10.244.0.0/16` without encapsulation, so BIRD programs peers' blocks itself.

use std::fmt::Write;

/// The cluster's default AS.
pub const CLUSTER_AS: u32 = 64512;

/// The pod IPPool every block is carved from.
pub const POOL: &str = "10.244.0.0/16";

/// The value Calico's IPAM stores for a confirmed block affinity.
pub const AFFINITY: &str = r#"{"state":"confirmed","deleted":false}"#;

/// The default BGPConfiguration (mesh on) and the pod IPPool.
pub fn cluster() -> String {
    format!(
        "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {{name: default}}
spec: {{asNumber: {CLUSTER_AS}, nodeToNodeMeshEnabled: true, logSeverityScreen: Info}}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {{name: default-ipv4-ippool}}
spec: {{cidr: {POOL}, blockSize: 26, ipipMode: Never, vxlanMode: Never, natOutgoing: true, nodeSelector: all()}}
"
    )
}

/// Node `i`'s name.
pub fn node_name(i: usize) -> String {
    format!("node-{i}")
}

/// Node `i`'s address.
pub fn node_address(i: usize) -> String {
    format!("10.77.0.{}", 10 + i)
}

/// Node `i`'s pod block.
pub fn node_block(i: usize) -> String {
    format!("10.244.{i}.0/26")
}

/// Node `i`'s rack among `n` nodes: the first half is `rack-1`, the rest `rack-2`.
pub fn rack(i: usize, n: usize) -> String {
    format!("rack-{}", 1 + (i - 1) * 2 / n.max(1))
}

/// Route reflector `i`'s name and address.
pub fn reflector(i: usize) -> (String, String) {
    (format!("rr-{i}"), format!("10.77.0.{}", 20 + i))
}

/// ToR `i`'s name, address and AS.
pub fn tor(i: usize) -> (String, String, u32) {
    (
        format!("tor-{i}"),
        format!("10.77.0.{}", 255 - i),
        64566 + i as u32,
    )
}

/// A Node resource with its BGP address and labels.
pub fn node(name: &str, address: &str, labels: &[(&str, &str)]) -> String {
    let mut meta = format!("{{name: {name}");
    if !labels.is_empty() {
        let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = write!(meta, ", labels: {{{}}}", pairs.join(", "));
    }
    meta.push('}');
    format!(
        "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {meta}\nspec: {{bgp: {{ipv4Address: {address}/24}}}}\n"
    )
}

/// A BGPPeer; `spec` is the flow-mapping body, e.g. `peerIP: 10.77.0.254, asNumber: 64567`.
pub fn bgp_peer(name: &str, spec: &str) -> String {
    format!(
        "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {name}}}\nspec: {{{spec}}}\n"
    )
}

/// The BGPPeers `rack-1-tor` and `rack-2-tor`: rack R's nodes (`nodeSelector: rack ==
/// 'rack-R'`) peer with ToR R ([`tor`]) in AS `asn(R)`; one YAML stream.
pub fn rack_tor_peers(asn: impl Fn(usize) -> u32) -> String {
    let mut peers = String::new();
    for r in 1..=2 {
        peers.push_str("---\n");
        peers.push_str(&bgp_peer(
            &format!("rack-{r}-tor"),
            &format!(
                "peerIP: {}, asNumber: {}, nodeSelector: rack == 'rack-{r}'",
                tor(r).1,
                asn(r)
            ),
        ));
    }
    peers
}

/// The guide's BGPPeer that peers every node with the route reflectors.
pub fn peer_with_route_reflectors() -> String {
    bgp_peer(
        "peer-with-route-reflectors",
        "nodeSelector: all(), peerSelector: route-reflector == 'true'",
    )
}

/// The etcd key of a block affinity (`10.244.1.0/26` → `…/ipv4/block/10.244.1.0-26`).
pub fn affinity_key(node: &str, block: &str) -> String {
    format!(
        "/calico/ipam/v2/host/{node}/ipv4/block/{}",
        block.replace('/', "-")
    )
}

/// BIRD's protocol name for a session of `kind` (`Mesh`, `Node`, `Global`) to `address`.
pub fn session(kind: &str, address: &str) -> String {
    format!("{kind}_{}", address.replace('.', "_"))
}

/// Sorted session names of `kind` to each address.
pub fn sessions<'a>(kind: &str, addresses: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = addresses.into_iter().map(|a| session(kind, a)).collect();
    v.sort();
    v
}
