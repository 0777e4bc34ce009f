//! `perch apply`, `perch create` and `perch delete`.
//!
//! Owns: validating every resource of a file before writing any, and the per-kind summary.
//! Must not: write around [`Store`], or write anything when one resource is invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::common::{Item, Tally, open, parse_kind, read_items};
use super::edit::{LabelError, check_labels};
use crate::cli::common::DatastoreArgs;
use crate::cli::error::CliError;
use crate::datastore::etcd::value::{PrepareError, prepare};
use crate::datastore::etcd::{EtcdError, quoted};
use crate::resources::decode::decode_resource;
use crate::resources::{Kind, ResourceId};

/// `-f FILE|DIR|-` and the datastore.
#[derive(Debug, Args)]
pub struct FileInput {
    /// A YAML/JSON file (several documents and `kind: List` allowed), a directory of them, or
    /// `-` for stdin.
    #[arg(long = "filename", short = 'f', value_name = "FILE|-")]
    pub filename: PathBuf,
    #[command(flatten)]
    pub store: DatastoreArgs,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Creates each resource that is absent and replaces each that exists. Every resource in \
the input is validated first; if any is invalid, nothing is written. A resource carrying \
metadata.resourceVersion (as `perch get -o yaml` prints it) is only written if it is still at \
that revision; otherwise the command fails with a conflict.\n\n\
Examples:\n  perch apply -f peers.yaml\n  perch get bgppeers -o yaml > p.yaml && $EDITOR p.yaml && perch apply -f p.yaml\n  \
cat pool.json | perch apply -f -",
    etcd_help!()
))]
pub struct ApplyArgs {
    #[command(flatten)]
    pub input: FileInput,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Fails on the first resource that already exists (those before it stay created). Every \
resource in the input is validated first; if any is invalid, nothing is written.\n\n\
Examples:\n  perch create -f rack1-tor.yaml\n  perch create -f cluster/",
    etcd_help!()
))]
pub struct CreateArgs {
    #[command(flatten)]
    pub input: FileInput,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n  perch delete bgppeer rack1-tor\n  perch delete -f peers.yaml\n  \
perch delete ippool old-pool --skip-not-exists",
    etcd_help!()
))]
pub struct DeleteArgs {
    /// The kind: `bgppeer`, `bgppeers`, `BGPPeer`, `node`, `ippool`, `bgpconfig`, …
    #[arg(conflicts_with = "filename", requires = "name")]
    pub kind: Option<String>,
    /// The resource's name.
    pub name: Option<String>,
    /// Delete the resources listed in this file (`-` for stdin). Those carrying
    /// metadata.resourceVersion are only deleted at that revision.
    #[arg(long = "filename", short = 'f', value_name = "FILE|-")]
    pub filename: Option<PathBuf>,
    /// Do not fail when a resource is already gone.
    #[arg(long)]
    pub skip_not_exists: bool,
    #[command(flatten)]
    pub store: DatastoreArgs,
}

/// Whether missing resources are created only, or created and updated.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    Apply,
    Create,
}

impl Mode {
    fn command(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::Create => "create",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Mode::Apply => "applied",
            Mode::Create => "created",
        }
    }
}

