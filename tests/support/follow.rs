//! Follows etcd with perch's watcher and builds a snapshot from what it sends, for tests.

use std::time::{Duration, Instant};

use perch::datastore::Update;
use perch::datastore::etcd::{EtcdConfig, load_snapshot, spawn};
use perch::snapshot::{Event, Snapshot};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The resources and warnings of a snapshot, for comparing two of them.
pub fn contents(s: &Snapshot) -> String {
    format!("{:#?}\n{:#?}", s.resources(), s.skipped)
}

/// A follower under test: the snapshot built from its updates, and what it sent.
pub struct Follow {
    node: String,
    rx: mpsc::Receiver<Update>,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
    pub snapshot: Snapshot,
    pub seen: Vec<String>,
}

impl Follow {
    pub fn start(cfg: EtcdConfig, node: &str) -> Follow {
        let (tx, rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let handle = spawn(cfg, node.into(), tx, cancel.clone());
        Follow {
            node: node.into(),
            rx,
            cancel,
            handle,
            snapshot: Snapshot::new(),
            seen: Vec::new(),
        }
    }

    /// Applies updates until `done` holds after one; panics naming `what` when that takes
    /// longer than `within`.
    pub async fn until(&mut self, what: &str, within: Duration, done: impl Fn(&Follow) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let update = match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(u)) => u,
                Ok(None) => panic!("{what}: the follower stopped; seen {:?}", self.seen),
                Err(_) => panic!(
                    "{what}: not within {within:?}; last updates {:?}\nsnapshot:\n{}",
                    &self.seen[self.seen.len().saturating_sub(12)..],
                    contents(&self.snapshot)
                ),
            };
            self.seen.push(match &update {
                Update::Event(Event::Init) => "init".into(),
                Update::Event(Event::InitApply(_)) => "item".into(),
                Update::Event(Event::InitDone) => "done".into(),
                Update::Event(e) => format!("event {e:?}"),
                Update::Synced { revision } => format!("synced {revision}"),
                Update::Unavailable { message } => format!("unavailable {message}"),
                Update::SecretsDirChanged => "secrets dir changed".into(),
            });
            if let Update::Event(e) = update {
                self.snapshot.apply(e);
            }
            if done(self) {
                return;
            }
        }
    }

    /// Waits until, right after a `Synced`, the followed snapshot equals a fresh list.
    pub async fn until_matches(&mut self, what: &str, cfg: &EtcdConfig) {
        let (fresh, _) = load_snapshot(cfg, &self.node).await.expect("a fresh list");
        let want = contents(&fresh);
        self.until(what, Duration::from_secs(30), |f| {
            f.synced() && contents(&f.snapshot) == want
        })
        .await;
    }

    /// Whether the last update was a `Synced`.
    pub fn synced(&self) -> bool {
        self.seen.last().is_some_and(|s| s.starts_with("synced"))
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.seen.iter().filter(|s| s.starts_with(prefix)).count()
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.handle
            .await
            .expect("the follower ends cleanly when cancelled");
    }
}
