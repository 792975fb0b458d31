//! Typed rollbacks through `update`: the rule's choice, a person's change
//! before the first change, the time targets, and the restart and stop
//! steps verified by health.

use std::time::Duration;

use super::super::testkit::*;
use crate::action::Action;
use crate::decision::Policy;
use crate::health::HealthStatus;
use crate::msg::{Effect, Msg, StepOutcome, StepWork};
use crate::runbook::{
    Act, Check, RollbackType, Runbook, Runbooks, StepKind, StepSpec, StepStatus, Target,
};
use crate::time::Ts;
use crate::traffic::Weights;

fn step(id: &str, kind: StepKind) -> StepSpec {
    StepSpec {
        id: id.into(),
        title: format!("{id} {{target}}"),
        help: String::new(),
        kind,
        when: vec![],
        approve: false,
    }
}

fn restart() -> StepKind {
    StepKind::Action(Act::Restart {
        argv: vec!["restart-it".into()],
        probes: 2,
        timeout: Duration::from_secs(60),
    })
}

/// Three small runbooks of the types' shapes.
fn books() -> Runbooks {
    let immediate = Runbook {
        name: "immediate".into(),
        description: String::new(),
        before: vec![step(
            "confirm-failure",
            StepKind::Check(Check::Reprobe { count: 1 }),
        )],
        during: vec![step("switch-traffic", StepKind::Action(Act::SwitchTraffic))],
        after: vec![step(
            "stop-suspect",
            StepKind::Action(Act::Stop {
                argv: vec!["stop-it".into()],
                timeout: Duration::from_secs(30),
            }),
        )],
        targets: vec![Target {
            title: "rollback".into(),
            within: Duration::from_secs(300),
            ends: vec!["during".into()],
        }],
    };
    let standard = Runbook {
        name: "standard".into(),
        during: vec![
            step("switch-traffic", StepKind::Action(Act::SwitchTraffic)),
            step("restart", restart()),
        ],
        ..immediate.clone()
    };
    let emergency = Runbook {
        name: "emergency".into(),
        description: String::new(),
        before: vec![step(
            "rollback-ready",
            StepKind::Check(Check::TargetHealthy),
        )],
        during: vec![
            step("switch-traffic", StepKind::Action(Act::SwitchTraffic)),
            step("restart", restart()),
        ],
        after: vec![step("log-incident", StepKind::Action(Act::Note))],
        targets: vec![
            Target {
                title: "immediate actions".into(),
                within: Duration::from_secs(120),
                ends: vec!["switch-traffic".into(), "restart".into(), "gone".into()],
            },
            Target {
                title: "communicate".into(),
                within: Duration::from_secs(300),
                ends: vec!["log-incident".into()],
            },
            Target {
                title: "left out".into(),
                within: Duration::from_secs(60),
                ends: vec!["not-in-this-checklist".into()],
            },
        ],
    };
    Runbooks::Typed {
        immediate,
        standard,
        emergency,
    }
}

/// Web with typed rollbacks, green at `green` % of traffic and failing.
fn failing(green: u32) -> crate::model::State {
    let mut s = state(Policy::default());
    s.services[0].rollback.runbook = books();
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([
                ("blue", 100 - green),
                ("green", green),
            ])),
            at: Ts(0),
        },
    );
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 1, t, HealthStatus::Critical);
    }
    update(&mut s, Msg::Action(Action::SelectNext, Ts(5000)));
    s
}

fn start(s: &mut crate::model::State) -> Vec<Effect> {
    update(s, Msg::Action(Action::StartRollback, Ts(5000)))
}

fn checklist(s: &crate::model::State) -> &crate::runbook::Checklist {
    s.services[0].rollback.checklist.as_ref().unwrap()
}

