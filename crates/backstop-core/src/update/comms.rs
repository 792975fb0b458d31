//! Talking during an incident: a person declares its severity (`:sev 1
//! REASON`), and the team hears from the incident on the severity's cadence
//! — the update comes prefilled to the console that drives it (`u`, or by
//! itself when that console is idle), to edit and send.

use std::time::Duration;

use crate::comms::{Cadence, Severity};
use crate::events::{Kind, Level};
use crate::model::{InputPurpose, State, TextInput, TimelineKind};
use crate::msg::Effect;
use crate::roles::Role;
use crate::runbook::{Checklist, StepStatus};
use crate::time::Ts;

/// No prompt opens by itself within this long of a key: the person is in
/// the middle of something (a `y` must not land in a text field).
const IDLE: Duration = Duration::from_secs(2);

/// Why a severity was not declared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeverityRefused {
    #[error("severity {0} is not one of the team's ({1})")]
    Unknown(u8, String),
    #[error("no incident is open: a severity belongs to a rollback's checklist (r opens one)")]
    NoIncident,
    #[error("say why: `:sev {0} REASON` (it is journaled, and read in the post-mortem)")]
    NoReason(u8),
    #[error("{0}")]
    MayNotAct(String),
}

/// Why an update was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefused {
    #[error("no incident is open: updates belong to a rollback's checklist")]
    NoIncident,
    #[error("{0} is the communications lead: the updates are theirs")]
    NotLead(String),
    #[error("{0}")]
    MayNotAct(String),
}

/// How often the team hears from `c`'s incident, under its severity.
pub fn every(state: &State, c: &Checklist) -> Option<Duration> {
    crate::severity::every(
        &state.severities,
        c.comms.severity.as_ref().map(|s| s.level),
    )
}

/// Where `c`'s cadence stands (none once it ended).
pub fn cadence(state: &State, c: &Checklist) -> Cadence {
    if c.ended.is_some() {
        return Cadence::None;
    }
    c.comms.cadence(every(state, c), state.now)
}

/// Every incident open in the room, worst first: this console's checklists
/// and those it follows from another driver, as (service, checklist).
pub fn open_incidents(state: &State) -> Vec<(usize, &Checklist)> {
    let mut v: Vec<(usize, &Checklist)> = state
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let own = s.rollback.checklist.as_ref().filter(|c| c.ended.is_none());
            let followed = s
                .rollback
                .followed
                .as_ref()
                .map(|f| &f.checklist)
                .filter(|c| c.ended.is_none());
            Some((i, own.or(followed)?))
        })
        .collect();
    v.sort_by_key(|(i, c)| (c.comms.severity.as_ref().map_or(u8::MAX, |s| s.level), *i));
    v
}

/// The service whose checklist is open here or followed, for `:sev` and `u`.
fn open_incident(state: &State) -> Option<usize> {
    super::checklist::focused_checklist(state).filter(|i| {
        state.services[*i]
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|c| c.ended.is_none())
    })
}

