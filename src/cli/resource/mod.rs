//! calicoctl-style resource commands against etcd: `apply`, `create`, `get`, `delete`,
//! `patch` and `label`.
//!
//! Owns: their arguments, reading resource files, and the messages printed. Must not: write
//! to etcd except through [`Store`], which validates every resource and compares-and-swaps on
//! the mod revision; the file datastore is read-only here (edit the files instead).

/// The closing paragraph of every resource command's `--help`.
macro_rules! etcd_help {
    () => {
        "\n\nThese commands work on etcd only: select it with --datastore etcdv3 or \
DATASTORE_TYPE=etcdv3, and reach it with calicoctl's variables ETCD_ENDPOINTS, \
ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_USERNAME and ETCD_PASSWORD (or the \
matching --etcd-* flags). Every write is validated first and is a compare-and-swap on the \
resource's revision, so concurrent changes are never lost."
    };
}

pub(crate) mod edit;
mod show;
mod write;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use super::CliError;
use super::common::DatastoreArgs;
use crate::datastore::etcd::Store;
use crate::resources::Kind;
use crate::resources::decode::{expand_lists, parse_documents};

/// The resource commands, flattened into [`super::Command`].
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Create or update resources in etcd from a file (calicoctl apply).
    Apply(write::ApplyArgs),
    /// Create resources in etcd from a file; refuses any that already exist.
    Create(write::CreateArgs),
    /// Show resources stored in etcd.
    Get(show::GetArgs),
    /// Delete resources from etcd, named or listed in a file.
    Delete(write::DeleteArgs),
    /// Change a resource with a JSON merge patch (RFC 7386).
    Patch(edit::PatchArgs),
    /// Set or remove labels on a resource (calicoctl label).
    Label(edit::LabelArgs),
}

/// Runs a resource command.
pub(crate) async fn run(cmd: ResourceCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ResourceCommand::Apply(a) => write::write(a.input, write::Mode::Apply).await,
        ResourceCommand::Create(a) => write::write(a.input, write::Mode::Create).await,
        ResourceCommand::Get(a) => show::get(a).await,
        ResourceCommand::Delete(a) => write::delete(a).await,
        ResourceCommand::Patch(a) => edit::patch(a).await,
        ResourceCommand::Label(a) => edit::label(a).await,
    }
}

/// Prints one line of a command's report. The change it reports is already made, so a
/// closed stdout (`perch apply … | head -0`) is not an error, and never a panic.
pub(crate) fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Connects to etcd, or explains that these commands need it.
async fn open(args: &DatastoreArgs, command: &str) -> Result<Store, CliError> {
    let Some(cfg) = args.etcd_config() else {
        return Err(CliError::failed(format!(
            "{command} works on etcd only: pass --datastore etcdv3 or set DATASTORE_TYPE=etcdv3 \
             (the file datastore is read-only; edit the files instead)"
        )));
    };
    Ok(Store::connect(&cfg).await?)
}

/// A kind named on the command line (`bgppeers`, `BGPPeer`, `node`, …).
fn parse_kind(text: &str) -> Result<Kind, CliError> {
    match Kind::parse(text) {
        Some(Kind::BlockAffinity) | None => {
            let known: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| **k != Kind::BlockAffinity)
                .map(|k| k.plural())
                .collect();
            Err(CliError::failed(format!(
                "unknown resource kind {text:?}: expected one of {}",
                known.join(", ")
            )))
        }
        Some(k) => Ok(k),
    }
}

/// One resource read from a file: where it came from and its JSON.
struct Item {
    place: String,
    value: Value,
}

/// Every resource in `path` (a file, a directory of `.yaml`/`.yml`/`.json` files, or `-` for
/// stdin), lists expanded. Syntax errors fail as a whole.
fn read_items(path: &Path) -> Result<Vec<Item>, CliError> {
    let mut texts = Vec::new();
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::failed(format!("stdin: {e}")))?;
        texts.push(("stdin".to_owned(), text));
    } else {
        for file in crate::datastore::files::resource_files(path)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
            texts.push((file.display().to_string(), text));
        }
    }
    let mut items = Vec::new();
    for (origin, text) in texts {
        let docs =
            parse_documents(&text).map_err(|e| CliError::failed(format!("{origin}: {e}")))?;
        for doc in docs {
            for (pos, value) in expand_lists(doc.value).into_iter().enumerate() {
                let place = match pos {
                    0 => format!("{origin} document {}", doc.index),
                    _ => format!("{origin} document {} item {pos}", doc.index),
                };
                items.push(Item { place, value });
            }
        }
    }
    if items.is_empty() {
        return Err(CliError::failed(format!(
            "{}: no resources found",
            shown(path)
        )));
    }
    Ok(items)
}

fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// Counts of resources per kind, in first-seen order, for calicoctl's summary lines.
#[derive(Default)]
struct Tally(Vec<(Kind, usize)>);

impl Tally {
    fn add(&mut self, kind: Kind) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.0.push((kind, 1)),
        }
    }

    /// `Successfully applied 2 'BGPPeer' resource(s)`, one line per kind.
    fn print(&self, verb: &str) {
        for (kind, n) in &self.0 {
            say(format_args!("Successfully {verb} {n} '{kind}' resource(s)"));
        }
    }
}
