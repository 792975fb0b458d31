//! `backstop status`: probe every configured endpoint once, print a table or
//! one JSON document; the exit code is that of the worst status.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use super::{ProbeJson, exit_code};
use crate::config::Config;
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
    let mut rows = Vec::new();
    while let Some(r) = set.join_next().await {
        rows.push(r?);
    }
    // Stable order: configuration order, then the order endpoints were listed.
    let order = |r: &Row| (r.service, r.env, r.endpoint);
    rows.sort_by_key(order);
    let worst = rows.iter().map(|r| r.probed.report.status).max();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(config, &rows, worst))?
        );
    } else {
        print!("{}", table(config, &rows, worst));
    }
    Ok(exit_code(worst))
}

fn document(config: &Config, rows: &[Row], worst: Option<HealthStatus>) -> Value {
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
        services.insert(
            svc.name.clone(),
            json!({ "status": svc_worst, "environments": envs }),
        );
    }
    json!({ "status": worst, "services": services })
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
