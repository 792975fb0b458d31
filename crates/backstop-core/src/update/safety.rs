//! The first promise, as a property of `update`: nothing changes the world
//! unless a person confirmed exactly the change previewed last, or auto mode
//! made it inside its guards; nothing acts while a line is typed; and every
//! switch or revert that succeeds is one rollback in the guards' count.
//!
//! A small world answers the effects `update` emits — previews (late, out of
//! order, duplicated, failed), step outcomes, weight changes, checks of the
//! real state — while random keys, text, pastes, probes, traffic and deploy
//! reads, ticks and headless rollbacks arrive in between. `PROPTEST_CASES`
//! sets how many worlds (`scripts/safety-long` runs a long campaign).

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;

use super::update;
use crate::action::Action;
use crate::decision::{Mode, Policy, RollbackRecord};
use crate::deploy::{DeployState, EnvDeploy, Rollout, RolloutPhase};
use crate::health::{HealthReport, HealthStatus};
use crate::model::{
    EndpointId, EndpointState, EnvState, Interrupted, Origin, ProbeResult, Role, ServiceState,
    State, TrafficState,
};
use crate::msg::{Effect, Msg, StepOutcome, StepWork, TextKey};
use crate::runbook::StepStatus;
use crate::time::Ts;
use crate::traffic::{EditStage, Weights};

/// Service 0: blue/green behind a traffic provider. Service 1: one ECS
/// environment, rolled back by a revert in place.
fn world(web: Mode, api: Mode, two_person: bool) -> State {
    let ep = || {
        vec![EndpointState::new(
            "http://x/health".into(),
            Role::Health,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )]
    };
    let book = || crate::testkit::default_runbook();
    let policy = |mode| Policy {
        mode,
        ..Policy::default()
    };
    let web = ServiceState::new(
        "web",
        vec![EnvState::new("blue", ep()), EnvState::new("green", ep())],
        Some(TrafficState::new("command", "platform CLI")),
        policy(web),
        book(),
        Ts(0),
    );
    let mut api = ServiceState::new(
        "api",
        vec![EnvState::new("prod", ep())],
        None,
        policy(api),
        book(),
        Ts(0),
    );
    api.deploy = Some(DeployState::new("ecs", "cluster prod"));
    let mut s = State::new(
        "prod",
        Origin::Config("backstop.toml".into()),
        vec![web, api],
        Ts(0),
    );
    s.operator = "ops@bastion".into();
    s.person = "ops@bastion".into();
    s.vouched = Some("ops@bastion".into());
    s.session = "ops#1-1".into();
    if two_person {
        s.services[0].rollback.policy.approvals = 2;
    }
    s
}

/// The splits the world may read: the provider's own units, exactly.
const SPLITS: [[u32; 2]; 5] = [[90, 10], [10, 90], [100, 0], [0, 100], [50, 50]];
/// The revisions ECS may report: (current, previous).
const REVISIONS: [(&str, Option<&str>); 3] = [
    ("api:3", Some("api:2")),
    ("api:2", Some("api:1")),
    ("api:1", None),
];

#[derive(Clone, Debug)]
enum Op {
    Key(Action),
    Text(TextKey),
    Wait(u32),
    Tick,
    Probe {
        service: usize,
        env: usize,
        status: HealthStatus,
    },
    Traffic(usize),
    Deploy(usize),
    /// Answer an outstanding preview (`keep`: it may be answered again).
    Preview {
        pick: usize,
        ok: bool,
        keep: bool,
    },
    /// Answer an outstanding step's work.
    Step {
        pick: usize,
        ok: bool,
        keep: bool,
    },
    /// Answer an outstanding weight change of the `w` dialog.
    Weights {
        pick: usize,
        ok: bool,
    },
    /// The journal holds a change with no outcome (found at start).
    Interrupted,
    /// A check of the real state answers.
    Real(usize),
    /// `backstop rollback` (with `--yes`: `auto`).
    Rollback {
        service: usize,
        auto: bool,
    },
    /// Another console answers the approval a change waits for (the
    /// two-person rule): approves or rejects, as another person or as the
    /// driver's own identity; `stale`: an answer to an older request.
    Answer {
        approve: bool,
        same_person: bool,
        stale: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly the keys of the checklist and the dialog, so that walks reach
    // previews, stale answers and confirmations often.
    let keys = prop_oneof![
        4 => Just(Action::Confirm),
        4 => Just(Action::OpenDetail),
        2 => Just(Action::Back),
        2 => Just(Action::StartRollback),
        1 => Just(Action::Skip),
        1 => Just(Action::Abort),
        1 => Just(Action::SetWeights),
        1 => prop::sample::select(vec![Action::Increase, Action::Decrease]),
        1 => prop::sample::select(vec![Action::SelectNext, Action::SelectPrev]),
        1 => prop::sample::select(vec![
            Action::NextPane,
            Action::PrevPane,
            Action::Explain,
            Action::Help,
            Action::ExportReport,
        ]),
    ];
    let text = prop_oneof![
        Just(TextKey::Char('x')),
        Just(TextKey::Char('y')),
        Just(TextKey::Submit),
        Just(TextKey::Cancel),
        Just(TextKey::Backspace),
        Just(TextKey::Paste("y\nr\n".into())),
    ];
    let status = prop::sample::select(HealthStatus::ALL.to_vec());
    prop_oneof![
        6 => keys.prop_map(Op::Key),
        3 => text.prop_map(Op::Text),
        3 => (0u32..20_000).prop_map(Op::Wait),
        2 => Just(Op::Tick),
        8 => (0usize..3, status).prop_map(|(e, status)| match e {
            2 => Op::Probe { service: 1, env: 0, status },
            env => Op::Probe { service: 0, env, status },
        }),
        3 => (0..SPLITS.len()).prop_map(Op::Traffic),
        2 => (0..REVISIONS.len()).prop_map(Op::Deploy),
        4 => (any::<usize>(), prop::bool::weighted(0.85), any::<bool>())
            .prop_map(|(pick, ok, keep)| Op::Preview { pick, ok, keep }),
        5 => (any::<usize>(), prop::bool::weighted(0.8), prop::bool::weighted(0.2))
            .prop_map(|(pick, ok, keep)| Op::Step { pick, ok, keep }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ok)| Op::Weights { pick, ok }),
        1 => Just(Op::Interrupted),
        1 => any::<usize>().prop_map(Op::Real),
        1 => (0usize..2, any::<bool>()).prop_map(|(service, auto)| Op::Rollback { service, auto }),
        2 => (prop::bool::weighted(0.8), prop::bool::weighted(0.2), prop::bool::weighted(0.1))
            .prop_map(|(approve, same_person, stale)| Op::Answer { approve, same_person, stale }),
    ]
}

