//! The checklist walked through `update`: guided and automatic, on
//! blue/green and on ECS.

use super::super::testkit::*;
use crate::action::Action;
use crate::decision::{Decision, Mode, Policy};
use crate::health::HealthStatus;
use crate::model::Pane;
use crate::model::{Interrupted, TrafficState};
use crate::msg::{Effect, Msg};
use crate::msg::{StepOutcome, StepWork, TextKey};
use crate::runbook::{StepStatus, Template};
use crate::time::Ts;
use crate::traffic::Weights;
use crate::update::update;

#[test]
fn auto_mode_walks_the_runbook_then_guards_the_cooldown() {
    let mut s = state(Policy {
        mode: Mode::Auto,
        ..Policy::default()
    });
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    let mut fx = Vec::new();
    for t in [1000, 3000, 5000] {
        fx = probe(&mut s, 1, t, HealthStatus::Critical);
    }
    assert!(
        matches!(&fx[0], Effect::OpenIncident { auto: true, suspect, target, .. } if suspect == "green" && target == "blue"),
        "{fx:?}"
    );
    let seen = answer(&mut s, fx, 5500);
    let works: Vec<&StepWork> = seen
        .iter()
        .filter_map(|e| match e {
            Effect::Step { work, .. } => Some(work),
            _ => None,
        })
        .collect();
    assert!(
        matches!(works[0], StepWork::Reprobe { env: 1, count: 3 }),
        "{works:?}"
    );
    assert!(
        matches!(
            works[1],
            StepWork::Notify {
                template: Template::RollbackStarted,
                ..
            }
        ),
        "{works:?}"
    );
    let to = Weights::from_percents([("blue", 100), ("green", 0)]);
    assert!(
        matches!(works[2], StepWork::Switch { to: t, .. } if *t == to),
        "auto mode switches without a preview: {works:?}"
    );
    assert!(
        matches!(decision(&s), Decision::RollingBack { .. }),
        "{:?}",
        decision(&s)
    );
    // The switch is what the guards count.
    assert_eq!(s.services[0].rollback.history.len(), 1);
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(
        c.steps[1].status,
        StepStatus::Skipped("left for a person (auto mode)".into()),
        "a manual step"
    );
    // No second rollback while the first is under way.
    assert!(probe(&mut s, 1, 6000, HealthStatus::Critical).is_empty());
    // Waits for blue healthy three probes in a row, then on by itself.
    let mut fx = Vec::new();
    for t in [7000, 9000, 11_000] {
        fx.extend(probe(&mut s, 0, t, HealthStatus::Ok));
    }
    let seen = answer(&mut s, fx, 11_000);
    assert!(
        seen.iter().any(
            |e| matches!(e, Effect::Step { work: StepWork::Smoke { env, .. }, .. } if env == "blue")
        ),
        "{seen:?}"
    );
    // The error rate holds under 1 % for a minute.
    let mut fx = Vec::new();
    for t in (13_000..=80_000).step_by(2000) {
        fx.extend(probe(&mut s, 0, t, HealthStatus::Ok));
        fx.extend(update(&mut s, Msg::Tick(Ts(t))));
    }
    let seen = answer(&mut s, fx, 80_000);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::Notify {
                    template: Template::RollbackCompleted,
                    ..
                },
                ..
            }
        )),
        "{seen:?}"
    );
    let closed: Vec<&Effect> = seen
        .iter()
        .filter(|e| matches!(e, Effect::CloseIncident { .. }))
        .collect();
    assert!(
        matches!(closed[..], [Effect::CloseIncident { ending, recovered: Some(_), .. }] if ending == "completed"),
        "{closed:?}"
    );
    assert!(matches!(
        decision(&s),
        Decision::RolledBack {
            suspect: 1,
            target: 0,
            ..
        }
    ));
    assert!(
        s.events
            .iter()
            .any(|e| e.text.starts_with("recovered: users on blue"))
    );
    // Blue fails now, within the cooldown: blocked, not a loop.
    for t in [90_000, 92_000, 94_000] {
        assert!(
            probe(&mut s, 0, t, HealthStatus::Critical).is_empty(),
            "no rollback inside the cooldown"
        );
    }
    match decision(&s) {
        Decision::Blocked { block, .. } => {
            assert!(block.describe(Ts(94_000)).starts_with("cooldown:"))
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn the_operator_asks_for_a_rollback_and_gets_the_checklist() {
    let mut s = state(Policy::default());
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    probe(&mut s, 1, 1000, HealthStatus::Ok);
    update(&mut s, Msg::Action(Action::SelectNext, Ts(2000)));
    let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(2000)));
    assert!(
        matches!(
            &fx[..],
            [
                Effect::OpenIncident { auto: false, .. },
                Effect::Step {
                    work: StepWork::Reprobe { env: 1, .. },
                    ..
                }
            ]
        ),
        "{fx:?}"
    );
    assert_eq!(s.ui.focus, Pane::Checklist);
    assert!(
        s.events
            .iter()
            .any(|e| e.text == "ops@bastion asks to roll back green")
    );
    // Green answers healthy: the check says so, and the operator decides.
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::failed("every re-probe answered healthy", vec![]),
            at: Ts(3000),
        },
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(matches!(&c.steps[0].status, StepStatus::Failed(e) if e.contains("healthy")));
    // Abandoning takes a reason, and ends it.
    update(&mut s, Msg::Action(Action::Abort, Ts(4000)));
    for ch in "false alarm".chars() {
        update(&mut s, Msg::Text(TextKey::Char(ch), Ts(4000)));
    }
    let fx = update(&mut s, Msg::Text(TextKey::Submit, Ts(4000)));
    assert!(
        matches!(&fx[..], [Effect::CloseIncident { ending, .. }] if ending == "aborted: false alarm"),
        "{fx:?}"
    );
    assert_eq!(s.services[0].rollback.manual, None);
    update(&mut s, Msg::Tick(Ts(5000)));
    assert_eq!(decision(&s), &Decision::Healthy);
}

