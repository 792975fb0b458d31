//! `[journal]`: where the incident journal lives. The default is this
//! host's SQLite file; `backend = "dynamodb"` with a `table` shares it
//! between hosts, called with the top-level `[aws]` settings (region,
//! profile, endpoint_url) and the standard credential chain — never keys in
//! the file.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::aws::AwsSettings;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum JournalConfig {
    /// This host's SQLite file (`backstop paths`, or `--journal`).
    #[default]
    File,
    /// A DynamoDB table shared by every host that names it.
    DynamoDb { table: String, aws: AwsSettings },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJournal {
    backend: Option<Spanned<String>>,
    table: Option<Spanned<String>>,
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
    match (backend, raw.table) {
        (None | Some("sqlite"), None) => JournalConfig::File,
        (Some("sqlite"), Some(t)) => {
            err(
                t.span(),
                "a table is for backend = \"dynamodb\"; the SQLite journal is a file (--journal)"
                    .into(),
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