/// What a preview request asked about: the change `y` may then make.
#[derive(Clone, Debug, PartialEq)]
enum Asked {
    Step {
        service: usize,
        change: StepWork,
    },
    Weights {
        service: usize,
        from: Weights,
        to: Weights,
    },
}

/// The world's side: what `update` asked for and has not been answered.
#[derive(Default)]
struct Outside {
    now: i64,
    asked: HashMap<u64, Asked>,
    /// Preview requests not answered yet, in the order made.
    previews: Vec<(u64, Effect)>,
    steps: Vec<Effect>,
    weights: Vec<Effect>,
    checks: Vec<i64>,
    /// Switches and reverts sent: (service, run, step) → answered yet.
    rollbacks: HashMap<(usize, u64, usize), bool>,
    next_intent: i64,
}

/// What the promise is checked against: the state as it was before a message.
struct Before {
    typing: bool,
    /// Per service: another person's approval that came while a line was
    /// typed, held until the line closes (`RollbackState::approved_meanwhile`).
    approved_meanwhile: Vec<Option<u64>>,
    /// Per service: the current step's status and pending change.
    current: Vec<Option<(StepStatus, Option<StepWork>)>>,
    editor: Option<(usize, EditStage, Weights)>,
    weights: Vec<Option<Weights>>,
    revisions: Vec<Option<(String, Option<String>)>>,
    history: Vec<usize>,
}

fn before(s: &State) -> Before {
    Before {
        typing: s.ui.input.is_some(),
        approved_meanwhile: s
            .services
            .iter()
            .map(|svc| svc.rollback.approved_meanwhile.as_ref().map(|(r, _)| *r))
            .collect(),
        current: s
            .services
            .iter()
            .map(|svc| {
                let c = svc.rollback.checklist.as_ref()?;
                let step = c.current()?;
                Some((step.status.clone(), step.pending.clone()))
            })
            .collect(),
        editor: s
            .ui
            .editor
            .as_ref()
            .map(|e| (e.service, e.stage.clone(), e.from.clone())),
        weights: s
            .services
            .iter()
            .map(|svc| svc.traffic.as_ref().and_then(|t| t.weights.clone()))
            .collect(),
        revisions: (0..s.services.len())
            .map(|i| super::deploy::revisions(s, i, 0))
            .collect(),
        history: s
            .services
            .iter()
            .map(|svc| svc.rollback.history.len())
            .collect(),
    }
}

fn probe_result(status: HealthStatus, at: i64) -> ProbeResult {
    ProbeResult {
        at: Ts(at),
        latency_ms: 2.0,
        report: HealthReport {
            status,
            http_status: Some(if status.is_failure() { 503 } else { 200 }),
            version: Some("1.0.1".into()),
            checks: vec![],
            summary: format!("status {status}"),
            error: None,
        },
        late: None,
    }
}

fn deploy_read(i: usize, at: i64) -> Msg {
    let (current, previous) = REVISIONS[i];
    Msg::DeployRead {
        service: 1,
        result: Ok(vec![EnvDeploy {
            env: "prod".into(),
            name: "api".into(),
            current: current.into(),
            rollouts: vec![Rollout {
                id: format!("ecs-svc/{current}"),
                primary: true,
                status: "PRIMARY".into(),
                phase: RolloutPhase::Completed,
                revision: current.into(),
                running: 2,
                desired: 2,
                pending: 0,
                failed: 0,
                reason: None,
                created: None,
            }],
            previous: previous.map(str::to_string),
            history: vec![],
            deployments: vec![],
            deployments_error: None,
        }]),
        at: Ts(at),
    }
}

fn pick<T>(v: &mut Vec<T>, i: usize, keep: bool) -> Option<T>
where
    T: Clone,
{
    if v.is_empty() {
        return None;
    }
    let i = i % v.len();
    Some(if keep { v[i].clone() } else { v.remove(i) })
}

