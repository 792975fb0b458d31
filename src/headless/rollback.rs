//! `backstop rollback`: the service's runbook, non-interactively. Every
//! step that changes the world is previewed by its provider first;
//! `--dry-run` stops there. Without `--yes` it asks once on a terminal
//! (and refuses without one). Then the automatable path runs as auto mode
//! would, journaled like the console: intent before, outcome after.
//!
//! Exit codes: 0 rolled back and verified, 1 it could not be (a guard, a
//! failed step, not confirmed), 2 error, 128 + n after signal n (see
//! `interrupt.rs`: the rollback stops at a safe point and is closed as
//! interrupted).

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;

use super::interrupt::{self, Interrupt};
use super::session;
use super::watch::{Ending, ending};
use super::{EventLines, exit, out};
use crate::clock::now;
use crate::config::Config;
use crate::core::decision::Decision;
use crate::core::model::{EnvId, State};
use crate::core::msg::Msg;
use crate::engine::{Engine, Storage};
use crate::room::lease::Driving;

/// The longest a pending rule is given to decide before planning.
const SETTLE_RULES: Duration = Duration::from_secs(30);

/// The longest a rollback is followed before a person must look.
const LIMIT: Duration = Duration::from_secs(3600);

pub struct Args {
    pub service: String,
    pub env: Option<String>,
    pub yes: bool,
    pub dry_run: bool,
    pub json: bool,
}

/// The environment to roll back: the decision's suspect, the one named,
/// the one taking the most traffic, or the only one.
fn suspect(state: &State, env: Option<&str>) -> Result<usize, String> {
    let svc = &state.services[0];
    let named = match env {
        Some(name) => Some(
            svc.envs
                .iter()
                .position(|e| e.name == name)
                .ok_or_else(|| format!("{} has no environment {name:?}", svc.name))?,
        ),
        None => None,
    };
    if let Decision::RollbackRecommended { suspect, .. } | Decision::Blocked { suspect, .. } =
        &svc.rollback.decision
    {
        // Never roll back something other than what was asked for.
        if let Some(n) = named
            && n != *suspect
        {
            return Err(format!(
                "the rules name {} as failing, not {}: check the console, or leave out --env",
                svc.envs[*suspect].name, svc.envs[n].name
            ));
        }
        return Ok(*suspect);
    }
    if let Some(n) = named {
        return Ok(n);
    }
    if let Some(w) = svc.traffic.as_ref().and_then(|t| t.weights.as_ref()) {
        let top = svc
            .envs
            .iter()
            .map(|e| w.share(&e.name))
            .fold(0.0, f64::max);
        let at_top: Vec<usize> = (0..svc.envs.len())
            .filter(|i| w.share(&svc.envs[*i].name) == top)
            .collect();
        if let [one] = at_top[..] {
            return Ok(one);
        }
    }
    if svc.envs.len() == 1 {
        return Ok(0);
    }
    Err(format!(
        "which environment of {} to roll back? name it with --env",
        svc.name
    ))
}

/// A rollback ready to run: the engine that read everything, the
/// environment, and the plan as printed (previews included).
struct Prepared {
    engine: Engine,
    env: EnvId,
    plan: Vec<String>,
}

