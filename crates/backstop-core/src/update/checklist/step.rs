//! Doing the current step: one function per kind of step, previews, the
//! second key, and auto mode's guards at every change it makes.

use super::*;

/// Do the current step, and every step after it that starts by itself and
/// finishes at once (all of them in auto mode).
pub(super) fn begin(state: &mut State, service: usize, now: Ts, person: bool) -> Vec<Effect> {
    let mut fx = Vec::new();
    let mut person = person;
    // Each pass settles a step or starts waiting for one; a runbook is finite.
    for _ in 0..256 {
        let Some(c) = state.services[service].rollback.checklist.as_ref() else {
            break;
        };
        let Some(step) = c.current() else { break };
        if !matches!(step.status, StepStatus::Current) {
            break;
        }
        // Nothing acts behind a person typing a reason or a note: a change
        // that would start by itself waits until the line is closed.
        let mutates = matches!(&step.spec.kind, StepKind::Action(a) if a.mutates());
        if !person && mutates && state.ui.input.is_some() {
            break;
        }
        let (settled, more) = do_step(state, service, now, person);
        person = false;
        fx.extend(more);
        if !(settled && next_starts_itself(state, service)) {
            break;
        }
    }
    fx
}

/// The step whose turn it is, as `do_step` and the function for its kind see it.
struct Turn {
    service: usize,
    run: u64,
    idx: usize,
    title: String,
    incident: Option<i64>,
    /// Auto mode, and no person at the keys.
    auto: bool,
    /// Who the step is attributed to: the operator, or `backstop (auto)`.
    who: String,
    /// The service's name, and the suspect's and the target's.
    name: String,
    sname: String,
    tname: String,
    suspect: usize,
    target: usize,
    now: Ts,
}

/// What starting a step did: whether it settled at once, and the effects.
type Started = (bool, Vec<Effect>);

impl Turn {
    fn effect(&self, work: StepWork) -> Effect {
        Effect::Step {
            service: self.service,
            name: self.name.clone(),
            run: self.run,
            step: self.idx,
            title: self.title.clone(),
            incident: self.incident,
            by: self.who.clone(),
            work,
        }
    }

    /// A step that takes time is journaled when it starts as well as when it ends.
    fn running(&self, state: &mut State) {
        set_status(state, self.service, StepStatus::Running { since: self.now });
        state.events.push_kind(
            self.now,
            self.name.clone(),
            Level::Info,
            Kind::Step,
            format!("started by {}: {}", self.who, self.title),
        );
    }

    /// Settle it now from an outcome.
    fn finish(&self, state: &mut State, outcome: StepOutcome) -> Started {
        (
            finish(state, self.service, outcome, &self.who, self.now),
            Vec::new(),
        )
    }

    /// Runs on the executor and settles when its outcome comes back.
    fn run(&self, state: &mut State, work: StepWork) -> Started {
        self.running(state);
        (false, vec![self.effect(work)])
    }

    /// A change: made at once by auto mode inside its guards, otherwise
    /// previewed by its provider (`preview_work`) for a person's `y`.
    fn change(&self, state: &mut State, work: StepWork, preview_work: StepWork) -> Started {
        if self.auto && may_act_alone(state, self.service, &work, self.now) {
            reverting(state, self.service, &work);
            return self.run(state, work);
        }
        let request = await_preview(state, self.service, work);
        let asked = match preview_work {
            StepWork::PreviewSwitch { from, to, .. } => {
                StepWork::PreviewSwitch { from, to, request }
            }
            StepWork::PreviewRevert {
                env, expect, to, ..
            } => StepWork::PreviewRevert {
                env,
                expect,
                to,
                request,
            },
            other => other,
        };
        (false, vec![self.effect(asked)])
    }

    /// A change core can describe itself (a message, a command): made at
    /// once by auto mode inside its guards, otherwise shown for a person's `y`.
    fn described(&self, state: &mut State, work: StepWork, lines: Vec<String>) -> Started {
        if self.auto && may_act_alone(state, self.service, &work, self.now) {
            return self.run(state, work);
        }
        preview(state, self.service, work, lines);
        (false, Vec::new())
    }
}

