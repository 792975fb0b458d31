//! `backstop status`: probe every configured endpoint once, read every
//! deployment, traffic split and alarm once, print a table or one JSON
//! document; the exit code is that of the worst health status.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use super::{ProbeJson, exit_code, out};
use crate::config::Config;
use crate::core::deploy::EnvDeploy;
use crate::core::health::HealthStatus;
use crate::core::model::ExternalAlarm;
use crate::core::rules::{AlarmState, RuleKind};
use crate::core::time::{self, Ts};
use crate::core::traffic::Weights;
use crate::room::{Place, Reader};
use crate::sources::probe::{ProbeSpec, Probed, Prober};

/// One probed endpoint, in configuration order.
struct Row {
    service: usize,
    env: usize,
    endpoint: usize,
    url: String,
    role: &'static str,
    probed: Probed,
}

/// Status is for pipelines and must answer: every read is bounded.
const READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A service's traffic split, read now: (service, provider, target, the
/// weights, the last change backstop journaled: when, by whom, what).
struct Split {
    service: usize,
    provider: &'static str,
    target: String,
    weights: Result<Weights, String>,
    last: Option<(Ts, String, String)>,
}

pub async fn run(config: &Config, json_out: bool, journal: Option<&Place>) -> anyhow::Result<u8> {
    let prober = Prober::new()?;
    let mut set = JoinSet::new();
    for (s, svc) in config.services.iter().enumerate() {
        for (e, env) in svc.environments.iter().enumerate() {
            for (p, ep) in env.endpoints.iter().enumerate() {
                let prober = prober.clone();
                let spec = ProbeSpec::from_config(ep);
                let (url, role) = (ep.display_url(), ep.role.as_str());
                set.spawn(async move {
                    Row {
                        service: s,
                        env: e,
                        endpoint: p,
                        url,
                        role,
                        probed: prober.probe(&spec).await,
                    }
                });
            }
        }
    }
    // Deployments, read at the same time as the probes.
    let aws = crate::aws::Registry::default();
    let mut deploys = JoinSet::new();
    for (s, svc) in config.services.iter().enumerate() {
        if let Some(crate::config::DeployConfig::Ecs(cfg)) = &svc.deploy {
            let p = crate::providers::ecs::EcsDeploy::new(aws.get(&cfg.aws), cfg.clone());
            deploys.spawn(async move {
                use crate::providers::deploy::DeployProvider;
                // Bounded: status is for pipelines and must answer.
                let read = tokio::time::timeout(READ_LIMIT, p.read())
                    .await
                    .unwrap_or(Err(crate::aws::AwsError::NoAnswer {
                        call: "DescribeServices",
                    }
                    .into()))
                    .map_err(|e| e.to_string());
                (s, p.kind(), p.target(), read)
            });
        }
    }
    // Traffic splits, through the providers' own reads.
    let mut splits = JoinSet::new();
    for (s, svc) in config.services.iter().enumerate() {
        if let Some(p) = crate::providers::traffic::build(svc, None, &aws) {
            splits.spawn(async move {
                let weights = tokio::time::timeout(READ_LIMIT, p.read())
                    .await
                    .map_err(|_| format!("no answer within {}s", READ_LIMIT.as_secs()))
                    .and_then(|r| r.map_err(|e| e.message));
                (s, p.kind(), p.target(), weights)
            });
        }
    }
    // Databases: each service's migration table, read once.
    let mut databases = JoinSet::new();
    for (s, svc) in config.services.iter().enumerate() {
        if let Some(db) = svc.database.clone() {
            databases.spawn(async move { (s, crate::sources::database::read(&db).await) });
        }
    }
    // CloudWatch alarms: one source per AWS setting, as the console polls them.
    let mut wants: Vec<(
        crate::config::aws::AwsSettings,
        Vec<(usize, crate::config::aws::AlarmsConfig)>,
    )> = Vec::new();
    for (i, svc) in config.services.iter().enumerate() {
        if let Some(a) = &svc.alarms {
            match wants.iter_mut().find(|(s, _)| *s == a.aws) {
                Some((_, v)) => v.push((i, a.clone())),
                None => wants.push((a.aws.clone(), vec![(i, a.clone())])),
            }
        }
    }
    let mut polls = JoinSet::new();
    for (settings, wanted) in wants {
        let services: Vec<usize> = wanted.iter().map(|(i, _)| *i).collect();
        let source = crate::aws::alarms::CloudWatchAlarms::new(aws.get(&settings), wanted);
        polls.spawn(async move {
            let r = tokio::time::timeout(READ_LIMIT, source.poll())
                .await
                .map_err(|_| format!("no answer within {}s", READ_LIMIT.as_secs()))
                .and_then(|r| r.map_err(|e| e.to_string()));
            (services, r)
        });
    }
    let mut rows = Vec::new();
    while let Some(r) = set.join_next().await {
        rows.push(r?);
    }
    // Who changed each split last: the journal's word, if there is one.
    let reader = journal.and_then(|p| Reader::at(p).ok());
    let mut split = Vec::new();
    while let Some(r) = splits.join_next().await {
        let (s, provider, target, weights) = r?;
        let last = reader.as_ref().and_then(|r| {
            r.last_weight_change(&config.services[s].name)
                .ok()
                .flatten()
        });
        split.push(Split {
            service: s,
            provider,
            target,
            weights,
            last,
        });
    }
    split.sort_by_key(|s| s.service);
    let mut alarms = Alarms::default();
    while let Some(r) = polls.join_next().await {
        let (services, result) = r?;
        match result {
            Ok(found) => alarms.found.extend(found),
            Err(e) => alarms
                .failed
                .extend(services.into_iter().map(|s| (s, e.clone()))),
        }
    }
    let mut deployed = Vec::new();
    while let Some(d) = deploys.join_next().await {
        deployed.push(d?);
    }
    deployed.sort_by_key(|d| d.0);
    let mut schemas: Vec<Schemas> = Vec::new();
    while let Some(d) = databases.join_next().await {
        schemas.push(d?);
    }
    schemas.sort_by_key(|d| d.0);
    // Stable order: configuration order, then the order endpoints were listed.
    let order = |r: &Row| (r.service, r.env, r.endpoint);
    rows.sort_by_key(order);
    let worst = rows.iter().map(|r| r.probed.report.status).max();
    let incidents = open_incidents(config, reader.as_ref());
    if json_out {
        let mut doc = document(config, &rows, &deployed, worst);
        add_traffic_and_alarms(&mut doc, config, &rows, &split, &alarms);
        add_databases(&mut doc, config, &schemas);
        doc["incidents"] = json!(
            incidents
                .iter()
                .map(|(r, sev)| json!({
                    "incident": r.id,
                    "service": r.entry.scope,
                    "opened": r.entry.at.rfc3339(),
                    "by": r.entry.operator,
                    "severity": sev.as_ref().map(|s| s.level),
                    "severity_declared_by": sev.as_ref().and_then(|s| s.by.clone()),
                    "severity_why": sev.as_ref().map(|s| s.why.clone()),
                }))
                .collect::<Vec<_>>()
        );
        out::line(&serde_json::to_string_pretty(&doc)?);
    } else {
        out::text(incidents_table(&incidents));
        out::text(table(config, &rows, worst));
        out::text(deployments_table(config, &deployed));
        out::text(databases_table(config, &schemas));
        out::text(traffic_table(config, &split));
        out::text(alarms_table(config, &rows, &alarms));
    }
    Ok(exit_code(worst))
}

