//! `perch patch` and `perch label`: read-modify-write of one stored resource.
//!
//! Owns: RFC 7386 JSON merge patch, calicoctl's label rules (an existing value changes only
//! with --overwrite), and Kubernetes label syntax. Must not: write except through
//! [`crate::datastore::etcd::Store::modify`], which retries on conflict so concurrent edits
//! all land.

use std::process::ExitCode;

use clap::Args;
use serde_json::{Map, Value, json};

use super::common::{open, parse_kind, say};
use crate::cli::common::DatastoreArgs;
use crate::cli::error::CliError;
use crate::datastore::etcd::{EtcdError, Written, quoted};
use crate::resources::{API_VERSION, Kind, ResourceId};

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "The patch is merged into the stored resource as RFC 7386 says: objects merge, `null` \
removes a field, anything else replaces it. The result is validated before it is written. \
Patching `bgpconfiguration default` creates it when it does not exist yet.\n\n\
Examples:\n  perch patch bgpconfiguration default -p '{\"spec\":{\"nodeToNodeMeshEnabled\":false}}'\n  \
perch patch node node-1 -p '{\"spec\":{\"bgp\":{\"routeReflectorClusterID\":\"244.0.0.1\"}}}'\n  \
perch patch bgppeer rack1-tor -p '{\"spec\":{\"maxRestartTime\":null}}'",
    etcd_help!()
))]
pub struct PatchArgs {
    /// The kind: `bgpconfiguration`, `node`, `bgppeer`, `ippool`, …
    pub kind: String,
    /// The resource's name.
    pub name: String,
    /// The JSON merge patch.
    #[arg(long, short = 'p', value_name = "JSON")]
    pub patch: String,
    #[command(flatten)]
    pub store: DatastoreArgs,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Each LABEL is `key=value` to set a label or `key-` to remove one. Changing a label that \
already has another value needs --overwrite; removing a label that is not there is an \
error.\n\n\
Examples:\n  perch label nodes node-1 route-reflector=true\n  \
perch label nodes node-1 rack=r2 --overwrite\n  perch label nodes node-1 rack-",
    etcd_help!()
))]
pub struct LabelArgs {
    /// The kind, usually `nodes`.
    pub kind: String,
    /// The resource's name.
    pub name: String,
    /// `key=value` or `key-`.
    #[arg(required = true, value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Allow changing the value of an existing label.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub store: DatastoreArgs,
}

/// `perch patch`.
pub(crate) async fn patch(a: PatchArgs) -> Result<ExitCode, CliError> {
    let kind = parse_kind(&a.kind)?;
    let patch: Value = serde_json::from_str(&a.patch)
        .map_err(|e| CliError::failed(format!("--patch is not JSON: {e}")))?;
    if !patch.is_object() {
        return Err(CliError::failed("--patch must be a JSON object"));
    }
    let id = ResourceId::new(kind, &a.name);
    let creatable = kind == Kind::BgpConfiguration && a.name == "default";
    let mut store = open(&a.store, "patch").await?;
    let (written, _) = store
        .modify(&id, |current| {
            let mut new = match current {
                Some(v) => v.clone(),
                None if creatable => json!({
                    "kind": kind.name(), "apiVersion": API_VERSION,
                    "metadata": {"name": id.name}, "spec": {},
                }),
                None => return Err(EtcdError::NotFound(id.clone())),
            };
            if let (Some(want), Some(cur)) = (
                patch.pointer("/metadata/resourceVersion"),
                current.and_then(|c| c.pointer("/metadata/resourceVersion")),
            ) && want != cur
            {
                return Err(EtcdError::Conflict {
                    id: id.clone(),
                    expected: revision(want),
                    actual: revision(cur),
                });
            }
            merge_patch(&mut new, &patch);
            check_labels(&new)
                .map_err(|why| EtcdError::Invalid(format!("{}: {why}", quoted(&id))))?;
            Ok(Some(new))
        })
        .await?;
    let how = if written == Written::Created {
        " (created)"
    } else {
        ""
    };
    say(format_args!(
        "Successfully patched 1 '{kind}' resource{how}"
    ));
    Ok(ExitCode::SUCCESS)
}

