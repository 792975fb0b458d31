//! The severity the evidence proposes, before a person declares one
//! (`:sev 1 because …`). The proposal is marked as such (`SEV2?`) until then.
//!
//! - **1** — production is down: every environment of the service fails,
//!   or every probe of the one users are on (the emergency rollback's rule);
//! - **2** — rules fire on the environment users are on;
//! - **3** — a canary (an environment with a minority of the traffic), or
//!   only latency rules fire.

use crate::comms::Severity;
use crate::model::ServiceState;
use crate::rollback_type::{production_down, users_on};
use crate::rules::{RuleKind, RuleStatus};
use crate::time::Ts;

pub fn propose(svc: &ServiceState, suspect: usize, now: Ts) -> Severity {
    let proposed = |level, why: String| Severity {
        level,
        why: format!("rule: {why}"),
        by: None,
        at: now,
    };
    if let Some(why) = production_down(svc, suspect) {
        return proposed(1, why);
    }
    let Some(env) = svc.envs.get(suspect) else {
        return proposed(3, "no environment is incriminated".into());
    };
    let firing: Vec<&RuleKind> = svc
        .rollback
        .rules
        .iter()
        .filter(|r| r.env == suspect && r.status == RuleStatus::Firing && !r.dry_run)
        .map(|r| &r.kind)
        .collect();
    let names = || {
        let mut n: Vec<String> = firing.iter().map(|k| k.name()).collect();
        n.dedup();
        n.join(", ")
    };
    if !users_on(svc, suspect) {
        let share = svc.share(suspect).unwrap_or(0);
        return proposed(
            3,
            format!("{} takes {share} % of the traffic (a canary)", env.name),
        );
    }
    let slow = |k: &&RuleKind| match k {
        RuleKind::Latency { .. } => true,
        RuleKind::Compare { test, .. } => test.metric == crate::compare::Metric::Latency,
        _ => false,
    };
    if !firing.is_empty() && firing.iter().all(slow) {
        return proposed(
            3,
            format!("only latency rules fire on {} ({})", env.name, names()),
        );
    }
    let users = svc
        .share(suspect)
        .map_or_else(String::new, |p| format!(" ({p} % of traffic)"));
    match firing.is_empty() {
        true => proposed(
            2,
            format!("a rollback of {}{users} was asked for", env.name),
        ),
        false => proposed(
            2,
            format!("{} firing on {}{users}, where users are", names(), env.name),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthStatus;
    use crate::model::{EnvState, TrafficState};
    use crate::rules::RuleState;
    use crate::traffic::Weights;

    fn service(split: Option<(u32, u32)>) -> ServiceState {
        let envs = ["blue", "green"]
            .iter()
            .map(|n| EnvState::new(*n, vec![]))
            .collect();
        let traffic = split.map(|(b, g)| TrafficState {
            weights: Some(Weights::from_percents([("blue", b), ("green", g)])),
            ..TrafficState::new("sandbox", "t")
        });
        ServiceState::new(
            "web",
            envs,
            traffic,
            crate::decision::Policy::default(),
            crate::testkit::default_runbook(),
            Ts(0),
        )
    }

    fn firing(svc: &mut ServiceState, kind: RuleKind) {
        let mut r = RuleState::new(kind, 1, Ts(0));
        r.status = RuleStatus::Firing;
        svc.rollback.rules.push(r);
    }

    fn latency() -> RuleKind {
        RuleKind::Latency {
            percentile: crate::metrics::Percentile::P95,
            limit: crate::rules::LatencyLimit::Absolute(500.0),
            window: std::time::Duration::from_secs(60),
            hold: std::time::Duration::from_secs(30),
            min_requests: 10,
            floor_ms: 0.0,
        }
    }

    #[test]
    fn production_down_is_one() {
        let mut s = service(None);
        for e in &mut s.envs {
            e.status = Some(HealthStatus::Unreachable);
        }
        let p = propose(&s, 1, Ts(0));
        assert_eq!((p.level, p.by.as_deref()), (1, None), "{}", p.why);
        assert!(p.why.contains("every environment of web"), "{}", p.why);
        assert_eq!(p.label(), "SEV1?");
    }

    #[test]
    fn rules_on_the_live_environment_are_two_latency_alone_is_three() {
        let mut s = service(Some((0, 100)));
        firing(
            &mut s,
            RuleKind::HealthFailures {
                count: 3,
                confirm: 1,
            },
        );
        firing(&mut s, latency());
        let p = propose(&s, 1, Ts(0));
        assert_eq!(p.level, 2, "{}", p.why);
        assert!(
            p.why.contains("(100 % of traffic), where users are"),
            "{}",
            p.why
        );

        let mut s = service(Some((0, 100)));
        firing(&mut s, latency());
        let p = propose(&s, 1, Ts(0));
        assert_eq!(p.level, 3, "{}", p.why);
        assert!(p.why.contains("only latency rules"), "{}", p.why);
    }

    #[test]
    fn a_canary_is_three_and_a_request_on_the_live_one_is_two() {
        let mut s = service(Some((95, 5)));
        firing(
            &mut s,
            RuleKind::HealthFailures {
                count: 3,
                confirm: 1,
            },
        );
        let p = propose(&s, 1, Ts(0));
        assert_eq!(p.level, 3, "{}", p.why);
        assert!(
            p.why.contains("green takes 5 % of the traffic"),
            "{}",
            p.why
        );

        let p = propose(&service(None), 1, Ts(0));
        assert_eq!(p.level, 2, "{}", p.why);
        assert!(p.why.contains("was asked for"), "{}", p.why);
    }
}
