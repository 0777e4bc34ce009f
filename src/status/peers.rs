//! Planned sessions joined with what BIRD reports: per-peer state, and drift between the two.
//! Pure: BIRD's replies, the plan and BIRD's UTC offset come in as values.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::bird::parse::{BirdTime, ProtocolDetails, parse_bird_time};
use crate::plan::{Peer, PeerType, Plan};

/// Routes of one session (summed over its channels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Routes {
    /// Routes received from the peer and accepted.
    pub imported: u64,
    /// Routes received from the peer and rejected by the import filter.
    pub filtered: u64,
    /// Routes sent to the peer.
    pub exported: u64,
    /// Imported routes that are the best for their prefix.
    pub preferred: u64,
}

/// One BGP session: planned, running in BIRD, or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    /// The session's BIRD protocol name.
    pub name: String,
    /// `NodeMesh`, `GlobalPeer`, `NodePeer`, or None for a BIRD protocol perch did not plan.
    #[serde(rename = "type")]
    pub peer_type: Option<PeerType>,
    /// `node-to-node mesh`, `global`, `node specific`, or `unknown`.
    pub type_description: String,
    /// The peer's address, from the plan (or from BIRD for a session perch did not plan); empty
    /// when unknown.
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    /// The peer's port; `None` means 179 or unknown.
    pub port: Option<u16>,
    /// The peer's AS number; `None` when unknown.
    pub as_number: Option<u32>,
    /// BIRD's protocol state (`up`, `start`, `stop`, `down`, `flush`), or `missing`.
    pub state: String,
    /// BIRD's BGP state (`Established`, `Active`, …), `Down`, or `NotInBird`.
    pub bgp_state: String,
    /// Whether the BGP session is established.
    pub established: bool,
    /// When the state last changed (RFC 3339), and as BIRD printed it.
    pub since: Option<String>,
    /// `since` as BIRD printed it, in BIRD's time zone; `None` when BIRD does not have the session.
    pub since_raw: Option<String>,
    /// BIRD's last error on the session; `None` when there is none.
    pub last_error: Option<String>,
    /// Route counts; `None` when BIRD reports none (session not in BIRD, or down).
    pub routes: Option<Routes>,
    /// What produced the session in the plan (`BGPPeer/<name>`, `node-to-node mesh`); empty when
    /// not planned.
    pub origin: Vec<String>,
    /// Whether the plan has the session.
    pub planned: bool,
    /// Whether BIRD has the session.
    pub in_bird: bool,
}

/// Differences between the plan and BIRD.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Planned sessions BIRD does not have (an apply failed or is pending).
    pub missing_from_bird: Vec<String>,
    /// BGP protocols BIRD runs that the plan does not have.
    pub not_in_plan: Vec<String>,
    /// Planned sessions BIRD has `down` (disabled by hand, or shut down after an error).
    pub down_in_bird: Vec<String>,
    /// Planned sessions whose neighbor address or AS in BIRD differ from the plan.
    pub mismatched: Vec<String>,
}

impl Drift {
    /// Whether the plan and BIRD agree.
    pub fn is_empty(&self) -> bool {
        self.missing_from_bird.is_empty()
            && self.not_in_plan.is_empty()
            && self.down_in_bird.is_empty()
            && self.mismatched.is_empty()
    }
}

/// The peer type a protocol name announces (`Mesh_`, `Global_`, `Node_`).
pub fn type_from_name(name: &str) -> Option<PeerType> {
    if name.starts_with("Mesh_") {
        Some(PeerType::NodeMesh)
    } else if name.starts_with("Global_") {
        Some(PeerType::GlobalPeer)
    } else if name.starts_with("Node_") {
        Some(PeerType::NodePeer)
    } else {
        None
    }
}

/// Routes summed over a protocol's channels.
pub fn routes_of(p: &ProtocolDetails) -> Option<Routes> {
    let mut total: Option<Routes> = None;
    for c in &p.channels {
        if let Some(r) = &c.routes {
            let t = total.get_or_insert_with(Routes::default);
            t.imported += r.imported;
            t.filtered += r.filtered;
            t.exported += r.exported;
            t.preferred += r.preferred;
        }
    }
    total
}

/// `since` as RFC 3339, given BIRD's offset from UTC.
pub fn since_rfc3339(since: &str, utc_offset_secs: i32) -> Option<String> {
    match parse_bird_time(since)? {
        t @ (BirdTime::DateTime(_) | BirdTime::Epoch(_)) => t.to_rfc3339(utc_offset_secs),
        _ => None,
    }
}

