//! Rules on probation (`dry_run = true`) in `report --stats`: how often each
//! would have fired, and whether a rollback followed — what a team reads
//! before it lets a new rule decide.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::war_room::service_of;
use crate::core::decision::RollbackRecord;
use crate::core::time::{self, Ts};
use crate::room::Row;

/// One rule on probation in one month.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DryRun {
    /// `compare latency`, as the rule is named on screen.
    pub rule: String,
    /// Times it would have fired (once per minute, however many consoles
    /// journaled it).
    pub fired: u32,
    /// Of those, how many a rollback of the service followed within
    /// [`FOLLOWED`]: the rule agreed with what people (or the deciding
    /// rules) did. The rest are the false alarms it would have raised.
    pub followed: u32,
}

/// How soon after a dry-run rule fired a rollback counts as following it.
pub const FOLLOWED: Duration = Duration::from_secs(3600);

/// One firing of a rule on probation, as the statistics count it.
pub(super) struct Firing {
    pub service: String,
    pub rule: String,
    pub at: Ts,
    pub followed: bool,
}

/// The firings among `events` (in time order): each once per service,
/// rule and minute (every console of a room journals what it saw), and
/// whether a rollback of the service followed within [`FOLLOWED`].
pub(super) fn firings(events: &[Row], rollbacks: &[(String, RollbackRecord)]) -> Vec<Firing> {
    let mut seen: BTreeSet<(String, String, i64)> = BTreeSet::new();
    let mut out = Vec::new();
    for r in events {
        let d = r.entry.data.as_ref().unwrap_or(&Value::Null);
        if d.get("kind").and_then(Value::as_str) != Some("dry-run")
            || d.get("firing") != Some(&Value::Bool(true))
        {
            continue;
        }
        let rule = d
            .get("rule")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let service = service_of(&r.entry.scope).to_string();
        let at = r.entry.at;
        if !seen.insert((
            service.clone(),
            rule.clone(),
            at.millis().div_euclid(60_000),
        )) {
            continue;
        }
        let followed = rollbacks
            .iter()
            .any(|(s, rb)| *s == service && rb.at >= at && rb.at.since(at) <= FOLLOWED);
        out.push(Firing {
            service,
            rule,
            at,
            followed,
        });
    }
    out
}

/// The Markdown table after the statistics' own, when any rule is on
/// probation: one row per (service, month, rule).
pub(super) fn table(rows: &[(&str, &str, &DryRun)]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\nRules on probation (`dry_run`): how often each would have fired, and how often a rollback followed within {}.\n",
        time::human(FOLLOWED)
    );
    let _ = writeln!(
        s,
        "| Service | Month | Rule | Would have fired | Followed by a rollback | Would have been false alarms |"
    );
    let _ = writeln!(s, "|---|---|---|--:|--:|--:|");
    for (service, month, d) in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            super::cell(service),
            month,
            super::cell(&d.rule),
            d.fired,
            d.followed,
            d.fired - d.followed
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::stats::Stats;
    use crate::report::stats::tests::{Book, t, two_months};
    use crate::room::Reader;

    /// A rule on probation: each firing counted once however many consoles
    /// journaled it, and whether a rollback followed within the hour.
    #[test]
    fn dry_run_rules_are_counted_against_the_rollbacks() {
        let b = Book::new();
        two_months(&b);
        let fired = |at: Ts, by: &str, firing: bool| {
            let data = json!({"kind": "dry-run", "rule": "compare errors", "env": "green", "firing": firing});
            b.event(at, "web", by, data);
        };
        // Before the October switch of 10:08 (followed), seen by two consoles.
        fired(t(10, 3, 10, 6, 30), "backstop", true);
        fired(t(10, 3, 10, 6, 31), "backstop", true);
        fired(t(10, 3, 10, 7, 30), "backstop", false);
        // In the afternoon, with no rollback after it: a false alarm.
        fired(t(10, 3, 14, 0, 0), "backstop", true);
        let stats = Stats::load(&Reader::open(&b.path).unwrap()).unwrap();
        let web = stats
            .services
            .iter()
            .find(|m| m.service == "web" && m.month == "2026-10")
            .unwrap();
        assert_eq!(
            web.dry_run,
            vec![DryRun {
                rule: "compare errors".into(),
                fired: 2,
                followed: 1
            }]
        );
        let md = stats.markdown();
        assert!(
            md.contains("| web | 2026-10 | compare errors | 2 | 1 | 1 |"),
            "{md}"
        );
        assert!(stats.json().contains("\"dry_run\""));
    }
}
