//! Paging people, behind one trait: PagerDuty's Events API v2 (trigger,
//! acknowledge, resolve under one deduplication key per incident; the
//! acknowledgements read back through its REST API), Opsgenie's Alert API
//! (one alert per incident, its alias the key; each level's teams added as
//! responders), or the team's command. A page that was not accepted is an
//! error, never a quiet success; no answer or error holds a secret (a
//! routing key, a token, a GenieKey).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use super::command::{self, CommandError};
use super::{BoxFuture, failed_to_send};
use crate::config::Secret;
use crate::config::escalation::{EscalationConfig, EscalationKind, Level};

/// One incident's page, at one level of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The deduplication key (PagerDuty) or alias (Opsgenie), one per
    /// incident and the same at every level: `backstop/web/12`.
    pub key: String,
    /// The chain's level (0: the first). Acknowledging or resolving acts
    /// on every level paged so far, `0..=level`.
    pub level: usize,
    /// One line, as the paged person's phone shows it.
    pub summary: String,
    /// 1 (the worst) to 3; past 3 is paged as 3.
    pub severity: u8,
    pub service: String,
    /// The host paging.
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAct {
    Trigger,
    Acknowledge,
    Resolve,
}

impl PageAct {
    /// PagerDuty's `event_action`, and the command's `BACKSTOP_PAGE_ACTION`.
    pub fn name(self) -> &'static str {
        match self {
            PageAct::Trigger => "trigger",
            PageAct::Acknowledge => "acknowledge",
            PageAct::Resolve => "resolve",
        }
    }

    fn undone(self) -> &'static str {
        match self {
            PageAct::Trigger => "the page was not sent",
            PageAct::Acknowledge => "the acknowledgement was not sent",
            PageAct::Resolve => "the resolve was not sent",
        }
    }
}

/// Someone acknowledged the page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack {
    /// Who, as the service names them (`Alice`, `alice@example.com`).
    pub by: Option<String>,
    /// When (RFC 3339), when the service says.
    pub at: Option<String>,
}

pub trait Pager: Send + Sync {
    /// Trigger, acknowledge or resolve; the answer is what happened, line
    /// by line (no secret in it).
    fn send(&self, page: &Page, act: PageAct) -> BoxFuture<'_, Result<Vec<String>, PageError>>;
    /// Whether someone acknowledged the page (`None`: not yet).
    fn acknowledged(&self, page: &Page) -> BoxFuture<'_, Result<Option<Ack>, PageError>>;
}

const UNREAD: &str = "acknowledgements were not read";

/// Why a page was not sent, or its acknowledgement not read. No variant
/// holds a secret: a routing key, a token or a key never reaches these words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("the escalation chain has no level {}: it has {levels}", .level + 1)]
    NoLevel { level: usize, levels: usize },
    #[error("${var} is not set: {undone}")]
    NotSet { var: String, undone: &'static str },
    #[error(
        "PagerDuty acknowledgements cannot be read: ${0} (a REST API token) is not set; pages are still sent"
    )]
    AcksUnreadable(String),
    #[error("cannot create the HTTP client: {0}")]
    Client(String),
    /// `PagerDuty: cannot connect; the page was not sent`.
    #[error("{who}: {why}; {undone}")]
    Unsent {
        who: &'static str,
        why: &'static str,
        undone: &'static str,
    },
    #[error("{who} refused the {what} (HTTP {code}): check ${var}")]
    KeyRefused {
        who: &'static str,
        what: &'static str,
        code: u16,
        var: String,
    },
    #[error("{who} is rate limiting (HTTP 429, Retry-After {}): {undone}; try again", .retry.map_or("not given".to_string(), |s| format!("{s}s")))]
    RateLimited {
        who: &'static str,
        retry: Option<u64>,
        undone: &'static str,
    },
    #[error("{who} is still rate limiting (HTTP 429 twice): {undone}; try again")]
    StillRateLimited {
        who: &'static str,
        undone: &'static str,
    },
    /// Its own words, as far as they go (any secret in them masked).
    #[error("{}", format!("{} answered HTTP {} {}", .who, .code, .why).trim())]
    Refused {
        who: &'static str,
        code: u16,
        why: String,
    },
    /// A success that does not say what a success says.
    #[error("{who} answered HTTP {code} without {missing}")]
    Unreadable {
        who: &'static str,
        code: u16,
        missing: &'static str,
    },
    #[error("`{argv}` exited with {}", .code.map_or("a signal".to_string(), |c| c.to_string()))]
    Exited { argv: String, code: Option<i32> },
    #[error(
        "`{argv}` answered {answer:?} to status: expected \"acknowledged by NAME\" or \"unacknowledged\""
    )]
    StatusUnclear { argv: String, answer: String },
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the configuration is not a {0} escalation")]
    Mismatch(&'static str),
}