#[test]
fn a_guided_switch_previews_and_waits_for_the_second_key() {
    let mut s = state(Policy::default());
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 1, t, HealthStatus::Critical);
    }
    update(&mut s, Msg::Action(Action::SelectNext, Ts(5000)));
    let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5000)));
    answer(&mut s, fx, 5000);
    // Manual step: Enter ticks it.
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    // The notification is previewed in core (it is the message itself).
    assert!(update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000))).is_empty());
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(
        matches!(&c.steps[2].status, StepStatus::Previewing(l) if l.iter().any(|l| l.contains("ROLLBACK IN PROGRESS")))
    );
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
    answer(&mut s, fx, 6000);
    // Target healthy checked itself; the switch waits for the operator.
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.steps[3].status, StepStatus::Done, "{:?}", c.steps[3]);
    assert_eq!(c.steps[4].status, StepStatus::Current);
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    assert!(
        matches!(
            &fx[..],
            [Effect::Step {
                work: StepWork::PreviewSwitch { .. },
                ..
            }]
        ),
        "{fx:?}"
    );
    // Confirm before the preview arrived does nothing.
    assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(7000))).is_empty());
    preview_answer(&mut s, 4, vec!["web via sandbox".into()], 7100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
    assert!(
        matches!(&fx[..], [Effect::Step { work: StepWork::Switch { .. }, by, .. }] if by == "ops@bastion"),
        "{fx:?}"
    );
    // While it runs, it cannot be skipped.
    update(&mut s, Msg::Action(Action::Skip, Ts(7300)));
    assert!(s.ui.input.is_none());
    assert!(
        s.services[0].rollback.history.is_empty(),
        "not until the outcome"
    );
    answer(&mut s, fx, 7500);
    assert_eq!(s.services[0].rollback.history.len(), 1);
    assert_eq!(s.services[0].rollback.history[0].by, "ops@bastion");
}

