//! `backstop probe URL`: probe one endpoint once.

use std::fmt::Write as _;
use std::time::Duration;

use url::Url;

use super::{ProbeJson, exit, exit_code, out};
use crate::config::{redact_url, redact_urls};
use crate::core::time;
use crate::sources::probe::{ProbeSpec, Prober};

pub async fn run(url: &str, json: bool, timeout: Duration) -> u8 {
    let url = match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        Ok(u) => {
            out::err_line(format_args!(
                "backstop probe: URL scheme `{}` is not supported: use http:// or https://",
                u.scheme()
            ));
            return exit::USAGE;
        }
        Err(e) => {
            out::err_line(format_args!(
                "backstop probe: invalid URL {:?}: {e}",
                redact_urls(url)
            ));
            return exit::USAGE;
        }
    };
    let prober = match Prober::new() {
        Ok(p) => p,
        Err(e) => {
            out::err_line(format_args!(
                "backstop probe: cannot create the HTTP client: {e}"
            ));
            return exit::USAGE;
        }
    };
    let probed = prober.probe(&ProbeSpec::new(url.clone(), timeout)).await;
    let shown = redact_url(&url);
    if json {
        let doc = ProbeJson::new(shown, &probed);
        out::line(
            serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        );
    } else {
        out::text(text(&shown, &probed));
    }
    exit_code(Some(probed.report.status))
}

fn text(url: &str, p: &crate::sources::probe::Probed) -> String {
    let r = &p.report;
    let mut s = String::new();
    let version = r
        .version
        .as_deref()
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "{:<11} {url}  ({}{version})",
        r.status.as_str(),
        time::latency(p.latency_ms)
    );
    let _ = writeln!(s, "            {}", r.summary);
    for c in &r.checks {
        let _ = writeln!(
            s,
            "            {:<11} {}  {}",
            c.status.as_str(),
            c.name,
            c.detail
        );
    }
    s
}