/// The longest a Retry-After is honoured before the step fails instead
/// (a person can press again; an incident must not hang on a pager).
const LONGEST_WAIT: Duration = Duration::from_secs(10);
/// A command paging; its status is asked at every poll, so it is shorter.
const COMMAND_TIME: Duration = Duration::from_secs(60);
const STATUS_TIME: Duration = Duration::from_secs(30);

pub fn build(cfg: &EscalationConfig) -> Arc<dyn Pager> {
    let secrets = cfg.secrets();
    match &cfg.kind {
        EscalationKind::PagerDuty { .. } => Arc::new(PagerDuty {
            cfg: cfg.clone(),
            secrets,
        }),
        EscalationKind::Opsgenie { .. } => Arc::new(Opsgenie {
            cfg: cfg.clone(),
            secrets,
        }),
        EscalationKind::Command { .. } => Arc::new(Command(cfg.clone())),
    }
}

fn level<'a>(cfg: &'a EscalationConfig, page: &Page) -> Result<&'a Level, PageError> {
    cfg.chain.get(page.level).ok_or(PageError::NoLevel {
        level: page.level,
        levels: cfg.chain.len(),
    })
}

fn client() -> Result<reqwest::Client, PageError> {
    super::api_client().map_err(|e| PageError::Client(e.to_string()))
}

/// `base` with `segments` appended, each percent-encoded (a key's `/`
/// becomes `%2F`: `backstop/web/12` is one segment, not three).
fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut u = base.clone();
    if let Ok(mut path) = u.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    u
}

/// A service's words with every secret masked: an error may echo the body
/// it was sent, and a PagerDuty body holds the routing key.
/// Masked first, then cut: a cut through a key would leave its start.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "***");
    }
    out.chars().take(200).collect()
}

/// At most `max` characters, an ellipsis marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// An answer other than 429.
struct Answer {
    code: u16,
    body: Value,
}

