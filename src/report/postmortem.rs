//! `backstop report --postmortem`: the review's first draft, from the
//! journal alone — what happened, when, who did and approved what, what the
//! team was told — with the follow-ups of reference 003 as a checklist with
//! due dates. What only people know (the root cause, the lessons) is left as
//! headings to fill, never guessed.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Report, cell};
use crate::core::time::{self, Ts};

/// Reference 003's post-rollback work: within an hour, a day, a week.
const FOLLOW_UPS: [(&str, u64, [&str; 4]); 3] = [
    (
        "within 1 hour",
        3600,
        [
            "Verify all systems operational",
            "Review logs for the root cause",
            "Document the timeline of events",
            "Update stakeholders",
        ],
    ),
    (
        "within 24 hours",
        24 * 3600,
        [
            "Hold the post-mortem meeting",
            "Document the root cause",
            "Create action items",
            "Update the rollback procedures if needed",
        ],
    ),
    (
        "within 1 week",
        7 * 24 * 3600,
        [
            "Implement the fixes",
            "Add tests to prevent recurrence",
            "Update monitoring and alerts",
            "Share the learnings with the team",
        ],
    ),
];

/// The id of the after-phase step that schedules the review.
pub const SCHEDULE_STEP: &str = "postmortem";

pub fn markdown(r: &Report, drafted: Ts) -> String {
    let mut s = String::new();
    let sev = r
        .comms
        .severity
        .as_ref()
        .map_or_else(String::new, |s| format!(" ({})", s.label));
    let _ = writeln!(
        s,
        "# Post-mortem: {}, incident {}{sev}\n",
        r.service, r.incident
    );
    let _ = writeln!(
        s,
        "_A draft backstop wrote from the journal at {}. Everything below is recorded fact; \
         the headings marked (to write) are the team's._\n",
        drafted.rfc3339()
    );

    let _ = writeln!(s, "## Summary\n");
    let took = |x: Option<f64>| {
        x.map_or_else(
            || "unknown".to_string(),
            |v| time::human(Duration::from_secs_f64(v)),
        )
    };
    let why = if r.reasons.is_empty() {
        "a person asked for it".to_string()
    } else {
        r.reasons.join("; ")
    };
    let _ = writeln!(
        s,
        "{} was rolled back from {} to {} ({}). Detected {} after the failure began, \
         users were back on {} {} after detection. It ended: {}.\n",
        r.service,
        r.suspect,
        r.target,
        why,
        took(r.mttd_secs),
        r.target,
        took(r.mttr_secs),
        r.ending.as_deref().unwrap_or("not closed")
    );

    let _ = writeln!(s, "## Severity and impact\n");
    match &r.comms.severity {
        Some(sev) => {
            let by = sev.by.as_ref().map_or_else(
                || "proposed by the rule".to_string(),
                |b| format!("declared by {b}"),
            );
            let _ = writeln!(s, "- Severity: **{}**, {by}: {}", sev.label, sev.why);
        }
        None => {
            let _ = writeln!(s, "- Severity: none recorded");
        }
    }
    let start = r.began.unwrap_or(r.detected);
    let end = r.recovered.or(r.ended);
    let window = match end {
        Some(e) => format!(
            "{} → {} ({})",
            start.rfc3339(),
            e.rfc3339(),
            time::human(e.since(start))
        ),
        None => format!("{} → not mitigated", start.rfc3339()),
    };
    let _ = writeln!(s, "- Impact window: {window}");
    let _ = writeln!(s, "- Who was affected, and how: (to write)\n");

    let _ = writeln!(s, "## Milestones\n");
    let _ = writeln!(s, "| Milestone | At | From |\n|---|---|---|");
    for m in &r.milestones {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            m.name,
            m.at.map_or_else(|| "—".to_string(), Ts::rfc3339),
            m.from
        );
    }
    let secs = |x: Option<f64>| x.map_or_else(|| "unknown".to_string(), |v| format!("{v:.0} s"));
    let _ = writeln!(
        s,
        "\nMTTD {} · MTTA {} · MTTR {}\n",
        secs(r.mttd_secs),
        secs(r.mtta_secs),
        secs(r.mttr_secs)
    );

    let _ = writeln!(s, "## The decision and its evidence\n");
    for reason in &r.reasons {
        let _ = writeln!(s, "- {reason}");
    }
    for t in &r.type_why {
        let _ = writeln!(s, "- rollback type: {t}");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Changes, who made them and who approved them\n");
    if r.actions.is_empty() {
        let _ = writeln!(s, "(none)");
    }
    for a in &r.actions {
        let outcome = a
            .outcome
            .clone()
            .unwrap_or_else(|| "INTERRUPTED: no outcome recorded".into());
        let _ = writeln!(s, "- {} {}: {} → {outcome}", a.at.hms(), a.by, a.intent);
    }
    for a in &r.approvals {
        let reason = a
            .reason
            .as_ref()
            .map(|x| format!(": {x}"))
            .unwrap_or_default();
        let _ = writeln!(s, "- {} {}: {}{reason}", a.at.hms(), a.by, a.action);
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## What the team and the public were told\n");
    if r.messages.is_empty() {
        let _ = writeln!(s, "(no message recorded)\n");
    }
    for m in &r.messages {
        let first = m.text.lines().next().unwrap_or_default();
        let _ = writeln!(s, "- {} by {}: {}", m.at.hms(), m.by, cell(first));
    }
    let late = r
        .comms
        .updates
        .iter()
        .filter(|u| u.late_secs.is_some())
        .count();
    let _ = writeln!(
        s,
        "\nUpdates on the cadence: {} sent, {late} late, {} missed.\n",
        r.comms.updates.len(),
        r.comms.missed_updates
    );

    // Who held the incident's roles beside its driver, and when.
    if !r.roles.is_empty() {
        let _ = writeln!(s, "## Roles\n");
        for c in &r.roles {
            let what = match &c.holder {
                Some(h) if *h == c.by => format!("{h} took the {}", c.role),
                Some(h) => format!("{} handed the {} to {h}", c.by, c.role),
                None => format!("{} gave up the {}", c.by, c.role),
            };
            let _ = writeln!(s, "- {} {what}", c.at.hms());
        }
        let _ = writeln!(s);
    }

    let _ = writeln!(s, "## Timeline\n");
    for l in &r.timeline {
        let _ = writeln!(s, "- {} {} [{}] {}", l.at.hms(), l.scope, l.kind, l.text);
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Root cause (to write)\n");
    if let Some(note) = r
        .steps
        .iter()
        .find(|st| st.id == "root-cause")
        .and_then(|st| st.evidence.first())
    {
        let _ = writeln!(s, "Noted during the incident: {note}\n");
    }
    let _ = writeln!(s, "## What went well, what did not (to write)\n");

    let _ = writeln!(s, "## Follow-ups\n");
    let scheduled = r
        .steps
        .iter()
        .find(|st| st.id == SCHEDULE_STEP)
        .and_then(|st| st.evidence.first().map(|e| (e.clone(), st.by.clone())));
    match scheduled {
        Some((when, by)) => {
            let by = by.map(|b| format!(" (by {b})")).unwrap_or_default();
            let _ = writeln!(s, "The review is scheduled: {when}{by}\n");
        }
        None => {
            let _ = writeln!(s, "The review is not scheduled yet.\n");
        }
    }
    // Due from the end of the incident (its mitigation, else its opening).
    let from = r.ended.or(r.recovered).unwrap_or(r.opened);
    for (within, secs, items) in FOLLOW_UPS {
        let due = from.plus(Duration::from_secs(secs));
        let _ = writeln!(s, "### {within} (due {})\n", due.rfc3339());
        for item in items {
            let _ = writeln!(s, "- [ ] {item}");
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::stats::tests::Book;
    use crate::room::{Entry, Reader};

    fn row(
        b: &Book,
        at: i64,
        kind: &str,
        by: &str,
        data: serde_json::Value,
        incident: Option<i64>,
    ) -> i64 {
        let mut e = Entry::new(Ts(at), kind, "web", kind.to_string(), by);
        e.data = Some(data);
        e.incident = incident;
        b.j.append_now(e).unwrap()
    }

    /// An incident the rule called SEV2?, declared SEV1 by a person, with
    /// one update on time and one late, the review scheduled in the after phase.
    #[test]
    fn the_draft_holds_the_severity_the_milestones_the_updates_and_dated_follow_ups() {
        let b = Book::new();
        let t0 = 1_796_000_000_000; // 2026-11-30T…
        let inc = row(
            &b,
            t0 + 10_000,
            "incident",
            "alice",
            json!({
                "service": "web", "suspect": "green", "target": "blue",
                "reasons": ["health-failures firing on green"],
                "began": t0, "detected": t0 + 6_000,
                "severity": 2, "severity_why": "rule: health-failures firing on green (100 % of traffic), where users are",
            }),
            None,
        );
        row(
            &b,
            t0 + 40_000,
            "severity",
            "alice",
            json!({"level": 1, "why": "checkout down for everyone"}),
            Some(inc),
        );
        // Bob took the communications lead and handed it to Carol; a late
        // take by someone else, from a stale view, did not stand.
        let session = crate::identity::session();
        row(
            &b,
            t0 + 50_000,
            "event",
            "bob",
            json!({"kind": "role", "role": "comms", "action": "take", "from": null}),
            Some(inc),
        );
        row(
            &b,
            t0 + 60_000,
            "event",
            "dave",
            json!({"kind": "role", "role": "comms", "action": "take", "from": null}),
            Some(inc),
        );
        row(
            &b,
            t0 + 70_000,
            "event",
            "bob",
            json!({"kind": "role", "role": "comms", "action": "hand", "from": session,
                   "to_session": "carol#9-9", "to": "carol"}),
            Some(inc),
        );
        let updates = json!([
            {"at": t0 + 200_000, "by": "alice", "late": null},
            {"at": t0 + 560_000, "by": "alice", "late": {"secs": 60, "nanos": 0}},
        ]);
        row(
            &b,
            t0 + 900_000,
            "closed",
            "alice",
            json!({
                "ending": "completed", "recovered": t0 + 100_000,
                "updates": updates, "missed_updates": 1,
                "steps": [{
                    "phase": "after", "id": "postmortem", "title": "Schedule the post-mortem",
                    "outcome": "done", "by": "alice", "started": t0 + 890_000, "at": t0 + 890_000,
                    "evidence": ["tomorrow 10:00, led by bob"],
                }],
            }),
            Some(inc),
        );
        let r = Report::load(&Reader::open(&b.path).unwrap(), Some(inc)).unwrap();
        let sev = r.comms.severity.as_ref().unwrap();
        assert_eq!(
            (sev.label.as_str(), sev.by.as_deref()),
            ("SEV1", Some("alice"))
        );
        assert_eq!(sev.history.len(), 2, "{:?}", sev.history);
        assert!(
            sev.history[0].contains("SEV2? proposed: rule: health-failures"),
            "{:?}",
            sev.history
        );
        assert_eq!(r.comms.updates.len(), 2);
        assert_eq!(r.comms.updates[1].late_secs, Some(60));
        assert_eq!(r.comms.missed_updates, 1);
        // Acknowledged when a person opened it: 4 s after detection.
        assert_eq!(r.mtta_secs, Some(4.0));
        let names: Vec<&str> = r.milestones.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "impact began",
                "detected",
                "opened",
                "acknowledged",
                "mitigated",
                "resolved"
            ]
        );
        assert_eq!(r.milestones[5].at, Some(Ts(t0 + 900_000)));

        let md = markdown(&r, Ts(t0 + 1_000_000));
        assert!(
            !md.contains("dave took"),
            "a row that lost its race stood:\n{md}"
        );
        for want in [
            "# Post-mortem: web, incident 1 (SEV1)\n",
            "- Severity: **SEV1**, declared by alice: checkout down for everyone\n",
            "| acknowledged | ",
            "MTTD 6 s · MTTA 4 s · MTTR 94 s",
            "Updates on the cadence: 2 sent, 1 late, 1 missed.",
            "## Roles\n\n- ",
            "bob took the communications lead\n",
            "bob handed the communications lead to carol\n",
            "The review is scheduled: tomorrow 10:00, led by bob (by alice)\n",
            "- [ ] Hold the post-mortem meeting\n",
        ] {
            assert!(md.contains(want), "missing {want:?} in:\n{md}");
        }
        // Due a day after the end.
        let due = Ts(t0 + 900_000)
            .plus(Duration::from_secs(24 * 3600))
            .rfc3339();
        assert!(
            md.contains(&format!("### within 24 hours (due {due})")),
            "{md}"
        );
        // The report itself says the same, in its communication section.
        let report = r.markdown();
        assert!(
            report.contains("| MTTA (acknowledged − detected) | 4s |"),
            "{report}"
        );
        assert!(
            report.contains("- Updates to the team: 2 (1 late); missed under the cadence: 1"),
            "{report}"
        );
    }

    /// `status` lists the incidents the journal holds open, each with the
    /// severity in force: the last declared, else the rule's proposal.
    #[test]
    fn open_incidents_carry_their_severity() {
        let b = Book::new();
        let data = |sev: u8| json!({"service": "web", "severity": sev, "severity_why": "rule: x"});
        let closed = row(&b, 1_000, "incident", "alice", data(2), None);
        row(
            &b,
            2_000,
            "closed",
            "alice",
            json!({"ending": "completed"}),
            Some(closed),
        );
        let proposed = row(&b, 3_000, "incident", "alice", data(3), None);
        let declared = row(&b, 4_000, "incident", "bob", data(2), None);
        row(
            &b,
            5_000,
            "severity",
            "carol",
            json!({"level": 1, "why": "down"}),
            Some(declared),
        );
        let open = Reader::open(&b.path).unwrap().open_incidents().unwrap();
        let seen: Vec<(i64, String)> = open
            .iter()
            .map(|(r, s)| (r.id, s.as_ref().map(|s| s.label()).unwrap_or_default()))
            .collect();
        assert_eq!(
            seen,
            [(declared, "SEV1".into()), (proposed, "SEV3?".into())]
        );
        assert_eq!(
            open[0].1.as_ref().and_then(|s| s.by.as_deref()),
            Some("carol")
        );
    }
}
