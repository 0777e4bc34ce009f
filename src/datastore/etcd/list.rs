//! Listing every resource perch reads at one revision, in pages.

use etcd_client::{Client, GetOptions, KeyValue, KvClient};

use super::config::{EtcdConfig, EtcdError, connect};
use super::value;
use crate::snapshot::{Event, Snapshot};

/// Keys fetched per request when listing; every page is read at the same revision.
const PAGE_SIZE: i64 = 500;
/// The largest response accepted (etcd-client's default of 4 MiB is small for big clusters).
pub(super) const MAX_MESSAGE: usize = 64 << 20;
/// How many times a list is restarted when its revision is compacted while it runs.
const LIST_ATTEMPTS: usize = 3;

/// Reads every resource perch uses, and `node`'s block affinities, at one revision.
/// Values that do not decode become `Event::Undecodable` naming their key; they never stop
/// the others. Returns the snapshot and the revision it was read at.
pub async fn load_snapshot(cfg: &EtcdConfig, node: &str) -> Result<(Snapshot, i64), EtcdError> {
    let client = connect(cfg).await?;
    let (events, revision) = list(&client, &cfg.endpoints_text(), node).await?;
    let mut snapshot = Snapshot::new();
    for e in events {
        snapshot.apply(e);
    }
    Ok((snapshot, revision))
}

/// Lists every prefix of [`value::list_prefixes`] at one revision, as upsert/undecodable
/// events, restarting when that revision is compacted mid-list.
pub(crate) async fn list(
    client: &Client,
    endpoints: &str,
    node: &str,
) -> Result<(Vec<Event>, i64), EtcdError> {
    let mut attempt = 1;
    loop {
        match list_once(client, endpoints, node).await {
            Err(EtcdError::Compacted { .. }) if attempt < LIST_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

async fn list_once(
    client: &Client,
    endpoints: &str,
    node: &str,
) -> Result<(Vec<Event>, i64), EtcdError> {
    let mut kv = kv_client(client);
    let mut revision = 0;
    let mut events = Vec::new();
    for prefix in value::list_prefixes(node) {
        for item in get_prefix(&mut kv, endpoints, &prefix, &mut revision).await? {
            let key = String::from_utf8_lossy(item.key());
            if let Some(e) = value::put_event(&key, item.value(), item.mod_revision(), node) {
                events.push(e);
            }
        }
    }
    Ok((events, revision))
}

/// A KV client that accepts large responses.
pub(crate) fn kv_client(client: &Client) -> KvClient {
    client.kv_client().max_decoding_message_size(MAX_MESSAGE)
}

/// Every key under `prefix`, in pages, at `*revision` (0: the current revision, which is then
/// stored in `*revision` so later calls read the same one).
pub(crate) async fn get_prefix(
    kv: &mut KvClient,
    endpoints: &str,
    prefix: &str,
    revision: &mut i64,
) -> Result<Vec<KeyValue>, EtcdError> {
    let end = prefix_end(prefix.as_bytes());
    let mut from = prefix.as_bytes().to_vec();
    let mut out = Vec::new();
    loop {
        let mut opts = GetOptions::new()
            .with_range(end.clone())
            .with_limit(PAGE_SIZE);
        if *revision > 0 {
            opts = opts.with_revision(*revision);
        }
        let mut resp = kv
            .get(from.clone(), Some(opts))
            .await
            .map_err(|e| EtcdError::from_client(endpoints, &format!("listing {prefix}"), &e))?;
        if *revision == 0 {
            *revision = resp.header().map_or(0, |h| h.revision());
        }
        let more = resp.more();
        let page = resp.take_kvs();
        match page.last() {
            Some(last) if more => {
                from = last.key().to_vec();
                from.push(0);
            }
            _ => {
                out.extend(page);
                return Ok(out);
            }
        }
        out.extend(page);
    }
}

/// The end of the key range covering every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
