//! `[status_page]`: where the public learns about an incident. Secrets
//! (the API key, a webhook's URL) are named by environment variable and
//! never written in the file.
//!
//! ```toml
//! [status_page]
//! kind = "statuspage"                   # Atlassian Statuspage's REST API
//! page_id = "kctbh9vrtdwd"
//! api_key_env = "STATUSPAGE_API_KEY"    # the default
//! components = { web = "8kbf7d35c070" } # service → its component
//! names = { web = "Checkout" }          # service → its public name
//!
//! # or: kind = "webhook", url_env = "STATUS_WEBHOOK_URL"
//! # or: kind = "command", argv = ["./status-page.sh"]  (BACKSTOP_STATUS, BACKSTOP_STATUS_TEXT set)
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::Secret;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStatusPage {
    kind: Spanned<String>,
    page_id: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    api_url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    argv: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    components: BTreeMap<String, String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub enum StatusPageKind {
    Statuspage {
        api_url: Url,
        page_id: String,
        key_env: String,
        key: Option<Secret>,
        /// Service → its Statuspage component id.
        components: Vec<(String, String)>,
    },
    Webhook {
        url_env: String,
        url: Option<Secret>,
    },
    Command {
        argv: Vec<String>,
    },
}

#[derive(Clone, Debug)]
pub struct StatusPageConfig {
    pub kind: StatusPageKind,
    /// Service → its public name.
    pub names: Vec<(String, String)>,
}

impl StatusPageConfig {
    /// How previews and the journal name it (never a secret).
    pub fn describe(&self) -> String {
        match &self.kind {
            StatusPageKind::Statuspage {
                page_id,
                key_env,
                key,
                ..
            } => {
                let unset = if key.is_none() {
                    ", NOT SET: will fail"
                } else {
                    ""
                };
                format!("statuspage (page {page_id}, ${key_env}{unset})")
            }
            StatusPageKind::Webhook { url_env, url } => {
                let unset = if url.is_none() {
                    ", NOT SET: will fail"
                } else {
                    ""
                };
                format!("status-page webhook (${url_env}{unset})")
            }
            StatusPageKind::Command { argv } => {
                format!(
                    "status-page command `{}`",
                    crate::providers::command::display(argv)
                )
            }
        }
    }

    pub fn secrets(&self) -> Vec<String> {
        match &self.kind {
            StatusPageKind::Statuspage { key: Some(k), .. } => vec![k.expose().to_string()],
            StatusPageKind::Webhook { url: Some(u), .. } => vec![u.expose().to_string()],
            _ => Vec::new(),
        }
    }
}

/// An environment variable's name: letters, digits and `_`, not led by a digit.
pub(super) fn var_ok(v: &str) -> bool {
    !v.is_empty()
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !v.starts_with(|c: char| c.is_ascii_digit())
}

pub(crate) fn status_page(
    raw: Option<Spanned<RawStatusPage>>,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<StatusPageConfig> {
    let raw = raw?;
    let span = raw.span();
    let r = raw.into_inner();
    let secret_var = |v: &Option<Spanned<String>>,
                      default: &str,
                      what: &str,
                      err: &mut dyn FnMut(Range<usize>, String)|
     -> Option<(String, Option<Secret>)> {
        let (name, at) = match v {
            Some(v) => (v.get_ref().clone(), v.span()),
            None if !default.is_empty() => (default.to_string(), span.clone()),
            None => {
                err(span.clone(), format!("this status page needs `{what}`"));
                return None;
            }
        };
        if !var_ok(&name) {
            err(
                at,
                format!(
                    "`{what}` names the environment variable that holds the secret (such as STATUSPAGE_API_KEY); the secret never goes in this file"
                ),
            );
            return None;
        }
        let value = env(&name).filter(|s| !s.is_empty()).map(Secret::new);
        Some((name, value))
    };
    let kind = match r.kind.get_ref().as_str() {
        "statuspage" => {
            let Some(page_id) = r.page_id.as_ref().map(|p| p.get_ref().clone()) else {
                err(span, "a \"statuspage\" status page needs `page_id`".into());
                return None;
            };
            let api_url = match &r.api_url {
                Some(u) => match Url::parse(u.get_ref()) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                    _ => {
                        err(u.span(), "`api_url` must be an http(s) URL".into());
                        return None;
                    }
                },
                None => Url::parse("https://api.statuspage.io").ok()?,
            };
            let (key_env, key) =
                secret_var(&r.api_key_env, "STATUSPAGE_API_KEY", "api_key_env", err)?;
            StatusPageKind::Statuspage {
                api_url,
                page_id,
                key_env,
                key,
                components: r.components.into_iter().collect(),
            }
        }
        "webhook" => {
            let (url_env, url) = secret_var(&r.url_env, "", "url_env", err)?;
            StatusPageKind::Webhook { url_env, url }
        }
        "command" => match &r.argv {
            Some(a) if a.get_ref().first().is_some_and(|p| !p.trim().is_empty()) => {
                StatusPageKind::Command {
                    argv: a.get_ref().clone(),
                }
            }
            _ => {
                err(
                    span,
                    "a \"command\" status page needs `argv` (a program and its arguments)".into(),
                );
                return None;
            }
        },
        other => {
            err(
                r.kind.span(),
                format!(
                    "unknown status page kind `{other}`: \"statuspage\", \"webhook\" or \"command\""
                ),
            );
            return None;
        }
    };
    Some(StatusPageConfig {
        kind,
        names: r.names.into_iter().collect(),
    })
}
