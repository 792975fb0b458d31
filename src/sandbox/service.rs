//! One sample environment of a service: the health endpoints of the reference
//! runbooks, each in a different dialect, and the faults a drill injects.
//!
//! | path                   | dialect (runbook)                                   |
//! |------------------------|-----------------------------------------------------|
//! | `/api/health`          | `ok/degraded/critical`, per-check objects (000)     |
//! | `/api/health/ready`    | `{ready, checks:[{name, healthy}]}` (004)           |
//! | `/api/health/live`     | `{alive}` (004)                                     |
//! | `/api/health/detailed` | `healthy/degraded/unhealthy`, checks as text (003)  |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::latency::Latency;
use crate::core::model::Fault;

/// How long a "slow" environment takes to answer: longer than the default
/// probe timeout (1 s), so probes give up.
pub const SLOW: Duration = Duration::from_millis(1500);

#[derive(Clone)]
pub struct EnvApp {
    pub env: String,
    /// The version it runs; a revert changes it.
    pub version: Arc<std::sync::RwLock<String>>,
    pub started: Instant,
    pub fault: watch::Receiver<Option<Fault>>,
    /// Ordinary requests served, to spread an error-rate fault evenly.
    pub served: Arc<AtomicU64>,
    /// How long an ordinary request takes before any fault; health
    /// endpoints answer in a few milliseconds when this is not instant.
    pub latency: Latency,
    /// This environment's draws (`latency::seed`).
    pub seed: u64,
    /// Health requests answered, numbering their draws.
    pub probed: Arc<AtomicU64>,
}

impl EnvApp {
    fn version(&self) -> String {
        self.version.read().map(|v| v.clone()).unwrap_or_default()
    }

    fn fault(&self) -> Option<Fault> {
        *self.fault.borrow()
    }

    /// A health endpoint's wait: the slow fault's, else its ordinary few
    /// milliseconds.
    async fn delay(&self) {
        if self.fault() == Some(Fault::Slow) {
            tokio::time::sleep(SLOW).await;
        }
        let health = match self.latency {
            Latency::Instant => Latency::Instant,
            Latency::Realistic { .. } => Latency::HEALTH,
        };
        let n = self.probed.fetch_add(1, Ordering::Relaxed);
        pause(health.draw(self.seed ^ 1, n)).await;
    }
}

async fn pause(wait: Duration) {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

pub fn router(app: EnvApp) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/health", get(health))
        .route("/api/health/ready", get(ready))
        .route("/api/health/live", get(live))
        .route("/api/health/detailed", get(detailed))
        .fallback(index)
        .with_state(app)
}

fn now() -> String {
    crate::clock::now().rfc3339()
}

/// An ordinary request: what synthetic traffic asks for.
async fn index(State(app): State<EnvApp>) -> Response {
    if app.fault() == Some(Fault::Slow) {
        tokio::time::sleep(SLOW).await;
    }
    let n = app.served.fetch_add(1, Ordering::Relaxed);
    // The service's own time; a latency fault comes on top of it.
    pause(app.latency.draw(app.seed, n)).await;
    match app.fault() {
        Some(Fault::Latency(ms)) => tokio::time::sleep(Duration::from_millis(u64::from(ms))).await,
        // The database is gone: every request fails, as its health says.
        Some(Fault::Unhealthy) => {
            let body = json!({ "error": "connection pool exhausted", "env": app.env, "version": app.version() });
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
        // Exactly p in every hundred fail, evenly spread (request n fails when
        // the running count of failures steps up), so a test can expect 8.0 %.
        Some(Fault::ErrorRate(p)) if (n + 1) * u64::from(p) / 100 > n * u64::from(p) / 100 => {
            let body =
                json!({ "error": "internal error", "env": app.env, "version": app.version() });
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
        _ => {}
    }
    Json(json!({ "env": app.env, "version": app.version() })).into_response()
}

async fn health(State(app): State<EnvApp>) -> Response {
    app.delay().await;
    let ok = |ms: u32| json!({ "status": "ok", "responseTime": ms });
    let (code, status, checks): (StatusCode, &str, Value) = match app.fault() {
        Some(Fault::Unhealthy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "critical",
            json!({
                "database": { "status": "critical", "responseTime": 1000, "error": "connection pool exhausted" },
                "redis": ok(1),
            }),
        ),
        Some(Fault::Degraded) => (
            StatusCode::OK,
            "degraded",
            json!({
                "database": ok(3),
                "redis": { "status": "degraded", "responseTime": 850, "message": "slow PING" },
            }),
        ),
        _ => (
            StatusCode::OK,
            "ok",
            json!({ "database": ok(3), "redis": ok(1) }),
        ),
    };
    let mut checks = checks;
    checks["memory"] =
        json!({ "status": "ok", "usage": { "heap": { "used": 212, "total": 512 } } });
    let body = json!({
        "status": status,
        "timestamp": now(),
        "uptime": app.started.elapsed().as_secs(),
        "version": app.version(),
        "checks": checks,
    });
    (code, Json(body)).into_response()
}

async fn ready(State(app): State<EnvApp>) -> Response {
    app.delay().await;
    let db_ok = app.fault() != Some(Fault::Unhealthy);
    let body = json!({
        "ready": db_ok,
        "checks": [
            { "name": "database", "healthy": db_ok },
            { "name": "redis", "healthy": true },
        ],
    });
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn live(State(app): State<EnvApp>) -> Response {
    app.delay().await;
    // The process is alive whatever its dependencies say.
    Json(json!({ "alive": true })).into_response()
}

async fn detailed(State(app): State<EnvApp>) -> Response {
    app.delay().await;
    let (code, status, checks) = match app.fault() {
        Some(Fault::Unhealthy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unhealthy",
            json!({ "database": "error: connection pool exhausted", "redis": "ok", "storage": "ok" }),
        ),
        Some(Fault::Degraded) => (
            StatusCode::OK,
            "degraded",
            json!({ "database": "ok", "redis": "degraded: PING took 850ms", "storage": "ok" }),
        ),
        _ => (
            StatusCode::OK,
            "healthy",
            json!({ "database": "ok", "redis": "ok", "storage": "ok" }),
        ),
    };
    let body = json!({
        "status": status,
        "version": app.version(),
        "environment": app.env,
        "timestamp": now(),
        "checks": checks,
    });
    (code, Json(body)).into_response()
}