#[test]
fn a_skip_typed_while_the_checklist_moves_on_skips_nothing() {
    let mut s = recommended_and_started(Policy::default());
    assert!(matches!(current(&s), (0, StepStatus::Running { .. })));
    update(&mut s, Msg::Action(Action::Skip, Ts(5100)));
    // The re-probe finishes while the reason is typed.
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::ok(vec![]),
            at: Ts(5200),
        },
    );
    assert_eq!(current(&s), (1, StepStatus::Current));
    typed(&mut s, "no time", 5300);
    assert_eq!(
        current(&s),
        (1, StepStatus::Current),
        "step 1 was not skipped"
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.steps[0].status, StepStatus::Done);
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("moved on while you typed"))
    );
}

#[test]
fn a_running_change_cannot_be_abandoned() {
    let mut s = recommended_and_started(Policy::default());
    reprobed(&mut s);
    let fx = switching(&mut s);
    assert!(matches!(
        &fx[..],
        [Effect::Step {
            work: StepWork::Switch { .. },
            run: 1,
            ..
        }]
    ));
    update(&mut s, Msg::Action(Action::Abort, Ts(7300)));
    assert!(s.ui.input.is_none(), "no abandon while the switch runs");
    assert!(
        s.events
            .iter()
            .any(|e| e.text.starts_with("a change is under way"))
    );
    // Its answer arrives: the rollback counts.
    answer(&mut s, fx, 7400);
    assert_eq!(s.services[0].rollback.history.len(), 1);
}

#[test]
fn a_late_answer_of_an_abandoned_checklist_settles_nothing_in_the_next() {
    let mut s = recommended_and_started(Policy::default());
    // The re-probe runs (it changes nothing: it may be abandoned).
    update(&mut s, Msg::Action(Action::Abort, Ts(5100)));
    typed(&mut s, "wrong service", 5100);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(5200))); // put away
    assert_eq!(
        s.services[0].rollback.last_incident, None,
        "never journaled here"
    );
    update(&mut s, Msg::Action(Action::StartRollback, Ts(5300)));
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.run, 2);
    assert!(matches!(current(&s), (0, StepStatus::Running { .. })));
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::ok(vec!["old news".into()]),
            at: Ts(5400),
        },
    );
    assert!(
        matches!(current(&s), (0, StepStatus::Running { .. })),
        "run 1's answer is not run 2's"
    );
}

#[test]
fn a_switch_previewed_then_outdated_is_previewed_again_not_run() {
    let mut s = recommended_and_started(Policy::default());
    reprobed(&mut s);
    // Someone moves the traffic between the preview and the key.
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    assert!(fx.is_empty());
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
    answer(&mut s, fx, 6000);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    preview_answer(
        &mut s,
        4,
        vec!["blue 90 → 100 %, green 10 → 0 %".into()],
        7100,
    );
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 50), ("green", 50)])),
            at: Ts(7150),
        },
    );
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
    match &fx[..] {
        [
            Effect::Step {
                work: StepWork::PreviewSwitch { from, .. },
                ..
            },
        ] => assert_eq!(from.percents(), [50, 50]),
        other => panic!("expected a new preview, got {other:?}"),
    }
    assert!(s.services[0].rollback.history.is_empty());
}

