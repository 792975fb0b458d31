//! `update`: the one place where the console's state changes. One file per
//! kind of input: probes, operator actions, traffic and metrics, and the
//! rules and decisions they feed.

mod actions;
mod armed;
mod checklist;
mod command;
mod comms;
mod compare;
mod decisions;
mod deploy;
mod emergency;
pub mod escalation;
mod line;
mod plan;
mod probes;
mod request;
pub mod roles;
pub mod room;
#[cfg(test)]
mod safety;
#[cfg(test)]
mod testkit;
mod traffic;

pub use armed::{ARMED_FOR, ARMED_READ, needs_second_key};
pub use checklist::{focused_checklist, message, shown_checklist};
pub use command::names as command_names;
pub use comms::{cadence, open_incidents};
pub use decisions::describe as describe_decision;
pub use emergency::ready_service;
pub use line::filterable;
pub use plan::plan;

use super::events::Level;
use super::model::{FaultAsked, InFlight, InputPurpose, Overlay, SourceKind, State};
use super::msg::{Effect, Msg};

/// Apply one message; return what must be done in the world.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    // Clocks of different sources may disagree slightly; never go back.
    state.now = state.now.max(msg.at());
    let now = state.now;
    let mut fx = dispatch(state, msg, now);
    fx.extend(emergency::refresh(state));
    watch_only(state, &mut fx, now);
    on_their_way(state, &fx, now);
    fx.extend(checklist::close_out(state));
    if state.drill.is_some() {
        observe_drill(state, now);
        if drill_done_early(state) {
            fx.extend(end_drill(state, now));
        }
    }
    fx
}

