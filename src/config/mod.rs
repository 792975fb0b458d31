//! `backstop.toml`: services → environments → health endpoints.
//!
//! Parsing is two steps. Serde reads the file into spanned raw types (so every
//! type error, unknown key and bad duration already names line and column);
//! then `validate` checks what serde cannot (URLs, empty services, timeouts,
//! environment variables) and reports every problem it finds, each with its place.

pub mod aws;
pub mod database;
pub mod diagnostic;
pub mod drill;
pub mod duration;
pub mod escalation;
pub mod journal;
pub mod redact;
pub mod rollback;
pub mod runbook;
pub mod severity;
pub mod smoke;
pub mod status_page;
pub mod traffic;

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use toml::Spanned;
use url::Url;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use duration::HumanDuration;
pub use smoke::{BodyCondition, BodyTest, NotifierConfig, NotifierKind, SmokeCheck, SmokeKind};
pub use traffic::{CommandConfig, NginxConfig, TrafficConfig, TrafficKind};

use crate::core::health::StatusMapping;
use crate::core::model::Role;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The example configuration shipped in `assets/`, documented field by field.
pub const EXAMPLE: &str = include_str!("../../assets/examples/backstop.toml");

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from, as given (for messages and the header).
    pub file: String,
    pub title: String,
    pub services: Vec<ServiceConfig>,
    /// Where the team hears about rollbacks.
    pub notifiers: Vec<NotifierConfig>,
    /// AWS defaults and the polling budget.
    pub aws: aws::AwsTop,
    /// How long a driver's lease outlives its last heartbeat (`lease_expiry`).
    pub lease_expiry: Duration,
    /// Other backstops on the journal share this world: the live tail runs,
    /// checklists are published and leases are taken. A configuration file's
    /// services are shared; a drill's own sandbox only in a team drill.
    pub shared: bool,
    /// This console joined a team drill: it watches and approves, and the
    /// drill is driven from the console that runs its sandbox.
    pub approve_only: bool,
    /// A world that starts afresh (free play in the sandbox): the guards
    /// do not count rollbacks the journal holds from earlier worlds.
    pub fresh_world: bool,
    /// Where the journal lives (`[journal]`).
    pub journal: journal::JournalConfig,
    /// The war room this configuration's consoles and commands meet in
    /// (`[journal] room`, else the file's name): its leases, checklists,
    /// approvals and people are the room's alone.
    pub room: String,
    /// The team's severity classes, worst first (`[[severity]]`).
    pub severities: Vec<crate::core::severity::Class>,
    /// The public status page (`[status_page]`), if any.
    pub status_page: Option<status_page::StatusPageConfig>,
    /// Who is paged, in which order (`[escalation]`), if anyone.
    pub escalation: Option<escalation::EscalationConfig>,
}

impl Config {
    /// Every secret the configuration holds: header values and notifier
    /// URLs. The journal and the log replace them with `***`.
    pub fn secrets(&self) -> Vec<String> {
        let headers = self
            .services
            .iter()
            .flat_map(|s| &s.environments)
            .flat_map(|e| &e.endpoints)
            .flat_map(|ep| ep.headers.iter().map(|(_, v)| v.expose().to_string()));
        let urls = self
            .notifiers
            .iter()
            .filter_map(|n| n.url.as_ref().map(|u| u.expose().to_string()));
        // A database URL, and its password alone (an error may quote
        // the password without the rest of the URL).
        let databases = self
            .services
            .iter()
            .filter_map(|s| s.database.as_ref()?.url.as_ref())
            .flat_map(|u| {
                let pass = url::Url::parse(u.expose())
                    .ok()
                    .and_then(|p| p.password().map(str::to_string))
                    .filter(|p| !p.is_empty());
                std::iter::once(u.expose().to_string()).chain(pass)
            });
        let status_page = self
            .status_page
            .iter()
            .flat_map(status_page::StatusPageConfig::secrets);
        let escalation = self
            .escalation
            .iter()
            .flat_map(escalation::EscalationConfig::secrets);
        headers
            .chain(urls)
            .chain(databases)
            .chain(status_page)
            .chain(escalation)
            .collect()
    }

    /// The AWS settings the configuration calls AWS with (the first
    /// service's that uses AWS), or none when nothing here uses AWS.
    pub fn aws_in_use(&self) -> Option<&aws::AwsSettings> {
        self.services
            .iter()
            .find_map(ServiceConfig::aws)
            .or(match &self.journal {
                journal::JournalConfig::DynamoDb { aws, .. } => Some(aws),
                journal::JournalConfig::File | journal::JournalConfig::Path(_) => None,
            })
    }
}

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub name: String,
    pub environments: Vec<EnvConfig>,
    /// Who holds the traffic split, if backstop should show and move it.
    pub traffic: Option<TrafficConfig>,
    /// Rules, mode and guards of rollback decisions.
    pub policy: crate::core::decision::Policy,
    /// The runbook its rollback checklist follows, or the three rollback
    /// types a rule chooses from (no `runbook` named).
    pub runbook: crate::core::runbook::Runbooks,
    /// Who can put an environment back on its previous revision.
    pub deploy: Option<DeployConfig>,
    /// What the rollback's smoke step checks.
    pub smoke: Vec<SmokeCheck>,
    /// External alarms about the service (CloudWatch).
    pub alarms: Option<aws::AlarmsConfig>,
    /// Request metrics per environment (CloudWatch's ALB metrics).
    pub metrics: Option<aws::CloudWatchMetricsConfig>,
    /// Consoles only watch it (`read_only`, for the service or the file).
    pub read_only: bool,
    /// The database its releases migrate, and the migration tool.
    pub database: Option<database::DatabaseConfig>,
}