/// The configuration's incidents the journal holds open, with their severity.
fn open_incidents(
    config: &Config,
    reader: Option<&Reader>,
) -> Vec<(crate::room::Row, Option<crate::core::comms::Severity>)> {
    let Some(open) = reader.and_then(|r| r.open_incidents().ok()) else {
        return Vec::new();
    };
    open.into_iter()
        .filter(|(r, _)| config.services.iter().any(|s| s.name == r.entry.scope))
        .collect()
}

/// `INCIDENT 12  web  SEV1  declared by alice: checkout down  (opened 14:02:11 by alice)`.
fn incidents_table(open: &[(crate::room::Row, Option<crate::core::comms::Severity>)]) -> String {
    let mut s = String::new();
    for (r, sev) in open {
        let sev = sev.as_ref().map_or_else(
            || "no severity".to_string(),
            |v| match &v.by {
                Some(by) => format!("{}  declared by {by}: {}", v.label(), v.why),
                None => format!("{}  {}", v.label(), v.why),
            },
        );
        s.push_str(&format!(
            "INCIDENT {}  {}  {sev}  (opened {} by {})\n",
            r.id,
            r.entry.scope,
            r.entry.at.rfc3339(),
            r.entry.operator
        ));
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// A service's deploy provider read: (service, provider, target, result).
type Deployed = (usize, &'static str, String, Result<Vec<EnvDeploy>, String>);

fn document(
    config: &Config,
    rows: &[Row],
    deployed: &[Deployed],
    worst: Option<HealthStatus>,
) -> Value {
    let mut services = Map::new();
    for (s, svc) in config.services.iter().enumerate() {
        let mut envs = Map::new();
        let mut svc_worst = None;
        for (e, env) in svc.environments.iter().enumerate() {
            let mine: Vec<&Row> = rows
                .iter()
                .filter(|r| r.service == s && r.env == e)
                .collect();
            let env_worst = mine.iter().map(|r| r.probed.report.status).max();
            svc_worst = svc_worst.max(env_worst);
            let version = mine.iter().find_map(|r| r.probed.report.version.clone());
            let endpoints: Vec<Value> = mine
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(ProbeJson::new(r.url.clone(), &r.probed))
                        .unwrap_or(Value::Null);
                    v["role"] = json!(r.role);
                    v
                })
                .collect();
            envs.insert(
                env.name.clone(),
                json!({ "status": env_worst, "version": version, "endpoints": endpoints }),
            );
        }
        let mut doc = json!({ "status": svc_worst, "environments": envs });
        if let Some((_, provider, target, result)) = deployed.iter().find(|d| d.0 == s) {
            doc["deployments"] = match result {
                Ok(envs) => json!({ "provider": provider, "target": target, "environments": envs }),
                Err(e) => json!({ "provider": provider, "target": target, "error": e }),
            };
        }
        services.insert(svc.name.clone(), doc);
    }
    json!({ "status": worst, "services": services })
}

/// A service's database read: (service, the schema or why not).
type Schemas = (
    usize,
    Result<crate::core::migration::Schema, crate::core::migration::ReadError>,
);

fn add_databases(doc: &mut Value, config: &Config, schemas: &[Schemas]) {
    for (i, read) in schemas {
        let name = &config.services[*i].name;
        doc["services"][name]["database"] = match read {
            Ok(schema) => {
                let applied: Vec<Value> = schema
                    .applied
                    .iter()
                    .map(|m| {
                        json!({
                            "version": m.version,
                            "name": m.name,
                            "applied_at": m.applied_at.map(Ts::rfc3339),
                            "file": m.file,
                            "up": m.up,
                            "unsafe_for_old_code": m.breaks_old_code(),
                            "down": m.down,
                            "down_destroys": m.down_destroys(),
                        })
                    })
                    .collect();
                json!({
                    "tool": schema.tool,
                    "current": schema.current().map(|m| &m.version),
                    "dirty": schema.dirty,
                    "applied": applied,
                })
            }
            Err(e) => json!({ "error": e.to_string() }),
        };
    }
}

fn databases_table(config: &Config, schemas: &[Schemas]) -> String {
    let mut s = String::new();
    if schemas.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\nDATABASES");
    for (i, read) in schemas {
        let name = &config.services[*i].name;
        match read {
            Ok(schema) => {
                let _ = writeln!(s, "{name}  {}", schema.summary(None));
                // The last few, newest first: what a rollback would meet.
                for m in schema.applied.iter().rev().take(5) {
                    let at = m
                        .applied_at
                        .map(|t| format!(" applied {}", t.rfc3339()))
                        .unwrap_or_default();
                    let unsafe_for_old: Vec<&str> =
                        m.breaks_old_code().iter().map(|r| r.as_str()).collect();
                    let risk = if unsafe_for_old.is_empty() {
                        String::new()
                    } else {
                        format!(" · UNSAFE for the old code ({})", unsafe_for_old.join(", "))
                    };
                    let down = match &m.down {
                        crate::core::migration::Down::Present { .. } => {
                            let lost: Vec<&str> =
                                m.down_destroys().iter().map(|r| r.as_str()).collect();
                            if lost.is_empty() {
                                "down: yes".to_string()
                            } else {
                                format!("down: yes, DESTROYS DATA ({})", lost.join(", "))
                            }
                        }
                        crate::core::migration::Down::Missing => "down: NONE".to_string(),
                        crate::core::migration::Down::Unknown => "down: unknown".to_string(),
                    };
                    let _ = writeln!(s, "    {}{at} · {down}{risk}", m.label());
                }
            }
            Err(err) => {
                let _ = writeln!(s, "{name}  database: cannot read: {err}");
            }
        }
    }
    s
}

fn deployments_table(config: &Config, deployed: &[Deployed]) -> String {
    let mut s = String::new();
    if deployed.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\nDEPLOYMENTS");
    for (i, provider, target, result) in deployed {
        let name = &config.services[*i].name;
        match result {
            Ok(envs) => {
                for e in envs {
                    let prev = e
                        .previous
                        .as_deref()
                        .map(|p| format!(" · revert → {p}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "{name}  {}  {provider} service {} in {target}: on {} · {}{prev}",
                        e.env,
                        e.name,
                        e.current,
                        e.summary()
                    );
                    for d in &e.deployments {
                        let _ = writeln!(s, "    ECS deployment {}: {}", d.id(), d.summary());
                    }
                    if let Some(err) = &e.deployments_error {
                        let _ = writeln!(s, "    ECS deployments not readable: {err}");
                    }
                }
            }
            Err(err) => {
                let _ = writeln!(s, "{name}  {provider} {target}: cannot read: {err}");
            }
        }
    }
    s
}

fn table(config: &Config, rows: &[Row], worst: Option<HealthStatus>) -> String {
    let svc_w = config
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let env_w = config
        .services
        .iter()
        .flat_map(|s| &s.environments)
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0)
        .max(3);
    let url_w = rows
        .iter()
        .map(|r| r.url.len())
        .max()
        .unwrap_or(0)
        .clamp(8, 60);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<svc_w$}  {:<env_w$}  {:<9}  {:<11}  {:<8}  {:<url_w$}  {:>4}  {:>7}  SUMMARY",
        "SERVICE", "ENV", "ROLE", "STATUS", "VERSION", "ENDPOINT", "HTTP", "LATENCY"
    );
    for r in rows {
        let rep = &r.probed.report;
        let svc = &config.services[r.service];
        let _ = writeln!(
            s,
            "{:<svc_w$}  {:<env_w$}  {:<9}  {:<11}  {:<8}  {:<url_w$}  {:>4}  {:>7}  {}",
            svc.name,
            svc.environments[r.env].name,
            r.role,
            rep.status.as_str(),
            rep.version.as_deref().unwrap_or("-"),
            r.url,
            rep.http_status
                .map_or_else(|| "-".to_string(), |c| c.to_string()),
            time::latency(r.probed.latency_ms),
            rep.summary
        );
    }
    if let Some(w) = worst {
        let _ = writeln!(s, "\nworst: {w}");
    }
    s
}

