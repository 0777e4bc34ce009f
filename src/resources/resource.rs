//! A decoded resource, its kind and identity, and the warnings decoding gives.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::types::*;

/// The resource kinds perch understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// `Node`: a Calico node, its addresses and AS number.
    Node,
    /// `BGPConfiguration`: cluster-wide (`default`) or per-node (`node.<name>`) BGP settings.
    #[serde(rename = "BGPConfiguration")]
    BgpConfiguration,
    /// `BGPPeer`: a BGP peering rule.
    #[serde(rename = "BGPPeer")]
    BgpPeer,
    /// `IPPool`: a pool of workload addresses.
    #[serde(rename = "IPPool")]
    IpPool,
    /// `BGPFilter`: import/export rules that BGPPeers refer to.
    #[serde(rename = "BGPFilter")]
    BgpFilter,
    /// `CalicoNodeStatus`: a request for, and the report of, one node's status.
    CalicoNodeStatus,
    /// `BlockAffinity`: an IPAM block claimed by one node.
    BlockAffinity,
}

impl Kind {
    /// Every kind, in the order they are listed and applied (nodes and config first).
    pub const ALL: [Kind; 7] = [
        Kind::Node,
        Kind::BgpConfiguration,
        Kind::IpPool,
        Kind::BgpFilter,
        Kind::BgpPeer,
        Kind::CalicoNodeStatus,
        Kind::BlockAffinity,
    ];

    /// The `kind:` field value.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Node => "Node",
            Kind::BgpConfiguration => "BGPConfiguration",
            Kind::BgpPeer => "BGPPeer",
            Kind::IpPool => "IPPool",
            Kind::BgpFilter => "BGPFilter",
            Kind::CalicoNodeStatus => "CalicoNodeStatus",
            Kind::BlockAffinity => "BlockAffinity",
        }
    }

    /// The plural used in etcd keys and on the command line.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Node => "nodes",
            Kind::BgpConfiguration => "bgpconfigurations",
            Kind::BgpPeer => "bgppeers",
            Kind::IpPool => "ippools",
            Kind::BgpFilter => "bgpfilters",
            Kind::CalicoNodeStatus => "caliconodestatuses",
            Kind::BlockAffinity => "blockaffinities",
        }
    }

    /// Parses a kind as calicoctl does: any case, singular, plural or short name
    /// (`bgppeer`, `bgpPeers`, `nodes`, `ippool`, `bgpconfig`, `cns`, …).
    pub fn parse(text: &str) -> Option<Kind> {
        let t = text.to_ascii_lowercase();
        let kind = match t.as_str() {
            "node" | "nodes" | "no" => Kind::Node,
            "bgpconfiguration" | "bgpconfigurations" | "bgpconfig" | "bgpconfigs" => {
                Kind::BgpConfiguration
            }
            "bgppeer" | "bgppeers" | "bgpp" | "bgpps" | "bp" | "bps" => Kind::BgpPeer,
            "ippool" | "ippools" | "ipp" | "ipps" | "pool" | "pools" => Kind::IpPool,
            "bgpfilter" | "bgpfilters" => Kind::BgpFilter,
            "caliconodestatus" | "caliconodestatuses" | "cns" => Kind::CalicoNodeStatus,
            "blockaffinity" | "blockaffinities" | "affinity" | "affinities" => Kind::BlockAffinity,
            _ => return None,
        };
        Some(kind)
    }

    /// The kind named by a `kind:` field (exact Calico spelling, or `<Kind>List` → None).
    pub fn from_kind_field(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == text)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies one resource: its kind and name (`BGPPeer/rack1-tor`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    /// The resource's kind.
    pub kind: Kind,
    /// The resource's name (`metadata.name`).
    pub name: String,
}

impl ResourceId {
    /// The id of the resource of `kind` named `name`.
    pub fn new(kind: Kind, name: impl Into<String>) -> ResourceId {
        ResourceId {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One typed resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// A Node.
    Node(Node),
    /// A BGPConfiguration.
    BgpConfiguration(BgpConfiguration),
    /// A BGPPeer.
    BgpPeer(BgpPeer),
    /// An IPPool.
    IpPool(IpPool),
    /// A BGPFilter.
    BgpFilter(BgpFilter),
    /// A CalicoNodeStatus.
    CalicoNodeStatus(CalicoNodeStatus),
    /// A BlockAffinity.
    BlockAffinity(BlockAffinity),
}

impl Resource {
    /// The resource's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Node(_) => Kind::Node,
            Resource::BgpConfiguration(_) => Kind::BgpConfiguration,
            Resource::BgpPeer(_) => Kind::BgpPeer,
            Resource::IpPool(_) => Kind::IpPool,
            Resource::BgpFilter(_) => Kind::BgpFilter,
            Resource::CalicoNodeStatus(_) => Kind::CalicoNodeStatus,
            Resource::BlockAffinity(_) => Kind::BlockAffinity,
        }
    }

    /// The resource's metadata.
    pub fn metadata(&self) -> &Metadata {
        match self {
            Resource::Node(r) => &r.metadata,
            Resource::BgpConfiguration(r) => &r.metadata,
            Resource::BgpPeer(r) => &r.metadata,
            Resource::IpPool(r) => &r.metadata,
            Resource::BgpFilter(r) => &r.metadata,
            Resource::CalicoNodeStatus(r) => &r.metadata,
            Resource::BlockAffinity(r) => &r.metadata,
        }
    }

    /// The resource's name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// The resource's kind and name.
    pub fn id(&self) -> ResourceId {
        ResourceId::new(self.kind(), self.name())
    }

    /// The resource as Calico stores it: JSON with `kind` and `apiVersion` set first.
    pub fn to_json(&self) -> Value {
        let body = match self {
            Resource::Node(r) => serde_json::to_value(r),
            Resource::BgpConfiguration(r) => serde_json::to_value(r),
            Resource::BgpPeer(r) => serde_json::to_value(r),
            Resource::IpPool(r) => serde_json::to_value(r),
            Resource::BgpFilter(r) => serde_json::to_value(r),
            Resource::CalicoNodeStatus(r) => serde_json::to_value(r),
            Resource::BlockAffinity(r) => serde_json::to_value(r),
        }
        .unwrap_or(Value::Null);
        let mut out = serde_json::Map::new();
        out.insert("kind".into(), Value::String(self.kind().name().into()));
        out.insert("apiVersion".into(), Value::String(API_VERSION.into()));
        if let Value::Object(fields) = body {
            for (k, v) in fields {
                out.insert(k, v);
            }
        }
        Value::Object(out)
    }
}

/// The API group/version Calico writes on every resource.
pub const API_VERSION: &str = "projectcalico.org/v3";

/// A problem with one resource that made perch skip or adjust it: shown in plan warnings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Warning {
    /// `Kind/name`, or the file/key when no name is known.
    pub resource: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Warning {
    /// A warning about `resource` (a [`ResourceId`], or a file or key).
    pub fn new(resource: impl fmt::Display, message: impl Into<String>) -> Warning {
        Warning {
            resource: resource.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `BGPPeer "rack1-tor": message`; a note after the name stays outside the quotes
        // (`BGPPeer "tor" (duplicate): …`).
        match self.resource.split_once('/') {
            Some((kind, name)) if Kind::from_kind_field(kind).is_some() => {
                match name.strip_suffix(')').and_then(|n| n.split_once(" (")) {
                    Some((name, note)) => write!(f, "{kind} {name:?} ({note}): {}", self.message),
                    None => write!(f, "{kind} {name:?}: {}", self.message),
                }
            }
            _ => write!(f, "{}: {}", self.resource, self.message),
        }
    }
}
