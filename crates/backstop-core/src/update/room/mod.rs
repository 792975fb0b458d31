//! The war room: what the other consoles on the journal do, who drives
//! each service (its lease), handing a service over, and the two-person
//! rule. Only the lease holder changes a service; the others follow its
//! checklist as the driver publishes it, ask to drive, and approve.

use crate::action::Action;
use crate::events::{Kind, Level};
use crate::model::{Asker, Followed, InputPurpose, LeaseView, Pane, State, TextInput};
use crate::msg::{ApprovalAct, Effect, LeaseAct, Shared, SharedWhat};
use crate::runbook::{StepKind, StepStatus};
use crate::time::Ts;

use super::checklist::{self, Go};

pub mod rule;
pub use rule::{names, needs_approval, short};

/// The lease of `service`, if someone holds it.
pub fn lease<'a>(state: &'a State, service: &str) -> Option<&'a LeaseView> {
    state.leases.iter().find(|l| l.service == service)
}

/// Whether this console drives `service`.
pub fn drives(state: &State, service: &str) -> bool {
    lease(state, service).is_some_and(|l| l.session == state.session)
}

/// Why this console may not act on `service` now: another console drives it.
pub fn driven_elsewhere(state: &State, service: &str) -> Option<String> {
    let l = lease(state, service)?;
    if l.session == state.session {
        return None;
    }
    let drill = state
        .people
        .iter()
        .any(|p| p.session == l.session && p.what == "drill");
    Some(if drill && !l.lost {
        format!(
            "a DRILL on {service} by {} holds it since {}: nothing here acts on it until the drill ends",
            short(&l.operator),
            l.since.hms()
        )
    } else if l.lost {
        format!(
            "{} drove {service} but is gone (no heartbeat for {}s): D takes it over",
            short(&l.operator),
            l.quiet_s
        )
    } else {
        format!(
            "{} drives {service} since {}: D asks to drive it",
            short(&l.operator),
            l.since.hms()
        )
    })
}

