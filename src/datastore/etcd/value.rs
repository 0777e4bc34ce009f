//! etcd keys and values ↔ perch's events and resources: the pure half of the etcd datastore.
//!
//! Owns: which keys perch reads, how a stored value becomes an [`Event`] (or an
//! `Undecodable` naming the key), and how a resource is turned into the exact JSON Calico
//! stores (`kind`, `apiVersion`, `metadata` without `resourceVersion`, `spec`, AS numbers as
//! numbers). Must not: do I/O, read clocks or draw random numbers; callers pass those in.

use serde_json::{Map, Value};
use thiserror::Error;

use super::config::{EtcdError, quoted};
use crate::resources::decode::{ItemError, decode_resource};
use crate::resources::keys::{AffinityValueError, affinity_from_value};
use crate::resources::keys::{affinity_name, parse_affinity_key};
use crate::resources::keys::{kind_prefix, parse_resource_key};
use crate::resources::validate;
use crate::resources::{API_VERSION, Kind, Resource, ResourceId};
use crate::snapshot::Event;

/// Why the value stored under a key is not a resource perch can read. The caller skips that
/// one key, naming it (an [`Event::Undecodable`], a warning, or [`EtcdError::Invalid`] for a
/// `get`), and reads the rest; retrying does not help until someone rewrites the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoredError {
    /// The bytes are not UTF-8.
    #[error("value is not UTF-8")]
    NotUtf8,
    /// The bytes are not JSON (the parser's words).
    #[error("value is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("value is not a JSON object")]
    NotObject,
    /// The value's `kind` is not the one its key says.
    #[error("value holds kind {found:?}, not {expected}")]
    OtherKind {
        /// The value's `kind`.
        found: String,
        /// The kind of the key.
        expected: Kind,
    },
    /// `metadata` is not an object.
    #[error("metadata is not a JSON object")]
    MetadataNotObject,
    /// The value's `metadata.name` is not the one its key says.
    #[error("metadata.name {found:?} does not match the key")]
    OtherName {
        /// The value's name.
        found: String,
    },
    /// The right kind and name, but not a resource of that kind (the decoder's words).
    #[error("{0}")]
    Undecodable(String),
    /// A block affinity whose value is not JSON.
    #[error(transparent)]
    Affinity(#[from] AffinityValueError),
}

/// Why a resource given to be written is refused; nothing was written. Every variant means the
/// same to the caller: report it and have the input fixed (retrying cannot help).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepareError {
    /// Not a resource perch can decode (`BGPPeer "x": spec.peerIP: …`).
    #[error("{0}")]
    Undecodable(ItemError),
    /// Decoded, but Calico's validation refuses it.
    #[error("{}: {why}", quoted(id))]
    Invalid {
        /// The resource.
        id: ResourceId,
        /// Every problem found, joined with `; `.
        why: String,
    },
    /// A block affinity: in Calico's etcd datastore those are IPAM keys that Calico IPAM
    /// manages, never written by perch.
    #[error(
        "{}: block affinities are IPAM keys in Calico's etcd datastore, managed by Calico IPAM; perch does not write them",
        quoted(id)
    )]
    IpamManaged {
        /// The resource.
        id: ResourceId,
    },
}

impl From<PrepareError> for EtcdError {
    fn from(e: PrepareError) -> EtcdError {
        EtcdError::Invalid(e.to_string())
    }
}

/// The kinds read from `/calico/resources/v3/projectcalico.org/` (block affinities are IPAM
/// keys in etcd mode).
pub fn resource_kinds() -> impl Iterator<Item = Kind> {
    Kind::ALL.into_iter().filter(|k| *k != Kind::BlockAffinity)
}

/// Every prefix a node's snapshot is listed from, in [`Kind::ALL`] order.
pub fn list_prefixes(node: &str) -> Vec<String> {
    let mut out: Vec<String> = resource_kinds().map(kind_prefix).collect();
    out.push(affinities_prefix(node));
    out
}

/// The prefix of `node`'s block affinities, or of every node's with [`ALL_NODES`].
pub fn affinities_prefix(node: &str) -> String {
    if node == ALL_NODES {
        "/calico/ipam/v2/host/".to_owned()
    } else {
        crate::resources::keys::affinity_prefix(node)
    }
}

/// Pass as the node to read every node's block affinities (for commands that plan them all).
pub const ALL_NODES: &str = "*";

/// The event for a key that now holds `value`, or None for keys perch does not read (other
/// kinds, other nodes' affinities).
pub fn put_event(key: &str, value: &[u8], mod_revision: i64, node: &str) -> Option<Event> {
    let (id, decoded) = if let Some((kind, name)) = parse_resource_key(key) {
        let id = ResourceId::new(kind, &name);
        let decoded = decode_stored(kind, &name, value, mod_revision).map(|(_, r)| r);
        (id, decoded)
    } else {
        let (host, cidr) =
            parse_affinity_key(key).filter(|(host, _)| host == node || node == ALL_NODES)?;
        let id = ResourceId::new(Kind::BlockAffinity, affinity_name(&host, &cidr));
        let decoded = std::str::from_utf8(value)
            .map_err(|_| StoredError::NotUtf8)
            .and_then(|text| affinity_from_value(&host, &cidr, text).map_err(StoredError::from))
            .map(|mut a| {
                a.metadata.resource_version = Some(mod_revision.to_string());
                Resource::BlockAffinity(a)
            });
        (id, decoded)
    };
    Some(match decoded {
        Ok(r) => Event::Upsert(r),
        Err(message) => Event::Undecodable {
            key: key.to_owned(),
            id: Some(id),
            message: format!("etcd key {key}: {message}"),
        },
    })
}

