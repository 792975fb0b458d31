//! The work of checklist steps: re-probes, previews, the switch, the revert,
//! smoke tests, notifications and commands. A step that changes the world
//! journals its intent first and does nothing if that fails.

use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use super::{Backends, record_intent, record_outcome};
use crate::clock::now;
use crate::core::health::HealthStatus;
use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::{Msg, StepOutcome, StepWork};
use crate::core::traffic::Weights;
use crate::providers::{command, notify, smoke};
use crate::room::Entry;

pub(super) struct Job {
    pub service: usize,
    pub name: String,
    pub run: u64,
    pub step: usize,
    pub title: String,
    pub incident: Option<i64>,
    pub by: String,
    pub work: StepWork,
}

impl Job {
    /// Where the change lands, for the journal: `web` or `web/green`.
    fn scope(&self) -> String {
        match &self.work {
            StepWork::Revert { env, .. } | StepWork::Smoke { env } => {
                format!("{}/{env}", self.name)
            }
            _ => self.name.clone(),
        }
    }

    fn previewed(&self, request: u64, result: Result<Vec<String>, String>) -> Msg {
        Msg::StepPreview {
            service: self.service,
            run: self.run,
            step: self.step,
            request,
            result,
            at: now(),
        }
    }

    fn done(&self, outcome: StepOutcome) -> Msg {
        Msg::StepDone {
            service: self.service,
            run: self.run,
            step: self.step,
            outcome,
            at: now(),
        }
    }
}

/// The number of an incident being journaled: it is a few milliseconds
/// away, or never (the journal failed; its error is shown on its own).
pub(super) async fn incident_number(
    mut number: tokio::sync::watch::Receiver<Option<i64>>,
) -> Option<i64> {
    let wait = number.wait_for(Option::is_some);
    match tokio::time::timeout(Duration::from_secs(10), wait).await {
        Ok(Ok(id)) => *id,
        _ => None,
    }
}

pub(super) async fn run(b: Backends, job: Job, tx: mpsc::Sender<Msg>) {
    match &job.work {
        StepWork::PreviewSwitch { from, to, request } => {
            let result = preview_weights(&b, &job.name, from, to).await;
            let _ = tx.send(job.previewed(*request, result)).await;
        }
        StepWork::PreviewRevert {
            env,
            expect,
            to,
            request,
        } => {
            let result = preview_revert(&b, &job.name, env, expect.as_deref(), to.as_deref()).await;
            let _ = tx.send(job.previewed(*request, result)).await;
        }
        StepWork::Reprobe { env, count } => {
            let outcome = reprobe(&b, &job, *env, *count, &tx).await;
            journal_step(&b, &job, &outcome);
            let _ = tx.send(job.done(outcome)).await;
        }
        StepWork::Smoke { env } => {
            let run = Smoke {
                service: job.service,
                name: job.name.clone(),
                env: env.clone(),
                incident: job.incident,
                by: job.by.clone(),
                title: job.title.clone(),
                step: Some(job.step),
            };
            let ran = smoke_journaled(&b, &run).await;
            if !ran.journaled {
                journal_step(&b, &job, &ran.outcome);
            }
            let _ = tx.send(job.done(ran.outcome)).await;
        }
        StepWork::Switch { .. }
        | StepWork::Revert { .. }
        | StepWork::Notify { .. }
        | StepWork::StatusPage { .. }
        | StepWork::Command { .. }
        | StepWork::MigrateDown { .. } => {
            let outcome = change(&b, &job, &tx).await;
            let _ = tx.send(job.done(outcome)).await;
        }
    }
}

