//! `perch get`: one resource or a kind's list, as a table, YAML or JSON.
//!
//! Owns: the output formats. YAML and JSON print the stored JSON with
//! `metadata.resourceVersion` (the key's mod revision); a list is one `<Kind>List` document,
//! as `calicoctl get -o yaml` prints it, which `perch apply -f` reads back.
//! Must not: write.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::common::{open, parse_kind};
use crate::cli::common::DatastoreArgs;
use crate::cli::error::CliError;
use crate::cli::plan::table;
use crate::datastore::etcd::EtcdError;
use crate::resources::{API_VERSION, Kind, ResourceId};

/// How `perch get` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GetOutput {
    /// Names and a few key fields per kind.
    Table,
    /// YAML: the resource, or a `<Kind>List` document for a list.
    Yaml,
    /// JSON: the resource, or a `<Kind>List` object for a list.
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Without NAME, lists every resource of the kind. `-o yaml` and `-o json` print what is \
stored, with metadata.resourceVersion set to the resource's etcd revision; a list is printed \
as one `<Kind>List` document (like `calicoctl get -o yaml`), which `perch apply -f` accepts \
back.\n\n\
Examples:\n  perch get bgppeers\n  perch get bgpconfiguration default -o yaml\n  \
perch get nodes -o json",
    etcd_help!()
))]
pub struct GetArgs {
    /// The kind: `nodes`, `bgppeers`, `bgpconfigurations`, `ippools`, `bgpfilters`,
    /// `caliconodestatuses` (singular, plural or calicoctl's short names).
    pub kind: String,
    /// One resource's name; without it, the whole kind is listed.
    pub name: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: GetOutput,
    #[command(flatten)]
    pub store: DatastoreArgs,
}

/// `perch get`.
pub(super) async fn get(a: GetArgs) -> Result<ExitCode, CliError> {
    let kind = parse_kind(&a.kind)?;
    let mut store = open(&a.store, "get").await?;
    let (items, list_revision) = match &a.name {
        Some(name) => {
            let id = ResourceId::new(kind, name);
            match store.get(&id).await? {
                Some(s) => (vec![s.value], None),
                None => return Err(EtcdError::NotFound(id).into()),
            }
        }
        None => {
            let (stored, revision) = store.list(kind).await?;
            (
                stored.into_iter().map(|s| s.value).collect(),
                Some(revision),
            )
        }
    };
    let text = match a.output {
        GetOutput::Table => table_text(kind, &items),
        GetOutput::Yaml | GetOutput::Json => {
            let doc = match list_revision {
                None => items.into_iter().next().unwrap_or_default(),
                Some(revision) => json!({
                    "apiVersion": API_VERSION,
                    "kind": format!("{}List", kind.name()),
                    "metadata": {"resourceVersion": revision.to_string()},
                    "items": items,
                }),
            };
            if matches!(a.output, GetOutput::Yaml) {
                yaml_serde::to_string(&doc).map_err(|e| CliError::failed(e.to_string()))?
            } else {
                serde_json::to_string_pretty(&doc).map_err(|e| CliError::failed(e.to_string()))?
                    + "\n"
            }
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The columns `perch get` shows per kind: header and JSON pointer.
fn columns(kind: Kind) -> &'static [(&'static str, &'static str)] {
    match kind {
        Kind::Node => &[
            ("ASN", "/spec/bgp/asNumber"),
            ("IPV4", "/spec/bgp/ipv4Address"),
            ("IPV6", "/spec/bgp/ipv6Address"),
        ],
        Kind::BgpPeer => &[
            ("PEERIP", "/spec/peerIP"),
            ("NODE", "/spec/node"),
            ("ASN", "/spec/asNumber"),
        ],
        Kind::IpPool => &[("CIDR", "/spec/cidr"), ("SELECTOR", "/spec/nodeSelector")],
        Kind::BgpConfiguration => &[
            ("LOGSEVERITY", "/spec/logSeverityScreen"),
            ("MESHENABLED", "/spec/nodeToNodeMeshEnabled"),
            ("ASNUMBER", "/spec/asNumber"),
        ],
        Kind::CalicoNodeStatus => &[("NODE", "/spec/node")],
        Kind::BgpFilter | Kind::BlockAffinity => &[],
    }
}

fn table_text(kind: Kind, items: &[Value]) -> String {
    let cols = columns(kind);
    let mut header = vec!["NAME"];
    header.extend(cols.iter().map(|(h, _)| *h));
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let mut row = vec![cell(item, "/metadata/name")];
            row.extend(cols.iter().map(|(_, ptr)| cell(item, ptr)));
            if kind == Kind::BgpPeer && row[2].is_empty() {
                row[2] = match item.pointer("/spec/nodeSelector").and_then(Value::as_str) {
                    Some(sel) => format!("({sel})"),
                    None => "(global)".into(),
                };
            }
            row
        })
        .collect();
    table(&header, &rows)
}

fn cell(item: &Value, pointer: &str) -> String {
    match item.pointer(pointer) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