/// The messages an op turns into (answers need the world's bookkeeping).
fn messages(op: Op, w: &mut Outside, s: &State) -> Vec<Msg> {
    let at = Ts(w.now);
    match op {
        Op::Key(a) => vec![Msg::Action(a, at)],
        Op::Text(k) => vec![Msg::Text(k, at)],
        Op::Wait(ms) => {
            w.now += i64::from(ms);
            vec![Msg::Tick(Ts(w.now))]
        }
        Op::Tick => vec![Msg::Tick(at)],
        Op::Probe {
            service,
            env,
            status,
        } => vec![Msg::Probed {
            endpoint: EndpointId {
                service,
                env,
                endpoint: 0,
            },
            result: probe_result(status, w.now),
        }],
        Op::Traffic(i) => vec![Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([
                ("blue", SPLITS[i][0]),
                ("green", SPLITS[i][1]),
            ])),
            at,
        }],
        Op::Deploy(i) => vec![deploy_read(i, w.now)],
        Op::Preview { pick: i, ok, keep } => {
            let Some((request, e)) = pick(&mut w.previews, i, keep) else {
                return vec![];
            };
            let lines = format!("preview#{request}");
            let result = if ok {
                Ok(vec![lines])
            } else {
                Err("the provider cannot say".into())
            };
            match e {
                Effect::Step {
                    service, run, step, ..
                } => vec![Msg::StepPreview {
                    service,
                    run,
                    step,
                    request,
                    result,
                    at,
                }],
                Effect::PreviewWeights { .. } => vec![Msg::WeightsPreview {
                    service: 0,
                    request,
                    result,
                    at,
                }],
                _ => vec![],
            }
        }
        Op::Step { pick: i, ok, keep } => {
            let Some(Effect::Step {
                service,
                run,
                step,
                work,
                by,
                ..
            }) = pick(&mut w.steps, i, keep)
            else {
                return vec![];
            };
            let mut out = Vec::new();
            if let (true, StepWork::Switch { from, to }) = (ok, &work) {
                out.push(Msg::WeightsSet {
                    service,
                    from: from.clone(),
                    to: to.clone(),
                    by,
                    log: vec![],
                    at,
                });
            }
            let outcome = if ok {
                StepOutcome::ok(vec!["done".into()])
            } else {
                StepOutcome::failed("it did not work", vec![])
            };
            out.push(Msg::StepDone {
                service,
                run,
                step,
                outcome,
                at,
            });
            out
        }
        Op::Weights { pick: i, ok } => {
            let Some(Effect::SetWeights { from, to, by, .. }) = pick(&mut w.weights, i, false)
            else {
                return vec![];
            };
            vec![if ok {
                Msg::WeightsSet {
                    service: 0,
                    from,
                    to,
                    by,
                    log: vec![],
                    at,
                }
            } else {
                Msg::WeightsFailed {
                    service: 0,
                    error: "the weights moved".into(),
                    log: vec![],
                    at,
                }
            }]
        }
        Op::Interrupted => {
            w.next_intent += 1;
            vec![Msg::Interrupted {
                actions: vec![Interrupted {
                    intent: w.next_intent,
                    at,
                    scope: "web".into(),
                    text: "switch traffic of web".into(),
                    operator: "ops@bastion".into(),
                    incident: None,
                    work: "switch-traffic".into(),
                    real: None,
                }],
                at,
            }]
        }
        Op::Real(i) => match pick(&mut w.checks, i, false) {
            Some(intent) => vec![Msg::RealState {
                intent,
                text: "blue 90 % · green 10 %".into(),
                at,
            }],
            None => vec![],
        },
        Op::Answer {
            approve,
            same_person,
            stale,
        } => (0..s.services.len())
            .filter_map(|i| {
                let step = s.services[i].rollback.checklist.as_ref()?.current()?;
                let StepStatus::AwaitingApproval { request, .. } = step.status else {
                    return None;
                };
                let person = if same_person {
                    s.person.clone()
                } else {
                    "bob@bastion".into()
                };
                Some(Msg::Shared {
                    rows: vec![crate::msg::Shared {
                        id: 1,
                        at,
                        scope: s.services[i].name.clone(),
                        operator: person.clone(),
                        session: "bob#2-2".into(),
                        vouched: Some(person.clone()),
                        person,
                        what: crate::msg::SharedWhat::Approval {
                            driver: s.session.clone(),
                            request: if stale {
                                request.saturating_sub(1)
                            } else {
                                request
                            },
                            act: if approve {
                                crate::msg::ApprovalAct::Approve
                            } else {
                                crate::msg::ApprovalAct::Reject("no".into())
                            },
                        },
                    }],
                    at,
                })
            })
            .collect(),
        Op::Rollback { service, auto } => {
            let env = if service == 0 { 1 } else { 0 };
            if s.services[service].envs.len() <= env {
                return vec![];
            }
            vec![Msg::Rollback {
                env: crate::model::EnvId { service, env },
                by: "ci@runner".into(),
                auto,
                at,
            }]
        }
    }
}

/// The change a preview request describes, as `y` would then send it.
fn asked_of(e: &Effect) -> Option<(u64, Asked)> {
    match e {
        Effect::Step {
            service,
            work: StepWork::PreviewSwitch { from, to, request },
            ..
        } => Some((
            *request,
            Asked::Step {
                service: *service,
                change: StepWork::Switch {
                    from: from.clone(),
                    to: to.clone(),
                },
            },
        )),
        Effect::Step {
            service,
            work:
                StepWork::PreviewRevert {
                    env,
                    expect,
                    to,
                    request,
                },
            ..
        } => Some((
            *request,
            Asked::Step {
                service: *service,
                change: StepWork::Revert {
                    env: env.clone(),
                    expect: expect.clone(),
                    to: to.clone(),
                },
            },
        )),
        Effect::PreviewWeights {
            from, to, request, ..
        } => Some((
            *request,
            Asked::Weights {
                service: 0,
                from: from.clone(),
                to: to.clone(),
            },
        )),
        _ => None,
    }
}

/// The request whose answer a preview on screen came from.
fn shown(lines: &[String]) -> Option<u64> {
    lines.first()?.strip_prefix("preview#")?.parse().ok()
}