/// Start the current step. Returns whether it settled at once, and the
/// effects. A `person` at the keys gets previews even in auto mode.
pub(super) fn do_step(state: &mut State, service: usize, now: Ts, person: bool) -> Started {
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return (false, Vec::new());
    };
    let Some(step) = c.current() else {
        return (false, Vec::new());
    };
    let auto = c.auto && !person;
    let svc = &state.services[service];
    let t = Turn {
        service,
        run: c.run,
        idx: c.cursor,
        title: step.title.clone(),
        incident: c.incident,
        auto,
        who: if auto {
            "backstop (auto)".to_string()
        } else {
            state.operator.clone()
        },
        name: svc.name.clone(),
        sname: svc.envs[c.suspect].name.clone(),
        tname: svc.envs[c.target].name.clone(),
        suspect: c.suspect,
        target: c.target,
        now,
    };
    let kind = step.spec.kind.clone();
    if let Some(s) = step_mut(state, service) {
        s.started.get_or_insert(now);
        s.by = Some(t.who.clone());
    }
    match kind {
        StepKind::Manual | StepKind::Action(Act::Note) if t.auto => {
            let left = StepStatus::Skipped(LEFT_FOR_A_PERSON.into());
            settle(state, service, left, &t.who, now);
            (true, Vec::new())
        }
        StepKind::Manual => {
            settle(state, service, StepStatus::Done, &t.who, now);
            (true, Vec::new())
        }
        StepKind::Action(Act::Note) => note(state, &t),
        StepKind::Check(Check::Reprobe { count }) => t.run(
            state,
            StepWork::Reprobe {
                env: t.suspect,
                count,
            },
        ),
        StepKind::Check(Check::TargetHealthy) => {
            let outcome = target_healthy(state, &t);
            t.finish(state, outcome)
        }
        StepKind::Check(Check::TrafficOnTarget) => match traffic_on_target(state, service) {
            Some(outcome) => t.finish(state, outcome),
            // Not read back since the switch yet: the next read settles it.
            None => {
                t.running(state);
                (false, Vec::new())
            }
        },
        // The clock settles it (`on_tick`).
        StepKind::Check(Check::ErrorRateBelow { .. }) => {
            t.running(state);
            (false, Vec::new())
        }
        StepKind::Action(Act::WaitHealthy { probes, .. }) => {
            t.running(state);
            if let Some(s) = step_mut(state, service) {
                s.progress = Some((0, probes));
            }
            (false, Vec::new())
        }
        StepKind::Action(Act::WaitStable { .. }) => {
            t.running(state);
            // What is known already may settle it; the next read will otherwise.
            (false, on_deploy(state, service, now))
        }
        StepKind::Action(Act::Smoke) => t.run(
            state,
            StepWork::Smoke {
                env: t.tname.clone(),
            },
        ),
        StepKind::Action(Act::SwitchTraffic) => switch(state, &t),
        StepKind::Action(Act::RevertDeployment) => revert(state, &t),
        StepKind::Action(Act::Notify { template }) => notify(state, &t, template),
        StepKind::Action(Act::StatusPage { status }) => status_page(state, &t, status),
        StepKind::Action(Act::Command { argv, timeout }) => command(state, &t, argv, timeout),
        StepKind::Action(Act::MigrateDown { argv, timeout }) => {
            migrate_down(state, &t, argv, timeout)
        }
        StepKind::Action(Act::Restart {
            argv,
            probes,
            timeout,
        }) => restart(state, &t, argv, probes, timeout),
        StepKind::Action(Act::Stop { argv, timeout }) => stop(state, &t, argv, timeout),
    }
}

/// Restart the target's services; once the command has succeeded, the
/// step waits for the target healthy (`on_done`, then `on_probe`).
fn restart(
    state: &mut State,
    t: &Turn,
    argv: Vec<String>,
    probes: u32,
    timeout: Duration,
) -> Started {
    let lines = vec![
        format!("$ {}", crate::argv::display(&argv)),
        format!(
            "with BACKSTOP_ENV={} and TARGET_URL its address; killed after {}",
            t.tname,
            time::human(timeout)
        ),
        format!(
            "then {} must answer healthy {probes} probes in a row within {}",
            t.tname,
            time::human(timeout)
        ),
    ];
    let work = StepWork::Command {
        argv,
        timeout,
        env: t.tname.clone(),
    };
    t.described(state, work, lines)
}