#[test]
fn users_on_a_failing_environment_is_an_emergency_with_its_countdown() {
    let mut s = failing(100);
    let fx = start(&mut s);
    let c = checklist(&s);
    let ty = c.typed.as_ref().unwrap();
    assert_eq!(ty.kind, RollbackType::Emergency);
    assert!(
        ty.why
            .contains("every probe of green (100 % of traffic) fails"),
        "{}",
        ty.why
    );
    assert_eq!(c.runbook, "emergency");
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::OpenIncident { typed: Some(t), runbook, .. }
            if t.kind == RollbackType::Emergency && runbook == "emergency")
        ),
        "{fx:?}"
    );
    // A target whose steps this checklist does not have is left out; one
    // naming a missing step counts the steps it has.
    let titles: Vec<&str> = c.targets.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["immediate actions", "communicate"]);
    assert_eq!(c.targets[0].ends, ["switch-traffic", "restart"]);
    assert_eq!(
        c.countdown(Ts(5000 + 48_000)).unwrap(),
        ("immediate actions: 1m12s left of 2m".to_string(), false)
    );
    assert_eq!(
        c.countdown(Ts(5000 + 160_000)).unwrap(),
        ("immediate actions: 40s over 2m".to_string(), true)
    );
    // The why view reads the rule.
    assert!(s.services[0].rollback.timeline.iter().any(|l| {
        l.text
            .starts_with("rollback type emergency: rule: every probe of green")
    }));
}

#[test]
fn a_failing_canary_is_immediate_and_a_person_may_change_it_before_the_first_change() {
    let mut s = failing(10);
    start(&mut s);
    assert_eq!(
        checklist(&s).typed.as_ref().unwrap().kind,
        RollbackType::Immediate
    );
    // The re-probe confirms it: a settled step the standard runbook has too.
    reprobed(&mut s);
    assert_eq!(checklist(&s).cursor, 1);
    let fx = typed_command(&mut s, "type standard", 5200);
    assert!(
        matches!(&fx[..], [Effect::Retype { from: RollbackType::Immediate, to: RollbackType::Standard, runbook, by, .. }]
            if runbook == "standard" && by == "ops@bastion"),
        "{fx:?}"
    );
    let c = checklist(&s);
    assert_eq!(c.runbook, "standard");
    assert_eq!(
        c.steps[0].status,
        StepStatus::Done,
        "what was done stays done"
    );
    assert_eq!((c.cursor, &c.steps[1].status), (1, &StepStatus::Current));
    assert!(
        c.typed
            .as_ref()
            .unwrap()
            .why
            .starts_with("changed by ops@bastion from immediate")
    );
    // The switch made, the type is kept.
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    preview_answer(&mut s, 1, vec!["web via sandbox".into()], 6100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6500)));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::Switch { .. },
                ..
            }
        )),
        "{fx:?}"
    );
    let fx = typed_command(&mut s, "type emergency", 6600);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(checklist(&s).runbook, "standard");
    assert!(s.events.iter().any(|e| e.text.contains(
        ":type emergency: the standard rollback has made (or is making) its first change"
    )));
}

#[test]
fn a_restart_is_verified_by_the_targets_health_and_the_targets_are_scored() {
    let mut s = failing(100);
    start(&mut s);
    // rollback-ready settled at once (blue is healthy): the switch's turn.
    assert_eq!(checklist(&s).cursor, 1);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    preview_answer(&mut s, 1, vec!["web via sandbox".into()], 6100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6500)));
    answer(&mut s, fx, 7000);
    assert_eq!(checklist(&s).cursor, 2);
    // The restart: previewed with what follows it, then run.
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(8000)));
    let StepStatus::Previewing(lines) = &checklist(&s).steps[2].status else {
        panic!("{:?}", checklist(&s).steps[2].status)
    };
    assert_eq!(lines[0], "$ restart-it");
    assert!(
        lines[2].contains("then blue must answer healthy 2 probes in a row"),
        "{lines:?}"
    );
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(8500)));
    let [
        Effect::Step {
            run,
            step,
            work: StepWork::Command { env, .. },
            ..
        },
    ] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(env, "blue");
    let (run, step) = (*run, *step);
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run,
            step,
            outcome: StepOutcome::ok(vec!["restarted".into()]),
            at: Ts(9000),
        },
    );
    // The command succeeded: the step waits for health, not settled yet.
    let st = &checklist(&s).steps[2];
    assert!(
        matches!(st.status, StepStatus::Running { .. }),
        "{:?}",
        st.status
    );
    assert_eq!(st.progress, Some((0, 2)));
    probe(&mut s, 0, 10_000, HealthStatus::Ok);
    assert_eq!(checklist(&s).cursor, 2);
    probe(&mut s, 0, 12_000, HealthStatus::Ok);
    let c = checklist(&s);
    assert_eq!(c.steps[2].status, StepStatus::Done);
    assert_eq!(
        c.steps[2].evidence,
        ["restarted", "blue healthy for 2 probes in a row"],
        "what the command said, then the health"
    );
    // Immediate actions took 7 s of 2 minutes; communicating is not done yet.
    let scores = c.target_scores();
    assert_eq!(
        (scores[0].took_secs, scores[0].met()),
        (Some(7), Some(true))
    );
    assert_eq!((scores[1].took_secs, scores[1].met()), (None, None));
}

