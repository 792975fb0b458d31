//! Deploy provider reads: what each environment's service points at and how
//! its rollout goes. Changes are logged (a new revision, a rollout that
//! completes or fails); a wait-stable step follows them.

use crate::deploy::{EnvDeploy, RolloutPhase};
use crate::events::{Detail, Event, Kind, Level};
use crate::model::{State, TimelineKind};
use crate::time::Ts;

pub(super) fn on_read(
    state: &mut State,
    service: usize,
    result: Result<Vec<EnvDeploy>, String>,
    at: Ts,
) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let name = svc.name.clone();
    let Some(d) = svc.deploy.as_mut() else {
        return;
    };
    let mut events: Vec<(Level, String, Option<Detail>)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    match result {
        Ok(envs) => {
            if let Some((e, _)) = d.error.take() {
                events.push((
                    Level::Good,
                    format!("deployments: {} readable again (was: {e})", d.provider),
                    None,
                ));
            }
            for new in &envs {
                let old = d.env(&new.env);
                let scope = format!("{}/{}", name, new.env);
                match old {
                    // The first read: what runs, not a change.
                    None => events.push((
                        Level::Info,
                        format!(
                            "{scope}: {} on {} ({})",
                            new.name,
                            new.current,
                            new.summary()
                        ),
                        None,
                    )),
                    Some(old) => {
                        if old.current != new.current {
                            events.push((
                                Level::Warn,
                                format!(
                                    "{scope}: {} now points at {} (was {})",
                                    new.name, new.current, old.current
                                ),
                                Some(Detail::Deploy {
                                    env: new.env.clone(),
                                    from: old.current.clone(),
                                    to: new.current.clone(),
                                }),
                            ));
                        }
                        // ECS's own deployment objects: each status it
                        // reaches is logged in its words (the why view
                        // shows an ECS rollback as ECS's, not ours).
                        if let Some(nd) = new.current_deployment()
                            && old.current_deployment().is_none_or(|od| {
                                od.arn != nd.arn || od.status != nd.status || od.stage != nd.stage
                            })
                        {
                            let level = match nd.status.as_str() {
                                "ROLLBACK_FAILED" | "STOPPED" => Level::Bad,
                                "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => Level::Warn,
                                "SUCCESSFUL" | "ROLLBACK_SUCCESSFUL" => Level::Good,
                                _ if nd.verdict().is_some() => Level::Bad,
                                _ => Level::Info,
                            };
                            let text =
                                format!("{scope}: ECS deployment {}: {}", nd.id(), nd.summary());
                            // ECS's verdicts go to the why view as evidence.
                            if let Some(v) = nd.verdict() {
                                notes.push(format!("{}: {}", new.env, v.text()));
                            }
                            events.push((level, text, None));
                        }
                        let (op, np) = (old.primary(), new.primary());
                        if let Some(np) = np
                            && op.is_none_or(|op| op.id != np.id || op.phase != np.phase)
                            && matches!(np.phase, RolloutPhase::Completed | RolloutPhase::Failed)
                        {
                            let level = if np.phase == RolloutPhase::Failed {
                                Level::Bad
                            } else {
                                Level::Good
                            };
                            let why = np
                                .reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default();
                            events.push((
                                level,
                                format!(
                                    "{scope}: rollout of {} {}{why}",
                                    np.revision,
                                    np.phase.word()
                                ),
                                None,
                            ));
                        }
                    }
                }
            }
            d.envs = envs;
            d.read_at = Some(at);
        }
        Err(e) => {
            if d.error.as_ref().is_none_or(|(old, _)| *old != e) {
                events.push((
                    Level::Bad,
                    format!("deployments: cannot read {}: {e}", d.provider),
                    None,
                ));
                let since = d.error.as_ref().map_or(at, |(_, s)| *s);
                d.error = Some((e, since));
            }
        }
    }
    if let Some(svc) = state.services.get_mut(service) {
        for n in notes {
            svc.rollback.note(at, TimelineKind::Evidence, n);
        }
    }
    for (level, text, detail) in events {
        state.events.push_event(Event {
            at,
            scope: name.clone(),
            text,
            level,
            kind: Kind::Deploy,
            detail,
        });
    }
}

