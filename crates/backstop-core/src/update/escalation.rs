//! Paging the on-call chain: `E` (asks, then `y`) or `:page [REASON]`
//! pages its first level, or the next if the last one paged has not
//! acknowledged. Offered where it matters — a blocked decision, a SEV1 —
//! and followed here: the acknowledgement is read every few seconds, a
//! level that does not acknowledge within its wait has the next level
//! paged, and the pager's incident is resolved when the checklist
//! completes. Every page is journaled as intent and outcome (`exec`).

use crate::decision::Decision;
use crate::escalation::{AckRead, Level as Rung, PageAct, Paging, READ_EVERY, Sent};
use crate::events::{Kind, Level};
use crate::model::State;
use crate::msg::{Effect, StepOutcome, Verdict};
use crate::time::Ts;

/// Why nobody was paged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageRefused {
    #[error("no on-call chain is configured ([escalation] in the configuration)")]
    NoChain,
    #[error("read-only: this console watches {0} and pages nobody")]
    ReadOnly(String),
    #[error("the journal cannot record anything now, so nobody is paged from here: {0}")]
    JournalDown(String),
    #[error("{0} is being paged: wait for the pager's answer")]
    Sending(String),
    #[error("everyone in the chain has been paged (the last: {0})")]
    ChainEnds(String),
    #[error("{0} acknowledged: they are on it")]
    Acknowledged(String),
}

/// The paging of `service`'s incident: none when the last paging was of
/// an earlier incident (its key, its levels and its answer are that one's).
pub fn paging(state: &State, service: usize) -> Option<&Paging> {
    let p = state.services.get(service)?.rollback.paging.as_ref()?;
    let open = super::roles::incident_checklist(state, service).and_then(|c| c.incident);
    let stale = p.incident.is_some() && open.is_some() && p.incident != open;
    (!stale).then_some(p)
}

/// Who `E` would page for `service` now: the first level, the next one,
/// or the same one again after its page failed.
pub fn next(state: &State, service: usize) -> Option<(usize, &Rung)> {
    let chain = state.escalation.as_ref()?;
    let level = match paging(state, service) {
        Some(p) if !p.resolved && matches!(p.sent, Sent::Failed(_)) => p.level,
        Some(p) if !p.resolved => p.level + 1,
        _ => 0,
    };
    chain.levels.get(level).map(|l| (level, l))
}

/// Whether paging is what the moment calls for: the decision is blocked
/// (no rollback will fix it), or the incident is SEV1 — and nobody is
/// paged or acknowledging yet.
pub fn offered(state: &State, service: usize) -> bool {
    let Some(svc) = state.services.get(service) else {
        return false;
    };
    if state.escalation.is_none() || paging(state, service).is_some_and(|p| !p.resolved) {
        return false;
    }
    let sev1 = super::roles::incident_checklist(state, service)
        .and_then(|c| c.comms.severity.as_ref())
        .is_some_and(|s| s.level == 1);
    sev1 || matches!(svc.rollback.decision, Decision::Blocked { .. })
}

/// Page the next level for `service`.
pub(super) fn page(
    state: &mut State,
    service: usize,
    reason: &str,
    now: Ts,
) -> Result<Vec<Effect>, PageRefused> {
    let chain = state.escalation.clone().ok_or(PageRefused::NoChain)?;
    let svc = &state.services[service];
    if svc.read_only {
        return Err(PageRefused::ReadOnly(svc.name.clone()));
    }
    if let Some(why) = &state.journal_down {
        return Err(PageRefused::JournalDown(why.clone()));
    }
    if let Some(p) = paging(state, service).filter(|p| !p.resolved) {
        let who = || {
            chain
                .levels
                .get(p.level)
                .map_or_else(String::new, |l| l.name.clone())
        };
        if p.sent == Sent::Sending {
            return Err(PageRefused::Sending(who()));
        }
        // Another level on top of one that answered would wake people for nothing.
        if let Some((by, _)) = &p.acked
            && reason.trim().is_empty()
        {
            return Err(PageRefused::Acknowledged(by.clone()));
        }
    }
    let Some((level, rung)) = next(state, service).map(|(l, r)| (l, r.clone())) else {
        let last = chain
            .levels
            .last()
            .map_or_else(String::new, |l| l.name.clone());
        return Err(PageRefused::ChainEnds(last));
    };
    let c = super::roles::incident_checklist(state, service);
    let incident = c.and_then(|c| c.incident);
    let severity = c
        .and_then(|c| c.comms.severity.as_ref())
        .map_or(2, |s| s.level);
    let svc = &state.services[service];
    let name = svc.name.clone();
    let state_now = match &svc.rollback.decision {
        Decision::Blocked { .. } => "rollback blocked".to_string(),
        d => d.label().to_lowercase(),
    };
    let why = if reason.trim().is_empty() {
        String::new()
    } else {
        format!(" — {}", reason.trim())
    };
    let summary = format!("SEV{severity} {name}: {state_now}{why}");
    let key = paging(state, service).filter(|p| !p.resolved).map_or_else(
        || {
            let room = if state.room.is_empty() {
                "backstop"
            } else {
                &state.room
            };
            match incident {
                Some(i) => format!("backstop/{room}/{name}/{i}"),
                None => format!("backstop/{room}/{name}/{}", now.millis()),
            }
        },
        |p| p.key.clone(),
    );
    state.services[service].rollback.paging = Some(Paging {
        key: key.clone(),
        incident,
        level,
        at: now,
        sent: Sent::Sending,
        acked: None,
        resolved: false,
        next_read: now.plus(READ_EVERY),
        asked: None,
        read: None,
        over: false,
        unreadable: None,
        severity,
        summary: summary.clone(),
    });
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Incident,
        format!(
            "paging {} (level {}) via {}",
            rung.name,
            level + 1,
            chain.via
        ),
    );
    Ok(vec![Effect::Page {
        service,
        name,
        incident,
        key,
        level,
        act: PageAct::Trigger,
        summary,
        severity,
        by: state.operator.clone(),
    }])
}