/// Rows the other backstops wrote, in the journal's order.
pub(super) fn on_shared(state: &mut State, rows: Vec<Shared>, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    // Answers to approval requests act (a change may run on one): they are
    // weighed once the whole batch is read, against what it says now — a
    // later row may say someone else drives by then.
    let mut answers = Vec::new();
    for row in rows {
        // Role rows count whoever wrote them: the journal's order decides.
        if matches!(row.what, SharedWhat::Role { .. }) {
            super::roles::on_row(state, &row);
            continue;
        }
        if row.session == state.session {
            continue;
        }
        if matches!(row.what, SharedWhat::Approval { .. }) {
            answers.push(row);
            continue;
        }
        let name = row
            .scope
            .split('/')
            .next()
            .unwrap_or(&row.scope)
            .to_string();
        let service = state.services.iter().position(|s| s.name == name);
        let who = short(&row.operator).to_string();
        match row.what {
            SharedWhat::Line { level, text } => {
                state.events.push_kind(
                    row.at,
                    row.scope,
                    level,
                    Kind::Room,
                    format!("{who}: {text}"),
                );
            }
            SharedWhat::Change { work, text, route } => {
                if let Some(service) = service {
                    let rb = &mut state.services[service].rollback;
                    if !rb.elsewhere.iter().any(|e| e.intent == row.id) {
                        rb.elsewhere.push(crate::model::Elsewhere {
                            intent: row.id,
                            operator: row.operator.clone(),
                            session: row.session.clone(),
                            work,
                            text: text.clone(),
                            at: row.at,
                            route,
                        });
                    }
                }
                state.events.push_kind(
                    row.at,
                    row.scope,
                    Level::Warn,
                    Kind::Room,
                    format!("{who}: {text}"),
                );
            }
            SharedWhat::Resolved {
                intent,
                good,
                level,
                text,
            } => {
                // The change landed (or not): a rollback that did counts for
                // the guards here as where it was made.
                let mut told = None;
                for (i, svc) in state.services.iter_mut().enumerate() {
                    let rb = &mut svc.rollback;
                    if let Some(at) = rb.elsewhere.iter().position(|e| e.intent == intent) {
                        let e = rb.elsewhere.remove(at);
                        // The team heard from the incident (the
                        // communications lead's update): the cadence
                        // counts from it here, where the checklist is.
                        if good && e.work == "notify" {
                            told = Some((i, e.operator.clone()));
                        }
                        if let (true, Some((from, to))) = (good, e.route) {
                            rb.history.push(crate::decision::RollbackRecord {
                                at: row.at,
                                from,
                                to,
                                by: e.operator,
                            });
                        }
                    }
                }
                if let Some((service, by)) = told
                    && let Some(run) = state.services[service]
                        .rollback
                        .checklist
                        .as_ref()
                        .map(|c| c.run)
                {
                    super::comms::sent(state, service, run, &by, row.at);
                }
                state.events.push_kind(
                    row.at,
                    row.scope,
                    level,
                    Kind::Room,
                    format!("{who}: {text}"),
                );
            }
            SharedWhat::Checklist(mut c) => {
                let Some(service) = service else { continue };
                let envs = state.services[service].envs.len();
                // Another configuration's checklist cannot be drawn here.
                if c.suspect >= envs || c.target >= envs {
                    continue;
                }
                c.service = service;
                // A rollback another console starts comes to this screen,
                // unless this console is busy with its own.
                let new = state.services[service]
                    .rollback
                    .followed
                    .as_ref()
                    .is_none_or(|f| f.checklist.started != c.started);
                if new
                    && c.ended.is_none()
                    && state.ui.overlay == crate::model::Overlay::None
                    && state.ui.input.is_none()
                    && checklist::focused_checklist(state).is_none()
                {
                    state.ui.focus = Pane::Checklist;
                }
                state.services[service].rollback.followed = Some(Followed {
                    operator: row.operator,
                    person: row.person,
                    vouched: row.vouched,
                    session: row.session,
                    checklist: *c,
                    at: row.at,
                });
            }
            SharedWhat::AskToDrive => {
                let Some(service) = service else { continue };
                if drives(state, &name) {
                    state.services[service].rollback.asked = Some(Asker {
                        operator: row.operator,
                        session: row.session,
                        at: row.at,
                    });
                    state.events.push_kind(
                        now,
                        name,
                        Level::Warn,
                        Kind::Incident,
                        format!("{who} asks to drive: H hands it over"),
                    );
                } else {
                    state.events.push_kind(
                        now,
                        name,
                        Level::Info,
                        Kind::Room,
                        format!("{who} asks to drive"),
                    );
                }
            }
            SharedWhat::Drives { text } => {
                // Known at once, not at the next look at the lease table.
                held_by(state, &name, &row.operator, &row.session, row.at);
                fx.extend(yield_to(state, &name, &row.operator, &row.session, now));
                state.events.push_kind(
                    row.at,
                    row.scope,
                    Level::Info,
                    Kind::Room,
                    format!("{who}: {text}"),
                );
            }
            SharedWhat::HandedOver { session, operator } => {
                let Some(service) = service else { continue };
                held_by(state, &name, &operator, &session, row.at);
                if session == state.session {
                    state.events.push_kind(
                        now,
                        name.clone(),
                        Level::Good,
                        Kind::Room,
                        format!("{who} handed {name} over: you drive it now"),
                    );
                    fx.extend(take(state, service, None));
                } else {
                    state.events.push_kind(
                        now,
                        name,
                        Level::Info,
                        Kind::Room,
                        format!("{who} handed it over to {}", short(&operator)),
                    );
                }
            }
            // Weighed after the batch (above).
            SharedWhat::Approval { .. } => {}
            // The engine relays readings as the sources' own messages.
            SharedWhat::Readings(_) => {}
            // Folded above.
            SharedWhat::Role { .. } => {}
        }
    }
    for row in answers {
        let SharedWhat::Approval {
            driver,
            request,
            act,
        } = row.what
        else {
            continue;
        };
        let name = row.scope.split('/').next().unwrap_or(&row.scope);
        let Some(service) = state.services.iter().position(|s| s.name == name) else {
            continue;
        };
        let from = Answerer {
            operator: &row.operator,
            person: &row.person,
            vouched: row.vouched.as_deref(),
        };
        fx.extend(on_approval(
            state, service, &from, &driver, request, act, now,
        ));
    }
    fx
}

