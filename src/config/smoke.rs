//! `[[services.<name>.smoke]]` (the checks a rollback's smoke step runs) and
//! `[[notify]]` (where the team hears about it).

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::{HumanDuration, Secret};

/// One smoke check, against the rollback target.
#[derive(Clone, Debug)]
pub struct SmokeCheck {
    pub name: String,
    pub kind: SmokeKind,
}

#[derive(Clone, Debug)]
pub enum SmokeKind {
    /// A request to the environment's address.
    Http {
        method: String,
        path: String,
        status: u16,
        max_time: Duration,
        body: Vec<BodyCondition>,
    },
    /// A program (no shell) with `TARGET_URL` set; exit 0 passes.
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
}

/// A condition on a JSON answer, as Gatus users write them.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyCondition {
    /// JSON pointer, e.g. `/status`.
    pub pointer: String,
    pub test: BodyTest,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BodyTest {
    Equals(Value),
    Contains(String),
    Exists,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSmoke {
    name: Spanned<String>,
    path: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    status: Option<Spanned<u16>>,
    max_time: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    body: Vec<RawCondition>,
    command: Option<Spanned<Vec<String>>>,
    timeout: Option<Spanned<HumanDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCondition {
    pointer: Spanned<String>,
    equals: Option<toml::Value>,
    contains: Option<String>,
    #[serde(default)]
    exists: bool,
}

pub(crate) fn smoke(
    raw: RawSmoke,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<SmokeCheck> {
    let at = raw.name.span();
    let name = raw.name.into_inner();
    // A smoke test runs inside a rollback a person waits on.
    for (what, d) in [("max_time", &raw.max_time), ("timeout", &raw.timeout)] {
        if let Some(d) = d
            && let Some(e) = super::duration::over(d.get_ref().0, Duration::from_secs(600), what)
        {
            err(d.span(), e);
        }
    }
    match (raw.path, raw.command) {
        (Some(_), Some(c)) => {
            err(
                c.span(),
                format!("smoke check `{name}`: give `path` (an HTTP check) or `command`, not both"),
            );
            None
        }
        (None, None) => {
            err(
                at,
                format!("smoke check `{name}` needs `path` (an HTTP check) or `command`"),
            );
            None
        }
        (None, Some(c)) => {
            for (key, span) in [
                ("method", raw.method.as_ref().map(Spanned::span)),
                ("status", raw.status.as_ref().map(Spanned::span)),
                ("max_time", raw.max_time.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    err(
                        span,
                        format!("`{key}` applies to HTTP checks, not to a command"),
                    );
                    return None;
                }
            }
            if c.get_ref().first().is_none_or(|p| p.trim().is_empty()) {
                err(
                    c.span(),
                    "`command` needs a program to run: [\"program\", \"arg\", …]".into(),
                );
                return None;
            }
            let timeout = raw
                .timeout
                .map_or(Duration::from_secs(120), |t| t.get_ref().0);
            Some(SmokeCheck {
                name,
                kind: SmokeKind::Command {
                    argv: c.into_inner(),
                    timeout,
                },
            })
        }
        (Some(p), None) => {
            if !p.get_ref().starts_with('/') {
                err(
                    p.span(),
                    format!(
                        "path {:?} must start with `/` (it is joined to the environment's address)",
                        p.get_ref()
                    ),
                );
                return None;
            }
            if let Some(t) = &raw.timeout {
                err(
                    t.span(),
                    "`timeout` applies to commands; an HTTP check has `max_time`".into(),
                );
                return None;
            }
            let method = raw
                .method
                .map_or("GET".to_string(), |m| m.get_ref().to_ascii_uppercase());
            if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "OPTIONS") {
                err(
                    at.clone(),
                    format!(
                        "smoke check `{name}`: method {method} is not one a smoke test should send (GET, HEAD, POST, OPTIONS)"
                    ),
                );
                return None;
            }
            let mut body = Vec::new();
            for c in raw.body {
                if !c.pointer.get_ref().starts_with('/') && !c.pointer.get_ref().is_empty() {
                    err(
                        c.pointer.span(),
                        format!(
                            "pointer {:?} must be a JSON pointer such as \"/status\"",
                            c.pointer.get_ref()
                        ),
                    );
                    return None;
                }
                let test = match (c.equals, c.contains, c.exists) {
                    (Some(v), None, false) => {
                        BodyTest::Equals(serde_json::to_value(v).unwrap_or(Value::Null))
                    }
                    (None, Some(s), false) => BodyTest::Contains(s),
                    (None, None, true) => BodyTest::Exists,
                    _ => {
                        err(c.pointer.span(), "a body condition needs exactly one of `equals`, `contains` or `exists = true`".into());
                        return None;
                    }
                };
                body.push(BodyCondition {
                    pointer: c.pointer.into_inner(),
                    test,
                });
            }
            Some(SmokeCheck {
                name,
                kind: SmokeKind::Http {
                    method,
                    path: p.into_inner(),
                    status: raw.status.map_or(200, |s| *s.get_ref()),
                    max_time: raw
                        .max_time
                        .map_or(Duration::from_secs(10), |m| m.get_ref().0),
                    body,
                },
            })
        }
    }
}

/// Where the team is told.
#[derive(Clone, Debug)]
pub struct NotifierConfig {
    pub kind: NotifierKind,
    /// The variable the URL came from (for messages; the URL itself is secret).
    pub url_env: String,
    pub url: Option<Secret>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// A Slack incoming webhook: `{"text": …}`.
    Slack,
    /// Any endpoint taking JSON: `{"event", "service", "text", …}`.
    Webhook,
}

impl NotifierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifierKind::Slack => "slack",
            NotifierKind::Webhook => "webhook",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotifier {
    kind: NotifierKind,
    url_env: Spanned<String>,
}

/// A notifier; its URL is read from the environment now and kept secret. A
/// variable that is not set is not an error here: the notification says so
/// when it is sent, and a rollback is never held up by a message.
pub(crate) fn notifier(
    raw: RawNotifier,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<NotifierConfig> {
    let var = raw.url_env.get_ref();
    let valid = !var.is_empty()
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        err(raw.url_env.span(), "`url_env` names the environment variable that holds the URL (such as SLACK_WEBHOOK_URL); the URL is a secret and never goes in this file".into());
        return None;
    }
    let url = env(var).filter(|u| !u.is_empty()).map(Secret::new);
    Some(NotifierConfig {
        kind: raw.kind,
        url_env: var.clone(),
        url,
    })
}