/// Read everything once and work out the plan; `Err` is an exit code and why.
async fn prepare(config: &Config, storage: &Storage, a: &Args) -> Result<Prepared, (u8, String)> {
    let what = if a.dry_run {
        "backstop rollback --dry-run"
    } else {
        "backstop rollback"
    };
    let mut engine =
        session::start(config, storage, what).map_err(|e| (exit::USAGE, e.to_string()))?;
    // A change with an intent and no outcome is either interrupted or
    // under way in another backstop right now: a person looks first.
    if !engine.state.interrupted.is_empty() {
        let mut text = format!(
            "{} change(s) in the journal have no outcome (interrupted, or under way elsewhere):",
            engine.state.interrupted.len()
        );
        for i in &engine.state.interrupted {
            text.push_str(&format!(
                "\n  {} {} by {}: {}",
                i.at.rfc3339(),
                i.scope,
                i.operator,
                i.text
            ));
        }
        text.push_str("\ncheck the real state in the console (backstop) before rolling back; nothing was changed");
        return Err((exit::FAILING, text));
    }
    if !session::settle(&mut engine, session::first_read_limit(config)).await {
        out::err_line(
            "backstop rollback: some sources have not answered yet; planning on what is known",
        );
    }
    // A rule still pending (two failed probes of three) would make this
    // an operator's request without its evidence: let it decide first.
    if matches!(
        engine.state.services[0].rollback.decision,
        Decision::Watch { .. }
    ) {
        out::err_line(format_args!(
            "backstop rollback: a rule is pending; waiting up to {} for it to decide",
            crate::core::time::human(SETTLE_RULES)
        ));
        engine
            .run_until(SETTLE_RULES, |s| {
                !matches!(s.services[0].rollback.decision, Decision::Watch { .. })
            })
            .await;
    }
    let env = suspect(&engine.state, a.env.as_deref())
        .map(|e| EnvId { service: 0, env: e })
        .map_err(|e| (exit::USAGE, e))?;
    let (checklist, works) =
        crate::core::update::plan(&engine.state, env, now()).map_err(|why| (exit::FAILING, why))?;
    // The plan, with each change as its provider describes it.
    let svc = &engine.state.services[0];
    let mut plan = Vec::new();
    plan.push(format!(
        "Rollback of {}: {}, runbook {}",
        svc.name,
        crate::core::decision::route(
            &svc.envs[checklist.suspect].name,
            &svc.envs[checklist.target].name
        ),
        checklist.runbook
    ));
    if let Some(ty) = &checklist.typed {
        plan.push(format!("  a {} rollback: {}", ty.kind, ty.why));
    }
    for r in &checklist.reasons {
        plan.push(format!("  because {r}"));
    }
    for t in &checklist.targets {
        plan.push(format!(
            "  target: {} within {}",
            t.title,
            crate::core::time::human(t.within)
        ));
    }
    let name = svc.name.clone();
    for (i, step) in checklist.steps.iter().enumerate() {
        let person = if step.spec.kind.automatable() {
            ""
        } else {
            "  (left for a person)"
        };
        plan.push(format!(
            "{:>3}. [{}] {}{person}",
            i + 1,
            step.phase.title().to_lowercase(),
            step.title
        ));
        if let Some((_, work)) = works.iter().find(|(j, _)| *j == i) {
            match engine.preview(&name, work).await {
                Ok(lines) => plan.extend(lines.into_iter().map(|l| format!("       {l}"))),
                Err(e) => plan.push(format!("       preview failed: {e}")),
            }
        }
    }
    Ok(Prepared { engine, env, plan })
}

/// Run `work` unless a signal comes first: before any change, nothing is
/// left to finish, so the command ends there and says so.
async fn until_signal<T>(
    interrupt: &Interrupt,
    work: impl std::future::Future<Output = Result<T, (u8, String)>>,
) -> Result<T, (u8, String)> {
    tokio::select! {
        r = work => r,
        () = interrupt.wait() => Err((
            interrupt.code(),
            format!(
                "interrupted by {} before anything was changed",
                interrupt.received().unwrap_or("a signal")
            ),
        )),
    }
}

/// The rollback stopped for `signal`: closed as interrupted at a safe
/// point, or, after a second signal in the middle of a change, left for
/// the next start to show as interrupted. What to say about it.
async fn interrupted(engine: &mut Engine, signal: &str) -> String {
    let who = engine.state.operator.clone();
    if interrupt::change_under_way(&engine.state) {
        let text = format!(
            "{signal} twice while a change was under way: stopped without its outcome; the next backstop shows it as interrupted, check the real state there"
        );
        engine.note(&format!("backstop rollback: {text}")).await;
        return text;
    }
    let why = format!(
        "interrupted by {signal} (backstop rollback, pid {}), stopped at a safe point",
        std::process::id()
    );
    if interrupt::close_open_rollbacks(engine, &why)
        .await
        .is_empty()
    {
        return format!(
            "rollback interrupted by {signal}, but it could not be closed as interrupted: look at it in the console"
        );
    }
    format!("rollback interrupted by {signal}: closed as abandoned by {who}: {why}")
}

/// The last word: one JSON object on stdout with `--json` (whatever
/// happened), else the text (errors on stderr).
/// The lease of `service` in the configuration's room: a free one, never
/// a driver's that is gone (a person takes that over, from a console).
fn take(storage: &Storage, config: &Config, service: &str) -> Result<Driving, crate::room::Error> {
    Driving::take(
        storage.place().in_room(&config.room),
        service,
        &crate::identity::operator(),
        crate::room::Claim::Free,
        config.lease_expiry,
    )
}

fn end(a: &Args, code: u8, text: &str, plan: &[String]) -> u8 {
    if a.json {
        out::line(serde_json::json!({
            "rolled_back": code == exit::OK && !a.dry_run,
            "dry_run": a.dry_run,
            "interrupted": code > 128,
            "exit": code,
            "text": text,
            "plan": plan,
        }));
    } else if code == exit::OK {
        out::line(text);
    } else {
        out::err_line(format_args!("backstop rollback: {text}"));
    }
    code
}