/// The event for a deleted key, or None for keys perch does not read.
pub fn delete_event(key: &str, node: &str) -> Option<Event> {
    if let Some((kind, name)) = parse_resource_key(key) {
        return Some(Event::Delete(ResourceId::new(kind, name)));
    }
    let (host, cidr) =
        parse_affinity_key(key).filter(|(host, _)| host == node || node == ALL_NODES)?;
    Some(Event::Delete(ResourceId::new(
        Kind::BlockAffinity,
        affinity_name(&host, &cidr),
    )))
}

/// Reads a stored resource value: the JSON with `metadata.resourceVersion` set to the key's
/// mod revision (as Calico's client does on read), and the typed resource.
pub fn decode_stored(
    kind: Kind,
    name: &str,
    value: &[u8],
    mod_revision: i64,
) -> Result<(Value, Resource), StoredError> {
    let json = read_stored(kind, name, value, mod_revision)?;
    let resource = decode_resource(&json).map_err(|e| StoredError::Undecodable(e.message))?;
    Ok((json, resource))
}

/// The stored JSON of a resource key, with `metadata.resourceVersion` set to `mod_revision`.
/// Kind and name come from the key (filled in when absent); a value claiming another kind or
/// name is refused.
pub fn read_stored(
    kind: Kind,
    name: &str,
    value: &[u8],
    mod_revision: i64,
) -> Result<Value, StoredError> {
    let mut json: Value =
        serde_json::from_slice(value).map_err(|e| StoredError::NotJson(e.to_string()))?;
    let Value::Object(fields) = &mut json else {
        return Err(StoredError::NotObject);
    };
    match fields.get("kind").and_then(Value::as_str) {
        None => {
            fields.insert("kind".into(), kind.name().into());
        }
        Some(k) if k == kind.name() => {}
        Some(k) => {
            return Err(StoredError::OtherKind {
                found: k.to_owned(),
                expected: kind,
            });
        }
    }
    if !fields.contains_key("apiVersion") {
        fields.insert("apiVersion".into(), API_VERSION.into());
    }
    let meta = fields
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return Err(StoredError::MetadataNotObject);
    };
    match meta.get("name").and_then(Value::as_str) {
        None => {
            meta.insert("name".into(), name.into());
        }
        Some(n) if n == name => {}
        Some(n) => {
            return Err(StoredError::OtherName {
                found: n.to_owned(),
            });
        }
    }
    meta.insert("resourceVersion".into(), mod_revision.to_string().into());
    Ok(json)
}

/// Decodes and validates a resource given as JSON, and returns it with the JSON to store:
/// [`Resource::to_json`] (so AS numbers are numbers and field names are Calico's), plus any
/// top-level members perch does not model (a Node's `status`), without
/// `metadata.resourceVersion`. Errors name the resource: `BGPPeer "x": spec.peerIP: …`.
pub fn prepare(value: &Value) -> Result<(Resource, Value), PrepareError> {
    let resource = decode_resource(value).map_err(PrepareError::Undecodable)?;
    if resource.kind() == Kind::BlockAffinity {
        return Err(PrepareError::IpamManaged { id: resource.id() });
    }
    validate::check(&resource).map_err(|why| PrepareError::Invalid {
        id: resource.id(),
        why,
    })?;
    let mut stored = resource.to_json();
    if let (Value::Object(out), Value::Object(given)) = (&mut stored, value) {
        for (k, v) in given {
            if !out.contains_key(k) && !v.is_null() {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(Value::Object(meta)) = stored.get_mut("metadata") {
        meta.remove("resourceVersion");
        meta.remove("selfLink");
    }
    Ok((resource, stored))
}

/// Sets the identity Calico's `Create` gives a new resource.
pub fn stamp_created(stored: &mut Value, uid: &str, creation_timestamp: &str) {
    if let Some(Value::Object(meta)) = stored.get_mut("metadata") {
        meta.insert("uid".into(), uid.into());
        meta.insert("creationTimestamp".into(), creation_timestamp.into());
    }
}

/// Keeps the identity (`uid`, `creationTimestamp`) of the value being replaced.
pub fn keep_identity(stored: &mut Value, current: &Value) {
    let Some(Value::Object(meta)) = stored.get_mut("metadata") else {
        return;
    };
    for field in ["uid", "creationTimestamp"] {
        if let Some(v) = current.pointer(&format!("/metadata/{field}")) {
            meta.insert(field.into(), v.clone());
        }
    }
}

/// Serializes a stored value with Calico's top-level field order (`kind`, `apiVersion`,
/// `metadata`, `spec`, `status`, then the rest).
pub fn encode(stored: &Value) -> String {
    let Value::Object(fields) = stored else {
        return stored.to_string();
    };
    let first = ["kind", "apiVersion", "metadata", "spec", "status"];
    let ordered = first
        .iter()
        .filter_map(|k| fields.get(*k).map(|v| (*k, v)))
        .chain(
            fields
                .iter()
                .filter(|(k, _)| !first.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        );
    let members: Vec<String> = ordered
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_owned())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// RFC 3339 UTC time with seconds precision (`2026-11-25T20:06:04Z`), as Go's
/// `metav1.Time` marshals, from seconds since the Unix epoch.
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    crate::time::rfc3339_from_unix(i64::try_from(unix_seconds).unwrap_or(i64::MAX))
}

/// Formats 16 random bytes as a version 4 UUID (`xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx`).
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
