//! An incident's report, read back from the journal: when the failure began,
//! when it was detected and when users were back on a good version (MTTD,
//! MTTR), every step and who did it, every change (intent → outcome), the
//! messages sent, and the timeline around it.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::core::runbook::StepSummary;
use crate::core::time::{self, Ts};
use crate::room::{Reader, Row};

pub mod comms;
pub mod correct;
pub mod postmortem;
pub mod probation;
pub mod stats;
pub mod war_room;

use war_room::{Approval, Presence, Watcher};

/// Events before the failure began that still belong in the timeline.
const LEAD_IN: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub incident: i64,
    pub service: String,
    pub suspect: String,
    pub target: String,
    pub runbook: String,
    /// `immediate`, `standard` or `emergency` when the rollback was typed:
    /// the last a person chose, else the rule's.
    pub rollback_type: Option<String>,
    /// The rule's reason, and each change of type (who, from, to).
    pub type_why: Vec<String>,
    /// The runbook's time targets, scored.
    pub targets: Vec<crate::core::runbook::TargetScore>,
    pub auto: bool,
    pub started_by: String,
    pub reasons: Vec<String>,
    #[serde(serialize_with = "rfc3339")]
    pub opened: Ts,
    #[serde(serialize_with = "rfc3339_opt")]
    pub began: Option<Ts>,
    #[serde(serialize_with = "rfc3339")]
    pub detected: Ts,
    #[serde(serialize_with = "rfc3339_opt")]
    pub recovered: Option<Ts>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub ended: Option<Ts>,
    /// `completed`, `aborted: why`; `None` while open or after a crash.
    pub ending: Option<String>,
    /// Detection − start of the failure, in seconds.
    pub mttd_secs: Option<f64>,
    /// Recovery (traffic on the good version, verified) − detection, in seconds.
    pub mttr_secs: Option<f64>,
    /// A person on it − detection, in seconds.
    pub mtta_secs: Option<f64>,
    /// Impact began, detected, opened, acknowledged, mitigated, resolved.
    pub milestones: Vec<comms::Milestone>,
    /// The severity, and the updates the team was sent.
    pub comms: comms::Comms,
    pub steps: Vec<StepSummary>,
    pub actions: Vec<Action>,
    pub messages: Vec<Message>,
    /// Who was present on the journal for the service between the
    /// incident's opening and its end.
    pub watchers: Vec<Watcher>,
    /// Approvals asked and given for its changes.
    pub approvals: Vec<Approval>,
    /// The communications lead and the scribe, as they were taken and handed over.
    pub roles: Vec<war_room::RoleChange>,
    pub timeline: Vec<Line>,
    /// Whether the journal this was read from holds together (its hash
    /// chain): a report from an edited journal says so.
    pub journal_chain: ChainNote,
}

/// The journal's hash chain as a report states it.
#[derive(Clone, Debug, Serialize)]
pub struct ChainNote {
    pub holds: bool,
    pub text: String,
}

impl ChainNote {
    fn of(reader: &Reader) -> Self {
        match reader.verify() {
            Ok(v) => ChainNote {
                holds: v.holds(),
                text: v.text(),
            },
            Err(e) => ChainNote {
                holds: false,
                text: format!("the hash chain could not be checked: {e:#}"),
            },
        }
    }
}

