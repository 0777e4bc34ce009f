//! What the resource commands share: opening etcd, naming a kind on the command line,
//! reading resource files, and the lines they print.
//!
//! Owns: these helpers. Must not: import the commands (`edit`, `show`, `write`) or their
//! parent, so every command can use it.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::cli::common::DatastoreArgs;
use crate::cli::error::CliError;
use crate::datastore::etcd::Store;
use crate::resources::Kind;
use crate::resources::decode::{expand_lists, parse_documents};

/// Prints one line of a command's report. The change it reports is already made, so a
/// closed stdout (`perch apply … | head -0`) is not an error, and never a panic.
pub(crate) fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Connects to etcd, or explains that these commands need it.
pub(super) async fn open(args: &DatastoreArgs, command: &str) -> Result<Store, CliError> {
    let Some(cfg) = args.etcd_config() else {
        return Err(CliError::failed(format!(
            "{command} works on etcd only: pass --datastore etcdv3 or set DATASTORE_TYPE=etcdv3 \
             (the file datastore is read-only; edit the files instead)"
        )));
    };
    Ok(Store::connect(&cfg).await?)
}

/// A kind named on the command line (`bgppeers`, `BGPPeer`, `node`, …).
pub(super) fn parse_kind(text: &str) -> Result<Kind, CliError> {
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
pub(super) struct Item {
    pub(super) place: String,
    pub(super) value: Value,
}

/// Every resource in `path` (a file, a directory of `.yaml`/`.yml`/`.json` files, or `-` for
/// stdin), lists expanded. Syntax errors fail as a whole.
pub(super) fn read_items(path: &Path) -> Result<Vec<Item>, CliError> {
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
pub(super) struct Tally(pub(super) Vec<(Kind, usize)>);

impl Tally {
    pub(super) fn add(&mut self, kind: Kind) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.0.push((kind, 1)),
        }
    }

    /// `Successfully applied 2 'BGPPeer' resource(s)`, one line per kind.
    pub(super) fn print(&self, verb: &str) {
        for (kind, n) in &self.0 {
            say(format_args!("Successfully {verb} {n} '{kind}' resource(s)"));
        }
    }
}
