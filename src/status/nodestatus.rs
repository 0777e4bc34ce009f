//! CalicoNodeStatus `status`, in Calico's schema, from one BIRD observation (pure), and
//! whether a resource is due for an update.

use serde_json::{Value, json};

use super::peers::{calico_state, since_rfc3339, type_from_name};
use crate::bird::parse::{ProtocolDetails, RouteEntry, Status};
use crate::plan::{PeerType, Plan};

/// What one observation of BIRD gives the writer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observation {
    pub status: Option<Status>,
    pub protocols: Vec<ProtocolDetails>,
    pub routes: Vec<RouteEntry>,
    pub utc_offset: i32,
}

/// `status` for the requested classes (`Agent`, `BGP`, `Routes`), without `lastUpdated`.
pub(crate) fn node_status(classes: &[String], obs: &Observation, plan: Option<&Plan>) -> Value {
    let mut out = serde_json::Map::new();
    let has = |c: &str| classes.iter().any(|x| x == c);
    if has("Agent") {
        let agent = match &obs.status {
            Some(s) => json!({
                "state": "Ready",
                "version": s.version.clone().unwrap_or_default(),
                "routerID": s.router_id.clone().unwrap_or_default(),
                "lastBootTime": s.last_reboot.as_deref().and_then(|t| since_rfc3339(t, obs.utc_offset)).unwrap_or_default(),
                "lastReconfigurationTime": s.last_reconfiguration.as_deref().and_then(|t| since_rfc3339(t, obs.utc_offset)).unwrap_or_default(),
            }),
            None => json!({"state": "NotReady"}),
        };
        // One BIRD 2 serves both families.
        out.insert("agent".into(), json!({"birdV4": agent, "birdV6": agent}));
    }
    if has("BGP") {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let (mut up4, mut down4, mut up6, mut down6) = (0, 0, 0, 0);
        for p in obs.protocols.iter().filter(|p| p.row.proto == "BGP") {
            let Some(t) = type_from_name(&p.row.name) else {
                continue;
            };
            let addr = p
                .bgp
                .as_ref()
                .and_then(|b| b.neighbor_address.clone())
                .unwrap_or_default();
            let addr = addr.split('%').next().unwrap_or("").to_owned();
            let bgp_state = p
                .bgp
                .as_ref()
                .and_then(|b| b.state.clone())
                .or_else(|| p.row.bgp_state.clone())
                .unwrap_or_default();
            let established = p.row.state == "up";
            let entry = json!({
                "peerIP": addr,
                "type": PeerType::name(t),
                "state": calico_state(&bgp_state),
                "since": since_rfc3339(&p.row.since, obs.utc_offset).unwrap_or_else(|| p.row.since.clone()),
            });
            if addr.contains(':') {
                if established {
                    up6 += 1
                } else {
                    down6 += 1
                }
                v6.push(entry);
            } else {
                if established {
                    up4 += 1
                } else {
                    down4 += 1
                }
                v4.push(entry);
            }
        }
        out.insert(
            "bgp".into(),
            json!({
                "numberEstablishedV4": up4,
                "numberNotEstablishedV4": down4,
                "numberEstablishedV6": up6,
                "numberNotEstablishedV6": down6,
                "peersV4": v4,
                "peersV6": v6,
            }),
        );
    }
    if has("Routes") {
        let peer_ip = |proto: &str| -> String {
            plan.and_then(|p| p.peers.iter().find(|x| x.name == proto))
                .map(|x| x.peer_ip.to_string())
                .unwrap_or_default()
        };
        let (mut r4, mut r6) = (Vec::new(), Vec::new());
        for r in &obs.routes {
            let source = if r.protocol.starts_with("kernel") {
                "Kernel"
            } else if r.protocol.starts_with("static") {
                "Static"
            } else if r.protocol.starts_with("direct") {
                "Direct"
            } else if r.protocol.starts_with("Mesh_") {
                "NodeMesh"
            } else {
                "BGPPeer"
            };
            let mut learned = json!({"sourceType": source});
            if matches!(source, "NodeMesh" | "BGPPeer") {
                learned["peerIP"] = json!(peer_ip(&r.protocol));
            }
            let entry = json!({
                "type": if r.primary { "FIB" } else { "RIB" },
                "destination": r.network,
                "gateway": r.gateway.clone().unwrap_or_else(|| if r.kind == "unicast" { "N/A".into() } else { r.kind.clone() }),
                "interface": r.interface.clone().unwrap_or_default(),
                "learnedFrom": learned,
            });
            if r.network.contains(':') {
                r6.push(entry)
            } else {
                r4.push(entry)
            }
        }
        out.insert("routes".into(), json!({"routesV4": r4, "routesV6": r6}));
    }
    Value::Object(out)
}

/// Whether a status should be written now: never written, the spec changed since, or the
/// period elapsed (0 = only on spec changes).
pub(crate) fn due(
    period_seconds: i64,
    last_written_unix: Option<i64>,
    spec_changed: bool,
    now_unix: i64,
) -> bool {
    match last_written_unix {
        None => true,
        Some(_) if spec_changed => true,
        Some(_) if period_seconds <= 0 => false,
        Some(t) => now_unix - t >= period_seconds,
    }
}

/// `status` without `lastUpdated`, for comparing.
pub(crate) fn without_timestamp(status: &Value) -> Value {
    let mut s = status.clone();
    if let Value::Object(m) = &mut s {
        m.remove("lastUpdated");
    }
    s
}
