//! Calico's etcd key layout (etcdv3 datastore), exactly as libcalico-go writes it.
//!
//! - resources: `/calico/resources/v3/projectcalico.org/<plural>/<name>`
//! - this node's block affinities: `/calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d>-<len>`
//!   (and `ipv6`), value `{"state":"confirmed","deleted":false}` or legacy `{}`.

use ipnet::IpNet;
use serde_json::Value;

use super::{BlockAffinity, BlockAffinitySpec, Kind, Metadata};

/// Root of every v3 resource key.
pub const RESOURCES_ROOT: &str = "/calico/resources/v3/projectcalico.org/";

/// The list prefix of one kind (block affinities live elsewhere: see [`affinity_prefix`]).
pub fn kind_prefix(kind: Kind) -> String {
    format!("{RESOURCES_ROOT}{}/", kind.plural())
}

/// The key of one resource.
pub fn resource_key(kind: Kind, name: &str) -> String {
    format!("{RESOURCES_ROOT}{}/{name}", kind.plural())
}

/// The kind and name a resource key stands for.
pub fn parse_resource_key(key: &str) -> Option<(Kind, String)> {
    let rest = key.strip_prefix(RESOURCES_ROOT)?;
    let (plural, name) = rest.split_once('/')?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.plural() == plural && *k != Kind::BlockAffinity)?;
    (!name.is_empty() && !name.contains('/')).then(|| (kind, name.to_owned()))
}

/// The prefix under which a node's block affinities live.
pub fn affinity_prefix(node: &str) -> String {
    format!("/calico/ipam/v2/host/{node}/")
}

/// The key of one affinity.
pub fn affinity_key(node: &str, cidr: &IpNet) -> String {
    let family = match cidr {
        IpNet::V4(_) => "ipv4",
        IpNet::V6(_) => "ipv6",
    };
    let text = cidr.to_string().replace('/', "-");
    format!("/calico/ipam/v2/host/{node}/{family}/block/{text}")
}

/// `(node, cidr)` of an affinity key, or None for any other key.
pub fn parse_affinity_key(key: &str) -> Option<(String, IpNet)> {
    let rest = key.strip_prefix("/calico/ipam/v2/host/")?;
    let mut parts = rest.split('/');
    let (node, family, block, cidr) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || block != "block" || node.is_empty() {
        return None;
    }
    let (addr, len) = cidr.rsplit_once('-')?;
    let net: IpNet = format!("{addr}/{len}").parse().ok()?;
    let family_ok = matches!(
        (family, &net),
        ("ipv4", IpNet::V4(_)) | ("ipv6", IpNet::V6(_))
    );
    family_ok.then(|| (node.to_owned(), net))
}

/// The name perch gives an affinity read from etcd (the KDD `BlockAffinity` naming).
pub fn affinity_name(node: &str, cidr: &IpNet) -> String {
    let c = cidr.to_string().replace(['.', ':', '/'], "-");
    format!("{node}-{c}")
}

/// An IPAM block-affinity value that is not JSON: the caller skips that one affinity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("affinity value is not JSON: {reason}")]
pub struct AffinityValueError {
    /// The JSON parser's words.
    pub reason: String,
}

/// Builds a [`BlockAffinity`] from an IPAM key's parts and its JSON value.
/// An empty value is the legacy form and means confirmed.
pub fn affinity_from_value(
    node: &str,
    cidr: &IpNet,
    value: &str,
) -> Result<BlockAffinity, AffinityValueError> {
    let v: Value = if value.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(value).map_err(|e| AffinityValueError {
            reason: e.to_string(),
        })?
    };
    let state = v
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let deleted = match v.get("deleted") {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(BlockAffinity {
        metadata: Metadata {
            name: affinity_name(node, cidr),
            ..Default::default()
        },
        spec: BlockAffinitySpec {
            node: node.to_owned(),
            cidr: cidr.to_string(),
            state,
            deleted,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_round_trip() {
        let k = resource_key(Kind::BgpPeer, "rack1-tor");
        assert_eq!(
            k,
            "/calico/resources/v3/projectcalico.org/bgppeers/rack1-tor"
        );
        assert_eq!(
            parse_resource_key(&k),
            Some((Kind::BgpPeer, "rack1-tor".into()))
        );
        assert_eq!(
            parse_resource_key("/calico/resources/v3/projectcalico.org/bgppeers/"),
            None
        );
        assert_eq!(
            parse_resource_key("/calico/resources/v3/projectcalico.org/felixconfigurations/x"),
            None
        );
        assert_eq!(
            kind_prefix(Kind::BgpConfiguration),
            "/calico/resources/v3/projectcalico.org/bgpconfigurations/"
        );
    }

    #[test]
    fn affinity_keys() {
        let (node, net) =
            parse_affinity_key("/calico/ipam/v2/host/kube-master/ipv4/block/192.168.221.192-26")
                .unwrap();
        assert_eq!(
            (node.as_str(), net.to_string().as_str()),
            ("kube-master", "192.168.221.192/26")
        );
        let (_, v6) = parse_affinity_key("/calico/ipam/v2/host/n/ipv6/block/fd00::-122").unwrap();
        assert_eq!(
            affinity_key("n", &v6),
            "/calico/ipam/v2/host/n/ipv6/block/fd00::-122"
        );
        assert!(parse_affinity_key("/calico/ipam/v2/host/n/ipv6/block/10.0.0.0-26").is_none());
        assert!(parse_affinity_key("/calico/ipam/v2/host/n/ipv4/block/10.0.0.0-26/x").is_none());
        let a = affinity_from_value("n", &net, "").unwrap();
        let bad = affinity_from_value("n", &net, "{").unwrap_err();
        assert!(
            bad.to_string().starts_with("affinity value is not JSON: "),
            "{bad}"
        );
        assert_eq!(a.spec.state, "");
        let a = affinity_from_value("n", &net, r#"{"state":"pending","deleted":false}"#).unwrap();
        assert_eq!(
            (a.spec.state.as_str(), a.spec.deleted.as_str()),
            ("pending", "false")
        );
    }
}
