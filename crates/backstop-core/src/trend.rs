//! Whether a team is getting faster: the drills' MTTD and MTTR by month and
//! by scenario, against the runbooks' targets, as a table and as bars that
//! read without colour (the console's trend view and `report --drills`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::drill::{TARGET_MTTD, TARGET_MTTR};
use crate::time::{self, Ts};

/// One scored drill, as the trend needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillPoint {
    pub at: Ts,
    pub scenario: String,
    pub mttd_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
    pub held: bool,
}

/// The drills of one month or one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `2026-11`, or the scenario's name.
    pub label: String,
    pub drills: usize,
    pub held: usize,
    /// Medians: one slow drill does not make a month slow.
    pub mttd_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trend {
    /// Oldest month first.
    pub by_month: Vec<Group>,
    /// By name.
    pub by_scenario: Vec<Group>,
}

/// Which measure a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Mttd,
    Mttr,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Mttd => "MTTD",
            Measure::Mttr => "MTTR",
        }
    }

    pub fn target(self) -> Duration {
        match self {
            Measure::Mttd => TARGET_MTTD,
            Measure::Mttr => TARGET_MTTR,
        }
    }

    fn of(self, g: &Group) -> Option<f64> {
        match self {
            Measure::Mttd => g.mttd_secs,
            Measure::Mttr => g.mttr_secs,
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn group(label: String, points: &[&DrillPoint]) -> Group {
    Group {
        label,
        drills: points.len(),
        held: points.iter().filter(|p| p.held).count(),
        mttd_secs: median(points.iter().filter_map(|p| p.mttd_secs).collect()),
        mttr_secs: median(points.iter().filter_map(|p| p.mttr_secs).collect()),
    }
}

impl Trend {
    pub fn of(points: &[DrillPoint]) -> Trend {
        let mut months: BTreeMap<String, Vec<&DrillPoint>> = BTreeMap::new();
        let mut scenarios: BTreeMap<String, Vec<&DrillPoint>> = BTreeMap::new();
        for p in points {
            let month: String = p.at.rfc3339().chars().take(7).collect();
            months.entry(month).or_default().push(p);
            scenarios.entry(p.scenario.clone()).or_default().push(p);
        }
        Trend {
            by_month: months.into_iter().map(|(m, v)| group(m, &v)).collect(),
            by_scenario: scenarios.into_iter().map(|(s, v)| group(s, &v)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_month.is_empty()
    }

    /// One sentence: faster, slower or steady, from the first month to the
    /// last that measured it, and whether the last is within the target.
    pub fn verdict(&self, m: Measure) -> String {
        let measured: Vec<(&str, f64)> = self
            .by_month
            .iter()
            .filter_map(|g| Some((g.label.as_str(), m.of(g)?)))
            .collect();
        let target = m.target().as_secs_f64();
        let fmt = |s: f64| time::human(Duration::from_secs_f64(s.round()));
        match measured[..] {
            [] => format!("{}: no drill measured it yet", m.name()),
            [(month, only)] => format!(
                "{}: {} in {month}, {} the {} target; one month, no trend yet",
                m.name(),
                fmt(only),
                if only <= target { "within" } else { "OVER" },
                fmt(target)
            ),
            [(first_m, first), .., (last_m, last)] => {
                let way = if last < first * 0.9 {
                    "FASTER"
                } else if last > first * 1.1 {
                    "SLOWER"
                } else {
                    "steady"
                };
                format!(
                    "{}: {way}, {} ({first_m}) → {} ({last_m}); {} the {} target",
                    m.name(),
                    fmt(first),
                    fmt(last),
                    if last <= target { "within" } else { "OVER" },
                    fmt(target)
                )
            }
        }
    }
}

/// A horizontal bar chart of `m` over `groups`, `width` columns in all:
/// `label  ███████▌   ┆   4m30s  3 drills`. The target is the `┆` column;
/// a value over it also says OVER, so the picture needs no colour.
pub fn chart(groups: &[Group], m: Measure, width: usize) -> Vec<String> {
    let label_w = groups
        .iter()
        .map(|g| g.label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 24);
    let target = m.target().as_secs_f64();
    let tail = "  99m59s OVER  99 drills".len();
    let bar_w = width.saturating_sub(label_w + 2 + tail).clamp(8, 60);
    let top = groups
        .iter()
        .filter_map(|g| m.of(g))
        .fold(target * 1.25, f64::max);
    let cells = |v: f64| v / top * bar_w as f64;
    let mark = cells(target).round() as usize;
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let mut line = format!("{:<label_w$}  ", fit(&g.label, label_w));
        let value = m.of(g);
        let filled = value.map_or(0.0, cells);
        for i in 0..bar_w {
            let here = filled - i as f64;
            // The target's column shows through a bar that passes it.
            let c = if i == mark {
                '┆'
            } else if here >= 1.0 {
                '█'
            } else if here > 0.0 {
                EIGHTHS[((here * 8.0) as usize).min(7)]
            } else {
                ' '
            };
            line.push(c);
        }
        let n = if g.drills == 1 { "drill" } else { "drills" };
        match value {
            Some(v) => {
                let over = if v > target { " OVER" } else { "" };
                let shown = time::human(Duration::from_secs_f64(v.round()));
                let _ = write!(line, "  {shown}{over}  {} {n}", g.drills);
            }
            None => {
                let _ = write!(line, "  —  {} {n}", g.drills);
            }
        }
        out.push(line);
    }
    out
}

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A drill on day `d` of `month` (2026) taking `mttd`/`mttr` seconds.
    fn p(month: u32, scenario: &str, mttd: f64, mttr: f64) -> DrillPoint {
        // 2026-01-15 is 1768435200 s after the epoch; months of 30 days are
        // close enough to land in the right calendar month here.
        let at = Ts((1_768_435_200 + i64::from(month - 1) * 30 * 86_400) * 1000);
        DrillPoint {
            at,
            scenario: scenario.into(),
            mttd_secs: Some(mttd),
            mttr_secs: Some(mttr),
            held: true,
        }
    }

    #[test]
    fn medians_by_month_and_scenario_and_a_verdict() {
        let t = Trend::of(&[
            p(9, "bad-switch", 240.0, 1200.0),
            p(9, "canary-errors", 400.0, 1000.0),
            p(9, "bad-switch", 200.0, 600.0),
            p(11, "bad-switch", 60.0, 300.0),
        ]);
        let months: Vec<&str> = t.by_month.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(months, ["2026-09", "2026-11"]);
        assert_eq!(
            t.by_month[0].mttr_secs,
            Some(1000.0),
            "the median, not the mean"
        );
        assert_eq!(t.by_scenario[0].label, "bad-switch");
        assert_eq!(t.by_scenario[0].drills, 3);
        assert_eq!(
            t.verdict(Measure::Mttr),
            "MTTR: FASTER, 16m40s (2026-09) → 5m (2026-11); within the 15m target"
        );
    }

    #[test]
    fn bars_mark_the_target_and_say_over_in_words() {
        let t = Trend::of(&[p(9, "a", 600.0, 1800.0), p(10, "a", 120.0, 300.0)]);
        let lines = chart(&t.by_month, Measure::Mttr, 60);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("OVER"), "{lines:#?}");
        assert!(!lines[1].contains("OVER"), "{lines:#?}");
        // The target's column is marked on every row, through a long bar too.
        assert!(lines.iter().all(|l| l.contains('┆')), "{lines:#?}");
        let w = |s: &str| s.chars().count();
        assert_eq!(
            w(&lines[0][..lines[0].find("  30m").unwrap()]),
            w(&lines[1][..lines[1].find("  5m").unwrap()])
        );
    }
}