/// Whether this session may cause effects on `service` now — the one
/// question every key, command, view and auto mode meets before it acts:
/// the journal records, this console may act at all (not read-only, not a
/// team drill's joiner), and no other backstop of the room drives it.
pub fn may_act(state: &State, service: usize) -> Result<(), String> {
    let Some(svc) = state.services.get(service) else {
        return Err("no such service".into());
    };
    if let Some(why) = &state.journal_down {
        return Err(format!(
            "the journal cannot record anything, so nothing changes: {why}"
        ));
    }
    if state.approve_only {
        return Err(
            "this console joined to watch and approve: the team drill's driver acts".into(),
        );
    }
    if svc.read_only {
        return Err(format!(
            "read-only: this console watches {} and acts on nothing",
            svc.name
        ));
    }
    match room::driven_elsewhere(state, &svc.name) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// The effects that act on the world or the room: a change, an incident,
/// a lease, an approval, an acknowledgement.
fn acts(e: &Effect) -> Option<&str> {
    match e {
        Effect::SetFault { service, .. }
        | Effect::SetWeights { service, .. }
        | Effect::Lease { service, .. }
        | Effect::Role { service, .. }
        | Effect::Approval { service, .. } => Some(service),
        Effect::Page { name, .. } => Some(name),
        Effect::Step { name, work, .. } if work.mutates() => Some(name),
        Effect::OpenIncident { name, .. }
        | Effect::CloseIncident { name, .. }
        | Effect::Retype { name, .. }
        | Effect::Severity { name, .. }
        | Effect::SendUpdate { name, .. } => Some(name),
        Effect::AckInterrupted { scope, .. } => Some(scope.split('/').next().unwrap_or(scope)),
        _ => None,
    }
}

/// The room's promise at the root: whatever path a key, a command, a view
/// or auto mode took, nothing that acts leaves a console that only
/// watches. (Every path is refused before it gets here; this is where a
/// path that slipped would be stopped, and said.)
fn watch_only(state: &mut State, fx: &mut Vec<Effect>, now: super::time::Ts) {
    let all = !state.services.is_empty() && state.services.iter().all(|s| s.read_only);
    let watching = |name: &str| all || state.services.iter().any(|s| s.name == name && s.read_only);
    let (kept, refused): (Vec<Effect>, Vec<Effect>) = std::mem::take(fx)
        .into_iter()
        .partition(|e| acts(e).is_none_or(|name| !watching(name)));
    *fx = kept;
    for e in refused {
        state.events.push(
            now,
            "backstop",
            Level::Bad,
            format!("refused at the root (read-only): {}", e.describe()),
        );
    }
}

/// Every change sent is on its way until its outcome comes back: the guards
/// count it, and its outcome is recorded whatever happens to its checklist.
fn on_their_way(state: &mut State, fx: &[Effect], now: super::time::Ts) {
    for e in fx {
        let Effect::Step {
            service,
            run,
            step,
            by,
            work,
            ..
        } = e
        else {
            continue;
        };
        if !work.mutates() {
            continue;
        }
        let Some(svc) = state.services.get_mut(*service) else {
            continue;
        };
        let (from, to) = svc
            .rollback
            .checklist
            .as_ref()
            .filter(|c| c.run == *run)
            .map(|c| {
                (
                    svc.envs[c.suspect].name.clone(),
                    svc.envs[c.target].name.clone(),
                )
            })
            .unwrap_or_default();
        svc.rollback.in_flight.push(InFlight {
            run: *run,
            step: *step,
            work: work.clone(),
            at: now,
            by: by.clone(),
            from,
            to,
        });
    }
}

/// A change to `service` sent and not answered yet, in words: another must
/// wait for it (a switch and a weight change must never race).
pub(super) fn change_on_its_way(state: &State, service: usize) -> Option<String> {
    let svc = state.services.get(service)?;
    if let Some(f) = svc.rollback.in_flight.first() {
        return Some(format!("a change to {} ({})", svc.name, f.work.name()));
    }
    if let Some(e) = svc.rollback.elsewhere.first() {
        return Some(format!(
            "a change to {} ({}) in flight on {}'s console",
            svc.name,
            e.work.replace('-', " "),
            room::short(&e.operator)
        ));
    }
    state
        .ui
        .editor
        .as_ref()
        .filter(|ed| ed.service == service && ed.stage == super::traffic::EditStage::Applying)
        .map(|_| format!("a weight change to {}", svc.name))
}

/// Whether the world a change was previewed from is still the world now,
/// as core last read it: the weights exactly, the revisions exactly. `Some`
/// says what moved; a moved world gets a new preview, never the change.
pub(super) fn moved_since_preview(
    state: &State,
    service: usize,
    work: &super::msg::StepWork,
) -> Option<String> {
    use super::msg::StepWork;
    let svc = state.services.get(service)?;
    match work {
        StepWork::Switch { from, .. } => {
            match svc.traffic.as_ref().and_then(|t| t.weights.as_ref()) {
                Some(w) if w.unchanged_since(from) => None,
                Some(w) => Some(format!(
                    "the traffic moved since the preview (now {})",
                    traffic::split(w)
                )),
                None => Some("the traffic weights are not known any more".into()),
            }
        }
        StepWork::Revert { expect, to, .. } => {
            let env = svc.rollback.checklist.as_ref()?.suspect;
            match deploy::revisions(state, service, env) {
                Some((cur, prev)) if Some(&cur) == expect.as_ref() && &prev == to => None,
                Some((cur, prev)) => Some(format!(
                    "the deployment moved since the preview (now {cur} → {})",
                    prev.as_deref().unwrap_or("nothing to go back to")
                )),
                None => Some("the deployment is not known any more".into()),
            }
        }
        // A stop was previewed with its environment off traffic: users
        // back on it (or a split no longer known) void the preview.
        StepWork::Command { .. } => {
            let c = svc.rollback.checklist.as_ref()?;
            let step = c.current()?;
            if !matches!(
                step.spec.kind,
                crate::runbook::StepKind::Action(crate::runbook::Act::Stop { .. })
            ) {
                return None;
            }
            let env = &svc.envs.get(c.suspect)?.name;
            match svc.share(c.suspect) {
                Some(0) => None,
                Some(p) => Some(format!("{env} takes {p} % of traffic again")),
                None => Some("the traffic split is not known any more".into()),
            }
        }
        _ => None,
    }
}

/// Record what the drill clock can see in `state` now; called after every
/// update while a drill runs.
fn observe_drill(state: &mut State, now: crate::time::Ts) {
    let Some(d) = state.drill.as_ref() else {
        return;
    };
    if d.ended.is_some() {
        return;
    }
    let service = d.service;
    let Some(svc) = state.services.get(service) else {
        return;
    };
    let fired = svc
        .rollback
        .rules
        .iter()
        .find(|r| r.status == crate::rules::RuleStatus::Firing && !r.dry_run)
        .map(|r| r.kind.name());
    let decision = svc.rollback.decision.clone();
    let history = svc.rollback.history.len();
    let recovered = svc.rollback.checklist.as_ref().and_then(|c| c.recovered);
    let Some(d) = state.drill.as_mut() else {
        return;
    };
    if d.detected.is_none()
        && let Some(rule) = fired
    {
        d.detected = Some((now, rule));
    }
    if d.decided.is_none()
        && matches!(
            decision,
            crate::decision::Decision::RollbackRecommended { .. }
                | crate::decision::Decision::RollingBack { .. }
        )
    {
        d.decided = Some(now);
    }
    if d.escalated.is_none() && matches!(decision, crate::decision::Decision::Blocked { .. }) {
        d.escalated = Some(now);
    }
    let done = history.saturating_sub(d.rollbacks_before) as u32;
    if done > d.rollbacks {
        d.rollbacks = done;
        d.executed.get_or_insert(now);
    }
    if d.verified.is_none()
        && let Some(r) = recovered
    {
        d.verified = Some(r.max(d.started));
    }
}

/// A drill that only wants a rollback is over once its checklist is.
fn drill_done_early(state: &State) -> bool {
    let Some(d) = &state.drill else {
        return false;
    };
    let e = &d.expect;
    d.ended.is_none()
        && e.rollback
        && !e.escalate
        && e.rollbacks.is_none()
        && state
            .services
            .get(d.service)
            .and_then(|s| s.rollback.checklist.as_ref())
            .is_some_and(|c| c.ended.is_some())
}

/// Stop the drill clock, score it, show the score, report it.
fn end_drill(state: &mut State, now: super::time::Ts) -> Vec<Effect> {
    let Some(d) = state.drill.as_ref() else {
        return Vec::new();
    };
    if d.ended.is_some() {
        return Vec::new();
    }
    let checklist = state
        .services
        .get(d.service)
        .and_then(|s| s.rollback.checklist.as_ref());
    let (done, skipped) = checklist.map_or((0, 0), |c| {
        let (done, skipped, _) = c.counts();
        (done, skipped)
    });
    let crew = checklist.map(crate::drill::Crew::of).unwrap_or_default();
    // The checklist counts wall time; the scenario's is `speed` times it.
    let targets = checklist
        .map(|c| c.target_scores_at(d.speed))
        .unwrap_or_default();
    let talk = checklist.map(|c| {
        let every = comms::every(state, c);
        crate::drill::Talk::of(c, every, c.ended.as_ref().map_or(now, |(t, _)| *t), d.speed)
    });
    let score = crate::drill::score(d, done, skipped, crew, targets, talk);
    let verdict = if score.held {
        "expectation held"
    } else {
        "expectation NOT held"
    };
    let text = format!("drill {} ended: {verdict}", d.scenario);
    let (title, steps, started) = (d.title.clone(), d.steps.clone(), d.started);
    if let Some(d) = state.drill.as_mut() {
        d.ended = Some(now);
        d.score = Some(score.clone());
    }
    let level = if score.held { Level::Good } else { Level::Bad };
    state
        .events
        .push_kind(now, "drill", level, super::events::Kind::Drill, text);
    state.ui.overlay = Overlay::DrillScore;
    vec![Effect::DrillReport {
        score,
        title,
        steps,
        started,
    }]
}

fn dispatch(state: &mut State, msg: Msg, now: super::time::Ts) -> Vec<Effect> {
    match msg {
        Msg::Tick(_) => {
            let mut fx = decisions::refresh_all(state, now);
            fx.extend(checklist::on_tick(state, now));
            fx.extend(room::on_tick(state, now));
            fx.extend(checklist::resume(state, now));
            comms::on_tick(state, now);
            fx.extend(escalation::on_tick(state, now));
            fx
        }
        // One answer is a batch of one.
        Msg::Probed { endpoint, result } => {
            probes::on_answers(state, vec![(endpoint, result)], now)
        }
        Msg::ProbedMany(answers) => probes::on_answers(state, answers, now),
        // While a line is typed, keys are text (the terminal sends Msg::Text);
        // an action still arriving is ignored rather than acting behind it.
        Msg::Action(action, at)
            if state.ui.input.is_some() && action != super::action::Action::Quit =>
        {
            let _ = at;
            state.ui.armed = None;
            Vec::new()
        }
        Msg::Action(action, at) => {
            let before = state.ui.last_key.replace((action, at));
            // A question open is answered by its own rule (`armed::answer`).
            if action == super::action::Action::Confirm
                && state.ui.armed.is_none()
                && armed::is_typing(before, at)
            {
                let scope = state
                    .selected_env()
                    .and_then(|id| state.services.get(id.service))
                    .map_or_else(|| "backstop".to_string(), |s| s.name.clone());
                state.events.push(
                    at,
                    scope,
                    Level::Info,
                    format!(
                        "y not taken: it came within {} ms of the key before it (typing?); press y again",
                        ARMED_READ.as_millis()
                    ),
                );
                return Vec::new();
            }
            actions::on_action(state, action, at)
        }
        // Typing answers no question: a `y` in a line is a letter.
        Msg::Text(key, at) => {
            state.ui.armed = None;
            match state.ui.input.as_ref().map(|i| &i.purpose) {
                Some(InputPurpose::Command | InputPurpose::Filter { .. }) => {
                    command::on_text(state, key, at)
                }
                _ => checklist::on_text(state, key, at),
            }
        }
        Msg::FaultSet {
            service,
            env,
            fault,
            at,
        } => {
            if let Some(id) = state.find_env(&service, &env) {
                if let Some(e) = state.env_mut(id) {
                    e.fault = fault;
                    e.fault_since = match fault {
                        Some(_) => Some(e.fault_since.unwrap_or(at)),
                        None => None,
                    };

                    if e.fault_asked.map(FaultAsked::fault) == Some(fault) {
                        e.fault_asked = None;
                    }
                }
                if fault.is_some()
                    && let Some(d) = state.drill.as_mut()
                {
                    d.fault_at.get_or_insert(at);
                }
                let label = state.env_label(id);
                let kind = super::events::Kind::Drill;
                match fault {
                    Some(f) => state.events.push_kind(
                        at,
                        label,
                        Level::Warn,
                        kind,
                        format!("drill: fault injected: {}", f.label()),
                    ),
                    None => state.events.push_kind(
                        at,
                        label,
                        Level::Good,
                        kind,
                        "drill: faults cleared",
                    ),
                }
            }
            Vec::new()
        }
        Msg::EffectFailed { effect, error, at } => {
            state.events.push(
                at,
                "backstop",
                Level::Bad,
                format!("{effect} failed: {error}"),
            );
            Vec::new()
        }
        Msg::TrafficRead {
            service,
            result,
            at,
        } => {
            traffic::on_read(state, service, result, at);
            let mut fx = decisions::refresh(state, service, now);
            fx.extend(checklist::on_traffic_read(state, service, now));
            fx
        }
        Msg::DeployRead {
            service,
            result,
            at,
        } => {
            deploy::on_read(state, service, result, at);
            // ECS's own verdicts (a breaker tripped, its rollback) are evidence.
            let mut fx = decisions::refresh(state, service, now);
            fx.extend(checklist::on_deploy(state, service, now));
            fx
        }
        Msg::DatabaseRead {
            service,
            result,
            at,
        } => {
            if let Some(svc) = state.services.get_mut(service) {
                svc.database = Some(crate::migration::Read { result, at });
            }
            Vec::new()
        }
        Msg::Metrics {
            source,
            snapshots,
            at,
        } => {
            let services: Vec<usize> = snapshots.iter().map(|s| s.service).collect();
            traffic::on_source(state, &source, SourceKind::Metrics, Ok(snapshots.len()), at);
            traffic::on_metrics(state, &source, snapshots, at);
            let mut fx = Vec::new();
            for s in dedup(services) {
                fx.extend(decisions::refresh(state, s, now));
            }
            fx
        }
        Msg::WeightsPreview {
            service,
            request,
            result,
            at,
        } => {
            if !emergency::on_preview(state, service, request, &result, at) {
                traffic::on_preview(state, service, request, result, at);
            }
            Vec::new()
        }
        Msg::WeightsSet {
            service,
            from,
            to,
            by,
            log,
            at,
        } => {
            wrong_move(state, service, &from, &to, at);
            traffic::on_set(state, service, from, to, by, log, at);
            decisions::refresh(state, service, now)
        }
        Msg::WeightsFailed {
            service,
            error,
            log,
            at,
        } => {
            traffic::on_failed(state, service, error, log, at);
            Vec::new()
        }
        Msg::SourceFailed {
            source,
            kind,
            error,
            at,
        } => {
            traffic::on_source(state, &source, kind, Err(error), at);
            Vec::new()
        }
        Msg::Alarms {
            source,
            alarms,
            covered,
            at,
        } => {
            traffic::on_source(state, &source, SourceKind::Alarms, Ok(alarms.len()), at);
            let mut services: Vec<usize> = alarms.iter().map(|(s, _)| *s).collect();
            // Alarms gone from the answer are gone: none stays in ALARM forever.
            for s in &covered {
                if let Some(svc) = state.services.get_mut(*s) {
                    svc.alarms.retain(|a| {
                        alarms
                            .iter()
                            .any(|(x, b)| x == s && b.name == a.name && b.source == a.source)
                    });
                }
            }
            services.extend(covered);
            traffic::on_alarms(state, alarms, at);
            let mut fx = Vec::new();
            for s in dedup(services) {
                fx.extend(decisions::refresh(state, s, now));
            }
            fx
        }
        Msg::StepPreview {
            service,
            run,
            step,
            request,
            result,
            at,
        } => checklist::on_preview(state, service, run, step, request, result, at),
        Msg::StepDone {
            service,
            run,
            step,
            outcome,
            at,
        } => {
            // A message the checklist sent is an update: the cadence counts from it.
            if checklist::is_message(state, service, run, step)
                && !matches!(outcome.verdict, super::msg::Verdict::Failed(_))
            {
                let by = state.operator.clone();
                comms::sent(state, service, run, &by, at);
            }
            let mut fx = checklist::on_done(state, service, run, step, outcome, at);
            fx.extend(decisions::refresh(state, service, now));
            fx
        }
        Msg::UpdateSent {
            service,
            run,
            by,
            outcome,
            at,
        } => {
            comms::on_sent(state, service, run, &by, outcome, at);
            Vec::new()
        }
        Msg::Paged {
            service,
            key,
            level,
            act,
            outcome,
            at,
        } => {
            escalation::on_paged(state, service, &key, level, act, outcome, at);
            Vec::new()
        }
        Msg::AckRead {
            service,
            key,
            read,
            at,
        } => {
            escalation::on_ack(state, service, &key, read, at);
            Vec::new()
        }
        Msg::IncidentOpened { service, id, .. } => {
            checklist::on_incident(state, service, id);
            Vec::new()
        }
        Msg::Late { by_ms, at } => {
            let was = state.late;
            match (by_ms, was) {
                (Some(ms), _) => {
                    let since = was.map_or(at, |(_, s)| s);
                    state.late = Some((ms.max(was.map_or(0, |(w, _)| w)), since));
                    state.events.push(
                        at,
                        "backstop",
                        Level::Warn,
                        format!(
                            "backstop itself is late by {}: its own delay (CPU starved, stopped or asleep), not the endpoints' — probes that timed out meanwhile count as unknown, and auto mode holds",
                            super::time::human(std::time::Duration::from_millis(ms))
                        ),
                    );
                }
                (None, Some((worst, since))) => {
                    state.late = None;
                    state.events.push(
                        at,
                        "backstop",
                        Level::Good,
                        format!(
                            "backstop is on time again (it was late by up to {} since {})",
                            super::time::human(std::time::Duration::from_millis(worst)),
                            since.hms()
                        ),
                    );
                }
                (None, None) => {}
            }
            Vec::new()
        }
        Msg::Interrupted { actions, at } => {
            // A change of a driver that is gone is not in flight any more:
            // it is interrupted, for this console to resolve.
            for svc in &mut state.services {
                svc.rollback
                    .elsewhere
                    .retain(|e| !actions.iter().any(|a| a.intent == e.intent));
            }
            if !actions.is_empty() {
                let n = actions.len();
                state.events.push(at, "backstop", Level::Bad, format!("{n} action(s) were interrupted last time: check the real state before anything else"));
                // What was already checked of them stays checked.
                let mut actions = actions;
                for a in &mut actions {
                    if let Some(seen) = state.interrupted.iter().find(|i| i.intent == a.intent) {
                        a.real = a.real.take().or_else(|| seen.real.clone());
                    }
                }
                state.interrupted = actions;
                state.ui.overlay = Overlay::Interrupted;
            }
            Vec::new()
        }
        Msg::DrillStep { text, at } => {
            if let Some(d) = state.drill.as_mut()
                && d.ended.is_none()
            {
                d.steps.push((at, text.clone()));
                state.events.push_kind(
                    at,
                    "drill",
                    Level::Info,
                    super::events::Kind::Drill,
                    format!("scenario: {text}"),
                );
            }
            Vec::new()
        }
        Msg::DrillEnd { at } => end_drill(state, at),
        Msg::Rollback { env, by, auto, at } => {
            if state.env(env).is_none() {
                return Vec::new();
            }
            request::request_rollback(state, env, by, auto, at)
        }
        Msg::DrillReported { result, at } => {
            match &result {
                Ok(path) => state.events.push(
                    at,
                    "drill",
                    Level::Good,
                    format!("drill report written to {path}"),
                ),
                Err(e) => state.events.push(
                    at,
                    "drill",
                    Level::Bad,
                    format!("the drill report could not be written: {e}"),
                ),
            }
            if let Some(d) = state.drill.as_mut() {
                d.report = Some(result);
            }
            Vec::new()
        }
        Msg::DrillsRead { result, .. } => {
            state.trend = match result {
                Ok(points) => crate::model::TrendView::Ready(crate::trend::Trend::of(&points)),
                Err(e) => crate::model::TrendView::Failed(e),
            };
            Vec::new()
        }
        Msg::ReportWritten { incident, path, at } => {
            state.events.push(
                at,
                "backstop",
                Level::Good,
                format!("report of incident {incident} written to {path}"),
            );
            Vec::new()
        }
        Msg::People { people, leases, .. } => {
            state.people = people;
            room::on_people(state, leases, now)
        }
        Msg::Shared { rows, .. } => room::on_shared(state, rows, now),
        Msg::JournalHealth { down, at } => {
            // Said when it goes down and when it is back; a reason that
            // changes meanwhile (a write's, a read's) only updates the header.
            match (&state.journal_down, &down) {
                (None, Some(why)) => state.events.push(
                    at,
                    "backstop",
                    Level::Bad,
                    format!("journal down: {why}; nothing changes until it answers"),
                ),
                (Some(_), None) => state.events.push(
                    at,
                    "backstop",
                    Level::Good,
                    "the journal answers again: what was kept meanwhile is stored",
                ),
                _ => {}
            }
            state.journal_down = down;
            Vec::new()
        }
        Msg::LeaseDone {
            service,
            act,
            result,
            ..
        } => room::on_lease_done(state, service, act, result, now),
        Msg::RealState { intent, text, .. } => {
            if let Some(i) = state.interrupted.iter_mut().find(|i| i.intent == intent) {
                i.real = Some(text);
            }
            Vec::new()
        }
    }
}

/// In a drill: traffic moved onto an environment that was failing is a
/// wrong action, whoever moved it.
fn wrong_move(
    state: &mut State,
    service: usize,
    from: &super::traffic::Weights,
    to: &super::traffic::Weights,
    at: super::time::Ts,
) {
    let Some(svc) = state.services.get(service) else {
        return;
    };
    if state
        .drill
        .as_ref()
        .is_none_or(|d| d.ended.is_some() || d.service != service)
    {
        return;
    }
    let mut wrong = Vec::new();
    for env in &svc.envs {
        let gains = to.share(&env.name) > from.share(&env.name);
        let failing = env.status.is_some_and(|s| s.is_failure());
        if gains && failing {
            let badge = env.status.map_or("?", |s| s.badge());
            wrong.push(format!(
                "{} traffic moved onto {} while it was {badge}",
                at.hms(),
                env.name
            ));
        }
    }
    if let Some(d) = state.drill.as_mut() {
        d.wrong_actions.extend(wrong);
    }
}

fn dedup(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::action::Action;
    use crate::events::Level;
    use crate::health::HealthReport;
    use crate::health::HealthStatus;
    use crate::model::{EndpointId, Fault, Overlay, Pane, ProbeResult};
    use crate::model::{EndpointState, EnvState, Origin, Role, ServiceState};
    use crate::time::Ts;

    fn ep(role: Role) -> EndpointState {
        EndpointState::new(
            format!("http://x/{role}"),
            role,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )
    }

    fn drill() -> State {
        let env = |name: &str| EnvState::new(name, vec![ep(Role::Health), ep(Role::Ready)]);
        State::new(
            "drill",
            Origin::Drill,
            vec![ServiceState::new(
                "web",
                vec![env("blue"), env("green")],
                None,
                crate::decision::Policy::default(),
                crate::testkit::default_runbook(),
                Ts(0),
            )],
            Ts(0),
        )
    }

    fn report(status: HealthStatus, version: Option<&str>) -> HealthReport {
        HealthReport {
            status,
            http_status: Some(if status.is_failure() { 503 } else { 200 }),
            version: version.map(str::to_string),
            checks: vec![],
            summary: format!("HTTP · status {status}"),
            error: None,
        }
    }

    fn probe(s: &mut State, env: usize, endpoint: usize, at: i64, status: HealthStatus) {
        let result = ProbeResult {
            at: Ts(at),
            latency_ms: 3.0,
            report: report(status, Some("1.0.1")),
            late: None,
        };
        update(
            s,
            Msg::Probed {
                endpoint: EndpointId {
                    service: 0,
                    env,
                    endpoint,
                },
                result,
            },
        );
    }

    #[test]
    fn environment_takes_the_worst_endpoint_and_logs_transitions() {
        let mut s = drill();
        probe(&mut s, 1, 0, 1000, HealthStatus::Ok);
        let green = &s.services[0].envs[1];
        assert_eq!(green.status, Some(HealthStatus::Ok));
        assert_eq!(green.version.as_deref(), Some("1.0.1"));
        assert_eq!(
            s.events.last().map(|e| e.text.as_str()),
            Some("first answer: OK v1.0.1")
        );

        probe(&mut s, 1, 1, 2000, HealthStatus::Critical);
        let green = &s.services[0].envs[1];
        assert_eq!(green.status, Some(HealthStatus::Critical));
        assert_eq!(green.changed_at, Some(Ts(2000)));
        let transition = |s: &State| {
            s.events
                .iter()
                .rev()
                .find(|e| e.scope == "web/green" && e.text.contains(" → "))
                .cloned()
                .expect("an event")
        };
        let t = transition(&s);
        assert!(t.text.starts_with("OK → CRIT  ready:"), "{}", t.text);
        assert_eq!(t.level, Level::Bad);

        // The health endpoint is fine again, but ready still fails: no change, no event.
        let n = s
            .events
            .iter()
            .filter(|e| e.scope == "web/green" && e.text.contains(" → "))
            .count();
        probe(&mut s, 1, 0, 3000, HealthStatus::Ok);
        assert_eq!(
            s.events
                .iter()
                .filter(|e| e.scope == "web/green" && e.text.contains(" → "))
                .count(),
            n
        );
        assert_eq!(s.services[0].envs[1].status, Some(HealthStatus::Critical));

        probe(&mut s, 1, 1, 4000, HealthStatus::Ok);
        assert_eq!(s.services[0].envs[1].status, Some(HealthStatus::Ok));
        assert!(s.events.iter().any(|e| e.scope == "web/green"
            && e.text.starts_with("CRIT → OK")
            && e.level == Level::Good));
    }

    #[test]
    fn consecutive_failures_count_and_reset() {
        let mut s = drill();
        for t in 1..=3 {
            probe(&mut s, 0, 0, t * 1000, HealthStatus::Unreachable);
        }
        assert_eq!(s.services[0].envs[0].consecutive_failures(), 3);
        probe(&mut s, 0, 0, 4000, HealthStatus::Degraded);
        assert_eq!(s.services[0].envs[0].consecutive_failures(), 0);
        assert_eq!(
            s.services[0].envs[0].endpoints[0].last_success,
            Some(Ts(4000))
        );
    }

    /// A batch of answers (a few milliseconds' worth) ends where the same
    /// answers one by one end: the same health events, each at its own
    /// instant; the same rule states, with the evidence of every failing
    /// answer; the same decision. The rules are judged when the batch is
    /// in, and before an endpoint's second answer in it.
    #[test]
    fn a_batch_of_answers_is_judged_once_when_all_are_in() {
        // Blue answers well; then green, whose health endpoint fails from
        // the seventh answer on, five times in a row. Four endpoints, each
        // answering four times: a batch of a console that fell behind.
        let answers: Vec<(EndpointId, ProbeResult)> = (0..16)
            .map(|i| {
                let env = usize::from(i >= 4);
                let endpoint = i % 2;
                let status = if env == 1 && endpoint == 0 && i >= 6 {
                    HealthStatus::Unreachable
                } else {
                    HealthStatus::Ok
                };
                let result = ProbeResult {
                    at: Ts(1000 + 3 * i as i64),
                    latency_ms: 3.0 + i as f64,
                    report: report(status, Some("1.0.1")),
                    late: None,
                };
                let id = EndpointId {
                    service: 0,
                    env,
                    endpoint,
                };
                (id, result)
            })
            .collect();
        let mut one = drill();
        let mut fx_one = Vec::new();
        for (endpoint, result) in answers.clone() {
            fx_one.extend(update(&mut one, Msg::Probed { endpoint, result }));
        }
        let mut many = drill();
        let fx_many = update(&mut many, Msg::ProbedMany(answers));
        // Something happened worth comparing: a rule fired, a rollback is
        // wanted (blocked here: this state has no traffic to switch).
        for s in [&one, &many] {
            assert!(
                s.events.iter().any(|e| e.text.contains("FIRING")),
                "{:?}",
                s.events
            );
            assert!(
                matches!(
                    s.services[0].rollback.decision,
                    crate::decision::Decision::Blocked { .. }
                ),
                "{:?}",
                s.services[0].rollback.decision
            );
        }
        assert_eq!(fx_many, fx_one);
        assert_eq!(many.now, one.now);
        let health = |s: &State| -> Vec<_> {
            s.events
                .iter()
                .filter(|e| e.kind == crate::events::Kind::Health)
                .cloned()
                .collect()
        };
        assert_eq!(health(&many), health(&one));
        // Judged at the batch's last instant.
        assert!(
            many.events
                .iter()
                .filter(|e| e.kind != crate::events::Kind::Health)
                .all(|e| e.at == many.now),
            "{:?}",
            many.events
        );
        // Every failing answer's evidence, in both.
        let rules = |s: &State| -> Vec<_> {
            s.services[0]
                .rollback
                .rules
                .iter()
                .map(|r| {
                    let evidence: Vec<_> = r.evidence.iter().map(|e| e.text.clone()).collect();
                    (r.env, r.status, r.observed.clone(), evidence)
                })
                .collect()
        };
        assert_eq!(rules(&many), rules(&one));
        assert!(
            format!("{:?}", rules(&many)).contains("(2/3)"),
            "{:?}",
            rules(&many)
        );
        let decision = |s: &State| s.services[0].rollback.decision.clone();
        assert_eq!(decision(&many), decision(&one));
        for (a, b) in many.services[0].envs.iter().zip(&one.services[0].envs) {
            assert_eq!(a.status, b.status);
            assert_eq!(a.consecutive_failures(), b.consecutive_failures());
            assert_eq!(a.degraded_since, b.degraded_since);
        }
    }

    #[test]
    fn time_never_goes_back() {
        let mut s = drill();
        update(&mut s, Msg::Tick(Ts(5000)));
        update(&mut s, Msg::Tick(Ts(4000)));
        assert_eq!(s.now, Ts(5000));
    }

    #[test]
    fn inject_fault_cycles_on_the_selected_environment() {
        let mut s = drill();
        update(&mut s, Msg::Action(Action::SelectNext, Ts(1000)));
        update(&mut s, Msg::Action(Action::InjectFault, Ts(2000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(2500)));
        assert_eq!(
            fx,
            vec![Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: Some(Fault::Unhealthy)
            }]
        );
        // Nothing changes until the sandbox says it applied the fault.
        assert_eq!(s.services[0].envs[1].fault, None);
        update(
            &mut s,
            Msg::FaultSet {
                service: "web".into(),
                env: "green".into(),
                fault: Some(Fault::Unhealthy),
                at: Ts(3000),
            },
        );
        assert_eq!(s.services[0].envs[1].fault, Some(Fault::Unhealthy));
        update(&mut s, Msg::Action(Action::InjectFault, Ts(4000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(4500)));
        assert_eq!(
            fx,
            vec![Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: Some(Fault::Degraded)
            }]
        );
        // Pressed again before the sandbox answered: the cycle moves on.
        update(&mut s, Msg::Action(Action::InjectFault, Ts(4000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(4500)));
        assert_eq!(
            fx,
            vec![Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: Some(Fault::Slow)
            }]
        );
        update(&mut s, Msg::Action(Action::ClearFaults, Ts(5000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(5500)));
        assert_eq!(
            fx,
            vec![Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: None
            }]
        );
    }

    #[test]
    fn faults_are_refused_outside_a_drill() {
        let mut s = drill();
        s.origin = Origin::Config("backstop.toml".into());
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(1))).is_empty());
        assert!(
            s.events
                .last()
                .is_some_and(|e| e.text.contains("only in a drill"))
        );
    }

    #[test]
    fn selection_is_clamped_and_help_is_modal() {
        let mut s = drill();
        for _ in 0..5 {
            update(&mut s, Msg::Action(Action::SelectNext, Ts(1)));
        }
        assert_eq!(s.ui.selected, 1);
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(1)));
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(1)));
        assert_eq!(s.ui.selected, 0);

        update(&mut s, Msg::Action(Action::Help, Ts(1)));
        assert_eq!(s.ui.overlay, Overlay::Help);
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(1))).is_empty());
        update(&mut s, Msg::Action(Action::SelectNext, Ts(1)));
        assert_eq!(s.ui.selected, 0, "keys behind the help do nothing");
        update(&mut s, Msg::Action(Action::Back, Ts(1)));
        assert_eq!(s.ui.overlay, Overlay::None);
        update(&mut s, Msg::Action(Action::Quit, Ts(1)));
        assert!(s.quit);
    }

    #[test]
    fn panes_cycle_and_events_scroll() {
        let mut s = drill();
        for i in 0..10 {
            s.events.push(Ts(i), "web", Level::Info, "x");
        }
        update(&mut s, Msg::Action(Action::NextPane, Ts(1)));
        assert_eq!(s.ui.focus, Pane::Traffic);
        // The previous pane of the first is the last: the event log.
        update(&mut s, Msg::Action(Action::PrevPane, Ts(1)));
        update(&mut s, Msg::Action(Action::PrevPane, Ts(1)));
        assert_eq!(s.ui.focus, Pane::Events);
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(1)));
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(1)));
        assert_eq!(s.ui.events_scroll, 2);
        update(&mut s, Msg::Action(Action::Back, Ts(1)));
        assert_eq!(s.ui.events_scroll, 0);
        update(&mut s, Msg::Action(Action::NextPane, Ts(1)));
        assert_eq!(s.ui.focus, Pane::Health);
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(1)));
        assert_eq!(s.ui.overlay, Overlay::Detail);
        update(&mut s, Msg::Action(Action::Back, Ts(1)));
        assert_eq!(s.ui.overlay, Overlay::None);
    }
}