/// Send what `request` builds; a 429 with a Retry-After of at most
/// [`LONGEST_WAIT`] is waited out once, then it is an error.
async fn exchange(
    who: &'static str,
    undone: &'static str,
    request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Answer, PageError> {
    let client = client()?;
    let mut waited = false;
    loop {
        let answer = request(&client)
            .send()
            .await
            .map_err(|e| PageError::Unsent {
                who,
                why: failed_to_send(&e),
                undone,
            })?;
        let code = answer.status().as_u16();
        let retry = answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = answer.text().await.unwrap_or_default();
        match code {
            429 if !waited => match retry.map(Duration::from_secs) {
                Some(wait) if wait <= LONGEST_WAIT => {
                    waited = true;
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(PageError::RateLimited { who, retry, undone }),
            },
            429 => return Err(PageError::StillRateLimited { who, undone }),
            _ => {
                let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                return Ok(Answer { code, body });
            }
        }
    }
}

/// The words at `pointer`: a string, an array's items or an object's
/// values (Opsgenie's `errors` is `{"message": "…"}`, PagerDuty's a list).
fn words(body: &Value, pointer: &str) -> Vec<String> {
    match body.pointer(pointer) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        Some(Value::Object(o)) => o
            .values()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// PagerDuty: events to `/v2/enqueue` under each level's routing key;
/// acknowledgements from the REST API's incidents, by the same key.
struct PagerDuty {
    cfg: EscalationConfig,
    secrets: Vec<String>,
}

/// SEV1 wakes people; past SEV3 is still a page, so the least urgent that pages.
fn pd_severity(sev: u8) -> &'static str {
    match sev {
        0 | 1 => "critical",
        2 => "error",
        _ => "warning",
    }
}

impl PagerDuty {
    async fn event(&self, page: &Page, act: PageAct) -> Result<Vec<String>, PageError> {
        let EscalationKind::PagerDuty { api_url, .. } = &self.cfg.kind else {
            return Err(PageError::Mismatch("PagerDuty"));
        };
        level(&self.cfg, page)?;
        // A trigger pages its level; an acknowledgement or a resolve ends
        // every level's incident paged so far (one per integration).
        let levels = match act {
            PageAct::Trigger => &self.cfg.chain[page.level..=page.level],
            PageAct::Acknowledge | PageAct::Resolve => &self.cfg.chain[..=page.level],
        };
        // Every key first: half an acknowledgement is worse than none.
        let mut keyed = Vec::new();
        for l in levels {
            let var = l.routing_key_env.clone().unwrap_or_default();
            let key = l.routing_key.as_ref().ok_or(PageError::NotSet {
                var: var.clone(),
                undone: act.undone(),
            })?;
            keyed.push((l, var, key));
        }
        let url = endpoint(api_url, &["v2", "enqueue"]);
        let mut lines = Vec::new();
        for (l, var, key) in keyed {
            lines.push(self.enqueue(&url, page, act, l, &var, key).await?);
        }
        Ok(lines)
    }

    async fn enqueue(
        &self,
        url: &Url,
        page: &Page,
        act: PageAct,
        l: &Level,
        var: &str,
        key: &Secret,
    ) -> Result<String, PageError> {
        let mut body = json!({
            "routing_key": key.expose(),
            "event_action": act.name(),
            "dedup_key": page.key,
        });
        if act == PageAct::Trigger {
            body["payload"] = json!({
                "summary": clip(&page.summary, 1024),
                "source": page.source,
                "severity": pd_severity(page.severity),
                "component": page.service,
            });
            body["client"] = json!("backstop");
        }
        let answer = exchange("PagerDuty", act.undone(), |c| {
            c.post(url.clone()).json(&body)
        })
        .await?;
        let said = answer.body.get("message").and_then(Value::as_str);
        match answer.code {
            200..=299 => {
                let dedup = answer
                    .body
                    .get("dedup_key")
                    .and_then(Value::as_str)
                    .unwrap_or(&page.key);
                let sev = if act == PageAct::Trigger {
                    format!(", {}", pd_severity(page.severity))
                } else {
                    String::new()
                };
                Ok(format!(
                    "PagerDuty {} {dedup} → {} (${var}{sev}): {} (HTTP {})",
                    act.name(),
                    l.name,
                    said.unwrap_or("accepted"),
                    answer.code
                ))
            }
            code => {
                // `Event object is invalid: 'payload.summary' is missing`.
                let mut why = said.unwrap_or_default().to_string();
                let errors = words(&answer.body, "/errors");
                if !errors.is_empty() {
                    why = format!("{why}: {}", errors.join("; "));
                }
                Err(PageError::Refused {
                    who: "PagerDuty",
                    code,
                    why: scrub(&why, &self.secrets),
                })
            }
        }
    }

    async fn acks(&self, page: &Page) -> Result<Option<Ack>, PageError> {
        let EscalationKind::PagerDuty {
            rest_url,
            token_env,
            token,
            ..
        } = &self.cfg.kind
        else {
            return Err(PageError::Mismatch("PagerDuty"));
        };
        let token = token
            .as_ref()
            .ok_or_else(|| PageError::AcksUnreadable(token_env.clone()))?;
        let mut url = endpoint(rest_url, &["incidents"]);
        url.query_pairs_mut()
            .append_pair("incident_key", page.key.as_str());
        let answer = exchange("PagerDuty", UNREAD, |c| {
            c.get(url.clone())
                .header("Authorization", format!("Token token={}", token.expose()))
                .header("Accept", "application/vnd.pagerduty+json;version=2")
        })
        .await?;
        match answer.code {
            200..=299 => {
                let incidents = answer
                    .body
                    .get("incidents")
                    .and_then(Value::as_array)
                    .ok_or(PageError::Unreadable {
                        who: "PagerDuty",
                        code: answer.code,
                        missing: "its incidents",
                    })?;
                // No incident yet (events are processed asynchronously) is
                // not acknowledged; any level's acknowledgement counts.
                Ok(incidents.iter().find_map(pd_ack))
            }
            401 | 403 => Err(PageError::KeyRefused {
                who: "PagerDuty",
                what: "API token",
                code: answer.code,
                var: token_env.clone(),
            }),
            code => Err(PageError::Refused {
                who: "PagerDuty",
                code,
                why: scrub(
                    &words(&answer.body, "/error/message").join("; "),
                    &self.secrets,
                ),
            }),
        }
    }
}

/// An incident's acknowledgement: its latest, or whoever resolved it (a
/// resolved incident was answered: paging the next level would be noise).
fn pd_ack(incident: &Value) -> Option<Ack> {
    let summary = |v: Option<&Value>| v?.get("summary")?.as_str().map(str::to_string);
    let text = |v: Option<&Value>| v?.as_str().map(str::to_string);
    let latest = incident
        .get("acknowledgements")
        .and_then(Value::as_array)
        .and_then(|a| a.last());
    match (incident.get("status").and_then(Value::as_str), latest) {
        (_, Some(a)) => Some(Ack {
            by: summary(a.get("acknowledger")),
            at: text(a.get("at")),
        }),
        (Some("acknowledged"), None) => Some(Ack::default()),
        (Some("resolved"), None) => Some(Ack {
            by: summary(incident.get("last_status_change_by")),
            at: text(incident.get("last_status_change_at")),
        }),
        _ => None,
    }
}

impl Pager for PagerDuty {
    fn send(&self, page: &Page, act: PageAct) -> BoxFuture<'_, Result<Vec<String>, PageError>> {
        let page = page.clone();
        Box::pin(async move { self.event(&page, act).await })
    }

    fn acknowledged(&self, page: &Page) -> BoxFuture<'_, Result<Option<Ack>, PageError>> {
        let page = page.clone();
        Box::pin(async move { self.acks(&page).await })
    }
}