/// A step that changes the world: intent (on disk) → the change → outcome.
async fn change(b: &Backends, job: &Job, tx: &mpsc::Sender<Msg>) -> StepOutcome {
    let scope = job.scope();
    let (text, data) = intent_of(b, job);
    let mut e = Entry::new(now(), "intent", &scope, text, &job.by);
    e.level = "warn".into();
    e.incident = job.incident;
    e.data = Some(data);
    let (fence, fenced) = match b.fence(&job.name).await {
        Ok(f) => (f.clone(), record_intent(b.changes().as_ref(), e, f).await),
        Err(why) => (None, Err(why)),
    };
    let intent = match fenced {
        Ok(id) => id,
        Err(error) => return StepOutcome::failed(error, vec![]),
    };
    // The lease again, right before the world is touched: a driver stopped
    // between its intent and here, and taken over meanwhile, does nothing.
    let holding = b.holding(fence.as_ref());
    let outcome = match holding.holds().await {
        Err(why) => StepOutcome::failed(format!("{why}; nothing was changed"), vec![]),
        Ok(()) => match &job.work {
            StepWork::Switch { from, to } => switch(b, job, from, to, &holding, tx).await,
            StepWork::Revert { env, expect, to } => match b.deploy.get(&job.name) {
                Some(d) => match d.revert(env, expect.as_deref(), to.as_deref()).await {
                    Ok(lines) => StepOutcome::ok(lines),
                    Err(e) => StepOutcome::failed(e.to_string(), vec![]),
                },
                None => no_deploy(&job.name),
            },
            StepWork::Notify { template, text } => {
                let sent =
                    notify::send_all(&b.notifiers, *template, &job.name, text, &job.by, now())
                        .await;
                notified(&sent)
            }
            StepWork::StatusPage { status, text } => publish(b, job, *status, text).await,
            StepWork::Command { argv, timeout, env } => {
                run_command(b, job, argv, *timeout, env).await
            }
            StepWork::MigrateDown {
                argv,
                timeout,
                from,
                to,
            } => migrate_down(b, job, argv, *timeout, from, to.as_deref()).await,
            _ => StepOutcome::failed("not a change", vec![]),
        },
    };
    let text = match (outcome.error(), outcome.warning()) {
        (Some(e), _) => format!("failed: {}: {e}", job.title),
        (None, Some(w)) => format!("done with a warning: {}: {w}", job.title),
        (None, None) => format!("done: {}", job.title),
    };
    record_outcome(
        b.changes().as_ref(),
        intent,
        job.incident,
        &scope,
        &job.by,
        outcome.is_ok(),
        text,
        Some(json!({ "step": job.step, "evidence": outcome.evidence })),
    );
    outcome
}

/// The environment a switch takes users from and the one it takes them
/// to: the share that falls most, and the one that grows most.
fn route(from: &Weights, to: &Weights) -> (String, String) {
    let moved = |w: &crate::core::traffic::EnvWeight| to.share(&w.env) - from.share(&w.env);
    let by = |a: &&crate::core::traffic::EnvWeight, b: &&crate::core::traffic::EnvWeight| {
        moved(a).total_cmp(&moved(b))
    };
    let suspect = from.0.iter().min_by(by).map(|w| w.env.clone());
    let target = from.0.iter().max_by(by).map(|w| w.env.clone());
    (suspect.unwrap_or_default(), target.unwrap_or_default())
}

/// What the intent row says, and its data (the message itself for a
/// notification). A rollback — a switch or a revert — names where users
/// go from and to, and carries the guards the room judges it by.
fn intent_of(b: &Backends, job: &Job) -> (String, serde_json::Value) {
    let base = |work: &str| json!({ "step": job.step, "title": job.title, "work": work });
    let guard = b
        .services
        .iter()
        .find(|s| s.name == job.name)
        .map(|s| json!(crate::core::room::Guard::of(&s.policy)));
    match &job.work {
        StepWork::Switch { from, to } => {
            let mut d = base("switch-traffic");
            let (suspect, target) = route(from, to);
            d["change"] = json!(Weights::describe_change(from, to));
            d["from"] = json!(from);
            d["to"] = json!(to);
            d["suspect"] = json!(suspect);
            d["target"] = json!(target);
            d["guard"] = json!(guard);
            (
                format!(
                    "switch traffic of {}: {}",
                    job.name,
                    Weights::describe_change(from, to)
                ),
                d,
            )
        }
        StepWork::Revert { env, expect, to } => {
            let mut d = base("revert-deployment");
            d["from"] = json!(expect);
            d["to"] = json!(to);
            d["suspect"] = json!(env);
            d["target"] = json!(env);
            d["guard"] = json!(guard);
            (
                format!(
                    "revert {}/{env}: {} → {}",
                    job.name,
                    expect.as_deref().unwrap_or("the revision now"),
                    to.as_deref().unwrap_or("its previous revision")
                ),
                d,
            )
        }
        StepWork::Notify { template, text } => {
            let mut d = base("notify");
            d["template"] = json!(template);
            d["message"] = json!(text);
            (
                format!("notify: {}", text.lines().next().unwrap_or_default()),
                d,
            )
        }
        StepWork::StatusPage { status, text } => {
            let mut d = base("status-page");
            d["status"] = json!(status);
            d["text"] = json!(text);
            (format!("status page of {} → {status}: {text}", job.name), d)
        }
        StepWork::Command { argv, .. } => {
            let mut d = base("command");
            d["argv"] = json!(argv);
            (format!("run `{}`", command::display(argv)), d)
        }
        StepWork::MigrateDown { argv, from, to, .. } => {
            let mut d = base("migrate-down");
            d["argv"] = json!(argv);
            d["from"] = json!(from);
            d["to"] = json!(to);
            (
                format!(
                    "undo migration {from} of {} with `{}`",
                    job.name,
                    command::display(argv)
                ),
                d,
            )
        }
        _ => (job.title.clone(), base("other")),
    }
}

