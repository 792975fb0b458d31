//! Comparison rules' trials: which environment is on trial against which
//! baseline, what each served since the trial began, and their comparison
//! (the statistics are `crate::compare`'s).

use crate::compare::{self, Metric, Outcome, Tally, Trial};
use crate::model::State;
use crate::rules::{CompareObservation, RuleKind};
use crate::time::Ts;

/// Bring every comparison rule of `service` up to date with `canary` on
/// trial; what each sees, by rule index (`None` for other rules).
pub(super) fn compare_all(
    state: &mut State,
    service: usize,
    canary: usize,
    now: Ts,
) -> Vec<Option<CompareObservation>> {
    let n = state.services[service].rollback.rules.len();
    (0..n)
        .map(|i| {
            let RuleKind::Compare {
                test,
                hold,
                baseline,
                ..
            } = state.services[service].rollback.rules[i].kind.clone()
            else {
                return None;
            };
            let env_name = |e: usize| {
                state.services[service]
                    .envs
                    .get(e)
                    .map_or_else(|| "?".to_string(), |e| e.name.clone())
            };
            let canary_name = env_name(canary);
            let setup = sides(state, service, canary, baseline.as_deref()).and_then(|(b, key)| {
                let c = tally(state, service, canary)?.clone();
                let t = tally(state, service, b)?.clone();
                Ok((b, env_name(b), key, c, t))
            });
            let rule = &mut state.services[service].rollback.rules[i];
            rule.env = canary;
            let (baseline_name, key, c_now, b_now) = match setup {
                Ok((_, name, key, c, b)) => (name, key, c, b),
                Err(why) => {
                    rule.trial = None;
                    return Some(CompareObservation {
                        comparison: Err(why),
                        failing: false,
                        still: false,
                        inconclusive_for: None,
                        canary: canary_name,
                        baseline: String::new(),
                    });
                }
            };
            // The evidence starts with the trial: a new canary, version,
            // share or baseline, or a source that started again, starts
            // a new one.
            let since = rule.trial.as_ref().filter(|t| t.key == key).and_then(|t| {
                Some((
                    c_now.since(&t.canary_start)?,
                    b_now.since(&t.baseline_start)?,
                ))
            });
            let (c, bl) = match since {
                Some(d) => d,
                None => {
                    let names = (canary_name.clone(), baseline_name.clone());
                    rule.trial = Some(Trial::new(key, names, now, c_now.clone(), b_now.clone()));
                    (Tally::default(), Tally::default())
                }
            };
            let trial = rule.trial.as_mut()?;
            let cmp = match test.metric {
                Metric::Errors => compare::errors(&c, &bl, test),
                Metric::Latency => compare::latency(&c, &bl, test),
            };
            if cmp.outcome == Outcome::Inconclusive {
                trial.inconclusive_since.get_or_insert(now);
            } else {
                trial.inconclusive_since = None;
            }
            trial.note_failures(now, c.errors, hold * 2);
            // Errors that stopped in the first half of the hold were a
            // burst; latency has no such test (its hold alone applies).
            let latency = test.metric == Metric::Latency;
            let failing = latency || trial.failed_within(now, hold * 2);
            let still = latency || trial.failed_within(now, hold / 2);
            trial.last = Some(cmp.clone());
            Some(CompareObservation {
                comparison: Ok(cmp),
                failing,
                still,
                inconclusive_for: trial.inconclusive_since.map(|s| now.since(s)),
                canary: canary_name,
                baseline: baseline_name,
            })
        })
        .collect()
}

/// The baseline of `canary` and the trial's key, or why there is none.
fn sides(
    state: &State,
    service: usize,
    canary: usize,
    baseline: Option<&str>,
) -> Result<(usize, String), String> {
    let svc = &state.services[service];
    let base = match baseline {
        Some(name) => svc
            .envs
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| format!("no environment {name} to compare with"))?,
        None => super::decisions::target_of(state, service, canary)
            .ok_or_else(|| "no other environment to compare with".to_string())?,
    };
    let (c, b) = (&svc.envs[canary], &svc.envs[base]);
    if base == canary {
        return Err(format!("{} is on trial and the baseline too", c.name));
    }
    let share = |name: &str| {
        svc.shares()
            .and_then(|s| s.iter().find(|(n, _)| n == name).map(|(_, p)| *p))
            .map_or_else(|| "?".to_string(), |p| p.to_string())
    };
    let key = format!(
        "{}@{} {} % vs {}@{} {} %",
        c.name,
        c.version.as_deref().unwrap_or("?"),
        share(&c.name),
        b.name,
        b.version.as_deref().unwrap_or("?"),
        share(&b.name)
    );
    Ok((base, key))
}

/// What `env` served: the traffic source's tally, else its probes'.
fn tally(state: &State, service: usize, env: usize) -> Result<&Tally, String> {
    let e = &state.services[service].envs[env];
    match &e.metrics.traffic {
        Some(t) => t.tally.as_ref().ok_or_else(|| {
            format!(
                "{} counts no requests one by one: nothing to compare",
                t.source
            )
        }),
        None => Ok(&e.metrics.probe_tally),
    }
}
