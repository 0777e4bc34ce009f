//! "Something under this path changed": debounced filesystem notifications (inotify via
//! notify), bridged to tokio. Watches directories, not files, so atomic renames and
//! Kubernetes ConfigMap/Secret `..data` symlink swaps are seen. A directory named through a
//! symlink is watched in its parent too, so re-pointing the link (`mv -T new.tmp current`)
//! is a change, after which the directory it now points to is the one watched.
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
use tracing::warn;

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
    debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    /// For a directory named through a symlink: the path and the directory it resolved to
    /// when it was last watched.
    link: Option<(PathBuf, PathBuf)>,
}

/// Whether an event's paths concern what is watched: anything for a plain watch; for a
/// symlinked directory (whose parent is watched too), only the link and what lies under it,
/// not its siblings.
fn concerns(paths: &[PathBuf], link: Option<&Path>) -> bool {
    match link {
        None => true,
        Some(link) => paths.is_empty() || paths.iter().any(|p| p.starts_with(link)),
    }
}

impl PathWatch {
    /// Starts watching `path` (a directory, recursively; or a file, through its directory).
    pub(crate) fn new(path: &Path, debounce: Duration) -> Result<PathWatch, WatchError> {
        let (tx, rx) = mpsc::unbounded_channel();
        // notify reports absolute paths (a relative one joined to the working directory):
        // the link is compared, and its parent found, in the same form (`current` alone has
        // a parent too).
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let linked_dir = absolute.is_dir()
            && std::fs::symlink_metadata(&absolute).is_ok_and(|m| m.file_type().is_symlink());
        let link_parent = linked_dir
            .then(|| absolute.parent().filter(|p| !p.as_os_str().is_empty()))
            .flatten()
            .map(Path::to_path_buf);
        let filter = link_parent.as_ref().map(|_| absolute.clone());
        let mut debouncer = new_debouncer(debounce, None, move |r: DebounceEventResult| {
            let changed = match &r {
                Ok(events) => events
                    .iter()
                    .any(|e| is_change(&e.kind) && concerns(&e.paths, filter.as_deref())),
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
        let mut link = None;
        if let Some(parent) = link_parent {
            debouncer
                .watch(&parent, RecursiveMode::NonRecursive)
                .map_err(|source| WatchError {
                    path: parent.clone(),
                    source,
                })?;
            let resolved = std::fs::canonicalize(&absolute).unwrap_or_else(|_| absolute.clone());
            link = Some((absolute, resolved));
        }
        Ok(PathWatch {
            rx,
            debouncer,
            link,
        })
    }

    /// Waits for the next change (several notifications collapse into one).
    pub(crate) async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await?;
        while self.rx.try_recv().is_ok() {}
        self.follow_link();
        Some(())
    }

    /// When the symlinked directory now resolves elsewhere, watches where it points now
    /// (inotify watches the directory the link pointed to when the watch was added).
    fn follow_link(&mut self) {
        let Some((path, resolved)) = self.link.as_mut() else {
            return;
        };
        let Ok(now) = std::fs::canonicalize(&*path) else {
            // The link is gone or dangling for now: its parent's watch sees it come back.
            return;
        };
        if now == *resolved {
            return;
        }
        let _ = self.debouncer.unwatch(&*path);
        match self.debouncer.watch(&*path, RecursiveMode::Recursive) {
            Ok(()) => *resolved = now,
            Err(e) => warn!(path = %path.display(), "cannot watch where the link now points: {e}"),
        }
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

    /// `--resources deploy/current` given relative: notify reports absolute paths, so the
    /// link must be compared as one too, or every edit inside it is filtered out.
    #[tokio::test]
    async fn a_relative_symlinked_directory_is_followed_through_edits_and_re_pointing() {
        let tmp = tempfile::tempdir().unwrap();
        for r in ["r1", "r2"] {
            std::fs::create_dir_all(tmp.path().join(r)).unwrap();
        }
        let current = tmp.path().join("current");
        std::os::unix::fs::symlink(tmp.path().join("r1"), &current).unwrap();
        // The same directory, relative to the working directory.
        let cwd = std::env::current_dir().unwrap();
        let up: PathBuf = cwd.components().skip(1).map(|_| "..").collect();
        let relative = up.join(current.strip_prefix("/").unwrap());
        assert!(relative.is_relative() && relative.is_dir(), "{relative:?}");
        let mut w = PathWatch::new(&relative, Duration::from_millis(10)).unwrap();
        async fn change(w: &mut PathWatch, what: &str) {
            tokio::time::timeout(Duration::from_secs(10), w.changed())
                .await
                .unwrap_or_else(|_| panic!("{what} is a change"));
        }

        std::fs::write(tmp.path().join("r1/a.yaml"), "a").unwrap();
        change(&mut w, "an edit inside the linked directory").await;
        let next = tmp.path().join("current.tmp");
        std::os::unix::fs::symlink(tmp.path().join("r2"), &next).unwrap();
        std::fs::rename(&next, &current).unwrap();
        change(&mut w, "re-pointing the link").await;
        std::fs::write(tmp.path().join("r2/b.yaml"), "b").unwrap();
        change(&mut w, "an edit inside the directory it now points to").await;
    }

    #[test]
    fn a_symlinked_directory_counts_only_itself_and_what_is_under_it() {
        let link = Path::new("/etc/perch/current");
        let p = |s: &str| vec![PathBuf::from(s)];
        assert!(concerns(&p("/etc/perch/current"), Some(link)), "the link");
        assert!(concerns(&p("/etc/perch/current/a.yaml"), Some(link)));
        assert!(
            concerns(
                &[
                    PathBuf::from("/etc/perch/current.tmp"),
                    PathBuf::from("/etc/perch/current")
                ],
                Some(link)
            ),
            "a rename onto the link"
        );
        assert!(
            !concerns(&p("/etc/perch/current.tmp"), Some(link)),
            "a sibling"
        );
        assert!(!concerns(&p("/etc/perch/releases"), Some(link)));
        assert!(
            concerns(&[], Some(link)),
            "an event without paths (a rescan)"
        );
        assert!(concerns(&p("/anything"), None), "a plain watch");
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
