//! The health classifier: one HTTP answer in, one verdict out.
//!
//! Real services speak many dialects. We understand the ones our users run:
//! the reference runbooks' three JSON shapes (`ok/degraded/critical` with
//! per-check objects; `healthy/degraded/unhealthy` with checks as strings;
//! `{ready, checks:[{healthy}]}` and `{alive}`), Spring Boot Actuator
//! (`UP/DOWN/OUT_OF_SERVICE/UNKNOWN` + `components`), the IETF draft
//! `application/health+json` (`pass/warn/fail` + `checks`), ASP.NET Core
//! (plain `Healthy/Degraded/Unhealthy` and its JSON with `entries`), and
//! Kubernetes `/healthz` and verbose `/readyz` text (`[+]name ok`), and
//! three libraries' own shapes: django-health-check (a map of check name
//! to `"OK"` or `"<Kind>: message"`), py-healthcheck (`results[]` with
//! `checker`, `passed`, `output`) and @cloudnative/health-connect
//! (`checks[]` with `name` and `state`: `UP`, `DOWN`, `STARTING`, `STOPPING`).
//!
//! The HTTP status and the body both count, and the worse one wins: a 503 is
//! never `ok`, and a 200 whose body says `DOWN` is not `ok` either.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The four states an environment can be in, in increasing severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Critical,
    Unreachable,
}

impl HealthStatus {
    pub const ALL: [HealthStatus; 4] =
        [Self::Ok, Self::Degraded, Self::Critical, Self::Unreachable];

    /// The word used in JSON output and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Critical => "critical",
            Self::Unreachable => "unreachable",
        }
    }

    /// The four-letter badge on screen, readable without colour.
    pub fn badge(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Degraded => "DEGR",
            Self::Critical => "CRIT",
            Self::Unreachable => "DOWN",
        }
    }

    /// Critical and unreachable are failures: they count toward consecutive
    /// failures and fail `probe`/`status` (the runbooks pass ok and degraded).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Critical | Self::Unreachable)
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named check inside a health answer (`database`, `redis`, `etcd`…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub status: HealthStatus,
    pub detail: String,
}

/// The verdict on one probe of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub http_status: Option<u16>,
    pub version: Option<String>,
    pub checks: Vec<Check>,
    /// One line for the event log: why this status.
    pub summary: String,
    /// Transport or protocol error, when there was one.
    pub error: Option<String>,
}

impl HealthReport {
    /// No usable HTTP answer: refused, timed out, DNS, TLS.
    pub fn unreachable(error: impl Into<String>) -> Self {
        let error = error.into();
        HealthReport {
            status: HealthStatus::Unreachable,
            http_status: None,
            version: None,
            checks: Vec::new(),
            summary: error.clone(),
            error: Some(error),
        }
    }

    /// An answer that is not a health answer at all (a redirect loop, say).
    pub fn protocol_error(error: impl Into<String>) -> Self {
        let error = error.into();
        HealthReport {
            status: HealthStatus::Critical,
            http_status: None,
            version: None,
            checks: Vec::new(),
            summary: error.clone(),
            error: Some(error),
        }
    }
}

/// What the prober hands over: the status line and (the first part of) the body.
#[derive(Clone, Copy, Debug)]
pub struct HttpAnswer<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// The body was longer than the probe reads; what we have is a prefix.
    pub truncated: bool,
}

/// A user's mapping for a format we do not know: a JSON pointer to the status
/// field and the values that mean each state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMapping {
    /// JSON pointer, e.g. `/health/state`.
    pub field: String,
    #[serde(default)]
    pub ok: Vec<String>,
    #[serde(default)]
    pub degraded: Vec<String>,
    #[serde(default)]
    pub critical: Vec<String>,
    #[serde(default)]
    pub unreachable: Vec<String>,
}

impl StatusMapping {
    fn lookup(&self, value: &str) -> Option<HealthStatus> {
        let lists = [
            (&self.ok, HealthStatus::Ok),
            (&self.degraded, HealthStatus::Degraded),
            (&self.critical, HealthStatus::Critical),
            (&self.unreachable, HealthStatus::Unreachable),
        ];
        lists
            .into_iter()
            .find(|(values, _)| values.iter().any(|v| v.eq_ignore_ascii_case(value)))
            .map(|(_, status)| status)
    }
}

