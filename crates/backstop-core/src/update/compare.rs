//! Comparison rules' trials: which environment is on trial against which
//! baseline, what each served since the trial began, and their comparison
//! (the statistics are `crate::compare`'s).

use crate::compare::{self, Metric, Outcome, Tally, Trial, Uncompared};
use crate::model::State;
use crate::rules::{CompareObservation, RuleKind};
use crate::time::Ts;

/// Bring every comparison rule of `service` up to date with `canary` on
/// trial against `target` (where a rollback would go) unless a rule names
/// its baseline; what each sees, by rule index (`None` for other rules).
pub(super) fn compare_all(
    state: &mut State,
    service: usize,
    canary: usize,
    target: Option<usize>,
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
            let setup =
                sides(state, service, canary, target, baseline.as_deref()).and_then(|(b, key)| {
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
            // The evidence starts with the trial: new shares, another
            // canary or baseline, or a source that started again, start a
            // new one.
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
                    rule.trial = Some(Trial::new(key, names, now, c_now, b_now));
                    (Tally::default(), Tally::default())
                }
            };
            let trial = rule.trial.as_mut()?;
            // Judged again only when either side served more: the rules are
            // evaluated at every probe answer and tick, the tallies move
            // once a metrics poll.
            let served = (c.requests, bl.requests);
            let cmp = match trial.last.as_ref().filter(|_| trial.served == served) {
                Some(last) => last.clone(),
                None => match test.metric {
                    Metric::Errors => compare::errors(&c, &bl, test),
                    Metric::Latency => compare::latency(&c, &bl, test),
                },
            };
            trial.served = served;
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
    target: Option<usize>,
    baseline: Option<&str>,
) -> Result<(usize, String), Uncompared> {
    let svc = &state.services[service];
    let base = match baseline {
        Some(name) => svc
            .envs
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| Uncompared::NoSuchBaseline(name.to_string()))?,
        None => target.ok_or(Uncompared::NoBaseline)?,
    };
    let (c, b) = (&svc.envs[canary], &svc.envs[base]);
    if base == canary {
        return Err(Uncompared::OnTrialItself(c.name.clone()));
    }
    // Side by side, or not at all: a live environment against an idle
    // one measures the load, not the release.
    let share = |name: &str| {
        svc.shares()
            .and_then(|s| s.iter().find(|(n, _)| n == name).map(|(_, p)| *p))
            .unwrap_or(0)
    };
    let (cs, bs) = (share(&c.name), share(&b.name));
    if cs == 0 || bs == 0 {
        let (idle, other) = if bs == 0 { (b, c) } else { (c, b) };
        return Err(Uncompared::NotSideBySide(
            idle.name.clone(),
            other.name.clone(),
        ));
    }
    // The shares, not the versions the probes read: during a rolling
    // deploy those change from answer to answer, and each change would
    // throw the evidence away. A new canary release starts at new shares.
    let key = format!("{} {cs} % vs {} {bs} %", c.name, b.name);
    Ok((base, key))
}