/// `service`'s lease is held by `session` since `at`, as a row said.
fn held_by(state: &mut State, service: &str, operator: &str, session: &str, at: Ts) {
    state.leases.retain(|l| l.service != service);
    state.leases.push(LeaseView {
        service: service.into(),
        operator: operator.into(),
        session: session.into(),
        token: 0,
        since: at,
        lost: false,
        quiet_s: 0,
    });
}

/// Who sent a two-person-rule row: the name on it, the person it says,
/// and who the room vouches sent it (an approval's proof), if anyone.
struct Answerer<'a> {
    operator: &'a str,
    person: &'a str,
    vouched: Option<&'a str>,
}

/// Why an answer from `from` may not count as the second person's, if it
/// may not. By default the room must vouch for who answered (their own
/// account on this host, their AWS principal) and it must not be the
/// driver's; a team on one shared login opts in to self-declared names
/// (`self_declared_approvers`), which are then compared — and said so.
pub fn approval_refused(
    state: &State,
    service: usize,
    person: &str,
    vouched: Option<&str>,
) -> Option<String> {
    let name = &state.services.get(service)?.name;
    if person == state.person {
        return Some("the driver cannot approve their own change".into());
    }
    if state.services[service]
        .rollback
        .policy
        .self_declared_approvers
    {
        return None;
    }
    match (vouched, state.vouched.as_deref()) {
        (None, _) => Some(format!(
            "nothing vouches for who sent it (a name typed at a keyboard proves nothing): {name} takes approvals from a second account — its own login on this host, or its own AWS principal on a shared table"
        )),
        (Some(_), None) => Some(
            "this console cannot tell whose account it runs under, so no approval can be checked against it".into(),
        ),
        (Some(v), Some(me)) if v == me => Some(format!(
            "it came from the driver's own account ({v}): a second person approves from their own login"
        )),
        _ => None,
    }
}