#[test]
fn auto_mode_stands_down_after_an_abandon_and_while_changes_are_unchecked() {
    let auto = Policy {
        mode: Mode::Auto,
        ..Policy::default()
    };
    let mut s = state(auto.clone());
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 1, t, HealthStatus::Critical);
    }
    assert!(
        s.services[0].rollback.checklist.is_some(),
        "auto mode started"
    );
    // The re-probe is running: a person abandons.
    update(&mut s, Msg::Action(Action::Abort, Ts(5500)));
    typed(&mut s, "known issue, fixing forward", 5500);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(5600)));
    for t in [7000, 9000] {
        let fx = probe(&mut s, 1, t, HealthStatus::Critical);
        assert!(
            fx.iter().all(|e| !matches!(e, Effect::OpenIncident { .. })),
            "{fx:?}"
        );
    }
    assert!(s.services[0].rollback.checklist.is_none());
    assert_eq!(s.services[0].rollback.auto_held, Some(1));

    // A fresh start with an interrupted change found in the journal.
    let mut s = state(auto);
    update(
        &mut s,
        Msg::Interrupted {
            actions: vec![Interrupted {
                intent: 9,
                at: Ts(0),
                scope: "web".into(),
                text: "switch traffic of web".into(),
                operator: "ops".into(),
                incident: Some(8),
                work: "switch-traffic".into(),
                real: None,
            }],
            at: Ts(500),
        },
    );
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    for t in [1000, 3000, 5000] {
        let fx = probe(&mut s, 1, t, HealthStatus::Critical);
        assert!(fx.is_empty(), "{fx:?}");
    }
    assert!(matches!(decision(&s), Decision::RollbackRecommended { .. }));
}

#[test]
fn skipping_the_switch_is_not_a_recovery() {
    let mut s = recommended_and_started(Policy::default());
    reprobed(&mut s);
    for at in [6000, 6001] {
        update(&mut s, Msg::Action(Action::Skip, Ts(at)));
        typed(&mut s, "later", at);
    }
    // target healthy ran itself; now the switch: skipped too.
    assert_eq!(current(&s).0, 4);
    update(&mut s, Msg::Action(Action::Skip, Ts(6100)));
    typed(&mut s, "the LB console is faster", 6100);
    assert!(s.services[0].rollback.history.is_empty());
    assert!(s.events.iter().all(|e| !e.text.starts_with("recovered")));
}

#[test]
fn on_ecs_a_revert_is_recommended_and_wait_stable_follows_the_rollout() {
    use crate::deploy::RolloutPhase::*;
    let mut s = ecs_state();
    deployed(&mut s, 500, "web:2", &[("web:2", true, Completed, 2)]);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 0, t, HealthStatus::Critical);
    }
    assert!(
        matches!(
            decision(&s),
            Decision::RollbackRecommended {
                suspect: 0,
                target: 0,
                ..
            }
        ),
        "a revert in place: {:?}",
        decision(&s)
    );
    let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
    answer(&mut s, fx, 5100);
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    let ids: Vec<&str> = c.steps.iter().map(|x| x.spec.id.as_str()).collect();
    assert!(
        !ids.contains(&"target-healthy") && !ids.contains(&"switch-traffic"),
        "{ids:?}"
    );
    // Review, message, then the revert: previewed with the revision it starts from.
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
    answer(&mut s, fx, 6000);
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    assert!(
        matches!(
            &fx[..],
            [Effect::Step {
                work: StepWork::PreviewRevert { .. },
                ..
            }]
        ),
        "{fx:?}"
    );
    preview_answer(&mut s, 3, vec!["web:2 → web:1".into()], 7100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
    assert!(
        matches!(&fx[..], [Effect::Step { work: StepWork::Revert { expect: Some(e), .. }, .. }] if e == "web:2"),
        "{fx:?}"
    );
    answer(&mut s, fx, 7300);
    assert_eq!(current(&s).0, 4, "wait-stable");
    // The read from before the revert says nothing; neither does ECS still on web:2.
    deployed(&mut s, 7400, "web:2", &[("web:2", true, Completed, 2)]);
    assert!(matches!(current(&s), (4, StepStatus::Running { .. })));
    // Real AWS: a new PRIMARY deployment rolls in while the old one drains.
    deployed(
        &mut s,
        9000,
        "web:1",
        &[
            ("web:1", true, InProgress, 1),
            ("web:2", false, Completed, 1),
        ],
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.steps[4].progress, Some((1, 2)));
    assert!(matches!(current(&s), (4, StepStatus::Running { .. })));
    deployed(&mut s, 12_000, "web:1", &[("web:1", true, Completed, 2)]);
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.steps[4].status, StepStatus::Done, "{:?}", c.steps[4]);
    assert_eq!(
        c.steps[4].evidence.last().unwrap(),
        "web: web:1 stable (web:1 PRIMARY COMPLETED 2/2)"
    );
}

