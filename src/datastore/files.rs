//! The file datastore: a YAML/JSON file or a directory of them (the embedded default, for
//! trying perch without etcd), and the mounted secrets directory.
//!
//! Owns: finding resource files (each directory once, by device and inode; regular files
//! only), reading them off the async runtime, keeping a broken file's last good resources,
//! and naming resources defined more than once. Must not: plan or render.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Update;
use super::watch::PathWatch;

use crate::resources::decode::{Decoded, decode_documents_at};
use crate::resources::{Secret, Secrets, Warning};
use crate::snapshot::{Event, Snapshot};

/// A file that cannot be read or parsed as a whole.
#[derive(Debug, Error)]
pub enum FileError {
    /// A file or directory could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file or directory.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A document of the file is not valid YAML or JSON.
    #[error("{path}: document {document}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The 1-based document number within the file.
        document: usize,
        /// The parser's message.
        message: String,
    },
}

/// The resource files under `path`: the file itself, or the `.yaml`, `.yml` and `.json`
/// files in the directory and its subdirectories (hidden entries skipped), sorted.
///
/// Symlinks are followed (a ConfigMap mount is made of them), but each directory is read
/// once, by device and inode: a link back to a directory already read (`ln -s . a`) is
/// skipped with a log line. Entries that are not regular files (FIFOs, sockets, devices)
/// are skipped with a warning: reading a FIFO would wait forever.
pub fn resource_files(path: &Path) -> Result<Vec<PathBuf>, FileError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| FileError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut visited = std::collections::BTreeSet::from([(meta.dev(), meta.ino())]);
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| FileError::Read {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let mut entries: Vec<_> = entries.flatten().collect();
        // Sorted, so which of two links to one directory is read is the same every time.
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let p = entry.path();
            // Follows symlinks; a dangling one is skipped like a missing file.
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                if visited.insert((meta.dev(), meta.ino())) {
                    stack.push(p);
                } else {
                    info!(
                        path = %p.display(),
                        "directory already read (a symlink loop or a second link to it); not read again"
                    );
                }
            } else if [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                if meta.is_file() {
                    out.push(p);
                } else {
                    warn!(path = %p.display(), "not a regular file; skipped");
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every resource under `path` as upsert / undecodable events.
pub fn read_events(path: &Path) -> Result<Vec<Event>, FileError> {
    let mut events = Vec::new();
    for file in resource_files(path)? {
        events.extend(read_file_events(&file)?);
    }
    Ok(name_duplicates(events))
}

/// Events, each with the place it was read from (`<file> document N`).
type Placed = Vec<(String, Event)>;

/// Drops the places, adding a warning for every resource defined more than once (in one
/// file or across files) that names every place. The last definition in file order (files
/// sorted by path, documents in order) is the one used, as `perch apply` of the same files
/// would leave it; the order is the same on every read.
fn name_duplicates(placed: Placed) -> Vec<Event> {
    let mut places: BTreeMap<crate::resources::ResourceId, Vec<String>> = BTreeMap::new();
    for (place, event) in &placed {
        if let Event::Upsert(r) = event {
            places.entry(r.id()).or_default().push(place.clone());
        }
    }
    let mut out: Vec<Event> = placed.into_iter().map(|(_, e)| e).collect();
    for (id, at) in places.into_iter().filter(|(_, at)| at.len() > 1) {
        let used = at.last().cloned().unwrap_or_default();
        let message = format!(
            "defined {} times: {}; the last ({used}) is used",
            at.len(),
            at.join(", ")
        );
        warn!("{id}: {message}");
        out.push(Event::Undecodable {
            key: format!("{id} (duplicate)"),
            id: None,
            message,
        });
    }
    out
}

/// The events of one file, each with its place.
fn read_file_events(file: &Path) -> Result<Placed, FileError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| FileError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let decoded = decode_documents_at(&text, &shown).map_err(|e| FileError::Parse {
        path: shown.clone(),
        document: e.document,
        message: e.message,
    })?;
    Ok(decoded
        .into_iter()
        .map(|(place, d)| match d {
            Decoded::Resource(r) => (place, Event::Upsert(r)),
            Decoded::Skipped(Warning { resource, message }) => {
                let id = resource.split_once('/').and_then(|(k, n)| {
                    crate::resources::Kind::from_kind_field(k)
                        .map(|k| crate::resources::ResourceId::new(k, n))
                });
                let event = Event::Undecodable {
                    key: resource,
                    id,
                    message,
                };
                (place, event)
            }
        })
        .collect())
}

/// Follows `path`: a full list at start and after every change (debounced), as
/// `Init`…`InitDone` + `Synced`. A file that stops parsing keeps its last good resources
/// (with a warning naming it) so a typo never tears sessions down.
pub fn spawn_watch(
    path: PathBuf,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_good: BTreeMap<PathBuf, Placed> = BTreeMap::new();
        let mut sent: Option<Vec<Event>> = None;
        let mut generation = 0i64;
        let mut watch = match PathWatch::new(&path, Duration::from_millis(100)) {
            Ok(w) => Some(w),
            Err(e) => {
                warn!("{e}; re-reading every 5s instead");
                None
            }
        };
        loop {
            // Reading and parsing run on a blocking thread: thousands of files, or one huge
            // file, must not stall the status server, the sync task or shutdown.
            let job = {
                let path = path.clone();
                let cancel = cancel.clone();
                let mut kept = std::mem::take(&mut last_good);
                tokio::task::spawn_blocking(move || {
                    let events = relist(&path, &mut kept, &cancel);
                    (events, kept)
                })
            };
            let events = tokio::select! {
                _ = cancel.cancelled() => return,
                done = job => match done {
                    Ok((events, kept)) => {
                        last_good = kept;
                        events
                    }
                    Err(e) => {
                        warn!(path = %path.display(), "reading resources failed: {e}");
                        return;
                    }
                },
            };
            if cancel.is_cancelled() {
                return;
            }
            if sent.as_ref() != Some(&events) {
                generation += 1;
                info!(path = %path.display(), generation, "resources read");
                let mut batch = vec![Update::Event(Event::Init)];
                batch.extend(
                    events
                        .iter()
                        .cloned()
                        .map(|e| Update::Event(Event::InitApply(Box::new(e)))),
                );
                batch.push(Update::Event(Event::InitDone));
                batch.push(Update::Synced {
                    revision: generation,
                });
                for u in batch {
                    if tx.send(u).await.is_err() {
                        return;
                    }
                }
                sent = Some(events);
            }
            let change = async {
                match watch.as_mut() {
                    Some(w) => {
                        if w.changed().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => tokio::time::sleep(Duration::from_secs(5)).await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = change => {}
            }
        }
    })
}

/// Reads every file, keeping the last good events of files that fail to parse. Blocking;
/// stops early (with a partial, unused result) once `cancel` fires.
fn relist(
    path: &Path,
    last_good: &mut BTreeMap<PathBuf, Placed>,
    cancel: &CancellationToken,
) -> Vec<Event> {
    let files = match resource_files(path) {
        Ok(f) => f,
        Err(e) => {
            warn!("{e}; keeping the resources read before");
            return name_duplicates(last_good.values().flatten().cloned().collect());
        }
    };
    last_good.retain(|f, _| files.contains(f));
    let mut out = Vec::new();
    for file in files {
        if cancel.is_cancelled() {
            break;
        }
        match read_file_events(&file) {
            Ok(events) => {
                last_good.insert(file.clone(), events.clone());
                out.extend(events);
            }
            Err(e) => {
                let kept = last_good.get(&file).cloned().unwrap_or_default();
                warn!(
                    "{e}; keeping its {} previously read resource(s)",
                    kept.len()
                );
                out.push((
                    file.display().to_string(),
                    Event::Undecodable {
                        key: file.display().to_string(),
                        id: None,
                        message: e.to_string(),
                    },
                ));
                out.extend(kept);
            }
        }
    }
    name_duplicates(out)
}

/// Loads a snapshot from `path` (and secrets from `secrets_dir`, if given).
pub fn load_snapshot(path: &Path, secrets_dir: Option<&Path>) -> Result<Snapshot, FileError> {
    let mut s = Snapshot::new();
    for e in read_events(path)? {
        s.apply(e);
    }
    if let Some(dir) = secrets_dir {
        s.apply(Event::Secrets(read_secrets(dir)?));
    }
    Ok(s)
}

/// Reads mounted secrets: `<dir>/<secret name>/<key>` files, as a Kubernetes Secret volume
/// per secret lays them out. One trailing newline is dropped from each value. A secret
/// directory or key file that cannot be read as text (not UTF-8, no permission) fails
/// nothing: it is recorded as unusable, and only a session that references it is withheld.
pub fn read_secrets(dir: &Path) -> Result<Secrets, FileError> {
    let mut out = Secrets::new();
    let read_err = |p: &Path, e: std::io::Error| FileError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(read_err(dir, e)),
    };
    for secret in entries.flatten() {
        let name = secret.file_name().to_string_lossy().into_owned();
        let path = secret.path();
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let Ok(keys) = std::fs::read_dir(&path) else {
            continue;
        };
        for key in keys.flatten() {
            let key_name = key.file_name().to_string_lossy().into_owned();
            let kp = key.path();
            if key_name.starts_with('.') || !kp.is_file() {
                continue;
            }
            let mut value = match std::fs::read(&kp).map(String::from_utf8) {
                Ok(Ok(v)) => v,
                Ok(Err(_)) => {
                    out.insert_unusable(name.clone(), key_name, "is not UTF-8");
                    continue;
                }
                Err(e) => {
                    out.insert_unusable(name.clone(), key_name, &format!("cannot be read: {e}"));
                    continue;
                }
            };
            if value.ends_with('\n') {
                value.pop();
                if value.ends_with('\r') {
                    value.pop();
                }
            }
            out.insert(name.clone(), key_name, Secret::new(value));
        }
    }
    Ok(out)
}

/// Reads Felix's endpoint-status files (`<dir>/<workload>`: JSON with `ipv4Nets`,
/// `ipv6Nets`, `bgpPeerName`) — the local workloads that want BGP sessions. A missing
/// directory means none; a file that does not parse is skipped with a warning naming it.
pub fn read_endpoint_statuses(dir: &Path) -> BTreeMap<String, crate::resources::EndpointStatus> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<crate::resources::EndpointStatus>(&t)
                    .map_err(|e| e.to_string())
            });
        match parsed {
            Ok(mut status) => {
                status.name = name.clone();
                out.insert(name, status);
            }
            Err(e) => warn!("endpoint status {}: {e}; skipped", path.display()),
        }
    }
    out
}
