//! HTTP health probes: one shared client (connections are reused), every probe
//! bounded in time and in the bytes it reads, and classified by core.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::http1;
use crate::config::EndpointConfig;
use crate::core::health::{self, HealthReport, HttpAnswer, StatusMapping};

const USER_AGENT: &str = concat!("backstop/", env!("CARGO_PKG_VERSION"), " (health probe)");
const ACCEPT: &str = "application/health+json, application/json;q=0.9, */*;q=0.5";

/// Bytes of a health answer we read; the rest is dropped unread. Health
/// documents are small; a 64 MiB answer must not cost 64 MiB.
pub const BODY_CAP: usize = 256 * 1024;

/// Redirects followed before we call it a loop.
pub const MAX_REDIRECTS: usize = 5;

/// What to probe and how.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    pub url: Url,
    pub timeout: Duration,
    pub headers: HeaderMap,
    pub mapping: Option<StatusMapping>,
}

impl ProbeSpec {
    pub fn new(url: Url, timeout: Duration) -> Self {
        ProbeSpec {
            url,
            timeout,
            headers: HeaderMap::new(),
            mapping: None,
        }
    }

    pub fn from_config(ep: &EndpointConfig) -> Self {
        let mut headers = HeaderMap::new();
        for (name, value) in &ep.headers {
            // Both were validated when the configuration was loaded.
            if let (Ok(n), Ok(mut v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value.expose()),
            ) {
                v.set_sensitive(true);
                headers.insert(n, v);
            }
        }
        ProbeSpec {
            url: ep.url.clone(),
            timeout: ep.timeout,
            headers,
            mapping: ep.format.clone(),
        }
    }
}

/// The outcome of one probe.
#[derive(Clone, Debug)]
pub struct Probed {
    pub report: HealthReport,
    pub latency_ms: f64,
}

/// Probes health endpoints. Cheap to clone; clones share their connections.
///
/// Plain-HTTP endpoints go through `http1`, the probes' own lean client;
/// everything else through reqwest: TLS, credentials in the URL, a redirect
/// (the probe is made again by reqwest, which follows it), and every URL
/// when a proxy is set in the environment (reqwest honours it).
#[derive(Clone, Debug)]
pub struct Prober {
    client: reqwest::Client,
    own: Option<Arc<http1::Pool>>,
}

impl Prober {
    pub fn new() -> anyhow::Result<Self> {
        let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
        let mut prober = Prober::general()?;
        if !proxied {
            prober.own = Some(Arc::default());
        }
        Ok(prober)
    }