/// Every rule of the promise, for one message and what it produced.
fn check(b: &Before, msg: &Msg, s: &State, fx: &[Effect], w: &Outside) -> Result<(), String> {
    let key = matches!(msg, Msg::Action(Action::Confirm, _));
    // Under the two-person rule a change runs on another person's approval
    // of the request it waits on, never on the driver's key alone.
    let approval = match msg {
        Msg::Shared { rows, .. } => rows.iter().find_map(|r| match &r.what {
            crate::msg::SharedWhat::Approval {
                request,
                act: crate::msg::ApprovalAct::Approve,
                ..
            } if r.person != s.person => Some(*request),
            _ => None,
        }),
        _ => None,
    };
    let confirm = key || approval.is_some();
    for e in fx.iter().filter(|e| e.mutates()) {
        if b.typing || s.ui.input.is_some() {
            return Err(format!("{e:?} while a line was typed"));
        }
        match e {
            Effect::SetWeights {
                service: name,
                from,
                to,
                ..
            } => {
                let service = &s
                    .services
                    .iter()
                    .position(|x| &x.name == name)
                    .ok_or_else(|| format!("{e:?} of no service"))?;
                let Some((ed_service, EditStage::Previewing(lines), ed_from)) = &b.editor else {
                    return Err(format!("{e:?} without a preview on screen"));
                };
                if !confirm || ed_service != service || ed_from != from {
                    return Err(format!("{e:?} is not the change confirmed"));
                }
                let asked = shown(lines).and_then(|r| w.asked.get(&r));
                let want = Asked::Weights {
                    service: *service,
                    from: from.clone(),
                    to: to.clone(),
                };
                if asked != Some(&want) {
                    return Err(format!("{e:?} differs from the preview shown ({asked:?})"));
                }
                if !b.weights[*service]
                    .as_ref()
                    .is_some_and(|now| now.unchanged_since(from))
                {
                    return Err(format!("{e:?} after the weights moved"));
                }
            }
            Effect::Step {
                service,
                run,
                step,
                work,
                ..
            } => {
                let c = s.services[*service]
                    .rollback
                    .checklist
                    .as_ref()
                    .filter(|c| c.run == *run)
                    .ok_or_else(|| format!("{e:?} of no checklist"))?;
                // An approval held while a line was typed counts as the
                // approval it is, when the line has closed.
                let approval = approval.or(b.approved_meanwhile[*service]);
                let confirm = key || approval.is_some();
                if confirm {
                    let two_person = super::room::needs_approval(s, *service, work);
                    let lines = match (&b.current[*service], approval) {
                        (Some((StepStatus::Previewing(lines), Some(_))), None) if !two_person => {
                            lines
                        }
                        (
                            Some((StepStatus::AwaitingApproval { lines, request, .. }, Some(_))),
                            Some(approved),
                        ) if *request == approved => lines,
                        (_, None) if two_person => {
                            return Err(format!(
                                "{e:?} on the driver's key alone under the two-person rule"
                            ));
                        }
                        _ => {
                            return Err(format!(
                                "{e:?} confirmed without a preview on screen (or its approval)"
                            ));
                        }
                    };
                    let Some((_, Some(pending))) = &b.current[*service] else {
                        return Err(format!("{e:?} without a pending change"));
                    };
                    if pending != work {
                        return Err(format!("{e:?} differs from the pending {pending:?}"));
                    }
                    match work {
                        StepWork::Switch { from, .. } => {
                            let asked = shown(lines).and_then(|r| w.asked.get(&r));
                            let want = Asked::Step {
                                service: *service,
                                change: work.clone(),
                            };
                            if asked != Some(&want) {
                                return Err(format!(
                                    "{e:?} differs from the preview shown ({asked:?})"
                                ));
                            }
                            if !b.weights[*service]
                                .as_ref()
                                .is_some_and(|now| now.unchanged_since(from))
                            {
                                return Err(format!("{e:?} after the weights moved"));
                            }
                        }
                        StepWork::Revert { expect, to, .. } => {
                            let asked = shown(lines).and_then(|r| w.asked.get(&r));
                            let want = Asked::Step {
                                service: *service,
                                change: work.clone(),
                            };
                            if asked != Some(&want) {
                                return Err(format!(
                                    "{e:?} differs from the preview shown ({asked:?})"
                                ));
                            }
                            let now = b.revisions[*service].clone();
                            if now.as_ref().map(|(c, p)| (Some(c), p))
                                != Some((expect.as_ref(), to))
                            {
                                return Err(format!("{e:?} after the revisions moved ({now:?})"));
                            }
                        }
                        // Messages and commands are previewed by core itself.
                        _ => {}
                    }
                } else {
                    // Not a person's key: auto mode, inside its guards, and
                    // never a change the two-person rule covers.
                    if !c.auto {
                        return Err(format!("{e:?} sent by itself in a guided checklist"));
                    }
                    if super::room::needs_approval(s, *service, work) {
                        return Err(format!("{e:?} by auto mode under the two-person rule"));
                    }
                    if !s.interrupted.is_empty() {
                        return Err(format!("{e:?} with interrupted changes unchecked"));
                    }
                    let svc = &s.services[*service];
                    if c.suspect != c.target {
                        let t = svc.envs[c.target].status;
                        if !matches!(t, Some(HealthStatus::Ok | HealthStatus::Degraded)) {
                            return Err(format!("{e:?} onto a target that is {t:?}"));
                        }
                    }
                    if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. }) {
                        // Done, and on their way, this one left out.
                        let mut counted: Vec<RollbackRecord> = svc.rollback.history.clone();
                        counted.extend(
                            svc.rollback
                                .in_flight
                                .iter()
                                .filter(|f| f.is_rollback() && !(f.run == *run && f.step == *step))
                                .map(|f| RollbackRecord {
                                    at: f.at,
                                    from: f.from.clone(),
                                    to: f.to.clone(),
                                    by: f.by.clone(),
                                }),
                        );
                        let p = &svc.rollback.policy;
                        let now = s.now;
                        if counted.iter().any(|r| now.since(r.at) < p.cooldown) {
                            return Err(format!("{e:?} inside the cooldown: {counted:?}"));
                        }
                        let recent = counted
                            .iter()
                            .filter(|r| now.since(r.at) < p.rollback_window)
                            .count();
                        if recent >= p.max_rollbacks as usize {
                            return Err(format!("{e:?} past the limit: {counted:?}"));
                        }
                    }
                }
            }
            _ => return Err(format!("{e:?}: an unexpected change")),
        }
    }
    // One rollback record for each switch or revert that succeeded, once.
    for (i, svc) in s.services.iter().enumerate() {
        let grew = svc.rollback.history.len() - b.history[i];
        let due = match msg {
            Msg::StepDone {
                service,
                run,
                step,
                outcome,
                ..
            } if *service == i && outcome.is_ok() => {
                usize::from(w.rollbacks.get(&(i, *run, *step)) == Some(&false))
            }
            _ => 0,
        };
        if grew != due {
            return Err(format!("{} rollback record(s) added, {due} due", grew));
        }
    }
    Ok(())
}

