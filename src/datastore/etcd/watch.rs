//! Follow mode: list at one revision, then watch from the next, forever.
//!
//! Owns: the follow loop, the per-prefix revisions it has delivered, outage reporting (one
//! `Unavailable` and one log line per outage, one log line on recovery) and the reconnect
//! backoff (a failed connection is dropped and the next connect starts with the next
//! endpoint, so a dead or frozen member is left). Must not: build snapshots or decide what a change means; it only sends
//! [`Update`]s, and never half a list: a re-list is `Init`, `InitApply`…, `InitDone`.
//!
//! Two watches share one stream: the v3 resources root (filtered to the kinds perch reads) and
//! the affinity prefix of the node it is given (every node's for `perch run`: the route check
//! needs the blocks of the others). Each keeps its own resume revision, advanced only to revisions
//! whose events were all delivered: the highest event revision of a response, or the header
//! revision of a progress notification (etcd sends those to caught-up watchers only).

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, GetOptions, WatchOptions};
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::EtcdConfig;
use super::config::connect_from;
use super::list::MAX_MESSAGE;
use super::value;
use crate::datastore::Update;
use crate::resources::keys::RESOURCES_ROOT;
use crate::snapshot::Event;

/// First delay before reconnecting after a failure.
pub const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// The delay doubles per failure up to this (each delay is jittered by ±20%).
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts following etcd: a full list (`Init`, `InitApply`…, `InitDone`, `Synced`), then every
/// change (events, then `Synced`) until `cancel` fires or the receiver is dropped.
/// On failure it sends `Unavailable` once, reconnects with backoff and resumes the watch where
/// it stopped; if etcd compacted that revision, it lists again.
pub fn spawn(
    cfg: EtcdConfig,
    node: String,
    tx: Sender<Update>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut follower = Follower {
            endpoints: cfg.endpoints_text(),
            cfg,
            node,
            tx,
            client: None,
            endpoint: 0,
            revisions: None,
            outage: None,
            backoff: MIN_BACKOFF,
        };
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = follower.run() => {}
        }
    })
}

/// Why one connected attempt ended.
enum Stop {
    /// The receiver is gone: nothing left to do.
    Closed,
    /// The resume revision was compacted: list again now.
    Relist(String),
    /// etcd failed or is unreachable: back off, then resume.
    Failed(String),
}

struct Outage {
    reason: String,
    since: Instant,
}

struct Follower {
    cfg: EtcdConfig,
    endpoints: String,
    node: String,
    tx: Sender<Update>,
    client: Option<Client>,
    /// Index of the endpoint `client` is connected to; a reconnect starts with the next.
    endpoint: usize,
    /// Delivered revisions of the [resources, affinities] watches; None until listed.
    revisions: Option<[i64; 2]>,
    outage: Option<Outage>,
    backoff: Duration,
}

impl Follower {
    async fn run(&mut self) {
        loop {
            let (reason, wait) = match self.attempt().await {
                Stop::Closed => return,
                Stop::Relist(reason) => {
                    self.revisions = None;
                    (reason, false)
                }
                Stop::Failed(reason) => {
                    // Connect afresh, starting with the next endpoint: the one in use may be
                    // down, frozen or cut off from its cluster.
                    if self.client.take().is_some() {
                        self.endpoint += 1;
                    }
                    (reason, true)
                }
            };
            if !self.down(reason).await {
                return;
            }
            if wait {
                tokio::time::sleep(self.next_backoff()).await;
            }
        }
    }

    /// Connects if needed, lists if needed, then watches until something fails.
    async fn attempt(&mut self) -> Stop {
        let client = match &self.client {
            Some(c) => c.clone(),
            None => match connect_from(&self.cfg, self.endpoint).await {
                Ok((c, endpoint)) => {
                    self.client = Some(c.clone());
                    self.endpoint = endpoint;
                    c
                }
                Err(e) => return Stop::Failed(e.to_string()),
            },
        };
        if self.revisions.is_none() {
            let (events, revision) =
                match super::list::list(&client, &self.endpoints, &self.node).await {
                    Ok(listed) => listed,
                    Err(e) => return Stop::Failed(e.to_string()),
                };
            let count = events.len();
            let mut batch = Vec::with_capacity(count + 3);
            batch.push(Update::Event(Event::Init));
            batch.extend(
                events
                    .into_iter()
                    .map(|e| Update::Event(Event::InitApply(Box::new(e)))),
            );
            batch.push(Update::Event(Event::InitDone));
            batch.push(Update::Synced { revision });
            if !self.send_all(batch).await {
                return Stop::Closed;
            }
            self.revisions = Some([revision, revision]);
            tracing::debug!(revision, items = count, "etcd: listed");
            self.up(&format!("listed at revision {revision}"));
        } else if self.outage.is_some()
            && let Some(stop) = self.compacted_while_away(&client).await
        {
            return stop;
        }
        self.watch(&client).await
    }

    /// After an outage, checks whether etcd still has the revisions the watch would resume
    /// from, so a compaction is found before the outage is declared over (etcd reports it
    /// only after confirming the new watch).
    async fn compacted_while_away(&self, client: &Client) -> Option<Stop> {
        let revision = self.revisions?.into_iter().min()?;
        let probe = GetOptions::new()
            .with_prefix()
            .with_count_only()
            .with_revision(revision);
        match client.kv_client().get(RESOURCES_ROOT, Some(probe)).await {
            Ok(_) => None,
            Err(e) => Some(
                match super::config::EtcdError::from_client(&self.endpoints, "resuming", &e) {
                    super::config::EtcdError::Compacted { .. } => Stop::Relist(format!(
                        "etcd compacted revision {revision} while perch was away; listing again"
                    )),
                    other => Stop::Failed(other.to_string()),
                },
            ),
        }
    }

