//! `[services.<name>.traffic]`: who holds the service's traffic split.
//!
//! Read as one flat table (so every key keeps its place for error messages),
//! then checked per provider: a key of another provider is an error, not
//! silently ignored.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{HumanDuration, OrderedMap};

#[derive(Clone, Debug)]
pub struct TrafficConfig {
    pub kind: TrafficKind,
    /// How often the weights are read back.
    pub interval: Duration,
}

#[derive(Clone, Debug)]
pub enum TrafficKind {
    /// The drill sandbox's router (drills only).
    Sandbox,
    Nginx(NginxConfig),
    Command(CommandConfig),
    Alb(AlbConfig),
}

impl TrafficKind {
    pub fn name(&self) -> &'static str {
        match self {
            TrafficKind::Sandbox => "sandbox",
            TrafficKind::Nginx(_) => "nginx",
            TrafficKind::Command(_) => "command",
            TrafficKind::Alb(_) => "alb",
        }
    }
}

/// nginx in front of the environments (runbooks 002, 003).
#[derive(Clone, Debug)]
pub struct NginxConfig {
    /// The file holding the upstream block; backstop rewrites it.
    pub upstream_file: PathBuf,
    /// The upstream block's name.
    pub upstream: String,
    /// Which `server` address belongs to which environment, in order.
    pub servers: Vec<(String, String)>,
    /// Checks the configuration before a reload.
    pub test: Vec<String>,
    pub reload: Vec<String>,
    /// Each command's time limit.
    pub timeout: Duration,
}

/// A platform's own CLI (flyctl, vercel, a curl to Render's API).
#[derive(Clone, Debug)]
pub struct CommandConfig {
    /// Prints the weights as JSON: `{"blue": 90, "green": 10}`.
    pub read: Vec<String>,
    /// Run once per environment whose weight changes, with `{env}` and
    /// `{weight}` replaced inside each argument. Never through a shell.
    pub set: Vec<String>,
    pub timeout: Duration,
}

/// An Application Load Balancer's weighted forward action (blue/green and
/// canary on AWS): the listener's default action, or one listener rule's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbConfig {
    /// The listener's ARN.
    pub listener: String,
    /// A listener rule's ARN, when the weights live in a rule.
    pub rule: Option<String>,
    /// Environment → target group ARN.
    pub target_groups: Vec<(String, String)>,
    pub aws: super::aws::AwsSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraffic {
    provider: Spanned<String>,
    interval: Option<Spanned<HumanDuration>>,
    timeout: Option<Spanned<HumanDuration>>,
    upstream_file: Option<Spanned<String>>,
    upstream: Option<Spanned<String>>,
    servers: Option<Spanned<OrderedMap<Spanned<String>>>>,
    test: Option<Spanned<Vec<String>>>,
    reload: Option<Spanned<Vec<String>>>,
    read: Option<Spanned<Vec<String>>>,
    set: Option<Spanned<Vec<String>>>,
    listener: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    target_groups: Option<Spanned<OrderedMap<Spanned<String>>>>,
}

const NGINX_KEYS: [&str; 5] = ["upstream_file", "upstream", "servers", "test", "reload"];
const COMMAND_KEYS: [&str; 2] = ["read", "set"];
const ALB_KEYS: [&str; 3] = ["listener", "rule", "target_groups"];

