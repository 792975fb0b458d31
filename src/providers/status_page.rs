//! The public status page, behind one trait: Atlassian Statuspage's REST
//! API (an incident created as the first status, then updated; the
//! affected components' status with it), a generic webhook, or the team's
//! command. A publication is a public change: the executor journals its
//! intent first, and the text is exactly the one previewed. Secrets (the
//! API key, the webhook's URL) never appear in an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::{BoxFuture, failed_to_send};
use crate::config::status_page::{StatusPageConfig, StatusPageKind};
use crate::core::status_page::PublicStatus;

/// One publication.
#[derive(Clone, Debug)]
pub struct Publish {
    /// The incident it belongs to (`web#12`): the page's incident is created
    /// once for it, then updated.
    pub incident: String,
    pub service: String,
    pub status: PublicStatus,
    pub text: String,
    /// The page's incident, as an earlier publication journaled it (after
    /// a restart, this console's memory of it is gone; the journal's is not).
    pub known: Option<String>,
}

/// The page's incident an earlier publication's evidence names
/// (`Statuspage incident ID created: …`), so a restarted console updates
/// it rather than opening a second one.
pub fn page_incident_of(evidence: &[String]) -> Option<String> {
    evidence.iter().find_map(|l| {
        let rest = l.strip_prefix("Statuspage incident ")?;
        Some(rest.split_whitespace().next()?.to_string())
    })
}

pub trait StatusPage: Send + Sync {
    /// Publish; the answer is what happened, line by line (no secret in it).
    fn publish(&self, p: Publish) -> BoxFuture<'_, Result<Vec<String>, PublishError>>;
}

/// Why nothing was published. No variant holds a secret: a URL or a key
/// never reaches these words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("${0} is not set: nothing was published")]
    NotSet(String),
    #[error("cannot create the HTTP client: {0}")]
    Client(String),
    /// `Statuspage: cannot connect`, `status-page webhook: timed out`.
    #[error("{0}: {1}")]
    Unsent(&'static str, &'static str),
    #[error("Statuspage answered without the incident's id")]
    NoId,
    #[error("Statuspage refused the API key (HTTP {code}): check ${var}")]
    KeyRefused { code: u16, var: String },
    #[error("Statuspage is rate limiting (HTTP 429, Retry-After {}): nothing was published; try again", .0.map_or("not given".to_string(), |s| format!("{s}s")))]
    RateLimited(Option<u64>),
    #[error("Statuspage is still rate limiting (HTTP 429 twice): nothing was published; try again")]
    StillRateLimited,
    /// Its own words, as far as they go.
    #[error("{}", format!("{} answered HTTP {} {}", .who, .code, .why).trim())]
    Refused {
        who: &'static str,
        code: u16,
        why: String,
    },
    #[error("`{argv}` exited with {}", .code.map_or("a signal".to_string(), |c| c.to_string()))]
    Exited { argv: String, code: Option<i32> },
    #[error("{0}")]
    Command(String),
    #[error("the configuration is not a {0} status page")]
    Mismatch(&'static str),
}

/// The longest a Retry-After is honoured before the step fails instead
/// (a person can press again; a rollback must not hang on a status page).
const LONGEST_WAIT: Duration = Duration::from_secs(10);

pub fn build(cfg: &StatusPageConfig) -> Arc<dyn StatusPage> {
    match &cfg.kind {
        StatusPageKind::Statuspage { .. } => Arc::new(Statuspage {
            cfg: cfg.clone(),
            incidents: Mutex::new(HashMap::new()),
        }),
        StatusPageKind::Webhook { .. } => Arc::new(Webhook(cfg.clone())),
        StatusPageKind::Command { argv } => Arc::new(Command(argv.clone())),
    }
}

fn client() -> Result<reqwest::Client, PublishError> {
    super::api_client().map_err(|e| PublishError::Client(e.to_string()))
}

/// Atlassian Statuspage (`api.statuspage.io/v1`), authorised by
/// `Authorization: OAuth KEY`.
struct Statuspage {
    cfg: StatusPageConfig,
    /// backstop's incident → the page's incident id.
    incidents: Mutex<HashMap<String, String>>,
}

