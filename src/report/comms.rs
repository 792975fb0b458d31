//! An incident's communication as the journal holds it: the severity the
//! rule proposed and each one a person declared, every update to the team
//! (on time or late), and the milestones MTTA, MTTD and MTTR run between.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::core::comms::{Severity, Update};
use crate::core::time::Ts;
use crate::room::Row;

/// The severity in force at the end, and how it got there.
#[derive(Clone, Debug, Serialize)]
pub struct SeverityReport {
    pub level: u8,
    /// `SEV1`, or `SEV1?` when nobody declared it.
    pub label: String,
    pub why: String,
    /// Who declared it (none: the rule's proposal stood).
    pub by: Option<String>,
    /// Each change, oldest first: `14:02:11 SEV3? proposed: rule: …`.
    pub history: Vec<String>,
}

/// One update the team was sent.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateLine {
    #[serde(serialize_with = "super::rfc3339")]
    pub at: Ts,
    pub by: String,
    /// Seconds late, when it was.
    pub late_secs: Option<u64>,
}

/// A moment of the incident, and where it was read from.
#[derive(Clone, Debug, Serialize)]
pub struct Milestone {
    pub name: &'static str,
    #[serde(serialize_with = "super::rfc3339_opt")]
    pub at: Option<Ts>,
    /// What it was read from, or who corrected it and why.
    pub from: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Comms {
    pub severity: Option<SeverityReport>,
    pub updates: Vec<UpdateLine>,
    /// Updates that came late or never came, under the severity's cadence.
    pub missed_updates: usize,
}

impl Comms {
    /// From the incident's opening row, its own rows and its closing row.
    pub fn of(incident: &Row, own: &[Row], closed: Option<&Row>) -> Comms {
        let d = incident.entry.data.as_ref().unwrap_or(&Value::Null);
        let cd = closed
            .and_then(|c| c.entry.data.as_ref())
            .unwrap_or(&Value::Null);
        let mut history = Vec::new();
        let mut current: Option<Severity> =
            d.get("severity")
                .and_then(Value::as_u64)
                .map(|level| Severity {
                    level: level as u8,
                    why: super::str_of(d, "severity_why"),
                    by: None,
                    at: incident.entry.at,
                });
        if let Some(s) = &current {
            history.push(format!("{} {} proposed: {}", s.at.hms(), s.label(), s.why));
        }
        for r in own.iter().filter(|r| r.entry.kind == "severity") {
            let rd = r.entry.data.as_ref().unwrap_or(&Value::Null);
            let Some(level) = rd.get("level").and_then(Value::as_u64) else {
                continue;
            };
            let s = Severity {
                level: level as u8,
                why: super::str_of(rd, "why"),
                by: Some(r.entry.operator.clone()),
                at: r.entry.at,
            };
            history.push(format!(
                "{} {} declared by {}: {}",
                s.at.hms(),
                s.label(),
                r.entry.operator,
                s.why
            ));
            current = Some(s);
        }
        let updates: Vec<Update> = cd
            .get("updates")
            .and_then(|u| serde_json::from_value(u.clone()).ok())
            .unwrap_or_default();
        Comms {
            severity: current.map(|s| SeverityReport {
                level: s.level,
                label: s.label(),
                why: s.why,
                by: s.by,
                history,
            }),
            updates: updates
                .into_iter()
                .map(|u| UpdateLine {
                    at: u.at,
                    by: u.by,
                    late_secs: u.late.map(|l| l.as_secs()),
                })
                .collect(),
            missed_updates: cd
                .get("missed_updates")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize,
        }
    }

    pub fn markdown(&self, s: &mut String) {
        let _ = writeln!(s, "## Communication\n");
        match &self.severity {
            Some(sev) => {
                let _ = writeln!(s, "- Severity: **{}** — {}", sev.label, sev.why);
                for h in &sev.history {
                    let _ = writeln!(s, "  - {h}");
                }
            }
            None => {
                let _ = writeln!(s, "- Severity: none recorded");
            }
        }
        let late = self
            .updates
            .iter()
            .filter(|u| u.late_secs.is_some())
            .count();
        let _ = writeln!(
            s,
            "- Updates to the team: {} ({late} late); missed under the cadence: {}\n",
            self.updates.len(),
            self.missed_updates
        );
        for u in &self.updates {
            let when = u
                .late_secs
                .map_or_else(|| "on time".to_string(), |l| format!("{l} s late"));
            let _ = writeln!(s, "- {} by {}: {when}", u.at.hms(), u.by);
        }
        if !self.updates.is_empty() {
            let _ = writeln!(s);
        }
    }
}

/// When a person was on the incident: its opening, by a person — or, auto
/// mode having opened it, the first severity a person declared.
pub fn acknowledged(incident: &Row, first_severity: Option<Ts>) -> Option<Ts> {
    let auto = incident
        .entry
        .data
        .as_ref()
        .and_then(|d| d.get("auto"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if auto {
        first_severity
    } else {
        Some(incident.entry.at)
    }
}

/// The milestones: impact began, detected, opened, acknowledged (a person
/// on it: opened by one, or — auto mode — the first severity a person
/// declared), mitigated (users on the good version, verified), resolved.
pub fn milestones(
    r: &super::Report,
    incident: &Row,
    own: &[Row],
    corrections: &[super::correct::Correction],
) -> Vec<Milestone> {
    let acknowledged = acknowledged(
        incident,
        own.iter()
            .find(|row| row.entry.kind == "severity")
            .map(|row| row.entry.at),
    );
    let resolved = r.ended.filter(|_| r.ending.as_deref() == Some("completed"));
    let mut all = vec![
        Milestone {
            name: "impact began",
            at: r.began,
            from: "the first failure seen".into(),
        },
        Milestone {
            name: "detected",
            at: Some(r.detected),
            from: "the first rule that fired".into(),
        },
        Milestone {
            name: "opened",
            at: Some(r.opened),
            from: "the checklist opened".into(),
        },
        Milestone {
            name: "acknowledged",
            at: acknowledged,
            from: if r.auto {
                "a person's first severity (auto mode opened it)".into()
            } else {
                "a person opened it".into()
            },
        },
        Milestone {
            name: "mitigated",
            at: r.recovered,
            from: "users on the good version, verified".into(),
        },
        Milestone {
            name: "resolved",
            at: resolved,
            from: "the checklist completed".into(),
        },
    ];
    // A person's correction stands over the stamp, and says whose it is.
    for m in &mut all {
        if let Some(c) = super::correct::last(corrections, m.name) {
            m.at = Some(c.at);
            m.from = format!("corrected by {}: {}", c.by, c.reason);
        }
    }
    all
}