/// Record what `update` asked of the world.
fn remember(w: &mut Outside, fx: &[Effect]) {
    for e in fx {
        if let Some((request, asked)) = asked_of(e) {
            w.asked.insert(request, asked);
            w.previews.push((request, e.clone()));
            continue;
        }
        match e {
            Effect::Step {
                service,
                run,
                step,
                work,
                ..
            } => {
                if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. }) {
                    w.rollbacks.insert((*service, *run, *step), false);
                }
                // Re-probes answer by themselves, like the executor's.
                w.steps.push(e.clone());
            }
            Effect::SetWeights { .. } => w.weights.push(e.clone()),
            Effect::CheckReal { intent, .. } => w.checks.push(*intent),
            _ => {}
        }
    }
}

/// A world and the state `update` keeps of it, walked op by op with every
/// rule of the promise checked at each message.
struct Walk {
    s: State,
    w: Outside,
}

impl Walk {
    fn new(web: Mode, api: Mode) -> Self {
        Self::with(web, api, false)
    }

    /// As `new`, with web under the two-person rule when `two_person`.
    fn with(web: Mode, api: Mode, two_person: bool) -> Self {
        let mut walk = Walk {
            s: world(web, api, two_person),
            w: Outside {
                now: 1_000,
                ..Outside::default()
            },
        };
        let at = Ts(walk.w.now);
        let start = [
            Msg::TrafficRead {
                service: 0,
                result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
                at,
            },
            deploy_read(0, walk.w.now),
        ];
        for msg in start {
            let fx = update(&mut walk.s, msg);
            remember(&mut walk.w, &fx);
        }
        walk
    }

    /// Play `ops`; every effect `update` emitted, or the first broken rule.
    fn go(&mut self, ops: Vec<Op>) -> Result<Vec<Effect>, String> {
        let mut all = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            for msg in messages(op.clone(), &mut self.w, &self.s) {
                let b = before(&self.s);
                let fx = update(&mut self.s, msg.clone());
                check(&b, &msg, &self.s, &fx, &self.w)
                    .map_err(|why| format!("op {n} {op:?}, {msg:?}: {why}"))?;
                // The first answer is the outcome; a duplicate is old news.
                if let Msg::StepDone {
                    service, run, step, ..
                } = &msg
                    && let Some(answered) = self.w.rollbacks.get_mut(&(*service, *run, *step))
                {
                    *answered = true;
                }
                remember(&mut self.w, &fx);
                all.extend(fx);
            }
            self.w.now += 50;
        }
        Ok(all)
    }
}

fn play(web: Mode, api: Mode, two_person: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    Walk::with(web, api, two_person)
        .go(ops)
        .map(drop)
        .map_err(TestCaseError::fail)
}

/// A guided rollback of web brought to its switch step: green failing,
/// the checklist open, its checks and the message done.
fn at_the_switch() -> Vec<Op> {
    let probe = |env, status| Op::Probe {
        service: 0,
        env,
        status,
    };
    let step = Op::Step {
        pick: 0,
        ok: true,
        keep: false,
    };
    vec![
        probe(0, HealthStatus::Ok),
        probe(1, HealthStatus::Critical),
        probe(1, HealthStatus::Critical),
        probe(1, HealthStatus::Critical),
        Op::Key(Action::StartRollback),
        step.clone(),
        Op::Key(Action::OpenDetail),
        Op::Key(Action::OpenDetail),
        Op::Key(Action::Confirm),
        step,
    ]
}

/// Under the two-person rule: the switch previewed and confirmed, waiting
/// for a second person's approval.
fn to_the_approval() -> Vec<Op> {
    let mut ops = at_the_switch();
    ops.extend([
        Op::Key(Action::OpenDetail),
        Op::Preview {
            pick: 0,
            ok: true,
            keep: false,
        },
        Op::Key(Action::Confirm),
    ]);
    ops
}