#[test]
fn a_restart_that_never_gets_healthy_fails_at_its_time() {
    let mut s = failing(100);
    start(&mut s);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    preview_answer(&mut s, 1, vec!["web via sandbox".into()], 6100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6500)));
    answer(&mut s, fx, 7000);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(8000)));
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(8500)));
    answer(&mut s, fx, 9000);
    probe(&mut s, 0, 10_000, HealthStatus::Critical);
    update(&mut s, Msg::Tick(Ts(9000 + 61_000)));
    let StepStatus::Failed(why) = &checklist(&s).steps[2].status else {
        panic!("{:?}", checklist(&s).steps[2].status)
    };
    assert!(
        why.starts_with("restarted, but not healthy 2 probes in a row within 1m"),
        "{why}"
    );
}

#[test]
fn the_bad_environment_is_not_stopped_while_users_are_on_it() {
    let mut s = failing(10);
    start(&mut s);
    reprobed(&mut s);
    // Skip the switch: green still takes 10 %.
    update(&mut s, Msg::Action(Action::Skip, Ts(6000)));
    typed(&mut s, "not now", 6000);
    assert_eq!(checklist(&s).cursor, 2);
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    assert!(fx.is_empty(), "nothing is run: {fx:?}");
    let StepStatus::Failed(why) = &checklist(&s).steps[2].status else {
        panic!("{:?}", checklist(&s).steps[2].status)
    };
    assert_eq!(
        why,
        "green still takes 10 % of traffic: stop it only once users are off it; nothing was run"
    );
}

#[test]
fn a_stop_is_verified_when_the_environment_no_longer_answers() {
    let mut s = failing(10);
    start(&mut s);
    reprobed(&mut s);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    preview_answer(&mut s, 1, vec!["web via sandbox".into()], 6100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6500)));
    answer(&mut s, fx, 7000);
    assert_eq!(checklist(&s).cursor, 2);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(8000)));
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(8500)));
    assert!(
        matches!(&fx[..], [Effect::Step { work: StepWork::Command { env, .. }, .. }] if env == "green"),
        "{fx:?}"
    );
    answer(&mut s, fx, 9000);
    // Still answering (critical is an answer): not stopped yet.
    probe(&mut s, 1, 10_000, HealthStatus::Critical);
    assert!(matches!(
        checklist(&s).steps[2].status,
        StepStatus::Running { .. }
    ));
    probe(&mut s, 1, 12_000, HealthStatus::Unreachable);
    let c = checklist(&s);
    assert_eq!(c.steps[2].status, StepStatus::Done);
    assert_eq!(
        c.steps[2].evidence,
        ["green stopped: its 1 endpoint(s) no longer answer"]
    );
}

/// A `:` command line, typed and submitted.
fn typed_command(s: &mut crate::model::State, line: &str, at: i64) -> Vec<Effect> {
    update(s, Msg::Action(Action::CommandLine, Ts(at)));
    typed(s, line, at)
}

/// Web with typed rollbacks, every user on green, and green's probes
/// refused: production is down. The effects of the failed probes.
fn production_down() -> (crate::model::State, Vec<Effect>) {
    let mut s = state(Policy::default());
    s.services[0].rollback.runbook = books();
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 0), ("green", 100)])),
            at: Ts(0),
        },
    );
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    let mut fx = Vec::new();
    for t in [1000, 1300, 1600] {
        fx.extend(probe(&mut s, 1, t, HealthStatus::Unreachable));
    }
    (s, fx)
}