/// Classify one HTTP answer.
pub fn classify(answer: &HttpAnswer<'_>, mapping: Option<&StatusMapping>) -> HealthReport {
    let code = answer.status;
    let code_status = match code {
        200..=299 => HealthStatus::Ok,
        _ => HealthStatus::Critical,
    };
    let body = read_body(answer, mapping);
    let status = code_status.max(body.status.unwrap_or(HealthStatus::Ok));

    let mut summary = format!("HTTP {code}");
    if let Some(reason) = reason_phrase(code) {
        summary.push(' ');
        summary.push_str(reason);
    }
    if let Some(said) = &body.said {
        summary.push_str(" · ");
        summary.push_str(said);
    }
    let failing: Vec<String> = body
        .checks
        .iter()
        .filter(|c| c.status != HealthStatus::Ok)
        .take(3)
        .map(|c| format!("{} {}", c.name, c.status))
        .collect();
    if !failing.is_empty() {
        summary.push_str(" · ");
        summary.push_str(&failing.join(", "));
    }

    HealthReport {
        status,
        http_status: Some(code),
        version: body.version,
        checks: body.checks,
        summary,
        error: None,
    }
}

/// What the body told us.
#[derive(Default)]
struct BodyVerdict {
    /// `None` when the body says nothing about health (empty, unknown text).
    status: Option<HealthStatus>,
    version: Option<String>,
    checks: Vec<Check>,
    /// A few words for the summary: `status "critical"`, `invalid JSON`…
    said: Option<String>,
}

fn read_body(answer: &HttpAnswer<'_>, mapping: Option<&StatusMapping>) -> BodyVerdict {
    let text = String::from_utf8_lossy(answer.body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return BodyVerdict::default();
    }
    let declared_json = answer.content_type.is_some_and(|ct| ct.contains("json"));
    let looks_json = trimmed.starts_with('{')
        || (trimmed.starts_with('[') && !trimmed.starts_with("[+]") && !trimmed.starts_with("[-]"));
    if declared_json || looks_json {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(json) => return read_json(&json, mapping),
            // Declared JSON that does not parse is a broken health document. A
            // 2xx with one is not a clean bill of health: degraded, and why.
            Err(e) if declared_json || answer.truncated => {
                let why = if answer.truncated {
                    "body too large, truncated".to_string()
                } else {
                    format!("invalid JSON: {e}")
                };
                return BodyVerdict {
                    status: Some(HealthStatus::Degraded),
                    said: Some(why),
                    ..BodyVerdict::default()
                };
            }
            Err(_) => {}
        }
    }
    read_text(trimmed)
}

fn read_json(json: &Value, mapping: Option<&StatusMapping>) -> BodyVerdict {
    let mut verdict = BodyVerdict {
        version: version_of(json),
        checks: checks_of(json),
        ..BodyVerdict::default()
    };

    if let Some(mapping) = mapping {
        match json.pointer(&mapping.field).map(scalar_text) {
            Some(Some(value)) => {
                let status = mapping.lookup(&value);
                verdict.status = Some(status.unwrap_or(HealthStatus::Degraded));
                verdict.said = Some(match status {
                    Some(_) => format!("{} {value:?}", mapping.field),
                    None => format!("{} {value:?} is not in the mapping", mapping.field),
                });
            }
            _ => {
                verdict.status = Some(HealthStatus::Degraded);
                verdict.said = Some(format!("no field {} in the body", mapping.field));
            }
        }
        return verdict;
    }

    let Some(obj) = json.as_object() else {
        return verdict;
    };
    let top = obj.get("status").and_then(status_text).or_else(|| {
        // Some services nest it: {"status": {"code": "UP"}}.
        obj.get("status")
            .and_then(|s| s.get("code"))
            .and_then(status_text)
    });
    if let Some(word) = top {
        verdict.status = Some(word_status(&word).unwrap_or(HealthStatus::Degraded));
        verdict.said = Some(match word_status(&word) {
            Some(_) => format!("status {word:?}"),
            None => format!("unrecognised status {word:?}"),
        });
    } else if let Some(flag) = ["ready", "alive", "live", "healthy", "ok"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_bool).map(|b| (*k, b)))
    {
        verdict.status = Some(if flag.1 {
            HealthStatus::Ok
        } else {
            HealthStatus::Critical
        });
        verdict.said = Some(format!("{} {}", flag.0, flag.1));
    } else if let Some(worst) = verdict.checks.iter().map(|c| c.status).max() {
        verdict.status = Some(worst);
        verdict.said = Some(format!("worst check {worst}"));
    } else if let Some(checks) = django_checks(obj) {
        let worst = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Ok);
        verdict.status = Some(worst);
        verdict.said = Some(format!("worst check {worst}"));
        verdict.checks = checks;
    }
    verdict
}

