//! The HTTP endpoint of `perch run`: `/status`, `/plan`, `/metrics`, `/livez`, `/readyz`, `/`.
//! Every answer is assembled from the daemon's published views ([`crate::views`]); BIRD is
//! never asked here (the BIRD monitor reads it at most once per status interval, however many
//! requests arrive).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::document::{Current, bird_metrics, status_document};
use super::page::render_page;
use super::peers::type_from_name;
use crate::metrics::Metrics;
use crate::views::{Views, bird_incompatible, is_established};

/// How `/readyz` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Ready once the first full datastore sync is applied and BIRD accepted the config.
    Config,
    /// `Config`, plus Calico's BGP rule: within the startup threshold every BGP session must
    /// be Established (and no graceful restart in progress); after it, at least one.
    CalicoBgp,
}

#[derive(Clone)]
struct App {
    views: Views,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    threshold: Duration,
    started: Instant,
}

/// Serves the endpoints on `listener` until `cancel`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    views: Views,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    threshold: Duration,
    cancel: CancellationToken,
) {
    let app = App {
        views,
        metrics,
        readiness,
        threshold,
        started: Instant::now(),
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/status", get(status))
        .route("/plan", get(plan))
        .route("/metrics", get(metrics_text))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(app);
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    info!(addr = ?addr, "status endpoint listening");
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
    {
        error!("status endpoint stopped: {e}");
    }
}

async fn status(State(app): State<App>) -> Response {
    Json(status_document(&Current::read(&app.views))).into_response()
}

async fn plan(State(app): State<App>) -> Response {
    let plan = app.views.reconcile.borrow().plan.clone();
    match plan {
        Some(p) => Json(p.as_ref().clone()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "no plan yet: waiting for the first datastore sync"})),
        )
            .into_response(),
    }
}

async fn page(State(app): State<App>) -> Response {
    Html(render_page(&status_document(&Current::read(&app.views)), 5)).into_response()
}

async fn metrics_text(State(app): State<App>) -> Response {
    let current = Current::read(&app.views);
    let doc = status_document(&current);
    let view = current.bird.clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut body = app.metrics.encode();
    body.push_str(&bird_metrics(&doc, &view, now));
    body.push_str("# HELP perch_bird_status_queries Times the BIRD monitor read BIRD's full view (status and protocols).\n");
    body.push_str("# TYPE perch_bird_status_queries counter\n");
    body.push_str(&format!(
        "perch_bird_status_queries_total {}\n",
        view.queries
    ));
    body.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn readyz(State(app): State<App>) -> Response {
    let (ready, plan) = {
        let r = app.views.reconcile.borrow();
        (r.ready, r.plan.clone())
    };
    let incompatible = bird_incompatible(plan.as_deref(), &app.views.bird.borrow());
    if let Some(why) = incompatible {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response();
    }
    if !ready {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: waiting for the first datastore sync to be applied and accepted by BIRD\n",
        )
            .into_response();
    }
    if app.readiness == Readiness::CalicoBgp {
        let view = app.views.bird.borrow().clone();
        let protocols = match &view.protocols {
            Ok(p) => p,
            Err(e) => {
                return (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n"))
                    .into_response();
            }
        };
        let peers: Vec<_> = protocols
            .iter()
            .filter(|p| p.row.proto == "BGP" && type_from_name(&p.row.name).is_some())
            .collect();
        let down: Vec<&str> = peers
            .iter()
            .filter(|p| !is_established(p))
            .map(|p| p.row.name.as_str())
            .collect();
        let gr = view
            .status
            .as_ref()
            .is_ok_and(|s| s.graceful_restart_in_progress);
        let within = app.started.elapsed() < app.threshold;
        let ok = peers.is_empty()
            || if within {
                down.is_empty() && !gr
            } else {
                down.len() < peers.len()
            };
        if !ok {
            let why = if gr && down.is_empty() {
                "graceful restart in progress".to_owned()
            } else {
                format!("BGP not established with {}", down.join(","))
            };
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            )
                .into_response();
        }
    }
    "ready\n".into_response()
}
