//! The `/` filter of the list panes: by name and by state. Every word of the
//! filter must be found (case-insensitive, anywhere) in one of the row's
//! fields, so `/web crit` keeps web's critical environments and `/firing`
//! the firing rules. Panes and selection share these, so what the selection
//! walks over is what the pane shows.

use crate::events::Event;
use crate::model::{EnvId, Pane, State};

/// Every word of `query` is in one of `fields`.
pub fn matches<S: AsRef<str>>(query: &str, fields: &[S]) -> bool {
    let fields: Vec<String> = fields.iter().map(|f| f.as_ref().to_lowercase()).collect();
    query.split_whitespace().all(|w| {
        let w = w.to_lowercase();
        fields.iter().any(|f| f.contains(&w))
    })
}

/// What an environment row can be found by: service, environment, version,
/// status as word and badge (`critical`, `CRIT`; `down` for unreachable),
/// and the drill's fault.
pub fn env_fields(state: &State, id: EnvId) -> Vec<String> {
    let Some(svc) = state.services.get(id.service) else {
        return Vec::new();
    };
    let Some(env) = svc.envs.get(id.env) else {
        return Vec::new();
    };
    let mut f = vec![svc.name.clone(), env.name.clone()];
    f.extend(env.version.clone());
    match env.status {
        Some(s) => {
            f.push(s.as_str().into());
            f.push(s.badge().into());
        }
        None => f.push("unknown".into()),
    }
    if let Some(fault) = env.fault {
        f.push(fault.label());
    }
    f
}

/// The environment passes the Health pane's filter (or there is none).
pub fn env_shown(state: &State, id: EnvId) -> bool {
    state
        .ui
        .filter(Pane::Health)
        .is_none_or(|q| matches(q, &env_fields(state, id)))
}

/// The service passes `pane`'s filter: its name, or any of its environments.
pub fn service_shown(state: &State, pane: Pane, service: usize) -> bool {
    let Some(q) = state.ui.filter(pane) else {
        return true;
    };
    let Some(svc) = state.services.get(service) else {
        return false;
    };
    let mut fields = vec![svc.name.clone(), svc.rollback.decision.label().to_string()];
    for env in 0..svc.envs.len() {
        fields.extend(env_fields(state, EnvId { service, env }));
    }
    matches(q, &fields)
}

/// An event line matches the event log's filter.
pub fn event_matches(query: &str, e: &Event) -> bool {
    matches(query, &[e.scope.as_str(), e.text.as_str(), &e.at.hms()])
}

/// Indices into the event log of the lines the filter matches, oldest first.
pub fn event_matches_all(state: &State) -> Vec<usize> {
    let Some(q) = state.ui.filter(Pane::Events) else {
        return Vec::new();
    };
    state
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| event_matches(q, e))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_somewhere_case_insensitive() {
        let row = ["web", "green", "v1.0.1", "critical", "CRIT"];
        assert!(matches("crit", &row));
        assert!(matches("WEB Crit", &row));
        assert!(matches("", &row));
        assert!(!matches("web ok", &row));
        assert!(!matches("blue", &row));
    }
}