/// `E` (confirmed) or `:page`: page for the selected service, or say why not.
pub(super) fn on_key(state: &mut State, reason: &str, now: Ts) -> Vec<Effect> {
    let service = super::roles::incident_checklist_service(state)
        .or_else(|| state.selected_env().map(|e| e.service));
    let Some(service) = service else {
        return Vec::new();
    };
    page(state, service, reason, now).unwrap_or_else(|why| {
        let name = state.services[service].name.clone();
        state
            .events
            .push(now, name, Level::Warn, format!("page: {why}"));
        Vec::new()
    })
}

/// The question `E` asks before it pages.
pub(super) fn question(state: &State, fx: &[Effect]) -> String {
    let Some(Effect::Page { name, level, .. }) = fx.first() else {
        return "page the on-call chain?".into();
    };
    let (who, via) = state
        .escalation
        .as_ref()
        .map_or_else(Default::default, |c| {
            (
                c.levels
                    .get(*level)
                    .map_or_else(String::new, |l| l.name.clone()),
                c.via.clone(),
            )
        });
    format!("page {who} (level {}) for {name} via {via}?", level + 1)
}

/// The pager answered.
pub(super) fn on_paged(
    state: &mut State,
    service: usize,
    key: &str,
    level: usize,
    act: PageAct,
    outcome: StepOutcome,
    at: Ts,
) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let name = svc.name.clone();
    let Some(p) = svc.rollback.paging.as_mut().filter(|p| p.key == key) else {
        return;
    };
    let who = state
        .escalation
        .as_ref()
        .and_then(|c| c.levels.get(level))
        .map_or_else(String::new, |l| l.name.clone());
    let detail = outcome.evidence.join("; ");
    let (lvl, text) = match (act, &outcome.verdict) {
        (PageAct::Trigger, Verdict::Failed(why)) => {
            if p.level == level {
                p.sent = Sent::Failed(why.clone());
            }
            (
                Level::Bad,
                format!("{who} was NOT paged: {why} (E tries again)"),
            )
        }
        (PageAct::Trigger, _) => {
            if p.level == level {
                p.sent = Sent::Sent;
            }
            (Level::Warn, format!("{who} paged ({detail})"))
        }
        (PageAct::Resolve, Verdict::Failed(why)) => (
            Level::Warn,
            format!("the pager's incident was NOT resolved: {why}"),
        ),
        (PageAct::Resolve, _) => {
            p.resolved = true;
            (Level::Good, "the pager's incident is resolved".to_string())
        }
    };
    state.events.push_kind(at, name, lvl, Kind::Incident, text);
}

