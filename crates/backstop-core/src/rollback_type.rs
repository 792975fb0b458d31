//! Which of reference 003's three rollbacks a failure calls for. The rule is
//! read in the checklist's header and the why view; a person may change the
//! answer before the first change (`:type standard`).
//!
//! - **emergency** — production is down: every environment of the service
//!   fails, or every probe of the environment users are on fails (refused,
//!   5xx, timeout);
//! - **standard** — the release changed the database in a way the old code
//!   cannot read (reference 004's rule), or left its schema dirty: the
//!   database is part of the rollback;
//! - **immediate** — otherwise: the release alone is at fault, and moving
//!   users back to the previous version undoes it.

use crate::model::{Role, ServiceState};
use crate::runbook::{RollbackType, Typed};

/// The share of traffic from which an environment is "where users are".
const LIVE_SHARE: u32 = 50;

/// Whether users are on environment `env`: half the traffic or more, or —
/// the split not known, or no traffic provider to split it — assumed so.
pub fn users_on(svc: &ServiceState, env: usize) -> bool {
    svc.share(env).is_none_or(|p| p >= LIVE_SHARE)
}

/// Why production is down, if it is: every environment of the service
/// fails, or every probe of `suspect`, where users are, fails. The rule of
/// the emergency rollback and of severity 1.
pub fn production_down(svc: &ServiceState, suspect: usize) -> Option<String> {
    let failing = |e: &crate::model::EnvState| e.status.is_some_and(|s| s.is_failure());
    if !svc.envs.is_empty() && svc.envs.iter().all(failing) {
        return Some(format!("every environment of {} is failing", svc.name));
    }
    let env = svc.envs.get(suspect)?;
    let share = svc.share(suspect);
    // What users get: a liveness probe says the process runs, not that
    // it serves (it is counted only where it is all there is).
    let serving: Vec<_> = env
        .endpoints
        .iter()
        .filter(|ep| ep.role != Role::Live)
        .collect();
    let probes = if serving.is_empty() {
        env.endpoints.iter().collect()
    } else {
        serving
    };
    let every_probe = !probes.is_empty()
        && probes
            .iter()
            .all(|ep| ep.status().is_some_and(|s| s.is_failure()));
    (users_on(svc, suspect) && every_probe).then(|| {
        let users = share.map_or_else(String::new, |p| format!(" ({p} % of traffic)"));
        format!(
            "every probe of {}{users} fails: production is down",
            env.name
        )
    })
}

pub fn choose(svc: &ServiceState, suspect: usize) -> Typed {
    let typed = |kind, why: String| Typed { kind, why };
    if let Some(why) = production_down(svc, suspect) {
        return typed(RollbackType::Emergency, format!("rule: {why}"));
    }
    if let Some(Ok(schema)) = svc.database.as_ref().map(|r| &r.result) {
        if let Some(d) = &schema.dirty {
            return typed(
                RollbackType::Standard,
                format!(
                    "rule: the database schema is dirty ({d}): the database is part of the rollback"
                ),
            );
        }
        if let Some(m) = schema
            .last_run()
            .into_iter()
            .find(|m| !m.breaks_old_code().is_empty())
        {
            return typed(
                RollbackType::Standard,
                format!(
                    "rule: the release's migration {} breaks the old code: the database is part of the rollback",
                    m.label()
                ),
            );
        }
    }
    let database = match svc.database.as_ref().map(|r| &r.result) {
        None => "",
        Some(Ok(_)) => ", the database holds nothing the old code cannot read",
        Some(Err(_)) => ", the database could not be read: check it",
    };
    typed(
        RollbackType::Immediate,
        format!("rule: the release alone is at fault (production answers{database})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{HealthReport, HealthStatus};
    use crate::model::{EndpointState, EnvState, ProbeResult};
    use crate::time::Ts;
    use std::time::Duration;

    fn env(name: &str, status: Option<HealthStatus>) -> EnvState {
        let mut ep = EndpointState::new(
            format!("http://{name}/health"),
            Role::Health,
            Duration::from_secs(5),
            Duration::from_secs(2),
        );
        ep.last = status.map(|s| ProbeResult {
            at: Ts(0),
            latency_ms: 3.0,
            report: HealthReport {
                status: s,
                ..HealthReport::unreachable("x")
            },
            late: None,
        });
        let mut e = EnvState::new(name, vec![ep]);
        e.status = status;
        e
    }

    fn service(blue: Option<HealthStatus>, green: Option<HealthStatus>) -> ServiceState {
        ServiceState::new(
            "web",
            vec![env("blue", blue), env("green", green)],
            None,
            crate::decision::Policy::default(),
            crate::testkit::default_runbook(),
            Ts(0),
        )
    }

    #[test]
    fn production_down_is_an_emergency() {
        use HealthStatus::*;
        let s = service(Some(Unreachable), Some(Critical));
        assert_eq!(choose(&s, 1).kind, RollbackType::Emergency);
        assert!(choose(&s, 1).why.contains("every environment of web"));
        // Green alone down, and users on it (no traffic provider: it is live).
        let s = service(Some(Ok), Some(Unreachable));
        let t = choose(&s, 1);
        assert_eq!(t.kind, RollbackType::Emergency, "{}", t.why);
        assert!(t.why.contains("every probe of green"), "{}", t.why);
    }

    #[test]
    fn a_degraded_release_is_immediate() {
        use HealthStatus::*;
        let s = service(Some(Ok), Some(Degraded));
        assert_eq!(choose(&s, 1).kind, RollbackType::Immediate);
        let s = service(Some(Ok), None);
        assert_eq!(choose(&s, 1).kind, RollbackType::Immediate);
    }

    #[test]
    fn a_liveness_probe_that_answers_does_not_hide_production_down() {
        use HealthStatus::*;
        let mut s = service(Some(Ok), Some(Critical));
        let mut live = s.envs[1].endpoints[0].clone();
        live.role = Role::Live;
        if let Some(p) = live.last.as_mut() {
            p.report.status = Ok;
        }
        s.envs[1].endpoints.push(live);
        assert_eq!(choose(&s, 1).kind, RollbackType::Emergency);
        // Liveness alone failing is not the service down.
        s.envs[1].endpoints[0].last.as_mut().unwrap().report.status = Ok;
        s.envs[1].endpoints[1].last.as_mut().unwrap().report.status = Unreachable;
        assert_eq!(choose(&s, 1).kind, RollbackType::Immediate);
    }
}
