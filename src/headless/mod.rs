//! Commands without a terminal UI, for scripts and pipelines. They use the
//! same prober and classifier as the console.

pub mod drill;
pub mod interrupt;
pub mod out;
pub mod probe;
pub mod rollback;
pub mod session;
pub mod status;
pub mod verify;
pub mod watch;

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
    /// Standard output was closed before the command ended (the reader
    /// went away): 141, what a shell reports for a program ended by
    /// SIGPIPE, so pipelines (`set -o pipefail`) read it as they always
    /// have. A change under way was finished first; the journal says so.
    pub const READER_GONE: u8 = 141;
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
    /// Why this status, in words: what the text output prints under it
    /// (a degraded answer has no `error`, but it has a reason).
    pub summary: String,
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
            summary: p.report.summary.clone(),
            http_status: p.report.http_status,
            latency_ms: (p.latency_ms * 10.0).round() / 10.0,
            version: p.report.version.clone(),
            checks: p.report.checks.clone(),
            error: p.report.error.clone(),
        }
    }
}

/// Prints the console's event log as it grows: one line per event, or one
/// JSON object per line. What the console shows in its Events pane is what
/// a pipeline's log gets.
pub struct EventLines {
    seen: u64,
    json: bool,
    /// The configuration's secrets, kept out of CI logs as out of the journal.
    redactor: Option<crate::room::Redactor>,
    /// A drill's start and speed: times are printed as scenario time.
    drill: Option<(crate::core::time::Ts, f64)>,
}

impl EventLines {
    pub fn new(json: bool) -> Self {
        EventLines {
            seen: 0,
            json,
            redactor: None,
            drill: None,
        }
    }

    /// Replace every secret of `config` with `***` in what is printed.
    pub fn redacting(mut self, config: &crate::config::Config) -> Self {
        self.redactor = Some(crate::room::Redactor::new(config.secrets()));
        self
    }

    pub fn drill(json: bool, started: crate::core::time::Ts, speed: f64) -> Self {
        EventLines {
            drill: Some((started, speed)),
            ..Self::new(json)
        }
    }

    /// Print what was recorded since the last call.
    pub fn print_new(&mut self, state: &crate::core::model::State) {
        let total = state.events.total();
        if total == self.seen {
            return;
        }
        let mut text = String::new();
        for e in state.events.since(self.seen) {
            let line = if self.json {
                serde_json::json!({
                    "at": e.at.rfc3339(),
                    "scope": e.scope,
                    "level": e.level.as_str(),
                    "kind": e.kind.as_str(),
                    "text": e.text,
                })
                .to_string()
            } else {
                let when = match self.drill {
                    Some((start, speed)) if e.at >= start => {
                        let secs = e.at.since(start).as_secs_f64() * speed;
                        format!("T+{:02}:{:02}", (secs / 60.0) as u64, (secs % 60.0) as u64)
                    }
                    _ => e.at.hms(),
                };
                format!("{when}  {:<5} {:<12} {}", e.level.as_str(), e.scope, e.text)
            };
            let line = match &self.redactor {
                Some(r) => r.apply(&line),
                None => line,
            };
            text.push_str(&line);
            text.push('\n');
        }
        out::text(&text);
        self.seen = total;
    }
}