/// Opsgenie's Alert API, authorised by `Authorization: GenieKey KEY`. Its
/// requests are processed asynchronously: a 202 is "accepted", which is
/// what the evidence says.
struct Opsgenie {
    cfg: EscalationConfig,
    secrets: Vec<String>,
}

fn priority(sev: u8) -> &'static str {
    match sev {
        0 | 1 => "P1",
        2 => "P2",
        _ => "P3",
    }
}

impl Opsgenie {
    fn parts(&self) -> Result<(&Url, &str, &Secret), PageError> {
        let EscalationKind::Opsgenie {
            api_url,
            key_env,
            key,
        } = &self.cfg.kind
        else {
            return Err(PageError::Mismatch("Opsgenie"));
        };
        let key = key.as_ref().ok_or(PageError::NotSet {
            var: key_env.clone(),
            undone: "nothing was sent to Opsgenie",
        })?;
        Ok((api_url, key_env, key))
    }

    /// One POST; the evidence line names its request id.
    async fn post(
        &self,
        url: Url,
        body: Value,
        undone: &'static str,
        what: String,
    ) -> Result<String, PageError> {
        let (_, key_env, key) = self.parts()?;
        let answer = exchange("Opsgenie", undone, |c| {
            c.post(url.clone())
                .header("Authorization", format!("GenieKey {}", key.expose()))
                .json(&body)
        })
        .await?;
        let said = answer.body.get("result").and_then(Value::as_str);
        match answer.code {
            200..=299 => {
                let request = answer
                    .body
                    .get("requestId")
                    .and_then(Value::as_str)
                    .map_or_else(String::new, |r| format!(", request {r}"));
                Ok(format!(
                    "Opsgenie {what}: {} (HTTP {}{request})",
                    said.unwrap_or("accepted"),
                    answer.code
                ))
            }
            401 | 403 => Err(self.refused_key(answer.code, key_env)),
            code => Err(self.refused(code, &answer.body)),
        }
    }

    fn refused_key(&self, code: u16, var: &str) -> PageError {
        PageError::KeyRefused {
            who: "Opsgenie",
            what: "API key",
            code,
            var: var.to_string(),
        }
    }

    /// `Request body is not processable. Please check the errors.: Message can not be empty.`
    fn refused(&self, code: u16, body: &Value) -> PageError {
        let mut why = words(body, "/message").join("; ");
        let errors = words(body, "/errors");
        if !errors.is_empty() {
            why = format!("{why}: {}", errors.join("; "));
        }
        PageError::Refused {
            who: "Opsgenie",
            code,
            why: scrub(&why, &self.secrets),
        }
    }