/// Stop the bad environment — never one users are still on; once the
/// command has succeeded, the step waits until its probes find it stopped.
fn stop(state: &mut State, t: &Turn, argv: Vec<String>, timeout: Duration) -> Started {
    let svc = &state.services[t.service];
    let refusal = match svc.share(t.suspect) {
        _ if t.suspect == t.target => Some(format!(
            "{} is the rollback's target too: it is not stopped",
            t.sname
        )),
        None if svc.traffic.is_none() => Some(format!(
            "{} has no traffic provider: {} is where its users are, and is not stopped",
            t.name, t.sname
        )),
        None => Some(format!(
            "the traffic split is not known: {} may still take users, and is not stopped",
            t.sname
        )),
        Some(p) if p > 0 => Some(format!(
            "{} still takes {p} % of traffic: stop it only once users are off it",
            t.sname
        )),
        Some(_) => None,
    };
    if let Some(why) = refusal {
        return t.finish(
            state,
            StepOutcome::failed(format!("{why}; nothing was run"), vec![]),
        );
    }
    let lines = vec![
        format!("$ {}", crate::argv::display(&argv)),
        format!(
            "with BACKSTOP_ENV={} and TARGET_URL its address; killed after {}",
            t.sname,
            time::human(timeout)
        ),
        format!(
            "{} takes 0 % of traffic; then its probes must find it stopped (refused, no answer) within {}",
            t.sname,
            time::human(timeout)
        ),
    ];
    let work = StepWork::Command {
        argv,
        timeout,
        env: t.sname.clone(),
    };
    t.described(state, work, lines)
}

/// A note: the line opens at once for the person to type.
fn note(state: &mut State, t: &Turn) -> Started {
    state.ui.input = Some(TextInput {
        purpose: InputPurpose::Note {
            service: t.service,
            run: t.run,
            step: t.idx,
        },
        prompt: format!("{}: ", t.title),
        text: String::new(),
    });
    (false, Vec::new())
}

/// Never a rollback onto a failing environment.
fn target_healthy(state: &State, t: &Turn) -> StepOutcome {
    let tname = &t.tname;
    let env = &state.services[t.service].envs[t.target];
    let summary = env
        .endpoints
        .iter()
        .filter_map(|e| {
            e.last
                .as_ref()
                .map(|l| format!("{}: {}", e.role, l.report.summary))
        })
        .next()
        .unwrap_or_default();
    match env.status {
        Some(s @ (HealthStatus::Ok | HealthStatus::Degraded)) => {
            StepOutcome::ok(vec![format!("{tname} is {} ({summary})", s.as_str())])
        }
        Some(s) => StepOutcome::failed(
            format!(
                "{tname} is {}: not a safe place to roll back to",
                s.as_str()
            ),
            vec![summary],
        ),
        None => StepOutcome::failed(format!("{tname} has not answered a probe yet"), vec![]),
    }
}

/// The suspect's share onto the target, from the weights last read.
fn switch(state: &mut State, t: &Turn) -> Started {
    let Some(from) = state.services[t.service]
        .traffic
        .as_ref()
        .and_then(|tr| tr.weights.clone())
    else {
        let outcome = StepOutcome::failed(
            "the traffic weights are not known (the provider has not been read)",
            vec![],
        );
        return t.finish(state, outcome);
    };
    if t.suspect == t.target {
        let outcome = StepOutcome::failed(
            format!(
                "there is no other environment to switch {}'s traffic to",
                t.sname
            ),
            vec![],
        );
        return t.finish(state, outcome);
    }
    let to = rollback_weights(&from, &t.sname, &t.tname);
    let work = StepWork::Switch {
        from: from.clone(),
        to: to.clone(),
    };
    t.change(
        state,
        work,
        StepWork::PreviewSwitch {
            from,
            to,
            request: 0,
        },
    )
}

