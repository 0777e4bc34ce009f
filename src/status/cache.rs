//! BIRD's view (status and protocols), fetched at most once per interval however many
//! readers ask: one fetch in flight at a time, everyone else waits for its result or gets
//! the cached one. No lock is held across an await.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::peers::utc_offset_from_server_time;
use crate::bird::Client;
use crate::bird::parse::{ProtocolDetails, Status};

/// One observation of BIRD.
#[derive(Debug, Clone)]
pub struct BirdView {
    pub fetched_at: SystemTime,
    /// The session greeting's version, when connected.
    pub version: Option<String>,
    pub status: Result<Status, String>,
    pub protocols: Result<Vec<ProtocolDetails>, String>,
    /// BIRD's local time offset from UTC (seconds), from its server time.
    pub utc_offset: i32,
}

impl BirdView {
    pub fn reachable(&self) -> bool {
        self.status.is_ok()
    }
}

/// Fetches BIRD's view over the control socket.
pub async fn fetch(socket: &PathBuf, timeout: Duration) -> BirdView {
    let now = SystemTime::now();
    let mut view = BirdView {
        fetched_at: now,
        version: None,
        status: Err(String::new()),
        protocols: Err(String::new()),
        utc_offset: 0,
    };
    let mut client = match Client::connect(socket, timeout).await {
        Ok(c) => c,
        Err(e) => {
            view.status = Err(e.to_string());
            view.protocols = Err(e.to_string());
            return view;
        }
    };
    client.set_command_timeout(timeout);
    view.version = Some(client.version().to_owned());
    view.status = client.show_status().await.map_err(|e| e.to_string());
    if let Ok(s) = &view.status
        && let Some(t) = &s.server_time
    {
        let unix = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        view.utc_offset = utc_offset_from_server_time(t, unix).unwrap_or(0);
    }
    view.protocols = client
        .show_protocols_all(None)
        .await
        .map_err(|e| e.to_string());
    view
}

struct Inner {
    last: Option<(Instant, Arc<BirdView>)>,
    inflight: Option<watch::Receiver<Option<Arc<BirdView>>>>,
    fetches: u64,
}

/// A single-flight cache of [`BirdView`].
pub struct BirdCache {
    socket: PathBuf,
    timeout: Duration,
    min_interval: Duration,
    inner: Mutex<Inner>,
}

impl BirdCache {
    pub fn new(socket: PathBuf, timeout: Duration, min_interval: Duration) -> Arc<BirdCache> {
        Arc::new(BirdCache {
            socket,
            timeout,
            min_interval,
            inner: Mutex::new(Inner {
                last: None,
                inflight: None,
                fetches: 0,
            }),
        })
    }

    /// How many times BIRD was actually asked.
    pub fn fetches(&self) -> u64 {
        self.inner.lock().map(|g| g.fetches).unwrap_or(0)
    }

    /// The cached view if younger than the interval, else a fresh one (shared with every
    /// concurrent caller).
    pub async fn get(self: &Arc<Self>) -> Arc<BirdView> {
        let mut rx = {
            let mut g = match self.inner.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Some((at, v)) = &g.last
                && at.elapsed() < self.min_interval
            {
                return v.clone();
            }
            match &g.inflight {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    g.inflight = Some(rx.clone());
                    g.fetches += 1;
                    let me = self.clone();
                    tokio::spawn(async move {
                        let view = Arc::new(fetch(&me.socket, me.timeout).await);
                        {
                            let mut g = match me.inner.lock() {
                                Ok(g) => g,
                                Err(p) => p.into_inner(),
                            };
                            g.last = Some((Instant::now(), view.clone()));
                            g.inflight = None;
                        }
                        let _ = tx.send(Some(view));
                    });
                    rx
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().expect("waited for Some"),
            Err(_) => Arc::new(BirdView {
                fetched_at: SystemTime::now(),
                version: None,
                status: Err("status fetch was interrupted".into()),
                protocols: Err("status fetch was interrupted".into()),
                utc_offset: 0,
            }),
        }
    }
}