/// Production down: the switch is previewed as soon as the rule fires,
/// before any key, and one `y` opens the emergency checklist and makes it.
#[test]
fn production_down_previews_the_switch_and_one_y_makes_it() {
    let (mut s, fx) = production_down();
    let request = fx
        .iter()
        .find_map(|e| match e {
            Effect::PreviewWeights { request, to, .. } => {
                assert_eq!(*to, Weights::from_percents([("blue", 100), ("green", 0)]));
                Some(*request)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no preview asked: {fx:?}"));
    update(
        &mut s,
        Msg::WeightsPreview {
            service: 0,
            request,
            result: Ok(vec![
                "web via sandbox:".into(),
                "blue 0 → 100 %, green 100 → 0 %".into(),
            ]),
            at: Ts(1700),
        },
    );
    assert_eq!(crate::update::ready_service(&s), Some(0));
    // A `y` typed too soon after it appeared is not an answer.
    assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(1800))).is_empty());
    assert!(s.services[0].rollback.checklist.is_none());
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(2100)));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::OpenIncident { typed: Some(t), .. } if t.kind == RollbackType::Emergency)),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Step { work: StepWork::Switch { to, .. }, .. }
            if *to == Weights::from_percents([("blue", 100), ("green", 0)]))
        ),
        "{fx:?}"
    );
    let c = checklist(&s);
    assert_eq!(c.steps[0].status, StepStatus::Done, "the target is healthy");
    assert!(
        matches!(c.steps[1].status, StepStatus::Running { .. }),
        "{:?}",
        c.steps[1].status
    );
    assert!(s.services[0].rollback.ready.is_none());
}

/// A stop previewed while its environment was off traffic is not made once
/// users are back on it: the preview is void, and the new one refuses.
#[test]
fn a_stop_is_not_made_once_users_are_back_on_the_environment() {
    let mut s = failing(10);
    start(&mut s);
    reprobed(&mut s);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    preview_answer(&mut s, 1, vec!["web via sandbox".into()], 6100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6500)));
    answer(&mut s, fx, 7000);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(8000)));
    // Someone puts users back on green before the y.
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 50), ("green", 50)])),
            at: Ts(8200),
        },
    );
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(8500)));
    assert!(
        !fx.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::Command { .. },
                ..
            }
        )),
        "{fx:?}"
    );
    let c = checklist(&s);
    assert!(
        matches!(&c.steps[2].status, StepStatus::Failed(why) if why.contains("still takes 50 % of traffic")),
        "{:?}",
        c.steps[2].status
    );
}

/// A step under way answers the checklist that started it: the type is
/// changed only once it has.
#[test]
fn the_type_waits_for_a_step_under_way() {
    let mut s = failing(10);
    let fx = start(&mut s);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Reprobe { .. } | Effect::Step { .. })),
        "the re-probe is under way: {fx:?}"
    );
    let fx = typed_command(&mut s, "type standard", 5100);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(checklist(&s).runbook, "immediate");
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains(":type standard: a step is under way"))
    );
}

/// A provider that cannot preview the emergency switch is asked once, not
/// after every message; the banner keeps to the recommendation.
#[test]
fn a_failed_emergency_preview_is_not_asked_again_at_every_message() {
    let (mut s, fx) = production_down();
    let request = fx
        .iter()
        .find_map(|e| match e {
            Effect::PreviewWeights { request, .. } => Some(*request),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no preview asked: {fx:?}"));
    update(
        &mut s,
        Msg::WeightsPreview {
            service: 0,
            request,
            result: Err("permission denied".into()),
            at: Ts(1700),
        },
    );
    let again = probe(&mut s, 1, 3600, HealthStatus::Unreachable);
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::PreviewWeights { .. })),
        "{again:?}"
    );
    assert_eq!(crate::update::ready_service(&s), None);
    assert_eq!(
        s.events
            .iter()
            .filter(|e| e.text.contains("the emergency switch cannot be previewed"))
            .count(),
        1
    );
}
