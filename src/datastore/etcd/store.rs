//! Reading and writing resources in etcd exactly as Calico's client does, for `perch apply`,
//! `create`, `get`, `patch`, `label` and `delete`.
//!
//! Owns: the compare-and-swap writes (create only if absent, update or delete only at the
//! revision that was read; the loops that retry them live in `retry`), the identity Calico
//! stamps on create (`uid`, `creationTimestamp`), and `resourceVersion` = mod revision on read.
//! Must not: print, or write anything that has not passed [`value::prepare`] (decoding and
//! Calico's validation).

use std::time::{SystemTime, UNIX_EPOCH};

use etcd_client::{Compare, CompareOp, KvClient, Txn, TxnOp, TxnOpResponse};
use serde_json::Value;

use super::config::{EtcdConfig, EtcdError, connect};
use super::list::{get_prefix, kv_client};
use super::value;
use crate::resources::keys::{kind_prefix, parse_resource_key, resource_key};
use crate::resources::{Kind, ResourceId};

/// A resource as stored in etcd.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The resource's kind and name.
    pub id: ResourceId,
    /// The stored JSON, with `metadata.resourceVersion` set to `mod_revision`.
    pub value: Value,
    /// The key's mod revision: the resource's `resourceVersion`.
    pub mod_revision: i64,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The resource did not exist and was created.
    Created,
    /// The resource existed and was changed.
    Updated,
    /// The change asked for was already in place; nothing was written.
    Unchanged,
}

/// The key's current state: its mod revision and its JSON (or why it is not readable).
pub(super) struct Current {
    pub(super) mod_revision: i64,
    pub(super) value: Result<Value, value::StoredError>,
}

/// A connection used to read and write resources.
pub struct Store {
    kv: KvClient,
    endpoints: String,
}

impl Store {
    /// Connects (and checks the connection with a request).
    pub async fn connect(cfg: &EtcdConfig) -> Result<Store, EtcdError> {
        let client = connect(cfg).await?;
        Ok(Store {
            kv: kv_client(&client),
            endpoints: cfg.endpoints_text(),
        })
    }

    fn failed(&self, action: &str, e: etcd_client::Error) -> EtcdError {
        EtcdError::from_client(&self.endpoints, action, &e)
    }

    /// One resource, or None when absent. A stored value that is not a JSON resource is an
    /// [`EtcdError::Invalid`] naming the key.
    pub async fn get(&mut self, id: &ResourceId) -> Result<Option<Stored>, EtcdError> {
        let Some(current) = self.current(id).await? else {
            return Ok(None);
        };
        let value = current.value.map_err(|why| {
            EtcdError::Invalid(format!(
                "etcd key {}: {why}",
                resource_key(id.kind, &id.name)
            ))
        })?;
        Ok(Some(Stored {
            id: id.clone(),
            value,
            mod_revision: current.mod_revision,
        }))
    }

    /// Every resource of `kind`, by name, and the revision they were read at. Values that are
    /// not JSON resources are logged and left out.
    pub async fn list(&mut self, kind: Kind) -> Result<(Vec<Stored>, i64), EtcdError> {
        refuse_affinities(kind)?;
        let mut revision = 0;
        let endpoints = self.endpoints.clone();
        let kvs = get_prefix(&mut self.kv, &endpoints, &kind_prefix(kind), &mut revision).await?;
        let mut out = Vec::new();
        for kv in kvs {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let Some((_, name)) = parse_resource_key(&key) else {
                continue;
            };
            match value::read_stored(kind, &name, kv.value(), kv.mod_revision()) {
                Ok(value) => out.push(Stored {
                    id: ResourceId::new(kind, name),
                    value,
                    mod_revision: kv.mod_revision(),
                }),
                Err(why) => tracing::warn!("etcd key {key}: {why}; not shown"),
            }
        }
        Ok((out, revision))
    }

    pub(super) async fn current(&mut self, id: &ResourceId) -> Result<Option<Current>, EtcdError> {
        refuse_affinities(id.kind)?;
        let key = resource_key(id.kind, &id.name);
        let resp = self
            .kv
            .get(key.as_str(), None)
            .await
            .map_err(|e| self.failed(&format!("reading {key}"), e))?;
        Ok(resp.kvs().first().map(|kv| Current {
            mod_revision: kv.mod_revision(),
            value: value::read_stored(id.kind, &id.name, kv.value(), kv.mod_revision()),
        }))
    }

    /// Creates a resource given as JSON; [`EtcdError::AlreadyExists`] when it is there.
    pub async fn create(&mut self, given: &Value) -> Result<Stored, EtcdError> {
        let (resource, mut stored) = value::prepare(given)?;
        value::stamp_created(&mut stored, &new_uid(), &now_rfc3339());
        let id = resource.id();
        let key = resource_key(id.kind, &id.name);
        let when = Compare::create_revision(key.as_str(), CompareOp::Equal, 0);
        match self.put_if(&id, &stored, when).await? {
            Ok(revision) => Ok(stored_at(id, stored, revision)),
            Err(_) => Err(EtcdError::AlreadyExists(id)),
        }
    }

