//! `backstop journal verify`: the journal's hash chain, recomputed;
//! `journal init` and `journal copy`: a DynamoDB table for the journal.

use super::*;

/// 0 the chain holds, 1 it is broken, 2 the journal cannot be read.
pub(super) fn journal_verify(journal: &crate::room::Place, json: bool) -> Done {
    let v = Reader::at_current(journal)
        .and_then(|r| r.verify())
        .map_err(|e| Failure::Usage(format!("backstop journal verify: {e:#}")))?;
    if json {
        out::line(serde_json::json!({
            "journal": journal.describe(),
            "holds": v.holds(),
            "rows": v.rows,
            "unchained": v.unchained,
            "head": v.head.as_ref().map(|(id, hash)| serde_json::json!({ "id": id, "hash": hash })),
            "broken": v.broken.as_ref().map(|(id, why)| serde_json::json!({ "id": id, "why": why })),
            "text": v.text(),
        }));
    } else {
        out::line(format_args!("{}: {}", journal.describe(), v.text()));
    }
    Ok(if v.holds() { exit::OK } else { exit::FAILING })
}

/// The table the configuration's `[journal]` names, or why there is none.
fn configured_table(
    flag: Option<&Path>,
    paths: &Paths,
) -> Result<std::sync::Arc<crate::room::dynamo::Table>, Failure> {
    super::shared_table(flag, paths)?.ok_or_else(|| {
        Failure::Usage(
            "backstop journal: the configuration names no table: add\n  [journal]\n  backend = \"dynamodb\"\n  table = \"backstop-journal\"\n(and region or profile under [aws])".into(),
        )
    })
}

/// `backstop journal init [--print] [--group GROUP]`.
pub(super) fn journal_init(
    flag: Option<&Path>,
    paths: &Paths,
    print: bool,
    group: Option<&str>,
) -> Done {
    if print {
        let name = super::shared_table(flag, paths)?
            .map_or_else(|| "backstop-journal".to_string(), |t| t.name.clone());
        out::text(crate::room::dynamo::template(&name));
        return Ok(exit::OK);
    }
    // A file several accounts on this host share: made theirs.
    if let Some(super::Configured::File(file)) = super::configured_journal(flag, paths)? {
        let group = match group {
            Some(g) => g.to_string(),
            None => dir_group(&file).ok_or_else(|| {
                Failure::Usage(format!(
                    "backstop journal init: name the Unix group that shares {} (--group ops)",
                    file.display()
                ))
            })?,
        };
        let done = crate::room::access::share(&file, &group, |p| {
            crate::room::sqlite::Sqlite::open(p, "").map_err(|e| e.to_string())
        })
        .map_err(|e| Failure::Failing(format!("backstop journal init: {e}")))?;
        for line in done {
            out::line(line);
        }
        out::line(format_args!(
            "{}: ready for the members of group {group} (each needs its own login on this host)",
            file.display()
        ));
        return Ok(exit::OK);
    }
    if group.is_some() {
        return Err(Failure::Usage(
            "backstop journal init: --group is for a shared file: name it with [journal] path = \"/srv/backstop/<name>.sqlite\"".into(),
        ));
    }
    let table = configured_table(flag, paths)?;
    let said = crate::room::dynamo::init(&table)
        .map_err(|f| Failure::Failing(format!("backstop journal init: {f}")))?;
    out::line(said);
    Ok(exit::OK)
}

/// The group of the directory `file` is (to be) in, when it exists.
fn dir_group(file: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dir = file.parent()?;
    let gid = std::fs::metadata(dir).ok()?.gid();
    crate::identity::group_name(gid)
}

/// `backstop journal copy --from FILE`.
pub(super) fn journal_copy(flag: Option<&Path>, paths: &Paths, from: &Path) -> Done {
    let table = configured_table(flag, paths)?;
    let (copied, there) = crate::room::dynamo::copy(&table, from)
        .map_err(|e| Failure::Failing(format!("backstop journal copy: {e:#}")))?;
    out::line(format_args!(
        "copied {copied} rows of {} into the DynamoDB table {}{}",
        from.display(),
        table.name,
        if there > 0 {
            format!(" ({there} were there already)")
        } else {
            String::new()
        }
    ));
    Ok(exit::OK)
}
