//! Durations the way people write them: `"2s"`, `"500ms"`, `"1m30s"`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration written as a humane string in configuration files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty duration; write it like \"2s\", \"500ms\" or \"1m30s\"".into());
        }
        humantime::parse_duration(t)
            .map(HumanDuration)
            .map_err(|e| {
                format!(
                    "invalid duration {s:?} ({e}); write it like \"2s\", \"500ms\" or \"1m30s\""
                )
            })
    }
}

/// The longest duration a configuration may give anything: a week. No
/// interval, window or wait of an incident tool is longer, and `"1y"` is a
/// typo to catch, not a setting. Fields have tighter bounds of their own.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration of a configuration file: humane, and at most [`LONGEST`].
fn configured(s: &str) -> Result<HumanDuration, String> {
    let d = HumanDuration::parse(s)?;
    if d.0 > LONGEST {
        return Err(format!(
            "duration {s:?} is too long: nothing in a configuration takes more than 7d"
        ));
    }
    Ok(d)
}

/// `what` must be at most `max`: the error says the bound, or `None`.
pub fn over(d: Duration, max: Duration, what: &str) -> Option<String> {
    (d > max).then(|| {
        format!(
            "{what} must be at most {} (it is {})",
            crate::core::time::human(max),
            crate::core::time::human(d)
        )
    })
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"2s\", \"500ms\" or \"1m30s\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                configured(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({n}) has no unit; write \"{n}s\" or \"{n}ms\""
                )))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({n}) has no unit; write \"{n}s\" or \"{n}ms\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::core::time::human(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_humane_forms() {
        assert_eq!(
            HumanDuration::parse("2s"),
            Ok(HumanDuration(Duration::from_secs(2)))
        );
        assert_eq!(
            HumanDuration::parse("500ms"),
            Ok(HumanDuration(Duration::from_millis(500)))
        );
        assert_eq!(
            HumanDuration::parse("1m 30s"),
            Ok(HumanDuration(Duration::from_secs(90)))
        );
        let e = HumanDuration::parse("2 seconds please").unwrap_err();
        assert!(
            e.starts_with("invalid duration \"2 seconds please\""),
            "{e}"
        );
    }
}