/// What races a confirmation: previews asked again, answered late or twice,
/// the traffic moving, the clock.
fn racing() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::sample::select(vec![Action::OpenDetail, Action::Back, Action::Confirm])
            .prop_map(Op::Key),
        2 => (0..SPLITS.len()).prop_map(Op::Traffic),
        3 => (any::<usize>(), prop::bool::weighted(0.9), any::<bool>())
            .prop_map(|(pick, ok, keep)| Op::Preview { pick, ok, keep }),
        1 => (any::<usize>(), any::<bool>(), any::<bool>())
            .prop_map(|(pick, ok, keep)| Op::Step { pick, ok, keep }),
        1 => (0u32..5_000).prop_map(Op::Wait),
    ]
}

/// The weight dialog of web, a change chosen and its preview asked for.
fn in_the_dialog() -> Vec<Op> {
    vec![
        Op::Key(Action::SetWeights),
        Op::Key(Action::Increase),
        Op::Key(Action::OpenDetail),
    ]
}

/// What races the dialog's confirmation.
fn racing_the_dialog() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::sample::select(vec![
            Action::OpenDetail,
            Action::Increase,
            Action::Decrease,
            Action::Confirm,
            Action::Back,
            Action::SetWeights,
        ])
        .prop_map(Op::Key),
        2 => (0..SPLITS.len()).prop_map(Op::Traffic),
        3 => (any::<usize>(), prop::bool::weighted(0.9), any::<bool>())
            .prop_map(|(pick, ok, keep)| Op::Preview { pick, ok, keep }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ok)| Op::Weights { pick, ok }),
    ]
}

/// What races an approval: the confirmation's races, and answers from
/// other consoles.
fn racing_an_approval() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => racing(),
        2 => (any::<bool>(), prop::bool::weighted(0.3), prop::bool::weighted(0.2))
            .prop_map(|(approve, same_person, stale)| Op::Answer { approve, same_person, stale }),
    ]
}

fn modes() -> impl Strategy<Value = (Mode, Mode)> {
    let m = prop::sample::select(vec![Mode::Advise, Mode::Auto]);
    (m.clone(), m)
}

proptest! {
    // 256 worlds unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_confirmed_switch_is_the_one_previewed_last(ops in prop::collection::vec(racing(), 1..40)) {
        let walk = at_the_switch().into_iter().chain(ops).collect();
        play(Mode::Advise, Mode::Advise, false, walk)?;
    }

    /// The two-person rule: the switch runs only on another person's
    /// approval of the request it waits on, exactly as previewed, and never
    /// after the world moved — whatever keys, answers (the driver's own,
    /// stale ones, rejections) and moves race it.
    #[test]
    fn a_two_person_switch_runs_only_on_another_persons_approval(ops in prop::collection::vec(racing_an_approval(), 1..40)) {
        let walk = to_the_approval().into_iter().chain(ops).collect();
        play(Mode::Advise, Mode::Advise, true, walk)?;
    }

    #[test]
    fn a_confirmed_weight_change_is_the_one_previewed_last(ops in prop::collection::vec(racing_the_dialog(), 1..40)) {
        let walk = in_the_dialog().into_iter().chain(ops).collect();
        play(Mode::Advise, Mode::Advise, false, walk)?;
    }

    #[test]
    fn every_change_is_confirmed_or_guarded((web, api) in modes(), two_person in prop::bool::weighted(0.3), ops in prop::collection::vec(op(), 1..300)) {
        play(web, api, two_person, ops)?;
    }
}

// ---- the paths that slipped, one named test each ----

fn probe(service: usize, env: usize, status: HealthStatus) -> Op {
    Op::Probe {
        service,
        env,
        status,
    }
}

/// The oldest outstanding step's work succeeds.
const DONE: Op = Op::Step {
    pick: 0,
    ok: true,
    keep: false,
};

fn key(a: Action) -> Op {
    Op::Key(a)
}

fn typed(text: &str) -> Vec<Op> {
    text.chars()
        .map(|c| Op::Text(TextKey::Char(c)))
        .chain([Op::Text(TextKey::Submit)])
        .collect()
}

/// The switch is a person's now: Enter asks its provider for the preview
/// (and `y` would make it).
fn enter_previews_the_switch(walk: &mut Walk) {
    let fx = walk
        .go(vec![key(Action::OpenDetail)])
        .expect("the promise holds");
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
}

fn switches(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Step {
                    work: StepWork::Switch { .. },
                    ..
                }
            )
        })
        .count()
}

fn checklist(walk: &Walk, service: usize) -> &crate::runbook::Checklist {
    walk.s.services[service]
        .rollback
        .checklist
        .as_ref()
        .expect("a checklist")
}

/// Auto mode on web: green fails, the checklist starts by itself, its
/// re-probe and its message are done, and then blue fails too.
fn auto_with_a_failing_target() -> Walk {
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    ops.push(DONE); // the re-probe confirms; the message goes out by itself
    ops.push(probe(0, 0, HealthStatus::Critical));
    ops.push(DONE); // the message sent: "target healthy" fails
    walk.go(ops).expect("the promise holds");
    let c = checklist(&walk, 0);
    assert!(c.auto, "started by auto mode");
    assert!(
        matches!(c.current().map(|s| &s.status), Some(StepStatus::Failed(_))),
        "{:?}",
        c.current()
    );
    walk
}

#[test]
fn auto_mode_stops_after_a_skip_and_asks_a_person() {
    let mut walk = auto_with_a_failing_target();
    let mut ops = vec![key(Action::Skip)];
    ops.extend(typed("blue is only slow"));
    ops.push(Op::Wait(1_000));
    let fx = walk.go(ops).expect("the promise holds");
    assert_eq!(switches(&fx), 0, "no switch onto a critical blue: {fx:?}");
    let c = checklist(&walk, 0);
    assert!(!c.auto);
    assert_eq!(c.auto_stopped.as_deref(), Some("a person skipped a step"));
    assert_eq!(c.current().map(|s| &s.status), Some(&StepStatus::Current));
    // The switch is now a person's: previewed on Enter, made on y.
    enter_previews_the_switch(&mut walk);
}