    /// Replaces `current` with a resource given as JSON, only if it was not modified since it
    /// was read ([`EtcdError::Conflict`] otherwise). Keeps `uid` and `creationTimestamp`.
    pub async fn update(&mut self, given: &Value, current: &Stored) -> Result<Stored, EtcdError> {
        self.replace(
            given,
            &current.id,
            current.mod_revision,
            Some(&current.value),
        )
        .await
    }

    pub(super) async fn replace(
        &mut self,
        given: &Value,
        id: &ResourceId,
        expected: i64,
        current: Option<&Value>,
    ) -> Result<Stored, EtcdError> {
        let (resource, mut stored) = value::prepare(given)?;
        same_id(id, &resource.id())?;
        if let Some(current) = current {
            value::keep_identity(&mut stored, current);
        }
        let key = resource_key(id.kind, &id.name);
        let when = Compare::mod_revision(key.as_str(), CompareOp::Equal, expected);
        match self.put_if(id, &stored, when).await? {
            Ok(revision) => Ok(stored_at(id.clone(), stored, revision)),
            Err(None) => Err(EtcdError::NotFound(id.clone())),
            Err(Some(actual)) => Err(EtcdError::Conflict {
                id: id.clone(),
                expected,
                actual,
            }),
        }
    }

    /// Writes `stored` if `when` holds: Ok(new revision), or Err(the key's mod revision now,
    /// None when absent).
    async fn put_if(
        &mut self,
        id: &ResourceId,
        stored: &Value,
        when: Compare,
    ) -> Result<Result<i64, Option<i64>>, EtcdError> {
        let key = resource_key(id.kind, &id.name);
        let txn = Txn::new()
            .when(vec![when])
            .and_then(vec![TxnOp::put(key.as_str(), value::encode(stored), None)])
            .or_else(vec![TxnOp::get(key.as_str(), None)]);
        let resp = self
            .kv
            .txn(txn)
            .await
            .map_err(|e| self.failed(&format!("writing {key}"), e))?;
        if resp.succeeded() {
            return Ok(Ok(resp.header().map_or(0, |h| h.revision())));
        }
        Ok(Err(now_at(&resp.op_responses())))
    }

    /// Deletes a resource; with `revision`, only if it is still at that revision.
    pub async fn delete(
        &mut self,
        id: &ResourceId,
        revision: Option<i64>,
    ) -> Result<(), EtcdError> {
        refuse_affinities(id.kind)?;
        let key = resource_key(id.kind, &id.name);
        let when = match revision {
            Some(rev) => Compare::mod_revision(key.as_str(), CompareOp::Equal, rev),
            None => Compare::create_revision(key.as_str(), CompareOp::Greater, 0),
        };
        let txn = Txn::new()
            .when(vec![when])
            .and_then(vec![TxnOp::delete(key.as_str(), None)])
            .or_else(vec![TxnOp::get(key.as_str(), None)]);
        let resp = self
            .kv
            .txn(txn)
            .await
            .map_err(|e| self.failed(&format!("deleting {key}"), e))?;
        if resp.succeeded() {
            return Ok(());
        }
        match (now_at(&resp.op_responses()), revision) {
            (Some(actual), Some(expected)) => Err(EtcdError::Conflict {
                id: id.clone(),
                expected,
                actual,
            }),
            _ => Err(EtcdError::NotFound(id.clone())),
        }
    }
}

/// An edit may not change what it edits.
pub(super) fn same_id(id: &ResourceId, now: &ResourceId) -> Result<(), EtcdError> {
    if id == now {
        return Ok(());
    }
    Err(EtcdError::Invalid(format!(
        "{}: cannot become {} (kind and name are fixed)",
        super::config::quoted(id),
        super::config::quoted(now)
    )))
}

/// A stored value that is not a readable resource.
pub(super) fn unreadable(id: &ResourceId, why: value::StoredError) -> EtcdError {
    EtcdError::Invalid(format!(
        "etcd key {}: {why}",
        resource_key(id.kind, &id.name)
    ))
}

fn refuse_affinities(kind: Kind) -> Result<(), EtcdError> {
    if kind == Kind::BlockAffinity {
        return Err(EtcdError::Invalid(
            "block affinities are IPAM keys in Calico's etcd datastore (/calico/ipam/v2/host/…), \
             not v3 resources; perch only reads them"
                .into(),
        ));
    }
    Ok(())
}

/// The mod revision reported by a failed transaction's `get`, None when the key is absent.
fn now_at(responses: &[TxnOpResponse]) -> Option<i64> {
    responses.iter().find_map(|r| match r {
        TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.mod_revision()),
        _ => None,
    })
}

pub(super) fn stored_at(id: ResourceId, mut value: Value, mod_revision: i64) -> Stored {
    if let Some(Value::Object(meta)) = value.get_mut("metadata") {
        meta.insert("resourceVersion".into(), mod_revision.to_string().into());
    }
    Stored {
        id,
        value,
        mod_revision,
    }
}

pub(super) fn random_bytes() -> [u8; 16] {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        bytes[..8].copy_from_slice(&state.hash_one(SystemTime::now()).to_le_bytes());
        bytes[8..].copy_from_slice(&state.hash_one(std::process::id()).to_le_bytes());
    }
    bytes
}

fn new_uid() -> String {
    value::uuid_v4(random_bytes())
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    value::rfc3339_utc(secs)
}