impl Statuspage {
    async fn send(&self, p: Publish) -> Result<Vec<String>, PublishError> {
        let StatusPageKind::Statuspage {
            api_url,
            page_id,
            key_env,
            key,
            components,
        } = &self.cfg.kind
        else {
            return Err(PublishError::Mismatch("Statuspage"));
        };
        let key = key
            .as_ref()
            .ok_or_else(|| PublishError::NotSet(key_env.clone()))?;
        let component: Option<&str> = components
            .iter()
            .find(|(s, _)| *s == p.service)
            .map(|(_, c)| c.as_str());
        let known = self
            .incidents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&p.incident)
            .cloned()
            .or_else(|| p.known.clone());
        let mut incident = json!({ "status": p.status.name(), "body": p.text });
        if let Some(c) = component {
            incident["component_ids"] = json!([c]);
            incident["components"] = json!({ c: p.status.component() });
        }
        let base = api_url.as_str().trim_end_matches('/');
        let (method, url) = match &known {
            Some(id) => (
                reqwest::Method::PATCH,
                format!("{base}/v1/pages/{page_id}/incidents/{id}"),
            ),
            None => {
                let public = self
                    .cfg
                    .names
                    .iter()
                    .find(|(s, _)| *s == p.service)
                    .map_or(p.service.as_str(), |(_, n)| n.as_str());
                incident["name"] = json!(format!("{public}: errors"));
                (
                    reqwest::Method::POST,
                    format!("{base}/v1/pages/{page_id}/incidents"),
                )
            }
        };
        let body = json!({ "incident": incident });
        let client = client()?;
        let mut waited = false;
        loop {
            let answer = client
                .request(method.clone(), &url)
                .header("Authorization", format!("OAuth {}", key.expose()))
                .json(&body)
                .send()
                .await
                .map_err(|e| PublishError::Unsent("Statuspage", failed_to_send(&e)))?;
            let code = answer.status().as_u16();
            let retry = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let text = answer.text().await.unwrap_or_default();
            match code {
                200..=299 => {
                    let id = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v.get("id")?.as_str().map(str::to_string))
                        .or(known.clone())
                        .ok_or(PublishError::NoId)?;
                    self.incidents
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(p.incident.clone(), id.clone());
                    let did = if known.is_some() {
                        "updated"
                    } else {
                        "created"
                    };
                    let mut lines = vec![format!(
                        "Statuspage incident {id} {did}: {} (HTTP {code})",
                        p.status
                    )];
                    if let Some(c) = component {
                        lines.push(format!("component {c} → {}", p.status.component()));
                    }
                    return Ok(lines);
                }
                429 if !waited => match retry.map(Duration::from_secs) {
                    Some(wait) if wait <= LONGEST_WAIT => {
                        waited = true;
                        tokio::time::sleep(wait).await;
                    }
                    _ => return Err(PublishError::RateLimited(retry)),
                },
                429 => return Err(PublishError::StillRateLimited),
                401 | 403 => {
                    return Err(PublishError::KeyRefused {
                        code,
                        var: key_env.clone(),
                    });
                }
                _ => {
                    // Its own words, as far as they go (never ours: no key in them).
                    let why = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v.get("error").map(|e| e.to_string()))
                        .unwrap_or_default();
                    let why: String = why.chars().take(200).collect();
                    return Err(PublishError::Refused {
                        who: "Statuspage",
                        code,
                        why,
                    });
                }
            }
        }
    }
}

impl StatusPage for Statuspage {
    fn publish(&self, p: Publish) -> BoxFuture<'_, Result<Vec<String>, PublishError>> {
        Box::pin(self.send(p))
    }
}

/// Any endpoint that takes JSON: `{"event": "status-page", …}`.
struct Webhook(StatusPageConfig);

impl StatusPage for Webhook {
    fn publish(&self, p: Publish) -> BoxFuture<'_, Result<Vec<String>, PublishError>> {
        Box::pin(async move {
            let StatusPageKind::Webhook { url_env, url } = &self.0.kind else {
                return Err(PublishError::Mismatch("webhook"));
            };
            let url = url
                .as_ref()
                .ok_or_else(|| PublishError::NotSet(url_env.clone()))?;
            let body = json!({
                "event": "status-page",
                "incident": p.incident,
                "service": p.service,
                "status": p.status.name(),
                "component_status": p.status.component(),
                "text": p.text,
                "source": "backstop",
            });
            let answer = client()?
                .post(url.expose())
                .json(&body)
                .send()
                .await
                .map_err(|e| PublishError::Unsent("status-page webhook", failed_to_send(&e)))?;
            let code = answer.status().as_u16();
            if answer.status().is_success() {
                Ok(vec![format!(
                    "status-page webhook (${url_env}): {} (HTTP {code})",
                    p.status
                )])
            } else {
                Err(PublishError::Refused {
                    who: "status-page webhook",
                    code,
                    why: String::new(),
                })
            }
        })
    }
}

/// The team's program, with the status and the text in its environment.
struct Command(Vec<String>);

impl StatusPage for Command {
    fn publish(&self, p: Publish) -> BoxFuture<'_, Result<Vec<String>, PublishError>> {
        Box::pin(async move {
            let vars = [
                ("BACKSTOP_STATUS", p.status.name()),
                ("BACKSTOP_STATUS_TEXT", p.text.as_str()),
                ("BACKSTOP_SERVICE", p.service.as_str()),
                ("BACKSTOP_INCIDENT", p.incident.as_str()),
            ];
            let argv = &self.0;
            match super::command::run_with_env(argv, Duration::from_secs(60), &vars).await {
                Ok(ran) if ran.success() => {
                    let mut lines =
                        vec![format!("`{}`: {}", super::command::display(argv), p.status)];
                    lines.extend(ran.log_lines(4));
                    Ok(lines)
                }
                Ok(ran) => Err(PublishError::Exited {
                    argv: super::command::display(argv),
                    code: ran.code,
                }),
                Err(e) => Err(PublishError::Command(e.to_string())),
            }
        })
    }
}