/// A two-person-rule row from another console.
fn on_approval(
    state: &mut State,
    service: usize,
    from: &Answerer<'_>,
    driver: &str,
    request: u64,
    act: ApprovalAct,
    now: Ts,
) -> Vec<Effect> {
    let name = state.services[service].name.clone();
    let who = short(from.operator).to_string();
    let mine = driver == state.session;
    match act {
        ApprovalAct::Ask { title, .. } => {
            let self_declared = state.services[service]
                .rollback
                .policy
                .self_declared_approvers;
            let ask = if from.person == state.person
                || (!self_declared
                    && from.vouched.is_some()
                    && from.vouched == state.vouched.as_deref())
            {
                "(you cannot approve your own change)".to_string()
            } else {
                "a approves, R rejects".to_string()
            };
            state.events.push_kind(
                now,
                name,
                Level::Warn,
                Kind::Room,
                format!("{who} asks a second person to approve: {title} — {ask}"),
            );
            Vec::new()
        }
        ApprovalAct::Approve | ApprovalAct::Reject(_) if mine => {
            let waiting = matches!(
                current(state, service),
                Some(StepStatus::AwaitingApproval { request: r, .. }) if r == request
            );
            if !waiting {
                // Expired, withdrawn, or answered already: nothing waits on it.
                state.events.push(
                    now,
                    name,
                    Level::Info,
                    format!("{who}'s answer came after the request was closed: nothing changed"),
                );
                return Vec::new();
            }
            let refusal = approval_refused(state, service, from.person, from.vouched);
            let incident = incident(state, service);
            if let Some(why) = refusal {
                state.events.push_kind(
                    now,
                    name.clone(),
                    Level::Bad,
                    Kind::Room,
                    format!("approval from {who} refused: {why}"),
                );
                return vec![Effect::Approval {
                    service: name,
                    incident,
                    driver: state.session.clone(),
                    request,
                    act: ApprovalAct::Refuse(why),
                }];
            }
            if let ApprovalAct::Reject(why) = act {
                reopen(
                    state,
                    service,
                    format!("rejected by {who} at {}: {why}", now.hms()),
                );
                state.events.push_kind(
                    now,
                    name,
                    Level::Warn,
                    Kind::Room,
                    format!("{who} rejected the change: {why}"),
                );
                return Vec::new();
            }
            // Who approved, as the room knows them: their vouched account,
            // or their name marked self-declared where a team allows that.
            let label = match from.vouched {
                _ if state.services[service]
                    .rollback
                    .policy
                    .self_declared_approvers =>
                {
                    format!("{who} (self-declared)")
                }
                Some(v) if v == who || v.split('@').next() == Some(who.as_str()) => v.to_string(),
                Some(v) => format!("{who} ({v})"),
                None => who.clone(),
            };
            if state.ui.input.is_some() {
                // Nothing changes behind a person typing: it runs when the line closes.
                state.events.push_kind(
                    now,
                    name,
                    Level::Good,
                    Kind::Room,
                    format!("{label} approved the change: it runs when your line is closed"),
                );
                state.services[service].rollback.approved_meanwhile = Some((request, label));
                return Vec::new();
            }
            state.events.push_kind(
                now,
                name,
                Level::Good,
                Kind::Room,
                format!("{label} approved the change"),
            );
            checklist::go(state, service, now, Go::Approved(label))
        }
        other => {
            let (level, text) = match &other {
                ApprovalAct::Approve => (Level::Good, "approved the change".to_string()),
                ApprovalAct::Reject(why) => (Level::Warn, format!("rejected the change: {why}")),
                ApprovalAct::Override(why) => {
                    (Level::Bad, format!("OVERRODE the two-person rule: {why}"))
                }
                ApprovalAct::Expire => (
                    Level::Warn,
                    "the change waited for an approval in vain: expired".into(),
                ),
                ApprovalAct::Refuse(why) => (Level::Warn, format!("refused an approval: {why}")),
                ApprovalAct::Ask { .. } => return Vec::new(),
            };
            state
                .events
                .push_kind(now, name, level, Kind::Room, format!("{who} {text}"));
            Vec::new()
        }
    }
}

/// The current step's status of `service`'s own checklist.
fn current(state: &State, service: usize) -> Option<StepStatus> {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .filter(|c| c.ended.is_none())
        .and_then(|c| c.current())
        .map(|s| s.status.clone())
}

fn incident(state: &State, service: usize) -> Option<i64> {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.incident)
}

/// The current step goes back to its turn, its preview dropped, saying why.
fn reopen(state: &mut State, service: usize, why: String) {
    let Some(c) = state.services[service].rollback.checklist.as_mut() else {
        return;
    };
    let cursor = c.cursor;
    if let Some(s) = c.steps.get_mut(cursor) {
        s.status = StepStatus::Current;
        s.pending = None;
        s.evidence.push(why);
    }
}

/// The driver takes back an approval request (Esc on the waiting step).
pub(super) fn withdraw(state: &mut State, service: usize, request: u64, now: Ts) -> Vec<Effect> {
    let name = state.services[service].name.clone();
    reopen(
        state,
        service,
        format!("approval request withdrawn at {}", now.hms()),
    );
    vec![Effect::Approval {
        service: name,
        incident: incident(state, service),
        driver: state.session.clone(),
        request,
        act: ApprovalAct::Refuse("withdrawn by the driver".into()),
    }]
}