/// A change: its intent, and its outcome if it has one.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    #[serde(serialize_with = "rfc3339")]
    pub at: Ts,
    pub by: String,
    pub intent: String,
    /// `None`: interrupted (no outcome was ever written).
    pub outcome: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub finished: Option<Ts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Message {
    #[serde(serialize_with = "rfc3339")]
    pub at: Ts,
    pub by: String,
    pub text: String,
    /// Per notifier: sent or not.
    pub delivery: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Line {
    #[serde(serialize_with = "rfc3339")]
    pub at: Ts,
    pub scope: String,
    pub kind: String,
    pub level: String,
    pub text: String,
    pub by: String,
    /// How many backstops recorded this same observation (each console
    /// sees the world for itself): one line for one fact.
    #[serde(skip_serializing_if = "is_one")]
    pub seen_by: usize,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// What every console observes for itself — a probe's answer, a rule, a
/// decision, a traffic or deploy read: recorded once per console watching.
const OBSERVED: [&str; 6] = ["health", "rule", "decision", "traffic", "deploy", "info"];

/// Observations of one fact by several consoles, one line: the same
/// scope, kind and words from another session within a few seconds.
fn one_line_per_fact(rows: Vec<(Line, Option<String>)>) -> Vec<Line> {
    const NEAR: i64 = 10_000;
    let mut out: Vec<(Line, Vec<Option<String>>)> = Vec::new();
    for (line, session) in rows {
        let same = OBSERVED
            .contains(&line.kind.as_str())
            .then(|| {
                out.iter_mut().rev().take(64).find(|(l, sessions)| {
                    l.scope == line.scope
                        && l.kind == line.kind
                        && l.text == line.text
                        && (line.at.millis() - l.at.millis()).abs() <= NEAR
                        && !sessions.contains(&session)
                })
            })
            .flatten();
        match same {
            Some((l, sessions)) => {
                sessions.push(session);
                l.seen_by = sessions.len();
            }
            None => out.push((line, vec![session])),
        }
    }
    out.into_iter().map(|(l, _)| l).collect()
}

fn rfc3339<S: Serializer>(t: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

fn rfc3339_opt<S: Serializer>(t: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.rfc3339()),
        None => s.serialize_none(),
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The strings of an array field (`reasons`, `services`); none if absent.
pub(crate) fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn ts_of(v: &Value, key: &str) -> Option<Ts> {
    v.get(key).and_then(Value::as_i64).map(Ts)
}

fn secs(later: Option<Ts>, earlier: Option<Ts>) -> Option<f64> {
    match (later, earlier) {
        (Some(l), Some(e)) if l >= e => Some((l.0 - e.0) as f64 / 1000.0),
        _ => None,
    }
}

/// An incident's marks: when its failure began, when it was detected, when
/// users were back on a good version (verified), and when it closed. MTTD
/// and MTTR are measured between them, for one report and for the monthly
/// figures (`stats`) alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub began: Option<Ts>,
    pub detected: Ts,
    pub recovered: Option<Ts>,
    pub ended: Option<Ts>,
}

impl Marks {
    /// From the incident's opening row and its closing row, if it closed
    /// — else, for the recovery, the last checklist its driver published
    /// (users back on a good version and verified, while the after-steps
    /// are still open).
    pub fn of(incident: &Row, closed: Option<&Row>, last_checklist: Option<&Row>) -> Marks {
        let d = incident.entry.data.as_ref().unwrap_or(&Value::Null);
        let cd = closed
            .and_then(|c| c.entry.data.as_ref())
            .unwrap_or(&Value::Null);
        let published = last_checklist
            .and_then(|c| c.entry.data.as_ref())
            .and_then(|d| d.get("checklist"))
            .unwrap_or(&Value::Null);
        Marks {
            began: ts_of(d, "began"),
            // Older rows have no detection time: the incident opened on it.
            detected: ts_of(d, "detected").unwrap_or(incident.entry.at),
            recovered: ts_of(cd, "recovered").or_else(|| {
                published
                    .get("recovered")
                    .and_then(|v| serde_json::from_value::<Ts>(v.clone()).ok())
            }),
            ended: closed.map(|c| c.entry.at),
        }
    }

    /// As people corrected them (`correct`): the failure's start, its
    /// detection and its mitigation are what MTTD and MTTR run between.
    pub fn corrected(mut self, corrections: &[correct::Correction]) -> Marks {
        let at = |name: &str| correct::last(corrections, name).map(|c| c.at);
        self.began = at("impact began").or(self.began);
        self.detected = at("detected").unwrap_or(self.detected);
        self.recovered = at("mitigated").or(self.recovered);
        self
    }

    /// Detection − start of the failure, in seconds.
    pub fn mttd_secs(&self) -> Option<f64> {
        secs(Some(self.detected), self.began)
    }

    /// Recovery − detection, in seconds.
    pub fn mttr_secs(&self) -> Option<f64> {
        secs(self.recovered, Some(self.detected))
    }
}

impl Report {
    /// The report of incident `id`, or of the newest incident.
    pub fn load(reader: &Reader, id: Option<i64>) -> Result<Report> {
        let row = match id {
            Some(id) => reader
                .incident(id)?
                .with_context(|| format!("there is no incident {id} in the journal"))?,
            None => reader
                .incidents()?
                .into_iter()
                .next()
                .context("the journal holds no incident yet")?,
        };
        Self::build(reader, &row)
    }

    fn build(reader: &Reader, inc: &Row) -> Result<Report> {
        let d = inc.entry.data.clone().unwrap_or(Value::Null);
        let own = reader.of_incident(inc.id)?;
        let closed = own.iter().find(|r| r.entry.kind == "closed");
        let cd = closed
            .and_then(|c| c.entry.data.clone())
            .unwrap_or(Value::Null);
        let published = own.iter().rev().find(|r| r.entry.kind == "checklist");
        let corrections = correct::of(&own);
        let marks = Marks::of(inc, closed, published).corrected(&corrections);
        let Marks {
            began,
            detected,
            recovered,
            ended,
        } = marks;
        let steps: Vec<StepSummary> = cd
            .get("steps")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default();

        let outcome_of = |intent: i64| {
            own.iter()
                .find(|r| r.entry.kind == "outcome" && r.entry.reference == Some(intent))
        };
        let mut actions = Vec::new();
        let mut messages = Vec::new();
        for r in own.iter().filter(|r| r.entry.kind == "intent") {
            let out = outcome_of(r.id);
            actions.push(Action {
                at: r.entry.at,
                by: r.entry.operator.clone(),
                intent: r.entry.text.clone(),
                outcome: out.map(|o| o.entry.text.clone()),
                finished: out.map(|o| o.entry.at),
            });
            let data = r.entry.data.clone().unwrap_or(Value::Null);
            if data.get("work").and_then(Value::as_str) == Some("notify") {
                let delivery = out
                    .and_then(|o| o.entry.data.as_ref())
                    .and_then(|d| d.get("evidence"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["(no outcome recorded)".to_string()]);
                messages.push(Message {
                    at: r.entry.at,
                    by: r.entry.operator.clone(),
                    text: str_of(&data, "message"),
                    delivery,
                });
            }
        }

        let service = str_of(&d, "service");
        let from = began.unwrap_or(detected).min(inc.entry.at).minus(LEAD_IN);
        let to = ended.unwrap_or(Ts(i64::MAX));
        let around: Vec<Row> = reader
            .between(&service, from, to)?
            .into_iter()
            .filter(|r| r.entry.incident.is_none_or(|i| i == inc.id))
            .collect();

        // The war room, from its opening (or detection) to its end.
        let opened = detected.min(inc.entry.at);
        let presence: Vec<Presence> = reader
            .events_of(&["presence"], to)?
            .iter()
            .filter_map(Presence::of)
            .collect();
        let watchers = war_room::watchers(&presence, &service, opened, to);
        let mut approval_rows: Vec<&Row> = own
            .iter()
            .chain(around.iter().filter(|r| r.entry.at >= opened))
            .collect();
        approval_rows.sort_by_key(|r| (r.entry.at, r.id));
        approval_rows.dedup_by_key(|r| r.id);
        let approvals = approval_rows.into_iter().filter_map(Approval::of).collect();

        let mut lines: Vec<(Line, Option<String>)> = around
            .into_iter()
            // Steps and changes have their own sections; the events say the same.
            .filter(|r| !matches!(&r.entry.kind[..], "step" | "intent" | "outcome"))
            .map(|r| {
                let line = Line {
                    at: r.entry.at,
                    scope: r.entry.scope.clone(),
                    kind: match (&r.entry.kind[..], &r.entry.data) {
                        ("event", Some(data)) => str_of(data, "kind"),
                        (k, _) => k.to_string(),
                    },
                    level: r.entry.level.clone(),
                    text: r.entry.text.clone(),
                    by: r.entry.operator.clone(),
                    seen_by: 1,
                };
                (line, r.session)
            })
            .collect();
        lines.sort_by_key(|(l, _)| l.at);
        let timeline = one_line_per_fact(lines);

        // The rule's type, then each change a person made before the first change.
        let mut rollback_type = d.get("type").and_then(Value::as_str).map(str::to_string);
        let mut type_why: Vec<String> = d
            .get("type_why")
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect();
        let mut runbook = str_of(&d, "runbook");
        for r in own.iter().filter(|r| r.entry.kind == "retyped") {
            let rd = r.entry.data.clone().unwrap_or(Value::Null);
            rollback_type = Some(str_of(&rd, "to"));
            runbook = str_of(&rd, "runbook");
            type_why.push(format!("{} by {}", r.entry.text, r.entry.operator));
        }
        let targets = cd
            .get("targets")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        let comms = comms::Comms::of(inc, &own, closed);
        let mut report = Report {
            incident: inc.id,
            suspect: str_of(&d, "suspect"),
            target: str_of(&d, "target"),
            runbook,
            rollback_type,
            type_why,
            targets,
            auto: d.get("auto").and_then(Value::as_bool).unwrap_or(false),
            started_by: inc.entry.operator.clone(),
            reasons: strings_of(&d, "reasons"),
            service,
            opened: inc.entry.at,
            began,
            detected,
            recovered,
            ended,
            ending: closed.map(|_| str_of(&cd, "ending")),
            mttd_secs: marks.mttd_secs(),
            mttr_secs: marks.mttr_secs(),
            mtta_secs: None,
            milestones: Vec::new(),
            comms,
            steps,
            actions,
            messages,
            watchers,
            approvals,
            roles: war_room::role_changes(&own),
            timeline,
            journal_chain: ChainNote::of(reader),
        };
        report.milestones = comms::milestones(&report, inc, &own, &corrections);
        let acknowledged = report
            .milestones
            .iter()
            .find(|m| m.name == "acknowledged")
            .and_then(|m| m.at);
        report.mtta_secs = secs(acknowledged, Some(detected));
        Ok(report)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let hms = |t: Option<Ts>| t.map_or_else(|| "—".to_string(), |t| t.rfc3339());
        let dur = |x: Option<f64>| {
            x.map_or_else(
                || "unknown".to_string(),
                |x| time::human(Duration::from_millis((x * 1000.0) as u64)),
            )
        };
        let _ = writeln!(
            s,
            "# Incident {}: {} rolled back from {} to {}\n",
            self.incident, self.service, self.suspect, self.target
        );
        let mode = if self.auto { "auto mode" } else { "guided" };
        let _ = writeln!(
            s,
            "- Runbook: {} ({mode}), started by {}",
            self.runbook, self.started_by
        );
        if let Some(ty) = &self.rollback_type {
            let _ = writeln!(
                s,
                "- Rollback type: {ty} ({})",
                self.type_why.join("; then ")
            );
        }
        if !self.reasons.is_empty() {
            let _ = writeln!(s, "- Why: {}", self.reasons.join("; "));
        }
        let ending = match (&self.ending, self.ended) {
            (Some(e), Some(at)) => format!("{e} at {}", at.rfc3339()),
            _ => "not closed (still open, or backstop stopped before the end)".to_string(),
        };
        let _ = writeln!(s, "- Ended: {ending}");
        let _ = writeln!(s, "- Journal: {}\n", self.journal_chain.text);
        let _ = writeln!(s, "| Measure | Value |\n|---|---|");
        let _ = writeln!(s, "| Failure began | {} |", hms(self.began));
        let _ = writeln!(s, "| Detected | {} |", self.detected.rfc3339());
        let _ = writeln!(
            s,
            "| Recovered (users on {}, verified) | {} |",
            self.target,
            hms(self.recovered)
        );
        let _ = writeln!(s, "| MTTD (detected − began) | {} |", dur(self.mttd_secs));
        let _ = writeln!(
            s,
            "| MTTA (acknowledged − detected) | {} |",
            dur(self.mtta_secs)
        );
        let _ = writeln!(
            s,
            "| MTTR (recovered − detected) | {} |\n",
            dur(self.mttr_secs)
        );

        targets_table(&mut s, &self.targets);
        let _ = writeln!(s, "## Steps\n");
        if self.steps.is_empty() {
            let _ = writeln!(
                s,
                "(no record of the steps: the checklist was not closed)\n"
            );
        } else {
            let _ = writeln!(
                s,
                "| Phase | Step | Outcome | By | At |\n|---|---|---|---|---|"
            );
            for st in &self.steps {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    st.phase.title().to_lowercase(),
                    cell(&st.title),
                    cell(&st.outcome),
                    cell(st.by.as_deref().unwrap_or("—")),
                    st.at.map_or_else(|| "—".to_string(), Ts::hms)
                );
            }
            let _ = writeln!(s);
        }

        let _ = writeln!(s, "## Changes (intent → outcome)\n");
        if self.actions.is_empty() {
            let _ = writeln!(s, "(none)\n");
        }
        for a in &self.actions {
            let outcome = match (&a.outcome, a.finished) {
                (Some(o), Some(f)) => format!("{o} ({})", f.hms()),
                _ => "**INTERRUPTED: no outcome recorded**".to_string(),
            };
            let _ = writeln!(s, "- {} {}: {} → {outcome}", a.at.hms(), a.by, a.intent);
        }
        if !self.actions.is_empty() {
            let _ = writeln!(s);
        }

        let _ = writeln!(s, "## Messages sent\n");
        if self.messages.is_empty() {
            let _ = writeln!(s, "(none)\n");
        }
        for m in &self.messages {
            let _ = writeln!(s, "{} by {}:\n", m.at.hms(), m.by);
            for l in m.text.lines() {
                let _ = writeln!(s, "> {l}");
            }
            let _ = writeln!(s);
            for d in &m.delivery {
                let _ = writeln!(s, "- {d}");
            }
            let _ = writeln!(s);
        }

        self.comms.markdown(&mut s);

        let _ = writeln!(s, "## Who watched\n");
        if self.watchers.is_empty() {
            let _ = writeln!(s, "(none recorded)\n");
        }
        for w in &self.watchers {
            let read_only = if w.read_only { ", read-only" } else { "" };
            let joined = if w.joined < self.detected.min(self.opened) {
                format!("there before it opened (joined {})", w.joined.rfc3339())
            } else {
                format!("joined {}", w.joined.hms())
            };
            let _ = writeln!(s, "- {} — {}{read_only}, {joined}", w.who, w.role);
        }
        if !self.watchers.is_empty() {
            let _ = writeln!(s);
        }

        let _ = writeln!(s, "## Approvals\n");
        if self.approvals.is_empty() {
            let _ = writeln!(s, "(none recorded)\n");
        }
        for a in &self.approvals {
            let request = a
                .request
                .map(|n| format!(" request {n}"))
                .unwrap_or_default();
            let step = a
                .step
                .as_ref()
                .map(|st| format!(" ({st})"))
                .unwrap_or_default();
            let reason = a
                .reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- {} {}: {}{request}{step}{reason}",
                a.at.hms(),
                a.by,
                a.action
            );
        }
        if !self.approvals.is_empty() {
            let _ = writeln!(s);
        }

        let _ = writeln!(s, "## Timeline\n");
        for l in &self.timeline {
            let seen = if l.seen_by > 1 {
                format!(" (seen by {} consoles)", l.seen_by)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "- {} {} [{}] {}{seen}",
                l.at.hms(),
                l.scope,
                l.kind,
                l.text
            );
        }
        s
    }
}

/// Text fit for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A drill's report: the scenario's steps, the clock's marks, the score.
pub fn drill_markdown(
    score: &crate::core::drill::Score,
    title: &str,
    steps: &[(Ts, String)],
    started: Ts,
) -> String {
    use crate::core::drill::{TARGET_MTTD, TARGET_MTTR, TARGET_SAFE, TARGET_SWITCH};
    let mut s = String::new();
    let verdict = if score.held { "held" } else { "NOT held" };
    let _ = writeln!(s, "# Drill {}: expectation {verdict}\n", score.scenario);
    let _ = writeln!(s, "- {title}");
    let _ = writeln!(
        s,
        "- Started {}, at {}x (seed {})",
        started.rfc3339(),
        score.speed,
        score.seed
    );
    let _ = writeln!(
        s,
        "- First rule: {}; rollbacks: {}; escalated: {}",
        score.first_rule.as_deref().unwrap_or("none"),
        score.rollbacks,
        if score.escalated { "yes" } else { "no" }
    );
    let _ = writeln!(
        s,
        "- Checklist: {} done, {} skipped\n",
        score.steps_done, score.steps_skipped
    );
    let _ = writeln!(
        s,
        "| Measure (scenario time) | Value | Target |\n|---|---|---|"
    );
    let fmt = |x: Option<f64>| {
        x.map_or_else(
            || "—".to_string(),
            |x| time::human(Duration::from_secs_f64(x)),
        )
    };
    let _ = writeln!(
        s,
        "| MTTD (detected − fault) | {} | < {} |",
        fmt(score.mttd_secs),
        time::human(TARGET_MTTD)
    );
    let _ = writeln!(
        s,
        "| MTTR (verified − detected) | {} | < {} |",
        fmt(score.mttr_secs),
        time::human(TARGET_MTTR)
    );
    let _ = writeln!(
        s,
        "| Switch (done − decided) | {} | < {} |",
        fmt(score.switch_secs),
        time::human(TARGET_SWITCH)
    );
    let _ = writeln!(
        s,
        "| Time to safe (switch − fault) | {} | < {} |\n",
        fmt(score.safe_secs),
        time::human(TARGET_SAFE)
    );
    targets_table(&mut s, &score.targets);
    if let Some(talk) = &score.talk {
        let _ = writeln!(
            s,
            "## Communication\n\n- First message: {} (target < {})\n- Updates on the cadence: {} sent, {} late or missed\n",
            fmt(talk.first_message_secs),
            time::human(crate::core::drill::TARGET_FIRST_MESSAGE),
            talk.updates,
            talk.late
        );
    }
    let _ = writeln!(s, "## Expectation\n");
    for c in &score.checks {
        let _ = writeln!(s, "- {} {}", if c.held { "✓" } else { "✗" }, c.what);
    }
    for w in &score.wrong_actions {
        let _ = writeln!(s, "  - {w}");
    }
    let crew = &score.crew;
    let _ = writeln!(s, "\n## Crew\n");
    let none = |v: &[String]| if v.is_empty() { "none" } else { "" };
    let _ = writeln!(
        s,
        "- Drove: {}{}",
        crew.drivers.join(", "),
        none(&crew.drivers)
    );
    let _ = writeln!(s, "- Approvals: {}", none(&crew.approvals));
    for a in &crew.approvals {
        let _ = writeln!(s, "  - {a}");
    }
    let _ = writeln!(s, "- Handovers: {}", none(&crew.handovers));
    for h in &crew.handovers {
        let _ = writeln!(s, "  - {h}");
    }
    let _ = writeln!(s, "\n## Scenario\n");
    for (at, text) in steps {
        let _ = writeln!(s, "- {} {text}", at.hms());
    }
    s
}

/// The rollback type's phases against their targets, as a table (nothing
/// when the runbook has none).
fn targets_table(s: &mut String, targets: &[crate::core::runbook::TargetScore]) {
    if targets.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Time targets\n");
    let _ = writeln!(s, "| Target | Within | Took | Met |\n|---|---|---|---|");
    for t in targets {
        let took = t.took_secs.map_or_else(
            || "not reached".to_string(),
            |x| time::human(Duration::from_secs(x)),
        );
        let met = match t.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "no (not reached)",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {took} | {met} |",
            cell(&t.title),
            time::human(Duration::from_secs(t.within_secs))
        );
    }
    let _ = writeln!(s);
}