#[test]
fn auto_mode_stops_after_a_retry_and_asks_a_person() {
    let mut walk = auto_with_a_failing_target();
    let ops = vec![probe(0, 0, HealthStatus::Ok), key(Action::OpenDetail)];
    let fx = walk.go(ops).expect("the promise holds");
    assert_eq!(switches(&fx), 0, "{fx:?}");
    let c = checklist(&walk, 0);
    assert_eq!(
        c.auto_stopped.as_deref(),
        Some("a person retried a failed step")
    );
    // The target check passed on retry; the switch waits for a person's Enter.
    assert!(fx.is_empty(), "{fx:?}");
    let c = checklist(&walk, 0);
    assert_eq!(c.current().map(|s| &s.status), Some(&StepStatus::Current));
    enter_previews_the_switch(&mut walk);
}

#[test]
fn auto_mode_never_switches_onto_a_target_that_failed_meanwhile() {
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    ops.extend([DONE, DONE]); // re-probe, message: "target healthy" passes
    let fx = walk.go(ops).expect("the promise holds");
    assert_eq!(switches(&fx), 1, "inside the guards auto mode switches");
    // The same again after the cooldown, with blue failing by then: the
    // guard is checked at the change, not only when the checklist opened.
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    ops.push(DONE);
    walk.go(ops).expect("the promise holds");
    // Blue fails between the target check and the switch.
    walk.s.services[0].envs[0].status = Some(HealthStatus::Critical);
    let fx = walk.go(vec![DONE]).expect("the promise holds");
    assert_eq!(switches(&fx), 0, "{fx:?}");
}

#[test]
fn nothing_acts_while_a_reason_is_typed() {
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    // X while the checklist moves on; its re-probe answers meanwhile.
    ops.extend([key(Action::Abort), DONE, Op::Wait(2_000), Op::Tick]);
    let fx = walk.go(ops).expect("the promise holds");
    assert!(fx.iter().all(|e| !e.mutates()), "{fx:?}");
    let mut ops = typed("wrong alarm, I am on it");
    ops.extend([Op::Wait(2_000), Op::Tick]);
    let fx = walk.go(ops).expect("the promise holds");
    assert!(fx.iter().all(|e| !e.mutates()), "{fx:?}");
    assert!(checklist(&walk, 0).ended.is_some(), "abandoned");
    assert!(walk.s.services[0].rollback.in_flight.is_empty());
}

#[test]
fn a_change_answered_after_its_checklist_is_gone_still_counts() {
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    ops.extend([DONE, DONE]);
    let fx = walk.go(ops).expect("the promise holds");
    assert_eq!(switches(&fx), 1);
    assert_eq!(walk.s.services[0].rollback.in_flight.len(), 1);
    // The guards count the switch on its way already.
    assert!(matches!(
        crate::decision::count_guard(
            &walk.s.services[0].rollback.policy,
            &walk.s.services[0].rollback.counted(),
            walk.s.now
        ),
        Err(crate::decision::Block::Cooldown { .. })
    ));
    // However its checklist ended meanwhile, the outcome is recorded.
    walk.s.services[0].rollback.checklist = None;
    walk.go(vec![DONE]).expect("the promise holds");
    let rb = &walk.s.services[0].rollback;
    assert_eq!(rb.history.len(), 1, "one rollback in the guards' count");
    assert!(rb.in_flight.is_empty());
}

#[test]
fn a_persons_request_is_guided_and_ends_with_its_checklist() {
    let mut walk = Walk::new(Mode::Auto, Mode::Advise);
    let ops = vec![
        probe(0, 0, HealthStatus::Ok),
        probe(0, 1, HealthStatus::Ok),
        key(Action::StartRollback),
    ];
    let fx = walk.go(ops).expect("the promise holds");
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::OpenIncident { auto: false, by, .. } if by == "ops@bastion")
        ),
        "r is a person's rollback, guided even in auto mode: {fx:?}"
    );
    assert!(!checklist(&walk, 0).auto);
    assert_eq!(walk.s.services[0].rollback.manual, None, "served");
    let mut ops = vec![key(Action::Abort)];
    ops.extend(typed("changed my mind"));
    // Long after any cooldown, a calm service is left alone.
    ops.extend(std::iter::repeat_n(Op::Wait(20_000), 40));
    ops.push(probe(0, 0, HealthStatus::Ok));
    let fx = walk.go(ops).expect("the promise holds");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::OpenIncident { .. })),
        "{fx:?}"
    );
}

#[test]
fn a_late_answer_to_an_earlier_preview_is_never_shown() {
    let mut walk = Walk::new(Mode::Advise, Mode::Advise);
    walk.go(at_the_switch()).expect("the promise holds");
    // Enter, Esc, the traffic moves, Enter again: two previews asked.
    let ops = vec![
        key(Action::OpenDetail),
        key(Action::Back),
        Op::Traffic(4),
        key(Action::OpenDetail),
    ];
    walk.go(ops).expect("the promise holds");
    assert_eq!(walk.w.previews.len(), 2);
    // The first answer comes last: it is not shown, and y does nothing.
    let fx = walk
        .go(vec![
            Op::Preview {
                pick: 0,
                ok: true,
                keep: false,
            },
            key(Action::Confirm),
        ])
        .expect("the promise holds");
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        checklist(&walk, 0).current().map(|s| &s.status),
        Some(&StepStatus::AwaitingPreview)
    );
    let fx = walk
        .go(vec![
            Op::Preview {
                pick: 0,
                ok: true,
                keep: false,
            },
            key(Action::Confirm),
        ])
        .expect("the promise holds");
    assert_eq!(switches(&fx), 1, "{fx:?}");
}

