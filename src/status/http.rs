//! The HTTP endpoint of `perch run`: `/status`, `/plan`, `/metrics`, `/livez`, `/readyz`, `/`.
//! BIRD is asked at most once per interval however many requests arrive (see [`super::cache`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::cache::BirdCache;
use super::document::{bird_metrics, status_document};
use super::metrics::Metrics;
use super::page::render_page;
use super::peers::type_from_name;
use crate::daemon::DaemonState;

/// How `/readyz` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Readiness {
    /// Ready once the first full datastore sync is applied and BIRD accepted the config.
    Config,
    /// `Config`, plus Calico's BGP rule: within the startup threshold every BGP session must
    /// be Established (and no graceful restart in progress); after it, at least one.
    CalicoBgp,
}

#[derive(Clone)]
struct App {
    state: watch::Receiver<DaemonState>,
    metrics: Arc<Metrics>,
    cache: Arc<BirdCache>,
    readiness: Readiness,
    threshold: Duration,
    started: Instant,
}

/// Serves the endpoints on `listener` until `cancel`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: watch::Receiver<DaemonState>,
    metrics: Arc<Metrics>,
    cache: Arc<BirdCache>,
    readiness: Readiness,
    threshold: Duration,
    cancel: CancellationToken,
) {
    let app = App {
        state,
        metrics,
        cache,
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
    let view = app.cache.get().await;
    let state = app.state.borrow().clone();
    Json(status_document(&state, &view)).into_response()
}

async fn plan(State(app): State<App>) -> Response {
    match app.state.borrow().plan.clone() {
        Some(p) => Json(p.as_ref().clone()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "no plan yet: waiting for the first datastore sync"})),
        )
            .into_response(),
    }
}

async fn page(State(app): State<App>) -> Response {
    let view = app.cache.get().await;
    let state = app.state.borrow().clone();
    Html(render_page(&status_document(&state, &view), 5)).into_response()
}

async fn metrics_text(State(app): State<App>) -> Response {
    let view = app.cache.get().await;
    let state = app.state.borrow().clone();
    let doc = status_document(&state, &view);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut body = app.metrics.encode();
    body.push_str(&bird_metrics(&doc, &view, now));
    body.push_str("# HELP perch_bird_status_queries Times BIRD was asked for its status by the status endpoints.\n");
    body.push_str("# TYPE perch_bird_status_queries counter\n");
    body.push_str(&format!(
        "perch_bird_status_queries_total {}\n",
        app.cache.fetches()
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
    let (ready, incompatible) = {
        let st = app.state.borrow();
        (st.ready, st.bird.incompatible.clone())
    };
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
        let view = app.cache.get().await;
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
        let established = |p: &&crate::bird::parse::ProtocolDetails| {
            p.row.state == "up"
                && p.bgp.as_ref().and_then(|b| b.state.as_deref()) == Some("Established")
        };
        let down: Vec<&str> = peers
            .iter()
            .filter(|p| !established(p))
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
