//! Paging the on-call chain: intent on disk, then the pager (PagerDuty,
//! Opsgenie, a command), then the outcome; and reading whether the page
//! was acknowledged, an acknowledgement journaled once found. Paging
//! changes nothing in production, so it does not wait on the lease's
//! fence: whoever sees that help is needed may ask for it.

use serde_json::json;
use tokio::sync::mpsc;

use super::{Backends, record_intent, record_outcome};
use crate::clock::now;
use crate::core::escalation::{AckRead, PageAct};
use crate::core::msg::{Msg, StepOutcome};
use crate::core::time::Ts;
use crate::providers::escalation::{self as pager, Page};
use crate::room::Entry;

pub(super) struct Paged {
    pub service: usize,
    pub name: String,
    pub incident: Option<i64>,
    pub key: String,
    pub level: usize,
    pub act: PageAct,
    pub summary: String,
    pub severity: u8,
    pub by: String,
}

fn page_of(p: &Paged) -> Page {
    Page {
        key: p.key.clone(),
        level: p.level,
        summary: p.summary.clone(),
        severity: p.severity,
        service: p.name.clone(),
        source: crate::identity::host(),
    }
}

pub(super) async fn page(b: Backends, p: Paged, tx: mpsc::Sender<Msg>) {
    let outcome = match &b.pager {
        None => StepOutcome::failed("no on-call chain is configured", vec![]),
        Some(pg) => {
            let mut e = Entry::new(
                now(),
                "intent",
                &p.name,
                format!(
                    "page ({}) level {}: {}",
                    p.act.word(),
                    p.level + 1,
                    p.summary
                ),
                &p.by,
            );
            e.level = "warn".into();
            e.incident = p.incident;
            e.data = Some(json!({
                "work": "page",
                "action": p.act.word(),
                "key": p.key,
                "level": p.level,
                "severity": p.severity,
            }));
            match record_intent(b.journal.as_ref(), e, None).await {
                Err(why) => StepOutcome::failed(why, vec![]),
                Ok(intent) => {
                    let act = match p.act {
                        PageAct::Trigger => pager::PageAct::Trigger,
                        PageAct::Resolve => pager::PageAct::Resolve,
                    };
                    let sent = pg.send(&page_of(&p), act).await;
                    let (ok, text, outcome) = match sent {
                        Ok(evidence) => (
                            true,
                            format!("done: page ({})", p.act.word()),
                            StepOutcome::ok(evidence),
                        ),
                        Err(e) => (
                            false,
                            format!("failed: page ({}): {e}", p.act.word()),
                            StepOutcome::failed(e.to_string(), vec![]),
                        ),
                    };
                    record_outcome(
                        b.journal.as_ref(),
                        intent,
                        p.incident,
                        &p.name,
                        &p.by,
                        ok,
                        text,
                        Some(json!({ "evidence": outcome.evidence })),
                    );
                    outcome
                }
            }
        }
    };
    let _ = tx
        .send(Msg::Paged {
            service: p.service,
            key: p.key,
            level: p.level,
            act: p.act,
            outcome,
            at: now(),
        })
        .await;
}

pub(super) struct Asked {
    pub service: usize,
    pub name: String,
    pub incident: Option<i64>,
    pub key: String,
    pub level: usize,
}

/// Read whether the page was acknowledged; the first acknowledgement is
/// journaled (core asks only while none was seen).
pub(super) async fn read_ack(b: Backends, a: Asked, tx: mpsc::Sender<Msg>) {
    let Some(pg) = &b.pager else { return };
    let page = Page {
        key: a.key.clone(),
        level: a.level,
        summary: String::new(),
        severity: 2,
        service: a.name.clone(),
        source: crate::identity::host(),
    };
    let read = match pg.acknowledged(&page).await {
        Ok(None) => AckRead::NotYet,
        Err(e) => AckRead::Unreadable(e.to_string()),
        Ok(Some(ack)) => {
            let by = ack.by.unwrap_or_else(|| "someone".to_string());
            let at = ack
                .at
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok())
                .map_or_else(now, Ts);
            if let Some(j) = &b.journal {
                let mut e = Entry::new(
                    now(),
                    "event",
                    &a.name,
                    format!("page acknowledged by {by} (level {})", a.level + 1),
                    &crate::identity::operator(),
                );
                e.level = "good".into();
                e.incident = a.incident;
                e.data = Some(json!({
                    "kind": "page",
                    "action": "acknowledged",
                    "by": by,
                    "at": at.millis(),
                    "key": a.key,
                    "level": a.level,
                }));
                j.append(e);
            }
            AckRead::Acked { by, at }
        }
    };
    let _ = tx
        .send(Msg::AckRead {
            service: a.service,
            key: a.key,
            read,
            at: now(),
        })
        .await;
}
