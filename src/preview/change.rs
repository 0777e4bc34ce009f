//! A proposed change to the datastore, applied to a copy of the snapshot in memory: resources
//! to create or replace (as `calicoctl apply -f`) and resources to delete (as
//! `calicoctl delete -f`, which reads only kind and name).
//!
//! Owns: turning change text into [`Change`]s, refusing anything Calico would refuse (every
//! problem names the resource and the file), and applying them in order. Must not: read files
//! (callers pass the text) or plan.

use serde::Serialize;
use serde_json::Value;

use crate::resources::decode::{Decoded, decode_documents, expand_lists, parse_documents};
use crate::resources::{Kind, Resource, ResourceId, Warning, validate};
use crate::snapshot::{Event, Snapshot};

/// One step of a change set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// Create or replace the resource (a `--patch KIND NAME -p JSON` merge patch, when it is
    /// offered, becomes one of these: the patched resource).
    Upsert(Resource),
    Delete(ResourceId),
}

impl Change {
    pub(crate) fn id(&self) -> ResourceId {
        match self {
            Change::Upsert(r) => r.id(),
            Change::Delete(id) => id.clone(),
        }
    }

    /// `upsert` or `delete`.
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Change::Upsert(_) => "upsert",
            Change::Delete(_) => "delete",
        }
    }
}

/// A change step as reported: `{"action": "upsert", "resource": "BGPPeer/x", "from": "f.yaml"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChangeSummary {
    pub action: &'static str,
    pub resource: String,
    pub from: String,
}

/// The resources of `text` to create or replace. `origin` (a file name) names the text in
/// errors; an undecodable or invalid resource is an error naming it.
pub(crate) fn upserts(text: &str, origin: &str) -> Result<Vec<Change>, String> {
    let decoded = decode_documents(text, origin).map_err(|e| format!("{origin}: {e}"))?;
    let mut out = Vec::new();
    for d in decoded {
        match d {
            Decoded::Skipped(w) => return Err(located(origin, &w)),
            Decoded::Resource(r) => {
                if let Err(why) = validate::check(&r) {
                    return Err(located(origin, &Warning::new(r.id(), why)));
                }
                out.push(Change::Upsert(r));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{origin}: no resources in the change"));
    }
    Ok(out)
}

/// The resources of `text` to delete: only `kind` and `metadata.name` are read.
pub(crate) fn deletes(text: &str, origin: &str) -> Result<Vec<Change>, String> {
    let docs = parse_documents(text).map_err(|e| format!("{origin}: {e}"))?;
    let mut out = Vec::new();
    for doc in docs {
        for item in expand_lists(doc.value) {
            let place = format!("{origin} document {}", doc.index);
            let kind_text = item.get("kind").and_then(Value::as_str).unwrap_or("");
            let Some(kind) = Kind::from_kind_field(kind_text) else {
                return Err(format!(
                    "{place}: kind {kind_text:?} is not a Calico BGP resource perch reads"
                ));
            };
            let name = item
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("{place}: {kind} has no metadata.name"))?;
            out.push(Change::Delete(ResourceId::new(kind, name)));
        }
    }
    if out.is_empty() {
        return Err(format!("{origin}: no resources in the change"));
    }
    Ok(out)
}

fn located(origin: &str, w: &Warning) -> String {
    if w.resource.starts_with(origin) {
        w.to_string()
    } else {
        format!("{origin}: {w}")
    }
}

/// Applies `changes` in order to `snapshot`. Deleting a resource that does not exist (at
/// that point of the change set) is an error, as it is for `calicoctl delete`.
pub(crate) fn apply(snapshot: &mut Snapshot, changes: &[(Change, String)]) -> Result<(), String> {
    for (change, origin) in changes {
        match change {
            Change::Upsert(r) => {
                snapshot.apply(Event::Upsert(r.clone()));
            }
            Change::Delete(id) => {
                let exists =
                    snapshot.get(id).is_some() || snapshot.skipped.contains_key(&id.to_string());
                if !exists {
                    return Err(format!(
                        "{origin}: {}",
                        Warning::new(id, "does not exist, so it cannot be deleted")
                    ));
                }
                snapshot.apply(Event::Delete(id.clone()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\nspec: {peerIP: 10.0.0.1, asNumber: 65001}\n";

    #[test]
    fn upserts_are_validated_and_named() {
        let ok = upserts(PEER, "c.yaml").unwrap();
        assert_eq!(ok[0].id().to_string(), "BGPPeer/tor");
        let bad = PEER.replace("asNumber: 65001", "asNumber: 0");
        let err = upserts(&bad, "c.yaml").unwrap_err();
        assert!(err.starts_with("c.yaml: BGPPeer \"tor\": "), "{err}");
        let invalid = PEER.replace("10.0.0.1", "10.0.0.300");
        let err = upserts(&invalid, "c.yaml").unwrap_err();
        assert!(
            err.contains("BGPPeer \"tor\"") && err.contains("peerIP"),
            "{err}"
        );
        assert!(upserts("", "e.yaml").unwrap_err().contains("no resources"));
        let err = upserts("kind: Deployment\nmetadata: {name: x}\n", "d.yaml").unwrap_err();
        assert!(err.starts_with("d.yaml document 1"), "{err}");
    }

    #[test]
    fn deletes_read_kind_and_name_only() {
        let d = deletes(
            "kind: BGPPeer\nmetadata: {name: tor}\nspec: {asNumber: 0}\n",
            "d.yaml",
        );
        assert_eq!(
            d.unwrap()[0],
            Change::Delete(ResourceId::new(Kind::BgpPeer, "tor"))
        );
        let err = deletes("kind: BGPPeer\nmetadata: {}\n", "d.yaml").unwrap_err();
        assert!(err.contains("no metadata.name"), "{err}");
    }

    #[test]
    fn apply_in_order_and_refuse_missing_deletes() {
        let mut s = Snapshot::new();
        let mut steps: Vec<(Change, String)> = upserts(PEER, "a.yaml")
            .unwrap()
            .into_iter()
            .map(|c| (c, "a.yaml".to_string()))
            .collect();
        steps.push((
            Change::Delete(ResourceId::new(Kind::BgpPeer, "tor")),
            "d.yaml".into(),
        ));
        apply(&mut s, &steps).unwrap();
        assert!(s.bgp_peers.is_empty());
        let err = apply(&mut s, &steps[1..]).unwrap_err();
        assert_eq!(
            err,
            "d.yaml: BGPPeer \"tor\": does not exist, so it cannot be deleted"
        );
    }
}
