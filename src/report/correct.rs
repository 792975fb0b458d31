//! Milestones corrected by a person: the journal stamps each milestone as
//! it happens, from what backstop saw; a person who knows better (the
//! load balancer's logs put the first 500 two minutes earlier) corrects it
//! with a reason (`backstop milestone`). The correction is a row of its
//! own — the stamp stays — and every figure read from the milestone (the
//! report's MTTD, MTTA and MTTR, `report --stats`) uses the corrected one,
//! saying so.

use serde_json::{Value, json};

use crate::core::time::Ts;
use crate::room::{Entry, Row};

/// The milestones a person may correct, by the word they type.
pub const NAMES: [(&str, &str); 5] = [
    ("began", "impact began"),
    ("detected", "detected"),
    ("acknowledged", "acknowledged"),
    ("mitigated", "mitigated"),
    ("resolved", "resolved"),
];

/// One correction, as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The milestone's name as the report shows it (`impact began`).
    pub milestone: &'static str,
    pub at: Ts,
    pub reason: String,
    pub by: String,
}

/// Why a correction was not made.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "`{0}` is not a milestone that can be corrected (began, detected, acknowledged, mitigated, resolved)"
    )]
    Unknown(String),
    #[error(
        "say why: `--reason \"the load balancer's first 500 was at 14:02\"` (it is read in the post-mortem)"
    )]
    NoReason,
    #[error(
        "`{0}` is not a time: give RFC 3339 (2026-12-07T14:02:00Z) or HH:MM[:SS] in UTC, within 12 hours of the incident's opening"
    )]
    Time(String),
    #[error("{0} is in the future")]
    Future(String),
}

/// The report's name for a milestone word.
pub fn milestone_of(word: &str) -> Result<&'static str, Refused> {
    NAMES
        .iter()
        .find(|(w, name)| *w == word || *name == word)
        .map(|(_, name)| *name)
        .ok_or_else(|| Refused::Unknown(word.to_string()))
}

/// `2026-12-07T14:02:00Z`, or `14:02[:05]` (UTC): the one within 12 hours
/// of `day` (the incident's opening).
pub fn parse_time(text: &str, day: Ts) -> Result<Ts, Refused> {
    let bad = || Refused::Time(text.to_string());
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| bad())?
            .as_millis();
        return i64::try_from(ms).map(Ts).map_err(|_| bad());
    }
    let parts: Vec<u32> = text
        .split(':')
        .map(|p| p.parse::<u32>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (h, m, sec) = match parts[..] {
        [h, m] => (h, m, 0),
        [h, m, s] => (h, m, s),
        _ => return Err(bad()),
    };
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    // The clock time nearest the incident's opening: 23:55 for an incident
    // opened at 00:03 is the evening before, not the night after.
    const DAY: i64 = 86_400_000;
    let midnight = day.millis().div_euclid(DAY) * DAY;
    let mut at = midnight + i64::from(h * 3600 + m * 60 + sec) * 1000;
    if at - day.millis() > DAY / 2 {
        at -= DAY;
    } else if day.millis() - at > DAY / 2 {
        at += DAY;
    }
    Ok(Ts(at))
}

/// The journal row of a correction of incident `incident`.
pub fn entry(incident: i64, scope: &str, c: &Correction, now: Ts) -> Result<Entry, Refused> {
    if c.reason.trim().is_empty() {
        return Err(Refused::NoReason);
    }
    if c.at > now {
        return Err(Refused::Future(c.at.rfc3339()));
    }
    let mut e = Entry::new(
        now,
        "milestone",
        scope,
        format!(
            "milestone {} corrected to {}: {}",
            c.milestone,
            c.at.rfc3339(),
            c.reason.trim()
        ),
        &c.by,
    );
    e.level = "warn".into();
    e.incident = Some(incident);
    e.data = Some(json!({
        "milestone": c.milestone,
        "at": c.at.millis(),
        "reason": c.reason.trim(),
    }));
    Ok(e)
}

/// The corrections among `rows` (any kinds, in the journal's order).
pub fn of(rows: &[Row]) -> Vec<Correction> {
    rows.iter()
        .filter(|r| r.entry.kind == "milestone")
        .filter_map(|r| {
            let d = r.entry.data.as_ref()?;
            let name = d.get("milestone").and_then(Value::as_str)?;
            Some(Correction {
                milestone: milestone_of(name).ok()?,
                at: Ts(d.get("at")?.as_i64()?),
                reason: d.get("reason").and_then(Value::as_str)?.to_string(),
                by: r.entry.operator.clone(),
            })
        })
        .collect()
}

/// The last correction of `milestone`, if any: a later one stands.
pub fn last<'a>(corrections: &'a [Correction], milestone: &str) -> Option<&'a Correction> {
    corrections.iter().rev().find(|c| c.milestone == milestone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_utc_on_the_incidents_day() {
        let day = Ts(1_796_651_000_000); // 2026-12-07T…Z
        let t = parse_time("14:02", day).unwrap();
        assert_eq!(t.rfc3339(), "2026-12-07T14:02:00Z");
        assert_eq!(
            parse_time("14:02:05", day).unwrap().rfc3339(),
            "2026-12-07T14:02:05Z"
        );
        assert_eq!(
            parse_time("2026-12-06T23:59:00Z", day).unwrap().rfc3339(),
            "2026-12-06T23:59:00Z"
        );
        assert!(parse_time("25:00", day).is_err());
        // Across midnight: the nearest 23:55 to an incident opened at 00:03.
        let night = Ts(1_796_688_180_000); // 2026-12-08T00:03:00Z
        assert_eq!(
            parse_time("23:55", night).unwrap().rfc3339(),
            "2026-12-07T23:55:00Z"
        );
        assert_eq!(
            parse_time("00:10", night).unwrap().rfc3339(),
            "2026-12-08T00:10:00Z"
        );
        assert!(matches!(parse_time("at two", day), Err(Refused::Time(_))));
        assert!(matches!(milestone_of("fixed"), Err(Refused::Unknown(_))));
        assert_eq!(milestone_of("began").unwrap(), "impact began");
    }

    #[test]
    fn a_correction_needs_a_reason_and_a_past_time_and_the_last_one_stands() {
        let c = |at: i64, reason: &str| Correction {
            milestone: "impact began",
            at: Ts(at),
            reason: reason.into(),
            by: "alice".into(),
        };
        assert!(matches!(
            entry(1, "web", &c(5, " "), Ts(10)),
            Err(Refused::NoReason)
        ));
        assert!(matches!(
            entry(1, "web", &c(50, "lb logs"), Ts(10)),
            Err(Refused::Future(_))
        ));
        let e = entry(1, "web", &c(5, "lb logs"), Ts(10)).unwrap();
        assert_eq!(e.kind, "milestone");
        assert_eq!(e.incident, Some(1));
        let rows: Vec<Row> = [c(5, "lb logs"), c(4, "earlier still")]
            .iter()
            .enumerate()
            .map(|(i, x)| Row {
                id: i as i64 + 1,
                session: None,
                room: None,
                entry: entry(1, "web", x, Ts(10)).unwrap(),
            })
            .collect();
        let all = of(&rows);
        assert_eq!(all.len(), 2);
        assert_eq!(last(&all, "impact began").unwrap().reason, "earlier still");
        assert_eq!(last(&all, "detected"), None);
    }
}
