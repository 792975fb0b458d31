//! A rollback as it would go, changing nothing (`backstop rollback
//! --dry-run`): the checklist asked for on a copy of the state.

use crate::model::{EnvId, State};
use crate::runbook::{Act, Checklist, StepKind, StepWork};
use crate::time::Ts;
use crate::traffic::rollback_weights;

use super::checklist::message;

/// A rollback of `env`'s service as it would go, changing nothing: the
/// checklist it would follow and, for each step that changes the world,
/// what to ask its provider to preview (`backstop rollback --dry-run`).
/// `Err` says why no checklist would start (a guard, a decision of off).
pub fn plan(
    state: &State,
    env: EnvId,
    now: Ts,
) -> Result<(Checklist, Vec<(usize, StepWork)>), String> {
    let mut s = state.clone();
    let seen = s.events.total();
    let by = s.operator.clone();
    let _ = super::request::request_rollback(&mut s, env, by, false, now);
    let Some(c) = s.services[env.service].rollback.checklist.clone() else {
        let why = s
            .events
            .since(seen)
            .last()
            .map_or_else(|| "no rollback would start".to_string(), |e| e.text.clone());
        return Err(why);
    };
    let svc = &s.services[env.service];
    let (sname, tname) = (
        svc.envs[c.suspect].name.clone(),
        svc.envs[c.target].name.clone(),
    );
    let mut works = Vec::new();
    for (i, step) in c.steps.iter().enumerate() {
        let work = match &step.spec.kind {
            StepKind::Action(Act::SwitchTraffic) => svc
                .traffic
                .as_ref()
                .and_then(|t| t.weights.clone())
                .map(|from| StepWork::PreviewSwitch {
                    to: rollback_weights(&from, &sname, &tname),
                    from,
                    request: 0,
                }),
            StepKind::Action(Act::RevertDeployment) => {
                let (expect, to) = crate::update::deploy::revisions(&s, env.service, c.suspect)
                    .map_or((None, None), |(cur, prev)| (Some(cur), prev));
                Some(StepWork::PreviewRevert {
                    env: sname.clone(),
                    expect,
                    to,
                    request: 0,
                })
            }
            StepKind::Action(Act::Notify { template }) => Some(StepWork::Notify {
                template: *template,
                text: message(&s, env.service, *template, now),
            }),
            StepKind::Action(Act::StatusPage { status }) => Some(StepWork::StatusPage {
                status: *status,
                text: status.text(
                    s.status_page
                        .as_ref()
                        .map_or(svc.name.as_str(), |v| v.public_name(&svc.name)),
                ),
            }),
            StepKind::Action(Act::Command { argv, timeout }) => Some(StepWork::Command {
                argv: argv.clone(),
                timeout: *timeout,
                env: tname.clone(),
            }),
            StepKind::Action(Act::MigrateDown { argv, timeout }) => {
                crate::migration::plan_undo(s.services[env.service].database.as_ref())
                    .ok()
                    .flatten()
                    .map(|u| StepWork::MigrateDown {
                        argv: argv.clone(),
                        timeout: *timeout,
                        from: u.migration.version,
                        to: u.to,
                    })
            }
            _ => None,
        };
        if let Some(w) = work {
            works.push((i, w));
        }
    }
    Ok((c, works))
}