#[test]
fn a_revert_whose_revisions_moved_is_previewed_again() {
    let mut walk = Walk::new(Mode::Advise, Mode::Advise);
    let mut ops: Vec<Op> = std::iter::repeat_n(probe(1, 0, HealthStatus::Critical), 3).collect();
    ops.extend([
        Op::Rollback {
            service: 1,
            auto: false,
        },
        DONE,                    // the re-probe
        key(Action::SelectNext), // web/green
        key(Action::SelectNext), // api/prod: the checklist keys act on api
        key(Action::OpenDetail), // the manual step
        key(Action::OpenDetail), // the message, previewed
        key(Action::Confirm),
        DONE,
        key(Action::OpenDetail), // the revert, previewed from api:3 → api:2
        Op::Preview {
            pick: 0,
            ok: true,
            keep: false,
        },
        Op::Deploy(1), // someone deployed meanwhile: api:2 → api:1
        key(Action::Confirm),
    ]);
    let fx = walk.go(ops).expect("the promise holds");
    let last: Vec<&Effect> = fx.iter().rev().take(1).collect();
    assert!(
        matches!(
            last[..],
            [Effect::Step {
                work: StepWork::PreviewRevert { expect: Some(e), .. },
                ..
            }] if e == "api:2"
        ),
        "{last:?}"
    );
    assert!(
        !fx.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::Revert { .. },
                ..
            }
        )),
        "{fx:?}"
    );
}

#[test]
fn weights_wait_for_a_switch_on_its_way() {
    let mut walk = Walk::new(Mode::Advise, Mode::Advise);
    walk.go(at_the_switch()).expect("the promise holds");
    let ops = vec![
        key(Action::OpenDetail),
        Op::Preview {
            pick: 0,
            ok: true,
            keep: false,
        },
        key(Action::Confirm),
        key(Action::Back), // leave the checklist pane
        key(Action::SetWeights),
    ];
    let fx = walk.go(ops).expect("the promise holds");
    assert_eq!(switches(&fx), 1);
    assert_eq!(walk.s.ui.overlay, crate::model::Overlay::None);
    assert!(
        walk.s
            .events
            .last()
            .is_some_and(|e| e.text.contains("is on its way")),
        "{:?}",
        walk.s.events.last()
    );
}

#[test]
fn pasted_text_is_text_never_keys() {
    let mut walk = Walk::new(Mode::Advise, Mode::Advise);
    walk.go(at_the_switch()).expect("the promise holds");
    let paste = |t: &str| Op::Text(TextKey::Paste(t.into()));
    // No line open: ignored, whatever it holds.
    let fx = walk.go(vec![paste("y\nry\n")]).expect("the promise holds");
    assert!(fx.is_empty());
    // A line open: it fills the line and never submits it.
    let fx = walk
        .go(vec![key(Action::Skip), paste("flaky\nprobe\ty")])
        .expect("the promise holds");
    assert!(fx.is_empty());
    assert_eq!(
        walk.s.ui.input.as_ref().map(|i| i.text.as_str()),
        Some("flaky probe y")
    );
}

#[test]
fn a_read_only_console_never_acts() {
    let mut walk = Walk::new(Mode::Advise, Mode::Advise);
    for svc in &mut walk.s.services {
        svc.read_only = true;
    }
    let mut ops = vec![probe(0, 0, HealthStatus::Ok)];
    ops.extend(std::iter::repeat_n(probe(0, 1, HealthStatus::Critical), 3));
    ops.extend([
        key(Action::SelectNext),
        key(Action::StartRollback),
        key(Action::SetWeights),
        key(Action::OpenDetail),
        key(Action::Confirm),
    ]);
    let fx = walk.go(ops).expect("the promise holds");
    assert!(fx.is_empty(), "{fx:?}");
    assert!(walk.s.services[0].rollback.checklist.is_none());
    assert_eq!(
        walk.s.ui.overlay,
        crate::model::Overlay::Detail,
        "looking is allowed"
    );
    assert!(
        walk.s
            .events
            .iter()
            .any(|e| e.text == "read-only: this console watches web and acts on nothing")
    );
}

#[test]
fn under_the_two_person_rule_the_switch_waits_for_another_person() {
    let mut walk = Walk::with(Mode::Advise, Mode::Advise, true);
    let answer = |approve, same_person| Op::Answer {
        approve,
        same_person,
        stale: false,
    };
    let fx = walk.go(to_the_approval()).expect("the promise holds");
    assert!(
        !fx.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::Switch { .. },
                ..
            }
        )),
        "{fx:?}"
    );
    let status = checklist(&walk, 0).current().map(|s| s.status.clone());
    assert!(
        matches!(status, Some(StepStatus::AwaitingApproval { .. })),
        "the switch waits for an approval: {status:?}"
    );
    // The driver's own identity from another console: nothing moves.
    let fx = walk
        .go(vec![answer(true, true)])
        .expect("the promise holds");
    assert!(fx.iter().all(|e| !e.mutates()), "{fx:?}");
    // Another person: exactly the previewed switch runs.
    let fx = walk
        .go(vec![answer(true, false)])
        .expect("the promise holds");
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
}
