//! `[services.<name>.database]`: the database a service's releases migrate,
//! and the tool that migrates it. The URL holds a password: it comes from
//! an environment variable or a file, never from this file, and is never
//! shown, journaled or logged.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::Secret;
use crate::core::migration::Tool;

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// Where the URL comes from, as people read it: `$SHOP_DATABASE_URL`,
    /// or the file's path.
    pub url_from: String,
    /// The URL, when the variable is set (a file is read when used).
    pub url: Option<Secret>,
    pub url_file: Option<PathBuf>,
    /// The tool, or `None` to find it from the tables it keeps.
    pub tool: Option<Tool>,
    /// The migrations folder, resolved against the configuration's folder.
    pub migrations: Option<PathBuf>,
    /// The team's command that undoes the last migration (`["dbmate",
    /// "rollback"]`): the built-in runbooks' "roll back database migrations".
    pub revert: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    url_env: Option<Spanned<String>>,
    url_file: Option<Spanned<String>>,
    tool: Option<Spanned<String>>,
    migrations: Option<Spanned<String>>,
    revert: Option<Spanned<Vec<String>>>,
    /// `url = "postgres://…"` is refused with the reason (a password).
    url: Option<Spanned<toml::Value>>,
}

pub(crate) fn database(
    raw: Spanned<RawDatabase>,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<DatabaseConfig> {
    let span = raw.span();
    let raw = raw.into_inner();
    if let Some(u) = &raw.url {
        err(
            u.span(),
            "the database URL holds a password and never goes in this file: name the variable that holds it (`url_env = \"SHOP_DATABASE_URL\"`) or a file (`url_file`)".into(),
        );
        return None;
    }
    let tool = match &raw.tool {
        Some(t) => match Tool::parse(t.get_ref()) {
            Some(tool) => Some(tool),
            None => {
                let known: Vec<&str> = Tool::ALL.iter().map(|t| t.as_str()).collect();
                err(
                    t.span(),
                    format!(
                        "unknown migration tool `{}`: one of {} (or leave `tool` out to find it from its table)",
                        t.get_ref(),
                        known.join(", ")
                    ),
                );
                return None;
            }
        },
        None => None,
    };
    let base = Path::new(file).parent().unwrap_or(Path::new("."));
    let migrations = raw.migrations.map(|m| base.join(m.into_inner()));
    let revert = match raw.revert {
        Some(r) if r.get_ref().first().is_none_or(|p| p.trim().is_empty()) => {
            err(r.span(), "`revert` is the team's command that undoes the last migration, such as [\"dbmate\", \"rollback\"] or [\"npm\", \"run\", \"db:rollback\"]".into());
            return None;
        }
        r => r.map(Spanned::into_inner),
    };
    match (raw.url_env, raw.url_file) {
        (Some(var), None) => {
            let name = var.get_ref();
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                err(var.span(), "`url_env` names the environment variable that holds the database URL (such as SHOP_DATABASE_URL)".into());
                return None;
            }
            Some(DatabaseConfig {
                url_from: format!("${name}"),
                url: env(name).filter(|u| !u.is_empty()).map(Secret::new),
                url_file: None,
                tool,
                migrations,
                revert,
            })
        }
        (None, Some(path)) => {
            let path = base.join(path.into_inner());
            Some(DatabaseConfig {
                url_from: path.display().to_string(),
                url: None,
                url_file: Some(path),
                tool,
                migrations,
                revert,
            })
        }
        (Some(var), Some(_)) => {
            err(
                var.span(),
                "the database URL comes from `url_env` or `url_file`, not both".into(),
            );
            None
        }
        (None, None) => {
            err(
                span,
                "a database needs its URL's place: `url_env = \"SHOP_DATABASE_URL\"` or `url_file = \"/run/secrets/shop-db\"`".into(),
            );
            None
        }
    }
}
