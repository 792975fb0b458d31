//! The rollback checklist on the real machinery: the drill sandbox's
//! services over HTTP, real probes and traffic, the default runbook, a real
//! SQLite journal, and notifications to a real HTTP receiver.
//!
//! Waits and holds run 4× faster than life, rules and runbook together (as
//! in `decision_scenarios`), so the default runbook keeps its meaning.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use backstop::clock::now;
use backstop::config::{NotifierConfig, NotifierKind, Secret};
use backstop::core::action::Action;
use backstop::core::decision::{Decision, Policy};
use backstop::core::health::HealthStatus;
use backstop::core::model::{Origin, State};
use backstop::core::msg::{Msg, TextKey};
use backstop::core::runbook::{Ending, StepStatus};
use backstop::engine::{Engine, Storage};
use backstop::keymap::Keymap;
use backstop::report::Report;
use backstop::room::Reader;
use backstop::sandbox::{Options, Sandbox, default_world};
use backstop::tui::{self, Theme, View};
use common::Receiver;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// `f` on the selected environment and, a person's reading time later, `y`
/// (a `y` sooner than `ARMED_READ` is typing, not an answer).
fn inject_fault(engine: &mut Engine) {
    let asked = now();
    engine.apply(Msg::Action(Action::InjectFault, asked));
    engine.apply(Msg::Action(
        Action::Confirm,
        asked.plus(backstop::core::update::ARMED_READ * 2),
    ));
}

const SPEED: f64 = 4.0;
/// The secret parts of the two webhook URLs.
const SLACK_PATH: &str = "/services/T0DRILL/B0DRILL/s3cr3t-slack-token";
const HOOK_PATH: &str = "/hooks/incident-7f3a9c-s3cr3t";
/// The status page's webhook (its URL a secret too).
const STATUS_PATH: &str = "/status/p4ge-s3cr3t";

async fn start(receiver: &Receiver, dir: &std::path::Path) -> (Engine, Arc<Sandbox>) {
    start_in(receiver, dir, false).await
}

/// As `start`; `fresh`: the world starts afresh, as a free-play drill's.
async fn start_in(
    receiver: &Receiver,
    dir: &std::path::Path,
    fresh: bool,
) -> (Engine, Arc<Sandbox>) {
    let sb = Arc::new(
        Sandbox::start(&default_world(), &Options { rate: 100.0 })
            .await
            .unwrap(),
    );
    let mut config = sb.config(Duration::from_millis(500), Duration::from_millis(250));
    // The default runbook, named as a configuration names it (the sandbox's
    // own rollbacks are typed; tests/e2e_drill.rs walks those).
    let default = backstop::config::runbook::Catalog::builtin()
        .get("default")
        .expect("built in")
        .runbook
        .clone();
    for s in &mut config.services {
        s.policy = Policy::default().scaled(SPEED);
        s.runbook = backstop::core::runbook::Runbooks::Named(default.clone()).scaled(SPEED);
    }
    config.notifiers = vec![
        NotifierConfig {
            kind: NotifierKind::Slack,
            url_env: "TEST_SLACK_URL".into(),
            url: Some(Secret::new(receiver.url(SLACK_PATH))),
        },
        NotifierConfig {
            kind: NotifierKind::Webhook,
            url_env: "TEST_HOOK_URL".into(),
            url: Some(Secret::new(receiver.url(HOOK_PATH))),
        },
    ];
    config.status_page = Some(backstop::config::status_page::StatusPageConfig {
        kind: backstop::config::status_page::StatusPageKind::Webhook {
            url_env: "TEST_STATUS_URL".into(),
            url: Some(Secret::new(receiver.url(STATUS_PATH))),
        },
        names: vec![("web".into(), "Checkout".into())],
    });
    config.fresh_world = fresh;
    let engine = Engine::start(
        &config,
        Origin::Drill,
        Some(sb.clone()),
        &Storage::in_dir(dir),
    )
    .unwrap();
    (engine, sb)
}

