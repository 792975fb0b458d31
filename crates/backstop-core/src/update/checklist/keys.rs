//! The operator's keys and typed lines.

use super::*;

/// Keys for the checklist pane.
pub(in crate::update) fn on_action(state: &mut State, action: Action, now: Ts) -> Vec<Effect> {
    let Some(service) = focused_checklist(state) else {
        return Vec::new();
    };
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return Vec::new();
    };
    if c.ended.is_some() {
        // A finished checklist stays on screen until it is put away.
        if matches!(action, Action::OpenDetail | Action::Back) {
            let incident = c.incident;
            let svc = &mut state.services[service].rollback;
            svc.last_incident = incident.or(svc.last_incident);
            svc.checklist = None;
            state.ui.focus = Pane::Health;
        }
        return Vec::new();
    }
    let (run, cursor) = (c.run, c.cursor);
    let status = c.current().map(|s| s.status.clone());
    match (action, status) {
        (Action::OpenDetail, Some(StepStatus::Current)) => begin(state, service, now, true),
        (Action::OpenDetail, Some(StepStatus::Failed(_))) => {
            // Retry: a person's hand, so auto mode stops here and every
            // change from now on is previewed and confirmed.
            stop_auto(state, service, "a person retried a failed step", now);
            set_status(state, service, StepStatus::Current);
            if let Some(s) = step_mut(state, service) {
                s.evidence.push(format!("retried at {}", now.hms()));
            }
            begin(state, service, now, true)
        }
        (Action::Confirm, Some(StepStatus::Previewing(_))) => confirm(state, service, now),
        (Action::Back, Some(StepStatus::Previewing(_) | StepStatus::AwaitingPreview)) => {
            set_status(state, service, StepStatus::Current);
            if let Some(s) = step_mut(state, service) {
                s.pending = None;
            }
            Vec::new()
        }
        (Action::Back, Some(StepStatus::AwaitingApproval { request, .. })) => {
            crate::update::room::withdraw(state, service, request, now)
        }
        (Action::Back, _) => {
            state.ui.focus = Pane::Health;
            Vec::new()
        }
        (Action::Skip, Some(StepStatus::Running { .. })) if running_mutates(state, service) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change is under way: it cannot be skipped; wait for its outcome",
            );
            Vec::new()
        }
        (Action::Skip, Some(_)) => {
            let title = state.services[service]
                .rollback
                .checklist
                .as_ref()
                .and_then(|c| c.current())
                .map(|s| s.title.clone())
                .unwrap_or_default();
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::SkipReason {
                    service,
                    run,
                    step: cursor,
                },
                prompt: format!("Skip \"{title}\" because: "),
                text: String::new(),
            });
            Vec::new()
        }
        (Action::Abort, Some(StepStatus::Running { .. })) if running_mutates(state, service) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change is under way: wait for its outcome, then abandon if you must",
            );
            Vec::new()
        }
        (Action::Abort, _) => {
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::AbortReason { service },
                prompt: "Abandon the rollback checklist because: ".into(),
                text: String::new(),
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Typing a line.
pub(in crate::update) fn on_text(state: &mut State, key: TextKey, now: Ts) -> Vec<Effect> {
    let Some(input) = state.ui.input.as_mut() else {
        if matches!(key, TextKey::Paste(_)) {
            state.events.push(
                now,
                "backstop",
                Level::Info,
                "pasted text ignored: there is no line to type into, and pasted text never acts as keys",
            );
        }
        return Vec::new();
    };
    match key {
        TextKey::Char(c) => {
            if input.text.chars().count() < MAX_LINE && !c.is_control() {
                input.text.push(c);
            }
            Vec::new()
        }
        TextKey::Paste(text) => {
            // Line breaks and other control characters become spaces: a
            // paste fills the line, and only a typed Enter submits it.
            let room = MAX_LINE.saturating_sub(input.text.chars().count());
            input.text.extend(
                text.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(room),
            );
            Vec::new()
        }
        TextKey::Backspace => {
            input.text.pop();
            Vec::new()
        }
        TextKey::Cancel => {
            state.ui.input = None;
            Vec::new()
        }
        // Completion and history belong to the command line.
        TextKey::Complete | TextKey::Older | TextKey::Newer => Vec::new(),
        TextKey::Submit => {
            let text = input.text.trim().to_string();
            if text.is_empty() {
                // A reason or a note must say something.
                return Vec::new();
            }
            let purpose = input.purpose.clone();
            state.ui.input = None;
            let by = state.operator.clone();
            submitted(state, purpose, text, &by, now)
        }
    }
}

/// Changes that waited while a line was typed go on by themselves, at the
/// next tick after it was closed: never in the key that closed it.
pub(in crate::update) fn resume(state: &mut State, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    for service in 0..state.services.len() {
        if state.ui.input.is_none() && next_starts_itself(state, service) {
            fx.extend(begin(state, service, now, false));
        }
        // An approval that came while the line was open.
        if state.ui.input.is_none()
            && let Some((request, who)) = state.services[service].rollback.approved_meanwhile.take()
            && matches!(
                current_status(state, service),
                Some(StepStatus::AwaitingApproval { request: r, .. }) if r == request
            )
        {
            fx.extend(go(state, service, now, Go::Approved(who)));
        }
    }
    fx
}

/// A typed line was submitted: a note, a skip's reason, an abandon's reason.
pub(super) fn submitted(
    state: &mut State,
    purpose: InputPurpose,
    text: String,
    by: &str,
    now: Ts,
) -> Vec<Effect> {
    let by = by.to_string();
    // The checklist may have moved on while the line was typed.
    let still = |state: &State, service: usize, run: u64, step: usize| {
        state.services[service]
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|c| c.run == run && c.cursor == step && c.ended.is_none())
    };
    match purpose {
        InputPurpose::Note { service, run, step } if !still(state, service, run, step) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "the checklist moved on while you typed: the note was not recorded",
            );
            Vec::new()
        }
        InputPurpose::SkipReason { service, run, step }
            if !still(state, service, run, step)
                || (running_mutates(state, service)
                    && matches!(
                        current_status(state, service),
                        Some(StepStatus::Running { .. })
                    )) =>
        {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "the checklist moved on while you typed: nothing was skipped",
            );
            Vec::new()
        }
        InputPurpose::Note { service, .. } => {
            let name = state.services[service].name.clone();
            state.events.push_kind(
                now,
                name,
                Level::Info,
                Kind::Note,
                format!("note by {by}: {text}"),
            );
            if let Some(s) = step_mut(state, service) {
                s.evidence.push(text);
            }
            settle(state, service, StepStatus::Done, &by, now);
            after_settle(state, service, now)
        }
        InputPurpose::SkipReason { service, .. } => {
            // A person's hand: auto mode stops and asks from here.
            stop_auto(state, service, "a person skipped a step", now);
            if let Some(s) = step_mut(state, service) {
                s.status = StepStatus::Current;
                s.pending = None;
            }
            settle(state, service, StepStatus::Skipped(text), &by, now);
            after_settle(state, service, now)
        }
        InputPurpose::AbortReason { service }
            if running_mutates(state, service)
                && matches!(
                    current_status(state, service),
                    Some(StepStatus::Running { .. })
                ) =>
        {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change started while you typed: nothing was abandoned; wait for its outcome",
            );
            Vec::new()
        }
        InputPurpose::AbortReason { service } => abort(state, service, text, &by, now),
        InputPurpose::RejectReason { .. }
        | InputPurpose::OverrideReason { .. }
        | InputPurpose::TakeOver { .. } => {
            crate::update::room::submitted(state, purpose, text, now)
        }
        InputPurpose::Update { service, run } => {
            crate::update::comms::submitted(state, service, run, text).unwrap_or_else(|why| {
                state.events.push(
                    now,
                    "backstop",
                    Level::Warn,
                    format!("update not sent: {why}"),
                );
                Vec::new()
            })
        }
        // Run by `update::command`; never submitted here.
        InputPurpose::Command | InputPurpose::Filter { .. } => Vec::new(),
    }
}