impl ServiceConfig {
    /// The AWS settings of its first AWS backend (ALB traffic, ECS
    /// deploys, CloudWatch alarms or metrics), if it has one.
    pub fn aws(&self) -> Option<&aws::AwsSettings> {
        let alb = match self.traffic.as_ref().map(|t| &t.kind) {
            Some(TrafficKind::Alb(a)) => Some(&a.aws),
            _ => None,
        };
        let ecs = match &self.deploy {
            Some(DeployConfig::Ecs(e)) => Some(&e.aws),
            _ => None,
        };
        alb.or(ecs)
            .or(self.alarms.as_ref().map(|a| &a.aws))
            .or(self.metrics.as_ref().map(|m| &m.aws))
    }
}

/// A deploy provider: the drill sandbox's (ECS comes with its own section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployConfig {
    Sandbox,
    Ecs(aws::EcsConfig),
}

impl DeployConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            DeployConfig::Sandbox => "sandbox",
            DeployConfig::Ecs(_) => "ecs",
        }
    }
}

#[derive(Clone, Debug)]
pub struct EnvConfig {
    pub name: String,
    pub endpoints: Vec<EndpointConfig>,
    /// The environment's address, for smoke tests and `TARGET_URL`; by
    /// default the scheme, host and port of its first endpoint.
    pub url: Url,
}

#[derive(Clone, Debug)]
pub struct EndpointConfig {
    pub url: Url,
    pub role: Role,
    pub interval: Duration,
    pub timeout: Duration,
    /// Header name and value; values may hold tokens, so they are [`Secret`].
    pub headers: Vec<(String, Secret)>,
    pub format: Option<StatusMapping>,
}