/// Approvals nobody gave in time expire: the step goes back to its turn.
pub(super) fn on_tick(state: &mut State, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    for service in 0..state.services.len() {
        let expiry = state.services[service].rollback.policy.approval_expiry;
        let Some(StepStatus::AwaitingApproval { request, asked, .. }) = current(state, service)
        else {
            continue;
        };
        if now.since(asked) < expiry {
            continue;
        }
        let name = state.services[service].name.clone();
        reopen(
            state,
            service,
            format!(
                "no second person approved within {}: expired",
                crate::time::human(expiry)
            ),
        );
        state.events.push_kind(
            now,
            name.clone(),
            Level::Warn,
            Kind::Step,
            "the approval request expired: nothing changed; preview again to ask again",
        );
        fx.push(Effect::Approval {
            service: name,
            incident: incident(state, service),
            driver: state.session.clone(),
            request,
            act: ApprovalAct::Expire,
        });
    }
    fx
}

/// Who is here, and who holds which lease.
pub(super) fn on_people(state: &mut State, leases: Vec<LeaseView>, now: Ts) -> Vec<Effect> {
    state.leases = leases;
    // A request from someone who has since taken the lease, or left, is done.
    for svc in &mut state.services {
        let holder = state.leases.iter().find(|l| l.service == svc.name);
        if holder.is_none_or(|l| l.session != state.session) {
            svc.rollback.asked = None;
        }
    }
    // A service another backstop drives now is theirs: a checklist of this
    // console's (stopped and taken over, or beaten to the lease) follows it.
    let others: Vec<(String, String, String)> = state
        .leases
        .iter()
        .filter(|l| l.session != state.session && !l.lost)
        .map(|l| (l.service.clone(), l.operator.clone(), l.session.clone()))
        .collect();
    let mut fx = Vec::new();
    for (service, operator, session) in others {
        fx.extend(yield_to(state, &service, &operator, &session, now));
    }
    fx
}

/// `service` is driven by another backstop (`operator`, `session`): this
/// console's own checklist of it, if one is open, is theirs now — shown as
/// followed, its next steps theirs to take.
fn yield_to(
    state: &mut State,
    service: &str,
    operator: &str,
    session: &str,
    now: Ts,
) -> Vec<Effect> {
    let Some(i) = state.services.iter().position(|s| s.name == service) else {
        return Vec::new();
    };
    if state.services[i]
        .rollback
        .checklist
        .as_ref()
        .is_none_or(|c| c.ended.is_some())
    {
        return Vec::new();
    }
    // One that changed nothing yet is put away, saying whose it is.
    if untouched(state, i) {
        return refused(
            state,
            i,
            &format!("{} drives {service}", short(operator)),
            now,
        );
    }
    let rb = &mut state.services[i].rollback;
    let Some(c) = rb.checklist.take() else {
        return Vec::new();
    };
    rb.in_progress = None;
    rb.followed = Some(Followed {
        operator: operator.to_string(),
        person: String::new(),
        vouched: None,
        session: session.to_string(),
        checklist: c,
        at: now,
    });
    state.events.push_kind(
        now,
        service.to_string(),
        Level::Warn,
        Kind::Room,
        format!(
            "{} drives {service} now: this console follows their checklist (D asks to drive)",
            short(operator)
        ),
    );
    Vec::new()
}

/// What the executor made of a lease asked for.
pub(super) fn on_lease_done(
    state: &mut State,
    service: String,
    act: LeaseAct,
    result: Result<String, String>,
    now: Ts,
) -> Vec<Effect> {
    let Some(i) = state.services.iter().position(|s| s.name == service) else {
        return Vec::new();
    };
    let text = match result {
        Err(e) => {
            state
                .events
                .push_kind(now, service.clone(), Level::Bad, Kind::Room, e.clone());
            return match act {
                LeaseAct::Take { .. } => refused(state, i, &e, now),
                _ => Vec::new(),
            };
        }
        Ok(text) => text,
    };
    match act {
        LeaseAct::HandOver { session, operator } => {
            // The checklist goes on under the new driver: from here this
            // console follows it.
            let rb = &mut state.services[i].rollback;
            rb.asked = None;
            if let Some(c) = rb.checklist.take() {
                rb.in_progress = None;
                rb.followed = Some(Followed {
                    person: String::new(),
                    vouched: None,
                    operator: operator.clone(),
                    session: session.clone(),
                    checklist: c,
                    at: now,
                });
            }
            held_by(state, &service, &operator, &session, now);
        }
        LeaseAct::Take { .. } => {
            adopt(state, i, now);
            state.leases.retain(|l| l.service != service);
            state.leases.push(LeaseView {
                service: service.clone(),
                operator: state.operator.clone(),
                session: state.session.clone(),
                token: 0,
                since: now,
                lost: false,
                quiet_s: 0,
            });
        }
        LeaseAct::Ask => {}
    }
    // The lease's own row is in the journal: this line is for this screen.
    state
        .events
        .push_kind(now, service, Level::Good, Kind::Room, text);
    Vec::new()
}

