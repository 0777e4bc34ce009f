//! Writes `status` of this node's CalicoNodeStatus resources through the datastore: for each
//! resource whose `spec.node` is this node, every `updatePeriodSeconds` (0 = when the spec
//! changes), only when the status changed, compare-and-swap on the revision. What it writes
//! comes from the BIRD monitor's view; it asks the monitor for routes while a resource wants
//! them. The file datastore cannot store it: said once, then nothing is tried again.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::nodestatus::{Observation, due, node_status, without_timestamp};
use crate::datastore::etcd::Store;
use crate::datastore::source::{Source, StatusStoreError};
use crate::metrics::Metrics;
use crate::resources::{Kind, ResourceId};
use crate::time::rfc3339;
use crate::views::{BirdView, Views};

struct Written {
    at: i64,
    spec: Value,
    status: Value,
}

/// What the CalicoNodeStatus resources are filled from: the BIRD monitor's latest view.
fn observe(view: &BirdView) -> Observation {
    Observation {
        status: view.status.as_ref().ok().cloned(),
        protocols: view.protocols.clone().unwrap_or_default(),
        routes: view.routes.clone().unwrap_or_default(),
        utc_offset: view.utc_offset,
    }
}

/// Runs until `cancel`.
pub(crate) async fn run(
    source: Source,
    views: Views,
    routes_wanted: watch::Sender<bool>,
    metrics: std::sync::Arc<Metrics>,
    cancel: CancellationToken,
) {
    let node = views.node.clone();
    let mut store: Option<Store> = None;
    let mut written: HashMap<String, Written> = HashMap::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let (snapshot, plan) = {
            let s = views.reconcile.borrow();
            (s.snapshot.clone(), s.plan.clone())
        };
        let Some(snapshot) = snapshot else { continue };
        let mine: Vec<_> = snapshot
            .node_statuses
            .values()
            .filter(|c| c.spec.node == node)
            .cloned()
            .collect();
        written.retain(|name, _| mine.iter().any(|c| &c.metadata.name == name));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let todo: Vec<_> = mine
            .into_iter()
            .filter(|c| {
                let spec = serde_json::to_value(&c.spec).unwrap_or_default();
                let last = written.get(&c.metadata.name);
                let period = c.spec.update_period_seconds.unwrap_or(0);
                due(
                    period,
                    last.map(|w| w.at),
                    last.is_some_and(|w| w.spec != spec),
                    now,
                )
            })
            .collect();
        if todo.is_empty() {
            continue;
        }
        let routes = todo
            .iter()
            .any(|c| c.spec.classes.iter().any(|x| x == "Routes"));
        routes_wanted.send_if_modified(|w| std::mem::replace(w, routes) != routes);
        if routes && views.bird.borrow().routes.is_none() {
            // The monitor reads routes from its next view on.
            continue;
        }
        let obs = observe(&views.bird.borrow());
        if store.is_none() {
            match source.status_writer().await {
                Ok(s) => store = Some(s),
                Err(e @ StatusStoreError::NotSupported(_)) => {
                    info!("{e}");
                    return;
                }
                Err(e) => {
                    warn!("CalicoNodeStatus: {e}; will retry");
                    continue;
                }
            }
        }
        let Some(st) = store.as_mut() else { continue };
        for c in todo {
            let name = c.metadata.name.clone();
            metrics.node_status_checks.inc();
            let status = node_status(&c.spec.classes, &obs, plan.as_deref());
            let spec = serde_json::to_value(&c.spec).unwrap_or_default();
            let unchanged_since_last = written.get(&name).is_some_and(|w| w.status == status);
            let stored_same = c
                .status
                .as_ref()
                .is_some_and(|s| without_timestamp(s) == status);
            if unchanged_since_last || stored_same {
                written.insert(
                    name,
                    Written {
                        at: now,
                        spec,
                        status,
                    },
                );
                continue;
            }
            let mut with_time = status.clone();
            with_time["lastUpdated"] = json!(rfc3339(SystemTime::now()));
            let id = ResourceId::new(Kind::CalicoNodeStatus, &name);
            let result = st
                .modify(&id, |current| {
                    let Some(current) = current else {
                        return Ok(None);
                    };
                    if current
                        .get("status")
                        .is_some_and(|s| without_timestamp(s) == status)
                    {
                        return Ok(None);
                    }
                    let mut next = current.clone();
                    next["status"] = with_time.clone();
                    Ok(Some(next))
                })
                .await;
            match result {
                Ok(_) => {
                    metrics.node_status_writes.inc();
                    debug!(resource = %name, "CalicoNodeStatus status written");
                    written.insert(
                        name,
                        Written {
                            at: now,
                            spec,
                            status,
                        },
                    );
                }
                Err(e) => {
                    info!("CalicoNodeStatus {name:?}: {e}");
                    if e.is_transient() {
                        store = None;
                        break;
                    }
                }
            }
        }
    }
}
