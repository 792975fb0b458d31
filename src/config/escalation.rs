//! `[escalation]`: who is paged, in which order, and how long each level
//! has to acknowledge before the next is paged. Secrets (PagerDuty routing
//! keys and API token, the Opsgenie key) are named by environment variable
//! and never written in the file.
//!
//! ```toml
//! [escalation]
//! kind = "pagerduty"                    # PagerDuty's Events API v2
//! # api_url = "https://events.pagerduty.com"
//! # rest_url = "https://api.pagerduty.com"  (acknowledgements are read here)
//! # api_token_env = "PAGERDUTY_API_TOKEN"   (unset: acknowledgements are not read)
//!
//! # or: kind = "opsgenie", api_key_env = "OPSGENIE_API_KEY" (the default),
//! #     api_url = "https://api.opsgenie.com"
//! # or: kind = "command", argv = ["./page.sh"]
//!
//! [[escalation.chain]]
//! name = "payments on-call"             # who, as people read it
//! after = "5m"                          # unacknowledged this long: page the next level
//! routing_key_env = "PD_PAYMENTS_KEY"   # pagerduty: this level's integration
//! responders = ["payments"]             # opsgenie: the teams this level notifies
//! target = "payments"                   # command: BACKSTOP_PAGE_TARGET (default: the name)
//! ```

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::status_page::var_ok;
use super::{HumanDuration, Secret};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEscalation {
    kind: Spanned<String>,
    api_url: Option<Spanned<String>>,
    rest_url: Option<Spanned<String>>,
    api_token_env: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    argv: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    chain: Vec<Spanned<RawLevel>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLevel {
    name: Spanned<String>,
    after: Option<Spanned<HumanDuration>>,
    routing_key_env: Option<Spanned<String>>,
    responders: Option<Spanned<Vec<String>>>,
    target: Option<Spanned<String>>,
}

#[derive(Clone, Debug)]
pub enum EscalationKind {
    PagerDuty {
        /// The Events API v2 (`/v2/enqueue`).
        api_url: Url,
        /// The REST API, where acknowledgements are read.
        rest_url: Url,
        token_env: String,
        /// `None`: acknowledgements cannot be read (paging still works).
        token: Option<Secret>,
    },
    Opsgenie {
        api_url: Url,
        key_env: String,
        key: Option<Secret>,
    },
    Command {
        argv: Vec<String>,
    },
}

/// One level of the chain.
#[derive(Clone, Debug)]
pub struct Level {
    /// Who, as people read it ("payments on-call").
    pub name: String,
    /// How long to wait for an acknowledgement before the next level is
    /// paged (`None` only on the last level).
    pub after: Option<Duration>,
    /// PagerDuty: the variable holding this level's Events v2 routing key.
    pub routing_key_env: Option<String>,
    /// Its value (`None`: not set, paging this level fails).
    pub routing_key: Option<Secret>,
    /// Opsgenie: the teams this level notifies.
    pub responders: Vec<String>,
    /// Command: `BACKSTOP_PAGE_TARGET` (the level's name when not given).
    pub target: String,
}

#[derive(Clone, Debug)]
pub struct EscalationConfig {
    pub kind: EscalationKind,
    /// At least one level, in the order they are paged.
    pub chain: Vec<Level>,
}

impl EscalationConfig {
    /// How previews and the journal name it (never a secret).
    pub fn describe(&self) -> String {
        let levels: Vec<String> = self
            .chain
            .iter()
            .map(|l| match (&l.routing_key_env, &l.routing_key) {
                (Some(var), None) => format!("{} (${var} NOT SET: will fail)", l.name),
                _ => l.name.clone(),
            })
            .collect();
        let levels = levels.join(", then ");
        match &self.kind {
            EscalationKind::PagerDuty {
                token_env, token, ..
            } => {
                let acks = if token.is_none() {
                    format!("; ${token_env} not set: acknowledgements not read")
                } else {
                    String::new()
                };
                format!("pagerduty: {levels}{acks}")
            }
            EscalationKind::Opsgenie { key_env, key, .. } => {
                let unset = if key.is_none() {
                    format!("; ${key_env} NOT SET: will fail")
                } else {
                    String::new()
                };
                format!("opsgenie: {levels}{unset}")
            }
            EscalationKind::Command { argv } => format!(
                "page command `{}`: {levels}",
                crate::providers::command::display(argv)
            ),
        }
    }

    pub fn secrets(&self) -> Vec<String> {
        let shared = match &self.kind {
            EscalationKind::PagerDuty { token: Some(t), .. } => Some(t.expose().to_string()),
            EscalationKind::Opsgenie { key: Some(k), .. } => Some(k.expose().to_string()),
            _ => None,
        };
        let routing = self
            .chain
            .iter()
            .filter_map(|l| l.routing_key.as_ref().map(|k| k.expose().to_string()));
        shared.into_iter().chain(routing).collect()
    }
}

/// An Events API v2 routing key: 32 lowercase letters and digits.
fn looks_like_a_key(v: &str) -> bool {
    v.len() == 32
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_digit())
}

