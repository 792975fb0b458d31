//! Deploy provider reads: what each environment's service points at and how
//! its rollout goes. Changes are logged (a new revision, a rollout that
//! completes or fails); a wait-stable step follows them.

use crate::deploy::{EnvDeploy, RolloutPhase};
use crate::events::{Detail, Event, Kind, Level};
use crate::model::State;
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
