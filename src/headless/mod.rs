//! Commands without a terminal UI, for scripts and pipelines. They use the
//! same prober and classifier as the console.

pub mod probe;
pub mod status;

use serde::Serialize;

use crate::core::health::{Check, HealthStatus};
use crate::sources::probe::Probed;

/// Exit codes shared by the headless commands.
pub mod exit {
    /// Healthy: ok or degraded (the runbooks pass verification on both).
    pub const OK: u8 = 0;
    /// Critical or unreachable.
    pub const FAILING: u8 = 1;
    /// Bad usage or configuration.
    pub const USAGE: u8 = 2;
}

/// The exit code for a worst status.
pub fn exit_code(worst: Option<HealthStatus>) -> u8 {
    match worst {
        Some(s) if s.is_failure() => exit::FAILING,
        _ => exit::OK,
    }
}

/// One probe as JSON: the shape `backstop probe --json` prints, reused per
/// endpoint by `backstop status --json`.
#[derive(Serialize)]
pub struct ProbeJson {
    pub url: String,
    pub status: HealthStatus,
    pub http_status: Option<u16>,
    pub latency_ms: f64,
    pub version: Option<String>,
    pub checks: Vec<Check>,
    pub error: Option<String>,
}

impl ProbeJson {
    pub fn new(url: String, p: &Probed) -> Self {
        ProbeJson {
            url,
            status: p.report.status,
            http_status: p.report.http_status,
            latency_ms: (p.latency_ms * 10.0).round() / 10.0,
            version: p.report.version.clone(),
            checks: p.report.checks.clone(),
            error: p.report.error.clone(),
        }
    }
}