/// Ask for the lease of `service` (free, handed to this console, or a lost
/// driver's): once granted, the checklist the last driver published
/// carries on here (`adopt`).
fn take(state: &State, service: usize, from: Option<String>) -> Vec<Effect> {
    let rb = &state.services[service].rollback;
    let incident = rb
        .followed
        .as_ref()
        .filter(|f| f.checklist.ended.is_none() && rb.checklist.is_none())
        .and_then(|f| f.checklist.incident);
    vec![Effect::Lease {
        service: state.services[service].name.clone(),
        act: LeaseAct::Take { from, incident },
    }]
}

/// This console drives `service` now: the checklist the last driver
/// published carries on here, each step from now attributed to this
/// operator; a step that waited on the last driver's key starts again.
fn adopt(state: &mut State, service: usize, now: Ts) {
    let runs = state.checklist_runs + 1;
    let rb = &mut state.services[service].rollback;
    if rb.checklist.as_ref().is_some_and(|c| c.ended.is_none()) {
        return;
    }
    let Some(f) = rb.followed.take_if(|f| f.checklist.ended.is_none()) else {
        return;
    };
    let mut c = f.checklist;
    c.run = runs;
    c.service = service;
    c.auto = false;
    let cursor = c.cursor;
    if let Some(s) = c.steps.get_mut(cursor)
        && !matches!(s.status, StepStatus::Current | StepStatus::Waiting)
        && !s.status.settled()
    {
        s.status = StepStatus::Current;
        s.pending = None;
        s.evidence.push(format!(
            "handed over at {} from {}: preview it again",
            now.hms(),
            short(&f.operator)
        ));
    }
    rb.in_progress = Some(crate::decision::UnderWay {
        suspect: c.suspect,
        target: c.target,
        since: c.started,
        by: c.started_by.clone(),
    });
    rb.checklist = Some(c);
    state.checklist_runs = runs;
    state.ui.focus = Pane::Checklist;
}

/// The lease was refused (someone else took it first): a checklist this
/// console just opened, which has changed nothing (a re-probe may run), is
/// abandoned saying who drives; anything further is stopped by the fence.
fn refused(state: &mut State, service: usize, why: &str, now: Ts) -> Vec<Effect> {
    if !untouched(state, service) {
        return Vec::new();
    }
    let by = state.operator.clone();
    checklist::abort(
        state,
        service,
        format!("not this console's to drive: {why}"),
        &by,
        now,
    )
}

/// This console's checklist of `service` is open and has changed nothing
/// yet (a re-probe may run).
fn untouched(state: &State, service: usize) -> bool {
    let rb = &state.services[service].rollback;
    rb.in_flight.is_empty()
        && rb.checklist.as_ref().is_some_and(|c| {
            c.ended.is_none()
                && c.steps.iter().all(|s| {
                    let changes = matches!(&s.spec.kind, StepKind::Action(a) if a.mutates());
                    let begun =
                        matches!(s.status, StepStatus::Running { .. }) || s.status.settled();
                    !(changes && begun)
                })
        })
}