/// What `env` served, as the traffic source counted it.
fn tally(state: &State, service: usize, env: usize) -> Result<&Tally, Uncompared> {
    let e = &state.services[service].envs[env];
    match &e.metrics.traffic {
        Some(t) => t
            .tally
            .as_ref()
            .ok_or_else(|| Uncompared::NoTally(t.source.clone())),
        None => Err(Uncompared::NoTraffic),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::update::testkit::*;

    use crate::compare::{Direction, Metric, Tally, Test};
    use crate::decision::{Decision, Policy};
    use crate::metrics::WindowStats;
    use crate::msg::{Effect, EnvSnapshot, Msg};
    use crate::rules::{RuleKind, RuleStatus};
    use crate::time::Ts;

    fn errors_rule() -> RuleKind {
        RuleKind::Compare {
            test: Test {
                metric: Metric::Errors,
                min_effect: 0.01,
                confidence: 0.95,
                direction: Direction::Increase,
            },
            hold: Duration::from_secs(15),
            inconclusive_after: Duration::from_secs(60),
            baseline: None,
        }
    }

    fn only(rule: RuleKind, dry_run: bool) -> Policy {
        let (rules, dry) = if dry_run {
            (vec![], vec![rule])
        } else {
            (vec![rule], vec![])
        };
        Policy {
            rules,
            dry_run: dry,
            ..Policy::default()
        }
    }

    /// The sandbox's traffic, second by second: blue (90 %) never fails,
    /// green (10 %) fails where `fails(second, n)` says.
    struct Traffic {
        blue: Tally,
        green: Tally,
        /// Blue fails every this many of its requests (0: never).
        blue_fails_every: u64,
    }

    impl Traffic {
        fn second(
            &mut self,
            s: &mut crate::model::State,
            sec: i64,
            green_fails: bool,
        ) -> Vec<Effect> {
            for _ in 0..18 {
                let n = self.blue.requests + 1;
                let fails = self.blue_fails_every > 0 && n.is_multiple_of(self.blue_fails_every);
                self.blue.record(20.0, fails);
            }
            self.green.record(20.0, green_fails);
            self.green.record(20.0, false);
            let snap = |env, tally: &Tally| EnvSnapshot {
                service: 0,
                env,
                one_min: WindowStats::default(),
                five_min: WindowStats::default(),
                extra: vec![],
                tally: Some(tally.clone()),
            };
            update(
                s,
                Msg::Metrics {
                    source: "sandbox traffic".into(),
                    snapshots: vec![snap(0, &self.blue), snap(1, &self.green)],
                    at: Ts(sec * 1000),
                },
            )
        }
    }

    fn status(s: &crate::model::State) -> RuleStatus {
        s.services[0]
            .rollback
            .rules
            .iter()
            .find(|r| r.kind.name() == "compare errors")
            .map(|r| r.status)
            .unwrap()
    }

    /// Both environments' health verified (blue is a safe target).
    fn traffic(s: &mut crate::model::State) -> Traffic {
        for env in [0, 1] {
            probe(s, env, 500, crate::health::HealthStatus::Ok);
        }
        Traffic {
            blue: Tally::default(),
            green: Tally::default(),
            blue_fails_every: 0,
        }
    }

    #[test]
    fn a_canary_that_keeps_failing_fires_after_its_hold() {
        let mut s = state(only(errors_rule(), false));
        let mut t = traffic(&mut s);
        for sec in 1..=30 {
            t.second(&mut s, sec, false);
        }
        assert_eq!(status(&s), RuleStatus::Ok);
        // One failure in ten of green's requests (blue: none) from 31 s.
        let mut fired = None;
        for sec in 31..=90 {
            t.second(&mut s, sec, sec % 5 == 0);
            if fired.is_none() && status(&s) == RuleStatus::Firing {
                fired = Some(sec);
            }
        }
        let fired = fired.expect("the comparison fired");
        assert!((45..=60).contains(&fired), "fired at {fired} s");
        assert!(matches!(
            decision(&s),
            Decision::RollbackRecommended { suspect: 1, .. }
        ));
        // The why view's evidence explains it in numbers.
        let evidence = &s.services[0].rollback.rules[0].evidence;
        let last = &evidence.back().unwrap().text;
        assert!(
            last.starts_with("web/green: green failed ") && last.contains("sequential interval"),
            "{last}"
        );
    }

    /// A burst (every request of green failing for 5 s) is surely worse,
    /// but it stopped: it never fires, and the rule rests once it is two
    /// holds past.
    #[test]
    fn a_burst_that_stopped_never_fires() {
        let mut s = state(only(errors_rule(), false));
        let mut t = traffic(&mut s);
        for sec in 1..=30 {
            t.second(&mut s, sec, false);
        }
        let mut worst = RuleStatus::Ok;
        for sec in 31..=120 {
            t.second(&mut s, sec, sec <= 35);
            worst = worst.max(status(&s));
        }
        assert_eq!(worst, RuleStatus::Pending, "seen, never fired");
        assert_eq!(status(&s), RuleStatus::Ok);
        assert_eq!(decision(&s), &Decision::Healthy);
        assert!(
            s.events
                .iter()
                .any(|e| e.text.contains("rule compare errors pending: worse")),
            "the burst was seen"
        );
    }

    /// On probation the rule fires, says so and journals it, and the
    /// decision does not move.
    #[test]
    fn a_dry_run_rule_fires_without_deciding() {
        let mut s = state(only(errors_rule(), true));
        let mut t = traffic(&mut s);
        let mut journaled = Vec::new();
        for sec in 1..=90 {
            for fx in t.second(&mut s, sec, sec > 30 && sec % 5 == 0) {
                if let Effect::DryRun { rule, firing, .. } = fx {
                    journaled.push((rule, firing));
                }
            }
        }
        assert_eq!(status(&s), RuleStatus::Firing);
        assert_eq!(decision(&s), &Decision::Healthy);
        assert_eq!(journaled, vec![("compare errors".to_string(), true)]);
        assert!(
            s.events
                .iter()
                .any(|e| e.text.starts_with("(dry run) rule compare errors FIRING")),
            "said as a dry run"
        );
    }

    /// Inconclusive for longer than its time asks a person: the rule waits
    /// (pending), the decision watches and says why; it never rolls back.
    #[test]
    fn inconclusive_too_long_asks_a_person() {
        let mut s = state(only(errors_rule(), false));
        let mut t = traffic(&mut s);
        // Neither fails, but green has served too little for its rate to
        // be surely under a point.
        for sec in 1..=100 {
            t.second(&mut s, sec, false);
        }
        let r = &s.services[0].rollback.rules[0];
        assert_eq!(r.status, RuleStatus::Pending, "{:?}", r.observed);
        assert!(
            r.note
                .as_deref()
                .is_some_and(|n| n.contains("a person decides")),
            "{:?}",
            r.note
        );
        match decision(&s) {
            Decision::Watch { reasons, .. } => {
                assert!(
                    reasons[0].contains("compare errors inconclusive"),
                    "{reasons:?}"
                )
            }
            d => panic!("{d:?}"),
        }
    }

    /// New shares (a canary step, or a rollback) start a new trial: the
    /// old evidence does not carry over; with one side idle there is
    /// nothing to compare.
    #[test]
    fn a_new_trial_starts_from_nothing() {
        let mut s = state(only(errors_rule(), false));
        let mut t = traffic(&mut s);
        for sec in 1..=60 {
            t.second(&mut s, sec, sec > 30 && sec % 5 == 0);
        }
        let since = s.services[0].rollback.rules[0]
            .trial
            .as_ref()
            .unwrap()
            .since;
        let weights = |blue, green| Msg::TrafficRead {
            service: 0,
            result: Ok(crate::traffic::Weights::from_percents([
                ("blue", blue),
                ("green", green),
            ])),
            at: Ts(61_000),
        };
        update(&mut s, weights(75, 25));
        t.second(&mut s, 61, false);
        let trial = s.services[0].rollback.rules[0].trial.as_ref().unwrap();
        assert!(trial.since > since);
        assert_eq!(trial.key, "green 25 % vs blue 75 %");
        assert_eq!(status(&s), RuleStatus::Ok);
        update(&mut s, weights(100, 0));
        t.second(&mut s, 62, false);
        let r = &s.services[0].rollback.rules[0];
        assert_eq!((r.status, r.trial.is_none()), (RuleStatus::Ok, true));
        assert_eq!(r.observed, "no data");
        assert_eq!(
            r.note.as_deref(),
            Some("green takes no traffic beside blue: nothing to compare")
        );
    }

    /// Noise: green fails one request in fifty, as blue does. Ten minutes
    /// of it never fire; the same failures beside a blue that never fails do.
    #[test]
    fn failures_alike_on_both_sides_are_noise() {
        let run = |blue_fails_every| {
            let mut s = state(only(errors_rule(), false));
            let mut t = traffic(&mut s);
            t.blue_fails_every = blue_fails_every;
            let mut worst = RuleStatus::Ok;
            for sec in 1..=600 {
                t.second(&mut s, sec, sec % 25 == 0);
                worst = worst.max(status(&s));
            }
            assert_eq!(t.green.errors, 24, "green failed, one in fifty");
            worst
        };
        assert_ne!(run(50), RuleStatus::Firing, "alike: noise");
        assert_eq!(run(0), RuleStatus::Firing, "beside a blue that never fails");
    }
}
