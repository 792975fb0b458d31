//! Health probe results: endpoint → environment status, transitions logged.

use super::{checklist, decisions};
use crate::events::Level;
use crate::health::HealthStatus;
use crate::model::{EndpointId, EnvId, ProbeResult, State};
use crate::msg::Effect;
use crate::rules::RuleKind;
use crate::time::Ts;

/// Answers that came together (a few milliseconds' worth). Each is recorded,
/// and counted by a checklist waiting on its environment, in its turn (the
/// step counts answers in a row). The rules and decision of each service
/// they touch are judged once, when its answers are in, at the batch's last
/// instant: judged once per answer, they were most of the console's time at
/// 10,000 endpoints. And before an endpoint's second answer in the batch (a
/// short interval, a console that fell behind), what came before it is
/// judged, so every answer of an endpoint is judged and its failures in a
/// row each leave their evidence.
pub(super) fn on_answers(
    state: &mut State,
    answers: Vec<(EndpointId, ProbeResult)>,
    now: Ts,
) -> Vec<Effect> {
    let mut fx = Vec::new();
    // Services answered for since they were last judged, and the endpoints
    // whose answers those were.
    let mut touched = Vec::new();
    let mut answered = Vec::new();
    for (endpoint, result) in answers {
        if answered.contains(&endpoint) {
            for service in touched.drain(..) {
                fx.extend(decisions::refresh(state, service, now));
            }
            answered.clear();
        }
        let env = EnvId {
            service: endpoint.service,
            env: endpoint.env,
        };
        let primary = state
            .env(env)
            .is_some_and(|e| e.primary_endpoint() == endpoint.endpoint);
        fx.extend(on_probe(state, endpoint, result));
        fx.extend(checklist::on_probe(state, env, primary, now));
        answered.push(endpoint);
        if !touched.contains(&endpoint.service) {
            touched.push(endpoint.service);
        }
    }
    for service in touched {
        fx.extend(decisions::refresh(state, service, now));
    }
    fx
}

/// Record a probe; ask for confirming re-probes when a health-failures rule
/// wants them and this is an endpoint's first failure.
pub(super) fn on_probe(state: &mut State, id: EndpointId, result: ProbeResult) -> Vec<Effect> {
    let confirm = state
        .services
        .get(id.service)
        .and_then(|s| {
            s.rollback.policy.rules.iter().find_map(|r| match r {
                RuleKind::HealthFailures { confirm, .. } if *confirm > 0 => Some(*confirm),
                _ => None,
            })
        })
        .unwrap_or(0);
    let first_failure = record(state, id, result);
    // Where users are and rollbacks are typed, a first failure is confirmed
    // at once, as many times as the rule counts: production down is an
    // emergency, found in a second rather than at the probes' pace.
    let confirm = match confirm {
        0 if first_failure && live_and_typed(state, id) => state.services[id.service]
            .rollback
            .policy
            .rules
            .iter()
            .find_map(|r| match r {
                RuleKind::HealthFailures { count, .. } => Some(count.saturating_sub(1)),
                _ => None,
            })
            .unwrap_or(0),
        c => c,
    };
    if first_failure && confirm > 0 {
        return vec![Effect::Reprobe {
            endpoint: id,
            times: confirm,
        }];
    }
    Vec::new()
}

/// The endpoint's environment is where users are (as the rollback type's
/// rule judges it), and its service's rollbacks are typed.
fn live_and_typed(state: &State, id: EndpointId) -> bool {
    state.services.get(id.service).is_some_and(|svc| {
        svc.rollback.runbook.is_typed() && crate::rollback_type::users_on(svc, id.env)
    })
}

/// Returns whether this probe was the endpoint's first failure in a row.
fn record(state: &mut State, id: EndpointId, result: ProbeResult) -> bool {
    let env_id = EnvId {
        service: id.service,
        env: id.env,
    };
    let label = state.env_label(env_id);
    let Some(env) = state.env_mut(env_id) else {
        return false;
    };
    let primary = env.primary_endpoint();
    let Some(ep) = env.endpoints.get_mut(id.endpoint) else {
        return false;
    };

    let status = result.report.status;
    let at = result.at;
    // backstop itself was late across this probe: a failure then may be
    // its own delay (the request never sent in time), so it is unknown —
    // not counted, said once; an answer still counts, its latency does not.
    if let (Some(late), true) = (result.late, status.is_failure()) {
        let text = format!(
            "{} probe unknown: backstop itself was late by {} while it waited ({}), not counted",
            ep.role,
            crate::time::human(std::time::Duration::from_millis(late)),
            result.report.summary
        );
        state.events.push(at, label, Level::Warn, text);
        return false;
    }
    if status.is_failure() {
        ep.consecutive_failures += 1;
    } else {
        ep.consecutive_failures = 0;
        ep.last_success = Some(at);
    }
    let first_failure = status.is_failure() && ep.consecutive_failures == 1;
    let role = ep.role;
    let summary = result.report.summary.clone();
    // A latency measured across backstop's own delay is not the endpoint's.
    if result.late.is_none() {
        env.metrics
            .probes
            .record(at, result.latency_ms, status.is_failure());
        if id.endpoint == primary {
            env.latency.push(result.latency_ms, status.is_failure());
        }
    }
    if let Some(v) = &result.report.version {
        env.version = Some(v.clone());
    }
    if let Some(ep) = env.endpoints.get_mut(id.endpoint) {
        ep.last = Some(result);
    }

    let worst = env.endpoints.iter().filter_map(|e| e.status()).max();
    if env
        .endpoints
        .iter()
        .all(|e| e.status().is_none_or(|s| !s.is_failure()))
    {
        env.last_success = Some(at);
    }
    let before = env.status;
    // Degraded or worse, continuously: what the degraded-for rule measures.
    match worst {
        Some(s) if s >= HealthStatus::Degraded => {
            env.degraded_since.get_or_insert(at);
        }
        _ => env.degraded_since = None,
    }
    if worst == before {
        return first_failure;
    }
    env.status = worst;
    env.changed_at = Some(at);
    let Some(now) = worst else {
        return first_failure;
    };
    let version = env
        .version
        .clone()
        .map(|v| format!(" v{}", v.trim_start_matches('v')))
        .unwrap_or_default();
    let text = match before {
        None if now == HealthStatus::Ok => format!("first answer: {}{version}", now.badge()),
        None => format!("first answer: {}{version}  {role}: {summary}", now.badge()),
        Some(b) => format!("{} → {}  {role}: {summary}", b.badge(), now.badge()),
    };
    let level = match (before, now) {
        (Some(_), HealthStatus::Ok) => Level::Good,
        (None, HealthStatus::Ok) => Level::Info,
        (_, HealthStatus::Degraded) => Level::Warn,
        _ => Level::Bad,
    };
    state
        .events
        .push_kind(at, label, level, crate::events::Kind::Health, text);
    first_failure
}