impl EndpointConfig {
    /// The URL as it may be shown, logged or journaled.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// A value that must never reach the screen, the journal or the log.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

pub use redact::redact_urls;

/// A URL fit for display: password and token-like query values replaced by `***`.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = redact::is_secret_key(&k);
                (
                    k.into_owned(),
                    if secret {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

// ---- raw, spanned form read by serde ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    title: Option<String>,
    #[serde(default)]
    notify: Vec<smoke::RawNotifier>,
    aws: Option<aws::RawAws>,
    #[serde(default)]
    services: Option<Spanned<OrderedMap<Spanned<RawService>>>>,
    /// Every console on this file only watches.
    read_only: Option<bool>,
    /// How long a driver's lease outlives its last heartbeat before
    /// anyone may take the service over.
    lease_expiry: Option<Spanned<HumanDuration>>,
    journal: Option<journal::RawJournal>,
    /// The team's severity classes (default: reference 002's three).
    #[serde(default)]
    severity: Vec<Spanned<severity::RawSeverity>>,
    /// Where the public learns about incidents.
    status_page: Option<Spanned<status_page::RawStatusPage>>,
    /// Who is paged when an incident needs people.
    escalation: Option<Spanned<escalation::RawEscalation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[serde(default)]
    environments: OrderedMap<Spanned<RawEnv>>,
    traffic: Option<Spanned<traffic::RawTraffic>>,
    rollback: Option<rollback::RawRollback>,
    rules: Option<Vec<rollback::RawRule>>,
    #[serde(default)]
    smoke: Vec<smoke::RawSmoke>,
    aws: Option<aws::RawAwsOverride>,
    deploy: Option<Spanned<aws::RawDeploy>>,
    alarms: Option<aws::RawAlarms>,
    metrics: Option<aws::RawMetrics>,
    database: Option<Spanned<database::RawDatabase>>,
    /// Consoles on this file only watch this service.
    read_only: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    #[serde(default)]
    endpoints: Vec<Spanned<RawEndpoint>>,
    url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    url: Spanned<String>,
    #[serde(default = "default_role")]
    role: Role,
    interval: Option<Spanned<HumanDuration>>,
    timeout: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    headers: OrderedMap<Spanned<String>>,
    format: Option<StatusMapping>,
}

fn default_role() -> Role {
    Role::Health
}

/// A TOML table read in file order, keys with their spans.
pub(crate) struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

// ---- loading ----

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let file = path.display().to_string();
    let src = diagnostic::read_source(path, "configuration")?;
    parse(&src, &file, &|name| std::env::var(name).ok())
}

/// Parse and validate configuration text with the built-in runbooks. `env`
/// looks up environment variables (a parameter so tests need not touch the
/// process environment).
pub fn parse(
    src: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Diagnostics> {
    parse_with(src, file, env, &runbook::Catalog::builtin())
}

/// Parse and validate, choosing runbooks from `runbooks`.
pub fn parse_with(
    src: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    runbooks: &runbook::Catalog,
) -> Result<Config, Diagnostics> {
    // Unknown keys are all reported, with the validation's errors after them.
    let (raw, mut errors) = diagnostic::deserialize_all::<RawConfig>(file, src)?;
    match validate(raw, src, file, env, runbooks) {
        Ok(config) if errors.is_empty() => Ok(config),
        Ok(_) => Err(Diagnostics(errors)),
        Err(more) => {
            errors.extend(more.0);
            Err(Diagnostics(errors))
        }
    }
}

/// Read and validate a configuration file, choosing runbooks from `runbooks`.
pub fn load_with(path: &Path, runbooks: &runbook::Catalog) -> Result<Config, Diagnostics> {
    let file = path.display().to_string();
    let src = diagnostic::read_source(path, "configuration")?;
    parse_with(&src, &file, &|name| std::env::var(name).ok(), runbooks)
}

fn validate(
    raw: RawConfig,
    src: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    runbooks: &runbook::Catalog,
) -> Result<Config, Diagnostics> {
    let mut errors = Vec::new();
    // Errors found in runbook files (their own file, line and column).
    let mut runbook_errors: Vec<Diagnostic> = Vec::new();
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        errors.push(Diagnostic::at(file, src, span, msg))
    };

    let Some(services_raw) = raw.services else {
        return Err(Diagnostic::whole_file(
            file,
            "no services: add a [services.<name>.environments.<env>] table with at least one endpoint",
        )
        .into());
    };
    if services_raw.get_ref().0.is_empty() {
        err(
            services_raw.span(),
            "`services` is empty: add at least one service".into(),
        );
    }

    let aws_top = aws::top(raw.aws, &mut err);
    let room = journal::room(raw.journal.as_ref(), &mut err);
    let journal = journal::journal(raw.journal, &aws_top.settings, &mut err);
    let mut services = Vec::new();
    // What each service changes, and where it is written: none may be shared.
    let mut targets = Targets::default();
    for (name, svc) in services_raw.into_inner().0 {
        check_name(&name, "service", &mut err);
        let svc = svc.into_inner();
        if svc.environments.0.is_empty() {
            err(
                name.span(),
                format!(
                    "service `{}` has no environments: add [services.{}.environments.<name>] with at least one endpoint",
                    name.get_ref(),
                    name.get_ref()
                ),
            );
        }
        let mut environments = Vec::new();
        for (env_name, env_raw) in svc.environments.0 {
            check_name(&env_name, "environment", &mut err);
            let env_raw = env_raw.into_inner();
            if env_raw.endpoints.is_empty() {
                err(
                    env_name.span(),
                    format!(
                        "environment `{}/{}` has no endpoints: add endpoints = [{{ url = \"https://…/health\" }}]",
                        name.get_ref(),
                        env_name.get_ref()
                    ),
                );
            }
            let mut endpoints = Vec::new();
            for ep in env_raw.endpoints {
                if let Some(e) = endpoint(ep.into_inner(), env, &mut err) {
                    endpoints.push(e);
                }
            }
            let url = match &env_raw.url {
                Some(u) => match Url::parse(u.get_ref()) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                    _ => {
                        err(
                            u.span(),
                            format!(
                                "invalid URL {:?}: an environment's address is http:// or https://",
                                u.get_ref()
                            ),
                        );
                        None
                    }
                },
                // The origin of the first endpoint: https://blue.example.com.
                None => endpoints.first().and_then(|e: &EndpointConfig| {
                    Url::parse(&e.url.origin().ascii_serialization()).ok()
                }),
            };
            let url = url.unwrap_or_else(|| {
                Url::parse("http://127.0.0.1/")
                    .unwrap_or_else(|_| unreachable!("a literal URL parses"))
            });
            environments.push(EnvConfig {
                name: env_name.into_inner(),
                endpoints,
                url,
            });
        }
        let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();
        let aws_settings = aws_top
            .settings
            .merged(&aws::service_override(svc.aws, &mut err));
        let traffic_span = svc.traffic.as_ref().map(Spanned::span);
        let deploy_span = svc.deploy.as_ref().map(Spanned::span);
        let mut traffic = svc
            .traffic
            .and_then(|t| traffic::validate(t.into_inner(), name.get_ref(), &env_names, &mut err));
        if let Some(TrafficConfig {
            kind: TrafficKind::Alb(a),
            ..
        }) = traffic.as_mut()
        {
            a.aws = aws_settings.clone();
        }
        let deploy = svc.deploy.and_then(|d| {
            aws::deploy_ecs(d.into_inner(), name.get_ref(), &env_names, &mut err).map(|mut e| {
                e.aws = aws_settings.clone();
                DeployConfig::Ecs(e)
            })
        });
        let alarms = svc.alarms.and_then(|a| {
            aws::alarms(a, &mut err).map(|mut a| {
                a.aws = aws_settings.clone();
                a
            })
        });
        let alb = match traffic.as_ref().map(|t| &t.kind) {
            Some(TrafficKind::Alb(a)) => Some((a.listener.as_str(), a.target_groups.as_slice())),
            _ => None,
        };
        let metrics = svc.metrics.and_then(|m| {
            aws::metrics(m, name.get_ref(), &env_names, alb, &mut err).map(|mut m| {
                m.aws = aws_settings.clone();
                m
            })
        });
        let mut policy = rollback::policy(
            svc.rollback.as_ref(),
            svc.rules,
            name.get_ref(),
            &env_names,
            &mut err,
        );
        // Alarms listed without an alarm rule: each one is a trigger, as
        // the runbooks use them ("a CloudWatch alarm in ALARM").
        if let Some(a) = &alarms
            && !policy
                .rules
                .iter()
                .chain(&policy.dry_run)
                .any(|r| matches!(r, crate::core::rules::RuleKind::Alarm { .. }))
        {
            let wanted = a
                .names
                .iter()
                .cloned()
                .chain(a.prefix.iter().map(|p| format!("{p}*")));
            for name in wanted {
                policy
                    .rules
                    .push(crate::core::rules::RuleKind::Alarm { name, env: None });
            }
        }
        if let (Some(t), Some(span)) = (&traffic, traffic_span) {
            targets.claim(name.get_ref(), traffic_targets(t), span, &mut err);
        }
        if let (Some(DeployConfig::Ecs(e)), Some(span)) = (&deploy, deploy_span) {
            targets.claim(name.get_ref(), ecs_targets(e), span, &mut err);
        }
        let chosen = svc.rollback.as_ref().and_then(|r| r.runbook.clone());
        let database = svc
            .database
            .and_then(|d| database::database(d, file, env, &mut err));
        let mut command = |c: Option<&Spanned<Vec<String>>>, what: &str| {
            let c = c?;
            if c.get_ref().first().is_none_or(|p| p.trim().is_empty()) {
                err(
                    c.span(),
                    format!(
                        "`{what}` is a command, such as [\"supervisorctl\", \"restart\", \"all\"]: it names no program"
                    ),
                );
                return None;
            }
            Some(c.get_ref().clone())
        };
        let commands = crate::core::runbook::Commands {
            restart: command(
                svc.rollback.as_ref().and_then(|r| r.restart.as_ref()),
                "restart",
            ),
            stop: command(svc.rollback.as_ref().and_then(|r| r.stop.as_ref()), "stop"),
            migrate_down: database.as_ref().and_then(|d| d.revert.clone()),
            database: database.is_some(),
        };
        let book = choose_runbook(
            chosen,
            name.get_ref(),
            (traffic.is_some(), deploy.is_some()),
            &commands,
            runbooks,
            &mut err,
            &mut runbook_errors,
        );
        services.push(ServiceConfig {
            read_only: svc.read_only.or(raw.read_only).unwrap_or(false),
            name: name.into_inner(),
            environments,
            traffic,
            policy,
            runbook: book,
            deploy,
            alarms,
            metrics,
            database,
            smoke: svc
                .smoke
                .into_iter()
                .filter_map(|r| smoke::smoke(r, &mut err))
                .collect(),
        });
    }
    let notifiers = raw
        .notify
        .into_iter()
        .filter_map(|n| smoke::notifier(n, env, &mut err))
        .collect();
    let severities = severity::classes(raw.severity, &mut err);
    let status_page = status_page::status_page(raw.status_page, env, &mut err);
    let escalation = escalation::escalation(raw.escalation, env, &mut err);
    let lease_expiry = match &raw.lease_expiry {
        Some(x) => {
            let d = x.get_ref().0;
            if d < Duration::from_secs(2) {
                err(
                    x.span(),
                    "lease_expiry must be at least 2s (heartbeats come every sixth of it)".into(),
                );
            } else if let Some(e) = duration::over(d, Duration::from_secs(3600), "lease_expiry") {
                err(x.span(), e);
            }
            d
        }
        None => crate::room::lease::EXPIRY,
    };