/// `:sev LEVEL [REASON]`: declare the open incident's severity. Confirming
/// the proposal needs no reason (the rule's stands); changing it does. A
/// class that calls for another rollback type retypes the checklist, if it
/// has made no change yet.
pub(super) fn declare(
    state: &mut State,
    level: u8,
    reason: &str,
    now: Ts,
) -> Result<Vec<Effect>, SeverityRefused> {
    let Some(class) = crate::severity::class(&state.severities, level).cloned() else {
        let levels: Vec<String> = state
            .severities
            .iter()
            .map(|c| c.level.to_string())
            .collect();
        return Err(SeverityRefused::Unknown(level, levels.join(", ")));
    };
    let service = open_incident(state).ok_or(SeverityRefused::NoIncident)?;
    super::may_act(state, service).map_err(SeverityRefused::MayNotAct)?;
    let by = state.operator.clone();
    let svc = &mut state.services[service];
    let name = svc.name.clone();
    let Some(c) = svc.rollback.checklist.as_mut() else {
        return Err(SeverityRefused::NoIncident);
    };
    let before = c.comms.severity.clone();
    let reason = reason.trim();
    let why = match (&before, reason) {
        (_, r) if !r.is_empty() => r.to_string(),
        (Some(b), _) if b.level == level => b.why.clone(),
        _ => return Err(SeverityRefused::NoReason(level)),
    };
    c.comms.severity = Some(Severity {
        level,
        why: why.clone(),
        by: Some(by.clone()),
        at: now,
    });
    let incident = c.incident;
    let typed = c.typed.as_ref().map(|t| t.kind);
    let was = before
        .as_ref()
        .map_or_else(|| "none".to_string(), Severity::label);
    let text = format!(
        "severity SEV{level} ({}) declared by {by}, was {was}: {why}",
        class.name
    );
    svc.rollback.note(now, TimelineKind::Decision, text.clone());
    state
        .events
        .push_kind(now, name.clone(), Level::Warn, Kind::Incident, text);
    let mut fx = vec![Effect::Severity {
        service,
        name: name.clone(),
        incident,
        level,
        why,
        by: by.clone(),
    }];
    // The class's rollback type, while the type may still change.
    if let (Some(want), Some(has)) = (class.rollback, typed)
        && want != has
    {
        match super::checklist::retype(state, service, want, &by, now) {
            Ok(more) => fx.extend(more),
            Err(e) => state.events.push(
                now,
                name,
                Level::Warn,
                format!("SEV{level} calls for the {want} rollback; the type stays {has}: {e}"),
            ),
        }
    }
    Ok(fx)
}

/// The update as it is prefilled: severity, progress, status, ETA.
pub fn draft(state: &State, service: usize) -> String {
    let svc = &state.services[service];
    let Some(c) = super::roles::incident_checklist(state, service) else {
        return String::new();
    };
    let (s, t) = (&svc.envs[c.suspect].name, &svc.envs[c.target].name);
    let sev = c
        .comms
        .severity
        .as_ref()
        .map_or_else(String::new, |s| format!("SEV{} ", s.level));
    let (done, skipped, total) = c.counts();
    let now_doing = c
        .current()
        .map_or_else(String::new, |step| format!(", now: {}", step.title));
    // The split as it is, not as hoped: a canary's users are mostly elsewhere.
    let status = match (c.recovered, svc.shares()) {
        (Some(_), _) => format!("users back on {t}, verified"),
        (None, Some(shares)) => {
            let split: Vec<String> = shares.iter().map(|(e, p)| format!("{e} {p} %")).collect();
            format!("traffic {}, not verified yet", split.join(", "))
        }
        // A console without the traffic provider (following the driver):
        // the checklist says whether users were moved.
        (None, None) if switched(c) => format!("users moved to {t}, not verified yet"),
        (None, None) => format!("{s} not rolled back yet"),
    };
    let eta = c
        .target_runs()
        .into_iter()
        .find(|r| r.took.is_none())
        .map_or_else(
            || "when verified".to_string(),
            |r| {
                let by = c.started.plus(r.target.within);
                let late = if by < state.now { ", overdue" } else { "" };
                format!("{} by {} UTC{late}", r.target.title, by.hm())
            },
        );
    format!(
        "{sev}{}: rolling back {} · progress: {}/{total} steps{now_doing} · status: {status} · ETA: {eta}",
        svc.name,
        crate::decision::route(s, t),
        done + skipped
    )
}

/// Whether `c` moved users off the suspect (its switch or revert is done).
fn switched(c: &Checklist) -> bool {
    use crate::runbook::{Act, StepKind};
    c.steps.iter().any(|s| {
        s.status == StepStatus::Done
            && matches!(
                s.spec.kind,
                StepKind::Action(Act::SwitchTraffic | Act::RevertDeployment)
            )
    })
}