const KINDS: [&str; 3] = ["pagerduty", "opsgenie", "command"];

/// The longest a level may wait for its acknowledgement: past a day the
/// incident is not being escalated, it is being forgotten.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn escalation(
    raw: Option<Spanned<RawEscalation>>,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<EscalationConfig> {
    let raw = raw?;
    let span = raw.span();
    let r = raw.into_inner();
    // A variable's name, checked, and its value (empty counts as unset).
    let secret_var = |v: &Option<Spanned<String>>,
                      default: &str,
                      what: &str,
                      at: Range<usize>,
                      err: &mut dyn FnMut(Range<usize>, String)|
     -> Option<(String, Option<Secret>)> {
        let (name, at) = match v {
            Some(v) => (v.get_ref().clone(), v.span()),
            None => (default.to_string(), at),
        };
        if !var_ok(&name) {
            err(
                at,
                format!(
                    "`{what}` names the environment variable that holds the secret (such as {}); the secret never goes in this file",
                    if default.is_empty() {
                        "PD_PAYMENTS_KEY"
                    } else {
                        default
                    }
                ),
            );
            return None;
        }
        let value = env(&name).filter(|s| !s.is_empty()).map(Secret::new);
        Some((name, value))
    };
    let url = |u: &Option<Spanned<String>>,
               what: &str,
               default: &str,
               err: &mut dyn FnMut(Range<usize>, String)|
     -> Option<Url> {
        match u {
            Some(u) => match Url::parse(u.get_ref()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                _ => {
                    err(
                        u.span(),
                        format!("`{what}` must be an http(s) URL, such as {default:?}"),
                    );
                    None
                }
            },
            None => Url::parse(default).ok(),
        }
    };
    let kind_name = r.kind.get_ref().clone();
    // A key of another kind is a mistake to point at, not to ignore: a
    // routing key under "opsgenie" would page nobody.
    let mut foreign = |field: Option<Range<usize>>, name: &str, wanted: &[&str]| {
        // (An unknown kind is its own error: no list of keys to hold to.)
        if let Some(at) = field
            && KINDS.contains(&kind_name.as_str())
            && !wanted.contains(&kind_name.as_str())
        {
            err(
                at,
                format!("`{name}` does not apply to escalation kind \"{kind_name}\""),
            );
        }
    };
    foreign(
        r.api_url.as_ref().map(Spanned::span),
        "api_url",
        &["pagerduty", "opsgenie"],
    );
    foreign(
        r.rest_url.as_ref().map(Spanned::span),
        "rest_url",
        &["pagerduty"],
    );
    foreign(
        r.api_token_env.as_ref().map(Spanned::span),
        "api_token_env",
        &["pagerduty"],
    );
    foreign(
        r.api_key_env.as_ref().map(Spanned::span),
        "api_key_env",
        &["opsgenie"],
    );
    foreign(r.argv.as_ref().map(Spanned::span), "argv", &["command"]);
    for l in &r.chain {
        let l = l.get_ref();
        foreign(
            l.routing_key_env.as_ref().map(Spanned::span),
            "routing_key_env",
            &["pagerduty"],
        );
        foreign(
            l.responders.as_ref().map(Spanned::span),
            "responders",
            &["opsgenie"],
        );
        foreign(l.target.as_ref().map(Spanned::span), "target", &["command"]);
    }
    // `None` past here: a mistake already said. The chain is checked all
    // the same, so one run names every problem.
    let kind = match kind_name.as_str() {
        "pagerduty" => {
            let api_url = url(&r.api_url, "api_url", "https://events.pagerduty.com", err);
            let rest_url = url(&r.rest_url, "rest_url", "https://api.pagerduty.com", err);
            // Unset, pages are still sent; acknowledgements are not read.
            let token = secret_var(
                &r.api_token_env,
                "PAGERDUTY_API_TOKEN",
                "api_token_env",
                span.clone(),
                err,
            );
            match (api_url, rest_url, token) {
                (Some(api_url), Some(rest_url), Some((token_env, token))) => {
                    Some(EscalationKind::PagerDuty {
                        api_url,
                        rest_url,
                        token_env,
                        token,
                    })
                }
                _ => None,
            }
        }
        "opsgenie" => {
            let api_url = url(&r.api_url, "api_url", "https://api.opsgenie.com", err);
            let key = secret_var(
                &r.api_key_env,
                "OPSGENIE_API_KEY",
                "api_key_env",
                span.clone(),
                err,
            );
            match (api_url, key) {
                (Some(api_url), Some((key_env, key))) => Some(EscalationKind::Opsgenie {
                    api_url,
                    key_env,
                    key,
                }),
                _ => None,
            }
        }
        "command" => match &r.argv {
            Some(a) if a.get_ref().first().is_some_and(|p| !p.trim().is_empty()) => {
                Some(EscalationKind::Command {
                    argv: a.get_ref().clone(),
                })
            }
            _ => {
                err(
                    r.argv.as_ref().map_or(span.clone(), Spanned::span),
                    "a \"command\" escalation needs `argv` (a program and its arguments)".into(),
                );
                None
            }
        },
        other => {
            // No kind: no list of what its levels need.
            err(
                r.kind.span(),
                format!(
                    "unknown escalation kind `{other}`: \"pagerduty\", \"opsgenie\" or \"command\""
                ),
            );
            return None;
        }
    };
    if r.chain.is_empty() {
        err(
            span,
            "an escalation needs at least one level: add [[escalation.chain]] with its `name`"
                .into(),
        );
        return None;
    }
    let last = r.chain.len() - 1;
    let mut chain: Vec<Level> = Vec::new();
    for (i, l) in r.chain.into_iter().enumerate() {
        let at = l.span();
        let l = l.into_inner();
        let name = l.name.get_ref().trim().to_string();
        if name.is_empty() {
            err(
                l.name.span(),
                "a level needs a name people read (\"payments on-call\")".into(),
            );
        } else if chain.iter().any(|c| c.name == name) {
            err(
                l.name.span(),
                format!("level `{name}` is in the chain twice"),
            );
        }
        let after = match &l.after {
            Some(a) if a.get_ref().0.is_zero() => {
                err(a.span(), "`after` must be more than 0s".into());
                None
            }
            Some(a) => {
                if let Some(e) = super::duration::over(a.get_ref().0, LONGEST_WAIT, "after") {
                    err(a.span(), e);
                }
                Some(a.get_ref().0)
            }
            // Every level but the last hands over to the next one: when?
            None if i < last => {
                err(
                    at.clone(),
                    format!(
                        "level `{name}` needs `after` (how long to wait for an acknowledgement before paging the next level, such as \"5m\")"
                    ),
                );
                None
            }
            None => None,
        };
        let (routing_key_env, routing_key) = match (kind_name.as_str(), &l.routing_key_env) {
            // A key pasted in place of its variable's name is a valid name
            // (32 lowercase letters and digits): caught, not looked up.
            ("pagerduty", Some(v)) if looks_like_a_key(v.get_ref()) => {
                err(
                    v.span(),
                    "`routing_key_env` looks like a routing key itself: name the environment variable that holds it (such as PD_PAYMENTS_KEY); the key never goes in this file".into(),
                );
                (None, None)
            }
            ("pagerduty", Some(_)) => {
                match secret_var(&l.routing_key_env, "", "routing_key_env", at.clone(), err) {
                    Some((var, key)) => (Some(var), key),
                    None => (None, None),
                }
            }
            ("pagerduty", None) => {
                err(
                    at.clone(),
                    format!(
                        "level `{name}` needs `routing_key_env`: the environment variable holding its PagerDuty integration's routing key"
                    ),
                );
                (None, None)
            }
            _ => (None, None),
        };
        let responders = match (kind_name.as_str(), &l.responders) {
            ("opsgenie", Some(r))
                if r.get_ref().iter().all(|t| !t.trim().is_empty()) && !r.get_ref().is_empty() =>
            {
                r.get_ref().clone()
            }
            ("opsgenie", r) => {
                err(
                    r.as_ref().map_or(at, Spanned::span),
                    format!(
                        "level `{name}` needs `responders`: the Opsgenie teams it notifies, such as [\"payments\"]"
                    ),
                );
                Vec::new()
            }
            _ => Vec::new(),
        };
        let target = l
            .target
            .as_ref()
            .map_or_else(|| name.clone(), |t| t.get_ref().clone());
        chain.push(Level {
            name,
            after,
            routing_key_env,
            routing_key,
            responders,
            target,
        });
    }
    Some(EscalationConfig { kind: kind?, chain })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::EscalationKind;
    use crate::config::{Config, Diagnostic, parse};

    const SVC: &str = "[services.web.environments.green]\nendpoints = [{ url = \"http://127.0.0.1:1/health\" }]\n";

    fn env(k: &str) -> Option<String> {
        match k {
            "PD_PAYMENTS_KEY" => Some("R0UTINGKEYpayments0000000000000a".into()),
            "PAGERDUTY_API_TOKEN" => Some("u+t0kenvalue".into()),
            "OPSGENIE_API_KEY" => Some("eb243592-faa2-4ba2-a551q-1afdf565c889".into()),
            _ => None,
        }
    }

    fn ok(toml: &str) -> Config {
        match parse(&format!("{SVC}{toml}"), "t.toml", &env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn errors(toml: &str) -> Vec<String> {
        match parse(&format!("{SVC}{toml}"), "t.toml", &env) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d.0.iter().map(Diagnostic::headline).collect(),
        }
    }

    #[test]
    fn a_pagerduty_chain_names_its_keys_by_variable() {
        let c = ok("[escalation]\nkind = \"pagerduty\"\n\
             [[escalation.chain]]\nname = \"payments on-call\"\nafter = \"5m\"\nrouting_key_env = \"PD_PAYMENTS_KEY\"\n\
             [[escalation.chain]]\nname = \"platform lead\"\nrouting_key_env = \"PD_PLATFORM_KEY\"\n");
        let e = c.escalation.as_ref().unwrap();
        let EscalationKind::PagerDuty {
            api_url,
            rest_url,
            token_env,
            token,
        } = &e.kind
        else {
            panic!("{:?}", e.kind)
        };
        assert_eq!(api_url.as_str(), "https://events.pagerduty.com/");
        assert_eq!(rest_url.as_str(), "https://api.pagerduty.com/");
        assert_eq!(token_env, "PAGERDUTY_API_TOKEN");
        assert!(token.is_some());
        assert_eq!(e.chain.len(), 2);
        assert_eq!(e.chain[0].after, Some(Duration::from_secs(300)));
        assert_eq!(e.chain[1].after, None);
        assert_eq!(
            e.chain[0].routing_key_env.as_deref(),
            Some("PD_PAYMENTS_KEY")
        );
        assert!(e.chain[1].routing_key.is_none(), "PD_PLATFORM_KEY is unset");
        assert_eq!(
            e.describe(),
            "pagerduty: payments on-call, then platform lead ($PD_PLATFORM_KEY NOT SET: will fail)"
        );
        // Every secret is redacted: the routing key and the token.
        let secrets = c.secrets();
        assert!(secrets.contains(&"R0UTINGKEYpayments0000000000000a".to_string()));
        assert!(secrets.contains(&"u+t0kenvalue".to_string()));
        assert!(!format!("{e:?}").contains("u+t0kenvalue"));
    }

    #[test]
    fn opsgenie_and_command_chains() {
        let c = ok(
            "[escalation]\nkind = \"opsgenie\"\napi_url = \"https://api.eu.opsgenie.com\"\n\
             [[escalation.chain]]\nname = \"payments\"\nresponders = [\"payments\", \"sre\"]\n",
        );
        let e = c.escalation.as_ref().unwrap();
        assert!(
            matches!(&e.kind, EscalationKind::Opsgenie { api_url, key_env, key: Some(_) }
            if api_url.as_str() == "https://api.eu.opsgenie.com/" && key_env == "OPSGENIE_API_KEY")
        );
        assert_eq!(e.chain[0].responders, ["payments", "sre"]);
        assert!(
            c.secrets()
                .contains(&"eb243592-faa2-4ba2-a551q-1afdf565c889".to_string())
        );

        let c = ok("[escalation]\nkind = \"command\"\nargv = [\"./page.sh\"]\n\
             [[escalation.chain]]\nname = \"payments on-call\"\nafter = \"1m30s\"\ntarget = \"payments\"\n\
             [[escalation.chain]]\nname = \"cto\"\n");
        let e = c.escalation.as_ref().unwrap();
        assert_eq!(e.chain[0].target, "payments");
        assert_eq!(e.chain[1].target, "cto", "the name when no target");
        assert_eq!(e.chain[0].after, Some(Duration::from_secs(90)));
        assert_eq!(
            e.describe(),
            "page command `./page.sh`: payments on-call, then cto"
        );
        assert!(c.secrets().is_empty());
        assert!(ok("").escalation.is_none());
    }

    #[test]
    fn mistakes_name_their_place() {
        // Lines 1-2 are the service; [escalation] is line 3.
        assert_eq!(
            errors("[escalation]\nkind = \"pagerduty\"\n"),
            [
                "t.toml:3:1: an escalation needs at least one level: add [[escalation.chain]] with its `name`"
            ]
        );
        assert_eq!(
            errors(
                "[escalation]\nkind = \"pagerduty\"\n[[escalation.chain]]\nname = \"payments\"\n"
            ),
            [
                "t.toml:5:1: level `payments` needs `routing_key_env`: the environment variable holding its PagerDuty integration's routing key"
            ]
        );
        assert_eq!(
            errors(
                "[escalation]\nkind = \"pagerduty\"\napi_url = \"events.pagerduty.com\"\n\
                 [[escalation.chain]]\nname = \"a\"\nafter = \"5m\"\nrouting_key_env = \"PD_A\"\n\
                 [[escalation.chain]]\nname = \"b\"\n"
            ),
            // A bad URL does not hide the chain's own mistakes.
            [
                "t.toml:5:11: `api_url` must be an http(s) URL, such as \"https://events.pagerduty.com\"",
                "t.toml:10:1: level `b` needs `routing_key_env`: the environment variable holding its PagerDuty integration's routing key",
            ]
        );
        assert_eq!(
            errors(
                "[escalation]\nkind = \"pagerduty\"\n[[escalation.chain]]\nname = \"a\"\n\
                 routing_key_env = \"PD_A\"\nwait = \"5m\"\n"
            ),
            [
                "t.toml:8:1: unknown field `wait`, expected one of `name`, `after`, `routing_key_env`, `responders`, `target`"
            ]
        );
        assert_eq!(
            errors(
                "[escalation]\nkind = \"opsgenie\"\n[[escalation.chain]]\nname = \"a\"\n\
                 routing_key_env = \"PD_A\"\nresponders = []\n"
            ),
            [
                "t.toml:7:19: `routing_key_env` does not apply to escalation kind \"opsgenie\"",
                "t.toml:8:14: level `a` needs `responders`: the Opsgenie teams it notifies, such as [\"payments\"]",
            ]
        );
        let e = errors(
            "[escalation]\nkind = \"command\"\nargv = [\"./page.sh\"]\n\
             [[escalation.chain]]\nname = \"a\"\n[[escalation.chain]]\nname = \"b\"\nafter = \"0s\"\n\
             [[escalation.chain]]\nname = \"a\"\nafter = \"2d\"\n",
        );
        assert_eq!(
            e,
            [
                "t.toml:6:1: level `a` needs `after` (how long to wait for an acknowledgement before paging the next level, such as \"5m\")",
                "t.toml:10:9: `after` must be more than 0s",
                "t.toml:12:8: level `a` is in the chain twice",
                "t.toml:13:9: after must be at most 24h (it is 48h)",
            ],
            "{e:#?}"
        );
        let e = errors(
            "[escalation]\nkind = \"pagerduty\"\n[[escalation.chain]]\nname = \"a\"\n\
             routing_key_env = \"pd-key\"\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.toml:7:19: `routing_key_env` names the environment variable"),
            "{e:?}"
        );
        let e = errors(
            "[escalation]\nkind = \"pagerduty\"\n[[escalation.chain]]\nname = \"a\"\n\
             routing_key_env = \"e93facc04764012d7bfb002500d5d1a6\"\n",
        );
        assert_eq!(
            e,
            [
                "t.toml:7:19: `routing_key_env` looks like a routing key itself: name the environment variable that holds it (such as PD_PAYMENTS_KEY); the key never goes in this file"
            ]
        );
        assert_eq!(
            errors("[escalation]\nkind = \"pager\"\n[[escalation.chain]]\nname = \"a\"\n"),
            [
                "t.toml:4:8: unknown escalation kind `pager`: \"pagerduty\", \"opsgenie\" or \"command\""
            ]
        );
        assert_eq!(
            errors(
                "[escalation]\nkind = \"command\"\n[[escalation.chain]]\nname = \"a\"\nafter = 5\n"
            ),
            ["t.toml:7:9: a bare number (5) has no unit; write \"5s\" or \"5ms\""]
        );
    }
}