/// django-health-check's JSON: nothing but check names mapped to `"OK"`
/// (`"working"` before 4.0) or its errors, one `"<Kind>: message"` a line
/// (`Unavailable`, `Warning`, `Unexpected Result`, `Unknown Error`).
/// Every value must read so, or the body is not one of these: a map of
/// `{"app": "web", "version": "1.2"}` says nothing about health.
fn django_checks(obj: &serde_json::Map<String, Value>) -> Option<Vec<Check>> {
    if obj.is_empty() {
        return None;
    }
    obj.iter()
        .map(|(name, v)| {
            let text = v.as_str()?;
            let (status, detail) = django_status(text)?;
            Some(Check {
                name: name.clone(),
                status,
                detail,
            })
        })
        .collect()
}

/// One django-health-check value: its status and what it said.
fn django_status(text: &str) -> Option<(HealthStatus, String)> {
    if text.eq_ignore_ascii_case("ok") || text.eq_ignore_ascii_case("working") {
        return Some((HealthStatus::Ok, String::new()));
    }
    // Several errors of one check come one a line; the worst counts.
    let mut worst = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (kind, _) = line.split_once(": ")?;
        let kind = kind.trim().to_ascii_lowercase();
        if kind.is_empty()
            || kind.len() > 40
            || !kind.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
        {
            return None;
        }
        // A warning fails the view only with `warnings_as_errors`; it is
        // something to look at, not an outage.
        let status = if kind.contains("warning") {
            HealthStatus::Degraded
        } else {
            HealthStatus::Critical
        };
        worst = worst.max(Some(status));
    }
    let detail: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect();
    worst.map(|w| (w, detail))
}

/// Plain-text bodies: Kubernetes verbose checks, or one word.
fn read_text(text: &str) -> BodyVerdict {
    let mut checks = Vec::new();
    for line in text.lines().map(str::trim) {
        let (ok, rest) = if let Some(rest) = line.strip_prefix("[+]") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("[-]") {
            (false, rest)
        } else {
            continue;
        };
        let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        checks.push(Check {
            name: name.to_string(),
            status: if ok {
                HealthStatus::Ok
            } else {
                HealthStatus::Critical
            },
            detail: detail.trim().to_string(),
        });
    }
    if !checks.is_empty() {
        let worst = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Ok);
        let failed = checks
            .iter()
            .filter(|c| c.status != HealthStatus::Ok)
            .count();
        return BodyVerdict {
            status: Some(worst),
            said: Some(format!("{failed} of {} checks failed", checks.len())),
            checks,
            ..BodyVerdict::default()
        };
    }
    let first_line = text.lines().next().unwrap_or("").trim();
    if first_line.len() <= 32
        && let Some(status) = word_status(first_line)
    {
        return BodyVerdict {
            status: Some(status),
            said: Some(format!("{first_line:?}")),
            ..BodyVerdict::default()
        };
    }
    // Not a health answer we understand (an HTML error page, say): the status
    // code decides, and the summary shows what the body was.
    BodyVerdict {
        said: Some(describe_unknown_text(text)),
        ..BodyVerdict::default()
    }
}

fn describe_unknown_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start + 7 <= end
    {
        return format!("HTML page {:?}", text[start + 7..end].trim());
    }
    let line: String = text.lines().next().unwrap_or("").chars().take(60).collect();
    format!("body {line:?}")
}

