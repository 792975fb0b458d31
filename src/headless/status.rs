//! `backstop status`: probe every configured endpoint once, print a table or
//! one JSON document; the exit code is that of the worst status.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use super::{ProbeJson, exit_code, out};
use crate::config::Config;
use crate::core::deploy::EnvDeploy;
use crate::core::health::HealthStatus;
use crate::core::time;
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

pub async fn run(config: &Config, json_out: bool) -> anyhow::Result<u8> {
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
                let read = tokio::time::timeout(std::time::Duration::from_secs(30), p.read())
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
    let mut rows = Vec::new();
    while let Some(r) = set.join_next().await {
        rows.push(r?);
    }
    let mut deployed = Vec::new();
    while let Some(d) = deploys.join_next().await {
        deployed.push(d?);
    }
    deployed.sort_by_key(|d| d.0);
    // Stable order: configuration order, then the order endpoints were listed.
    let order = |r: &Row| (r.service, r.env, r.endpoint);
    rows.sort_by_key(order);
    let worst = rows.iter().map(|r| r.probed.report.status).max();
    if json_out {
        out::line(&serde_json::to_string_pretty(&document(
            config, &rows, &deployed, worst,
        ))?);
    } else {
        out::text(table(config, &rows, worst));
        out::text(deployments_table(config, &deployed));
    }
    Ok(exit_code(worst))
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