/// CloudWatch's alarms as read, and the services whose read failed.
#[derive(Default)]
struct Alarms {
    found: Vec<(usize, ExternalAlarm)>,
    failed: Vec<(usize, String)>,
}

/// A local rule's state from this one round of probes and alarms. Rules
/// over a window (error rate, latency, degraded for) need time: `watch`
/// and the console judge them; here they say so rather than guess.
fn rule_state(
    rule: &RuleKind,
    env: usize,
    service: usize,
    rows: &[Row],
    alarms: &Alarms,
) -> (&'static str, String) {
    let probed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.service == service && r.env == env)
        .collect();
    let worst = probed.iter().map(|r| r.probed.report.status).max();
    match rule {
        RuleKind::HealthFailures { count, .. } => match worst {
            Some(HealthStatus::Critical | HealthStatus::Unreachable) if *count <= 1 => {
                ("firing", "failed this probe".into())
            }
            Some(HealthStatus::Critical | HealthStatus::Unreachable) => {
                ("pending", format!("1 of {count} failures (this probe)"))
            }
            Some(_) => ("ok", "this probe passed".into()),
            None => ("unknown", "no endpoint probed".into()),
        },
        RuleKind::Alarm { name, .. } => {
            let matches = |a: &ExternalAlarm| match name.strip_suffix('*') {
                Some(prefix) => a.name.starts_with(prefix),
                None => &a.name == name,
            };
            let mine: Vec<&ExternalAlarm> = alarms
                .found
                .iter()
                .filter(|(s, a)| *s == service && matches(a))
                .map(|(_, a)| a)
                .collect();
            if mine.iter().any(|a| a.state == AlarmState::Alarm) {
                ("firing", "in ALARM".into())
            } else if mine.is_empty() {
                ("unknown", "alarm not read".into())
            } else {
                ("ok", "not in ALARM".into())
            }
        }
        RuleKind::Manual => ("ok", "nobody asked".into()),
        _ => (
            "not judged",
            "needs its window: `backstop watch` or the console judges it".into(),
        ),
    }
}