    async fn act(&self, page: &Page, act: PageAct) -> Result<Vec<String>, PageError> {
        let (api_url, _, _) = self.parts()?;
        let l = level(&self.cfg, page)?;
        let alias = page.key.as_str();
        let by_alias = |action: &str| {
            let mut u = endpoint(api_url, &["v2", "alerts", alias, action]);
            u.query_pairs_mut().append_pair("identifierType", "alias");
            u
        };
        let team = |name: &str| json!({ "name": name, "type": "team" });
        let source = clip(&page.source, 100);
        match act {
            PageAct::Trigger => {
                // Created at the first level; at a later one an open alert
                // of the alias only counts the repeat (its responders are
                // not changed), so the level's teams are added to it. The
                // create still goes first: it opens the alert if the first
                // level's never came to be.
                let body = json!({
                    "message": clip(&page.summary, 130),
                    "alias": alias,
                    "description": format!("{}\n\nservice: {}, from backstop on {}", page.summary, page.service, page.source),
                    "responders": l.responders.iter().map(|t| team(t)).collect::<Vec<_>>(),
                    "priority": priority(page.severity),
                    "source": source,
                    "entity": page.service,
                });
                let what = format!(
                    "create alert {alias} → {} ({}), {}",
                    l.name,
                    l.responders.join(", "),
                    priority(page.severity)
                );
                let mut lines = vec![
                    self.post(
                        endpoint(api_url, &["v2", "alerts"]),
                        body,
                        act.undone(),
                        what,
                    )
                    .await?,
                ];
                if page.level > 0 {
                    for name in &l.responders {
                        let body = json!({
                            "responder": team(name),
                            "source": source,
                            "note": format!("escalated to {} by backstop", l.name),
                        });
                        lines.push(
                            self.post(
                                by_alias("responders"),
                                body,
                                act.undone(),
                                format!("add responder {name} to {alias}"),
                            )
                            .await?,
                        );
                    }
                }
                Ok(lines)
            }
            // One alert for every level: acknowledged or closed once.
            PageAct::Acknowledge | PageAct::Resolve => {
                let (path, did) = if act == PageAct::Acknowledge {
                    ("acknowledge", "acknowledged")
                } else {
                    ("close", "closed")
                };
                let body = json!({
                    "source": source,
                    "note": format!("{did} by backstop on {}", page.source),
                });
                Ok(vec![
                    self.post(
                        by_alias(path),
                        body,
                        act.undone(),
                        format!("{path} alert {alias}"),
                    )
                    .await?,
                ])
            }
        }
    }

    async fn acks(&self, page: &Page) -> Result<Option<Ack>, PageError> {
        let (api_url, key_env, key) = self.parts().map_err(|e| match e {
            PageError::NotSet { var, .. } => PageError::NotSet {
                var,
                undone: UNREAD,
            },
            e => e,
        })?;
        let mut url = endpoint(api_url, &["v2", "alerts", &page.key]);
        url.query_pairs_mut().append_pair("identifierType", "alias");
        let answer = exchange("Opsgenie", UNREAD, |c| {
            c.get(url.clone())
                .header("Authorization", format!("GenieKey {}", key.expose()))
        })
        .await?;
        match answer.code {
            200..=299 => {
                let data = answer.body.get("data").ok_or(PageError::Unreadable {
                    who: "Opsgenie",
                    code: answer.code,
                    missing: "the alert's data",
                })?;
                Ok(og_ack(data))
            }
            // The create is processed asynchronously: no alert yet.
            404 => Ok(None),
            401 | 403 => Err(self.refused_key(answer.code, key_env)),
            code => Err(self.refused(code, &answer.body)),
        }
    }
}

/// The alert's acknowledgement (or whoever closed it). `ackTime` counts
/// milliseconds from its creation.
fn og_ack(data: &Value) -> Option<Ack> {
    let text = |p: &str| data.pointer(p).and_then(Value::as_str).map(str::to_string);
    let at = |ms: Option<u64>| -> Option<String> {
        let created = humantime::parse_rfc3339_weak(data.get("createdAt")?.as_str()?).ok()?;
        Some(humantime::format_rfc3339_seconds(created + Duration::from_millis(ms?)).to_string())
    };
    if data.get("acknowledged").and_then(Value::as_bool) == Some(true) {
        return Some(Ack {
            by: text("/report/acknowledgedBy").or_else(|| text("/owner")),
            at: at(data.pointer("/report/ackTime").and_then(Value::as_u64)),
        });
    }
    if data.get("status").and_then(Value::as_str) == Some("closed") {
        return Some(Ack {
            by: text("/report/closedBy"),
            at: at(data.pointer("/report/closeTime").and_then(Value::as_u64)),
        });
    }
    None
}