/// `perch apply` and `perch create`.
pub(super) async fn write(input: FileInput, mode: Mode) -> Result<ExitCode, CliError> {
    let items = read_items(&input.filename)?;
    let mut kinds = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for item in &items {
        match check(item) {
            Ok(kind) => kinds.push(kind),
            Err(why) => problems.push(why.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let mut store = open(&input.store, mode.command()).await?;
    let mut done = Tally::default();
    for (item, kind) in items.iter().zip(kinds) {
        let result = match mode {
            Mode::Apply => store.apply(&item.value).await.map(|_| ()),
            Mode::Create => store.create(&item.value).await.map(|_| ()),
        };
        if let Err(e) = result {
            done.print(mode.verb());
            return Err(partial(e, &done));
        }
        done.add(kind);
    }
    done.print(mode.verb());
    Ok(ExitCode::SUCCESS)
}

/// Why one item of the input is refused. Nothing is written while any item is: every
/// variant means "fix this item", and names it (its resource, or its place in the file).
#[derive(Debug, thiserror::Error)]
enum ItemProblem {
    /// Not a resource at all (no kind or name to name it by).
    #[error("{place}: {message}")]
    Unnamed { place: String, message: String },
    /// A label perch will not write.
    #[error("{label} ({place})")]
    Label { place: String, label: LabelError },
    /// Not a resource Calico would accept.
    #[error("{refused} ({place})")]
    Refused {
        place: String,
        refused: PrepareError,
    },
}

/// Decodes and validates one item; the error names the resource (or its place in the file).
fn check(item: &Item) -> Result<Kind, ItemProblem> {
    let place = || item.place.clone();
    if let Err(e) = decode_resource(&item.value)
        && e.id.is_none()
    {
        let message = e.message.trim_end_matches("; skipped").to_owned();
        return Err(ItemProblem::Unnamed {
            place: place(),
            message,
        });
    }
    check_labels(&item.value).map_err(|label| ItemProblem::Label {
        place: place(),
        label,
    })?;
    prepare(&item.value)
        .map(|(r, _)| r.kind())
        .map_err(|refused| ItemProblem::Refused {
            place: place(),
            refused,
        })
}

/// The error for invalid input: every problem, and that nothing was written.
fn refused(problems: Vec<String>) -> CliError {
    if let [one] = problems.as_slice() {
        return CliError::failed(format!("{one}; nothing was written"));
    }
    CliError::failed(format!(
        "{} resources are invalid; nothing was written:\n  {}",
        problems.len(),
        problems.join("\n  ")
    ))
}

fn partial(e: EtcdError, done: &Tally) -> CliError {
    if done.0.is_empty() {
        CliError::failed(e.to_string())
    } else {
        CliError::failed(format!("{e} (the resources before it were written)"))
    }
}

/// `perch delete KIND NAME` and `perch delete -f FILE`.
pub(super) async fn delete(a: DeleteArgs) -> Result<ExitCode, CliError> {
    let targets = match (&a.filename, &a.kind, &a.name) {
        (Some(path), None, None) => {
            let mut targets = Vec::new();
            let mut problems = Vec::new();
            for item in read_items(path)? {
                match delete_target(&item.value) {
                    Ok(t) => targets.push(t),
                    Err(why) => problems.push(format!("{}: {why}", item.place)),
                }
            }
            if !problems.is_empty() {
                return Err(refused(problems));
            }
            targets
        }
        (None, Some(kind), Some(name)) => vec![(ResourceId::new(parse_kind(kind)?, name), None)],
        _ => {
            return Err(CliError::failed(
                "delete needs KIND NAME or -f FILE (see perch delete --help)",
            ));
        }
    };
    let mut store = open(&a.store, "delete").await?;
    let mut done = Tally::default();
    for (id, revision) in targets {
        match store.delete(&id, revision).await {
            Ok(()) => done.add(id.kind),
            Err(EtcdError::NotFound(_)) if a.skip_not_exists => {
                eprintln!("{} does not exist; skipped", quoted(&id));
            }
            Err(e) => {
                done.print("deleted");
                return Err(partial(e, &done));
            }
        }
    }
    done.print("deleted");
    Ok(ExitCode::SUCCESS)
}

/// Why an item of a `delete -f` file names nothing perch can delete. Nothing is deleted while
/// any item is refused: fix the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum TargetProblem {
    /// No kind, or one perch does not delete (block affinities belong to Calico IPAM).
    #[error("kind {0:?} is not a resource perch can delete")]
    Kind(String),
    /// No `metadata.name`.
    #[error("{0} has no metadata.name")]
    NoName(String),
    /// A `metadata.resourceVersion` that is not a revision number.
    #[error(
        "{}: metadata.resourceVersion {value} is not a revision number",
        quoted(id)
    )]
    Revision { id: ResourceId, value: Value },
}

/// The kind, name and (optional) resourceVersion of a resource to delete.
fn delete_target(value: &Value) -> Result<(ResourceId, Option<i64>), TargetProblem> {
    let kind_text = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let kind = Kind::from_kind_field(kind_text)
        .filter(|k| *k != Kind::BlockAffinity)
        .ok_or_else(|| TargetProblem::Kind(kind_text.to_owned()))?;
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| TargetProblem::NoName(kind_text.to_owned()))?;
    let id = ResourceId::new(kind, name);
    let revision = match value.pointer("/metadata/resourceVersion") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| TargetProblem::Revision {
                    id: id.clone(),
                    value: v.clone(),
                })?,
        ),
    };
    Ok((id, revision))
}
