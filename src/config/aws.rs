//! AWS in `backstop.toml`: `[aws]` (region, profile, endpoint, polling
//! cadence), per-service `[services.<name>.aws]` overrides, and the AWS
//! backends a service can use: `[services.<name>.deploy] provider = "ecs"`,
//! `[services.<name>.alarms] provider = "cloudwatch"`,
//! `[services.<name>.metrics] provider = "cloudwatch"` (the ALB traffic
//! provider is in `traffic.rs`). Credentials never go in the file: the
//! standard chain (environment, `AWS_PROFILE`, SSO, `~/.aws`) finds them.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{HumanDuration, OrderedMap, Secret};

/// Where and as whom to call AWS. Equal settings share one SDK setup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// LocalStack-like endpoints, and the tests' emulator.
    pub endpoint_url: Option<String>,
    /// Static keys. Never read from the configuration file: for tests and
    /// embedding; the product uses the standard credential chain.
    pub credentials: Option<(String, Secret)>,
}

impl AwsSettings {
    /// `self`, with the keys `over` sets replacing its own.
    pub fn merged(&self, over: &AwsSettings) -> AwsSettings {
        AwsSettings {
            region: over.region.clone().or_else(|| self.region.clone()),
            profile: over.profile.clone().or_else(|| self.profile.clone()),
            endpoint_url: over
                .endpoint_url
                .clone()
                .or_else(|| self.endpoint_url.clone()),
            credentials: over
                .credentials
                .clone()
                .or_else(|| self.credentials.clone()),
        }
    }
}

/// How often each kind of AWS data is read: one budget for every service,
/// so fifty services stay inside the APIs' rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poll {
    pub alarms: Duration,
    pub metrics: Duration,
    pub deployments: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            alarms: Duration::from_secs(10),
            metrics: Duration::from_secs(60),
            deployments: Duration::from_secs(5),
        }
    }
}

/// The top-level `[aws]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsTop {
    pub settings: AwsSettings,
    pub poll: Poll,
}

/// ECS services as a deploy provider: one per environment, or one for all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcsConfig {
    pub cluster: String,
    /// Environment → ECS service name.
    pub services: Vec<(String, String)>,
    pub aws: AwsSettings,
    /// How a revert is done.
    pub revert: RevertKind,
}

/// How an ECS revert is done (`revert = …` in `[services.<name>.deploy]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RevertKind {
    /// ECS's native rollback while a service deployment is in progress,
    /// the previous revision otherwise.
    #[default]
    Auto,
    /// `UpdateService` to the previous task definition revision.
    Revision,
    /// `StopServiceDeployment` with `stopType = ROLLBACK` on the deployment
    /// in progress: ECS returns to the last good service revision.
    EcsRollback,
}

/// CloudWatch alarms about a service: named, or by prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmsConfig {
    pub names: Vec<String>,
    pub prefix: Option<String>,
    pub aws: AwsSettings,
}