#[test]
fn a_failed_rollout_fails_wait_stable() {
    use crate::deploy::RolloutPhase::*;
    let mut s = ecs_state();
    deployed(&mut s, 500, "web:2", &[("web:2", true, Completed, 2)]);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 0, t, HealthStatus::Critical);
    }
    let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
    answer(&mut s, fx, 5100);
    for at in [6000, 6001] {
        update(&mut s, Msg::Action(Action::Skip, Ts(at)));
        typed(&mut s, "later", at);
    }
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    preview_answer(&mut s, 3, vec![], 7100);
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
    answer(&mut s, fx, 7300);
    deployed(
        &mut s,
        9000,
        "web:1",
        &[("web:1", true, Failed, 0), ("web:2", false, Completed, 2)],
    );
    assert!(
        matches!(current(&s), (4, StepStatus::Failed(e)) if e == "the rollout of web:1 failed: tasks failed to start"),
        "{:?}",
        current(&s)
    );
}

#[test]
fn a_blue_green_service_with_unread_weights_is_never_reverted_in_place() {
    // Traffic provider and deploy provider, weights not read (yet): not a
    // revert of the failing environment, and never a switch onto itself.
    let mut s = ecs_state();
    s.services[0].traffic = Some(TrafficState::new("alb", "listener"));
    for t in [1000, 3000, 5000] {
        probe(&mut s, 0, t, HealthStatus::Critical);
    }
    match decision(&s) {
        Decision::Blocked { block, .. } => assert!(
            matches!(
                block,
                crate::decision::Block::NoTarget | crate::decision::Block::NoMeans
            ),
            "{block:?}"
        ),
        d => panic!("{d:?}"),
    }
}

#[test]
fn a_revert_before_the_deployment_was_read_refuses() {
    let mut s = ecs_state();
    for t in [1000, 3000, 5000] {
        probe(&mut s, 0, t, HealthStatus::Critical);
    }
    let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
    answer(&mut s, fx, 5100);
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
    answer(&mut s, fx, 6000);
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
    assert!(fx.is_empty(), "nothing asked of the provider: {fx:?}");
    assert!(
        matches!(current(&s), (3, StepStatus::Failed(e)) if e.contains("has not been read yet")),
        "{:?}",
        current(&s)
    );
}

/// A deploy read with ECS's service deployment in `status`: from web:2 to
/// web:1 is the rollback's way (the deployment's source is web:1).
fn native(s: &mut crate::model::State, at: i64, current: &str, status: &str) {
    use crate::deploy::{EnvDeploy, NativeRollback, Rollout, RolloutPhase, ServiceDeployment};
    let rolling_back = status.starts_with("ROLLBACK");
    let env = EnvDeploy {
        env: "prod".into(),
        name: "web".into(),
        current: current.into(),
        rollouts: vec![Rollout {
            id: "ecs-svc/1".into(),
            primary: true,
            status: "PRIMARY".into(),
            phase: RolloutPhase::InProgress,
            revision: current.into(),
            running: 1,
            desired: 2,
            pending: 1,
            failed: 0,
            reason: None,
            created: None,
        }],
        previous: Some("web:1".into()),
        history: vec!["web:1".into(), "web:2".into()],
        deployments: vec![ServiceDeployment {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/d1".into(),
            status: status.into(),
            rollback: rolling_back.then(|| NativeRollback {
                reason: Some("StopServiceDeployment ROLLBACK requested by ops@bastion".into()),
                started: Some(Ts(at)),
                to: None,
            }),
            reason: (status == "ROLLBACK_FAILED")
                .then(|| "tasks of web:1 failed to start: CannotPullContainerError".into()),
            source_task: Some("web:1".into()),
            target_task: Some("web:2".into()),
            finished: (status == "ROLLBACK_FAILED" || status == "ROLLBACK_SUCCESSFUL")
                .then_some(Ts(at)),
            ..ServiceDeployment::default()
        }],
        deployments_error: None,
    };
    update(
        s,
        Msg::DeployRead {
            service: 0,
            result: Ok(vec![env]),
            at: Ts(at),
        },
    );
}