    errors.extend(runbook_errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let title = raw.title.unwrap_or_else(|| {
        Path::new(file)
            .file_stem()
            .map_or_else(|| "backstop".into(), |s| s.to_string_lossy().into_owned())
    });
    // The room is the file's name unless one is given: two people with
    // one configuration meet; staging.toml and production.toml do not.
    let room = room.unwrap_or_else(|| {
        Path::new(file)
            .file_stem()
            .map_or_else(|| "backstop".into(), |s| s.to_string_lossy().into_owned())
    });
    Ok(Config {
        file: file.to_string(),
        title,
        services,
        notifiers,
        aws: aws_top,
        lease_expiry,
        shared: true,
        approve_only: false,
        fresh_world: false,
        journal,
        room,
        severities,
        status_page,
        escalation,
    })
}

/// The things in the world that services change, each with the service that
/// claimed it first. Two services on one target would each keep their own
/// cooldown and limit, so one incident could be rolled back twice (a double
/// revert goes back two revisions).
#[derive(Default)]
struct Targets(Vec<(String, String)>);

impl Targets {
    fn claim(
        &mut self,
        service: &str,
        wanted: Vec<String>,
        span: std::ops::Range<usize>,
        err: &mut impl FnMut(std::ops::Range<usize>, String),
    ) {
        for target in wanted {
            match self.0.iter().find(|(t, _)| *t == target) {
                Some((_, owner)) if owner != service => err(
                    span.clone(),
                    format!(
                        "services `{owner}` and `{service}` both change {target}: each would keep its own cooldown and rollback limit, so one incident could be rolled back twice; give each its own target, or make them one service"
                    ),
                ),
                Some(_) => {}
                None => self.0.push((target, service.to_string())),
            }
        }
    }
}

/// Where a traffic provider writes, in words that compare.
fn traffic_targets(t: &TrafficConfig) -> Vec<String> {
    match &t.kind {
        TrafficKind::Nginx(n) => vec![format!(
            "nginx upstream `{}` in {}",
            n.upstream,
            n.upstream_file.display()
        )],
        TrafficKind::Alb(a) => vec![match &a.rule {
            Some(rule) => format!("ALB listener rule {rule}"),
            None => format!("ALB listener {}", a.listener),
        }],
        // The sandbox is per service; a command may serve many services.
        TrafficKind::Sandbox | TrafficKind::Command(_) => Vec::new(),
    }
}

/// The ECS services a deploy provider reverts, each once.
fn ecs_targets(e: &aws::EcsConfig) -> Vec<String> {
    let place = e
        .aws
        .endpoint_url
        .clone()
        .or_else(|| e.aws.region.clone())
        .unwrap_or_default();
    let mut v: Vec<String> = e
        .services
        .iter()
        .map(|(_, svc)| {
            format!("ECS service {svc} of cluster {} {place}", e.cluster)
                .trim_end()
                .to_string()
        })
        .collect();
    // Blue and green may be one ECS service: it is claimed once.
    v.sort();
    v.dedup();
    v
}

/// The runbooks a service follows: the one named; else, for a service
/// backstop can roll back (a traffic or a deploy provider), the three
/// rollback types (`immediate`, `standard`, `emergency`) a rule chooses
/// from; else `manual`. A named one must exist, and every step of it must
/// be possible for the service. The service's own commands fill the steps
/// that name none.
#[allow(clippy::too_many_arguments)]
fn choose_runbook(
    chosen: Option<Spanned<String>>,
    service: &str,
    (has_traffic, has_deploy): (bool, bool),
    commands: &crate::core::runbook::Commands,
    runbooks: &runbook::Catalog,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
    runbook_errors: &mut Vec<Diagnostic>,
) -> crate::core::runbook::Runbooks {
    use crate::core::runbook::{RollbackType, Runbook, Runbooks};
    let empty = |name: &str| Runbook {
        name: name.into(),
        description: String::new(),
        before: vec![],
        during: vec![],
        after: vec![],
        targets: vec![],
    };
    let Some(c) = chosen else {
        if !(has_traffic || has_deploy) {
            return Runbooks::Named(
                runbooks
                    .get("manual")
                    .map_or_else(|| empty("manual"), |l| l.runbook.clone()),
            );
        }
        // A team's file of the same name replaces a built-in type; its
        // mistakes are its own file's errors.
        let [immediate, standard, emergency] = RollbackType::ALL.map(|t| {
            let Some(loaded) = runbooks.get(t.name()) else {
                return empty(t.name());
            };
            check_steps(loaded, service, has_traffic, has_deploy, runbook_errors);
            loaded.runbook.with_commands(commands)
        });
        return Runbooks::Typed {
            immediate,
            standard,
            emergency,
        };
    };
    let name = c.get_ref().clone();
    let Some(loaded) = runbooks.get(&name) else {
        err(
            c.span(),
            format!(
                "unknown runbook `{name}`: known are {}",
                runbooks.names().join(", ")
            ),
        );
        return Runbooks::Named(empty(&name));
    };
    let impossible = check_steps(loaded, service, has_traffic, has_deploy, runbook_errors);
    // A status page changes no step's needs: its steps are checked as absent.
    let caps = crate::core::runbook::Caps {
        traffic: has_traffic,
        deploy: has_deploy,
        status_page: false,
    };
    // A step that runs the service's own command, and the service has none.
    let missing: Vec<&str> = loaded
        .runbook
        .steps()
        .filter(|(_, s)| s.applies(caps))
        .filter_map(|(_, s)| {
            use crate::core::runbook::{Act, StepKind};
            match &s.kind {
                StepKind::Action(Act::Restart { argv, .. })
                    if argv.is_empty() && commands.restart.is_none() =>
                {
                    Some("`restart` in [services.{service}.rollback]")
                }
                StepKind::Action(Act::Stop { argv, .. })
                    if argv.is_empty() && commands.stop.is_none() =>
                {
                    Some("`stop` in [services.{service}.rollback]")
                }
                StepKind::Action(Act::MigrateDown { argv, .. })
                    if argv.is_empty() && commands.migrate_down.is_none() =>
                {
                    Some("`revert` in [services.{service}.database]")
                }
                _ => None,
            }
        })
        .collect();
    if let Some(what) = missing.first() {
        err(
            c.span(),
            format!(
                "runbook `{name}` has a step that runs the service's own command, and service `{service}` has none: add {} (or give the step its `argv`)",
                what.replace("{service}", service)
            ),
        );
    }
    // The during phase must still roll back once the steps this service
    // cannot have are left out: a switch, a revert, or a person's step.
    let rolls_back = loaded
        .runbook
        .during
        .iter()
        .filter(|s| s.applies(caps))
        .any(|s| {
            use crate::core::runbook::{Act, StepKind};
            matches!(
                s.kind,
                StepKind::Manual
                    | StepKind::Action(
                        Act::SwitchTraffic | Act::RevertDeployment | Act::Command { .. }
                    )
            )
        });
    if !rolls_back {
        err(
            c.span(),
            format!(
                "runbook `{name}` has no step that rolls service `{service}` back: it has no traffic provider to switch and no deploy provider to revert (add one, or use runbook \"manual\")"
            ),
        );
    }
    if impossible > 0 {
        err(
            c.span(),
            format!(
                "runbook `{name}` has {impossible} step(s) service `{service}` cannot do (in {}, below)",
                loaded.file
            ),
        );
    }
    Runbooks::Named(loaded.runbook.with_commands(commands))
}

/// The steps of a runbook a service cannot do, each an error in the
/// runbook's own file (once); how many.
fn check_steps(
    loaded: &runbook::Loaded,
    service: &str,
    has_traffic: bool,
    has_deploy: bool,
    runbook_errors: &mut Vec<Diagnostic>,
) -> usize {
    // A status page changes no step's needs: its steps are checked as absent.
    let caps = crate::core::runbook::Caps {
        traffic: has_traffic,
        deploy: has_deploy,
        status_page: false,
    };
    let mut impossible = 0;
    for ((_, step), span) in loaded.runbook.steps().zip(&loaded.kind_spans) {
        if !step.applies(caps) {
            continue;
        }
        if let Some(why) = runbook::unavailable(&step.kind, service, has_traffic, has_deploy) {
            impossible += 1;
            let d = Diagnostic::at(&loaded.file, &loaded.src, span.clone(), why);
            if !runbook_errors.contains(&d) {
                runbook_errors.push(d);
            }
        }
    }
    impossible
}

fn check_name(
    name: &Spanned<String>,
    what: &str,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        err(
            name.span(),
            format!(
                "{what} name {n:?} may only use ASCII letters, digits, `-`, `_` and `.` (it is used on the command line){}",
                n.chars()
                    .find(|c| !c.is_ascii())
                    .map(|c| format!("; `{c}` is not ASCII"))
                    .unwrap_or_default()
            ),
        );
    }
}

