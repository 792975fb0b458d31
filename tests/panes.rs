//! Every pane on its own, in the states a user meets it in: before any data
//! (empty), in the middle of an incident (normal), with its source failing
//! (error), and squeezed onto a narrow terminal. One test per pane; each
//! state is a snapshot of the pane's text (colour is a second channel,
//! tested in `ui.rs`).
#![allow(clippy::unwrap_used)]

mod screen;

use backstop::config;
use backstop::core::action::Action;
use backstop::core::compare::Tally;
use backstop::core::model::{Interrupted, SourceKind, State};
use backstop::core::msg::{EnvSnapshot, Msg, StepOutcome, TextKey};
use backstop::core::runbook::StepStatus;
use backstop::core::update::update;
use backstop::keymap::Keymap;
use backstop::tui::{Theme, View, panes};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use screen::*;

type Render = fn(&State, &View<'_>, Rect, &mut Buffer);

/// The pane drawn alone into `w`×`h`, as text.
fn shot(s: &State, render: Render, w: u16, h: u16) -> String {
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme::plain(),
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    render(s, &view, buf.area, &mut buf);
    text(&buf).join("\n")
}

/// The configuration of the scenario, nothing heard yet.
fn empty() -> State {
    fresh()
}

/// The scenario with its sources failing: an endpoint that refuses, the
/// traffic provider, CloudWatch alarms and metrics, and an effect that
/// could not be carried out.
fn failing() -> State {
    let mut s = scenario();
    // Checkout stops answering: refused, three times in a row.
    for t in [24, 25, 26] {
        let refused = backstop::core::health::HealthReport {
            status: backstop::core::health::HealthStatus::Unreachable,
            http_status: None,
            version: None,
            checks: vec![],
            summary: "connection refused".into(),
            error: Some("connection refused".into()),
        };
        probe(&mut s, 1, 0, 0, t, 0.4, refused);
    }
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Err("nginx -T: permission denied (/etc/nginx/conf.d/web.conf)".into()),
            at: at(26),
        },
    );
    // Two sources, named as the engine names them: one failing must not
    // hide the other.
    for (kind, source) in [
        (SourceKind::Alarms, "cloudwatch alarms (eu-west-1)"),
        (SourceKind::Metrics, "cloudwatch metrics (eu-west-1)"),
    ] {
        update(
            &mut s,
            Msg::SourceFailed {
                source: source.into(),
                kind,
                error: "ThrottlingException: Rate exceeded".into(),
                at: at(26),
            },
        );
    }
    update(
        &mut s,
        Msg::EffectFailed {
            effect: "set weights".into(),
            error: "web has no traffic provider".into(),
            at: at(27),
        },
    );
    s
}

fn act(s: &mut State, a: Action) {
    update(s, Msg::Action(a, s.now));
}

/// The rollback checklist of web opened on green, its re-probe answered.
fn rolling_back() -> State {
    let mut s = scenario();
    act(&mut s, Action::SelectNext);
    act(&mut s, Action::StartRollback);
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::ok(vec!["probe 1/3: CRIT — HTTP 503".into()]),
            at: at(27),
        },
    );
    s
}

