//! `[[severity]]`: the team's severity classes, worst first. Given, they
//! replace the defaults (reference 002's three, with reference 003's
//! 5-minute updates) as a whole: a team's scale is one list, not a patch.
//!
//! ```toml
//! [[severity]]
//! level = 1
//! name = "critical"
//! criteria = "checkout down for everyone"
//! respond_within = "5m"
//! update_every = "5m"       # absent: no cadence
//! rollback = "emergency"    # absent: the rule chooses the type
//! ```

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::HumanDuration;
use crate::core::runbook::RollbackType;
use crate::core::severity::Class;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSeverity {
    level: Spanned<u8>,
    name: Spanned<String>,
    #[serde(default)]
    criteria: String,
    respond_within: Spanned<HumanDuration>,
    update_every: Option<Spanned<HumanDuration>>,
    rollback: Option<Spanned<String>>,
}

/// Updates more often than this would drown the channel they are meant to calm.
const MOST_OFTEN: Duration = Duration::from_secs(60);

pub(crate) fn classes(
    raw: Vec<Spanned<RawSeverity>>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Vec<Class> {
    if raw.is_empty() {
        return crate::core::severity::defaults();
    }
    let mut out: Vec<Class> = Vec::new();
    for r in raw {
        let span = r.span();
        let r = r.into_inner();
        let level = *r.level.get_ref();
        if !(1..=9).contains(&level) {
            err(
                r.level.span(),
                "a severity level is 1 (the worst) to 9".into(),
            );
            continue;
        }
        if out.iter().any(|c| c.level == level) {
            err(r.level.span(), format!("severity {level} is defined twice"));
            continue;
        }
        if r.name.get_ref().trim().is_empty() {
            err(
                r.name.span(),
                "a severity needs a name (\"critical\")".into(),
            );
        }
        let respond_within = r.respond_within.get_ref().0;
        if respond_within.is_zero() {
            err(
                r.respond_within.span(),
                "respond_within must be more than 0s".into(),
            );
        }
        let update_every = r.update_every.as_ref().map(|u| u.get_ref().0);
        if let (Some(u), Some(d)) = (&r.update_every, update_every)
            && d < MOST_OFTEN
        {
            err(
                u.span(),
                "update_every must be at least 1m: more often drowns the channel".into(),
            );
        }
        let rollback = r.rollback.as_ref().and_then(|t| {
            let kind = RollbackType::parse(t.get_ref());
            if kind.is_none() {
                err(
                    t.span(),
                    format!(
                        "`{}` is not a rollback type (immediate, standard, emergency)",
                        t.get_ref()
                    ),
                );
            }
            kind
        });
        let _ = span;
        out.push(Class {
            level,
            name: r.name.into_inner(),
            criteria: r.criteria,
            respond_within,
            update_every,
            rollback,
        });
    }
    out.sort_by_key(|c| c.level);
    out
}
