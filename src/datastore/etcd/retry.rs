//! The compare-and-swap retry loops behind `perch apply`, `patch` and `label`.
//!
//! Owns: when a lost compare-and-swap is retried from a fresh read (apply without a
//! resourceVersion, read-modify-write) and when it is an error for the user (a stale
//! resourceVersion they gave). Must not: write other than through [`Store`]'s CAS writes.

use std::time::Duration;

use serde_json::Value;

use super::config::EtcdError;
use super::store::{Store, Stored, Written};
use super::store::{random_bytes, same_id, stored_at, unreadable};
use super::value;
use crate::resources::ResourceId;

/// How many times a write is retried after losing a compare-and-swap to another writer.
const CAS_ATTEMPTS: u32 = 16;

impl Store {
    /// calicoctl's `apply`: create when absent, else update at the revision just read (retried
    /// if another writer got there first). A `metadata.resourceVersion` in `given` must match
    /// the stored one: a stale one is a [`EtcdError::Conflict`], never retried.
    pub async fn apply(&mut self, given: &Value) -> Result<(Written, Stored), EtcdError> {
        let (resource, _) = value::prepare(given)?;
        let id = resource.id();
        let pinned = match resource.metadata().resource_version.as_deref() {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                EtcdError::Invalid(format!(
                    "{}: metadata.resourceVersion {v:?} is not a revision number",
                    super::config::quoted(&id)
                ))
            })?),
        };
        for attempt in 0..CAS_ATTEMPTS {
            let current = self.current(&id).await?;
            let result = match (current, pinned) {
                (None, Some(_)) => return Err(EtcdError::NotFound(id)),
                (None, None) => self.create(given).await.map(|s| (Written::Created, s)),
                (Some(cur), Some(rev)) if cur.mod_revision != rev => {
                    return Err(EtcdError::Conflict {
                        id,
                        expected: rev,
                        actual: cur.mod_revision,
                    });
                }
                (Some(cur), _) => self
                    .replace(given, &id, cur.mod_revision, cur.value.as_ref().ok())
                    .await
                    .map(|s| (Written::Updated, s)),
            };
            match result {
                Err(EtcdError::AlreadyExists(_)) => {}
                Err(EtcdError::Conflict { .. }) if pinned.is_none() => {}
                other => return other,
            }
            contention_pause(&id, attempt).await;
        }
        Err(gave_up(&id))
    }

    /// Read-modify-write with compare-and-swap: `change` gets the stored JSON (None when
    /// absent) and returns the new resource JSON, or None to leave it as it is. Retried from
    /// a fresh read when another writer got there first, so no concurrent change is lost.
    pub async fn modify<F>(
        &mut self,
        id: &ResourceId,
        mut change: F,
    ) -> Result<(Written, Stored), EtcdError>
    where
        F: FnMut(Option<&Value>) -> Result<Option<Value>, EtcdError>,
    {
        for attempt in 0..CAS_ATTEMPTS {
            let current = match self.current(id).await? {
                None => None,
                Some(c) => Some((c.mod_revision, c.value.map_err(|why| unreadable(id, why))?)),
            };
            let Some(new) = change(current.as_ref().map(|(_, v)| v))? else {
                return match current {
                    Some((rev, value)) => {
                        Ok((Written::Unchanged, stored_at(id.clone(), value, rev)))
                    }
                    None => Err(EtcdError::NotFound(id.clone())),
                };
            };
            let result = match &current {
                None => self
                    .create_as(id, &new)
                    .await
                    .map(|s| (Written::Created, s)),
                Some((rev, value)) => self
                    .replace(&new, id, *rev, Some(value))
                    .await
                    .map(|s| (Written::Updated, s)),
            };
            match result {
                Err(EtcdError::AlreadyExists(_) | EtcdError::Conflict { .. }) => {}
                other => return other,
            }
            contention_pause(id, attempt).await;
        }
        Err(gave_up(id))
    }

    async fn create_as(&mut self, id: &ResourceId, given: &Value) -> Result<Stored, EtcdError> {
        let (resource, _) = value::prepare(given)?;
        same_id(id, &resource.id())?;
        self.create(given).await
    }
}

fn gave_up(id: &ResourceId) -> EtcdError {
    EtcdError::Contended {
        id: id.clone(),
        attempts: CAS_ATTEMPTS,
    }
}

/// A short, growing, jittered pause so competing writers stop colliding.
async fn contention_pause(id: &ResourceId, attempt: u32) {
    tracing::debug!(
        "{}: another writer changed it first; retrying (attempt {})",
        super::config::quoted(id),
        attempt + 2
    );
    let jitter = u64::from(random_bytes()[0]) % 20;
    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt) + jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Kind;

    #[test]
    fn giving_up_on_contention_is_not_invalid_input() {
        let id = ResourceId::new(Kind::BgpPeer, "rack1-tor");
        let error = gave_up(&id);
        assert!(
            matches!(
                error,
                EtcdError::Contended {
                    attempts: CAS_ATTEMPTS,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "BGPPeer \"rack1-tor\": gave up after 16 attempts: other writers kept changing it"
        );
    }
}