#[test]
fn header() {
    let r: Render = panes::header::render;
    insta::assert_snapshot!("header_empty", shot(&empty(), r, 80, 1));
    insta::assert_snapshot!("header_normal", shot(&scenario(), r, 80, 1));
    insta::assert_snapshot!("header_narrow", shot(&scenario(), r, 40, 1));
    // The war room: who drives the selected service, and how many watch.
    let mut room = scenario();
    let present = |who: &str, drives: &[&str], me: bool| backstop::core::model::Present {
        session: format!("{who}#1-1"),
        what: "console".into(),
        since: at(0),
        read_only: false,
        operator: who.into(),
        drives: drives.iter().map(|s| s.to_string()).collect(),
        me,
    };
    room.people = vec![
        present("alice@bastion from 10.0.0.7", &["web"], false),
        present("ops@bastion", &[], true),
        present("bob@bastion", &[], false),
    ];
    // Alice holds web's lease.
    room.session = "ops@bastion#1-1".into();
    let lease = |session: &str| backstop::core::model::LeaseView {
        service: "web".into(),
        operator: "alice@bastion from 10.0.0.7".into(),
        session: session.into(),
        token: 3,
        since: backstop::core::time::Ts(0),
        lost: false,
        quiet_s: 1,
    };
    room.leases = vec![lease("alice@bastion from 10.0.0.7#1-1")];
    insta::assert_snapshot!("header_war_room", shot(&room, r, 120, 1));
    // This console drives it.
    room.leases = vec![lease("ops@bastion#1-1")];
    insta::assert_snapshot!("header_war_room_driving", shot(&room, r, 120, 1));
    // Its driver's heartbeat is gone.
    let mut lost = lease("alice@bastion from 10.0.0.7#1-1");
    lost.lost = true;
    room.leases = vec![lost];
    insta::assert_snapshot!("header_war_room_lost", shot(&room, r, 120, 1));
    // The people view: who drives, who watches, and the lost driver.
    let r: Render = panes::people::render;
    insta::assert_snapshot!("people_lost_driver", shot(&room, r, 100, 10));
    room.leases[0].lost = false;
    room.people[2].read_only = true;
    insta::assert_snapshot!("people_normal", shot(&room, r, 100, 10));
}

#[test]
fn banner() {
    let r: Render = panes::banner::render;
    insta::assert_snapshot!("banner_empty", shot(&empty(), r, 80, 2));
    insta::assert_snapshot!("banner_normal", shot(&scenario(), r, 80, 2));
    insta::assert_snapshot!("banner_narrow", shot(&scenario(), r, 40, 2));
}

#[test]
fn health() {
    let r: Render = panes::health::render;
    insta::assert_snapshot!("health_empty", shot(&empty(), r, 80, 6));
    insta::assert_snapshot!("health_normal", shot(&scenario(), r, 80, 6));
    insta::assert_snapshot!("health_error", shot(&failing(), r, 80, 6));
    insta::assert_snapshot!("health_narrow", shot(&scenario(), r, 40, 6));
}

#[test]
fn traffic() {
    let r: Render = panes::traffic::render;
    insta::assert_snapshot!("traffic_empty", shot(&empty(), r, 80, 7));
    insta::assert_snapshot!("traffic_normal", shot(&scenario(), r, 80, 7));
    insta::assert_snapshot!("traffic_error", shot(&failing(), r, 80, 7));
    insta::assert_snapshot!("traffic_narrow", shot(&scenario(), r, 40, 7));
}

#[test]
fn alarms() {
    let r: Render = panes::alarms::render;
    insta::assert_snapshot!("alarms_empty", shot(&empty(), r, 80, 8));
    insta::assert_snapshot!("alarms_normal", shot(&scenario(), r, 80, 8));
    insta::assert_snapshot!("alarms_error", shot(&failing(), r, 80, 8));
    insta::assert_snapshot!("alarms_narrow", shot(&scenario(), r, 40, 8));
}

#[test]
fn decision() {
    let r: Render = panes::decision::render;
    insta::assert_snapshot!("decision_empty", shot(&empty(), r, 80, 8));
    insta::assert_snapshot!("decision_normal", shot(&scenario(), r, 80, 8));
    insta::assert_snapshot!("decision_rolling_back", shot(&rolling_back(), r, 80, 8));
    insta::assert_snapshot!("decision_narrow", shot(&scenario(), r, 40, 8));
}

#[test]
fn metrics() {
    let r: Render = panes::metrics::render;
    insta::assert_snapshot!("metrics_empty", shot(&empty(), r, 80, 7));
    insta::assert_snapshot!("metrics_normal", shot(&scenario(), r, 80, 7));
    insta::assert_snapshot!("metrics_error", shot(&failing(), r, 80, 7));
    insta::assert_snapshot!("metrics_narrow", shot(&scenario(), r, 40, 7));
}

