//! "Something under this path changed": debounced filesystem notifications (inotify via
//! notify), bridged to tokio. Watches directories, not files, so atomic renames and
//! Kubernetes ConfigMap/Secret `..data` symlink swaps are seen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// A live watch; dropping it stops watching.
pub struct PathWatch {
    rx: mpsc::UnboundedReceiver<()>,
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    pub path: PathBuf,
}

impl PathWatch {
    /// Starts watching `path` (a directory, recursively; or a file, through its directory).
    pub fn new(path: &Path, debounce: Duration) -> Result<PathWatch, String> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut debouncer = new_debouncer(debounce, None, move |r: DebounceEventResult| {
            if matches!(&r, Ok(events) if !events.is_empty()) || r.is_err() {
                let _ = tx.send(());
            }
        })
        .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
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
            .map_err(|e| format!("cannot watch {}: {e}", target.display()))?;
        Ok(PathWatch {
            rx,
            _debouncer: debouncer,
            path: path.to_path_buf(),
        })
    }

    /// Waits for the next change (several notifications collapse into one).
    pub async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await?;
        while self.rx.try_recv().is_ok() {}
        Some(())
    }
}