fn revision(v: &Value) -> i64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// RFC 7386: merges `patch` into `target`.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(fields) = target {
        for (k, v) in changes {
            if v.is_null() {
                fields.remove(k);
            } else {
                merge_patch(fields.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// One requested label change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Set(String, String),
    Remove(String),
}

/// A label perch will not write (Kubernetes label syntax, as Calico's validator checks it).
/// Nothing is written; each variant names the part of the input to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LabelError {
    /// Neither `key=value` nor `key-`.
    #[error("label {}: expected key=value or key-", shown(.0))]
    NotAChange(String),
    /// The key is not `[prefix/]name`.
    #[error(
        "label key {}: expected an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        shown(.0)
    )]
    Key(String),
    /// A stored label key holding `=`.
    #[error("label key {}: must not contain '='", shown(.0))]
    KeyWithEquals(String),
    /// The value is not a label value.
    #[error(
        "label value {}: expected up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        shown(.0)
    )]
    Value(String),
}

/// `text` quoted for an error message; past 80 characters, its start and its length (a label
/// can be megabytes long, and the message goes to a terminal or a log line).
fn shown(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

fn parse_label(text: &str) -> Result<LabelOp, LabelError> {
    let op = match text.split_once('=') {
        Some((k, v)) => LabelOp::Set(k.to_owned(), v.to_owned()),
        None => match text.strip_suffix('-') {
            Some(k) => LabelOp::Remove(k.to_owned()),
            None => return Err(LabelError::NotAChange(text.to_owned())),
        },
    };
    let (LabelOp::Set(key, _) | LabelOp::Remove(key)) = &op;
    if !valid_label_key(key) {
        return Err(LabelError::Key(key.clone()));
    }
    if let LabelOp::Set(_, value) = &op
        && !value.is_empty()
        && !valid_label_name(value)
    {
        return Err(LabelError::Value(value.clone()));
    }
    Ok(op)
}

/// Checks `metadata.labels` of a resource about to be written by the rules `perch label`
/// uses (Kubernetes label syntax, as Calico's validator checks it), so every command that
/// writes labels refuses the same ones.
pub(crate) fn check_labels(value: &Value) -> Result<(), LabelError> {
    let Some(labels) = value.pointer("/metadata/labels").and_then(Value::as_object) else {
        return Ok(());
    };
    for (key, v) in labels {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let op = if text.is_empty() {
            format!("{key}=")
        } else {
            format!("{key}={text}")
        };
        if key.contains('=') {
            return Err(LabelError::KeyWithEquals(key.clone()));
        }
        parse_label(&op)?;
    }
    Ok(())
}

/// Kubernetes label key: `[prefix/]name`.
fn valid_label_key(key: &str) -> bool {
    match key.rsplit_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
                && valid_label_name(name)
        }
        None => valid_label_name(key),
    }
}

