//! `[journal]`: where the incident journal lives, and which room of it
//! this configuration's consoles meet in. The default is this user's
//! SQLite file; `path = "/srv/backstop/payments.sqlite"` is a file several
//! Unix accounts on one bastion share (`backstop journal init --group`
//! makes it theirs); `backend = "dynamodb"` with a `table` shares it
//! between hosts, called with the top-level `[aws]` settings (region,
//! profile, endpoint_url) and the standard credential chain — never keys in
//! the file. `room` names the war room (default: the file's name), so
//! staging's `web` and production's never share a lease or a checklist.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::aws::AwsSettings;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum JournalConfig {
    /// A SQLite file: this user's (`backstop paths`), or `path`, which
    /// several accounts on the host may share.
    #[default]
    File,
    /// A SQLite file the configuration names (shared on one host).
    Path(std::path::PathBuf),
    /// A DynamoDB table shared by every host that names it.
    DynamoDb { table: String, aws: AwsSettings },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJournal {
    backend: Option<Spanned<String>>,
    table: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    room: Option<Spanned<String>>,
}

/// A room's name: what the header and `who` show, and what leases and rows
/// are kept under.
fn valid_room(name: &str) -> bool {
    (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        && name.trim() == name
}

/// The room `[journal] room` names, if it does (checked).
pub(crate) fn room(
    raw: Option<&RawJournal>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<String> {
    let r = raw?.room.as_ref()?;
    if !valid_room(r.get_ref()) {
        err(
            r.span(),
            "a room is 1 to 64 letters, digits, spaces, `_`, `-` or `.` (e.g. \"payments-prod\")"
                .into(),
        );
        return None;
    }
    Some(r.get_ref().clone())
}

/// DynamoDB's rule for table names.
fn valid_table(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub(crate) fn journal(
    raw: Option<RawJournal>,
    aws: &AwsSettings,
    err: &mut impl FnMut(Range<usize>, String),
) -> JournalConfig {
    let Some(raw) = raw else {
        return JournalConfig::File;
    };
    let backend = raw.backend.as_ref().map(|b| b.get_ref().as_str());
    if let Some(p) = &raw.path {
        let path = std::path::PathBuf::from(p.get_ref());
        return match (backend, &raw.table) {
            (_, Some(t)) => {
                err(
                    t.span(),
                    "a journal is a file (path) or a DynamoDB table (table), not both".into(),
                );
                JournalConfig::File
            }
            (Some("dynamodb"), None) => {
                err(
                    p.span(),
                    "a DynamoDB journal is a table: name it with table = \"...\", not a path"
                        .into(),
                );
                JournalConfig::File
            }
            _ if !path.is_absolute() => {
                err(
                    p.span(),
                    "the shared journal's path must be absolute (e.g. \"/srv/backstop/payments.sqlite\")"
                        .into(),
                );
                JournalConfig::File
            }
            _ => JournalConfig::Path(path),
        };
    }
    match (backend, raw.table) {
        (None | Some("sqlite"), None) => JournalConfig::File,
        (Some("sqlite"), Some(t)) => {
            err(
                t.span(),
                "a table is for backend = \"dynamodb\"; the SQLite journal is a file (path)".into(),
            );
            JournalConfig::File
        }
        (None, Some(t)) => {
            err(
                t.span(),
                "name the backend too: backend = \"dynamodb\"".into(),
            );
            JournalConfig::File
        }
        (Some("dynamodb"), Some(t)) => {
            if !valid_table(t.get_ref()) {
                err(
                    t.span(),
                    "a DynamoDB table name is 3 to 255 letters, digits, `_`, `-` or `.`".into(),
                );
            }
            JournalConfig::DynamoDb {
                table: t.into_inner(),
                aws: aws.clone(),
            }
        }
        (Some("dynamodb"), None) => {
            if let Some(b) = &raw.backend {
                err(
                    b.span(),
                    "the dynamodb backend needs its table: table = \"backstop-journal\"".into(),
                );
            }
            JournalConfig::File
        }
        (Some(other), _) => {
            if let Some(b) = &raw.backend {
                err(
                    b.span(),
                    format!(
                        "unknown journal backend `{other}`: \"sqlite\" (the default) or \"dynamodb\""
                    ),
                );
            }
            JournalConfig::File
        }
    }
}