/// The suspect back to its previous revision: pinned to what was read,
/// from this revision to that one.
fn revert(state: &mut State, t: &Turn) -> Started {
    let Some((current, previous)) = crate::update::deploy::revisions(state, t.service, t.suspect)
    else {
        let outcome = StepOutcome::failed(
            format!(
                "{}'s deployment has not been read yet: see the Deployments pane, then retry",
                t.sname
            ),
            vec![],
        );
        return t.finish(state, outcome);
    };
    let work = StepWork::Revert {
        env: t.sname.clone(),
        expect: Some(current.clone()),
        to: previous.clone(),
    };
    let asked = StepWork::PreviewRevert {
        env: t.sname.clone(),
        expect: Some(current),
        to: previous,
        request: 0,
    };
    t.change(state, work, asked)
}

/// A message for the team, shown as it will be sent.
fn notify(state: &mut State, t: &Turn, template: Template) -> Started {
    let text = message(state, t.service, template, t.now);
    let mut lines = if state.notifiers.is_empty() {
        vec!["no notifier is configured ([[notify]]): the message is journaled; tell the team yourself".to_string()]
    } else {
        vec![format!("to {}:", state.notifiers.join(", "))]
    };
    lines.extend(text.lines().map(|l| format!("  {l}")));
    t.described(state, StepWork::Notify { template, text }, lines)
}

/// A public change: the exact text the status page will publish, and where.
fn status_page(state: &mut State, t: &Turn, status: crate::status_page::PublicStatus) -> Started {
    let name = &state.services[t.service].name;
    let (via, public) = match &state.status_page {
        Some(v) => (v.via.clone(), v.public_name(name).to_string()),
        None => ("no status page is configured".to_string(), name.clone()),
    };
    let text = status.text(&public);
    let lines = vec![
        format!("{via}: the incident → {status}"),
        format!("affected: {public} → {}", status.component()),
        "published exactly, and nothing else:".to_string(),
        format!("  “{text}”"),
    ];
    t.described(state, StepWork::StatusPage { status, text }, lines)
}

/// A program of the runbook's, shown with its arguments.
fn command(state: &mut State, t: &Turn, argv: Vec<String>, timeout: Duration) -> Started {
    let lines = vec![
        format!("$ {}", crate::argv::display(&argv)),
        format!(
            "with TARGET_URL set to {}'s address; killed after {}",
            t.tname,
            time::human(timeout)
        ),
    ];
    let work = StepWork::Command {
        argv,
        timeout,
        env: t.tname.clone(),
    };
    t.described(state, work, lines)
}

/// The database's last migration undone, when it breaks the old code and
/// can be undone; settled at once when the last run has nothing the old
/// code cannot live with, failed (a person skips, restores or escalates)
/// when it cannot be undone here.
fn migrate_down(state: &mut State, t: &Turn, argv: Vec<String>, timeout: Duration) -> Started {
    use crate::migration::Down;
    let undo = match crate::migration::plan_undo(state.services[t.service].database.as_ref()) {
        Err(why) => {
            let why = format!("{why}; nothing was run");
            return t.finish(state, StepOutcome::failed(why, vec![]));
        }
        Ok(None) => {
            let why = "nothing to undo: the last run of migrations is safe for the old code (forward-compatible)";
            return t.finish(state, StepOutcome::ok(vec![why.into()]));
        }
        Ok(Some(u)) => u,
    };
    let (m, to) = (undo.migration, undo.to);
    let breaks: Vec<&str> = m.breaks_old_code().iter().map(|r| r.as_str()).collect();
    let mut lines = vec![
        format!("$ {}", crate::argv::display(&argv)),
        format!(
            "with DATABASE_URL set to {}'s database; killed after {}",
            t.name,
            time::human(timeout)
        ),
        format!("undoes {} ({})", m.label(), breaks.join(", ")),
    ];
    let lost: Vec<&str> = m.down_destroys().iter().map(|r| r.as_str()).collect();
    match &m.down {
        Down::Present { .. } if !lost.is_empty() => lines.push(format!(
            "⚠ its down migration DESTROYS DATA ({}): what was written since is lost",
            lost.join(", ")
        )),
        Down::Unknown => lines.push(
            "⚠ its down migration was not read (no migrations folder): what it does is unknown"
                .into(),
        ),
        _ => {}
    }
    lines.push(format!(
        "then the migration table must show {} as current",
        to.as_deref().unwrap_or("no migration")
    ));
    let work = StepWork::MigrateDown {
        argv,
        timeout,
        from: m.version.clone(),
        to,
    };
    t.described(state, work, lines)
}