#[test]
fn deployments() {
    let r: Render = panes::deployments::render;
    insta::assert_snapshot!("deployments_empty", shot(&empty(), r, 80, 6));
    insta::assert_snapshot!("deployments_normal", shot(&scenario(), r, 80, 6));
    insta::assert_snapshot!("deployments_narrow", shot(&scenario(), r, 40, 6));
}

/// An ECS service in the middle of ECS's own rollback: its service
/// deployments under it, the rollback in ECS's words.
#[test]
fn deployments_ecs_service_deployments() {
    use backstop::core::deploy::{
        Breaker, EnvDeploy, NativeRollback, Rollout, RolloutPhase, ServiceDeployment, Strategy,
    };
    let cfg = config::parse(
        r#"
[services.api.environments.prod]
endpoints = [{ url = "http://127.0.0.1:1/health" }]
[services.api.deploy]
provider = "ecs"
cluster = "prod"
service = "api"
"#,
        "backstop.toml",
        &|_| None,
    )
    .unwrap();
    let mut s = backstop::engine::initial_state(&cfg, backstop::core::model::Origin::Drill, at(0));
    let sd = |id: &str, status: &str| ServiceDeployment {
        arn: format!("arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/api/{id}"),
        status: status.into(),
        strategy: Strategy {
            kind: "ROLLING".into(),
            ..Strategy::default()
        },
        source_task: Some("api:6".into()),
        target_task: Some("api:7".into()),
        ..ServiceDeployment::default()
    };
    let mut rolling = sd("r3Bt9k", "ROLLBACK_IN_PROGRESS");
    rolling.breaker = Some(Breaker {
        status: "TRIGGERED".into(),
        failures: 3,
        threshold: 3,
    });
    rolling.rollback = Some(NativeRollback {
        reason: Some("circuit breaker threshold exceeded".into()),
        ..NativeRollback::default()
    });
    update(
        &mut s,
        Msg::DeployRead {
            service: 0,
            result: Ok(vec![EnvDeploy {
                env: "prod".into(),
                name: "api".into(),
                current: "api:7".into(),
                rollouts: vec![Rollout {
                    id: "ecs-svc/1".into(),
                    primary: true,
                    status: "PRIMARY".into(),
                    phase: RolloutPhase::InProgress,
                    revision: "api:7".into(),
                    running: 1,
                    desired: 2,
                    pending: 1,
                    failed: 3,
                    reason: None,
                    created: None,
                }],
                previous: Some("api:6".into()),
                history: vec![],
                deployments: vec![rolling, sd("Qx81", "SUCCESSFUL")],
                deployments_error: None,
            }]),
            at: at(5),
        },
    );
    let shot = shot(&s, panes::deployments::render, 140, 6);
    assert!(shot.contains("ECS deployment r3Bt9k: ROLLBACK_IN_PROGRESS rolling api:6 → api:7 · breaker 3/3 · rollback: circuit breaker threshold exceeded"), "{shot}");
    assert!(
        shot.contains("earlier Qx81: SUCCESSFUL rolling api:6 → api:7"),
        "{shot}"
    );
}

#[test]
fn events() {
    let r: Render = panes::events::render;
    insta::assert_snapshot!("events_empty", shot(&empty(), r, 80, 8));
    insta::assert_snapshot!("events_normal", shot(&scenario(), r, 80, 8));
    insta::assert_snapshot!("events_error", shot(&failing(), r, 80, 8));
    insta::assert_snapshot!("events_narrow", shot(&scenario(), r, 40, 8));
}

