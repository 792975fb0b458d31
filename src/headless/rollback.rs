//! `backstop rollback`: the service's runbook, non-interactively. Every
//! step that changes the world is previewed by its provider first;
//! `--dry-run` stops there. Without `--yes` it asks once on a terminal
//! (and refuses without one). Then the automatable path runs as auto mode
//! would, journaled like the console: intent before, outcome after.
//!
//! Exit codes: 0 rolled back and verified, 1 it could not be (a guard, a
//! failed step, not confirmed), 2 error.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;

use super::session;
use super::watch::{Ending, ending};
use super::{EventLines, exit};
use crate::config::Config;
use crate::core::decision::Decision;
use crate::core::model::{EnvId, Origin, State};
use crate::core::msg::Msg;
use crate::engine::{Engine, Storage};
use crate::sources::now;

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
    if let Decision::RollbackRecommended { suspect, .. } | Decision::Blocked { suspect, .. } =
        &svc.rollback.decision
    {
        return Ok(*suspect);
    }
    if let Some(name) = env {
        return svc
            .envs
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| format!("{} has no environment {name:?}", svc.name));
    }
    if let Some(w) = svc.traffic.as_ref().and_then(|t| t.weights.as_ref())
        && let Some((i, _)) = svc
            .envs
            .iter()
            .enumerate()
            .max_by(|(_, x), (_, y)| w.share(&x.name).total_cmp(&w.share(&y.name)))
    {
        return Ok(i);
    }
    if svc.envs.len() == 1 {
        return Ok(0);
    }
    Err(format!(
        "which environment of {} to roll back? name it with --env",
        svc.name
    ))
}

pub async fn run(config: Config, storage: &Storage, a: Args) -> Result<u8> {
    let config = match session::only(config, Some(&a.service)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("backstop rollback: {e}");
            return Ok(exit::USAGE);
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !a.yes && !a.dry_run && !interactive {
        eprintln!(
            "backstop rollback: without a terminal to confirm on, pass --yes (or --dry-run to see the plan)"
        );
        return Ok(exit::USAGE);
    }
    let origin = Origin::Config(config.file.clone());
    let mut engine = Engine::start(&config, origin, None, storage)?;
    // A change with an intent and no outcome is either interrupted or
    // under way in another backstop right now: a person looks first.
    if !engine.state.interrupted.is_empty() {
        eprintln!(
            "backstop rollback: {} change(s) in the journal have no outcome (interrupted, or under way elsewhere):",
            engine.state.interrupted.len()
        );
        for i in &engine.state.interrupted {
            eprintln!(
                "  {} {} by {}: {}",
                i.at.rfc3339(),
                i.scope,
                i.operator,
                i.text
            );
        }
        eprintln!(
            "check the real state in the console (backstop) before rolling back; nothing was changed"
        );
        return Ok(exit::FAILING);
    }
    if !session::settle(&mut engine, session::first_read_limit(&config)).await {
        eprintln!(
            "backstop rollback: some sources have not answered yet; planning on what is known"
        );
    }
    let env = match suspect(&engine.state, a.env.as_deref()) {
        Ok(e) => EnvId { service: 0, env: e },
        Err(e) => {
            eprintln!("backstop rollback: {e}");
            return Ok(exit::USAGE);
        }
    };
    let (checklist, works) = match crate::core::update::plan(&engine.state, env, now()) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("backstop rollback: {why}");
            return Ok(exit::FAILING);
        }
    };
    // The plan, with each change as its provider describes it.
    let svc = &engine.state.services[0];
    let mut out = Vec::new();
    out.push(format!(
        "Rollback of {}: {}, runbook {}",
        svc.name,
        crate::core::decision::route(
            &svc.envs[checklist.suspect].name,
            &svc.envs[checklist.target].name
        ),
        checklist.runbook
    ));
    for r in &checklist.reasons {
        out.push(format!("  because {r}"));
    }
    let name = svc.name.clone();
    for (i, step) in checklist.steps.iter().enumerate() {
        let person = if step.spec.kind.automatable() {
            ""
        } else {
            "  (left for a person)"
        };
        out.push(format!(
            "{:>3}. [{}] {}{person}",
            i + 1,
            step.phase.title().to_lowercase(),
            step.title
        ));
        if let Some((_, work)) = works.iter().find(|(j, _)| *j == i) {
            match engine.preview(&name, work).await {
                Ok(lines) => out.extend(lines.into_iter().map(|l| format!("       {l}"))),
                Err(e) => out.push(format!("       preview failed: {e}")),
            }
        }
    }
    let say = |line: &str| {
        if a.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    for l in &out {
        say(l);
    }
    if a.dry_run {
        say("dry run: nothing was changed");
        return Ok(exit::OK);
    }
    if !a.yes {
        eprint!("Roll back now? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("not confirmed: nothing was changed");
            return Ok(exit::FAILING);
        }
    }
    let by = engine.state.operator.clone();
    let mut lines = EventLines::new(a.json);
    lines.print_new(&engine.state);
    engine.apply(Msg::Rollback {
        env,
        by,
        auto: true,
        at: now(),
    });
    let mut end = None;
    engine
        .run_until(LIMIT, |s| {
            lines.print_new(s);
            end = ending(s, true);
            end.is_some()
        })
        .await;
    lines.print_new(&engine.state);
    let (code, text) = match end {
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
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "rolled_back": code == exit::OK, "exit": code, "text": text })
        );
    } else {
        println!("{text}");
    }
    Ok(code)
}