/// A status word (any case, `_`/`-`/space alike) to a state. The first word
/// decides, so check strings like `"error: connection refused"` work.
pub fn word_status(word: &str) -> Option<HealthStatus> {
    let norm: String = word
        .trim()
        .chars()
        .map(|c| {
            if c == '-' || c == ' ' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let whole = status_of_word(&norm);
    whole.or_else(|| {
        let first = norm
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        status_of_word(first)
    })
}

fn status_of_word(w: &str) -> Option<HealthStatus> {
    use HealthStatus::*;
    Some(match w {
        "ok" | "okay" | "healthy" | "up" | "pass" | "passed" | "passing" | "green" | "good"
        | "alive" | "ready" | "serving" | "success" | "running" | "online" | "available"
        | "true" => Ok,
        // Starting: answering, not ready yet (health-connect's STARTING).
        "degraded" | "warn" | "warning" | "warnings" | "yellow" | "partial" | "unknown"
        | "impaired" | "starting" => Degraded,
        "critical" | "unhealthy" | "down" | "fail" | "failed" | "failing" | "failure" | "error"
        | "errors" | "red" | "bad" | "out_of_service" | "outofservice" | "not_serving"
        | "unavailable" | "offline" | "false" | "dead" | "fatal" | "stopping" | "stopped" => {
            Critical
        }
        _ => return None,
    })
}

fn status_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn version_of(json: &Value) -> Option<String> {
    // IETF health+json: `releaseId` is the release, `version` the API version.
    let candidates = [
        "/releaseId",
        "/version",
        "/appVersion",
        "/app_version",
        "/build/version",
        "/info/version",
    ];
    candidates
        .iter()
        .filter_map(|p| json.pointer(p))
        .find_map(scalar_text)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(40).collect())
}

/// Checks under any of the keys the formats use, flattened to a list.
fn checks_of(json: &Value) -> Vec<Check> {
    let mut out = Vec::new();
    for key in [
        "checks",
        "components",
        "entries",
        "details",
        "dependencies",
        "results",
    ] {
        if let Some(v) = json.get(key) {
            collect_checks(v, "", &mut out);
        }
    }
    out
}

fn collect_checks(v: &Value, prefix: &str, out: &mut Vec<Check>) {
    match v {
        Value::Object(map) => {
            for (name, item) in map {
                let full = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                match item {
                    // IETF: "db:responseTime": [ {status, output, observedValue} ]
                    Value::Array(items) => {
                        for (i, entry) in items.iter().enumerate() {
                            let label = if items.len() > 1 {
                                entry
                                    .get("componentId")
                                    .and_then(Value::as_str)
                                    .map(|id| format!("{full}#{id}"))
                                    .unwrap_or_else(|| format!("{full}#{}", i + 1))
                            } else {
                                full.clone()
                            };
                            push_check(entry, label, out);
                        }
                    }
                    _ => {
                        push_check(item, full.clone(), out);
                        // Spring nests components inside components.
                        if let Some(inner) = item.get("components") {
                            collect_checks(inner, &full, out);
                        }
                    }
                }
            }
        }
        // {ready, checks: [{name, healthy}]}
        Value::Array(items) => {
            for (i, entry) in items.iter().enumerate() {
                let name = ["name", "checker", "component", "componentId", "id", "key"]
                    .iter()
                    .find_map(|k| entry.get(*k).and_then(Value::as_str))
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("check {}", i + 1));
                push_check(entry, name, out);
            }
        }
        _ => {}
    }
}

fn push_check(item: &Value, name: String, out: &mut Vec<Check>) {
    let (status, detail) = match item {
        Value::String(s) => match word_status(s) {
            Some(st) => (
                st,
                if status_of_word(&s.to_ascii_lowercase()).is_some() {
                    String::new()
                } else {
                    s.clone()
                },
            ),
            None => return,
        },
        Value::Bool(b) => (
            if *b {
                HealthStatus::Ok
            } else {
                HealthStatus::Critical
            },
            String::new(),
        ),
        Value::Object(obj) => {
            // health-connect says `state`; py-healthcheck `passed`.
            let status = ["status", "state"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(status_text))
                .and_then(|w| word_status(&w))
                .or_else(|| {
                    ["healthy", "ok", "alive", "ready", "up", "passed"]
                        .iter()
                        .find_map(|k| obj.get(*k).and_then(Value::as_bool))
                        .map(|b| {
                            if b {
                                HealthStatus::Ok
                            } else {
                                HealthStatus::Critical
                            }
                        })
                });
            let Some(status) = status else { return };
            (status, check_detail(obj))
        }
        _ => return,
    };
    out.push(Check {
        name,
        status,
        detail,
    });
}

