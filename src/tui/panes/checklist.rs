//! The rollback checklist: the runbook's phases and steps, the current one
//! highlighted with its help, its preview (exactly what will change) or its
//! progress, and what each finished step found, when and by whom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{fit, frame, gauge};
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::{Followed, InputPurpose, Pane, State};
use crate::core::roles::Role;
use crate::core::runbook::{Act, Check, Checklist, Phase, StepKind, StepRun, StepStatus};
use crate::core::time;
use crate::core::update::shown_checklist;
use crate::tui::View;

/// Evidence lines shown under a finished step.
const EVIDENCE: usize = 3;

/// Rows the pane wants: every step, the phase titles, the current step's details.
pub fn height(state: &State) -> u16 {
    let Some((_, c, _)) = shown(state) else {
        return 3;
    };
    let steps: usize = c
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| step_rows(c, i, s))
        .sum();
    (steps + 3 + 2 + 2 + head_rows(c)) as u16
}

/// The severity's line, the type's and the countdown's, above the phases.
fn head_rows(c: &Checklist) -> usize {
    usize::from(c.comms.severity.is_some())
        + usize::from(c.typed.is_some())
        + usize::from(!c.targets.is_empty())
}

fn step_rows(c: &Checklist, i: usize, s: &StepRun) -> usize {
    let current = i == c.cursor && c.ended.is_none();
    let extra = if current {
        2 + match &s.status {
            StepStatus::Previewing(lines) | StepStatus::AwaitingApproval { lines, .. } => {
                lines.len() + 1
            }
            _ => 1,
        } + s.evidence.len().min(6)
    } else {
        s.evidence.len().min(EVIDENCE)
    };
    1 + extra
}

fn keys(view: &View<'_>, a: Action) -> String {
    super::key(view, a)
}

