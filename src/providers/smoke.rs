//! Smoke tests against one environment: HTTP checks with conditions on the
//! status, the time and the JSON body, or a command with `TARGET_URL` set.

use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use crate::config::{BodyCondition, BodyTest, SmokeCheck, SmokeKind};
use crate::providers::command;

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Result {
    pub name: String,
    pub ok: bool,
    /// `200 in 12ms`, `expected 200, got 503`.
    pub detail: String,
}

impl Result {
    pub fn line(&self) -> String {
        format!(
            "{} {}: {}",
            if self.ok { "✓" } else { "✗" },
            self.name,
            self.detail
        )
    }
}

/// Run every check against `base`, in order.
pub async fn run(checks: &[SmokeCheck], base: &Url) -> Vec<Result> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build();
    let mut out = Vec::new();
    for c in checks {
        let r = match (&c.kind, &client) {
            (
                SmokeKind::Http {
                    method,
                    path,
                    status,
                    max_time,
                    body,
                },
                Ok(client),
            ) => http(client, base, method, path, *status, *max_time, body).await,
            (SmokeKind::Http { .. }, Err(e)) => Err(format!("cannot create the HTTP client: {e}")),
            (SmokeKind::Command { argv, timeout }, _) => cmd(argv, *timeout, base).await,
        };
        out.push(match r {
            Ok(detail) => Result {
                name: c.name.clone(),
                ok: true,
                detail,
            },
            Err(detail) => Result {
                name: c.name.clone(),
                ok: false,
                detail,
            },
        });
    }
    out
}

async fn http(
    client: &reqwest::Client,
    base: &Url,
    method: &str,
    path: &str,
    status: u16,
    max_time: Duration,
    body: &[BodyCondition],
) -> std::result::Result<String, String> {
    let url = base
        .join(path.trim_start_matches('/'))
        .map_err(|e| format!("bad path {path:?}: {e}"))?;
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("bad method {method}"))?;
    let started = Instant::now();
    let resp = client
        .request(method, url)
        .timeout(max_time)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {}", crate::core::time::human(max_time))
            } else {
                "cannot connect".to_string()
            }
        })?;
    let code = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "HTTP {code}, but the body did not finish within {}",
                crate::core::time::human(max_time)
            )
        } else {
            "the answer was cut off".to_string()
        }
    })?;
    let took = started.elapsed();
    let ms = crate::core::time::latency(took.as_secs_f64() * 1000.0);
    if code != status {
        return Err(format!("expected HTTP {status}, got {code} in {ms}"));
    }
    if took > max_time {
        return Err(format!(
            "HTTP {code} but in {ms}, over {}",
            crate::core::time::human(max_time)
        ));
    }
    if !body.is_empty() {
        let json: Value = serde_json::from_str(&text)
            .map_err(|_| format!("HTTP {code}, but the body is not JSON"))?;
        for c in body {
            check(&json, c)?;
        }
    }
    Ok(format!("HTTP {code} in {ms}"))
}

fn check(json: &Value, c: &BodyCondition) -> std::result::Result<(), String> {
    let found = json.pointer(&c.pointer);
    match (&c.test, found) {
        (BodyTest::Exists, Some(_)) => Ok(()),
        (BodyTest::Exists, None) => Err(format!("{} is missing", c.pointer)),
        (BodyTest::Equals(want), Some(v)) if v == want => Ok(()),
        (BodyTest::Equals(want), v) => Err(format!(
            "{} is {}, expected {want}",
            c.pointer,
            v.map_or("missing".to_string(), Value::to_string)
        )),
        (BodyTest::Contains(s), Some(v)) => {
            let hay = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            if hay.contains(s.as_str()) {
                Ok(())
            } else {
                Err(format!("{} does not contain {s:?}", c.pointer))
            }
        }
        (BodyTest::Contains(_), None) => Err(format!("{} is missing", c.pointer)),
    }
}

async fn cmd(
    argv: &[String],
    timeout: Duration,
    base: &Url,
) -> std::result::Result<String, String> {
    let ran = command::run_with_env(argv, timeout, &[("TARGET_URL", base.as_str())])
        .await
        .map_err(|e| e.to_string())?;
    if ran.success() {
        Ok(format!("`{}` passed", command::display(argv)))
    } else {
        Err(format!(
            "`{}` exited with {}: {}",
            command::display(argv),
            ran.code.map_or("a signal".into(), |c| c.to_string()),
            ran.last_words()
        ))
    }
}