    async fn watch(&mut self, client: &Client) -> Stop {
        let Some(mut revisions) = self.revisions else {
            return Stop::Relist("nothing listed yet".into());
        };
        let endpoints = self.endpoints.clone();
        let failed = |what: &str, e: etcd_client::Error| {
            Stop::Failed(super::config::EtcdError::from_client(&endpoints, what, &e).to_string())
        };
        let options = |rev: i64| {
            WatchOptions::new()
                .with_prefix()
                .with_start_revision(rev + 1)
                .with_progress_notify()
        };
        let mut watcher = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
        let mut stream = match watcher
            .watch(RESOURCES_ROOT, Some(options(revisions[0])))
            .await
        {
            Ok(s) => s,
            Err(e) => return failed("watching", e),
        };
        let affinities = value::affinities_prefix(&self.node);
        if let Err(e) = stream
            .watch(affinities.as_str(), Some(options(revisions[1])))
            .await
        {
            return failed("watching", e);
        }
        // Watch ids in creation order: [resources, affinities].
        let mut ids: Vec<i64> = Vec::with_capacity(2);
        loop {
            let resp = match stream.message().await {
                Ok(Some(r)) => r,
                Ok(None) => return Stop::Failed("etcd closed the watch stream".into()),
                Err(e) => return failed("watching", e),
            };
            if resp.canceled() {
                if resp.compact_revision() > 0 {
                    return Stop::Relist(format!(
                        "etcd compacted past revision {} before the watch caught up (compacted at {}); listing again",
                        revisions[0].min(revisions[1]) + 1,
                        resp.compact_revision()
                    ));
                }
                let why = resp.cancel_reason();
                return Stop::Failed(format!(
                    "etcd canceled the watch: {}",
                    if why.is_empty() {
                        "no reason given"
                    } else {
                        why
                    }
                ));
            }
            if resp.created() {
                ids.push(resp.watch_id());
                if ids.len() == 2 {
                    self.backoff = MIN_BACKOFF;
                    if self.outage.is_some() {
                        let revision = revisions[0].max(revisions[1]);
                        if !self.send_all(vec![Update::Synced { revision }]).await {
                            return Stop::Closed;
                        }
                        self.up(&format!("watch resumed after revision {revision}"));
                    }
                }
                continue;
            }
            // Progress replies to on-demand requests (id -1) may run ahead of the events.
            let Some(slot) = ids.iter().position(|id| *id == resp.watch_id()) else {
                continue;
            };
            let mut batch = Vec::new();
            let mut delivered = resp.header().map_or(0, |h| h.revision());
            if !resp.events().is_empty() {
                delivered = 0;
            }
            for ev in resp.events() {
                let Some(kv) = ev.kv() else { continue };
                delivered = delivered.max(kv.mod_revision());
                let key = String::from_utf8_lossy(kv.key());
                let event = match ev.event_type() {
                    EventType::Put => {
                        value::put_event(&key, kv.value(), kv.mod_revision(), &self.node)
                    }
                    EventType::Delete => value::delete_event(&key, &self.node),
                };
                batch.extend(event.map(Update::Event));
            }
            let progress = resp.events().is_empty();
            revisions[slot] = revisions[slot].max(delivered);
            self.revisions = Some(revisions);
            if !batch.is_empty() || progress {
                // The newest revision delivered on either watch: the two prefixes are
                // disjoint, and each watch resumes from its own revision after an outage.
                batch.push(Update::Synced {
                    revision: revisions[0].max(revisions[1]),
                });
                if !self.send_all(batch).await {
                    return Stop::Closed;
                }
            }
        }
    }

    async fn send_all(&self, updates: Vec<Update>) -> bool {
        for u in updates {
            if self.tx.send(u).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Records a failure: the first of an outage is logged and sent as `Unavailable`.
    /// Returns false when the receiver is gone.
    async fn down(&mut self, reason: String) -> bool {
        if self.outage.is_some() {
            tracing::debug!("etcd still unavailable: {reason}");
            return true;
        }
        tracing::warn!("etcd unavailable: {reason}; retrying with backoff");
        self.outage = Some(Outage {
            reason: reason.clone(),
            since: Instant::now(),
        });
        self.tx
            .send(Update::Unavailable { message: reason })
            .await
            .is_ok()
    }

    /// Ends an outage, if any, with one log line.
    fn up(&mut self, how: &str) {
        if let Some(o) = self.outage.take() {
            tracing::info!(
                "etcd available again after {:.1}s ({}): {how}",
                o.since.elapsed().as_secs_f64(),
                o.reason
            );
        }
    }

    /// The next reconnect delay, jittered ±20%; doubles up to [`MAX_BACKOFF`].
    fn next_backoff(&mut self) -> Duration {
        let base = self.backoff;
        self.backoff = (base * 2).min(MAX_BACKOFF);
        let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
        let factor = 0.8 + (random % 1000) as f64 / 2500.0;
        base.mul_f64(factor)
    }
}