pub async fn run(config: Config, storage: &Storage, a: Args) -> Result<u8> {
    let mut config = match session::only(config, Some(&a.service)) {
        Ok(c) => c,
        Err(e) => return Ok(end(&a, exit::USAGE, &e, &[])),
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !a.yes && !a.dry_run && !interactive {
        let text = "without a terminal to confirm on, pass --yes (or --dry-run to see the plan)";
        return Ok(end(&a, exit::USAGE, text, &[]));
    }
    // This command's own request is the only rollback it makes.
    session::advise_only(&mut config);
    let interrupt = Interrupt::listen();
    // One driver per service: with --yes the lease comes first, so of many
    // started at once exactly one plans and acts; the others say who drives.
    let mut driving = None;
    if a.yes && !a.dry_run {
        match take(storage, &config, &a.service) {
            Ok(d) => driving = Some(d),
            Err(why) => return Ok(end(&a, exit::FAILING, &why.to_string(), &[])),
        }
    }
    let mut p = match until_signal(&interrupt, prepare(&config, storage, &a)).await {
        Ok(p) => p,
        Err((code, text)) => return Ok(end(&a, code, &text, &[])),
    };
    // With --json the plan is in the result object; stderr shows it too.
    let say = |line: &str| {
        if a.json {
            out::err_line(line);
        } else {
            out::line(line);
        }
    };
    for l in &p.plan {
        say(l);
    }
    if a.dry_run {
        return Ok(end(&a, exit::OK, "dry run: nothing was changed", &p.plan));
    }
    if !a.yes {
        out::err_text("Roll back now? [y/N] ");
        let _ = std::io::stderr().flush();
        // Read on a thread: Ctrl-C at the question must still be heard.
        let ask = tokio::task::spawn_blocking(|| {
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            answer
        });
        let answer = until_signal(&interrupt, async {
            ask.await
                .map_err(|_| (exit::FAILING, "the question was not answered".to_string()))
        })
        .await;
        let answer = match answer {
            Ok(line) => line,
            Err((code, text)) => return Ok(end(&a, code, &text, &p.plan)),
        };
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(end(
                &a,
                exit::FAILING,
                "not confirmed: nothing was changed",
                &p.plan,
            ));
        }
        // The answer may have taken minutes: take the lease, read the world
        // and the journal again (another rollback, a change under way) and
        // go on only if the plan is still the one confirmed.
        let confirmed = std::mem::take(&mut p.plan);
        drop(p);
        match take(storage, &config, &a.service) {
            Ok(d) => driving = Some(d),
            Err(why) => return Ok(end(&a, exit::FAILING, &why.to_string(), &confirmed)),
        }
        p = match until_signal(&interrupt, prepare(&config, storage, &a)).await {
            Ok(p) => p,
            Err((code, text)) => return Ok(end(&a, code, &text, &confirmed)),
        };
        // The reasons' figures move on (5/3 failures…); what would be done must not.
        let doing = |plan: &[String]| -> Vec<String> {
            plan.iter()
                .filter(|l| !l.starts_with("  because "))
                .cloned()
                .collect()
        };
        if doing(&p.plan) != doing(&confirmed) {
            for l in &p.plan {
                say(l);
            }
            let text = "the situation changed while you were asked (the plan is now the one above): nothing was changed; run it again";
            return Ok(end(&a, exit::FAILING, text, &p.plan));
        }
    }
    let Prepared {
        mut engine,
        env,
        plan,
    } = p;
    let by = engine.state.operator.clone();
    if let Some(d) = &driving {
        engine.drive_under(&a.service, Some(d.lease.token));
        if let Some(text) = d.lease.take_over_text(now().millis()) {
            engine.note(&text).await;
        }
    }
    let mut lines = EventLines::new(a.json).redacting(&config);
    lines.print_new(&engine.state);
    engine.apply(Msg::Rollback {
        env,
        by,
        auto: true,
        at: now(),
    });
    let mut ended = None;
    engine
        .run_until(LIMIT, |s| {
            lines.print_new(s);
            ended = ending(s, true);
            // A signal: the change under way finishes first (a second
            // signal does not wait).
            ended.is_some()
                || interrupt.insists()
                || (interrupt.received().is_some() && !interrupt::change_under_way(s))
        })
        .await;
    lines.print_new(&engine.state);
    if ended.is_none()
        && let Some(signal) = interrupt.received()
    {
        let text = interrupted(&mut engine, signal).await;
        lines.print_new(&engine.state);
        return Ok(end(&a, interrupt.code(), &text, &plan));
    }
    // A rollback is never stopped for a closed pipe; it is finished, and
    // the journal says nobody was reading.
    if out::gone() {
        engine
            .note("backstop rollback: standard output was closed (the reader went away); the rollback went on to its end")
            .await;
    }
    let (code, text) = match ended {
        Some(Ending::RolledBack(t)) => (exit::OK, t),
        Some(Ending::Required(t)) => (exit::FAILING, t),
        None => (
            exit::FAILING,
            format!(
                "not finished after {}: look at the console",
                crate::core::time::human(LIMIT)
            ),
        ),
    };
    Ok(end(&a, code, &text, &plan))
}