#[test]
fn keybar() {
    let r: Render = panes::keybar::render;
    insta::assert_snapshot!("keybar_normal", shot(&scenario(), r, 80, 1));
    insta::assert_snapshot!("keybar_checklist", shot(&rolling_back(), r, 80, 1));
    let mut typing = rolling_back();
    act(&mut typing, Action::Skip);
    let now = typing.now;
    update(&mut typing, Msg::Text(TextKey::Char('x'), now));
    insta::assert_snapshot!("keybar_typing", shot(&typing, r, 80, 1));
    insta::assert_snapshot!("keybar_narrow", shot(&scenario(), r, 40, 1));
}

#[test]
fn checklist() {
    let r: Render = panes::checklist::render;
    insta::assert_snapshot!("checklist_empty", shot(&scenario(), r, 80, 6));
    insta::assert_snapshot!("checklist_normal", shot(&rolling_back(), r, 80, 14));
    let mut failed = rolling_back();
    act(&mut failed, Action::OpenDetail); // the message, previewed
    act(&mut failed, Action::Confirm);
    update(
        &mut failed,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 1,
            outcome: StepOutcome::failed("slack: HTTP 500", vec![]),
            at: at(30),
        },
    );
    insta::assert_snapshot!("checklist_error", shot(&failed, r, 80, 14));
    insta::assert_snapshot!("checklist_narrow", shot(&rolling_back(), r, 40, 14));

    // The two-person rule: the driver's change waits for a second person.
    let mut driver = rolling_back();
    driver.services[0].rollback.policy.allow_override = true;
    let waiting = StepStatus::AwaitingApproval {
        lines: vec![
            "web via the command traffic provider:".into(),
            "    $ platform set blue 100    # blue 0 → 100 %".into(),
        ],
        request: 4,
        asked: at(28),
    };
    if let Some(c) = driver.services[0].rollback.checklist.as_mut() {
        let cursor = c.cursor;
        c.steps[cursor].status = waiting;
    }
    insta::assert_snapshot!("checklist_awaiting_approval", shot(&driver, r, 80, 14));
    // Bob's console follows it, and is asked for his approval.
    let mut bob = scenario();
    bob.person = "bob@bastion".into();
    bob.services[0].rollback.followed = Some(backstop::core::model::Followed {
        vouched: None,
        operator: "alice@bastion from 10.0.0.7".into(),
        person: "alice@bastion".into(),
        session: "alice#7-1".into(),
        checklist: driver.services[0].rollback.checklist.clone().unwrap(),
        at: at(28),
    });
    bob.leases = vec![backstop::core::model::LeaseView {
        service: "web".into(),
        operator: "alice@bastion from 10.0.0.7".into(),
        session: "alice#7-1".into(),
        token: 2,
        since: at(20),
        lost: false,
        quiet_s: 1,
    }];
    insta::assert_snapshot!("checklist_followed_approval", shot(&bob, r, 80, 14));
    // The same, its driver's lease lost.
    bob.leases[0].lost = true;
    insta::assert_snapshot!("checklist_followed_lost", shot(&bob, r, 80, 6));
}

#[test]
fn detail() {
    let r: Render = panes::detail::render;
    let mut s = scenario();
    act(&mut s, Action::SelectNext);
    act(&mut s, Action::OpenDetail);
    insta::assert_snapshot!("detail_empty", shot(&empty(), r, 80, 12));
    insta::assert_snapshot!("detail_normal", shot(&s, r, 80, 12));
    insta::assert_snapshot!("detail_narrow", shot(&s, r, 40, 12));
}

#[test]
fn help() {
    let r: Render = panes::help::render;
    insta::assert_snapshot!("help_normal", shot(&scenario(), r, 80, 20));
    insta::assert_snapshot!("help_narrow", shot(&scenario(), r, 40, 12));
}

