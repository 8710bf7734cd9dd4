//! The operator's HTTP endpoints: `/metrics` for Prometheus, `/healthz` for liveness and
//! `/readyz` for readiness (ready once the API server has answered).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::metrics::Metrics;

#[derive(Clone)]
struct Endpoints {
    metrics: Metrics,
    ready: Arc<AtomicBool>,
}

/// Serves the endpoints until the process ends.
pub async fn serve(
    address: SocketAddr,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness))
        .with_state(Endpoints { metrics, ready });
    let listener = tokio::net::TcpListener::bind(address).await?;
    axum::serve(listener, app).await
}

async fn render_metrics(
    State(endpoints): State<Endpoints>,
) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        endpoints.metrics.encode(),
    )
}

async fn readiness(State(endpoints): State<Endpoints>) -> (StatusCode, &'static str) {
    if endpoints.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the Kubernetes API server",
        )
    }
}