/// Up to the revert, confirmed: from web:2 back to web:1.
fn native_reverted(s: &mut crate::model::State) {
    native(s, 500, "web:2", "IN_PROGRESS");
    for t in [1000, 3000, 5000] {
        probe(s, 0, t, HealthStatus::Critical);
    }
    let fx = update(s, Msg::Action(Action::StartRollback, Ts(5100)));
    answer(s, fx, 5100);
    for at in [6000, 6001] {
        update(s, Msg::Action(Action::Skip, Ts(at)));
        typed(s, "later", at);
    }
    update(s, Msg::Action(Action::OpenDetail, Ts(7000)));
    preview_answer(s, 3, vec![], 7100);
    let fx = update(s, Msg::Action(Action::Confirm, Ts(7200)));
    assert!(
        matches!(&fx[..], [Effect::Step { work: StepWork::Revert { expect: Some(e), to: Some(t), .. }, .. }] if e == "web:2" && t == "web:1"),
        "{fx:?}"
    );
    answer(s, fx, 7300);
    assert_eq!(current(s).0, 4, "wait-stable");
}

#[test]
fn wait_stable_follows_an_ecs_rollback_to_rollback_successful() {
    let mut s = ecs_state();
    native_reverted(&mut s);
    native(&mut s, 9000, "web:2", "ROLLBACK_IN_PROGRESS");
    assert!(
        matches!(current(&s), (4, StepStatus::Running { .. })),
        "{:?}",
        current(&s)
    );
    // Our own rollback under way is not blocked by its own ECS rollback.
    assert!(
        matches!(decision(&s), Decision::RollingBack { .. }),
        "{:?}",
        decision(&s)
    );
    native(&mut s, 12_000, "web:1", "ROLLBACK_SUCCESSFUL");
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.steps[4].status, StepStatus::Done, "{:?}", c.steps[4]);
}

#[test]
fn wait_stable_fails_with_ecs_reason_when_ecs_rollback_fails() {
    let mut s = ecs_state();
    native_reverted(&mut s);
    native(&mut s, 9000, "web:2", "ROLLBACK_IN_PROGRESS");
    native(&mut s, 12_000, "web:2", "ROLLBACK_FAILED");
    assert!(
        matches!(current(&s), (4, StepStatus::Failed(e)) if e.contains("ECS's rollback failed: StopServiceDeployment ROLLBACK requested by ops@bastion")),
        "{:?}",
        current(&s)
    );
}