/// `backstop report --drills`: one line per drill (or a JSON array), oldest
/// first, so the MTTR trend reads top to bottom.
/// The scored drills of the journal's drill rows, for the trend.
pub fn drill_points(rows: &[crate::room::Row]) -> Vec<crate::core::trend::DrillPoint> {
    rows.iter()
        .filter_map(|r| {
            let s: crate::core::drill::Score =
                serde_json::from_value(r.entry.data.clone()?).ok()?;
            Some(crate::core::trend::DrillPoint {
                at: r.entry.at,
                scenario: s.scenario,
                mttd_secs: s.mttd_secs,
                mttr_secs: s.mttr_secs,
                held: s.held,
            })
        })
        .collect()
}

/// The trend of `report --drills`: MTTD and MTTR by month and by scenario,
/// as bars against the targets, with a sentence each; Markdown (the bars
/// in a code block, so they line up wherever it is read).
pub fn drill_trend_markdown(points: &[crate::core::trend::DrillPoint]) -> String {
    use crate::core::trend::{Measure, Trend, chart};
    let t = Trend::of(points);
    let mut s = String::new();
    if t.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\n## Trend: is the team getting faster?\n");
    for m in [Measure::Mttd, Measure::Mttr] {
        let _ = writeln!(s, "- {}", t.verdict(m));
    }
    for (what, groups) in [("month", &t.by_month), ("scenario", &t.by_scenario)] {
        for m in [Measure::Mttd, Measure::Mttr] {
            let _ = writeln!(
                s,
                "\n### {} by {what} (median; ┆ the {} target)\n\n```text",
                m.name(),
                time::human(m.target())
            );
            for line in chart(groups, m, 78) {
                let _ = writeln!(s, "{}", line.trim_end());
            }
            let _ = writeln!(s, "```");
        }
    }
    s
}