/// Whether this console speaks for `service`'s incident: the
/// communications lead, if the incident has one; else the console that
/// drives it (the incident commander communicates until roles say
/// otherwise).
fn speaks_for(state: &State, service: usize) -> Result<(), UpdateRefused> {
    let c = super::roles::incident_checklist(state, service).ok_or(UpdateRefused::NoIncident)?;
    match lead(state, service) {
        Some(h) if h.session == state.session => {
            if let Some(why) = &state.journal_down {
                return Err(UpdateRefused::MayNotAct(format!(
                    "the journal cannot record anything: {why}"
                )));
            }
            Ok(())
        }
        Some(h) => Err(UpdateRefused::NotLead(
            super::room::rule::short(&h.operator).to_string(),
        )),
        None => {
            super::may_act(state, service).map_err(UpdateRefused::MayNotAct)?;
            // Auto mode's checklist has nobody at its keyboard to prompt.
            let own = state.services[service].rollback.checklist.as_ref();
            if own.is_none_or(|o| o.auto || o.run != c.run) {
                return Err(UpdateRefused::NoIncident);
            }
            Ok(())
        }
    }
}

/// The communications lead of `service`'s incident, while their console
/// is here: a lead whose console left keeps the role (it never moves by
/// itself), but the updates fall back to the driver meanwhile.
fn lead(state: &State, service: usize) -> Option<&crate::roles::Holder> {
    super::roles::holder(state, service, Role::Comms).filter(|h| {
        h.session == state.session
            || state.people.is_empty()
            || state.people.iter().any(|p| p.session == h.session)
    })
}

/// `u` (or `:update`): open the prefilled update of the incident on
/// screen — the communications lead's, or the driver's where it has none.
pub(super) fn open(state: &mut State, now: Ts) -> Result<(), UpdateRefused> {
    let service = super::checklist::shown_checklist(state)
        .map(|(s, _)| s)
        .filter(|s| super::roles::incident_checklist(state, *s).is_some())
        .ok_or(UpdateRefused::NoIncident)?;
    if lead(state, service).is_some() {
        speaks_for(state, service)?;
    } else {
        super::may_act(state, service).map_err(UpdateRefused::MayNotAct)?;
        if open_incident(state) != Some(service) {
            return Err(UpdateRefused::NoIncident);
        }
    }
    prompt(state, service, now);
    Ok(())
}

fn prompt(state: &mut State, service: usize, now: Ts) {
    let text = draft(state, service);
    let Some(c) = super::roles::incident_checklist(state, service) else {
        return;
    };
    let due = c.comms.due(every(state, c));
    let run = c.run;
    state.services[service].rollback.prompted = due.or(Some(now));
    state.ui.armed = None;
    state.ui.input = Some(TextInput {
        purpose: InputPurpose::Update { service, run },
        prompt: "update to the team (Enter sends, Esc: later)".into(),
        text,
    });
}

/// Each tick: an update due on an incident this console speaks for opens
/// by itself, once per due time, when the person is not in the middle of
/// something; else the banner and the header say it is due.
pub(super) fn on_tick(state: &mut State, now: Ts) {
    // A view open (help, why, a drill's score) is being read; a drill
    // that ended has nobody left to tell.
    let idle = state.ui.input.is_none()
        && state.ui.armed.is_none()
        && state.ui.editor.is_none()
        && state.ui.overlay == crate::model::Overlay::None
        && state.drill.as_ref().is_none_or(|d| d.ended.is_none())
        && state
            .ui
            .last_key
            .is_none_or(|(_, at)| now.since(at) >= IDLE);
    for service in 0..state.services.len() {
        let Some(c) = super::roles::incident_checklist(state, service) else {
            continue;
        };
        // Opened a tenth of the interval before it is due (30 s of 5
        // minutes): written and sent by the due time, it is on time.
        let (Some(due), Some(every)) = (c.comms.due(every(state, c)), every(state, c)) else {
            continue;
        };
        if c.ended.is_some() || now < due.minus(every / 10) {
            continue;
        }
        let due = Some(due);
        if state.services[service].rollback.prompted == due || speaks_for(state, service).is_err() {
            continue;
        }
        // A step of this console's waiting for its confirm key is in the
        // middle of something (a `y` must not land in the update). A step
        // that runs by itself — a 30-minute watch — is not: the team still
        // hears on time. Another console's steps are its own business.
        let own = state.services[service]
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|o| o.run == c.run && o.ended.is_none());
        let confirming = own && c.current().is_some_and(|s| s.pending.is_some());
        let name = state.services[service].name.clone();
        if idle && !confirming {
            state.events.push_kind(
                now,
                name,
                Level::Warn,
                Kind::Message,
                "an update to the team is due: edit it and press Enter",
            );
            prompt(state, service, now);
            return;
        }
    }
}

