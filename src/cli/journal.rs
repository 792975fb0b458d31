//! `backstop journal verify`: the journal's hash chain, recomputed.

use super::*;

/// 0 the chain holds, 1 it is broken, 2 the journal cannot be read.
pub(super) fn journal_verify(journal: &Path, json: bool) -> Done {
    let v = Reader::open(journal)
        .and_then(|r| r.verify())
        .map_err(|e| Failure::Usage(format!("backstop journal verify: {e:#}")))?;
    if json {
        out::line(serde_json::json!({
            "journal": journal.display().to_string(),
            "holds": v.holds(),
            "rows": v.rows,
            "unchained": v.unchained,
            "head": v.head.as_ref().map(|(id, hash)| serde_json::json!({ "id": id, "hash": hash })),
            "broken": v.broken.as_ref().map(|(id, why)| serde_json::json!({ "id": id, "why": why })),
            "text": v.text(),
        }));
    } else {
        out::line(format_args!("{}: {}", journal.display(), v.text()));
    }
    Ok(if v.holds() { exit::OK } else { exit::FAILING })
}
