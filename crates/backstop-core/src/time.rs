//! Wall-clock instants as plain values. Core never reads a clock: every
//! instant arrives inside a `Msg`, so `update` is deterministic in tests.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ts(pub i64);

impl Ts {
    pub const fn from_millis(ms: i64) -> Self {
        Ts(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Time elapsed since `earlier`; zero if `earlier` is in the future
    /// (clocks of different sources can disagree by a few milliseconds).
    pub fn since(self, earlier: Ts) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    pub fn plus(self, d: Duration) -> Ts {
        Ts(self
            .0
            .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    pub fn minus(self, d: Duration) -> Ts {
        Ts(self
            .0
            .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// `HH:MM:SS`, UTC.
    pub fn hms(self) -> String {
        let secs = self.0.div_euclid(1000).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// `HH:MM`, UTC: for places that should not change every second.
    pub fn hm(self) -> String {
        let secs = self.0.div_euclid(1000).rem_euclid(86_400);
        format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{}Z", self.hms())
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A short, coarse age: `7s`, `20s`, `3m`, `5h`, `2d`. Coarse on purpose:
/// seconds only while they are the news (under ten), then tens of seconds,
/// then minutes, so a screen full of ages is not rewritten every second.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=9 => format!("{s}s"),
        10..=59 => format!("{}s", s / 10 * 10),
        60..=3599 => format!("{}m", s / 60),
        3600..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A duration the way an operator says it: `45s`, `2m`, `1m30s`, `1.5s`, `250ms`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 10_000 && !ms.is_multiple_of(1000) {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// Latency for display: `<1ms`, `42ms`, `1.2s`.
pub fn latency(ms: f64) -> String {
    if ms < 1.0 {
        "<1ms".to_string()
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_instants() {
        // 2026-11-21T14:02:31Z
        let t = Ts(1_795_269_751_000);
        assert_eq!(t.rfc3339(), "2026-11-21T14:02:31Z");
        assert_eq!(t.hm(), "14:02");
        assert_eq!(Ts(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Ts(951_782_400_000).rfc3339(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn ages_are_coarse() {
        assert_eq!(age(Duration::from_secs(9)), "9s");
        assert_eq!(age(Duration::from_secs(59)), "50s");
        assert_eq!(age(Duration::from_secs(61)), "1m");
        assert_eq!(age(Duration::from_secs(7200)), "2h");
        assert_eq!(age(Duration::from_secs(3 * 86_400)), "3d");
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
        assert_eq!(latency(0.4), "<1ms");
        assert_eq!(latency(1234.0), "1.2s");
    }

    #[test]
    fn since_never_goes_negative() {
        assert_eq!(Ts(1000).since(Ts(2000)), Duration::ZERO);
        assert_eq!(Ts(3000).since(Ts(1000)), Duration::from_secs(2));
    }
}