/// Each rule with the environments it is judged on: an alarm rule that
/// names no environment, or a comparison (of whichever is on trial), is
/// one line for the service, not one per environment.
fn judged<'a>(
    svc: &'a crate::config::ServiceConfig,
) -> impl Iterator<Item = (&'a RuleKind, usize, &'a str)> + 'a {
    svc.policy.rules.iter().flat_map(move |r| {
        let envs: Vec<(usize, &'a str)> = match r {
            RuleKind::Alarm { env: None, .. } | RuleKind::Compare { .. } => vec![(0, "-")],
            RuleKind::Alarm { env: Some(e), .. } => svc
                .environments
                .iter()
                .enumerate()
                .filter(|(_, x)| &x.name == e)
                .map(|(i, x)| (i, x.name.as_str()))
                .collect(),
            _ => svc
                .environments
                .iter()
                .enumerate()
                .map(|(i, x)| (i, x.name.as_str()))
                .collect(),
        };
        envs.into_iter().map(move |(i, n)| (r, i, n))
    })
}

/// The traffic split and the alarms, into the document `document` made.
fn add_traffic_and_alarms(
    doc: &mut Value,
    config: &Config,
    rows: &[Row],
    split: &[Split],
    alarms: &Alarms,
) {
    for (s, svc) in config.services.iter().enumerate() {
        let Some(entry) = doc["services"].get_mut(&svc.name) else {
            continue;
        };
        if let Some(sp) = split.iter().find(|x| x.service == s) {
            let mut t = json!({ "provider": sp.provider, "target": sp.target });
            match &sp.weights {
                Ok(w) => {
                    let pct = w.percents();
                    t["live"] = json!(w.live());
                    t["environments"] = Value::Array(
                        w.0.iter()
                            .zip(pct)
                            .map(|(e, p)| json!({ "env": e.env, "weight": e.weight, "percent": p }))
                            .collect(),
                    );
                }
                Err(e) => t["error"] = json!(e),
            }
            t["last_change"] = match &sp.last {
                Some((at, by, what)) => json!({ "at": at.rfc3339(), "by": by, "change": what }),
                None => Value::Null,
            };
            entry["traffic"] = t;
        }
        let external: Vec<Value> = alarms
            .found
            .iter()
            .filter(|(i, _)| *i == s)
            .map(|(_, a)| {
                json!({
                    "name": a.name,
                    "source": a.source,
                    "state": a.state.word(),
                    "reason": a.reason,
                    "since": a.since.rfc3339(),
                })
            })
            .collect();
        let rules: Vec<Value> = judged(svc)
            .map(|(r, e, env)| {
                let (state, why) = rule_state(r, e, s, rows, alarms);
                json!({
                    "env": env,
                    "rule": r.name(),
                    "threshold": r.threshold(),
                    "state": state,
                    "detail": why,
                })
            })
            .collect();
        let mut a = json!({ "cloudwatch": external, "rules": rules });
        if let Some((_, e)) = alarms.failed.iter().find(|(i, _)| *i == s) {
            a["error"] = json!(e);
        }
        entry["alarms"] = a;
    }
}

