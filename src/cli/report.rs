//! `backstop report`: an incident from the journal, the list of incidents,
//! every drill's score, or the figures per service and month.

use super::*;

use crate::room::Place;

fn reader(journal: &Place) -> Result<Reader, Failure> {
    Reader::at_current(journal).map_err(|e| Failure::Failing(format!("backstop report: {e:#}")))
}

/// What `backstop report` shows of the incidents.
pub(super) enum Shown {
    /// Their list.
    List,
    /// One's report, as Markdown or JSON.
    Report(Format),
    /// One's post-mortem draft (Markdown).
    Postmortem,
}

/// `backstop report [N] [--list | --postmortem]`: exit 1 when there is no such incident.
pub(super) fn report(journal: &Place, incident: Option<i64>, how: Shown) -> Done {
    let reader = reader(journal)?;
    if let Shown::List = how {
        let rows = reader
            .incidents()
            .map_err(|e| Failure::Failing(format!("backstop report: {e:#}")))?;
        if rows.is_empty() {
            out::line(format_args!("no incident in {}", journal.describe()));
        }
        for r in rows {
            out::line(format_args!(
                "{:>5}  {}  {}  by {}",
                r.id,
                r.entry.at.rfc3339(),
                r.entry.text,
                r.entry.operator
            ));
        }
        return Ok(exit::OK);
    }
    let r = Report::load(&reader, incident).map_err(|e| {
        Failure::Failing(format!(
            "backstop report: {e:#} (in {})",
            journal.describe()
        ))
    })?;
    match how {
        Shown::Report(Format::Json) => out::line(r.json()),
        Shown::Report(Format::Md) | Shown::List => out::text(r.markdown()),
        Shown::Postmortem => {
            out::text(crate::report::postmortem::markdown(&r, crate::clock::now()))
        }
    }
    Ok(exit::OK)
}

/// `backstop report --drills`: every drill scored in the journal, so a
/// team sees its MTTR month by month.
pub(super) fn drill_list(journal: &Place, format: Format) -> Done {
    let rows = reader(journal)?
        .drills()
        .map_err(|e| Failure::Failing(format!("backstop report: {e:#}")))?;
    out::text(crate::report::drill_list(&rows, format == Format::Json));
    if rows.is_empty() && format != Format::Json {
        out::line(format_args!("no drill in {}", journal.describe()));
    }
    if format != Format::Json {
        out::text(crate::report::drill_trend_markdown(
            &crate::report::drill_points(&rows),
        ));
    }
    Ok(exit::OK)
}

/// `backstop report --stats`: deploys, rollbacks, recovery and the war
/// room, per service and month.
pub(super) fn report_stats(journal: &Place, format: Format) -> Done {
    let stats = crate::report::stats::Stats::load(&reader(journal)?).map_err(|e| {
        Failure::Failing(format!(
            "backstop report: {e:#} (in {})",
            journal.describe()
        ))
    })?;
    match format {
        Format::Json => out::line(stats.json()),
        Format::Md if stats.services.is_empty() => out::line(format_args!(
            "nothing to count in {}: no deploy, incident or war-room record yet",
            journal.describe()
        )),
        Format::Md => out::text(stats.markdown()),
    }
    Ok(exit::OK)
}

/// `backstop milestone N NAME TIME --reason R`: journal a correction of
/// incident N's milestone. Exit 2 for a bad name, time or reason, 1 when
/// there is no such incident or the journal cannot take the row.
pub(super) fn correct(journal: &Place, incident: i64, name: &str, at: &str, reason: &str) -> Done {
    use crate::report::correct;
    let usage = |e: correct::Refused| Failure::Usage(format!("backstop milestone: {e}"));
    let milestone = correct::milestone_of(name).map_err(usage)?;
    let inc = reader(journal)?
        .incident(incident)
        .map_err(|e| Failure::Failing(format!("backstop milestone: {e:#}")))?
        .ok_or_else(|| {
            Failure::Failing(format!(
                "backstop milestone: there is no incident {incident} in {}",
                journal.describe()
            ))
        })?;
    let when = correct::parse_time(at, inc.entry.at).map_err(usage)?;
    let c = correct::Correction {
        milestone,
        at: when,
        reason: reason.to_string(),
        by: crate::identity::operator(),
    };
    let row = correct::entry(incident, &inc.entry.scope, &c, crate::clock::now()).map_err(usage)?;
    let written = crate::room::Journal::open_as(
        journal,
        crate::room::Redactor::default(),
        &crate::identity::session(),
    )
    .and_then(|j| j.append_now(row))
    .map_err(|e| Failure::Failing(format!("backstop milestone: {e}")))?;
    out::line(format_args!(
        "incident {incident}: {milestone} corrected to {} by {} (row {written}); the report and the post-mortem use it",
        when.rfc3339(),
        c.by
    ));
    Ok(exit::OK)
}