/// The war room's keys.
pub(super) fn on_action(state: &mut State, action: Action, now: Ts) -> Vec<Effect> {
    let service = if state.ui.focus == Pane::Checklist {
        checklist::shown_checklist(state).map(|(s, _)| s)
    } else {
        state.selected_env().map(|e| e.service)
    };
    let Some(service) = service else {
        return Vec::new();
    };
    let name = state.services[service].name.clone();
    // This console's own notices: the rows the effects write say the rest.
    let say = |state: &mut State, level, text: String| {
        state
            .events
            .push_kind(now, name.clone(), level, Kind::Room, text);
    };
    match action {
        Action::Drive => {
            if state.approve_only {
                say(
                    state,
                    Level::Info,
                    "a team drill is driven from the console that runs its sandbox".into(),
                );
                return Vec::new();
            }
            if state.services[service].read_only {
                say(
                    state,
                    Level::Info,
                    "read-only: this console watches and never drives".into(),
                );
                return Vec::new();
            }
            match lease(state, &name).cloned() {
                Some(l) if l.session == state.session => {
                    say(state, Level::Info, format!("you drive {name} already"));
                    Vec::new()
                }
                Some(l) if l.lost => {
                    state.ui.input = Some(TextInput {
                        purpose: InputPurpose::TakeOver {
                            service,
                            from: l.operator.clone(),
                        },
                        prompt: format!(
                            "{} drove {name} but is gone (no heartbeat for {}s). Type yes to take it over: ",
                            short(&l.operator),
                            l.quiet_s
                        ),
                        text: String::new(),
                    });
                    Vec::new()
                }
                Some(l) => {
                    say(
                        state,
                        Level::Info,
                        format!("asked {} to hand {name} over", short(&l.operator)),
                    );
                    vec![Effect::Lease {
                        service: name,
                        act: LeaseAct::Ask,
                    }]
                }
                None => take(state, service, None),
            }
        }
        Action::HandOver => {
            let Some(asker) = state.services[service].rollback.asked.clone() else {
                say(
                    state,
                    Level::Info,
                    "nobody asked to drive: nothing to hand over".into(),
                );
                return Vec::new();
            };
            if let Some(why) = busy(state, service) {
                say(
                    state,
                    Level::Warn,
                    format!("{why}: hand over when it settles"),
                );
                return Vec::new();
            }
            // A preview or an approval asked by this driver is theirs: the
            // next driver previews again.
            if matches!(
                current(state, service),
                Some(
                    StepStatus::Previewing(_)
                        | StepStatus::AwaitingPreview
                        | StepStatus::AwaitingApproval { .. }
                )
            ) {
                reopen(state, service, format!("handed over at {}", now.hms()));
            }
            vec![Effect::Lease {
                service: name,
                act: LeaseAct::HandOver {
                    session: asker.session,
                    operator: asker.operator,
                },
            }]
        }
        Action::Approve | Action::Reject => {
            let waiting = state.services[service]
                .rollback
                .followed
                .as_ref()
                .filter(|f| f.checklist.ended.is_none())
                .and_then(|f| {
                    f.checklist.current().and_then(|s| match &s.status {
                        StepStatus::AwaitingApproval { request, .. } => {
                            Some((f.session.clone(), *request, f.checklist.incident))
                        }
                        _ => None,
                    })
                });
            let own = state.services[service]
                .rollback
                .followed
                .as_ref()
                .is_some_and(|f| f.session != state.session && follows_person(state, f, service));
            let Some((driver, request, incident)) = waiting else {
                say(
                    state,
                    Level::Info,
                    format!("no change of {name} waits for an approval"),
                );
                return Vec::new();
            };
            if state.services[service].read_only {
                say(
                    state,
                    Level::Info,
                    "read-only: this console watches; approving is for one that may act".into(),
                );
                return Vec::new();
            }
            if own && action == Action::Approve {
                say(
                    state,
                    Level::Warn,
                    "you drive it from another console: a second person approves".into(),
                );
                return Vec::new();
            }
            if action == Action::Reject {
                state.ui.input = Some(TextInput {
                    purpose: InputPurpose::RejectReason {
                        service,
                        driver,
                        request,
                    },
                    prompt: "Reject the change because: ".into(),
                    text: String::new(),
                });
                return Vec::new();
            }
            say(state, Level::Info, "approval sent".into());
            vec![Effect::Approval {
                service: name,
                incident,
                driver,
                request,
                act: ApprovalAct::Approve,
            }]
        }
        Action::Override => {
            let Some(StepStatus::AwaitingApproval { request, .. }) = current(state, service) else {
                say(
                    state,
                    Level::Info,
                    "no change of yours waits for an approval".into(),
                );
                return Vec::new();
            };
            if !state.services[service].rollback.policy.allow_override {
                say(
                    state,
                    Level::Warn,
                    format!(
                        "{name} does not allow overriding the two-person rule (allow_override = false): a second person approves"
                    ),
                );
                return Vec::new();
            }
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::OverrideReason { service, request },
                prompt: "OVERRIDE the two-person rule because: ".into(),
                text: String::new(),
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Whether this console may answer the approval `f`'s driver asks for on
/// `service`: it may act on the room at all, and it is not the driver.
pub fn may_answer(state: &State, service: usize, f: &Followed) -> bool {
    let Some(svc) = state.services.get(service) else {
        return false;
    };
    !svc.read_only
        && state.journal_down.is_none()
        && f.session != state.session
        && !follows_person(state, f, service)
}

/// The followed checklist's driver is this console's person — by name,
/// or, where approvals must come from a second account, by account.
fn follows_person(state: &State, f: &Followed, service: usize) -> bool {
    let by_account = !state.services[service]
        .rollback
        .policy
        .self_declared_approvers
        && f.vouched.is_some()
        && f.vouched == state.vouched;
    f.person == state.person || by_account
}

/// A change of `service` under way, which a handover must wait for.
fn busy(state: &State, service: usize) -> Option<String> {
    if let Some(what) = super::change_on_its_way(state, service) {
        return Some(format!("{what} is on its way"));
    }
    matches!(current(state, service), Some(StepStatus::Running { .. }))
        .then(|| "a step is running".to_string())
}

/// A typed line for the war room: a rejection's reason, an override's, a take-over's yes.
pub(super) fn submitted(
    state: &mut State,
    purpose: InputPurpose,
    text: String,
    now: Ts,
) -> Vec<Effect> {
    match purpose {
        InputPurpose::RejectReason {
            service,
            driver,
            request,
        } => {
            let name = state.services[service].name.clone();
            let incident = state.services[service]
                .rollback
                .followed
                .as_ref()
                .and_then(|f| f.checklist.incident);
            vec![Effect::Approval {
                service: name,
                incident,
                driver,
                request,
                act: ApprovalAct::Reject(text),
            }]
        }
        InputPurpose::OverrideReason { service, request } => {
            let waiting = matches!(
                current(state, service),
                Some(StepStatus::AwaitingApproval { request: r, .. }) if r == request
            );
            let name = state.services[service].name.clone();
            if !waiting {
                state.events.push(
                    now,
                    name,
                    Level::Warn,
                    "the request closed while you typed: nothing was overridden",
                );
                return Vec::new();
            }
            let mut fx = vec![Effect::Approval {
                service: name.clone(),
                incident: incident(state, service),
                driver: state.session.clone(),
                request,
                act: ApprovalAct::Override(text.clone()),
            }];
            state.events.push_kind(
                now,
                name,
                Level::Bad,
                Kind::Step,
                format!(
                    "two-person rule OVERRIDDEN by {}: {text}",
                    short(&state.operator)
                ),
            );
            fx.extend(checklist::go(state, service, now, Go::Overridden(text)));
            fx
        }
        InputPurpose::TakeOver { service, from } => {
            let name = state.services[service].name.clone();
            if !text.eq_ignore_ascii_case("yes") {
                state.events.push(
                    now,
                    name,
                    Level::Info,
                    "not taken over (type yes to take it)",
                );
                return Vec::new();
            }
            take(state, service, Some(from))
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
