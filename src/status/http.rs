//! The HTTP endpoint of `perch run`: `/status`, `/routes`, `/plan`, `/metrics`, `/livez`,
//! `/readyz`, `/`.
//! Every answer is assembled from the daemon's published views ([`crate::views`]); BIRD is
//! never asked here (the BIRD monitor reads it at most once per status interval, however many
//! requests arrive).
//! Clients are not trusted: the accept loop bounds how long a request's headers may take, how
//! long a connection lives and how many are open, and shutdown drains for a bounded time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::document::{Current, bird_metrics, route_metrics, status_document};
use super::page::render_page;
use super::peers::type_from_name;
use crate::metrics::Metrics;
use crate::views::{Views, bird_incompatible, is_established};

/// How `/readyz` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Ready once the first full datastore sync is applied and BIRD accepted the config.
    Config,
    /// `Config`, plus Calico's BGP rule: within the startup threshold every BGP session must
    /// be Established (and no graceful restart in progress); after it, at least one.
    CalicoBgp,
    /// `Config`, plus the last route check found nothing missing (in BIRD or in the kernel),
    /// and no check failed since.
    Routes,
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
pub(crate) async fn serve(
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
        .route("/routes", get(routes))
        .route("/plan", get(plan))
        .route("/metrics", get(metrics_text))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(app);
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    info!(addr = ?addr, "status endpoint listening");
    accept_loop(listener, router, cancel).await;
}

/// A client has this long to send a request's headers (and the next request's, on a kept-alive
/// connection); then its connection is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed (gracefully) after this long, whatever it does.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(60);
/// Connections served at once. A new one beyond it closes the oldest, so that slow clients can
/// neither use up perch's file descriptors (BIRD's control socket and the staged config need
/// them) nor lock out the next `/livez`.
const MAX_CONNECTIONS: usize = 64;
/// On shutdown, requests in flight get this long to finish.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);

/// Accepts connections until `cancel`, within the limits above, then drains for at most
/// [`SHUTDOWN_DRAIN`].
async fn accept_loop(listener: tokio::net::TcpListener, router: Router, cancel: CancellationToken) {
    let mut conns = tokio::task::JoinSet::new();
    // Oldest first.
    let mut live: std::collections::VecDeque<(tokio::task::Id, tokio::task::AbortHandle)> =
        Default::default();
    let mut accept_failed_logged = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(done) = conns.join_next_with_id(), if !conns.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                live.retain(|(i, _)| *i != id);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    accept_failed_logged = false;
                    if live.len() >= MAX_CONNECTIONS
                        && let Some((_, oldest)) = live.pop_front()
                    {
                        oldest.abort();
                    }
                    let handle = conns.spawn(connection(stream, router.clone(), cancel.clone()));
                    live.push_back((handle.id(), handle));
                }
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // never spin on it.
                    if !accept_failed_logged {
                        warn!("status endpoint: accepting a connection failed: {e}");
                        accept_failed_logged = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_DRAIN, drain).await.is_err() {
        debug!(
            open = conns.len(),
            "status endpoint: closing connections still open after the drain"
        );
    }
    conns.shutdown().await;
}

/// Serves one connection: HTTP/1.1 with a header-read timeout and a maximum age; on shutdown,
/// finishes the request in flight (at most [`SHUTDOWN_DRAIN`]).
async fn connection(stream: tokio::net::TcpStream, router: Router, shutdown: CancellationToken) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(
        hyper_util::rt::TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(router),
    );
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                debug!("status endpoint connection: {e}");
            }
            return;
        }
        _ = tokio::time::sleep(MAX_CONNECTION_AGE) => {}
        _ = shutdown.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_DRAIN, conn).await;
}

async fn status(State(app): State<App>) -> Response {
    Json(status_document(&Current::read(&app.views))).into_response()
}

/// The last route check, as `perch routes -o json` prints it, with when it ran.
async fn routes(State(app): State<App>) -> Response {
    let view = app.views.routes.borrow().clone();
    match &view.check {
        Some(check) => {
            let mut doc = serde_json::to_value(check.as_ref()).unwrap_or_default();
            if let Some(o) = doc.as_object_mut() {
                o.insert(
                    "checkedAt".into(),
                    view.checked_at.map(crate::time::rfc3339).into(),
                );
                o.insert("checkSeconds".into(), view.seconds.into());
                o.insert("error".into(), view.error.clone().into());
            }
            Json(doc).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"error": view.error.clone().unwrap_or_else(
                    || "no route check yet: waiting for the first plan".into()
                )}),
            ),
        )
            .into_response(),
    }
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
    body.push_str(&route_metrics(&current.routes));
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
    if app.readiness == Readiness::Routes {
        let view = app.views.routes.borrow().clone();
        let why = match &view.check {
            // The last check is stale when the one after it failed (BIRD gone, a query refused).
            _ if view.error.is_some() => Some(format!(
                "the route check failed: {}",
                view.error.as_deref().unwrap_or_default()
            )),
            None => Some("no route check yet".to_owned()),
            Some(c) if !c.nothing_missing() => {
                let missing: Vec<String> = c
                    .problems()
                    .filter(|r| {
                        matches!(
                            r.verdict,
                            crate::routes::Verdict::MissingInBird
                                | crate::routes::Verdict::MissingInKernel
                        )
                    })
                    .map(|r| format!("{} {}", r.prefix, r.verdict.describe()))
                    .collect();
                let more = missing.len().saturating_sub(5);
                let mut text = missing[..missing.len().min(5)].join(", ");
                if more > 0 {
                    text += &format!(" and {more} more");
                }
                Some(format!("routes missing: {text}"))
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            )
                .into_response();
        }
    }
    "ready\n".into_response()
}