pub fn drill_list(rows: &[crate::room::Row], json: bool) -> String {
    use crate::core::drill::Score;
    let scored: Vec<(&crate::room::Row, Score)> = rows
        .iter()
        .filter_map(|r| {
            let s = serde_json::from_value(r.entry.data.clone()?).ok()?;
            Some((r, s))
        })
        .collect();
    if json {
        let items: Vec<serde_json::Value> = scored
            .iter()
            .map(|(r, s)| serde_json::json!({ "at": r.entry.at.rfc3339(), "score": s }))
            .collect();
        return format!("{}\n", serde_json::Value::Array(items));
    }
    let mut s = String::new();
    if scored.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "{:<20}  {:<20} {:>5} {:>8} {:>8} {:>9}  expectation",
        "when (UTC)", "scenario", "speed", "MTTD", "MTTR", "rollbacks"
    );
    let fmt = |x: Option<f64>| {
        x.map_or_else(
            || "—".to_string(),
            |x| time::human(Duration::from_secs_f64(x.round())),
        )
    };
    for (r, sc) in &scored {
        let _ = writeln!(
            s,
            "{:<20}  {:<20} {:>4}x {:>8} {:>8} {:>9}  {}",
            r.entry.at.rfc3339(),
            sc.scenario,
            sc.speed,
            fmt(sc.mttd_secs),
            fmt(sc.mttr_secs),
            sc.rollbacks,
            if sc.held { "held" } else { "NOT held" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use stats::tests::{Book, two_months};

    #[test]
    fn an_incident_report_says_who_watched_and_what_was_approved() {
        let b = Book::new();
        let [web1, _, web3, _] = two_months(&b);
        let reader = Reader::open(&b.path).unwrap();

        let r = Report::load(&reader, Some(web1)).unwrap();
        // Alice was there before it opened (and came again as "al": one
        // person, one line); Bob had left; Carol watched only api.
        let who: Vec<(&str, bool)> = r
            .watchers
            .iter()
            .map(|w| (w.person.as_str(), w.verified))
            .collect();
        assert_eq!(who, [("alice@example.com", true)]);
        let asked: Vec<(&str, Option<i64>)> = r
            .approvals
            .iter()
            .map(|a| (a.action.as_str(), a.request))
            .collect();
        assert_eq!(
            asked,
            [("ask", Some(1)), ("approve", Some(1)), ("reject", Some(2))]
        );
        let md = r.markdown();
        assert!(
            md.contains("## Who watched\n\n- alice@example.com (aws arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_x/alice@example.com; ec2-user@bastion from 10.0.0.7) — console, there before it opened (joined 2026-10-03T09:00:00Z)\n"),
            "{md}"
        );
        assert!(
            md.contains("- 10:07:30 bob (self-declared; ec2-user@bastion from 10.0.0.9): approve request 1 (switch-traffic)\n"),
            "{md}"
        );
        let doc: Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(doc["watchers"][0]["person"], "alice@example.com");
        assert_eq!(doc["approvals"][2]["action"], "reject");
        assert_eq!(doc["approvals"][2]["at"], "2026-10-03T10:07:40Z");

        // Nobody on the journal, nothing asked: said so.
        let r = Report::load(&reader, Some(web3)).unwrap();
        assert!(r.watchers.is_empty() && r.approvals.is_empty());
        let md = r.markdown();
        assert!(
            md.contains("## Who watched\n\n(none recorded)\n\n## Approvals\n\n(none recorded)\n"),
            "{md}"
        );
        let doc: Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(doc["watchers"], serde_json::json!([]));
        assert_eq!(doc["approvals"], serde_json::json!([]));
    }
}