/// The update was typed: send it (journaled as intent and outcome).
pub(super) fn submitted(
    state: &mut State,
    service: usize,
    run: u64,
    text: String,
) -> Result<Vec<Effect>, UpdateRefused> {
    if lead(state, service).is_some() {
        speaks_for(state, service)?;
    } else {
        super::may_act(state, service).map_err(UpdateRefused::MayNotAct)?;
    }
    let c = super::roles::incident_checklist(state, service)
        .filter(|c| c.run == run)
        .ok_or(UpdateRefused::NoIncident)?;
    Ok(vec![Effect::SendUpdate {
        service,
        name: state.services[service].name.clone(),
        run,
        incident: c.incident,
        text,
        by: state.operator.clone(),
    }])
}

/// A message reached the team at `at` (an update, or a checklist's notify
/// step): the cadence counts from it — in this console's checklist, or in
/// the one it follows until the driver's next publication says the same.
pub(super) fn sent(state: &mut State, service: usize, run: u64, by: &str, at: Ts) {
    let classes = state.severities.clone();
    let Some(rb) = state.services.get_mut(service).map(|s| &mut s.rollback) else {
        return;
    };
    let own = rb.checklist.as_mut().filter(|c| c.ended.is_none());
    let c = match own {
        Some(c) => Some(c),
        None => rb
            .followed
            .as_mut()
            .map(|f| &mut f.checklist)
            .filter(|c| c.ended.is_none()),
    };
    let Some(c) = c.filter(|c| c.run == run) else {
        return;
    };
    let every = crate::severity::every(&classes, c.comms.severity.as_ref().map(|s| s.level));
    c.comms.sent(at, by, every);
}