/// A checklist of one database step, on a database read as `schema`.
fn database_step(
    schema: Option<Result<crate::migration::Schema, crate::migration::ReadError>>,
) -> (crate::model::State, Vec<Effect>) {
    use crate::runbook::{Act, Runbook, StepKind, StepSpec};
    let mut s = state(Policy::default());
    s.services[0].rollback.runbook = Runbook {
        name: "db".into(),
        description: String::new(),
        before: vec![],
        during: vec![StepSpec {
            id: "db".into(),
            title: "Roll back the database migration".into(),
            help: String::new(),
            kind: StepKind::Action(Act::MigrateDown {
                argv: vec!["dbmate".into(), "rollback".into()],
                timeout: std::time::Duration::from_secs(60),
            }),
            when: vec![],
            approve: false,
        }],
        after: vec![],
        targets: vec![],
    }
    .into();
    if let Some(result) = schema {
        update(
            &mut s,
            Msg::DatabaseRead {
                service: 0,
                result,
                at: Ts(500),
            },
        );
    }
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    probe(&mut s, 1, 1000, HealthStatus::Ok);
    update(&mut s, Msg::Action(Action::SelectNext, Ts(2000)));
    update(&mut s, Msg::Action(Action::StartRollback, Ts(2000)));
    let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(3000)));
    (s, fx)
}

fn schema(
    up: Vec<crate::migration::Risk>,
    down: crate::migration::Down,
) -> crate::migration::Schema {
    use crate::migration::{Migration, Schema, Tool};
    let m = |v: &str, up, down| Migration {
        version: v.into(),
        name: Some(format!("m{v}")),
        applied_at: None,
        up,
        down,
        file: true,
    };
    Schema {
        tool: Tool::Dbmate,
        applied: vec![
            m("1", vec![], crate::migration::Down::Unknown),
            m("2", up, down),
        ],
        dirty: None,
    }
}

#[test]
fn the_database_step_undoes_only_what_breaks_the_old_code_and_says_what_it_runs() {
    use crate::migration::{Down, Risk};
    // A renamed column with its down migration: previewed, then run.
    let (mut s, _) = database_step(Some(Ok(schema(
        vec![Risk::RenamesColumn],
        Down::Present { risks: vec![] },
    ))));
    let (_, status) = current(&s);
    let StepStatus::Previewing(lines) = status else {
        panic!("{status:?}");
    };
    assert_eq!(lines[0], "$ dbmate rollback");
    assert!(
        lines.contains(&"undoes 2 m2 (renames a column)".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"then the migration table must show 1 as current".to_string()),
        "{lines:?}"
    );
    let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(4000)));
    assert!(
        matches!(
            &fx[..],
            [Effect::Step { work: StepWork::MigrateDown { from, to: Some(to), .. }, .. }]
                if from == "2" && to == "1"
        ),
        "{fx:?}"
    );
    // Forward-compatible: nothing to undo, done at once.
    let (s, fx) = database_step(Some(Ok(schema(vec![], Down::Missing))));
    assert!(
        fx.iter().all(|e| !matches!(e, Effect::Step { .. })),
        "{fx:?}"
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(c.steps[0].status == StepStatus::Done, "{:?}", c.steps[0]);
    // No down migration, a dirty schema, no database read: it fails and
    // says why; nothing runs.
    for (read, why) in [
        (
            Some(Ok(schema(vec![Risk::DropsColumn], Down::Missing))),
            "has NO down migration",
        ),
        (None, "nothing is known of its migrations"),
        (
            Some(Err(crate::migration::ReadError::Unreachable {
                at: "postgres://app@db/shop".into(),
                why: "no answer".into(),
            })),
            "cannot be read (the database postgres://app@db/shop does not answer: no answer)",
        ),
    ] {
        let (s, fx) = database_step(read);
        assert!(
            fx.iter().all(|e| !matches!(e, Effect::Step { .. })),
            "{fx:?}"
        );
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert!(
            matches!(&c.steps[0].status, StepStatus::Failed(e) if e.contains(why) && e.contains("nothing was run")),
            "{:?}",
            c.steps[0].status
        );
    }
    let mut dirty = schema(vec![Risk::DropsColumn], Down::Present { risks: vec![] });
    dirty.dirty = Some("version 2 is marked dirty".into());
    let (s, _) = database_step(Some(Ok(dirty)));
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(
        matches!(&c.steps[0].status, StepStatus::Failed(e) if e.contains("DIRTY")),
        "{:?}",
        c.steps[0].status
    );
}
