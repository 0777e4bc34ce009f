//! "Something under this path changed": debounced filesystem notifications (inotify via
//! notify), bridged to tokio. Watches directories, not files, so atomic renames and
//! Kubernetes ConfigMap/Secret `..data` symlink swaps are seen.
//!
//! notify's inotify backend always asks for `IN_OPEN`, so every read of a watched file
//! (perch's own, after each change) is reported as an access. Only events that can change
//! what a reader sees count: creates, writes, removes, renames, metadata, a write-close, and
//! the backend's own rescan/error reports. Without this filter each re-read fires the
//! watch again and perch re-reads forever.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// Whether an event can change what a reader of the path sees. Opening, reading and
/// closing a file after reading it cannot.
pub(crate) fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// A path that cannot be watched (inotify limits, a missing directory). The caller falls back
/// to re-reading on a timer, or notices changes only at restart; trying again right away does
/// not help.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}: {source}", .path.display())]
pub(crate) struct WatchError {
    /// The directory that could not be watched.
    path: PathBuf,
    /// notify's error.
    #[source]
    source: notify::Error,
}

/// A live watch; dropping it stops watching.
pub(crate) struct PathWatch {
    rx: mpsc::UnboundedReceiver<()>,
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

impl PathWatch {
    /// Starts watching `path` (a directory, recursively; or a file, through its directory).
    pub(crate) fn new(path: &Path, debounce: Duration) -> Result<PathWatch, WatchError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut debouncer = new_debouncer(debounce, None, move |r: DebounceEventResult| {
            let changed = match &r {
                Ok(events) => events.iter().any(|e| is_change(&e.kind)),
                Err(_) => true,
            };
            if changed {
                let _ = tx.send(());
            }
        })
        .map_err(|source| WatchError {
            path: path.to_path_buf(),
            source,
        })?;
        let (target, mode) = if path.is_dir() {
            (path.to_path_buf(), RecursiveMode::Recursive)
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            (parent.to_path_buf(), RecursiveMode::NonRecursive)
        };
        debouncer
            .watch(&target, mode)
            .map_err(|source| WatchError {
                path: target.clone(),
                source,
            })?;
        Ok(PathWatch {
            rx,
            _debouncer: debouncer,
        })
    }

    /// Waits for the next change (several notifications collapse into one).
    pub(crate) async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await?;
        while self.rx.try_recv().is_ok() {}
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    #[tokio::test]
    async fn a_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gone").join("file");
        let error = PathWatch::new(&missing, Duration::from_millis(10))
            .err()
            .expect("a missing directory cannot be watched");
        let parent = dir.path().join("gone");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot watch {}: ", parent.display())),
            "{error}"
        );
    }

    #[test]
    fn reads_are_not_changes() {
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
        ] {
            assert!(!is_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Remove(RemoveKind::File),
            EventKind::Any,
            EventKind::Other,
        ] {
            assert!(is_change(&kind), "{kind:?}");
        }
    }
}
