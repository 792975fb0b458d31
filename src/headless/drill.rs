//! `backstop drill --headless --auto`: a whole drill with no terminal. The
//! scenario plays against its sandbox, the decision engine rolls back by
//! itself, every event is printed as it happens, and the score closes it.
//! Exit 0 when the expectation held, 1 when it did not, 2 on error, 128 + n
//! when signal n stopped it (no score; real weights are put back).

use std::time::Duration;

use anyhow::Result;

use super::interrupt::{self, Interrupt};
use super::{EventLines, exit, out};
use crate::core::drill::Scenario;
use crate::core::model::Origin;
use crate::engine::{Engine, Storage};
use crate::sandbox::drill::{self, DrillOptions};

/// Time past the scenario's end for the score and report to land.
const GRACE: Duration = Duration::from_secs(30);

pub async fn run(
    scenario: &Scenario,
    o: DrillOptions,
    storage: &Storage,
    json: bool,
) -> Result<u8> {
    let (sandbox, config) = drill::start(scenario, &o).await?;
    let mut engine = Engine::start(&config, Origin::Drill, Some(sandbox.clone()), storage)?;
    engine.begin_drill(sandbox, scenario, &o)?;
    let started = engine
        .state
        .drill
        .as_ref()
        .map_or(engine.state.now, |d| d.started);
    let mut lines = (!json).then(|| EventLines::drill(false, started, o.speed));
    let limit = scenario.ends.div_f64(o.speed) + GRACE;
    // Interrupted (Ctrl-C, SIGTERM): stop once no change is under way,
    // and still put real weights back.
    let interrupt = Interrupt::listen();
    let _reader = out::watch_reader();
    let finished = engine
        .run_until(limit, |s| {
            if let Some(l) = lines.as_mut() {
                l.print_new(s);
            }
            interrupt.insists()
                || (interrupt.received().is_some() && !interrupt::change_under_way(s))
                || out::gone()
                || s.drill.as_ref().is_some_and(|d| d.report.is_some())
        })
        .await;
    // Nobody reads the drill any more: a rehearsal is stopped, not
    // finished (real weights are still put back).
    if out::gone() {
        if let Some(note) = engine.finish_drill().await {
            out::err_line(format_args!("backstop drill: {note}"));
        }
        engine
            .note(&format!(
                "drill {} stopped: standard output was closed (the reader went away)",
                scenario.name
            ))
            .await;
        return Ok(exit::READER_GONE);
    }
    if let Some(signal) = interrupt.received() {
        let why = format!(
            "interrupted by {signal} (backstop drill, pid {})",
            std::process::id()
        );
        if !interrupt::change_under_way(&engine.state) {
            interrupt::close_open_rollbacks(&mut engine, &why).await;
        }
        if let Some(note) = engine.finish_drill().await {
            out::err_line(format_args!("backstop drill: {note}"));
        }
        let text = format!("drill {} {why} before its end: no score", scenario.name);
        engine.note(&text).await;
        if json {
            out::line(serde_json::json!({
                "scenario": scenario.name,
                "interrupted": signal,
                "exit": interrupt.code(),
                "text": text,
            }));
        } else {
            out::err_line(format_args!("backstop drill: {text}"));
        }
        return Ok(interrupt.code());
    }
    let restored = engine.finish_drill().await;
    let Some(d) = engine.state.drill.as_ref() else {
        anyhow::bail!("the drill vanished");
    };
    let Some(score) = &d.score else {
        anyhow::bail!(
            "drill {} did not finish within {} (its end, plus {} to report)",
            scenario.name,
            crate::core::time::human(limit - GRACE),
            crate::core::time::human(GRACE)
        );
    };
    if json {
        out::line(&serde_json::to_string_pretty(score)?);
    } else {
        out::line("");
        out::text(crate::report::drill_markdown(
            score, &d.title, &d.steps, d.started,
        ));
        match &d.report {
            Some(Ok(path)) => out::line(format_args!("\nreport: {path}")),
            Some(Err(e)) => out::err_line(format_args!(
                "backstop drill: the report could not be written: {e}"
            )),
            None => {}
        }
    }
    if let Some(note) = restored {
        out::err_line(format_args!("backstop drill: {note}"));
    }
    if !finished {
        out::err_line("backstop drill: the report was not written in time");
    }
    Ok(if score.held { exit::OK } else { exit::FAILING })
}