    /// Every probe through reqwest: what `new` does behind a proxy, and in
    /// tests the reference the lean client is held to.
    pub fn general() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Prober { client, own: None })
    }

    /// Connections the lean client keeps open now.
    pub fn kept(&self) -> usize {
        self.own.as_ref().map_or(0, |pool| pool.kept())
    }

    /// Probe once. Never fails: every problem becomes a report, and the whole
    /// probe — connect, headers, body — finishes within `spec.timeout`.
    pub async fn probe(&self, spec: &ProbeSpec) -> Probed {
        let started = Instant::now();
        let mut got_headers = None;
        let outcome = tokio::time::timeout(spec.timeout, self.fetch(spec, &mut got_headers)).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let report = match outcome {
            Ok(report) => report,
            Err(_) => match got_headers {
                Some(code) => HealthReport::unreachable(format!(
                    "HTTP {code}, but the body did not finish within {}",
                    crate::core::time::human(spec.timeout)
                )),
                None => HealthReport::unreachable(format!(
                    "no answer within {}",
                    crate::core::time::human(spec.timeout)
                )),
            },
        };
        Probed {
            report: masked(report, &spec.headers),
            latency_ms,
        }
    }

    async fn fetch(&self, spec: &ProbeSpec, got_headers: &mut Option<u16>) -> HealthReport {
        let defaults = [("user-agent", USER_AGENT), ("accept", ACCEPT)];
        if let Some(pool) = &self.own
            && let Some(request) = http1::Request::new(&spec.url, &spec.headers, &defaults)
        {
            match http1::get(pool, &request, BODY_CAP, got_headers).await {
                Ok(answer) if !answer.redirect => {
                    let answer = HttpAnswer {
                        status: answer.status,
                        content_type: answer.content_type.as_deref(),
                        body: &answer.body,
                        truncated: answer.truncated,
                    };
                    return health::classify(&answer, spec.mapping.as_ref());
                }
                Ok(_) => *got_headers = None,
                Err(failure) => return describe_failure(failure),
            }
        }
        self.fetch_general(spec, got_headers)
            .await
            .unwrap_or_else(|e| describe_error(&e))
    }

    async fn fetch_general(
        &self,
        spec: &ProbeSpec,
        got_headers: &mut Option<u16>,
    ) -> Result<HealthReport, reqwest::Error> {
        let mut request = self
            .client
            .get(spec.url.clone())
            .headers(spec.headers.clone());
        // An endpoint's own Accept replaces ours (`header` would add a second).
        if !spec.headers.contains_key(reqwest::header::ACCEPT) {
            request = request.header(reqwest::header::ACCEPT, ACCEPT);
        }
        let mut resp = request.send().await?;
        let status = resp.status().as_u16();
        *got_headers = Some(status);
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > BODY_CAP {
                body.extend_from_slice(&chunk[..BODY_CAP - body.len()]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        // Dropping `resp` here closes a connection whose body we did not finish.
        let answer = HttpAnswer {
            status,
            content_type: content_type.as_deref(),
            body: &body,
            truncated,
        };
        Ok(health::classify(&answer, spec.mapping.as_ref()))
    }
}

/// The lean client's failures, in the words reqwest's get (`describe_error`).
fn describe_failure(f: http1::Failure) -> HealthReport {
    match f {
        http1::Failure::Dns(e) => HealthReport::unreachable(format!("DNS lookup failed: {e}")),
        http1::Failure::Connect(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            HealthReport::unreachable("connection refused")
        }
        http1::Failure::Connect(e) => HealthReport::unreachable(format!("cannot connect: {e}")),
        http1::Failure::Unanswered(why) => HealthReport::unreachable(format!("no answer: {why}")),
        http1::Failure::Cut(why) => HealthReport::unreachable(format!("answer cut off: {why}")),
        http1::Failure::Invalid(why) => {
            HealthReport::protocol_error(format!("not an HTTP answer: {why}"))
        }
    }
}

/// Turn a reqwest error into words, from its root cause. Never include the
/// URL: reqwest's own message does, and a URL may carry a token.
fn describe_error(e: &reqwest::Error) -> HealthReport {
    let root = root_cause(e);
    if e.is_redirect() {
        return HealthReport::protocol_error(format!(
            "redirect loop: more than {MAX_REDIRECTS} redirects"
        ));
    }
    if e.is_timeout() {
        return HealthReport::unreachable("timed out");
    }
    if e.is_connect() {
        let lower = root.to_ascii_lowercase();
        let what = if lower.contains("refused") {
            "connection refused".to_string()
        } else if lower.contains("dns")
            || lower.contains("resolve")
            || lower.contains("name or service")
        {
            format!("DNS lookup failed: {root}")
        } else if lower.contains("certificate") || lower.contains("tls") {
            format!("TLS failed: {root}")
        } else {
            format!("cannot connect: {root}")
        };
        return HealthReport::unreachable(what);
    }
    if e.is_body() || e.is_decode() {
        return HealthReport::unreachable(format!("answer cut off: {root}"));
    }
    HealthReport::unreachable(root)
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    let mut depth = 0;
    while let Some(next) = cur.source() {
        cur = next;
        depth += 1;
    }
    // The outermost message names the URL; inner causes do not.
    if depth == 0 {
        "request failed".to_string()
    } else {
        cur.to_string()
    }
}

/// What this probe sent in its headers (a token, a password) never comes
/// back out of it: an endpoint that echoes a header into its body would
/// otherwise put the secret in the version, the summary or a check, and so on
/// the screen and in `status`. The whole value is masked, and so is its
/// last word (the token of `Bearer <token>`).
fn masked(mut r: HealthReport, headers: &reqwest::header::HeaderMap) -> HealthReport {
    let mut secrets: Vec<String> = Vec::new();
    for v in headers.values() {
        if let Ok(v) = v.to_str() {
            secrets.push(v.to_string());
            if let Some(last) = v.split_whitespace().last() {
                secrets.push(last.to_string());
            }
        }
    }
    // Short values would mask ordinary words; longest first, whole.
    secrets.retain(|s| s.len() >= 4);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    if secrets.is_empty() {
        return r;
    }
    let mask = |text: &mut String| {
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                *text = text.replace(secret.as_str(), "***");
            }
        }
    };
    if let Some(v) = r.version.as_mut() {
        mask(v);
    }
    mask(&mut r.summary);
    if let Some(e) = r.error.as_mut() {
        mask(e);
    }
    for c in &mut r.checks {
        mask(&mut c.name);
        mask(&mut c.detail);
    }
    r
}
