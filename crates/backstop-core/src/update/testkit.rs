//! The worlds the tests of `update` play in, each built in one line:
//! `state(policy)` (web, blue/green behind the sandbox router, weights read),
//! `ecs_state()` (one ECS environment), `recommended_and_started(policy)`
//! (green failing, the checklist open); and the moves they make.

#![allow(clippy::unwrap_used)]

use crate::action::Action;
use crate::decision::{Decision, Policy};
use crate::health::{HealthReport, HealthStatus};
use crate::model::{
    EndpointId, EndpointState, EnvState, Origin, ProbeResult, Role, ServiceState, State,
    TrafficState,
};
use crate::msg::{Effect, Msg};
use crate::msg::{StepOutcome, StepWork, TextKey};
use crate::runbook::StepStatus;
use crate::time::Ts;
use crate::traffic::Weights;
pub(in crate::update) use crate::update::update;
use std::time::Duration;

pub(in crate::update) fn state(policy: Policy) -> State {
    let env = |name: &str| {
        EnvState::new(
            name,
            vec![EndpointState::new(
                "http://x".into(),
                Role::Health,
                Duration::from_secs(2),
                Duration::from_secs(1),
            )],
        )
    };
    let traffic = Some(TrafficState::new("sandbox", "router"));
    let svc = ServiceState::new(
        "web",
        vec![env("blue"), env("green")],
        traffic,
        policy,
        crate::testkit::default_runbook(),
        Ts(0),
    );
    let mut s = State::new("drill", Origin::Drill, vec![svc], Ts(0));
    s.operator = "ops@bastion".into();
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
            at: Ts(0),
        },
    );
    s
}

pub(in crate::update) fn probe(
    s: &mut State,
    env: usize,
    at: i64,
    status: HealthStatus,
) -> Vec<Effect> {
    let report = HealthReport {
        status,
        http_status: Some(if status.is_failure() { 503 } else { 200 }),
        version: None,
        checks: vec![],
        summary: format!("HTTP {}", if status.is_failure() { 503 } else { 200 }),
        error: None,
    };
    let result = ProbeResult {
        at: Ts(at),
        latency_ms: 2.0,
        report,
        late: None,
    };
    update(
        s,
        Msg::Probed {
            endpoint: EndpointId {
                service: 0,
                env,
                endpoint: 0,
            },
            result,
        },
    )
}

/// The provider's answer to the latest preview request.
pub(in crate::update) fn preview_answer(s: &mut State, step: usize, lines: Vec<String>, at: i64) {
    let request = s.preview_requests;
    let run = s.services[0]
        .rollback
        .checklist
        .as_ref()
        .map_or(0, |c| c.run);
    update(
        s,
        Msg::StepPreview {
            service: 0,
            run,
            step,
            request,
            result: Ok(lines),
            at: Ts(at),
        },
    );
}

pub(in crate::update) fn decision(s: &State) -> &Decision {
    &s.services[0].rollback.decision
}

/// The executor's part, done at once: every step's work succeeds (a
/// switch also shows the new split). Returns every effect seen.
pub(in crate::update) fn answer(s: &mut State, fx: Vec<Effect>, at: i64) -> Vec<Effect> {
    let mut pending: std::collections::VecDeque<Effect> = fx.into();
    let mut seen = Vec::new();
    while let Some(e) = pending.pop_front() {
        if let Effect::Step {
            service,
            run,
            step,
            work,
            ..
        } = &e
        {
            if let StepWork::Switch { to, .. } = work {
                pending.extend(update(
                    s,
                    Msg::TrafficRead {
                        service: *service,
                        result: Ok(to.clone()),
                        at: Ts(at),
                    },
                ));
            }
            pending.extend(update(
                s,
                Msg::StepDone {
                    service: *service,
                    run: *run,
                    step: *step,
                    outcome: StepOutcome::ok(vec![]),
                    at: Ts(at),
                },
            ));
        }
        seen.push(e);
    }
    seen
}