/// The longest time between two probes of an endpoint: an hour would
/// already watch nothing during an incident.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest a probe may wait for its answer.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

fn endpoint(
    raw: RawEndpoint,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Option<EndpointConfig> {
    let url = match Url::parse(raw.url.get_ref()) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            err(
                raw.url.span(),
                format!(
                    "URL scheme `{}` is not supported: use http:// or https://",
                    u.scheme()
                ),
            );
            None
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            err(raw.url.span(), "URL has no host".into());
            None
        }
        Ok(u) => Some(u),
        Err(e) => {
            err(
                raw.url.span(),
                format!("invalid URL {:?}: {e}", raw.url.get_ref()),
            );
            None
        }
    };
    let interval = raw
        .interval
        .as_ref()
        .map_or(DEFAULT_INTERVAL, |d| d.get_ref().0);
    let timeout = raw
        .timeout
        .as_ref()
        .map_or(DEFAULT_TIMEOUT, |d| d.get_ref().0);
    if let Some(d) = &raw.interval
        && !(Duration::from_millis(100)..=MAX_INTERVAL).contains(&d.get_ref().0)
    {
        err(
            d.span(),
            format!(
                "interval must be between 100ms and {} (it is {})",
                crate::core::time::human(MAX_INTERVAL),
                crate::core::time::human(d.get_ref().0)
            ),
        );
    }
    if let Some(d) = &raw.timeout
        && d.get_ref().0.is_zero()
    {
        err(d.span(), "timeout must be more than zero".into());
    }
    if let Some(d) = &raw.timeout
        && let Some(e) = duration::over(d.get_ref().0, MAX_TIMEOUT, "timeout")
    {
        err(d.span(), e);
    }
    if timeout >= interval {
        let span = raw
            .timeout
            .as_ref()
            .or(raw.interval.as_ref())
            .map_or(raw.url.span(), Spanned::span);
        err(
            span,
            format!(
                "timeout ({}) must be shorter than interval ({}), or probes would pile up",
                crate::core::time::human(timeout),
                crate::core::time::human(interval)
            ),
        );
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers.0 {
        if reqwest::header::HeaderName::from_bytes(name.get_ref().as_bytes()).is_err() {
            err(
                name.span(),
                format!("{:?} is not a valid HTTP header name", name.get_ref()),
            );
            continue;
        }
        match interpolate(value.get_ref(), env) {
            Ok(v) if reqwest::header::HeaderValue::from_str(&v).is_err() => {
                // Do not quote the value: it may be a token.
                err(
                    value.span(),
                    format!(
                        "the value of header `{}` has characters HTTP does not allow",
                        name.get_ref()
                    ),
                );
            }
            Ok(v) => headers.push((name.into_inner(), Secret::new(v))),
            Err(msg) => err(value.span(), format!("header `{}`: {msg}", name.get_ref())),
        }
    }
    if let Some(f) = &raw.format
        && !f.field.starts_with('/')
    {
        err(
            raw.url.span(),
            format!(
                "format.field {:?} must be a JSON pointer starting with `/`",
                f.field
            ),
        );
    }
    Some(EndpointConfig {
        url: url?,
        role: raw.role,
        interval,
        timeout,
        headers,
        format: raw.format,
    })
}