fn healthy(s: &State) -> bool {
    s.services[0]
        .envs
        .iter()
        .all(|e| e.status == Some(HealthStatus::Ok))
        && s.services[0]
            .traffic
            .as_ref()
            .is_some_and(|t| t.weights.is_some())
}

/// The screen as text, as an operator would see it at 140×45.
fn frame(state: &State) -> String {
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme::plain(),
    };
    let area = Rect::new(0, 0, 140, 45);
    let mut buf = Buffer::empty(area);
    tui::render(state, &view, area, &mut buf);
    let mut out = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A careful operator: do the step whose turn it is, confirm what was
/// previewed, write the note asked for, and wait while a step runs.
async fn drive(engine: &mut Engine, frames: &mut Vec<String>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let c = engine.state.services[0]
            .rollback
            .checklist
            .clone()
            .expect("a checklist");
        if c.ended.is_some() {
            frames.push(frame(&engine.state));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the checklist did not finish: {:#?}",
            c.current()
        );
        frames.push(frame(&engine.state));
        if engine.state.ui.input.is_some() {
            for ch in "a feature flag shipped on by default".chars() {
                engine.apply(Msg::Text(TextKey::Char(ch), now()));
            }
            engine.apply(Msg::Text(TextKey::Submit, now()));
            continue;
        }
        let step = c.current().unwrap().clone();
        match &step.status {
            StepStatus::Current => engine.apply(Msg::Action(Action::OpenDetail, now())),
            StepStatus::Previewing(_) => engine.apply(Msg::Action(Action::Confirm, now())),
            StepStatus::Failed(e) => {
                panic!("step \"{}\" failed: {e}\n{:?}", step.title, step.evidence)
            }
            _ => {
                let cursor = c.cursor;
                engine
                    .run_until(Duration::from_millis(500), |s| {
                        s.services[0].rollback.checklist.as_ref().is_some_and(|c| {
                            c.cursor != cursor
                                || c.current().map(|x| &x.status) != Some(&step.status)
                        })
                    })
                    .await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_runbook_end_to_end_through_the_sandbox() {
    let receiver = Receiver::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, _sb) = start(&receiver, dir.path()).await;
    engine.state.operator = "oncall@bastion from 10.0.0.7".into();
    assert!(
        engine.run_until(Duration::from_secs(20), healthy).await,
        "the sandbox came up"
    );

    // The fault on green, the canary.
    engine.apply(Msg::Action(Action::SelectNext, now()));
    inject_fault(&mut engine);
    let recommended = engine
        .run_until(Duration::from_secs(20), |s| {
            matches!(
                s.services[0].rollback.decision,
                Decision::RollbackRecommended {
                    suspect: 1,
                    target: 0,
                    ..
                }
            )
        })
        .await;
    assert!(
        recommended,
        "{:?}",
        engine.state.services[0].rollback.decision
    );

    engine.apply(Msg::Action(Action::StartRollback, now()));
    let mut frames = Vec::new();
    drive(&mut engine, &mut frames, Duration::from_secs(120)).await;

    let svc = &engine.state.services[0];
    let c = svc.rollback.checklist.as_ref().unwrap();
    assert_eq!(c.ended.as_ref().map(|e| &e.1), Some(&Ending::Completed));
    for s in &c.steps {
        assert_eq!(s.status, StepStatus::Done, "{}: {:?}", s.title, s.evidence);
        assert_eq!(s.by.as_deref(), Some("oncall@bastion from 10.0.0.7"));
    }
    let smoke = c.steps.iter().find(|s| s.spec.id == "smoke").unwrap();
    assert!(
        smoke
            .evidence
            .iter()
            .any(|e| e.starts_with("✓ health says ok: HTTP 200")),
        "{:?}",
        smoke.evidence
    );
    let weights = svc.traffic.as_ref().unwrap().weights.as_ref().unwrap();
    assert_eq!(weights.percents(), [100, 0], "users are on blue");
    assert_eq!(svc.rollback.history.len(), 1);
    assert!(matches!(svc.rollback.decision, Decision::RolledBack { .. }));
    let incident = c.incident.expect("journaled");

    // What the team received.
    let slack = receiver.json(SLACK_PATH);
    assert_eq!(slack.len(), 2, "{slack:?}");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("ROLLBACK IN PROGRESS: web\nVersion: v1.0.1 → v1.0.0"),
        "{text}"
    );
    assert!(
        slack[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("ROLLBACK COMPLETED: web")
    );
    let hook = receiver.json(HOOK_PATH);
    assert_eq!(hook.len(), 2);
    assert_eq!(hook[0]["event"], "rollback-started");
    assert_eq!(hook[1]["event"], "rollback-completed");
    assert_eq!(hook[0]["service"], "web");
    assert_eq!(hook[0]["by"], "oncall@bastion from 10.0.0.7");
    assert_eq!(hook[0]["source"], "backstop");
    assert!(hook[0]["at"].as_str().unwrap().ends_with('Z'));
    // What the public read, as previewed: its public name, no version or host.
    let page = receiver.json(STATUS_PATH);
    let statuses: Vec<&str> = page.iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["investigating", "monitoring", "resolved"]);
    assert_eq!(
        page[0]["text"],
        "We are investigating errors affecting Checkout. We will post an update as soon as we know more."
    );
    assert!(
        page.iter()
            .all(|p| p["incident"] == format!("web#{incident}"))
    );

    // The journal: once everything is written, an intent and an outcome for every change.
    let path = dir.path().join("journal.sqlite");
    drop(engine);
    let reader = Reader::open(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reader
        .of_incident(incident)
        .unwrap()
        .iter()
        .any(|r| r.entry.kind == "closed")
    {
        assert!(
            Instant::now() < deadline,
            "the incident was never closed in the journal"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = reader.of_incident(incident).unwrap();
    let intents: Vec<_> = rows.iter().filter(|r| r.entry.kind == "intent").collect();
    assert_eq!(
        intents.len(),
        6,
        "notify, status page, switch, notify, status page twice: {intents:#?}"
    );
    for i in &intents {
        let outcome = rows
            .iter()
            .find(|o| o.entry.kind == "outcome" && o.entry.reference == Some(i.id));
        let o = outcome.unwrap_or_else(|| panic!("no outcome for {:?}", i.entry.text));
        assert!(
            o.id > i.id && o.entry.at >= i.entry.at,
            "the outcome comes after its intent"
        );
        assert_eq!(o.entry.level, "good", "{}", o.entry.text);
    }
    assert!(
        intents[2]
            .entry
            .text
            .starts_with("switch traffic of web: blue 90 → 100 %, green 10 → 0 %")
    );
    assert_eq!(
        intents[1].entry.text,
        "status page of web → investigating: We are investigating errors affecting Checkout. We will post an update as soon as we know more."
    );
    assert!(
        frames
            .iter()
            .any(|f| f
                .contains("status-page webhook ($TEST_STATUS_URL): the incident → investigating")),
        "the public change is previewed, naming the page by its variable"
    );
    assert!(reader.interrupted().unwrap().is_empty());
    assert_eq!(reader.integrity().unwrap(), "ok");

    // The report: the timeline, MTTD from the fault, MTTR to users on blue, verified.
    let report = Report::load(&reader, None).unwrap();
    assert_eq!(report.incident, incident);
    assert_eq!(
        (report.suspect.as_str(), report.target.as_str()),
        ("green", "blue")
    );
    let mttd = report.mttd_secs.expect("MTTD");
    assert!(mttd > 0.5 && mttd < 20.0, "MTTD {mttd}");
    let mttr = report.mttr_secs.expect("MTTR");
    assert!(
        mttr > 15.0 && mttr < 110.0,
        "MTTR {mttr} (the 60 s error-rate watch at 4× is 15 s)"
    );
    assert_eq!(report.steps.len(), 18);
    assert_eq!(report.messages.len(), 2);
    assert!(
        report.messages[0]
            .delivery
            .iter()
            .all(|d| d.contains("sent (HTTP 200)")),
        "{:?}",
        report.messages[0].delivery
    );
    let md = report.markdown();
    for want in [
        "# Incident",
        "drill: fault injected: 503 critical",
        "decision → ROLLBACK RECOMMENDED",
        "| during | Switch traffic from green to blue | done | oncall@bastion from 10.0.0.7 |",
        "| after | Record what caused the failure | done |",
        "> ROLLBACK COMPLETED: web",
        "MTTD (detected − began)",
    ] {
        assert!(md.contains(want), "{want:?} missing from the report:\n{md}");
    }
    assert!(report.json().contains("\"mttr_secs\""));

    // The webhook URLs never reach the journal, the report or the screen.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(dir.path().join("journal.sqlite-wal")).unwrap_or_default());
    let stored = String::from_utf8_lossy(&bytes);
    for secret in ["s3cr3t-slack-token", "7f3a9c-s3cr3t", "p4ge-s3cr3t"] {
        assert!(!stored.contains(secret), "{secret} is in the journal file");
        assert!(!md.contains(secret) && !report.json().contains(secret));
        assert!(
            frames.iter().all(|f| !f.contains(secret)),
            "{secret} on screen"
        );
    }
    assert!(
        frames.iter().any(|f| f.contains("slack ($TEST_SLACK_URL)")),
        "the notifier is named by its variable"
    );

    // A restart remembers the rollback: the cooldown still holds.
    let receiver2 = Receiver::start(200).await;
    let (engine, _sb2) = start(&receiver2, dir.path()).await;
    let history = &engine.state.services[0].rollback.history;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (history[0].from.as_str(), history[0].to.as_str()),
        ("green", "blue")
    );
    drop(engine);
    // A world that starts afresh (a free-play drill's new sandbox) holds no
    // cooldown from rollbacks made in worlds that are gone.
    let (fresh, _sb3) = start_in(&receiver2, dir.path(), true).await;
    assert!(
        fresh.state.services[0].rollback.history.is_empty(),
        "{:?}",
        fresh.state.services[0].rollback.history
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_notification_is_shown_and_journaled_and_never_blocks() {
    let receiver = Receiver::start(500).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, _sb) = start(&receiver, dir.path()).await;
    assert!(engine.run_until(Duration::from_secs(20), healthy).await);
    engine.apply(Msg::Action(Action::SelectNext, now()));
    engine.apply(Msg::Action(Action::StartRollback, now()));
    // Green is healthy, so the re-probe check fails: the operator skips it, with a reason.
    let failed = engine
        .run_until(Duration::from_secs(10), |s| {
            matches!(
                s.services[0]
                    .rollback
                    .checklist
                    .as_ref()
                    .and_then(|c| c.current())
                    .map(|s| &s.status),
                Some(StepStatus::Failed(_))
            )
        })
        .await;
    assert!(failed);
    engine.apply(Msg::Action(Action::Skip, now()));
    for ch in "customer reports, not probes".chars() {
        engine.apply(Msg::Text(TextKey::Char(ch), now()));
    }
    engine.apply(Msg::Text(TextKey::Submit, now()));
    engine.apply(Msg::Action(Action::OpenDetail, now())); // review the logs
    engine.apply(Msg::Action(Action::OpenDetail, now())); // preview the message
    engine.apply(Msg::Action(Action::Confirm, now()));
    let warned = engine
        .run_until(Duration::from_secs(15), |s| {
            s.services[0]
                .rollback
                .checklist
                .as_ref()
                .is_some_and(|c| matches!(c.steps[2].status, StepStatus::Warned(_)))
        })
        .await;
    let c = engine.state.services[0].rollback.checklist.clone().unwrap();
    assert!(warned, "{:?}", c.steps[2]);
    assert_eq!(
        c.steps[0].status,
        StepStatus::Skipped("customer reports, not probes".into())
    );
    assert!(
        c.steps[2]
            .evidence
            .iter()
            .any(|e| e == "slack ($TEST_SLACK_URL): NOT sent: HTTP 500"),
        "{:?}",
        c.steps[2].evidence
    );
    assert!(c.cursor >= 3, "the rollback goes on");
    assert!(
        engine
            .state
            .events
            .iter()
            .any(|e| e.text.contains("2 of 2 notifications failed"))
    );
    let incident = c.incident.unwrap();
    drop(engine);
    let reader = Reader::open(&dir.path().join("journal.sqlite")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rows = reader.of_incident(incident).unwrap();
        if let Some(o) = rows.iter().find(|r| r.entry.kind == "outcome") {
            assert!(
                o.entry.text.contains("2 of 2 notifications failed"),
                "{}",
                o.entry.text
            );
            assert!(!o.entry.text.contains("s3cr3t"));
            break;
        }
        assert!(Instant::now() < deadline, "no outcome journaled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revert_step_previews_then_puts_the_environment_on_its_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Arc::new(
        Sandbox::start(&default_world(), &Options { rate: 20.0 })
            .await
            .unwrap(),
    );
    let mut config = sb.config(Duration::from_millis(500), Duration::from_millis(250));
    let book = backstop::config::runbook::parse(
        r#"
name = "revert"
[[during]]
id = "revert"
title = "Put {suspect} back on its previous version"
kind = "action"
action = "revert-deployment"
"#,
        "revert.toml",
    )
    .unwrap();
    config.services[0].runbook = backstop::core::runbook::Runbooks::Named(book.runbook);
    let mut engine = Engine::start(
        &config,
        Origin::Drill,
        Some(sb.clone()),
        &Storage::in_dir(dir.path()),
    )
    .unwrap();
    assert!(engine.run_until(Duration::from_secs(20), healthy).await);
    engine.apply(Msg::Action(Action::SelectNext, now()));
    inject_fault(&mut engine);
    assert!(
        engine
            .run_until(Duration::from_secs(10), |s| s.services[0].envs[1].status
                == Some(HealthStatus::Critical))
            .await
    );
    engine.apply(Msg::Action(Action::StartRollback, now()));
    engine.apply(Msg::Action(Action::OpenDetail, now()));
    let previewed = engine
        .run_until(Duration::from_secs(5), |s| {
            matches!(
                s.services[0]
                    .rollback
                    .checklist
                    .as_ref()
                    .and_then(|c| c.current())
                    .map(|s| &s.status),
                Some(StepStatus::Previewing(_))
            )
        })
        .await;
    assert!(previewed);
    let c = engine.state.services[0].rollback.checklist.clone().unwrap();
    let StepStatus::Previewing(lines) = &c.steps[0].status else {
        unreachable!()
    };
    assert_eq!(lines[0], "web via the sandbox deploy provider:");
    assert_eq!(lines[1], "sandbox web/green: v1.0.1 → v1.0.0");
    assert_eq!(
        sb.revisions("web", "green").unwrap().0,
        "1.0.1",
        "a preview changes nothing"
    );
    engine.apply(Msg::Action(Action::Confirm, now()));
    let done = engine
        .run_until(Duration::from_secs(10), |s| {
            s.services[0]
                .rollback
                .checklist
                .as_ref()
                .is_some_and(|c| c.ended.is_some())
                && s.services[0].envs[1].version.as_deref() == Some("1.0.0")
                && s.services[0].envs[1].status == Some(HealthStatus::Ok)
        })
        .await;
    let c = engine.state.services[0].rollback.checklist.clone().unwrap();
    assert!(done, "{:?}", c.steps[0]);
    assert_eq!(c.steps[0].evidence, ["web/green reverted: v1.0.1 → v1.0.0"]);
    assert_eq!(
        engine.state.services[0].rollback.history.len(),
        1,
        "a revert is a rollback for the guards"
    );
}