pub(in crate::update) fn typed(s: &mut State, text: &str, at: i64) -> Vec<Effect> {
    for ch in text.chars() {
        update(s, Msg::Text(TextKey::Char(ch), Ts(at)));
    }
    update(s, Msg::Text(TextKey::Submit, Ts(at)))
}

pub(in crate::update) fn current(s: &State) -> (usize, StepStatus) {
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    (
        c.cursor,
        c.current()
            .map(|x| x.status.clone())
            .unwrap_or(StepStatus::Waiting),
    )
}

/// Green fails three times with blue healthy: a recommendation, and the
/// operator opens the checklist (step 0, the re-probe, is running).
pub(in crate::update) fn recommended_and_started(policy: Policy) -> State {
    let mut s = state(policy);
    probe(&mut s, 0, 1000, HealthStatus::Ok);
    for t in [1000, 3000, 5000] {
        probe(&mut s, 1, t, HealthStatus::Critical);
    }
    update(&mut s, Msg::Action(Action::SelectNext, Ts(5000)));
    update(&mut s, Msg::Action(Action::StartRollback, Ts(5000)));
    s
}

/// Walk to the switch and confirm it: the change is running.
pub(in crate::update) fn switching(s: &mut State) -> Vec<Effect> {
    let fx = update(s, Msg::Action(Action::OpenDetail, Ts(5000)));
    answer(s, fx, 5000); // (the re-probe had been answered below)
    update(s, Msg::Action(Action::OpenDetail, Ts(6000))); // logs reviewed
    update(s, Msg::Action(Action::OpenDetail, Ts(6000))); // message preview
    let fx = update(s, Msg::Action(Action::Confirm, Ts(6000)));
    answer(s, fx, 6000);
    let fx = update(s, Msg::Action(Action::OpenDetail, Ts(7000)));
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
    preview_answer(s, 4, vec!["web via sandbox".into()], 7100);
    update(s, Msg::Action(Action::Confirm, Ts(7200)))
}

pub(in crate::update) fn reprobed(s: &mut State) {
    update(
        s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::ok(vec![]),
            at: Ts(5100),
        },
    );
}

/// One environment on ECS, no traffic provider: the rollback is a revert.
pub(in crate::update) fn ecs_state() -> State {
    let env = EnvState::new(
        "prod",
        vec![EndpointState::new(
            "http://x".into(),
            Role::Health,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )],
    );
    let book = crate::testkit::default_runbook();
    let mut svc = ServiceState::new("web", vec![env], None, Policy::default(), book, Ts(0));
    svc.deploy = Some(crate::deploy::DeployState::new("ecs", "cluster prod"));
    let mut s = State::new("prod", Origin::Drill, vec![svc], Ts(0));
    s.operator = "ops@bastion".into();
    s
}

pub(in crate::update) fn deployed(
    s: &mut State,
    at: i64,
    current: &str,
    rollouts: &[(&str, bool, crate::deploy::RolloutPhase, u32)],
) -> Vec<Effect> {
    use crate::deploy::{EnvDeploy, Rollout};
    let env = EnvDeploy {
        env: "prod".into(),
        name: "web".into(),
        current: current.into(),
        rollouts: rollouts
            .iter()
            .map(|(rev, primary, phase, running)| Rollout {
                id: format!("ecs-svc/{rev}"),
                primary: *primary,
                status: if *primary { "PRIMARY" } else { "ACTIVE" }.into(),
                phase: *phase,
                revision: (*rev).into(),
                running: *running,
                desired: 2,
                pending: 2 - running,
                failed: 0,
                reason: (*phase == crate::deploy::RolloutPhase::Failed)
                    .then(|| "tasks failed to start".into()),
                created: None,
            })
            .collect(),
        previous: Some("web:1".into()),
        history: vec!["web:1".into(), "web:2".into()],
        deployments: vec![],
        deployments_error: None,
    };
    update(
        s,
        Msg::DeployRead {
            service: 0,
            result: Ok(vec![env]),
            at: Ts(at),
        },
    )
}