fn traffic_table(config: &Config, split: &[Split]) -> String {
    let mut s = String::new();
    if split.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\nTRAFFIC");
    for sp in split {
        let name = &config.services[sp.service].name;
        match &sp.weights {
            Ok(w) => {
                let pct = w.percents();
                let parts: Vec<String> =
                    w.0.iter()
                        .zip(pct)
                        .map(|(e, p)| format!("{} {p} %", e.env))
                        .collect();
                let last = match &sp.last {
                    Some((at, by, what)) => {
                        format!(" · last change {} by {by}: {what}", at.rfc3339())
                    }
                    None => " · no change by backstop journaled".into(),
                };
                let _ = writeln!(
                    s,
                    "{name}  {} {}: {}{last}",
                    sp.provider,
                    sp.target,
                    parts.join(" · ")
                );
            }
            Err(e) => {
                let _ = writeln!(s, "{name}  {} {}: cannot read: {e}", sp.provider, sp.target);
            }
        }
    }
    s
}

fn alarms_table(config: &Config, rows: &[Row], alarms: &Alarms) -> String {
    let mut s = String::new();
    let any_rules = config.services.iter().any(|c| !c.policy.rules.is_empty());
    if alarms.found.is_empty() && alarms.failed.is_empty() && !any_rules {
        return s;
    }
    let _ = writeln!(s, "\nALARMS & RULES");
    for (i, svc) in config.services.iter().enumerate() {
        for (_, a) in alarms.found.iter().filter(|(x, _)| *x == i) {
            let _ = writeln!(
                s,
                "{}  {} {}  {}  since {}: {}",
                svc.name,
                a.source,
                a.name,
                a.state.word(),
                a.since.rfc3339(),
                a.reason
            );
        }
        for (_, e) in alarms.failed.iter().filter(|(x, _)| *x == i) {
            let _ = writeln!(s, "{}  cloudwatch: cannot read: {e}", svc.name);
        }
        for (r, e, env) in judged(svc) {
            let (state, why) = rule_state(r, e, i, rows, alarms);
            let _ = writeln!(
                s,
                "{}  {env}  rule {} {}  {state}: {why}",
                svc.name,
                r.name(),
                r.threshold()
            );
        }
    }
    s
}