/// The checklist shown: this console's own, or the one it follows (whose
/// driver is named).
fn shown(state: &State) -> Option<(usize, &Checklist, Option<&Followed>)> {
    let (service, followed) = shown_checklist(state)?;
    let c = match followed {
        Some(f) => &f.checklist,
        None => state.services[service].rollback.checklist.as_ref()?,
    };
    Some((service, c, followed))
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Checklist;
    let Some((service, c, followed)) = shown(state) else {
        let inner = frame(view, "Rollback checklist", focused, area, buf);
        Line::styled(" No rollback in progress.", view.theme.dim()).render(inner, buf);
        return;
    };
    let svc = &state.services[service];
    let (sn, tn) = (&svc.envs[c.suspect].name, &svc.envs[c.target].name);
    let (done, skipped, total) = c.counts();
    let position = match &c.ended {
        Some(_) => format!("{} done, {skipped} skipped", done),
        None => format!("step {}/{total}", c.cursor + 1),
    };
    let mode = match (c.auto, &c.auto_stopped) {
        (true, _) => " · AUTO",
        (false, Some(_)) => " · AUTO STOPPED",
        (false, None) => "",
    };
    // Whose it is: its driver, or — the driver's lease lost (killed,
    // asleep) — a checklist waiting for someone to take it over.
    let driver = followed.map_or(String::new(), |f| {
        let who = crate::core::update::room::short(&f.operator);
        let lost = crate::core::update::room::lease(state, &svc.name)
            .is_none_or(|l| l.session != f.session || l.lost);
        if lost && f.checklist.ended.is_none() {
            format!(" · {who} LOST: D takes over")
        } else {
            format!(" · {who} drives")
        }
    });
    // A typed rollback is named by its type (the runbook of that name).
    let book = match &c.typed {
        Some(ty) if ty.kind.name() == c.runbook => format!("{} rollback", ty.kind),
        Some(ty) => format!("{} rollback, runbook {}", ty.kind, c.runbook),
        None => format!("runbook {}", c.runbook),
    };
    let title = format!(
        "Rollback {}: {} · {book} · {position}{mode}{driver}",
        svc.name,
        crate::core::decision::route(sn, tn),
    );
    let inner = frame(view, &title, focused, area, buf);
    let t = view.theme;
    let w = inner.width as usize;

    // The type and the countdown stay in view while the steps scroll, as
    // long as the pane leaves room for a few steps under them.
    let mut head = head_lines(state, view, c, followed.is_none(), w);
    let pin = if inner.height as usize >= head.len() + 4 {
        head.len() as u16
    } else {
        0
    };
    let (head_area, inner) = (
        Rect {
            height: pin,
            ..inner
        },
        Rect {
            y: inner.y + pin,
            height: inner.height - pin,
            ..inner
        },
    );
    let mut lines: Vec<Line> = if pin > 0 {
        Vec::new()
    } else {
        std::mem::take(&mut head)
    };
    // The line of the current step, so it can be kept in view.
    let mut current_at = 0;
    let mut phase = None;
    for (i, s) in c.steps.iter().enumerate() {
        if phase != Some(s.phase) {
            phase = Some(s.phase);
            let (ok, all) = (
                c.steps
                    .iter()
                    .filter(|x| x.phase == s.phase && x.status.settled())
                    .count(),
                c.steps.iter().filter(|x| x.phase == s.phase).count(),
            );
            lines.push(Line::from(vec![
                Span::styled(format!(" {}", s.phase.title()), t.bold()),
                Span::styled(format!("  {ok}/{all}"), t.dim()),
                Span::styled(phase_hint(s.phase), t.dim()),
            ]));
        }
        let current = i == c.cursor && c.ended.is_none();
        if current {
            // Auto mode handed this checklist to a person: say why, where
            // the person looks.
            if let Some(why) = &c.auto_stopped {
                lines.push(Line::styled(
                    fit(
                        &format!("   auto mode stopped: {why}; changes wait for your y"),
                        w,
                    ),
                    t.level(Level::Warn),
                ));
            }
            current_at = lines.len();
        }
        lines.push(step_line(view, s, current, w));
        if current {
            lines.extend(match followed {
                None => current_details(state, view, service, s, w),
                Some(f) => followed_details(state, view, service, f, s, w),
            });
        } else {
            for e in s.evidence.iter().take(EVIDENCE) {
                lines.push(Line::styled(fit(&format!("       {e}"), w), t.dim()));
            }
        }
    }
    if let Some((at, ending)) = &c.ended {
        current_at = lines.len();
        lines.push(Line::raw(""));
        let style = if ending.to_string() == "completed" {
            t.level(Level::Good)
        } else {
            t.level(Level::Bad)
        };
        lines.push(Line::styled(
            fit(
                &format!(
                    " {} at {}: {done} done, {skipped} skipped of {total}",
                    ending.to_string().to_uppercase(),
                    at.hms()
                ),
                w,
            ),
            style,
        ));
        let export = match c.incident.filter(|_| followed.is_none()) {
            Some(id) => format!(
                " · {} export the report of incident {id}",
                keys(view, Action::ExportReport)
            ),
            None => String::new(),
        };
        lines.push(Line::styled(
            fit(
                &format!(" {} put it away{export}", keys(view, Action::OpenDetail)),
                w,
            ),
            t.dim(),
        ));
    }

    // Keep the current step (and what follows it) in view.
    let h = inner.height as usize;
    let scroll = if lines.len() > h {
        current_at.saturating_sub(h / 3).min(lines.len() - h)
    } else {
        0
    };
    Paragraph::new(lines)
        .scroll((scroll as u16, 0))
        .render(inner, buf);
    if pin > 0 {
        Paragraph::new(head).render(head_area, buf);
    }
}

