//! The file datastore: a YAML/JSON file or a directory of them (the embedded default, for
//! trying perch without etcd), and the mounted secrets directory (only the keys resources
//! reference are read).
//!
//! Owns: finding resource files (each directory once, by device and inode; regular files
//! only), reading them off the async runtime, keeping a broken file's last good resources,
//! and naming resources defined more than once. Must not: plan or render.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Update;
use super::watch::PathWatch;

use crate::resources::decode::{Decoded, decode_documents_at};
use crate::resources::{Secret, SecretKeyRef, Secrets, Warning};
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

/// Loads a snapshot from `path` (and, from `secrets_dir` if given, the secrets its resources
/// reference).
pub fn load_snapshot(path: &Path, secrets_dir: Option<&Path>) -> Result<Snapshot, FileError> {
    let mut s = Snapshot::new();
    for e in read_events(path)? {
        s.apply(e);
    }
    if let Some(dir) = secrets_dir {
        s.apply(Event::Secrets(read_secrets(dir, &s.secret_refs())?));
    }
    Ok(s)
}

/// The largest secret value perch reads. BIRD takes passwords far shorter; Kubernetes caps a
/// whole Secret at 1 MiB.
pub const MAX_SECRET_BYTES: u64 = 1 << 20;

/// Reads the mounted secrets that `wanted` names: `<dir>/<secret name>/<key>` files, as a
/// Kubernetes Secret volume per secret lays them out. Nothing else in `dir` is opened, so an
/// unrelated file (huge, binary, a FIFO) costs nothing. One trailing newline is dropped from
/// each value. A missing key is left out (the session that needs it says so); a key file that
/// cannot be used as text (not UTF-8, unreadable, not a regular file, over
/// [`MAX_SECRET_BYTES`]) is recorded as unusable, and only a session that references it is
/// withheld. A missing `dir` means no secrets; a `dir` that cannot be read is an error.
pub fn read_secrets(dir: &Path, wanted: &BTreeSet<SecretKeyRef>) -> Result<Secrets, FileError> {
    let mut out = Secrets::new();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(FileError::Read {
                path: dir.display().to_string(),
                message: "not a directory".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(FileError::Read {
                path: dir.display().to_string(),
                message: e.to_string(),
            });
        }
    }
    for r in wanted {
        // A part with a separator is no secret of this directory (validation refuses it, this
        // keeps the read inside it). A Secret's name never starts with `.`; a key may (`.pw`,
        // as Kubernetes allows) but not with `..`, the volume's own entries (`..data`).
        let inside = |part: &str| !part.is_empty() && part != "." && !part.contains(['/', '\0']);
        if !inside(&r.name) || r.name.starts_with('.') || !inside(&r.key) || r.key.starts_with("..")
        {
            continue;
        }
        match read_secret_value(&dir.join(&r.name).join(&r.key)) {
            Ok(Some(value)) => out.insert(r.name.clone(), r.key.clone(), Secret::new(value)),
            Ok(None) => {}
            Err(why) => out.insert_unusable(r.name.clone(), r.key.clone(), &why),
        }
    }
    Ok(out)
}

/// The secrets to use when the directory itself cannot be read (`why`): the values read
/// before stay, and a key referenced since is unusable for that reason, so that its sessions
/// are withheld rather than peered without the password they may need.
pub fn secrets_when_unreadable(
    before: &Secrets,
    wanted: &BTreeSet<SecretKeyRef>,
    why: &str,
) -> Secrets {
    let mut out = before.clone();
    for r in wanted {
        if out.get(&r.name, &r.key).is_none() && out.unusable(&r.name, &r.key).is_none() {
            out.insert_unusable(
                r.name.clone(),
                r.key.clone(),
                &format!("cannot be read: {why}"),
            );
        }
    }
    out
}

/// One key file's text: `Ok(None)` when it does not exist, `Err(why)` when it cannot be used.
fn read_secret_value(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so a FIFO put in place of a key cannot hang the open; regular files
    // ignore the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    // At most one byte past the limit is read, whatever size the file claims.
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!("is larger than {MAX_SECRET_BYTES} bytes"));
    }
    let mut value = String::from_utf8(bytes).map_err(|_| "is not UTF-8".to_owned())?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(Some(value))
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

#[cfg(test)]
mod secret_tests {
    use super::*;

    fn r(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn only_wanted_keys_are_read_and_reads_stay_inside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secrets");
        std::fs::create_dir_all(dir.join("bgp")).unwrap();
        std::fs::write(dir.join("bgp/tor"), "s3cret\r\n").unwrap();
        std::fs::write(dir.join("bgp/other"), "unwanted").unwrap();
        std::fs::write(tmp.path().join("outside"), "not a secret").unwrap();
        let wanted = [
            r("bgp", "tor"),
            r("bgp", "missing"),
            r("..", "outside"),
            r("bgp", "../../outside"),
            r(".", "outside"),
        ]
        .into_iter()
        .collect();
        let s = read_secrets(&dir, &wanted).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s.get("bgp", "tor").unwrap().expose(), "s3cret");
        assert!(s.get("bgp", "other").is_none());
        assert!(s.get("bgp", "missing").is_none() && s.unusable("bgp", "missing").is_none());
    }

    #[test]
    fn a_key_may_start_with_one_dot_as_kubernetes_allows() {
        // Kubernetes allows Secret keys such as `.pw` (only `.`, `..` and a `..` prefix are
        // refused: the volume's own `..data` entries); Calico reads them.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secrets");
        std::fs::create_dir_all(dir.join("bgp/..data")).unwrap();
        std::fs::write(dir.join("bgp/.pw"), "dotted\n").unwrap();
        std::fs::write(dir.join("bgp/..data/pw"), "volume internals").unwrap();
        std::fs::write(dir.join("bgp/..pw"), "not a key").unwrap();
        let wanted = [
            r("bgp", ".pw"),
            r("bgp", "..pw"),
            r("bgp", "."),
            r(".bgp", "pw"),
        ]
        .into_iter()
        .collect();
        let s = read_secrets(&dir, &wanted).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s.get("bgp", ".pw").unwrap().expose(), "dotted");
    }

    #[test]
    fn a_key_referenced_while_the_directory_cannot_be_read_is_unusable_not_missing() {
        // A missing key peers without a password (as Calico does); a key perch could not look
        // for must not: its sessions are withheld until the directory reads again.
        let mut before = Secrets::new();
        before.insert("bgp", "tor", Secret::new("s3cret"));
        let wanted = [r("bgp", "tor"), r("bgp", "new")].into_iter().collect();
        let s = secrets_when_unreadable(&before, &wanted, "/run/secrets: Permission denied");
        assert_eq!(s.get("bgp", "tor").unwrap().expose(), "s3cret");
        assert!(s.get("bgp", "new").is_none());
        assert_eq!(
            s.unusable("bgp", "new"),
            Some("cannot be read: /run/secrets: Permission denied")
        );
    }

    #[test]
    fn a_missing_directory_is_no_secrets_and_a_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let wanted = [r("bgp", "tor")].into_iter().collect();
        assert!(
            read_secrets(&tmp.path().join("nope"), &wanted)
                .unwrap()
                .is_empty()
        );
        std::fs::write(tmp.path().join("file"), "").unwrap();
        let e = read_secrets(&tmp.path().join("file"), &wanted).unwrap_err();
        assert!(e.to_string().ends_with("not a directory"), "{e}");
    }
}