/// The revision environment `env` of `service` points at, and the one a
/// revert goes back to, as last read.
pub(super) fn revisions(
    state: &State,
    service: usize,
    env: usize,
) -> Option<(String, Option<String>)> {
    let svc = state.services.get(service)?;
    let name = &svc.envs.get(env)?.name;
    let d = svc.deploy.as_ref()?.env(name)?;
    Some((d.current.clone(), d.previous.clone()))
}

#[cfg(test)]
mod tests {
    use crate::deploy::RolloutPhase::Completed;
    use crate::events::{Detail, Kind};
    use crate::update::testkit::*;

    /// The deploy events' details since event number `seen`.
    fn details(s: &crate::model::State, seen: u64) -> Vec<Option<Detail>> {
        s.events
            .since(seen)
            .filter(|e| e.kind == Kind::Deploy)
            .map(|e| e.detail.clone())
            .collect()
    }

    #[test]
    fn a_new_revision_carries_its_change_as_data_and_the_first_read_does_not() {
        let mut s = ecs_state();
        deployed(&mut s, 1_000, "web:1", &[("web:1", true, Completed, 2)]);
        // What runs when backstop starts is no change.
        assert_eq!(details(&s, 0), [None]);
        let seen = s.events.total();
        deployed(&mut s, 2_000, "web:2", &[("web:2", true, Completed, 2)]);
        let d = details(&s, seen);
        assert!(
            d.contains(&Some(Detail::Deploy {
                env: "prod".into(),
                from: "web:1".into(),
                to: "web:2".into(),
            })),
            "{d:?}"
        );
        // Read again unchanged: nothing more to count.
        let seen = s.events.total();
        deployed(&mut s, 3_000, "web:2", &[("web:2", true, Completed, 2)]);
        assert!(details(&s, seen).iter().all(Option::is_none));
    }
}

#[cfg(test)]
mod ecs_tests {
    use crate::decision::{Block, Decision};
    use crate::deploy::{
        Breaker, EnvDeploy, NativeRollback, Rollout, RolloutPhase, ServiceDeployment, Stability,
        Strategy,
    };
    use crate::msg::Msg;
    use crate::time::Ts;
    use crate::update::testkit::ecs_state;
    use crate::update::update;

    /// A service deployment in `status`, shaped as DescribeServiceDeployments
    /// reports one (AWS API reference), web:6 → web:7.
    fn deployment(status: &str, breaker: (&str, u32), reason: Option<&str>) -> ServiceDeployment {
        ServiceDeployment {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/r3Bt9kYEnKbRkyODxGeXz".into(),
            status: status.into(),
            reason: reason.map(str::to_string),
            stage: Some("SCALE_UP".into()),
            strategy: Strategy {
                kind: "ROLLING".into(),
                ..Strategy::default()
            },
            breaker: Some(Breaker {
                status: breaker.0.into(),
                failures: breaker.1,
                threshold: 3,
            }),
            rollback: reason
                .filter(|_| status.starts_with("ROLLBACK"))
                .map(|r| NativeRollback {
                    reason: Some(r.into()),
                    started: Some(Ts(1000)),
                    to: Some("4021356612845431".into()),
                }),
            source_task: Some("web:6".into()),
            target_task: Some("web:7".into()),
            ..ServiceDeployment::default()
        }
    }