/// Check one traffic table. `envs` are the service's environment names;
/// `at` is where the table is, for errors about what is missing.
pub(crate) fn validate(
    raw: RawTraffic,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<TrafficConfig> {
    let provider = raw.provider.get_ref().as_str();
    let at = raw.provider.span();
    let present: Vec<(&str, Range<usize>)> = [
        (
            "upstream_file",
            raw.upstream_file.as_ref().map(Spanned::span),
        ),
        ("upstream", raw.upstream.as_ref().map(Spanned::span)),
        ("servers", raw.servers.as_ref().map(Spanned::span)),
        ("test", raw.test.as_ref().map(Spanned::span)),
        ("reload", raw.reload.as_ref().map(Spanned::span)),
        ("read", raw.read.as_ref().map(Spanned::span)),
        ("set", raw.set.as_ref().map(Spanned::span)),
        ("listener", raw.listener.as_ref().map(Spanned::span)),
        ("rule", raw.rule.as_ref().map(Spanned::span)),
        (
            "target_groups",
            raw.target_groups.as_ref().map(Spanned::span),
        ),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    let own: &[&str] = match provider {
        "nginx" => &NGINX_KEYS,
        "command" => &COMMAND_KEYS,
        "alb" => &ALB_KEYS,
        "sandbox" => {
            err(
                at,
                "provider \"sandbox\" exists only in drills (`backstop drill`)".into(),
            );
            return None;
        }
        other => {
            err(
                at,
                format!(
                    "unknown traffic provider {other:?}: expected \"nginx\", \"command\" or \"alb\""
                ),
            );
            return None;
        }
    };
    for (key, span) in &present {
        if !own.contains(key) {
            err(
                span.clone(),
                format!("`{key}` does not apply to provider {provider:?}"),
            );
        }
    }
    let interval = raw
        .interval
        .as_ref()
        .map_or(Duration::from_secs(5), |d| d.get_ref().0);
    if let Some(d) = &raw.interval
        && !(Duration::from_millis(500)..=Duration::from_secs(3600)).contains(&d.get_ref().0)
    {
        err(
            d.span(),
            "traffic interval must be between 500ms and 1h".into(),
        );
    }
    if provider == "alb" {
        if let Some(t) = &raw.timeout {
            err(
                t.span(),
                "`timeout` does not apply to provider \"alb\" (the AWS SDK's timeouts do)".into(),
            );
        }
        let listener = match raw.listener {
            Some(l) if l.get_ref().contains(":listener/") => Some(l.into_inner()),
            Some(l) => {
                err(
                    l.span(),
                    format!(
                        "{:?} is not a listener ARN (arn:aws:elasticloadbalancing:…:listener/app/…)",
                        l.get_ref()
                    ),
                );
                None
            }
            None => {
                err(
                    at.clone(),
                    "provider \"alb\" needs `listener`, the listener's ARN".into(),
                );
                None
            }
        };
        let rule = match raw.rule {
            Some(r) if r.get_ref().contains(":listener-rule/") => Some(r.into_inner()),
            Some(r) => {
                err(
                    r.span(),
                    format!("{:?} is not a listener rule ARN", r.get_ref()),
                );
                None
            }
            None => None,
        };
        let target_groups = match raw.target_groups {
            Some(map) => {
                let span = map.span();
                let mut out = Vec::new();
                for (env, arn) in map.into_inner().0 {
                    if !envs.iter().any(|e| e == env.get_ref()) {
                        err(
                            env.span(),
                            format!("service `{service}` has no environment `{}`", env.get_ref()),
                        );
                    } else if !arn.get_ref().contains(":targetgroup/") {
                        err(
                            arn.span(),
                            format!("{:?} is not a target group ARN", arn.get_ref()),
                        );
                    } else if out
                        .iter()
                        .any(|(_, a): &(String, String)| a == arn.get_ref())
                    {
                        err(
                            arn.span(),
                            "two environments cannot share one target group".into(),
                        );
                    } else {
                        out.push((env.into_inner(), arn.into_inner()));
                    }
                }
                for e in envs {
                    if !out.iter().any(|(env, _)| env == e) {
                        err(
                            span.clone(),
                            format!("environment `{e}` has no target group in `target_groups`"),
                        );
                    }
                }
                Some(out)
            }
            None => {
                err(at.clone(), "provider \"alb\" needs `target_groups = { blue = \"arn:…:targetgroup/…\", … }`".into());
                None
            }
        };
        let interval = raw
            .interval
            .as_ref()
            .map_or(Duration::from_secs(10), |d| d.get_ref().0);
        return Some(TrafficConfig {
            kind: TrafficKind::Alb(AlbConfig {
                listener: listener?,
                rule,
                target_groups: target_groups?,
                aws: super::aws::AwsSettings::default(),
            }),
            interval,
        });
    }
    let default_timeout = if provider == "nginx" { 10 } else { 30 };
    let timeout = raw
        .timeout
        .as_ref()
        .map_or(Duration::from_secs(default_timeout), |d| d.get_ref().0);
    if let Some(d) = &raw.timeout
        && d.get_ref().0.is_zero()
    {
        err(d.span(), "timeout must be more than zero".into());
    }
    let mut argv = |v: Option<Spanned<Vec<String>>>,
                    key: &str,
                    default: Option<&[&str]>|
     -> Option<Vec<String>> {
        match v {
            Some(v) if v.get_ref().first().is_none_or(|p| p.trim().is_empty()) => {
                err(
                    v.span(),
                    format!("`{key}` needs a program to run: [\"program\", \"arg\", …]"),
                );
                None
            }
            Some(v) => Some(v.into_inner()),
            None => match default {
                Some(d) => Some(d.iter().map(|s| s.to_string()).collect()),
                None => {
                    err(at.clone(), format!("provider {provider:?} needs `{key}`"));
                    None
                }
            },
        }
    };
    let kind = match provider {
        "nginx" => {
            let test = argv(raw.test, "test", Some(&["nginx", "-t"]));
            let reload = argv(raw.reload, "reload", Some(&["nginx", "-s", "reload"]));
            let file = match raw.upstream_file {
                Some(f) if f.get_ref().trim().is_empty() => {
                    err(f.span(), "`upstream_file` is empty".into());
                    None
                }
                Some(f) => Some(PathBuf::from(f.into_inner())),
                None => {
                    err(at.clone(), "provider \"nginx\" needs `upstream_file`, the file holding the upstream block".into());
                    None
                }
            };
            let upstream = match raw.upstream {
                Some(u)
                    if !u
                        .get_ref()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                        || u.get_ref().is_empty() =>
                {
                    err(
                        u.span(),
                        format!("{:?} is not an nginx upstream name", u.get_ref()),
                    );
                    None
                }
                Some(u) => Some(u.into_inner()),
                None => {
                    err(
                        at.clone(),
                        "provider \"nginx\" needs `upstream`, the name of the upstream block"
                            .into(),
                    );
                    None
                }
            };
            let servers = match raw.servers {
                Some(s) => {
                    let span = s.span();
                    let mut out = Vec::new();
                    for (env, addr) in s.into_inner().0 {
                        if !envs.iter().any(|e| e == env.get_ref()) {
                            err(
                                env.span(),
                                format!(
                                    "service `{service}` has no environment `{}`",
                                    env.get_ref()
                                ),
                            );
                        } else if addr.get_ref().trim().is_empty()
                            || addr.get_ref().contains(char::is_whitespace)
                        {
                            err(
                                addr.span(),
                                format!(
                                    "{:?} is not a server address such as \"10.0.0.5:8080\"",
                                    addr.get_ref()
                                ),
                            );
                        } else {
                            out.push((env.into_inner(), addr.into_inner()));
                        }
                    }
                    for e in envs {
                        if !out.iter().any(|(env, _)| env == e) {
                            err(
                                span.clone(),
                                format!("environment `{e}` has no server in `servers`"),
                            );
                        }
                    }
                    Some(out)
                }
                None => {
                    err(at.clone(), "provider \"nginx\" needs `servers`: { blue = \"10.0.0.5:8080\", green = \"10.0.0.6:8080\" }".into());
                    None
                }
            };
            TrafficKind::Nginx(NginxConfig {
                upstream_file: file?,
                upstream: upstream?,
                servers: servers?,
                test: test?,
                reload: reload?,
                timeout,
            })
        }
        _ => {
            let set_span = raw.set.as_ref().map(Spanned::span);
            let read = argv(raw.read, "read", None);
            let set = argv(raw.set, "set", None);
            if let (Some(set), Some(span)) = (&set, set_span)
                && !set
                    .iter()
                    .any(|a| a.contains("{env}") || a.contains("{weight}"))
            {
                err(span, "`set` uses neither {env} nor {weight}: it would run the same command for every environment".into());
            }
            TrafficKind::Command(CommandConfig {
                read: read?,
                set: set?,
                timeout,
            })
        }
    };
    Some(TrafficConfig { kind, interval })
}