/// Replace `${NAME}` with the variable's value. A missing variable is an error,
/// never an empty string: an empty token would fail later, far from the cause.
fn interpolate(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err("`${` without a closing `}`".into());
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "`${{{name}}}` is not a valid environment variable name"
            ));
        }
        match env(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable `{name}` is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---- finding the file ----

/// How the configuration file was found, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    EnvVar,
    Default,
}

/// `--config`, then `$BACKSTOP_CONFIG`, then the XDG config directory.
/// An explicit path that does not exist is an error; a missing default is `None`.
/// Every `*.toml` in `dir`, in name order, parsed by `parse(src, file)`:
/// the team's runbooks and drill scenarios. No directory is no files; every
/// error of every file is collected (`what` names them when one cannot be read).
pub fn read_toml_dir<T>(
    dir: &Path,
    what: &str,
    parse: impl Fn(&str, &str) -> Result<T, Diagnostics>,
) -> Result<Vec<T>, Diagnostics> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for f in files {
        let file = f.display().to_string();
        match diagnostic::read_source(&f, what) {
            Ok(src) => match parse(&src, &file) {
                Ok(t) => out.push(t),
                Err(d) => errors.extend(d.0),
            },
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(errors))
    }
}

pub fn locate(
    flag: Option<&Path>,
    env_var: Option<String>,
    default: &Path,
) -> Result<Option<(PathBuf, Source)>, String> {
    if let Some(p) = flag {
        return if p.exists() {
            Ok(Some((p.to_path_buf(), Source::Flag)))
        } else {
            Err(format!(
                "{}: no such file (given with --config)",
                p.display()
            ))
        };
    }
    if let Some(p) = env_var.filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(Some((p, Source::EnvVar)))
        } else {
            Err(format!(
                "{}: no such file (given in $BACKSTOP_CONFIG)",
                p.display()
            ))
        };
    }
    Ok(default
        .exists()
        .then(|| (default.to_path_buf(), Source::Default)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_ok(src: &str) -> Config {
        match parse(src, "t.toml", &no_env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn errors(src: &str) -> Vec<String> {
        match parse(src, "t.toml", &no_env) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d.0.iter().map(Diagnostic::headline).collect(),
        }
    }

    #[test]
    fn compare_rules_and_their_mistakes() {
        const SVC: &str = "[services.web.environments.blue]\nendpoints = [{ url = \"http://127.0.0.1:1/health\" }]\n[services.web.environments.green]\nendpoints = [{ url = \"http://127.0.0.1:2/health\" }]\n";
        let c = parse_ok(&format!(
            "{SVC}[[services.web.rules]]\nkind = \"compare\"\nmetric = \"latency\"\nmin_effect = \"80ms\"\nbaseline = \"blue\"\ndirection = \"either\"\nfor = \"30s\"\ninconclusive_after = \"20m\"\n"
        ));
        match &c.services[0].policy.rules[..] {
            [
                crate::core::rules::RuleKind::Compare {
                    test,
                    hold,
                    inconclusive_after,
                    baseline,
                },
            ] => {
                assert_eq!(test.metric, crate::core::compare::Metric::Latency);
                assert_eq!(test.min_effect, 80.0);
                assert_eq!(test.confidence, 0.95);
                assert_eq!(test.direction, crate::core::compare::Direction::Either);
                assert_eq!(*hold, Duration::from_secs(30));
                assert_eq!(*inconclusive_after, Duration::from_secs(1200));
                assert_eq!(baseline.as_deref(), Some("blue"));
            }
            other => panic!("{other:?}"),
        }
        let rule = |body: &str| errors(&format!("{SVC}[[services.web.rules]]\n{body}"));
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"errors\"\nfor = \"0s\"\n"),
            ["t.toml:8:7: for of a \"compare\" rule must be more than zero"]
        );
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"errors\"\ndirection = \"either\"\n"),
            [
                "t.toml:8:13: direction \"either\" is for latency: failing less than the baseline is no reason to roll back"
            ]
        );
        assert_eq!(
            rule("kind = \"manual\"\ndry_run = true\n"),
            [
                "t.toml:6:8: the manual rule is always there and always decides: it cannot be on probation"
            ]
        );
        assert_eq!(
            rule("kind = \"compare\"\n"),
            ["t.toml:6:8: a \"compare\" rule needs `metric`: \"errors\" or \"latency\""]
        );
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"throughput\"\n"),
            ["t.toml:7:10: unknown metric \"throughput\": expected \"errors\" or \"latency\""]
        );
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"latency\"\nmin_effect = \"5%\"\n"),
            ["t.toml:8:14: min_effect \"5%\" of latency is a duration, like \"50ms\""]
        );
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"errors\"\nconfidence = \"30%\"\n"),
            ["t.toml:8:14: confidence \"30%\" must be between 50% and 100%, like \"95%\""]
        );
        assert_eq!(
            rule("kind = \"compare\"\nmetric = \"errors\"\nbaseline = \"purple\"\n"),
            ["t.toml:8:12: service `web` has no environment `purple`"]
        );
        assert_eq!(
            rule("kind = \"error-rate\"\nmetric = \"errors\"\n"),
            ["t.toml:7:10: `metric` does not apply to a \"error-rate\" rule"]
        );
        // Any rule may be on probation; alone, it leaves the defaults deciding.
        let c = parse_ok(&format!(
            "{SVC}[[services.web.rules]]\nkind = \"error-rate\"\nthreshold = \"2%\"\ndry_run = true\n"
        ));
        assert_eq!(
            c.services[0].policy.rules,
            crate::core::rules::RuleKind::defaults()
        );
        assert_eq!(c.services[0].policy.dry_run.len(), 1);
    }

    #[test]
    fn severity_classes_replace_the_defaults_and_bad_ones_name_their_place() {
        const SVC: &str = "[services.web.environments.green]\nendpoints = [{ url = \"http://127.0.0.1:1/health\" }]\n";
        assert_eq!(parse_ok(SVC).severities, crate::core::severity::defaults());
        let c = parse_ok(&format!(
            "{SVC}[[severity]]\nlevel = 2\nname = \"major\"\nrespond_within = \"10m\"\nupdate_every = \"10m\"\n\
             [[severity]]\nlevel = 1\nname = \"outage\"\nrespond_within = \"2m\"\nupdate_every = \"3m\"\nrollback = \"emergency\"\n"
        ));
        let levels: Vec<(u8, &str)> = c
            .severities
            .iter()
            .map(|k| (k.level, k.name.as_str()))
            .collect();
        assert_eq!(levels, [(1, "outage"), (2, "major")]);
        assert_eq!(c.severities[0].update_every, Some(Duration::from_secs(180)));
        let e = errors(&format!(
            "{SVC}[[severity]]\nlevel = 1\nname = \"a\"\nrespond_within = \"5m\"\nupdate_every = \"10s\"\nrollback = \"fast\"\n\
             [[severity]]\nlevel = 1\nname = \"b\"\nrespond_within = \"5m\"\n"
        ));
        assert_eq!(
            e,
            [
                "t.toml:7:16: update_every must be at least 1m: more often drowns the channel",
                "t.toml:8:12: `fast` is not a rollback type (immediate, standard, emergency)",
                "t.toml:10:9: severity 1 is defined twice",
            ],
            "{e:#?}"
        );
    }

    #[test]
    fn a_status_page_names_its_secret_by_variable_and_bad_ones_their_place() {
        const SVC: &str = "[services.web.environments.green]\nendpoints = [{ url = \"http://127.0.0.1:1/health\" }]\n";
        let env = |k: &str| (k == "STATUSPAGE_API_KEY").then(|| "k3y".to_string());
        let c = parse(
            &format!("{SVC}[status_page]\nkind = \"statuspage\"\npage_id = \"kctbh9vrtdwd\"\nnames = {{ web = \"Checkout\" }}\n"),
            "t.toml",
            &env,
        )
        .unwrap();
        let page = c.status_page.as_ref().unwrap();
        assert_eq!(
            page.describe(),
            "statuspage (page kctbh9vrtdwd, $STATUSPAGE_API_KEY)"
        );
        assert!(c.secrets().contains(&"k3y".to_string()));
        let e = errors(&format!(
            "{SVC}[status_page]\nkind = \"statuspage\"\npage_id = \"p\"\napi_key_env = \"sk-live-abc\"\n"
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.toml:6:15: `api_key_env` names the environment variable"),
            "{e:?}"
        );
        let e = errors(&format!("{SVC}[status_page]\nkind = \"tweet\"\n"));
        assert_eq!(
            e,
            [
                "t.toml:4:8: unknown status page kind `tweet`: \"statuspage\", \"webhook\" or \"command\""
            ]
        );
    }

    #[test]
    fn minimal_config_gets_defaults_in_file_order() {
        let c = parse_ok(
            r#"
[services.web.environments.green]
endpoints = [{ url = "http://127.0.0.1:1/api/health" }]
[services.web.environments.blue]
endpoints = [{ url = "http://127.0.0.1:2/api/health", role = "ready", interval = "5s", timeout = "2s" }]
[services.api.environments.prod]
endpoints = [{ url = "https://api.example.com/healthz" }]
"#,
        );
        assert_eq!(c.title, "t");
        let names: Vec<_> = c.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web", "api"]);
        let envs: Vec<_> = c.services[0]
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(envs, ["green", "blue"]);
        let green = &c.services[0].environments[0].endpoints[0];
        assert_eq!(
            (green.role, green.interval, green.timeout),
            (Role::Health, DEFAULT_INTERVAL, DEFAULT_TIMEOUT)
        );
        let blue = &c.services[0].environments[1].endpoints[0];
        assert_eq!(
            (blue.role, blue.interval, blue.timeout),
            (Role::Ready, Duration::from_secs(5), Duration::from_secs(2))
        );
    }

    #[test]
    fn headers_come_from_the_environment_and_stay_secret() {
        let env = |n: &str| (n == "TOKEN").then(|| "s3cr3t".to_string());
        let src = r#"
[services.web.environments.blue]
endpoints = [{ url = "http://h/x", headers = { Authorization = "Bearer ${TOKEN}" } }]
"#;
        let c = parse(src, "t.toml", &env).unwrap_or_else(|e| panic!("{e}"));
        let (name, value) = &c.services[0].environments[0].endpoints[0].headers[0];
        assert_eq!(name, "Authorization");
        assert_eq!(value.expose(), "Bearer s3cr3t");
        assert!(
            !format!("{c:?}").contains("s3cr3t"),
            "Debug must not show secrets"
        );

        let e = errors(src);
        assert_eq!(
            e,
            ["t.toml:3:64: header `Authorization`: environment variable `TOKEN` is not set"]
        );
    }

    #[test]
    fn reports_every_semantic_error_with_its_place() {
        let e = errors(
            r#"
[services.web.environments.blue]
endpoints = [{ url = "ftp://h/x" }, { url = "http://h/x", timeout = "3s" }]
[services.empty]
[services."bad name".environments.x]
endpoints = []
"#,
        );
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(
            e[0].starts_with("t.toml:3:22: URL scheme `ftp`"),
            "{}",
            e[0]
        );
        assert!(
            e[1].starts_with("t.toml:3:69: timeout (3s) must be shorter than interval (2s)"),
            "{}",
            e[1]
        );
        assert!(
            e[2].starts_with("t.toml:4:11: service `empty` has no environments"),
            "{}",
            e[2]
        );
        assert!(
            e[3].starts_with("t.toml:5:11: service name \"bad name\""),
            "{}",
            e[3]
        );
        assert!(
            e[4].starts_with("t.toml:5:35: environment `bad name/x` has no endpoints"),
            "{}",
            e[4]
        );
    }

    #[test]
    fn redacts_secrets_in_urls() {
        let u = Url::parse("https://user:pw@h/health?verbose=1&access_token=abc&apiKey=def")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            redact_url(&u),
            "https://user:***@h/health?verbose=1&access_token=***&apiKey=***"
        );
    }

    #[test]
    fn locate_prefers_flag_then_env_then_default() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "").unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("missing.toml");
        assert_eq!(
            locate(Some(&f), None, &missing),
            Ok(Some((f.clone(), Source::Flag)))
        );
        assert!(locate(Some(&missing), None, &f).is_err());
        assert_eq!(
            locate(None, Some(f.display().to_string()), &missing),
            Ok(Some((f.clone(), Source::EnvVar)))
        );
        assert_eq!(
            locate(None, None, &f),
            Ok(Some((f.clone(), Source::Default)))
        );
        assert_eq!(locate(None, None, &missing), Ok(None));
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = parse(EXAMPLE, "assets/examples/backstop.toml", &no_env)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.title, "shop-prod-eu");
        let names: Vec<_> = c.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web", "checkout", "legacy"]);
        match c.services[0].traffic.as_ref().map(|t| &t.kind) {
            Some(TrafficKind::Nginx(n)) => {
                assert_eq!(n.upstream, "shop_web");
                assert_eq!(
                    n.servers[1],
                    ("green".to_string(), "10.0.1.20:8080".to_string())
                );
                assert_eq!(n.test, ["nginx", "-t"], "the default check");
                assert_eq!(n.reload, ["sudo", "-n", "nginx", "-s", "reload"]);
            }
            other => panic!("web should use nginx: {other:?}"),
        }
        match c.services[1]
            .traffic
            .as_ref()
            .map(|t| (&t.kind, t.interval))
        {
            Some((TrafficKind::Command(cmd), interval)) => {
                assert_eq!(cmd.timeout, Duration::from_secs(20));
                assert_eq!(interval, Duration::from_secs(5));
                assert!(cmd.set.contains(&"{weight}".to_string()));
            }
            other => panic!("checkout should use a command: {other:?}"),
        }
        let web = &c.services[0].policy;
        assert_eq!(web.stable.as_deref(), Some("blue"));
        assert_eq!(web.rules.len(), 4);
        match &web.dry_run[..] {
            [crate::core::rules::RuleKind::Compare { test, hold, .. }] => {
                assert_eq!(test.metric, crate::core::compare::Metric::Latency);
                assert_eq!((test.min_effect, test.confidence), (100.0, 0.99));
                assert_eq!(*hold, Duration::from_secs(15));
            }
            other => panic!("one compare rule on probation: {other:?}"),
        }
        assert!(matches!(
            web.rules[1],
            crate::core::rules::RuleKind::Latency { limit: crate::core::rules::LatencyLimit::Baseline(x), window, .. }
                if x == 2.0 && window == Duration::from_secs(300)
        ));
        assert!(matches!(
            web.rules[2],
            crate::core::rules::RuleKind::HealthFailures {
                count: 3,
                confirm: 2
            }
        ));
        // No rules given: the runbooks' defaults.
        assert_eq!(
            c.services[1].policy.rules,
            crate::core::rules::RuleKind::defaults()
        );
        let legacy = &c.services[2].environments[0].endpoints[0];
        assert_eq!(
            legacy.format.as_ref().map(|f| f.field.as_str()),
            Some("/health/state")
        );
        // The commented `headers` lines work as documented once uncommented.
        let with_headers = EXAMPLE.replace("# headers = ", "headers = ");
        let env = |n: &str| (n == "CHECKOUT_HEALTH_TOKEN").then(|| "t0k3n".to_string());
        let c = parse(&with_headers, "x", &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.services[1].environments[0].endpoints[0].headers[0]
                .1
                .expose(),
            "Bearer t0k3n"
        );
    }

    #[test]
    fn interpolation_edges() {
        let env = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(interpolate("x${A}y${A}", &env), Ok("x1y1".into()));
        assert_eq!(interpolate("$A", &env), Ok("$A".into()));
        assert!(interpolate("${A", &env).is_err());
        assert!(interpolate("${1A}", &env).is_err());
    }
}