#[test]
fn why() {
    let r: Render = panes::why::render;
    let mut s = scenario();
    act(&mut s, Action::SelectNext);
    insta::assert_snapshot!("why_empty", shot(&empty(), r, 80, 12));
    insta::assert_snapshot!("why_normal", shot(&s, r, 80, 16));
    insta::assert_snapshot!("why_narrow", shot(&s, r, 40, 12));
    // The comparison explains itself whole: green's requests counted one by
    // one fail where blue's do not.
    let (mut blue, mut green) = (Tally::default(), Tally::default());
    for sec in 27..=60 {
        for _ in 0..18 {
            blue.record(4.0, false);
        }
        green.record(9.0, sec % 3 == 0);
        green.record(9.0, false);
        let snap = |env, t: &Tally| EnvSnapshot {
            service: 0,
            env,
            one_min: Default::default(),
            five_min: Default::default(),
            extra: vec![],
            tally: Some(t.clone()),
        };
        update(
            &mut s,
            Msg::Metrics {
                source: "sandbox traffic".into(),
                snapshots: vec![snap(0, &blue), snap(1, &green)],
                at: at(sec),
            },
        );
    }
    insta::assert_snapshot!("why_comparison", shot(&s, r, 80, 24));
}

#[test]
fn weights() {
    let r: Render = panes::weights::render;
    let mut s = scenario();
    act(&mut s, Action::SetWeights);
    act(&mut s, Action::Increase);
    insta::assert_snapshot!("weights_editing", shot(&s, r, 70, 12));
    act(&mut s, Action::OpenDetail);
    let request = s.preview_requests;
    update(
        &mut s,
        Msg::WeightsPreview {
            service: 0,
            request,
            result: Ok(vec![
                "nginx upstream web_pool in /etc/nginx/conf.d/web.conf:".into(),
                "  - server 10.0.0.1:8081 weight=90;".into(),
                "  + server 10.0.0.1:8081 weight=95;".into(),
            ]),
            at: at(26),
        },
    );
    insta::assert_snapshot!("weights_normal", shot(&s, r, 70, 12));
    insta::assert_snapshot!("weights_narrow", shot(&s, r, 40, 12));
    act(&mut s, Action::Confirm);
    update(
        &mut s,
        Msg::WeightsFailed {
            service: 0,
            error: "the weights moved since the preview: nothing was changed".into(),
            log: vec![],
            at: at(27),
        },
    );
    insta::assert_snapshot!("weights_error", shot(&s, r, 70, 12));
}

#[test]
fn interrupted() {
    let r: Render = panes::interrupted::render;
    let mut s = scenario();
    update(
        &mut s,
        Msg::Interrupted {
            actions: vec![Interrupted {
                intent: 41,
                at: at(3),
                scope: "web".into(),
                text: "switch traffic of web: blue 90 → 100 %, green 10 → 0 %".into(),
                operator: "ops@bastion".into(),
                incident: Some(40),
                work: "switch-traffic".into(),
                real: None,
            }],
            at: at(25),
        },
    );
    insta::assert_snapshot!("interrupted_normal", shot(&s, r, 80, 12));
    update(
        &mut s,
        Msg::RealState {
            intent: 41,
            text: "traffic of web (nginx): blue 100 % · green 0 %".into(),
            at: at(26),
        },
    );
    insta::assert_snapshot!("interrupted_checked", shot(&s, r, 80, 12));
    insta::assert_snapshot!("interrupted_narrow", shot(&s, r, 40, 12));
}

#[test]
fn score() {
    let r: Render = panes::score::render;
    let mut s = scenario();
    insta::assert_snapshot!("score_empty", shot(&s, r, 80, 18));
    let catalog = config::drill::Scenarios::builtin();
    let bad_switch = catalog.get("bad-switch").unwrap();
    s.drill = Some(backstop::core::drill::DrillRun::new(
        bad_switch,
        0,
        1.0,
        1,
        at(0),
    ));
    update(&mut s, Msg::DrillEnd { at: at(360) });
    insta::assert_snapshot!("score_normal", shot(&s, r, 80, 20));
    insta::assert_snapshot!("score_narrow", shot(&s, r, 40, 20));
}