/// An acknowledgement was read.
pub(super) fn on_ack(state: &mut State, service: usize, key: &str, read: AckRead, at: Ts) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let name = svc.name.clone();
    let Some(p) = svc.rollback.paging.as_mut().filter(|p| p.key == key) else {
        return;
    };
    match read {
        AckRead::Acked { by, at: when } if p.acked.is_none() => {
            p.unreadable = None;
            let took = when.since(p.at);
            p.acked = Some((by.clone(), when));
            state.events.push_kind(
                at,
                name,
                Level::Good,
                Kind::Incident,
                format!(
                    "page acknowledged by {by} after {}",
                    crate::time::human(took)
                ),
            );
        }
        AckRead::Acked { .. } => {}
        AckRead::NotYet => {
            p.unreadable = None;
            p.read = Some(at);
        }
        AckRead::Unreadable(why) => {
            // Not knowably acknowledged: the chain goes on as if not.
            p.read = Some(at);
            if p.unreadable.as_deref() != Some(why.as_str()) {
                state.events.push(
                    at,
                    name,
                    Level::Warn,
                    format!("the page's acknowledgement cannot be read: {why}"),
                );
            }
            p.unreadable = Some(why);
        }
    }
}

/// Each tick: read the acknowledgement of a waiting page when it is time,
/// page the next level when the last one's wait is over and a read made
/// since says nobody acknowledged, and resolve the pager's incident once
/// its checklist completed (an abandoned one stops the chain).
pub(super) fn on_tick(state: &mut State, now: Ts) -> Vec<Effect> {
    let Some(chain) = state.escalation.clone() else {
        return Vec::new();
    };
    let mut fx = Vec::new();
    for service in 0..state.services.len() {
        let svc = &state.services[service];
        let Some(p) = svc.rollback.paging.clone() else {
            continue;
        };
        if p.resolved || p.over {
            continue;
        }
        let name = svc.name.clone();
        // Its incident's checklist, here or followed, ended or not.
        let rb = &svc.rollback;
        let ended = rb
            .checklist
            .iter()
            .chain(rb.followed.as_ref().map(|f| &f.checklist))
            .find(|c| p.incident.is_none() || c.incident == p.incident)
            .and_then(|c| c.ended.as_ref().map(|(_, e)| e.clone()));
        match ended {
            Some(crate::runbook::Ending::Completed)
                if p.sent == Sent::Sent && state.journal_down.is_none() =>
            {
                if let Some(q) = state.services[service].rollback.paging.as_mut() {
                    // Asked once; its answer says whether it was.
                    q.resolved = true;
                }
                fx.push(Effect::Page {
                    service,
                    name,
                    incident: p.incident,
                    key: p.key.clone(),
                    level: p.level,
                    act: PageAct::Resolve,
                    summary: p.summary.clone(),
                    severity: p.severity,
                    by: state.operator.clone(),
                });
                continue;
            }
            Some(crate::runbook::Ending::Completed) => continue,
            Some(_) => {
                if let Some(q) = state.services[service].rollback.paging.as_mut() {
                    q.over = true;
                }
                continue;
            }
            None => {}
        }
        if !p.waiting() {
            continue;
        }
        let deadline = p.escalates(&chain);
        if let Some((at, next)) = deadline
            && now >= at
            && p.read.is_some_and(|r| r >= at)
        {
            // Nothing is paged that the journal cannot record.
            if state.journal_down.is_some() {
                continue;
            }
            let waited = crate::time::human(now.since(p.at));
            let who = chain.levels.get(p.level).map_or("", |l| l.name.as_str());
            state.events.push_kind(
                now,
                name.clone(),
                Level::Warn,
                Kind::Incident,
                format!(
                    "{who} did not acknowledge in {waited}: paging {}",
                    next.name
                ),
            );
            match page(state, service, "", now) {
                Ok(more) => fx.extend(more),
                Err(why) => state
                    .events
                    .push(now, name, Level::Warn, format!("page: {why}")),
            }
            continue;
        }
        // Read on its schedule, and once more as soon as the wait is over.
        let wait_over = deadline.is_some_and(|(at, _)| now >= at && p.asked.is_none_or(|a| a < at));
        if now >= p.next_read || wait_over {
            if let Some(q) = state.services[service].rollback.paging.as_mut() {
                q.next_read = now.plus(READ_EVERY);
                q.asked = Some(now);
            }
            fx.push(Effect::ReadAck {
                service,
                name,
                incident: p.incident,
                key: p.key,
                level: p.level,
            });
        }
    }
    fx
}

