//! Deploy provider reads: what each environment's service points at and how
//! its rollout goes. Changes are logged (a new revision, a rollout that
//! completes or fails); a wait-stable step follows them.

use crate::deploy::{EnvDeploy, RolloutPhase};
use crate::events::{Kind, Level};
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
    let mut events: Vec<(Level, String)> = Vec::new();
    match result {
        Ok(envs) => {
            if let Some((e, _)) = d.error.take() {
                events.push((
                    Level::Good,
                    format!("deployments: {} readable again (was: {e})", d.provider),
                ));
            }
            for new in &envs {
                let old = d.env(&new.env);
                let scope = format!("{}/{}", name, new.env);
                match old {
                    None => events.push((
                        Level::Info,
                        format!(
                            "{scope}: {} on {} ({})",
                            new.name,
                            new.current,
                            new.summary()
                        ),
                    )),
                    Some(old) => {
                        if old.current != new.current {
                            events.push((
                                Level::Warn,
                                format!(
                                    "{scope}: {} now points at {} (was {})",
                                    new.name, new.current, old.current
                                ),
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
                ));
                let since = d.error.as_ref().map_or(at, |(_, s)| *s);
                d.error = Some((e, since));
            }
        }
    }
    for (level, text) in events {
        state
            .events
            .push_kind(at, name.clone(), level, Kind::Deploy, text);
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
