//! `backstop verify`: the reference verification pipeline for one service
//! after a deploy. Wait for it to stabilise, check every environment's
//! health, run the smoke tests, then (optionally) watch the rules for a
//! window. Exit 0 verified, 1 rollback required (the reasons printed), 2
//! error, 128 + n when signal n stopped it (verify changes nothing, so it
//! stops at once, with its verdict: not verified). The journal gets what
//! the console would record.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::interrupt::Interrupt;
use super::session::{self, wanted};
use super::{exit, out};
use crate::config::Config;
use crate::engine::Storage;

pub struct Args {
    pub service: String,
    pub env: Option<String>,
    pub stabilize: Duration,
    pub watch: Duration,
    pub json: bool,
}

#[derive(Serialize)]
struct CheckJson {
    check: String,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct VerdictJson<'a> {
    service: &'a str,
    envs: &'a [String],
    verified: bool,
    checks: &'a [CheckJson],
    reasons: &'a [String],
}

pub async fn run(config: Config, storage: &Storage, a: Args) -> Result<u8> {
    let interrupt = Interrupt::listen();
    let (service, json) = (a.service.clone(), a.json);
    tokio::select! {
        r = checked(config, storage, a) => r,
        () = interrupt.wait() => {
            let why = format!(
                "interrupted by {} before the verdict",
                interrupt.received().unwrap_or("a signal")
            );
            print_verdict(&service, &[], &[], &[why], json, "NOT VERIFIED")?;
            Ok(interrupt.code())
        }
    }
}

/// The verdict, as the last thing printed.
fn print_verdict(
    service: &str,
    envs: &[String],
    checks: &[CheckJson],
    reasons: &[String],
    json: bool,
    failed: &str,
) -> Result<()> {
    let verified = reasons.is_empty();
    if json {
        let v = VerdictJson {
            service,
            envs,
            verified,
            checks,
            reasons,
        };
        out::line(serde_json::to_string_pretty(&v)?);
    } else if verified {
        out::line(format_args!("VERIFIED {service} ({})", envs.join(", ")));
    } else {
        out::line(format_args!("{failed} {service}:"));
        for r in reasons {
            out::line(format_args!("  - {r}"));
        }
    }
    Ok(())
}

async fn checked(config: Config, storage: &Storage, a: Args) -> Result<u8> {
    let config = match session::only(config, Some(&a.service)) {
        Ok(c) => c,
        Err(e) => {
            out::err_line(format_args!("backstop verify: {e}"));
            return Ok(exit::USAGE);
        }
    };
    let mut config = config;
    session::advise_only(&mut config);
    let svc_cfg = config.services[0].clone();
    if let Some(env) = &a.env
        && !svc_cfg.environments.iter().any(|e| &e.name == env)
    {
        out::err_line(format_args!(
            "backstop verify: {} has no environment {env:?}",
            a.service
        ));
        return Ok(exit::USAGE);
    }
    let mut engine = match session::start(&config, storage, "backstop verify") {
        Ok(e) => e,
        Err(e) => {
            out::err_line(format_args!("backstop verify: {e}"));
            return Ok(exit::USAGE);
        }
    };
    let _reader = out::watch_reader();
    let say = |line: &str| {
        if !a.json {
            out::line(line);
        }
    };

    say(&format!(
        "verify {}: stabilising for {}",
        a.service,
        crate::core::time::human(a.stabilize)
    ));
    engine.run_until(a.stabilize, |_| false).await;
    let limit = session::first_read_limit(&config);
    if !session::settle(&mut engine, limit).await {
        say("some sources have not answered yet; verifying on what is known");
    }

    // Which environments: the one named, or those taking traffic (all of
    // them without a traffic provider).
    let svc = &engine.state.services[0];
    let envs: Vec<String> = match &a.env {
        Some(e) => vec![e.clone()],
        None => match svc.traffic.as_ref().and_then(|t| t.weights.as_ref()) {
            Some(w) => svc
                .envs
                .iter()
                .filter(|e| w.share(&e.name) > 0.0)
                .map(|e| e.name.clone())
                .collect(),
            None => svc.envs.iter().map(|e| e.name.clone()).collect(),
        },
    };
    let mut checks = Vec::new();
    if envs.is_empty() {
        checks.push(CheckJson {
            check: format!("traffic {}", a.service),
            ok: false,
            detail:
                "no environment takes traffic (do the provider's names match the environments'?)"
                    .into(),
        });
    }
    for name in &envs {
        let Some(e) = svc.envs.iter().find(|e| &e.name == name) else {
            continue;
        };
        let (ok, detail) = match e.status {
            Some(s) if !s.is_failure() => (
                true,
                format!(
                    "{}{}",
                    s.badge(),
                    e.version
                        .as_ref()
                        .map(|v| format!(" v{v}"))
                        .unwrap_or_default()
                ),
            ),
            Some(s) => (
                false,
                format!(
                    "{}: {}",
                    s.badge(),
                    // The first failing endpoint's own words.
                    e.endpoints
                        .iter()
                        .filter_map(|p| p.last.as_ref())
                        .find(|r| r.report.status.is_failure())
                        .map_or_else(|| "failing".into(), |r| r.report.summary.clone())
                ),
            ),
            None => (false, "no answer yet".into()),
        };
        checks.push(CheckJson {
            check: format!("health {}/{name}", a.service),
            ok,
            detail,
        });
    }
    let healthy = checks.iter().all(|c| c.ok);
    if healthy {
        for name in &envs {
            if !svc_cfg.environments.iter().any(|e| &e.name == name) {
                continue;
            }
            // Through the executor: checks that may change something (a
            // program, a POST) are journaled and fenced like any change.
            match engine.smoke(0, name).await {
                Ok(results) => checks.extend(results.into_iter().map(|r| CheckJson {
                    check: format!("smoke {name}: {}", r.name),
                    ok: r.ok,
                    detail: r.detail,
                })),
                Err(why) => checks.push(CheckJson {
                    check: format!("smoke {name}"),
                    ok: false,
                    detail: why,
                }),
            }
        }
    }
    for c in &checks {
        say(&format!(
            "{} {}: {}",
            if c.ok { "✓" } else { "✗" },
            c.check,
            c.detail
        ));
    }
    let mut reasons: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.check, c.detail))
        .collect();
    // The watch window: the rules evaluate as in the console; any that
    // recommends a rollback ends it.
    if reasons.is_empty() && !a.watch.is_zero() {
        say(&format!(
            "watching the rules for {}",
            crate::core::time::human(a.watch)
        ));
        engine
            .run_until(a.watch, |s| {
                // Nobody reads the verdict any more: stop watching.
                out::gone() || wanted(&s.services[0].rollback.decision).is_some()
            })
            .await;
    }
    if out::gone() {
        engine
            .note("backstop verify: standard output was closed (the reader went away); it stopped watching")
            .await;
    }
    if let Some(why) = wanted(&engine.state.services[0].rollback.decision) {
        reasons.extend(why);
    }
    let verified = reasons.is_empty();
    print_verdict(
        &a.service,
        &envs,
        &checks,
        &reasons,
        a.json,
        "ROLLBACK REQUIRED",
    )?;
    Ok(if verified { exit::OK } else { exit::FAILING })
}