/// ALB request metrics per environment from CloudWatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudWatchMetricsConfig {
    /// The `LoadBalancer` dimension: `app/web/50dc6c495c0c9188`.
    pub load_balancer: String,
    /// Environment → the `TargetGroup` dimension: `targetgroup/web-blue/6d0ecf831eec9f09`.
    pub target_groups: Vec<(String, String)>,
    pub aws: AwsSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAws {
    region: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    endpoint_url: Option<Spanned<String>>,
    poll: Option<RawPoll>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoll {
    alarms: Option<Spanned<HumanDuration>>,
    metrics: Option<Spanned<HumanDuration>>,
    deployments: Option<Spanned<HumanDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAwsOverride {
    region: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    endpoint_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploy {
    provider: Spanned<String>,
    cluster: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    services: Option<Spanned<OrderedMap<Spanned<String>>>>,
    revert: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlarms {
    provider: Spanned<String>,
    names: Option<Spanned<Vec<String>>>,
    prefix: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    provider: Spanned<String>,
    load_balancer: Option<Spanned<String>>,
    target_groups: Option<Spanned<OrderedMap<Spanned<String>>>>,
}

fn settings(
    region: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    endpoint_url: Option<Spanned<String>>,
    err: &mut impl FnMut(Range<usize>, String),
) -> AwsSettings {
    let region = region.and_then(|r| {
        let ok = !r.get_ref().is_empty()
            && r.get_ref()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            err(
                r.span(),
                format!(
                    "{:?} is not an AWS region such as \"eu-west-1\"",
                    r.get_ref()
                ),
            );
        }
        ok.then(|| r.into_inner())
    });
    let endpoint_url = endpoint_url.and_then(|u| match url::Url::parse(u.get_ref()) {
        Ok(p) if matches!(p.scheme(), "http" | "https") => Some(u.into_inner()),
        _ => {
            err(
                u.span(),
                format!(
                    "invalid endpoint_url {:?}: expected http:// or https://",
                    u.get_ref()
                ),
            );
            None
        }
    });
    AwsSettings {
        region,
        profile: profile.map(Spanned::into_inner),
        endpoint_url,
        credentials: None,
    }
}

pub(crate) fn top(raw: Option<RawAws>, err: &mut impl FnMut(Range<usize>, String)) -> AwsTop {
    let Some(raw) = raw else {
        return AwsTop::default();
    };
    let mut poll = Poll::default();
    if let Some(p) = raw.poll {
        let mut every = |d: Option<Spanned<HumanDuration>>, min: u64, slot: &mut Duration| {
            if let Some(d) = d {
                if d.get_ref().0 < Duration::from_secs(min) {
                    err(
                        d.span(),
                        format!("polling AWS more often than every {min}s risks its rate limits"),
                    );
                } else if let Some(e) =
                    super::duration::over(d.get_ref().0, Duration::from_secs(3600), "an AWS poll")
                {
                    err(d.span(), e);
                } else {
                    *slot = d.get_ref().0;
                }
            }
        };
        every(p.alarms, 5, &mut poll.alarms);
        every(p.metrics, 30, &mut poll.metrics);
        every(p.deployments, 2, &mut poll.deployments);
    }
    AwsTop {
        settings: settings(raw.region, raw.profile, raw.endpoint_url, err),
        poll,
    }
}

pub(crate) fn service_override(
    raw: Option<RawAwsOverride>,
    err: &mut impl FnMut(Range<usize>, String),
) -> AwsSettings {
    raw.map_or_else(AwsSettings::default, |r| {
        settings(r.region, r.profile, r.endpoint_url, err)
    })
}

/// Environment → value maps, checked against the service's environments.
fn env_map(
    map: Spanned<OrderedMap<Spanned<String>>>,
    key: &str,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (env, v) in map.into_inner().0 {
        if !envs.iter().any(|e| e == env.get_ref()) {
            err(
                env.span(),
                format!("service `{service}` has no environment `{}`", env.get_ref()),
            );
        } else if v.get_ref().trim().is_empty() {
            err(v.span(), format!("`{key}` of `{}` is empty", env.get_ref()));
        } else {
            out.push((env.into_inner(), v.into_inner()));
        }
    }
    out
}

pub(crate) fn deploy_ecs(
    raw: RawDeploy,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<EcsConfig> {
    let at = raw.provider.span();
    match raw.provider.get_ref().as_str() {
        "ecs" => {}
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
                format!("unknown deploy provider {other:?}: expected \"ecs\""),
            );
            return None;
        }
    }
    let Some(cluster) = raw.cluster else {
        err(at, "provider \"ecs\" needs `cluster`".into());
        return None;
    };
    if cluster.get_ref().trim().is_empty() {
        err(cluster.span(), "`cluster` is empty".into());
        return None;
    }
    if let Some(s) = &raw.service
        && s.get_ref().trim().is_empty()
    {
        err(s.span(), "`service` is empty".into());
        return None;
    }
    let mut services: Vec<(String, String)> = match raw.services {
        Some(map) => env_map(map, "services", service, envs, err),
        None => Vec::new(),
    };
    // `service` covers every environment not named in `services`.
    if let Some(one) = raw.service {
        for e in envs {
            if !services.iter().any(|(env, _)| env == e) {
                services.push((e.clone(), one.get_ref().clone()));
            }
        }
    }
    if services.is_empty() {
        err(
            at,
            "provider \"ecs\" needs `service` (the ECS service of every environment) or `services = { blue = \"web-blue\", … }`".into(),
        );
        return None;
    }
    services.sort_by_key(|(env, _)| envs.iter().position(|e| e == env));
    let revert = match raw.revert.as_ref().map(|r| r.get_ref().as_str()) {
        None | Some("auto") => RevertKind::Auto,
        Some("revision") => RevertKind::Revision,
        Some("ecs-rollback") => RevertKind::EcsRollback,
        Some(other) => {
            if let Some(r) = &raw.revert {
                err(
                    r.span(),
                    format!(
                        "unknown revert {other:?}: expected \"auto\", \"revision\" or \"ecs-rollback\""
                    ),
                );
            }
            return None;
        }
    };
    Some(EcsConfig {
        cluster: cluster.into_inner(),
        services,
        aws: AwsSettings::default(),
        revert,
    })
}

pub(crate) fn alarms(
    raw: RawAlarms,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<AlarmsConfig> {
    let at = raw.provider.span();
    if raw.provider.get_ref() != "cloudwatch" {
        err(
            at,
            format!(
                "unknown alarm provider {:?}: expected \"cloudwatch\"",
                raw.provider.get_ref()
            ),
        );
        return None;
    }
    if let Some(n) = &raw.names
        && n.get_ref().iter().any(|x| x.trim().is_empty())
    {
        err(n.span(), "`names` holds an empty name".into());
        return None;
    }
    if let Some(p) = &raw.prefix
        && p.get_ref().trim().is_empty()
    {
        err(
            p.span(),
            "`prefix` is empty: it would watch every alarm of the account".into(),
        );
        return None;
    }
    let names = raw.names.map(Spanned::into_inner).unwrap_or_default();
    let prefix = raw.prefix.map(Spanned::into_inner);
    if names.is_empty() && prefix.is_none() {
        err(
            at,
            "CloudWatch alarms need `names = [\"…\"]` or `prefix = \"…\"`".into(),
        );
        return None;
    }
    Some(AlarmsConfig {
        names,
        prefix,
        aws: AwsSettings::default(),
    })
}

/// `app/web/50dc6c495c0c9188` from a load balancer's or listener's ARN.
pub fn load_balancer_dimension(arn: &str) -> Option<String> {
    let rest = arn
        .split_once(":loadbalancer/")
        .or_else(|| arn.split_once(":listener/"))
        .or_else(|| arn.split_once(":listener-rule/"))?
        .1;
    let parts: Vec<&str> = rest.split('/').collect();
    (parts.len() >= 3).then(|| parts[..3].join("/"))
}

/// `targetgroup/web-blue/6d0ecf831eec9f09` from a target group's ARN.
pub fn target_group_dimension(arn: &str) -> Option<String> {
    arn.split_once(":targetgroup/")
        .map(|(_, rest)| format!("targetgroup/{rest}"))
}

pub(crate) fn metrics(
    raw: RawMetrics,
    service: &str,
    envs: &[String],
    // An "alb" traffic provider's listener ARN and target groups' ARNs.
    alb: Option<(&str, &[(String, String)])>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<CloudWatchMetricsConfig> {
    let at = raw.provider.span();
    if raw.provider.get_ref() != "cloudwatch" {
        err(
            at,
            format!(
                "unknown metrics provider {:?}: expected \"cloudwatch\"",
                raw.provider.get_ref()
            ),
        );
        return None;
    }
    // Dimensions, not ARNs: an ARN here would match no metric, silently.
    if let Some(lb) = &raw.load_balancer
        && lb.get_ref().starts_with("arn:")
    {
        err(
            lb.span(),
            format!(
                "`load_balancer` is the metric dimension (\"app/name/id\"), not the ARN: {}",
                load_balancer_dimension(lb.get_ref()).map_or_else(
                    || "see the ARN's end".to_string(),
                    |d| format!("here \"{d}\"")
                )
            ),
        );
        return None;
    }
    if let Some(tgs) = &raw.target_groups
        && let Some((_, v)) = tgs
            .get_ref()
            .0
            .iter()
            .find(|(_, v)| v.get_ref().starts_with("arn:"))
    {
        err(
            v.span(),
            format!(
                "target groups are metric dimensions (\"targetgroup/name/id\"), not ARNs: {}",
                target_group_dimension(v.get_ref()).map_or_else(
                    || "see the ARN's end".to_string(),
                    |d| format!("here \"{d}\"")
                )
            ),
        );
        return None;
    }
    // With an ALB traffic provider, its listener and target groups say it all.
    let load_balancer = match raw.load_balancer {
        Some(lb) => Some(lb.into_inner()),
        None => alb.and_then(|(listener, _)| load_balancer_dimension(listener)),
    };
    let target_groups = match raw.target_groups {
        Some(map) => env_map(map, "target_groups", service, envs, err),
        None => alb
            .map(|(_, groups)| {
                groups
                    .iter()
                    .filter_map(|(e, arn)| Some((e.clone(), target_group_dimension(arn)?)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let Some(load_balancer) = load_balancer else {
        err(
            at,
            "CloudWatch metrics need `load_balancer` (\"app/name/id\"), or an \"alb\" traffic provider to take it from".into(),
        );
        return None;
    };
    if target_groups.is_empty() {
        err(
            at,
            "CloudWatch metrics need `target_groups = { blue = \"targetgroup/name/id\", … }`, or an \"alb\" traffic provider to take them from".into(),
        );
        return None;
    }
    Some(CloudWatchMetricsConfig {
        load_balancer,
        target_groups,
        aws: AwsSettings::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_come_from_arns() {
        assert_eq!(
            load_balancer_dimension("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2").as_deref(),
            Some("app/web/50dc6c495c0c9188")
        );
        assert_eq!(
            target_group_dimension("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09").as_deref(),
            Some("targetgroup/web-blue/6d0ecf831eec9f09")
        );
        assert_eq!(load_balancer_dimension("not an arn"), None);
    }

    #[test]
    fn revert_reads_auto_revision_or_ecs_rollback_and_nothing_else() {
        let cfg = |revert: &str| {
            crate::config::parse(
                &format!(
                    "[services.web.environments.prod]\nendpoints = [{{ url = \"http://127.0.0.1:1/\" }}]\n\
                     [services.web.deploy]\nprovider = \"ecs\"\ncluster = \"prod\"\nservice = \"web\"\n{revert}"
                ),
                "backstop.toml",
                &|_| None,
            )
        };
        let kind = |revert: &str| match cfg(revert).unwrap().services[0].deploy.clone() {
            Some(crate::config::DeployConfig::Ecs(e)) => e.revert,
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(""), RevertKind::Auto);
        assert_eq!(kind("revert = \"revision\""), RevertKind::Revision);
        assert_eq!(kind("revert = \"ecs-rollback\""), RevertKind::EcsRollback);
        let err = cfg("revert = \"native\"").unwrap_err().to_string();
        assert!(
            err.contains(
                "unknown revert \"native\": expected \"auto\", \"revision\" or \"ecs-rollback\""
            ),
            "{err}"
        );
        assert!(err.contains("backstop.toml:7:10:"), "{err}");
    }
}