impl Pager for Opsgenie {
    fn send(&self, page: &Page, act: PageAct) -> BoxFuture<'_, Result<Vec<String>, PageError>> {
        let page = page.clone();
        Box::pin(async move { self.act(&page, act).await })
    }

    fn acknowledged(&self, page: &Page) -> BoxFuture<'_, Result<Option<Ack>, PageError>> {
        let page = page.clone();
        Box::pin(async move { self.acks(&page).await })
    }
}

/// The team's program: the action, key, summary, severity and the level's
/// target in its environment; its stdout is the evidence.
struct Command(EscalationConfig);

impl Command {
    async fn run(
        &self,
        page: &Page,
        action: &str,
        time: Duration,
    ) -> Result<(String, &str, command::Ran), PageError> {
        let EscalationKind::Command { argv } = &self.0.kind else {
            return Err(PageError::Mismatch("command"));
        };
        let l = level(&self.0, page)?;
        let severity = page.severity.to_string();
        let vars = [
            ("BACKSTOP_PAGE_ACTION", action),
            ("BACKSTOP_PAGE_KEY", page.key.as_str()),
            ("BACKSTOP_PAGE_SUMMARY", page.summary.as_str()),
            ("BACKSTOP_PAGE_SEVERITY", severity.as_str()),
            ("BACKSTOP_PAGE_TARGET", l.target.as_str()),
            ("BACKSTOP_SERVICE", page.service.as_str()),
        ];
        let ran = command::run_with_env(argv, time, &vars).await?;
        let shown = command::display(argv);
        if !ran.success() {
            return Err(PageError::Exited {
                argv: shown,
                code: ran.code,
            });
        }
        Ok((shown, l.target.as_str(), ran))
    }
}

/// What `status` printed: its last line that says something.
fn status_answer(stdout: &str) -> &str {
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

impl Pager for Command {
    fn send(&self, page: &Page, act: PageAct) -> BoxFuture<'_, Result<Vec<String>, PageError>> {
        let page = page.clone();
        Box::pin(async move {
            let (shown, target, ran) = self.run(&page, act.name(), COMMAND_TIME).await?;
            let mut lines = vec![format!("`{shown}` {} {} → {target}", act.name(), page.key)];
            lines.extend(
                ran.stdout
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(8)
                    .map(str::to_string),
            );
            Ok(lines)
        })
    }

    fn acknowledged(&self, page: &Page) -> BoxFuture<'_, Result<Option<Ack>, PageError>> {
        let page = page.clone();
        Box::pin(async move {
            let (shown, _, ran) = self.run(&page, "status", STATUS_TIME).await?;
            let answer = status_answer(&ran.stdout);
            if answer == "unacknowledged" {
                return Ok(None);
            }
            if let Some(rest) = answer.strip_prefix("acknowledged") {
                let by = rest
                    .trim()
                    .strip_prefix("by ")
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty());
                if rest.is_empty() || by.is_some() {
                    return Ok(Some(Ack { by, at: None }));
                }
            }
            Err(PageError::StatusUnclear {
                argv: shown,
                answer: answer.chars().take(80).collect(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_path_segment_and_secrets_are_masked() {
        let base = Url::parse("https://api.opsgenie.com").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            endpoint(&base, &["v2", "alerts", "backstop/web/12", "close"]).as_str(),
            "https://api.opsgenie.com/v2/alerts/backstop%2Fweb%2F12/close"
        );
        assert_eq!(
            scrub("bad routing key abc123", &["abc123".into(), String::new()]),
            "bad routing key ***"
        );
        // A key across the cut is masked whole, not left half.
        let key = "k".repeat(32);
        let long = format!("{}{key}", "x".repeat(190));
        assert_eq!(scrub(&long, &[key]), format!("{}***", "x".repeat(190)));
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(
            status_answer("checking\nacknowledged by Alice\n\n"),
            "acknowledged by Alice"
        );
    }

    #[test]
    fn an_opsgenie_ack_time_counts_from_creation() {
        let data = json!({
            "acknowledged": true,
            "createdAt": "2017-03-21T20:32:52.353Z",
            "owner": "bob@example.com",
            "report": { "ackTime": 15702, "acknowledgedBy": "alice@example.com" },
        });
        assert_eq!(
            og_ack(&data),
            Some(Ack {
                by: Some("alice@example.com".into()),
                at: Some("2017-03-21T20:33:08Z".into()),
            })
        );
        assert_eq!(
            og_ack(&json!({"acknowledged": false, "status": "open"})),
            None
        );
    }
}