fn check_detail(obj: &serde_json::Map<String, Value>) -> String {
    let mut parts = Vec::new();
    for key in ["output", "message", "error", "description", "reason"] {
        if let Some(s) = obj
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            parts.push(s.to_string());
        }
    }
    // health-connect: {"data": {"reason": "…"}}.
    if let Some(s) = obj
        .get("data")
        .and_then(|d| d.get("reason"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        parts.push(s.to_string());
    }
    for key in [
        "responseTime",
        "response_time",
        "latency",
        "latencyMs",
        "duration",
    ] {
        match obj.get(key) {
            Some(Value::Number(n)) => parts.push(format!("{n}ms")),
            Some(Value::String(s)) => parts.push(s.clone()),
            _ => {}
        }
    }
    if let Some(v) = obj.get("observedValue") {
        let unit = obj
            .get("observedUnit")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(v) = scalar_text(v) {
            parts.push(format!("{v}{unit}"));
        }
    }
    let detail = parts.join(" · ");
    detail.chars().take(120).collect()
}

fn reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::*;

    fn json(code: u16, body: &str) -> HealthReport {
        classify(
            &HttpAnswer {
                status: code,
                content_type: Some("application/json"),
                body: body.as_bytes(),
                truncated: false,
            },
            None,
        )
    }

    fn text(code: u16, body: &str) -> HealthReport {
        classify(
            &HttpAnswer {
                status: code,
                content_type: Some("text/plain"),
                body: body.as_bytes(),
                truncated: false,
            },
            None,
        )
    }

    fn check<'a>(r: &'a HealthReport, name: &str) -> &'a Check {
        r.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {r:?}"))
    }

    // Runbook 000: ok/degraded/critical with per-check objects.
    #[test]
    fn runbook_000_shape() {
        let body = r#"{"status":"ok","timestamp":"2026-01-17T12:00:00.000Z","uptime":3600,"version":"1.0.0",
            "checks":{"database":{"status":"ok","responseTime":15},"redis":{"status":"ok","responseTime":5},
            "memory":{"status":"ok","usage":{"heap":{"used":256,"total":512}}}}}"#;
        let r = json(200, body);
        assert_eq!(r.status, Ok);
        assert_eq!(r.version.as_deref(), Some("1.0.0"));
        assert_eq!(r.checks.len(), 3);
        assert_eq!(check(&r, "database").detail, "15ms");

        let degraded = body.replacen(r#""status":"ok""#, r#""status":"degraded""#, 1);
        assert_eq!(json(200, &degraded).status, Degraded);

        let critical = r#"{"status":"critical","checks":{"database":{"status":"critical","error":"timeout"}}}"#;
        let r = json(503, critical);
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "database").status, Critical);
        assert_eq!(check(&r, "database").detail, "timeout");
        assert!(
            r.summary.contains("HTTP 503 Service Unavailable"),
            "{}",
            r.summary
        );
        assert!(r.summary.contains("database critical"), "{}", r.summary);
    }

    // Runbook 003: healthy/degraded/unhealthy, checks as strings.
    #[test]
    fn runbook_003_shape() {
        let r = json(
            200,
            r#"{"status":"healthy","version":"1.2.3","checks":{"database":"ok","storage":"ok"}}"#,
        );
        assert_eq!(r.status, Ok);
        assert_eq!(r.version.as_deref(), Some("1.2.3"));
        assert_eq!(check(&r, "storage").status, Ok);
        assert_eq!(check(&r, "storage").detail, "");

        let r = json(
            503,
            r#"{"status":"unhealthy","checks":{"database":"error: connection refused","storage":"ok"}}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "database").status, Critical);
        assert_eq!(check(&r, "database").detail, "error: connection refused");

        // Their service answers 503 for degraded too: the status code wins.
        let r = json(
            503,
            r#"{"status":"degraded","checks":{"storage":"error: directory not found"}}"#,
        );
        assert_eq!(r.status, Critical);
    }

    // Runbook 004: {ready, checks:[{healthy}]} and {alive}.
    #[test]
    fn runbook_004_shapes() {
        let r = json(
            200,
            r#"{"ready":true,"checks":[{"name":"database","healthy":true},{"name":"redis","healthy":true}]}"#,
        );
        assert_eq!(r.status, Ok);
        assert_eq!(r.checks.len(), 2);
        let r = json(
            503,
            r#"{"ready":false,"checks":[{"healthy":false},{"healthy":true}]}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "check 1").status, Critical);
        assert_eq!(json(200, r#"{"alive":true}"#).status, Ok);
        assert_eq!(json(200, r#"{"alive":false}"#).status, Critical);
        let r = json(
            200,
            r#"{"status":"healthy","timestamp":"x","version":"unknown"}"#,
        );
        assert_eq!(r.status, Ok);
    }

    #[test]
    fn spring_boot_actuator() {
        let body = r#"{"status":"UP","components":{"db":{"status":"UP","details":{"database":"PostgreSQL"}},
            "diskSpace":{"status":"UP"},"ping":{"status":"UP"}}}"#;
        let r = json(200, body);
        assert_eq!(r.status, Ok);
        assert_eq!(r.checks.len(), 3);

        let r = json(
            503,
            r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"refused"}}}}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "db").status, Critical);

        assert_eq!(json(503, r#"{"status":"OUT_OF_SERVICE"}"#).status, Critical);
        assert_eq!(json(200, r#"{"status":"UNKNOWN"}"#).status, Degraded);

        // Nested groups: components inside components.
        let r = json(
            200,
            r#"{"status":"UP","components":{"broker":{"status":"UP","components":{"us1":{"status":"UP"},"us2":{"status":"DOWN"}}}}}"#,
        );
        assert_eq!(check(&r, "broker/us2").status, Critical);
        // The service's own aggregate is trusted; the checks are shown.
        assert_eq!(r.status, Ok);
    }

    #[test]
    fn ietf_health_json() {
        let body = r#"{"status":"warn","version":"1","releaseId":"1.2.2","checks":{
            "cassandra:responseTime":[{"componentId":"dfd6cf2b","status":"pass","observedValue":250,"observedUnit":"ms"}],
            "cassandra:connections":[{"componentId":"a","status":"warn","output":"pool nearly full"},
                                     {"componentId":"b","status":"pass"}]}}"#;
        let r = classify(
            &HttpAnswer {
                status: 200,
                content_type: Some("application/health+json"),
                body: body.as_bytes(),
                truncated: false,
            },
            None,
        );
        assert_eq!(r.status, Degraded);
        assert_eq!(r.version.as_deref(), Some("1.2.2"));
        assert_eq!(check(&r, "cassandra:responseTime").detail, "250ms");
        assert_eq!(check(&r, "cassandra:connections#a").status, Degraded);
        assert_eq!(
            check(&r, "cassandra:connections#a").detail,
            "pool nearly full"
        );
        assert_eq!(
            json(503, r#"{"status":"fail","output":"db down"}"#).status,
            Critical
        );
        assert_eq!(json(200, r#"{"status":"pass"}"#).status, Ok);
    }

    #[test]
    fn aspnet_core() {
        assert_eq!(text(200, "Healthy").status, Ok);
        assert_eq!(text(200, "Degraded").status, Degraded);
        assert_eq!(text(503, "Unhealthy").status, Critical);
        let body = r#"{"status":"Degraded","totalDuration":"00:00:00.0155","entries":{
            "sql":{"data":{},"duration":"00:00:00.01","status":"Healthy","tags":[]},
            "redis":{"data":{},"description":"slow ping","duration":"00:00:00.005","status":"Degraded","tags":[]}}}"#;
        let r = json(200, body);
        assert_eq!(r.status, Degraded);
        assert_eq!(check(&r, "redis").status, Degraded);
        assert!(check(&r, "redis").detail.starts_with("slow ping"));
    }

    #[test]
    fn kubernetes_text() {
        assert_eq!(text(200, "ok").status, Ok);
        let verbose = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-informers ok\nreadyz check failed\n";
        let r = text(500, verbose);
        assert_eq!(r.status, Critical);
        assert_eq!(r.checks.len(), 4);
        assert_eq!(check(&r, "etcd").status, Critical);
        assert_eq!(check(&r, "etcd").detail, "failed: reason withheld");
        // A 200 that lists a failed check is still not ok.
        assert_eq!(text(200, verbose).status, Critical);
        let passed = "[+]ping ok\n[+]etcd ok\nreadyz check passed";
        assert_eq!(text(200, passed).status, Ok);
    }

    #[test]
    fn status_code_and_body_both_count() {
        // A 503 is never ok, whatever the body says.
        assert_eq!(json(503, r#"{"status":"ok"}"#).status, Critical);
        // A 200 whose body says DOWN is not ok.
        assert_eq!(json(200, r#"{"status":"DOWN"}"#).status, Critical);
        assert_eq!(json(200, r#"{"status":"degraded"}"#).status, Degraded);
        // 4xx: misconfigured endpoint, health not confirmed.
        assert_eq!(text(404, "not found").status, Critical);
        // An empty 200 or 204 is ok: the status code is all there is.
        assert_eq!(text(200, "").status, Ok);
        assert_eq!(text(204, "").status, Ok);
    }

    #[test]
    fn broken_bodies() {
        let r = json(200, r#"{"status": "ok", "#);
        assert_eq!(r.status, Degraded);
        assert!(r.summary.contains("invalid JSON"), "{}", r.summary);

        let r = classify(
            &HttpAnswer {
                status: 200,
                content_type: Some("application/json"),
                body: br#"{"status":"ok","pad":"xxxx"#,
                truncated: true,
            },
            None,
        );
        assert_eq!(r.status, Degraded);
        assert!(r.summary.contains("truncated"), "{}", r.summary);

        let html = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        let r = classify(
            &HttpAnswer {
                status: 502,
                content_type: Some("text/html"),
                body: html.as_bytes(),
                truncated: false,
            },
            None,
        );
        assert_eq!(r.status, Critical);
        assert!(
            r.summary.contains("HTML page \"502 Bad Gateway\""),
            "{}",
            r.summary
        );

        // Unknown text on a 200: the status code decides.
        assert_eq!(
            text(200, "Everything is fine, thanks for asking").status,
            Ok
        );
        // An unrecognised status word is not ok.
        let r = json(200, r#"{"status":"purple"}"#);
        assert_eq!(r.status, Degraded);
        assert!(r.summary.contains("unrecognised status"), "{}", r.summary);
    }

    #[test]
    fn custom_mapping() {
        let mapping = StatusMapping {
            field: "/health/state".into(),
            ok: vec!["GREEN".into()],
            degraded: vec!["YELLOW".into()],
            critical: vec!["RED".into()],
            unreachable: vec![],
        };
        let go = |code: u16, body: &str| {
            classify(
                &HttpAnswer {
                    status: code,
                    content_type: None,
                    body: body.as_bytes(),
                    truncated: false,
                },
                Some(&mapping),
            )
        };
        assert_eq!(go(200, r#"{"health":{"state":"green"}}"#).status, Ok);
        assert_eq!(go(200, r#"{"health":{"state":"YELLOW"}}"#).status, Degraded);
        assert_eq!(go(200, r#"{"health":{"state":"RED"}}"#).status, Critical);
        // The mapping cannot make a 503 ok.
        assert_eq!(go(503, r#"{"health":{"state":"GREEN"}}"#).status, Critical);
        let r = go(200, r#"{"health":{"state":"BLUE"}}"#);
        assert_eq!(r.status, Degraded);
        assert!(r.summary.contains("not in the mapping"));
        let r = go(200, r#"{"other":1}"#);
        assert_eq!(r.status, Degraded);
        assert!(r.summary.contains("no field /health/state"));
    }

    #[test]
    fn status_words() {
        assert_eq!(word_status("OUT-OF-SERVICE"), Some(Critical));
        assert_eq!(word_status("error: timeout"), Some(Critical));
        assert_eq!(word_status(" Healthy "), Some(Ok));
        assert_eq!(word_status("purple"), None);
        assert!(Unreachable > Critical && Critical > Degraded && Degraded > Ok);
    }

    #[test]
    fn django_health_check_lists_each_check_with_its_own_status() {
        // django-health-check 4: `?format=json`, one entry per check; the
        // view answers 500 when a critical check has errors.
        let r = json(
            500,
            r#"{"Cache(alias='default')": "OK", "Database(alias='default')": "Unavailable: Unable to connect to database", "Disk(path='/', max_disk_usage_percent=90.0)": "Warning: Disk usage exceeds 90.0%", "Storage(alias='default')": "OK"}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(r.checks.len(), 4);
        assert_eq!(check(&r, "Cache(alias='default')").status, Ok);
        let db = check(&r, "Database(alias='default')");
        assert_eq!(db.status, Critical);
        assert_eq!(db.detail, "Unavailable: Unable to connect to database");
        let disk = check(&r, "Disk(path='/', max_disk_usage_percent=90.0)");
        assert_eq!(disk.status, Degraded);
        assert!(
            r.summary.contains("Database(alias='default') critical"),
            "{}",
            r.summary
        );

        // Before 4.0: "working", lower-case kinds, several errors a line each.
        let r = json(
            200,
            r#"{"DatabaseBackend": "working", "CacheBackend": "service warning: slow\nunavailable: timeout", "DiskUsage": "working"}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "DatabaseBackend").status, Ok);
        assert_eq!(check(&r, "CacheBackend").status, Critical);
        assert_eq!(check(&r, "CacheBackend").detail, "service warning: slow");

        let r = json(
            200,
            r#"{"DatabaseBackend": "working", "MigrationsHealthCheck": "OK"}"#,
        );
        assert_eq!((r.status, r.checks.len()), (Ok, 2));
        // A map that is not one of these says nothing about health.
        let r = json(200, r#"{"app": "web", "version": "1.2.3"}"#);
        assert!(r.checks.is_empty());
        assert_eq!(r.status, Ok);
    }

    #[test]
    fn py_healthcheck_results_are_checks() {
        let ok = json(
            200,
            r#"{"hostname": "web-7f9c", "status": "success", "timestamp": 1764412800.12, "results": [{"checker": "redis_available", "output": "redis ok", "passed": true, "timestamp": 1764412800.1, "expires": 1764412827.1}, {"checker": "db_available", "output": "db ok", "passed": true, "timestamp": 1764412800.1, "expires": 1764412827.1}]}"#,
        );
        assert_eq!(ok.status, Ok);
        assert_eq!(ok.checks.len(), 2);
        assert_eq!(check(&ok, "redis_available").detail, "redis ok");
        let bad = json(
            500,
            r#"{"hostname": "web-7f9c", "status": "failure", "timestamp": 1764412800.12, "results": [{"checker": "redis_available", "output": "redis ok", "passed": true, "timestamp": 1764412800.1, "expires": 1764412827.1}, {"checker": "db_available", "output": "could not connect to server: Connection refused", "passed": false, "timestamp": 1764412800.1, "expires": 1764412804.1}]}"#,
        );
        assert_eq!(bad.status, Critical);
        assert_eq!(check(&bad, "redis_available").status, Ok);
        let db = check(&bad, "db_available");
        assert_eq!(db.status, Critical);
        assert_eq!(db.detail, "could not connect to server: Connection refused");
    }

    #[test]
    fn health_connect_checks_have_a_state() {
        let r = json(
            503,
            r#"{"status":"DOWN","checks":[{"name":"PingCheck HEAD:https://db.internal:443/","state":"UP","data":{"reason":""}},{"name":"ShutdownCheck","state":"DOWN","data":{"reason":"queue broker unreachable"}}]}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(
            check(&r, "PingCheck HEAD:https://db.internal:443/").status,
            Ok
        );
        let down = check(&r, "ShutdownCheck");
        assert_eq!(down.status, Critical);
        assert_eq!(down.detail, "queue broker unreachable");

        // Starting: answering but not ready; stopping: on its way out.
        let r = json(
            200,
            r#"{"status":"STARTING","checks":[{"name":"StartupCheck","state":"STARTING","data":{"reason":"warming caches"}}]}"#,
        );
        assert_eq!(r.status, Degraded);
        assert_eq!(check(&r, "StartupCheck").status, Degraded);
        let r = json(
            503,
            r#"{"status":"STOPPING","checks":[{"name":"ShutdownCheck","state":"STOPPING","data":{"reason":"SIGTERM received"}}]}"#,
        );
        assert_eq!(r.status, Critical);
        assert_eq!(check(&r, "ShutdownCheck").status, Critical);
    }
}