/// The answer to `Effect::SendUpdate`: counted once it reached someone.
pub(super) fn on_sent(
    state: &mut State,
    service: usize,
    run: u64,
    by: &str,
    outcome: crate::msg::StepOutcome,
    at: Ts,
) {
    let Some(name) = state.services.get(service).map(|s| s.name.clone()) else {
        return;
    };
    let (level, text) = match &outcome.verdict {
        crate::msg::Verdict::Failed(why) => (
            Level::Bad,
            format!("the update was NOT sent: {why} (u tries again)"),
        ),
        crate::msg::Verdict::Warned(why) => (Level::Warn, format!("update by {by}: {why}")),
        crate::msg::Verdict::Done => (Level::Good, format!("update sent by {by}")),
    };
    let detail = outcome.evidence.join("; ");
    let text = if detail.is_empty() {
        text
    } else {
        format!("{text} ({detail})")
    };
    state.events.push_kind(at, name, level, Kind::Message, text);
    if !matches!(outcome.verdict, crate::msg::Verdict::Failed(_)) {
        sent(state, service, run, by, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::decision::Policy;
    use crate::msg::{Msg, StepOutcome};
    use crate::update::testkit::*;

    fn command(s: &mut State, line: &str, at: i64) -> Vec<Effect> {
        update(s, Msg::Action(Action::CommandLine, Ts(at)));
        typed(s, line, at)
    }

    fn comms(s: &State) -> &crate::comms::Comms {
        &s.services[0].rollback.checklist.as_ref().unwrap().comms
    }

    fn last_event(s: &State) -> String {
        s.events.last().map(|e| e.text.clone()).unwrap_or_default()
    }

    #[test]
    fn the_rule_proposes_a_person_declares_with_a_reason() {
        let mut s = recommended_and_started(Policy::default());
        // Green takes 10 % of the traffic: a canary.
        let proposed = comms(&s).severity.clone().unwrap();
        assert_eq!(proposed.label(), "SEV3?", "{}", proposed.why);

        let fx = command(&mut s, "sev 1", 6000);
        assert!(fx.is_empty());
        assert!(last_event(&s).contains("say why"), "{}", last_event(&s));
        command(&mut s, "sev 9 because", 6000);
        assert!(
            last_event(&s).contains("severity 9 is not one of the team's (1, 2, 3)"),
            "{}",
            last_event(&s)
        );

        let fx = command(&mut s, "sev 1 checkout fails for everyone", 6000);
        assert!(
            matches!(&fx[..], [Effect::Severity { level: 1, why, by, .. }]
                if why == "checkout fails for everyone" && by == "ops@bastion"),
            "{fx:?}"
        );
        let declared = comms(&s).severity.clone().unwrap();
        assert_eq!(declared.label(), "SEV1");
        assert!(last_event(&s).contains("was SEV3?"), "{}", last_event(&s));
        // Confirming the level in force needs no reason.
        let fx = command(&mut s, "sev 1", 6000);
        assert!(
            matches!(&fx[..], [Effect::Severity { level: 1, .. }]),
            "{fx:?}"
        );
    }

    #[test]
    fn a_due_update_opens_prefilled_when_the_person_is_idle_and_is_sent_on_enter() {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        command(&mut s, "sev 2 users see errors", 6000);
        // Five minutes after the opening (5 s), the update is due; it
        // opens 30 s before.
        update(&mut s, Msg::Tick(Ts(274_000)));
        assert!(s.ui.input.is_none(), "not due yet");
        // A key a moment before: the person is busy; it waits.
        update(&mut s, Msg::Action(Action::SelectNext, Ts(305_500)));
        update(&mut s, Msg::Tick(Ts(306_000)));
        assert!(s.ui.input.is_none(), "opened under a key");
        assert_eq!(
            cadence(&s, s.services[0].rollback.checklist.as_ref().unwrap()),
            Cadence::Late(Duration::from_secs(1))
        );
        update(&mut s, Msg::Tick(Ts(308_000)));
        let input = s.ui.input.clone().expect("the update opens");
        assert!(matches!(
            input.purpose,
            InputPurpose::Update { service: 0, run: 1 }
        ));
        assert!(
            input
                .text
                .starts_with("SEV2 web: rolling back green → blue · progress: 1/"),
            "{}",
            input.text
        );
        assert!(
            input
                .text
                .contains("status: traffic blue 90 %, green 10 %, not verified yet"),
            "{}",
            input.text
        );
        let fx = update(&mut s, Msg::Text(crate::msg::TextKey::Submit, Ts(309_000)));
        let [Effect::SendUpdate { text, run: 1, .. }] = &fx[..] else {
            panic!("{fx:?}");
        };
        assert_eq!(text, &input.text);
        update(
            &mut s,
            Msg::UpdateSent {
                service: 0,
                run: 1,
                by: "ops@bastion".into(),
                outcome: StepOutcome::ok(vec!["slack: sent (HTTP 200)".into()]),
                at: Ts(309_500),
            },
        );
        let c = comms(&s);
        assert_eq!(c.updates.len(), 1);
        assert_eq!(c.updates[0].late, Some(Duration::from_millis(4_500)));
        assert_eq!(c.due(Some(Duration::from_secs(300))), Some(Ts(609_500)));
        // Once per due time: closed with Esc, it does not reopen by itself.
        update(&mut s, Msg::Tick(Ts(610_000)));
        assert!(s.ui.input.is_some());
        update(&mut s, Msg::Text(crate::msg::TextKey::Cancel, Ts(611_000)));
        update(&mut s, Msg::Tick(Ts(620_000)));
        assert!(s.ui.input.is_none(), "reopened after Esc");
        // `u` opens it.
        update(&mut s, Msg::Action(Action::StatusUpdate, Ts(621_000)));
        assert!(s.ui.input.is_some());
    }

    #[test]
    fn a_failed_update_is_not_counted_and_a_watching_console_is_not_prompted() {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        command(&mut s, "sev 2 users see errors", 6000);
        update(
            &mut s,
            Msg::UpdateSent {
                service: 0,
                run: 1,
                by: "ops@bastion".into(),
                outcome: StepOutcome::failed("every notifier failed", vec![]),
                at: Ts(7000),
            },
        );
        assert!(comms(&s).updates.is_empty());
        assert!(last_event(&s).contains("NOT sent"), "{}", last_event(&s));

        s.services[0].read_only = true;
        update(&mut s, Msg::Tick(Ts(400_000)));
        assert!(s.ui.input.is_none(), "a read-only console was prompted");
    }
}