/// Why this type (and how to change it, before the first change), and the
/// countdown of the first target not met — or, at the end, each target's score.
fn head_lines(
    state: &State,
    view: &View<'_>,
    c: &Checklist,
    own: bool,
    w: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut lines = Vec::new();
    // The update being written, whole: the bottom line shows only its end.
    if let Some(input) = state.ui.input.as_ref().filter(|i| {
        matches!(i.purpose, crate::core::model::InputPurpose::Update { run, .. } if run == c.run)
    }) {
        lines.push(Line::styled(
            fit(" ✎ the update, as it will be sent (⏎ sends · Esc: later):", w),
            t.bold(),
        ));
        for part in input.text.split(" · ") {
            lines.push(Line::raw(fit(&format!("   {part}"), w)));
        }
    }
    if let Some(sev) = &c.comms.severity {
        let class = crate::core::severity::class(&state.severities, sev.level)
            .map_or_else(String::new, |k| format!(" {}", k.name));
        let who = match &sev.by {
            Some(by) => format!(" ({})", crate::core::update::room::short(by)),
            None => String::new(),
        };
        let cadence = crate::core::update::cadence(state, c);
        let next = cadence
            .words()
            .map_or_else(String::new, |w| format!(" · {w}"));
        // Whose the update is: the communications lead's, else the driver's.
        let u = super::key(view, Action::StatusUpdate);
        let sev_key = if own { " · :sev" } else { "" };
        let comms = crate::core::update::roles::holder(state, c.service, Role::Comms);
        let keys = match comms {
            _ if c.ended.is_some() => String::new(),
            Some(h) if h.session == state.session => {
                format!(" · you are comms: {u} writes it{sev_key}")
            }
            Some(h) => format!(
                " · {} (comms) writes it{sev_key}",
                crate::core::update::room::short(&h.operator)
            ),
            None if own => format!(" · {u} writes it{sev_key}"),
            None => String::new(),
        };
        let style = if sev.level == 1 || cadence.is_late() {
            t.level(Level::Bad)
        } else {
            t.level(Level::Warn)
        };
        lines.push(Line::styled(
            fit(
                &format!(" {}{class}{next}{keys} — {}{who}", sev.label(), sev.why),
                w,
            ),
            style,
        ));
    }
    // Who was paged, and whether they answered (or when the next level is).
    if let Some(paged) = crate::core::update::escalation::line(state, c.service) {
        let style = if paged.contains("acknowledged by") || paged.ends_with("resolved") {
            t.level(Level::Good)
        } else {
            t.level(Level::Warn)
        };
        lines.push(Line::styled(fit(&format!(" {paged}"), w), style));
    } else if crate::core::update::escalation::offered(state, c.service)
        && let Some((_, next)) = crate::core::update::escalation::next(state, c.service)
    {
        lines.push(Line::styled(
            fit(
                &format!(
                    " {} pages {} (the on-call chain)",
                    super::key(view, Action::Escalate),
                    next.name
                ),
                w,
            ),
            t.level(Level::Warn),
        ));
    }
    if let Some(ty) = &c.typed {
        let change = if own && c.ended.is_none() {
            " · :type changes it before the first change"
        } else {
            ""
        };
        let style = match ty.kind {
            crate::core::runbook::RollbackType::Emergency => t.level(Level::Bad),
            _ => t.dim(),
        };
        lines.push(Line::styled(
            fit(
                &format!(" {} — {}{change}", ty.kind.name().to_uppercase(), ty.why),
                w,
            ),
            style,
        ));
    }
    if c.targets.is_empty() {
        return lines;
    }
    let line = match c.countdown(state.now) {
        Some((text, over)) => {
            let style = if over {
                t.level(Level::Bad)
            } else {
                t.level(Level::Warn)
            };
            Line::styled(fit(&format!(" ⏱ {text}"), w), style)
        }
        None => {
            let scores: Vec<String> = c
                .target_runs()
                .iter()
                .map(|r| {
                    let within = crate::core::runbook::short(r.target.within);
                    match (r.took, r.met()) {
                        (Some(took), Some(met)) => format!(
                            "{} {} {} of {within}",
                            r.target.title,
                            if met { "✓" } else { "✗" },
                            crate::core::runbook::short(took)
                        ),
                        _ => format!("{} — not reached", r.target.title),
                    }
                })
                .collect();
            Line::styled(fit(&format!(" ⏱ {}", scores.join(" · ")), w), t.dim())
        }
    };
    lines.push(line);
    lines
}

fn phase_hint(p: Phase) -> &'static str {
    match p {
        Phase::Before => "  confirm, prepare, tell",
        Phase::During => "  roll back, verify",
        Phase::After => "  close the loop",
    }
}