/// The provider is asked what `work` would change; only the answer to this
/// request is shown, and the second key runs `work` itself.
pub(super) fn await_preview(state: &mut State, service: usize, work: StepWork) -> u64 {
    state.preview_requests += 1;
    let request = state.preview_requests;
    if let Some(s) = step_mut(state, service) {
        s.status = StepStatus::AwaitingPreview;
        s.pending = Some(work);
        s.request = request;
    }
    request
}

/// Auto mode acts alone only inside its guards, checked again at the moment
/// of each change. Outside them it stops: the checklist is a person's from
/// here, and the change waits for a preview and a key.
pub(super) fn may_act_alone(state: &mut State, service: usize, work: &StepWork, now: Ts) -> bool {
    let Some(why) = auto_refusal(state, service, work, now) else {
        return true;
    };
    stop_auto(state, service, &why, now);
    false
}

/// Why auto mode may not make this change now, if it may not: changes from
/// last time unchecked, the target not healthy, or the rollbacks done and
/// on their way at the cooldown or the limit.
pub(super) fn auto_refusal(
    state: &State,
    service: usize,
    work: &StepWork,
    now: Ts,
) -> Option<String> {
    let svc = state.services.get(service)?;
    let c = svc.rollback.checklist.as_ref()?;
    if let Err(why) = crate::update::may_act(state, service) {
        return Some(why);
    }
    if let Some((ms, _)) = state.late {
        return Some(format!(
            "backstop itself is late (by up to {}): auto mode holds until it is on time",
            crate::time::human(std::time::Duration::from_millis(ms))
        ));
    }
    if let Some(e) = svc.rollback.elsewhere.first() {
        return Some(format!(
            "a change of {} is in flight on {}'s console",
            svc.name,
            crate::update::room::rule::short(&e.operator)
        ));
    }
    if crate::update::room::rule::needs_approval(state, service, work) {
        return Some(
            "the two-person rule: each change waits for a second person's approval".into(),
        );
    }
    if !state.interrupted.is_empty() {
        return Some("changes interrupted last time are not checked yet".into());
    }
    if c.suspect != c.target {
        let t = &svc.envs[c.target];
        if !matches!(t.status, Some(HealthStatus::Ok | HealthStatus::Degraded)) {
            return Some(format!(
                "{} is {}: not a safe place to roll back to",
                t.name,
                t.status.map_or("not verified", HealthStatus::as_str)
            ));
        }
    }
    if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. })
        && let Err(block) =
            crate::decision::count_guard(&svc.rollback.policy, &svc.rollback.counted(), now)
    {
        return Some(block.describe(now));
    }
    None
}

/// A person took a hand (a skip, a retry) or a guard stopped auto mode:
/// from here every change of this checklist is previewed and confirmed.
pub(super) fn stop_auto(state: &mut State, service: usize, why: &str, now: Ts) {
    let name = state.services[service].name.clone();
    let Some(c) = state.services[service].rollback.checklist.as_mut() else {
        return;
    };
    if !c.auto {
        return;
    }
    c.auto = false;
    c.auto_stopped = Some(why.to_string());
    let text = format!(
        "auto mode stopped: {why}; a person decides from here (Enter previews the change, y makes it)"
    );
    state.services[service]
        .rollback
        .note(now, TimelineKind::Action, text.clone());
    state
        .events
        .push_kind(now, name, Level::Warn, Kind::Incident, text);
}

/// `work` with the preview core can make itself (a message, a command).
pub(super) fn preview(state: &mut State, service: usize, work: StepWork, lines: Vec<String>) {
    if let Some(s) = step_mut(state, service) {
        s.status = StepStatus::Previewing(lines);
        s.pending = Some(work);
    }
}

/// Remember where a revert starts from, for wait-stable.
pub(super) fn reverting(state: &mut State, service: usize, work: &StepWork) {
    if let StepWork::Revert { expect, to, .. } = work
        && let Some(c) = state.services[service].rollback.checklist.as_mut()
    {
        c.reverted_from = expect.clone();
        c.reverted_to = to.clone();
    }
}