/// The checklist's line about paging: who was paged, and whether they
/// acknowledged (or when the next level is).
pub fn line(state: &State, service: usize) -> Option<String> {
    let chain = state.escalation.as_ref()?;
    let p = paging(state, service)?;
    let who = chain.levels.get(p.level).map_or("", |l| l.name.as_str());
    let hm = |t: Ts| t.hm();
    Some(match (&p.sent, &p.acked) {
        (_, _) if p.resolved => format!("PAGED {who} · resolved"),
        (Sent::Sending, _) => format!("PAGING {who}…"),
        (Sent::Failed(why), _) => format!("PAGE TO {who} FAILED: {why} · E tries again"),
        (Sent::Sent, Some((by, at))) => {
            format!(
                "PAGED {who} {} · acknowledged by {by} {}",
                hm(p.at),
                hm(*at)
            )
        }
        (Sent::Sent, None) => match p.escalates(chain) {
            Some((at, next)) => format!(
                "PAGED {who} {} · not acknowledged: {} at {}",
                hm(p.at),
                next.name,
                hm(at)
            ),
            None => format!("PAGED {who} {} · not acknowledged", hm(p.at)),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::action::Action;
    use crate::decision::Policy;
    use crate::escalation::{Chain, Level as Rung};
    use crate::msg::Msg;
    use crate::update::testkit::*;

    fn command(s: &mut State, line: &str, at: i64) -> Vec<Effect> {
        update(s, Msg::Action(Action::CommandLine, Ts(at)));
        typed(s, line, at)
    }

    fn paged(s: &mut State, fx: &[Effect], ok: bool, at: i64) {
        let [
            Effect::Page {
                key, level, act, ..
            },
        ] = fx
        else {
            panic!("{fx:?}");
        };
        let outcome = if ok {
            StepOutcome::ok(vec!["PagerDuty: event processed".into()])
        } else {
            StepOutcome::failed("PagerDuty: cannot connect; the page was not sent", vec![])
        };
        update(
            s,
            Msg::Paged {
                service: 0,
                key: key.clone(),
                level: *level,
                act: *act,
                outcome,
                at: Ts(at),
            },
        );
    }

    fn with_chain() -> State {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        s.room = "payments".into();
        s.escalation = Some(Chain {
            via: "PagerDuty".into(),
            levels: vec![
                Rung {
                    name: "payments on-call".into(),
                    after: Some(Duration::from_secs(300)),
                },
                Rung {
                    name: "DBA on-call".into(),
                    after: None,
                },
            ],
        });
        s.services[0].rollback.checklist.as_mut().unwrap().incident = Some(12);
        s
    }

    fn last_event(s: &State) -> String {
        s.events.last().map(|e| e.text.clone()).unwrap_or_default()
    }

    #[test]
    fn sev1_offers_a_page_which_escalates_unacknowledged_and_stops_when_acknowledged() {
        let mut s = with_chain();
        assert!(!offered(&s, 0), "SEV3? is not a page");
        command(&mut s, "sev 1 checkout is down", 6000);
        assert!(offered(&s, 0));

        // E asks first, naming who and how.
        update(&mut s, Msg::Action(Action::Escalate, Ts(7000)));
        assert_eq!(
            s.ui.armed.as_ref().unwrap().question,
            "page payments on-call (level 1) for web via PagerDuty?"
        );
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(8000)));
        assert!(
            matches!(&fx[..], [Effect::Page { level: 0, act: PageAct::Trigger, key, severity: 1, summary, .. }]
                if key == "backstop/payments/web/12" && summary.starts_with("SEV1 web")),
            "{fx:?}"
        );
        assert_eq!(line(&s, 0).unwrap(), "PAGING payments on-call…");
        paged(&mut s, &fx, true, 8500);
        assert!(
            line(&s, 0)
                .unwrap()
                .contains("not acknowledged: DBA on-call at")
        );

        // Its acknowledgement is read every 10 s.
        assert!(
            update(&mut s, Msg::Tick(Ts(9000)))
                .iter()
                .all(|e| !matches!(e, Effect::ReadAck { .. }))
        );
        let fx = update(&mut s, Msg::Tick(Ts(18_500)));
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::ReadAck { level: 0, .. })),
            "{fx:?}"
        );
        update(
            &mut s,
            Msg::AckRead {
                service: 0,
                key: "backstop/payments/web/12".into(),
                read: AckRead::NotYet,
                at: Ts(18_600),
            },
        );
        // Five minutes without an answer: read once more, then (still
        // nobody) the next level, the same key.
        let fx = update(&mut s, Msg::Tick(Ts(308_100)));
        assert!(
            fx.iter().any(|e| matches!(e, Effect::ReadAck { .. })),
            "{fx:?}"
        );
        assert!(
            fx.iter().all(|e| !matches!(e, Effect::Page { .. })),
            "paged on an old read: {fx:?}"
        );
        update(
            &mut s,
            Msg::AckRead {
                service: 0,
                key: "backstop/payments/web/12".into(),
                read: AckRead::NotYet,
                at: Ts(308_200),
            },
        );
        let fx: Vec<Effect> = update(&mut s, Msg::Tick(Ts(308_300)))
            .into_iter()
            .filter(|e| matches!(e, Effect::Page { .. }))
            .collect();
        assert!(
            matches!(&fx[..], [Effect::Page { level: 1, key, .. }] if key == "backstop/payments/web/12"),
            "{fx:?}"
        );
        assert!(
            s.events.iter().any(|e| e
                .text
                .contains("payments on-call did not acknowledge in 5m: paging DBA on-call")),
            "{:?}",
            s.events.iter().map(|e| &e.text).collect::<Vec<_>>()
        );
        paged(&mut s, &fx, true, 308_500);
        update(
            &mut s,
            Msg::AckRead {
                service: 0,
                key: "backstop/payments/web/12".into(),
                read: AckRead::Acked {
                    by: "Dana".into(),
                    at: Ts(320_000),
                },
                at: Ts(320_100),
            },
        );
        assert!(
            last_event(&s).contains("page acknowledged by Dana"),
            "{}",
            last_event(&s)
        );
        assert!(line(&s, 0).unwrap().contains("acknowledged by Dana"));
        // Acknowledged: nothing more is read or paged, and E says why.
        let fx = update(&mut s, Msg::Tick(Ts(900_000)));
        assert!(
            fx.iter()
                .all(|e| !matches!(e, Effect::Page { .. } | Effect::ReadAck { .. })),
            "{fx:?}"
        );
        // (The update that opened meanwhile is put off first.)
        update(&mut s, Msg::Text(crate::msg::TextKey::Cancel, Ts(900_500)));
        update(&mut s, Msg::Action(Action::Escalate, Ts(901_000)));
        assert!(
            last_event(&s).contains("Dana acknowledged"),
            "{}",
            last_event(&s)
        );

        // The checklist completed: the pager's incident is resolved, once.
        s.services[0].rollback.checklist.as_mut().unwrap().ended =
            Some((Ts(950_000), crate::runbook::Ending::Completed));
        let fx = update(&mut s, Msg::Tick(Ts(951_000)));
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::Page {
                    act: PageAct::Resolve,
                    ..
                }
            )),
            "{fx:?}"
        );
        let fx = update(&mut s, Msg::Tick(Ts(952_000)));
        assert!(
            fx.iter().all(|e| !matches!(e, Effect::Page { .. })),
            "{fx:?}"
        );
    }

    #[test]
    fn a_failed_page_is_said_and_tried_again_at_the_same_level() {
        let mut s = with_chain();
        let fx = command(&mut s, "page the target is broken too", 6000);
        assert!(
            matches!(&fx[..], [Effect::Page { level: 0, severity: 3, summary, .. }] if summary.ends_with("— the target is broken too")),
            "{fx:?}"
        );
        // Asked again before the pager answered: one page at a time.
        command(&mut s, "page", 6100);
        assert!(
            last_event(&s).contains("is being paged"),
            "{}",
            last_event(&s)
        );
        paged(&mut s, &fx, false, 6500);
        assert!(
            last_event(&s).contains("payments on-call was NOT paged"),
            "{}",
            last_event(&s)
        );
        assert!(
            line(&s, 0)
                .unwrap()
                .starts_with("PAGE TO payments on-call FAILED")
        );
        // A failed page neither escalates nor is read.
        let fx = update(&mut s, Msg::Tick(Ts(400_000)));
        assert!(
            fx.iter()
                .all(|e| !matches!(e, Effect::Page { .. } | Effect::ReadAck { .. })),
            "{fx:?}"
        );
        let fx = command(&mut s, "page", 401_000);
        assert!(matches!(&fx[..], [Effect::Page { level: 0, .. }]), "{fx:?}");
        // The next incident of the service starts its own paging: the
        // last one's key, levels and answers are that incident's.
        paged(&mut s, &fx, true, 401_500);
        assert!(line(&s, 0).is_some());
        s.services[0].rollback.checklist.as_mut().unwrap().incident = Some(13);
        assert_eq!(line(&s, 0), None);
        let fx = command(&mut s, "page", 402_000);
        assert!(
            matches!(&fx[..], [Effect::Page { level: 0, key, .. }] if key == "backstop/payments/web/13"),
            "{fx:?}"
        );
        // Without a chain: said, nothing sent.
        let mut s = recommended_and_started(Policy::default());
        assert!(command(&mut s, "page", 6000).is_empty());
        assert!(
            last_event(&s).contains("no on-call chain is configured"),
            "{}",
            last_event(&s)
        );
    }
}
