//! Talking during an incident: a declared severity is journaled under the
//! incident, and an update goes to the team through the notifiers —
//! journaled as a message (intent, then outcome), like the checklist's own.
//! Neither changes production, so neither waits on the lease's fence: the
//! person who speaks for the incident need not be the one who drives it.

use serde_json::json;
use tokio::sync::mpsc;

use super::{Backends, IncidentNumber, record_intent, record_outcome};
use crate::clock::now;
use crate::core::msg::{Msg, StepOutcome};
use crate::core::runbook::Template;
use crate::providers::notify;
use crate::room::Entry;

/// The incident a row belongs to: known, or the one being opened.
async fn number(incident: Option<i64>, opening: Option<IncidentNumber>) -> Option<i64> {
    match (incident, opening) {
        (Some(id), _) => Some(id),
        (None, Some(n)) => super::steps::incident_number(n).await,
        (None, None) => None,
    }
}

pub(super) struct Declared {
    pub name: String,
    pub incident: Option<i64>,
    pub level: u8,
    pub why: String,
    pub by: String,
}

pub(super) async fn severity(b: Backends, d: Declared, opening: Option<IncidentNumber>) {
    let Some(journal) = b.journal.clone() else {
        return;
    };
    let mut e = Entry::new(
        now(),
        "severity",
        &d.name,
        format!("SEV{}: {}", d.level, d.why),
        &d.by,
    );
    e.level = "warn".into();
    e.data = Some(json!({ "level": d.level, "why": d.why }));
    e.incident = number(d.incident, opening).await;
    journal.append(e);
}

pub(super) struct Update {
    pub service: usize,
    pub name: String,
    pub run: u64,
    pub incident: Option<i64>,
    pub text: String,
    pub by: String,
}

/// Intent on disk, then the notifiers, then the outcome; the answer says
/// what reached whom. No intent, no message.
pub(super) async fn send_update(
    b: Backends,
    u: Update,
    opening: Option<IncidentNumber>,
    tx: mpsc::Sender<Msg>,
) {
    let incident = number(u.incident, opening).await;
    let first = u.text.lines().next().unwrap_or_default().to_string();
    let mut e = Entry::new(now(), "intent", &u.name, format!("update: {first}"), &u.by);
    e.level = "warn".into();
    e.incident = incident;
    e.data = Some(json!({
        "work": "notify",
        "template": Template::StatusUpdate,
        "message": u.text,
    }));
    let outcome = match record_intent(b.journal.as_ref(), e, None).await {
        Err(why) => StepOutcome::failed(why, vec![]),
        Ok(intent) => {
            let sent = notify::send_all(
                &b.notifiers,
                Template::StatusUpdate,
                &u.name,
                &u.text,
                &u.by,
                now(),
            )
            .await;
            let outcome = super::steps::notified(&sent);
            let text = match (outcome.error(), outcome.warning()) {
                (Some(e), _) => format!("failed: update: {e}"),
                (None, Some(w)) => format!("done with a warning: update: {w}"),
                (None, None) => "done: update".to_string(),
            };
            record_outcome(
                b.journal.as_ref(),
                intent,
                incident,
                &u.name,
                &u.by,
                outcome.is_ok(),
                text,
                Some(json!({ "evidence": outcome.evidence })),
            );
            outcome
        }
    };
    let _ = tx
        .send(Msg::UpdateSent {
            service: u.service,
            run: u.run,
            by: u.by,
            outcome,
            at: now(),
        })
        .await;
}
