//! The messages for the team.

use super::*;

/// The message for the team, modelled on the reference templates.
pub fn message(state: &State, service: usize, template: Template, now: Ts) -> String {
    let svc = &state.services[service];
    let Some(c) = &svc.rollback.checklist else {
        return String::new();
    };
    let (s, t) = (&svc.envs[c.suspect], &svc.envs[c.target]);
    let v = |e: &crate::model::EnvState| {
        e.version
            .clone()
            .map_or("?".into(), |v| format!("v{}", v.trim_start_matches('v')))
    };
    // A revert in place: the revisions come from the deploy provider.
    let revert = (c.suspect == c.target).then(|| {
        let d = svc.deploy.as_ref().and_then(|d| d.env(&s.name));
        let cur = d.map_or_else(|| v(s), |d| d.current.clone());
        let prev = d
            .and_then(|d| d.previous.clone())
            .unwrap_or_else(|| "the previous revision".into());
        (cur, prev)
    });
    match template {
        Template::RollbackStarted => {
            let reason = if c.reasons.is_empty() {
                "asked by the operator".to_string()
            } else {
                c.reasons.join("; ")
            };
            let (version, status) = match &revert {
                Some((cur, prev)) => (
                    format!("{cur} → {prev} ({}, revert)", s.name),
                    "reverting to the previous revision",
                ),
                None => (
                    format!("{} → {} ({} → {})", v(s), v(t), s.name, t.name),
                    "switching traffic to the previous version",
                ),
            };
            format!(
                "ROLLBACK IN PROGRESS: {}\nVersion: {version}\nReason: {reason}\nStatus: {status}\nBy: {}\nETA: 5 minutes",
                svc.name, c.started_by
            )
        }
        Template::StatusUpdate => crate::update::comms::draft(state, service),
        Template::RollbackCompleted => {
            let recovered = c.recovered.unwrap_or(now);
            let impact = time::human(Duration::from_secs(
                recovered.since(c.detected_at).as_secs(),
            ));
            format!(
                "ROLLBACK COMPLETED: {}\nVersion: now running {} on {}\nStatus: {} healthy, traffic verified\nImpact: {impact} from detection to recovery\nNext steps: post-mortem, regression test, re-deploy the fix",
                svc.name,
                v(t),
                t.name,
                t.name
            )
        }
    }
}