/// Joins the plan and BIRD's `show protocols all` (BGP protocols only).
pub fn peer_statuses(
    plan: Option<&Plan>,
    bird: &[ProtocolDetails],
    utc_offset_secs: i32,
) -> (Vec<PeerStatus>, Drift) {
    let bgp: BTreeMap<&str, &ProtocolDetails> = bird
        .iter()
        .filter(|p| p.row.proto == "BGP")
        .map(|p| (p.row.name.as_str(), p))
        .collect();
    let planned: BTreeMap<&str, &Peer> = plan
        .map(|p| p.peers.iter().map(|x| (x.name.as_str(), x)).collect())
        .unwrap_or_default();
    let mut drift = Drift::default();
    let mut out = Vec::new();
    let names: BTreeSet<&str> = bgp.keys().chain(planned.keys()).copied().collect();
    for name in names {
        let p = planned.get(name).copied();
        let b = bgp.get(name).copied();
        let peer_type = p.map(|x| x.peer_type).or_else(|| type_from_name(name));
        let mut s = PeerStatus {
            name: name.to_owned(),
            peer_type,
            type_description: peer_type.map_or("unknown", PeerType::describe).to_owned(),
            peer_ip: p.map(|x| x.peer_ip.to_string()).unwrap_or_default(),
            port: p.and_then(|x| x.port),
            as_number: p.map(|x| x.as_number.get()),
            state: "missing".into(),
            bgp_state: "NotInBird".into(),
            established: false,
            since: None,
            since_raw: None,
            last_error: None,
            routes: None,
            origin: p.map(|x| x.origin.clone()).unwrap_or_default(),
            planned: p.is_some(),
            in_bird: b.is_some(),
        };
        match b {
            None => drift.missing_from_bird.push(name.to_owned()),
            Some(b) => {
                let details = b.bgp.as_ref();
                s.state = b.row.state.clone();
                s.bgp_state = details
                    .and_then(|d| d.state.clone())
                    .or_else(|| b.row.bgp_state.clone())
                    .unwrap_or_else(|| "Down".into());
                s.established = crate::views::is_established(b);
                s.since_raw = Some(b.row.since.clone());
                s.since = since_rfc3339(&b.row.since, utc_offset_secs);
                s.last_error = details
                    .and_then(|d| d.last_error.clone())
                    .or_else(|| b.row.last_error.clone())
                    .filter(|e| !e.is_empty());
                s.routes = routes_of(b);
                let bird_ip = details.and_then(|d| d.neighbor_address.clone());
                let bird_as = details.and_then(|d| d.neighbor_as);
                if s.peer_ip.is_empty() {
                    s.peer_ip = bird_ip.clone().unwrap_or_default();
                    s.as_number = bird_as;
                    s.port = details.and_then(|d| d.neighbor_port);
                }
                match p {
                    None => drift.not_in_plan.push(name.to_owned()),
                    Some(p) => {
                        if matches!(b.row.state.as_str(), "down" | "flush") {
                            drift.down_in_bird.push(name.to_owned());
                        }
                        let ip_differs = bird_ip
                            .as_deref()
                            .is_some_and(|ip| ip != p.peer_ip.to_string());
                        let as_differs = bird_as.is_some_and(|a| a != p.as_number.get());
                        if ip_differs || as_differs {
                            drift.mismatched.push(format!(
                                "{name}: BIRD has neighbor {} AS {}, the plan {} AS {}",
                                bird_ip.as_deref().unwrap_or("?"),
                                bird_as.map_or("?".into(), |a| a.to_string()),
                                p.peer_ip,
                                p.as_number
                            ));
                        }
                    }
                }
            }
        }
        out.push(s);
    }
    (out, drift)
}

/// BIRD's offset from UTC, from its `Current server time` (local time) and the real UTC
/// time, rounded to 15 minutes.
pub fn utc_offset_from_server_time(server_time: &str, now_unix: i64) -> Option<i32> {
    let BirdTime::DateTime(t) = parse_bird_time(server_time)? else {
        return None;
    };
    let local_as_utc = t.to_unix_seconds(0);
    let quarter = 15 * 60;
    let offset = ((local_as_utc - now_unix) as f64 / quarter as f64).round() as i64 * quarter;
    i32::try_from(offset)
        .ok()
        .filter(|o| o.unsigned_abs() < 86_400)
}

/// CalicoNodeStatus peer states (RFC 4271 names) from BIRD's.
pub fn calico_state(bgp_state: &str) -> &'static str {
    match bgp_state {
        "Connect" => "Connect",
        "Active" => "Active",
        "OpenSent" => "OpenSent",
        "OpenConfirm" => "OpenConfirm",
        "Established" => "Established",
        "Close" => "Close",
        _ => "Idle",
    }
}