/// `✓ 14:02:11 Title ………… by ops@host`.
fn step_line(view: &View<'_>, s: &StepRun, current: bool, w: usize) -> Line<'static> {
    let t = view.theme;
    let when = s
        .finished
        .or(s.started)
        .map_or_else(|| "        ".to_string(), |at| at.hms());
    let style = match &s.status {
        StepStatus::Done => t.level(Level::Good),
        StepStatus::Warned(_) => t.level(Level::Warn),
        StepStatus::Failed(_) => t.level(Level::Bad),
        StepStatus::Skipped(_) => t.dim(),
        StepStatus::Waiting => Style::default(),
        _ => t.selected(),
    };
    let by = match (&s.status, &s.by) {
        (StepStatus::Waiting, _) | (_, None) => String::new(),
        (_, Some(b)) => format!("  {}", crate::core::update::room::names(b)),
    };
    let note = match &s.status {
        StepStatus::Skipped(why) => format!(" — skipped: {why}"),
        StepStatus::Warned(w) => format!(" — {w}"),
        _ => String::new(),
    };
    let cursor = if current { "›" } else { " " };
    let head = format!("{cursor}{} {when} ", s.status.mark());
    let room = w.saturating_sub(super::width(&head) + super::width(&by));
    let body = fit(&format!("{}{note}", s.title), room);
    let pad = room.saturating_sub(super::width(&body));
    Line::from(vec![
        Span::styled(head, style),
        Span::styled(body, if current { t.selected() } else { style }),
        Span::raw(" ".repeat(pad)),
        Span::styled(by, t.dim()),
    ])
}

/// Under the current step: what it is, then what it needs or shows now.
fn current_details(
    state: &State,
    view: &View<'_>,
    service: usize,
    s: &StepRun,
    w: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let k = |a| keys(view, a);
    let ind = "     ";
    let mut out = vec![Line::styled(
        fit(
            &format!("{ind}{} · {}", s.spec.kind.label(), s.spec.help),
            w,
        ),
        t.dim(),
    )];
    match &s.status {
        // A note's line opens by itself: what is typed goes into it.
        StepStatus::Current
            if matches!(s.spec.kind, StepKind::Action(Act::Note))
                && state.ui.input.as_ref().is_some_and(
                    |i| matches!(i.purpose, InputPurpose::Note { service: n, .. } if n == service),
                ) =>
        {
            out.push(Line::styled(
                fit(
                    &format!(
                        "{ind}type the note on the bottom line · ⏎ records it · Esc closes it"
                    ),
                    w,
                ),
                t.key(),
            ));
        }
        StepStatus::Current => {
            let what = match &s.spec.kind {
                StepKind::Manual => "when it is done",
                StepKind::Check(_) => "to check it now",
                StepKind::Action(a) if a.mutates() => "to see exactly what will change",
                StepKind::Action(_) => "to start it",
            };
            out.push(Line::styled(
                fit(
                    &format!(
                        "{ind}{} {what} · {} skip (with a reason) · {} abandon",
                        k(Action::OpenDetail),
                        k(Action::Skip),
                        k(Action::Abort)
                    ),
                    w,
                ),
                t.key(),
            ));
        }
        StepStatus::AwaitingPreview => out.push(Line::styled(
            format!("{ind}asking the provider what will change…"),
            t.dim(),
        )),
        StepStatus::Previewing(lines) => {
            out.extend(preview(lines, w));
            out.push(Line::styled(
                fit(
                    &format!(
                        "{ind}{} DO IT · {} not now · {} skip",
                        k(Action::Confirm),
                        k(Action::Back),
                        k(Action::Skip)
                    ),
                    w,
                ),
                t.level(Level::Warn),
            ));
        }
        StepStatus::Running { since } => {
            let took = time::human(std::time::Duration::from_secs(
                state.now.since(*since).as_secs(),
            ));
            let line = match s.progress {
                Some((n, of)) if of > 0 => {
                    let pct = f64::from(n.min(of)) * 100.0 / f64::from(of);
                    let what = match &s.spec.kind {
                        StepKind::Check(Check::ErrorRateBelow { .. }) => {
                            format!("{n}s of {of}s under the threshold")
                        }
                        _ => format!("{n} of {of} healthy probes in a row"),
                    };
                    format!("{ind}{} {what} · running {took}", gauge(pct, 20))
                }
                _ => format!("{ind}running… {took}"),
            };
            out.push(Line::styled(fit(&line, w), t.selected()));
        }
        StepStatus::Failed(e) => {
            out.push(Line::styled(
                fit(&format!("{ind}FAILED: {e}"), w),
                t.level(Level::Bad),
            ));
            out.push(Line::styled(
                fit(
                    &format!(
                        "{ind}{} retry · {} skip (with a reason) · {} abandon",
                        k(Action::OpenDetail),
                        k(Action::Skip),
                        k(Action::Abort)
                    ),
                    w,
                ),
                t.key(),
            ));
        }
        StepStatus::AwaitingApproval { lines, asked, .. } => {
            out.extend(preview(lines, w));
            let policy = &state.services[service].rollback.policy;
            let left = policy
                .approval_expiry
                .saturating_sub(state.now.since(*asked));
            let over = if policy.allow_override {
                format!(" · {} override (why)", k(Action::Override))
            } else {
                String::new()
            };
            out.push(Line::styled(
                fit(
                    &format!(
                        "{ind}WAITING for a second person's approval ({} left) · {} withdraw{over}",
                        time::human(std::time::Duration::from_secs(left.as_secs())),
                        k(Action::Back)
                    ),
                    w,
                ),
                t.level(Level::Warn),
            ));
        }
        _ => {}
    }
    for e in s.evidence.iter().rev().take(6).rev() {
        out.push(Line::styled(fit(&format!("{ind}  {e}"), w), t.dim()));
    }
    out
}

/// Under the current step of a checklist another console drives: what it
/// waits for, and — under the two-person rule — this console's keys.
fn followed_details(
    state: &State,
    view: &View<'_>,
    service: usize,
    f: &Followed,
    s: &StepRun,
    w: usize,
) -> Vec<Line<'static>> {
    let t = view.theme;
    let k = |a| keys(view, a);
    let ind = "     ";
    let who = crate::core::update::room::short(&f.operator);
    let mut out = vec![Line::styled(
        fit(
            &format!("{ind}{} · {}", s.spec.kind.label(), s.spec.help),
            w,
        ),
        t.dim(),
    )];
    let wait = |text: String| Line::styled(fit(&format!("{ind}{text}"), w), t.dim());
    match &s.status {
        StepStatus::Current | StepStatus::Failed(_) => {
            if let StepStatus::Failed(e) = &s.status {
                out.push(Line::styled(
                    fit(&format!("{ind}FAILED: {e}"), w),
                    t.level(Level::Bad),
                ));
            }
            out.push(wait(format!("{who}'s turn")));
        }
        StepStatus::AwaitingPreview => out.push(wait(format!("{who} asks what will change…"))),
        StepStatus::Previewing(lines) => {
            out.extend(preview(lines, w));
            out.push(wait(format!("{who} decides")));
        }
        StepStatus::AwaitingApproval { lines, asked, .. } => {
            out.extend(preview(lines, w));
            let expiry = state.services[service].rollback.policy.approval_expiry;
            let left = expiry.saturating_sub(state.now.since(*asked));
            let watching = state.services[service].read_only || state.journal_down.is_some();
            let text = if watching {
                format!("{ind}{who} waits for a second person (this console only watches)")
            } else if !crate::core::update::room::may_answer(state, service, f) {
                format!("{ind}{who} (you, from another console) waits for a second person")
            } else {
                format!(
                    "{ind}{who} asks YOUR approval ({} left): {} APPROVE · {} reject (why)",
                    time::human(std::time::Duration::from_secs(left.as_secs())),
                    k(Action::Approve),
                    k(Action::Reject)
                )
            };
            out.push(Line::styled(fit(&text, w), t.level(Level::Warn)));
        }
        StepStatus::Running { since } => {
            let took = time::human(std::time::Duration::from_secs(
                state.now.since(*since).as_secs(),
            ));
            out.push(Line::styled(
                fit(&format!("{ind}running… {took} (by {who})"), w),
                t.selected(),
            ));
        }
        _ => {}
    }
    for e in s.evidence.iter().rev().take(6).rev() {
        out.push(Line::styled(fit(&format!("{ind}  {e}"), w), t.dim()));
    }
    out
}

/// What a change will do, exactly as its provider described it.
fn preview(lines: &[String], w: usize) -> impl Iterator<Item = Line<'static>> + '_ {
    lines
        .iter()
        .map(move |l| Line::raw(fit(&format!("     │ {l}"), w)))
}
