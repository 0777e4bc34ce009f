//! The `/status` document and the Prometheus text of per-protocol metrics, assembled at read
//! time from the daemon's published views. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::peers::{Drift, PeerStatus, peer_statuses, since_rfc3339};
use crate::routes::{RouteReport, Verdict};
use crate::views::{
    ApplyRecord, BirdView, DatastoreView, ReconcileView, RoutesView, TemplatesView, Views,
    bird_incompatible,
};

/// The latest of every view, read at once.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub node: String,
    pub started_at: String,
    pub datastore: DatastoreView,
    pub reconcile: ReconcileView,
    pub templates: TemplatesView,
    pub bird: std::sync::Arc<BirdView>,
    pub routes: std::sync::Arc<RoutesView>,
}

impl Current {
    /// Reads the latest of each view.
    pub(crate) fn read(views: &Views) -> Current {
        Current {
            node: views.node.clone(),
            started_at: views.started_at.clone(),
            datastore: views.datastore.borrow().clone(),
            reconcile: views.reconcile.borrow().clone(),
            templates: views.templates.borrow().clone(),
            bird: views.bird.borrow().clone(),
            routes: views.routes.borrow().clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BirdSummary {
    pub reachable: bool,
    pub version: Option<String>,
    #[serde(rename = "routerID")]
    pub router_id: Option<String>,
    /// When BIRD started (RFC 3339).
    pub up_since: Option<String>,
    pub last_reconfiguration: Option<String>,
    pub graceful_restart_in_progress: bool,
    pub error: Option<String>,
    /// Why this BIRD cannot run the planned config (IPIP pools need `onlink`, BIRD ≥ 2.0.12).
    pub incompatible: Option<String>,
    /// BIRD restarts noticed since perch started (a new process behind the socket).
    pub restarts_seen: u64,
    pub observed_at: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeerSummary {
    pub planned: usize,
    pub established: usize,
    pub not_established: usize,
}

/// The last route check, counted (`/routes` has every prefix).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoutesSummary {
    /// Verdict → prefixes: `ok`, `missingInBird`, `wrongNextHop`, `missingInKernel`,
    /// `unexpected` (zeros included).
    #[serde(flatten)]
    pub counts: BTreeMap<Verdict, usize>,
    /// RFC 3339.
    pub checked_at: Option<String>,
    pub check_seconds: f64,
    pub kernel_checked: bool,
    /// Why the kernel's table was not compared (as in `/routes`); None when it was.
    pub kernel_note: Option<String>,
    /// Why the last check failed (the counts are from the one before).
    pub error: Option<String>,
    /// Blocks the check ignored (an affinity left by a deleted node; `/routes` lists them).
    pub ignored: usize,
    /// When the check had no prefix to judge: that, and why (e.g. no IP pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `/status` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusDocument {
    pub node: String,
    pub ready: bool,
    pub started_at: String,
    pub datastore: DatastoreView,
    pub last_apply: Option<ApplyRecord>,
    pub last_success: Option<ApplyRecord>,
    pub applies: u64,
    pub reconfigures: u64,
    pub templates: String,
    pub templates_error: Option<String>,
    pub bird: BirdSummary,
    pub summary: PeerSummary,
    pub peers: Vec<PeerStatus>,
    pub drift: Drift,
    /// None until the first route check (no plan yet).
    pub routes: Option<RoutesSummary>,
    /// The first [`PAGE_ROUTE_PROBLEMS`] prefixes whose verdict is not `ok` (for the page).
    #[serde(skip)]
    pub route_problems: Vec<RouteReport>,
    /// How many prefixes are not `ok` in all.
    #[serde(skip)]
    pub route_problems_total: usize,
}

/// The most prefixes that are not `ok` the page lists (`/routes` has them all): a node whose
/// sessions are all down can miss every block of the cluster.
pub(crate) const PAGE_ROUTE_PROBLEMS: usize = 100;

/// The `/status` summary of a route check.
pub(crate) fn routes_summary(view: &RoutesView) -> Option<RoutesSummary> {
    let check = view.check.as_ref();
    if check.is_none() && view.error.is_none() {
        return None;
    }
    let mut counts: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
    if let Some(c) = check {
        counts.extend(c.counts.iter().map(|(v, n)| (*v, *n)));
    }
    Some(RoutesSummary {
        counts,
        checked_at: view.checked_at.map(crate::time::rfc3339),
        check_seconds: view.seconds,
        kernel_checked: check.is_some_and(|c| c.kernel_checked),
        kernel_note: check.and_then(|c| c.kernel_note.clone()),
        error: view.error.clone(),
        ignored: check.map_or(0, |c| c.ignored.len()),
        note: check.and_then(|c| c.note.clone()),
    })
}

/// Builds the document.
pub(crate) fn status_document(current: &Current) -> StatusDocument {
    let state = &current.reconcile;
    let view = current.bird.as_ref();
    let protocols = view.protocols.as_deref().unwrap_or(&[]);
    let (peers, drift) = match &view.protocols {
        Ok(_) => peer_statuses(state.plan.as_deref(), protocols, view.utc_offset),
        // BIRD unreachable: report the plan, without inventing drift.
        Err(_) => {
            let (mut p, _) = peer_statuses(state.plan.as_deref(), &[], view.utc_offset);
            for s in &mut p {
                s.state = "unknown".into();
                s.bgp_state = "Unknown".into();
            }
            (p, Drift::default())
        }
    };
    let planned: Vec<&PeerStatus> = peers.iter().filter(|p| p.planned).collect();
    let summary = PeerSummary {
        planned: planned.len(),
        established: planned.iter().filter(|p| p.established).count(),
        not_established: planned.iter().filter(|p| !p.established).count(),
    };
    let status = view.status.as_ref().ok();
    let bird = BirdSummary {
        reachable: view.reachable(),
        version: status
            .and_then(|s| s.version.clone())
            .or_else(|| view.version.clone()),
        router_id: status.and_then(|s| s.router_id.clone()),
        up_since: status
            .and_then(|s| s.last_reboot.as_deref())
            .and_then(|t| since_rfc3339(t, view.utc_offset)),
        last_reconfiguration: status
            .and_then(|s| s.last_reconfiguration.as_deref())
            .and_then(|t| since_rfc3339(t, view.utc_offset)),
        graceful_restart_in_progress: status.is_some_and(|s| s.graceful_restart_in_progress),
        error: view.status.as_ref().err().map(ToString::to_string),
        incompatible: bird_incompatible(state.plan.as_deref(), view),
        restarts_seen: view.restarts_seen,
        observed_at: crate::time::rfc3339(view.fetched_at),
    };
    StatusDocument {
        node: current.node.clone(),
        ready: state.ready,
        started_at: current.started_at.clone(),
        datastore: current.datastore.clone(),
        last_apply: state.last_apply.clone(),
        last_success: state.last_success.clone(),
        applies: state.applies,
        reconfigures: state.reconfigures,
        templates: current.templates.source.clone(),
        templates_error: current.templates.error.clone(),
        bird,
        summary,
        peers,
        drift,
        routes: routes_summary(&current.routes),
        route_problems: current
            .routes
            .check
            .iter()
            .flat_map(|c| c.problems().take(PAGE_ROUTE_PROBLEMS).cloned())
            .collect(),
        route_problems_total: current
            .routes
            .check
            .as_ref()
            .map_or(0, |c| c.problems().count()),
    }
}

/// `perch_routes{verdict}`, `perch_route_check_seconds` and `perch_route_checks_total`, from the last route check.
pub(crate) fn route_metrics(view: &RoutesView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP perch_route_checks Route checks run (at most one per status interval)."
    );
    let _ = writeln!(out, "# TYPE perch_route_checks counter");
    let _ = writeln!(out, "perch_route_checks_total {}", view.checks);
    let Some(summary) = routes_summary(view) else {
        return out;
    };
    let _ = writeln!(
        out,
        "# HELP perch_routes Prefixes of the last route check, by verdict."
    );
    let _ = writeln!(out, "# TYPE perch_routes gauge");
    for (v, n) in &summary.counts {
        let _ = writeln!(out, "perch_routes{{verdict=\"{}\"}} {n}", v.label());
    }
    let _ = writeln!(
        out,
        "# HELP perch_route_check_seconds Duration of the last route check (expected routes, BIRD's reply, kernel table, verdicts)."
    );
    let _ = writeln!(out, "# TYPE perch_route_check_seconds gauge");
    let _ = writeln!(out, "perch_route_check_seconds {}", summary.check_seconds);
    let _ = writeln!(
        out,
        "# HELP perch_route_check_failed Whether the last route check failed (BIRD gone, a query refused): perch_routes is then from the check before."
    );
    let _ = writeln!(out, "# TYPE perch_route_check_failed gauge");
    let _ = writeln!(
        out,
        "perch_route_check_failed {}",
        u8::from(summary.error.is_some())
    );
    out
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Per-protocol BIRD metrics, named as bird_exporter names them, plus `perch_peers`.
pub(crate) fn bird_metrics(doc: &StatusDocument, view: &BirdView, now_unix: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP bird_socket_query_success Whether the last query of BIRD's control socket succeeded."
    );
    let _ = writeln!(out, "# TYPE bird_socket_query_success gauge");
    let _ = writeln!(
        out,
        "bird_socket_query_success {}",
        u8::from(view.reachable())
    );
    if let Ok(protocols) = &view.protocols {
        type Series = Vec<(String, u64)>;
        let mut up: Series = Vec::new();
        let mut counts: BTreeMap<&str, Series> = BTreeMap::new();
        let mut uptime: Series = Vec::new();
        for p in protocols {
            for c in p
                .channels
                .iter()
                .filter(|c| !c.name.is_empty() || p.channels.len() == 1)
            {
                let ip_version = match c.name.as_str() {
                    "ipv4" => "4",
                    "ipv6" => "6",
                    _ => "",
                };
                let base = format!(
                    "name=\"{}\",proto=\"{}\",ip_version=\"{}\",import_filter=\"{}\",export_filter=\"{}\"",
                    label(&p.row.name),
                    label(&p.row.proto),
                    ip_version,
                    label(c.input_filter.as_deref().unwrap_or("")),
                    label(c.output_filter.as_deref().unwrap_or("")),
                );
                let state = p
                    .bgp
                    .as_ref()
                    .and_then(|b| b.state.clone())
                    .unwrap_or_else(|| p.row.info.trim().to_owned());
                up.push((
                    format!("{base},state=\"{}\"", label(&state)),
                    u64::from(p.row.state == "up"),
                ));
                if let Some(r) = &c.routes {
                    for (metric, v) in [
                        ("import", r.imported),
                        ("export", r.exported),
                        ("filter", r.filtered),
                        ("preferred", r.preferred),
                    ] {
                        counts.entry(metric).or_default().push((base.clone(), v));
                    }
                }
                let since = since_rfc3339(&p.row.since, view.utc_offset)
                    .and_then(|_| crate::bird::parse::parse_bird_time(&p.row.since))
                    .and_then(|t| t.to_unix_seconds(view.utc_offset));
                if let Some(s) = since.filter(|_| p.row.state == "up") {
                    uptime.push((base, (now_unix - s).max(0) as u64));
                }
            }
        }
        let series = |out: &mut String, name: &str, help: &str, rows: &Series| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        };
        series(
            &mut out,
            "bird_protocol_up",
            "Whether the protocol is up (state label: BGP state).",
            &up,
        );
        for (metric, help) in [
            ("import", "Routes imported"),
            ("export", "Routes exported"),
            ("filter", "Routes filtered on import"),
            ("preferred", "Imported routes that are preferred"),
        ] {
            let rows = counts.get(metric).cloned().unwrap_or_default();
            series(
                &mut out,
                &format!("bird_protocol_prefix_{metric}_count"),
                help,
                &rows,
            );
        }
        series(
            &mut out,
            "bird_protocol_uptime",
            "Seconds since the protocol came up.",
            &uptime,
        );
    }
    let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
    for p in doc.peers.iter().filter(|p| p.planned) {
        let t = p
            .peer_type
            .map_or("unknown".to_owned(), |t| t.name().to_owned());
        *by.entry((t, p.bgp_state.clone())).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "# HELP perch_peers Planned BGP sessions by type and BGP state."
    );
    let _ = writeln!(out, "# TYPE perch_peers gauge");
    for ((t, s), n) in by {
        let _ = writeln!(
            out,
            "perch_peers{{type=\"{}\",state=\"{}\"}} {n}",
            label(&t),
            label(&s)
        );
    }
    let _ = writeln!(
        out,
        "# HELP perch_ready Whether perch is ready (first sync applied and accepted by BIRD)."
    );
    let _ = writeln!(out, "# TYPE perch_ready gauge");
    let _ = writeln!(out, "perch_ready {}", u8::from(doc.ready));
    let _ = writeln!(
        out,
        "# HELP perch_drift Differences between the plan and BIRD, by kind."
    );
    let _ = writeln!(out, "# TYPE perch_drift gauge");
    for (kind, n) in [
        ("missing_from_bird", doc.drift.missing_from_bird.len()),
        ("not_in_plan", doc.drift.not_in_plan.len()),
        ("down_in_bird", doc.drift.down_in_bird.len()),
        ("mismatched", doc.drift.mismatched.len()),
    ] {
        let _ = writeln!(out, "perch_drift{{kind=\"{kind}\"}} {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::routes::{Cause, CauseKind, RouteCheck, RouteReport};

    fn report(prefix: &str, verdict: Verdict) -> RouteReport {
        RouteReport {
            prefix: prefix.parse().unwrap(),
            verdict,
            source: "remote",
            owner: Some("node-2".into()),
            cause: (verdict != Verdict::Ok).then(|| Cause {
                kind: CauseKind::NoEstablishedSession,
                sessions: vec!["Mesh_10_0_0_2".into()],
                message: "no Established session".into(),
            }),
            expected: None,
            paths: vec![],
            bird: vec![],
            kernel: vec![],
        }
    }

    #[test]
    fn route_counts_and_metrics_come_from_the_last_check() {
        assert!(routes_summary(&RoutesView::default()).is_none());
        let metrics = route_metrics(&RoutesView::default());
        assert!(
            metrics.contains("perch_route_checks_total 0\n"),
            "{metrics}"
        );
        assert!(!metrics.contains("perch_routes{"), "no check, no counts");

        let check = RouteCheck {
            node: "node-1".into(),
            counts: [(Verdict::Ok, 2), (Verdict::MissingInBird, 1)].into(),
            kernel_checked: true,
            kernel_note: None,
            router_sessions: Vec::new(),
            ignored: Vec::new(),
            note: None,
            routes: vec![
                report("10.0.1.0/26", Verdict::Ok),
                report("10.0.2.0/26", Verdict::MissingInBird),
                report("10.0.3.0/26", Verdict::Ok),
            ],
        };
        let view = RoutesView {
            check: Some(Arc::new(check)),
            checked_at: Some(std::time::UNIX_EPOCH),
            seconds: 0.25,
            checks: 4,
            error: None,
        };
        let summary = serde_json::to_value(routes_summary(&view).unwrap()).unwrap();
        assert_eq!(
            summary,
            serde_json::json!({
                "ok": 2, "missingInBird": 1, "wrongNextHop": 0, "missingInKernel": 0,
                "unexpected": 0, "checkedAt": "1970-01-01T00:00:00Z", "checkSeconds": 0.25,
                "kernelChecked": true, "kernelNote": null, "error": null, "ignored": 0
            })
        );
        let metrics = route_metrics(&view);
        for line in [
            "perch_routes{verdict=\"ok\"} 2\n",
            "perch_routes{verdict=\"missingInBird\"} 1\n",
            "perch_routes{verdict=\"unexpected\"} 0\n",
            "perch_route_check_seconds 0.25\n",
            "perch_route_check_failed 0\n",
            "perch_route_checks_total 4\n",
        ] {
            assert!(metrics.contains(line), "{line} in {metrics}");
        }
    }
}