fn valid_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Applies label changes to a stored resource: Ok(None) when nothing changes.
fn relabel(
    id: &ResourceId,
    current: &Value,
    ops: &[LabelOp],
    overwrite: bool,
) -> Result<Option<Value>, EtcdError> {
    let mut new = current.clone();
    let mut labels = new
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for op in ops {
        match op {
            LabelOp::Set(k, v) => match labels.get(k) {
                Some(old) if old.as_str() == Some(v.as_str()) => {}
                Some(old) if !overwrite => {
                    return Err(EtcdError::Invalid(format!(
                        "{}: label {k:?} is already set to {old}; pass --overwrite to change it",
                        quoted(id)
                    )));
                }
                _ => {
                    labels.insert(k.clone(), Value::String(v.clone()));
                    changed = true;
                }
            },
            LabelOp::Remove(k) => {
                if labels.remove(k).is_none() {
                    return Err(EtcdError::Invalid(format!(
                        "{}: has no label {k:?} to remove",
                        quoted(id)
                    )));
                }
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    if let Some(Value::Object(meta)) = new.get_mut("metadata") {
        if labels.is_empty() {
            meta.remove("labels");
        } else {
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
    Ok(Some(new))
}

/// `perch label`.
pub(crate) async fn label(a: LabelArgs) -> Result<ExitCode, CliError> {
    let kind = parse_kind(&a.kind)?;
    let ops = a
        .labels
        .iter()
        .map(|l| parse_label(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::failed(e.to_string()))?;
    let id = ResourceId::new(kind, &a.name);
    let mut store = open(&a.store, "label").await?;
    store
        .modify(&id, |current| match current {
            Some(cur) => relabel(&id, cur, &ops, a.overwrite),
            None => Err(EtcdError::NotFound(id.clone())),
        })
        .await?;
    for op in &ops {
        match op {
            LabelOp::Set(k, v) => say(format_args!(
                "Successfully set label {k}={v} on {}",
                quoted(&id)
            )),
            LabelOp::Remove(k) => say(format_args!(
                "Successfully removed label {k} from {}",
                quoted(&id)
            )),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_label_is_quoted_by_its_start_and_length() {
        let long = "a".repeat(1_000_000);
        let e = parse_label(&format!("k={long}")).unwrap_err().to_string();
        assert!(e.len() < 300, "{e}");
        assert!(
            e.starts_with(&format!(
                "label value \"{}\"… (1000000 bytes): expected",
                "a".repeat(80)
            )),
            "{e}"
        );
        let e = parse_label(&format!("{long}=v")).unwrap_err().to_string();
        assert!(e.len() < 300, "{e}");
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The examples of RFC 7386 section 3.
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        let mut doc = json!({"a": [{"b": "c"}]});
        merge_patch(&mut doc, &json!({"a": [1]}));
        assert_eq!(doc, json!({"a": [1]}), "arrays are replaced, not merged");
        let mut doc = json!(["a"]);
        merge_patch(&mut doc, &json!({"a": {"bb": {"ccc": null}}}));
        assert_eq!(doc, json!({"a": {"bb": {}}}));
    }

    #[test]
    fn labels_change_only_with_overwrite() {
        let id = ResourceId::new(Kind::Node, "n");
        let node = json!({"kind": "Node", "metadata": {"name": "n", "labels": {"rack": "r1"}}});
        let set = |k: &str, v: &str| LabelOp::Set(k.into(), v.into());
        let err = relabel(&id, &node, &[set("rack", "r2")], false).unwrap_err();
        assert!(err.to_string().contains("--overwrite"), "{err}");
        let new = relabel(&id, &node, &[set("rack", "r2")], true)
            .unwrap()
            .unwrap();
        assert_eq!(new["metadata"]["labels"]["rack"], "r2");
        assert_eq!(
            relabel(&id, &node, &[set("rack", "r1")], false).unwrap(),
            None,
            "same value: no write"
        );
        let gone = relabel(&id, &node, &[LabelOp::Remove("rack".into())], false)
            .unwrap()
            .unwrap();
        assert!(gone["metadata"].get("labels").is_none());
        assert!(relabel(&id, &node, &[LabelOp::Remove("x".into())], false).is_err());
    }

    #[test]
    fn label_arguments_follow_kubernetes_syntax() {
        assert_eq!(
            parse_label("rack=r1"),
            Ok(LabelOp::Set("rack".into(), "r1".into()))
        );
        assert_eq!(
            parse_label("example.com/rr-"),
            Ok(LabelOp::Remove("example.com/rr".into()))
        );
        assert_eq!(
            parse_label("empty="),
            Ok(LabelOp::Set("empty".into(), String::new()))
        );
        assert_eq!(
            parse_label("rack"),
            Err(LabelError::NotAChange("rack".into()))
        );
        assert_eq!(
            parse_label("bad key=v"),
            Err(LabelError::Key("bad key".into()))
        );
        let value = parse_label("k=-v").unwrap_err();
        assert_eq!(value, LabelError::Value("-v".into()));
        assert!(
            value
                .to_string()
                .starts_with("label value \"-v\": expected up to 63 "),
            "{value}"
        );
        assert_eq!(
            check_labels(&json!({"metadata": {"labels": {"a=b": "c"}}})),
            Err(LabelError::KeyWithEquals("a=b".into()))
        );
    }
}
