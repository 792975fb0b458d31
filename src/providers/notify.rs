//! Telling the team: a Slack incoming webhook, or any endpoint that takes
//! JSON. The URL is a secret: it is never shown, logged or journaled, and no
//! error text contains it. A failed message is reported, never fatal.

use std::time::Duration;

use serde_json::json;

use crate::config::{NotifierConfig, NotifierKind};
use crate::core::runbook::Template;
use crate::core::time::Ts;

/// What one notifier did with one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// `slack ($SLACK_WEBHOOK_URL)`: how the operator knows which one.
    pub via: String,
    pub result: Result<u16, String>,
}

/// The body posted for a message.
pub fn payload(
    kind: NotifierKind,
    template: Template,
    service: &str,
    text: &str,
    by: &str,
    at: Ts,
) -> serde_json::Value {
    match kind {
        NotifierKind::Slack => json!({ "text": text }),
        NotifierKind::Webhook => json!({
            "event": match template {
                Template::RollbackStarted => "rollback-started",
                Template::RollbackCompleted => "rollback-completed",
                Template::StatusUpdate => "status-update",
            },
            "service": service,
            "text": text,
            "by": by,
            "at": at.rfc3339(),
            "source": "backstop",
        }),
    }
}

/// Send to every notifier; one result each (none configured: empty).
pub async fn send_all(
    notifiers: &[NotifierConfig],
    template: Template,
    service: &str,
    text: &str,
    by: &str,
    at: Ts,
) -> Vec<Sent> {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![Sent {
                via: "notifier".into(),
                result: Err(format!("cannot create the HTTP client: {e}")),
            }];
        }
    };
    let mut out = Vec::new();
    for n in notifiers {
        let via = format!("{} (${})", n.kind.as_str(), n.url_env);
        let Some(url) = &n.url else {
            out.push(Sent {
                via,
                result: Err(format!("${} is not set", n.url_env)),
            });
            continue;
        };
        let body = payload(n.kind, template, service, text, by, at);
        let result = match client.post(url.expose()).json(&body).send().await {
            Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            // Never the URL: reqwest's own message contains it.
            Err(e) if e.is_timeout() => Err("timed out".into()),
            Err(e) if e.is_connect() => Err("cannot connect".into()),
            Err(_) => Err("request failed".into()),
        };
        out.push(Sent { via, result });
    }
    out
}