    fn read(s: &mut crate::model::State, at: i64, current: &str, d: ServiceDeployment) {
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
            previous: Some("web:6".into()),
            history: vec!["web:6".into(), "web:7".into()],
            deployments: vec![d],
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

    fn reasons(d: &Decision) -> Vec<String> {
        match d {
            Decision::RollbackRecommended { reasons, .. } | Decision::Blocked { reasons, .. } => {
                reasons.clone()
            }
            _ => vec![],
        }
    }

    #[test]
    fn an_ecs_rollback_under_way_is_shown_as_ecs_and_never_fought() {
        let mut s = ecs_state();
        read(
            &mut s,
            1000,
            "web:7",
            deployment("IN_PROGRESS", ("MONITORING", 1), None),
        );
        assert_eq!(s.services[0].rollback.decision, Decision::Healthy);
        read(
            &mut s,
            2000,
            "web:7",
            deployment(
                "ROLLBACK_IN_PROGRESS",
                ("TRIGGERED", 3),
                Some("Circuit breaker triggered rollback"),
            ),
        );
        let d = s.services[0].rollback.decision.clone();
        let Decision::Blocked {
            block: Block::PlatformActing { what },
            ..
        } = &d
        else {
            panic!("expected ECS's rollback to block ours, got {d:?}");
        };
        assert!(what.contains("ECS is rolling back"), "{what}");
        assert!(what.contains("3 of 3 tasks failed"), "{what}");
        // The operator's request is refused while ECS acts.
        update(
            &mut s,
            Msg::Rollback {
                env: crate::model::EnvId { service: 0, env: 0 },
                by: "ops@bastion".into(),
                auto: false,
                at: Ts(2100),
            },
        );
        assert!(s.services[0].rollback.checklist.is_none());
        let log: Vec<String> = s.events.iter().map(|e| e.text.clone()).collect();
        assert!(
            log.iter()
                .any(|t| t.contains("ECS deployment r3Bt9kYEnKbRkyODxGeXz: ROLLBACK_IN_PROGRESS")),
            "{log:?}"
        );
        assert!(
            log.iter().any(|t| t.contains("does not fight it")),
            "{log:?}"
        );
        // The why view: ECS's verdict as evidence, then the decision.
        let why: Vec<(crate::model::TimelineKind, String)> = s.services[0]
            .rollback
            .timeline
            .iter()
            .map(|e| (e.kind, e.text.clone()))
            .collect();
        assert!(
            why.iter()
                .any(|(k, t)| *k == crate::model::TimelineKind::Evidence
                    && t.starts_with(
                        "prod: ECS is rolling back (Circuit breaker triggered rollback"
                    )),
            "{why:?}"
        );
    }

    #[test]
    fn a_tripped_breaker_or_a_failed_ecs_rollback_is_evidence_that_fires() {
        let mut s = ecs_state();
        read(
            &mut s,
            1000,
            "web:7",
            deployment("IN_PROGRESS", ("TRIGGERED", 3), None),
        );
        let d = s.services[0].rollback.decision.clone();
        assert!(matches!(d, Decision::RollbackRecommended { .. }), "{d:?}");
        assert!(
            reasons(&d)[0].starts_with(
                "prod: ECS deployment verdict: failed (circuit breaker tripped: 3 of 3"
            ),
            "{d:?}"
        );

        let mut s = ecs_state();
        read(
            &mut s,
            1000,
            "web:7",
            deployment(
                "ROLLBACK_FAILED",
                ("TRIGGERED", 3),
                Some("Service deployment rollback failed: tasks of web:6 failed to start"),
            ),
        );
        let d = s.services[0].rollback.decision.clone();
        assert!(matches!(d, Decision::RollbackRecommended { .. }), "{d:?}");
        assert!(
            reasons(&d)[0].contains("ECS's rollback failed (Service deployment rollback failed")
        );
    }

    #[test]
    fn a_finished_ecs_rollback_is_stable_and_calls_for_nothing() {
        let mut s = ecs_state();
        let done = deployment(
            "ROLLBACK_SUCCESSFUL",
            ("TRIGGERED", 3),
            Some("Circuit breaker triggered rollback"),
        );
        read(&mut s, 1000, "web:6", done.clone());
        assert_eq!(s.services[0].rollback.decision, Decision::Healthy);
        let env = s.services[0]
            .deploy
            .as_ref()
            .and_then(|d| d.env("prod"))
            .cloned();
        assert_eq!(env.map(|e| e.stability()), Some(Stability::Stable));
        let mut failed = done;
        failed.status = "ROLLBACK_FAILED".into();
        let e = EnvDeploy {
            env: "prod".into(),
            name: "web".into(),
            current: "web:7".into(),
            rollouts: vec![],
            previous: None,
            history: vec![],
            deployments: vec![failed],
            deployments_error: None,
        };
        assert_eq!(
            e.stability(),
            Stability::Failed(
                "ECS's rollback failed: Circuit breaker triggered rollback; circuit breaker tripped: 3 of 3 tasks failed"
                    .into()
            )
        );
    }
}