/// Who lets a previewed change run: the driver's second key, or — under the
/// two-person rule — a second person's approval, or the driver's override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::update) enum Go {
    Key,
    Approved(String),
    Overridden(String),
}

/// The second key: run exactly what the preview showed. If the world
/// moved since, the preview is made again instead.
pub(super) fn confirm(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    go(state, service, now, Go::Key)
}

/// Run the previewed change of `service`'s current step, let by `gate`.
/// Under the two-person rule the key asks for an approval instead; an
/// approval (or an override) runs it, if the world has not moved since
/// the preview — a moved world voids the approval and previews again.
pub(in crate::update) fn go(state: &mut State, service: usize, now: Ts, gate: Go) -> Vec<Effect> {
    let by = state.operator.clone();
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return Vec::new();
    };
    let Some(step) = c.current() else {
        return Vec::new();
    };
    let lines = match (&step.status, &gate) {
        (StepStatus::Previewing(lines), Go::Key)
        | (StepStatus::AwaitingApproval { lines, .. }, Go::Approved(_) | Go::Overridden(_)) => {
            lines.clone()
        }
        _ => return Vec::new(),
    };
    let Some(work) = step.pending.clone() else {
        return Vec::new();
    };
    let (title, idx, incident, run) = (step.title.clone(), c.cursor, c.incident, c.run);
    let step_id = step.spec.id.clone();
    let name = state.services[service].name.clone();
    // The key, an approval that arrives, an override: each meets the
    // room's question again at the instant it would act.
    if let Err(why) = crate::update::may_act(state, service) {
        state
            .events
            .push(now, name, Level::Warn, format!("{why}: nothing changed"));
        return Vec::new();
    }
    if let Some(other) = crate::update::change_on_its_way(state, service) {
        state.events.push(
            now,
            name,
            Level::Warn,
            format!("{other} is on its way: nothing changed; confirm again after its outcome"),
        );
        return Vec::new();
    }
    // A rollback meets the guards at the instant it would act, as the
    // journal judges it: a take-over may find the switch it was about to
    // redo already made by the driver before, its cooldown running.
    if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. }) {
        let rb = &state.services[service].rollback;
        if let Err(block) = crate::decision::count_guard(&rb.policy, &rb.counted(), now) {
            state.events.push(
                now,
                name,
                Level::Warn,
                format!("{}: nothing changed", block.describe(now)),
            );
            return Vec::new();
        }
    }
    if let Some(moved) = crate::update::moved_since_preview(state, service, &work) {
        state.events.push(
            now,
            name.clone(),
            Level::Warn,
            format!("{moved}: nothing changed; here is the new preview"),
        );
        set_status(state, service, StepStatus::Current);
        if let Some(s) = step_mut(state, service) {
            s.pending = None;
        }
        if gate != Go::Key
            && let Some(s) = step_mut(state, service)
        {
            s.evidence
                .push("the approval is void: the world moved since the preview".into());
        }
        return begin(state, service, now, true);
    }
    if gate == Go::Key && crate::update::room::rule::needs_approval(state, service, &work) {
        state.preview_requests += 1;
        let request = state.preview_requests;
        set_status(
            state,
            service,
            StepStatus::AwaitingApproval {
                lines: lines.clone(),
                request,
                asked: now,
            },
        );
        state.events.push_kind(
            now,
            name.clone(),
            Level::Warn,
            Kind::Step,
            format!("{title}: waits for a second person's approval (two-person rule)"),
        );
        return vec![Effect::Approval {
            service: name,
            incident,
            driver: state.session.clone(),
            request,
            act: crate::msg::ApprovalAct::Ask {
                step: step_id,
                title,
                lines,
            },
        }];
    }
    reverting(state, service, &work);
    set_status(state, service, StepStatus::Running { since: now });
    let by = match &gate {
        Go::Key => by,
        Go::Approved(approver) => format!("{by}, approved by {approver}"),
        Go::Overridden(_) => format!("{by}, two-person rule OVERRIDDEN"),
    };
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Step,
        format!("confirmed by {by}: {title}"),
    );
    if let Some(s) = step_mut(state, service) {
        s.by = Some(by.clone());
    }
    vec![Effect::Step {
        service,
        name,
        run,
        step: idx,
        title,
        incident,
        by,
        work,
    }]
}