/// A step that changes nothing still leaves its evidence in the journal.
fn journal_step(b: &Backends, job: &Job, outcome: &StepOutcome) {
    let Some(j) = &b.journal else {
        return;
    };
    let text = match outcome.error() {
        Some(e) => format!("failed: {}: {e}", job.title),
        None => format!("passed: {}", job.title),
    };
    let mut e = Entry::new(now(), "step", &job.scope(), text, &job.by);
    e.level = if outcome.is_ok() { "good" } else { "bad" }.into();
    e.incident = job.incident;
    e.data = Some(json!({ "step": job.step, "evidence": outcome.evidence }));
    j.append(e);
}

fn no_deploy(service: &str) -> StepOutcome {
    StepOutcome::failed(
        format!("{service} has no deploy provider (set `deploy` in its configuration)"),
        vec![],
    )
}

/// What reverting `env` would do, said by its deploy provider, provided
/// the revisions are still those core previewed from (`expect` → `to`):
/// otherwise the preview would describe another change than `y` makes.
pub(super) async fn preview_revert(
    b: &Backends,
    name: &str,
    env: &str,
    expect: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<String>, String> {
    let d = b
        .deploy
        .get(name)
        .ok_or_else(|| no_deploy(name).error().unwrap_or_default().to_string())?;
    if let Some(expect) = expect {
        let now = d.read().await.map_err(|e| e.to_string())?;
        let cur = now.iter().find(|e| e.env == env);
        let (c, p) = (
            cur.map(|e| e.current.as_str()),
            cur.and_then(|e| e.previous.as_deref()),
        );
        if c != Some(expect) || p != to {
            return Err(format!(
                "the deployment moved since it was read (now {} → {}, was {expect} → {}): retry for a new preview",
                c.unwrap_or("unknown"),
                p.unwrap_or("nothing"),
                to.unwrap_or("nothing")
            ));
        }
    }
    let mut lines = d.preview(env).await.map_err(|e| e.to_string())?;
    lines.insert(0, format!("{name} via the {} deploy provider:", d.kind()));
    Ok(lines)
}

/// What the service's traffic provider says moving `from` → `to` would do.
pub(super) async fn preview_weights(
    b: &Backends,
    name: &str,
    from: &Weights,
    to: &Weights,
) -> Result<Vec<String>, String> {
    let h = b
        .traffic
        .get(name)
        .ok_or_else(|| format!("{name} has no traffic provider"))?;
    let mut lines = vec![format!(
        "{name} via the {} traffic provider:",
        h.provider.kind()
    )];
    let said = h.provider.preview(from, to).await.map_err(|e| e.message)?;
    lines.extend(said.into_iter().map(|l| format!("  {l}")));
    Ok(lines)
}

async fn switch(
    b: &Backends,
    job: &Job,
    from: &Weights,
    to: &Weights,
    holding: &crate::providers::LeaseCheck,
    tx: &mpsc::Sender<Msg>,
) -> StepOutcome {
    let Some(h) = b.traffic.get(&job.name) else {
        return StepOutcome::failed(format!("{} has no traffic provider", job.name), vec![]);
    };
    match h.provider.set(from, to, holding).await {
        Ok(applied) => {
            let mut evidence = vec![format!(
                "{} via {}: {}",
                job.name,
                h.provider.kind(),
                Weights::describe_change(from, &applied.weights)
            )];
            evidence.extend(applied.log.iter().cloned());
            // The pane shows the new split at once, attributed, not at the next read.
            let _ = tx
                .send(Msg::WeightsSet {
                    service: h.service,
                    from: from.clone(),
                    to: applied.weights,
                    by: job.by.clone(),
                    log: applied.log,
                    at: now(),
                })
                .await;
            StepOutcome::ok(evidence)
        }
        Err(e) => StepOutcome::failed(e.message, e.log),
    }
}

/// Probe every endpoint of the suspect `count` more times: the failure is
/// real when every round finds it failing.
async fn reprobe(
    b: &Backends,
    job: &Job,
    env: usize,
    count: u32,
    tx: &mpsc::Sender<Msg>,
) -> StepOutcome {
    let Some((prober, specs)) = &b.probes else {
        return StepOutcome::failed("backstop cannot probe from here", vec![]);
    };
    let mut endpoints: Vec<(EndpointId, _)> = specs
        .iter()
        .filter(|(id, _)| id.service == job.service && id.env == env)
        .map(|(id, spec)| (*id, spec.clone()))
        .collect();
    endpoints.sort_by_key(|(id, _)| id.endpoint);
    if endpoints.is_empty() {
        return StepOutcome::failed("the environment has no health endpoint to probe", vec![]);
    }
    let mut failing_rounds = 0;
    let mut evidence = Vec::new();
    for round in 1..=count {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut worst: Option<(HealthStatus, String)> = None;
        for (id, spec) in &endpoints {
            let started = std::time::Instant::now();
            let probed = prober.probe(spec).await;
            let status = probed.report.status;
            let summary = probed.report.summary.clone();
            let _ = tx
                .send(Msg::Probed {
                    endpoint: *id,
                    result: ProbeResult {
                        at: now(),
                        latency_ms: probed.latency_ms,
                        report: probed.report,
                        late: b.lateness.mark(started),
                    },
                })
                .await;
            if worst.as_ref().is_none_or(|(w, _)| status > *w) {
                worst = Some((status, summary));
            }
        }
        if let Some((status, summary)) = worst {
            if status.is_failure() {
                failing_rounds += 1;
            }
            evidence.push(format!(
                "probe {round}/{count}: {} — {summary}",
                status.badge()
            ));
        }
    }
    match failing_rounds {
        n if n == count => StepOutcome::ok(evidence),
        0 => StepOutcome::failed(
            "every re-probe answered healthy: the failure may have been transient (or is in the metrics, not the health endpoint)".to_string(),
            evidence,
        ),
        n => StepOutcome::failed(
            format!("only {n} of {count} re-probes failed: it may be a blip"),
            evidence,
        ),
    }
}

/// The smoke checks of a service that may change something where they
/// run: programs (they may do anything) and requests that are not reads
/// (a POST). As people read them: `` `./smoke.sh --fast` ``, `POST /api/orders`.
fn acting_checks(b: &Backends, service: usize) -> Vec<(String, serde_json::Value)> {
    b.services
        .get(service)
        .map(|info| {
            info.smoke
                .iter()
                .filter_map(|c| match &c.kind {
                    crate::config::SmokeKind::Command { argv, .. } => Some((
                        format!("`{}`", command::display(argv)),
                        json!({ "argv": argv }),
                    )),
                    crate::config::SmokeKind::Http { method, path, .. }
                        if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") =>
                    {
                        Some((
                            format!("{method} {path}"),
                            json!({ "method": method, "path": path }),
                        ))
                    }
                    crate::config::SmokeKind::Http { .. } => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A service's smoke tests against one environment, as a checklist step
/// or `backstop verify` runs them.
pub(crate) struct Smoke {
    pub service: usize,
    pub name: String,
    pub env: String,
    pub incident: Option<i64>,
    pub by: String,
    pub title: String,
    /// The checklist step it is, if it is one.
    pub step: Option<usize>,
}

/// Run the smoke tests of `s`. Those that may change something (programs,
/// a POST) are a change like any other: never from a backstop that only
/// watches the service, and journaled first — an intent under the lease's
/// fence, nothing run unrecorded — and their outcome after. Whether the
/// journal holds the run (its outcome written here).
pub(crate) async fn smoke_journaled(b: &Backends, s: &Smoke) -> Ran {
    let acting = acting_checks(b, s.service);
    if acting.is_empty() {
        return smoke_tests(b, s.service, &s.name, &s.env).await;
    }
    if b.read_only.contains(&s.name) {
        return Ran::refused(format!(
            "this backstop only watches {} (read-only): its smoke checks {} may change something, so they are not run here",
            s.name,
            acting
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let scope = format!("{}/{}", s.name, s.env);
    let listed: Vec<&str> = acting.iter().map(|(t, _)| t.as_str()).collect();
    let mut e = Entry::new(
        now(),
        "intent",
        &scope,
        format!(
            "run the smoke checks of {} that may change something: {}",
            s.name,
            listed.join("; ")
        ),
        &s.by,
    );
    e.level = "warn".into();
    e.incident = s.incident;
    e.data = Some(json!({
        "step": s.step,
        "title": s.title,
        "work": "smoke-checks",
        "checks": acting.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
    }));
    let (fence, fenced) = match b.fence(&s.name).await {
        Ok(f) => (f.clone(), record_intent(b.changes().as_ref(), e, f).await),
        Err(why) => (None, Err(why)),
    };
    let intent = match fenced {
        Ok(id) => id,
        Err(error) => return Ran::refused(error),
    };
    let mut ran = match b.holding(fence.as_ref()).holds().await {
        Err(why) => Ran::refused(format!("{why}; nothing was run")),
        Ok(()) => smoke_tests(b, s.service, &s.name, &s.env).await,
    };
    let outcome = &ran.outcome;
    let text = match outcome.error() {
        Some(e) => format!("failed: {}: {e}", s.title),
        None => format!("passed: {}", s.title),
    };
    record_outcome(
        b.changes().as_ref(),
        intent,
        s.incident,
        &scope,
        &s.by,
        outcome.is_ok(),
        text,
        Some(json!({ "step": s.step, "evidence": outcome.evidence })),
    );
    ran.journaled = true;
    ran
}

/// A smoke run: the step's outcome, and each check's result.
pub(crate) struct Ran {
    pub outcome: StepOutcome,
    pub results: Vec<smoke::Result>,
    /// Its intent and outcome are in the journal (checks that may change
    /// something ran); otherwise the caller records it as a step.
    pub journaled: bool,
}

impl Ran {
    fn refused(why: String) -> Ran {
        Ran {
            outcome: StepOutcome::failed(why, vec![]),
            results: Vec::new(),
            journaled: false,
        }
    }
}

async fn smoke_tests(b: &Backends, service: usize, name: &str, env: &str) -> Ran {
    let Some(info) = b.services.get(service) else {
        return Ran::refused("unknown service".into());
    };
    if info.smoke.is_empty() {
        return Ran {
            outcome: StepOutcome::warned(
                format!("{name} has no smoke tests configured: nothing was checked"),
                vec![],
            ),
            results: Vec::new(),
            journaled: false,
        };
    }
    let Some(url) = info.url(env) else {
        return Ran::refused(format!("{env} has no address"));
    };
    let results = smoke::run(&info.smoke, url).await;
    let failed = results.iter().filter(|r| !r.ok).count();
    let evidence = results.iter().map(smoke::Result::line).collect();
    let outcome = if failed == 0 {
        StepOutcome::ok(evidence)
    } else {
        StepOutcome::failed(
            format!("{failed} of {} smoke checks failed", results.len()),
            evidence,
        )
    };
    Ran {
        outcome,
        results,
        journaled: false,
    }
}

/// A notification never blocks the rollback: failures are warnings.
pub(super) fn notified(sent: &[notify::Sent]) -> StepOutcome {
    if sent.is_empty() {
        return StepOutcome::warned("no notifier is configured: tell the team yourself", vec![]);
    }
    let evidence: Vec<String> = sent
        .iter()
        .map(|s| match &s.result {
            Ok(code) => format!("{}: sent (HTTP {code})", s.via),
            Err(e) => format!("{}: NOT sent: {e}", s.via),
        })
        .collect();
    let failures = sent.iter().filter(|s| s.result.is_err()).count();
    match failures {
        0 => StepOutcome::ok(evidence),
        n => StepOutcome::warned(
            format!(
                "{n} of {} notifications failed: tell the team yourself",
                sent.len()
            ),
            evidence,
        ),
    }
}

/// Undo migration `from` with the team's tool, `DATABASE_URL` set, if the
/// table still shows it as current; then the table must show `to`.
async fn migrate_down(
    b: &Backends,
    job: &Job,
    argv: &[String],
    timeout: Duration,
    from: &str,
    to: Option<&str>,
) -> StepOutcome {
    use crate::core::migration::same_version;
    use crate::sources::database;
    let Some(db) = b
        .services
        .get(job.service)
        .and_then(|s| s.database.as_ref())
    else {
        return StepOutcome::failed(
            format!(
                "{} has no [services.{0}.database]: nothing was run",
                job.name
            ),
            vec![],
        );
    };
    let current = |s: &crate::core::migration::Schema| s.current().map(|m| m.version.clone());
    // The table once more: a database that moved since the preview is not touched.
    match database::read(db).await {
        Err(e) => return StepOutcome::failed(format!("{e}; nothing was run"), vec![]),
        Ok(s) if !current(&s).is_some_and(|c| same_version(&c, from)) => {
            return StepOutcome::failed(
                format!(
                    "the database moved since the preview: its current migration is {}, not {from}; nothing was run",
                    current(&s).unwrap_or_else(|| "none".into())
                ),
                vec![],
            );
        }
        Ok(_) => {}
    }
    let url = match database::url_of(db).await {
        Ok(u) => u,
        Err(e) => return StepOutcome::failed(format!("{e}; nothing was run"), vec![]),
    };
    let hide = |t: String| database::hide_password(&t, &url);
    let log = match command::run_with_env(argv, timeout, &[("DATABASE_URL", &url)]).await {
        Ok(ran) if ran.success() => ran.log_lines(6).into_iter().map(hide).collect::<Vec<_>>(),
        Ok(ran) => {
            return StepOutcome::failed(
                format!(
                    "`{}` exited with {}: the table is read again to see where it stands",
                    command::display(argv),
                    ran.code.map_or("a signal".into(), |c| c.to_string())
                ),
                ran.log_lines(6).into_iter().map(hide).collect(),
            );
        }
        Err(e) => return StepOutcome::failed(hide(e.to_string()), vec![]),
    };
    // The table says whether it was undone, not the tool's exit code.
    match database::read(db).await {
        Ok(s) => {
            let now = current(&s);
            let undone = match (&now, to) {
                (Some(n), Some(t)) => same_version(n, t),
                (None, None) => true,
                _ => false,
            };
            if undone {
                let mut evidence = log;
                evidence.push(format!(
                    "the migration table shows {} as current",
                    now.as_deref().unwrap_or("no migration")
                ));
                StepOutcome::ok(evidence)
            } else {
                StepOutcome::failed(
                    format!(
                        "`{}` ran, but the table shows {} as current, not {}",
                        command::display(argv),
                        now.as_deref().unwrap_or("no migration"),
                        to.unwrap_or("no migration")
                    ),
                    log,
                )
            }
        }
        Err(e) => StepOutcome::failed(
            format!(
                "`{}` ran, but the table cannot be read to check it: {e}",
                command::display(argv)
            ),
            log,
        ),
    }
}

async fn run_command(
    b: &Backends,
    job: &Job,
    argv: &[String],
    timeout: Duration,
    env: &str,
) -> StepOutcome {
    let url = b
        .services
        .get(job.service)
        .and_then(|s| s.url(env))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let vars = [("TARGET_URL", url.as_str()), ("BACKSTOP_ENV", env)];
    match command::run_with_env(argv, timeout, &vars).await {
        Ok(ran) if ran.success() => StepOutcome::ok(ran.log_lines(6)),
        Ok(ran) => StepOutcome::failed(
            format!(
                "`{}` exited with {}",
                command::display(argv),
                ran.code.map_or("a signal".into(), |c| c.to_string())
            ),
            ran.log_lines(6),
        ),
        Err(e) => StepOutcome::failed(e.to_string(), vec![]),
    }
}

/// Publish on the status page, as the incident's: its first publication
/// creates the page's incident, the next ones update it.
async fn publish(
    b: &Backends,
    job: &Job,
    status: crate::core::status_page::PublicStatus,
    text: &str,
) -> StepOutcome {
    let Some(page) = &b.status_page else {
        return StepOutcome::failed("no status page is configured ([status_page])", vec![]);
    };
    let incident = match job.incident {
        Some(n) => format!("{}#{n}", job.name),
        None => format!("{}#run{}", job.name, job.run),
    };
    let p = crate::providers::status_page::Publish {
        incident,
        service: job.name.clone(),
        status,
        text: text.to_string(),
        known: published_before(b, job.incident),
    };
    match page.publish(p).await {
        Ok(lines) => StepOutcome::ok(lines),
        Err(why) => StepOutcome::failed(why.to_string(), vec![]),
    }
}

/// The page's incident an earlier publication of this incident created,
/// read back from its outcomes in the journal.
fn published_before(b: &Backends, incident: Option<i64>) -> Option<String> {
    let journal = b.changes()?;
    let rows = crate::room::Reader::at(&journal.place)
        .ok()?
        .of_incident(incident?)
        .ok()?;
    rows.iter().rev().find_map(|r| {
        let d = r.entry.data.as_ref()?;
        let evidence: Vec<String> = d
            .get("evidence")?
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        (r.entry.kind == "outcome")
            .then(|| crate::providers::status_page::page_incident_of(&evidence))
            .flatten()
    })
}
