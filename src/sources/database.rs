//! A service's database as its migration tool left it: the tool's own table
//! read from PostgreSQL, and each migration's files read from the
//! migrations folder. Nothing here writes to the database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::database::DatabaseConfig;
use crate::core::migration::{self, Down, Lang, Migration, ReadError, Schema, Tool};
use crate::core::time::Ts;

/// A read answers within this, or the database is said not to.
pub const READ_LIMIT: Duration = Duration::from_secs(5);

/// How often the console reads a database's migrations.
pub const EVERY: Duration = Duration::from_secs(30);

/// Read `cfg`'s database now, then every `every`, for the console.
pub fn spawn_reads(
    service: usize,
    cfg: DatabaseConfig,
    every: Duration,
    tx: tokio::sync::mpsc::Sender<crate::core::msg::Msg>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // The password is already out of the error's words.
            let result = read(&cfg).await;
            let msg = crate::core::msg::Msg::DatabaseRead {
                service,
                result,
                at: super::now(),
            };
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    })
}

/// The database of `cfg`, read now.
pub async fn read(cfg: &DatabaseConfig) -> Result<Schema, ReadError> {
    let url = url_of(cfg).await?;
    let at = shown(&url);
    let hide = |s: String| hide_password(&s, &url);
    let mut pg: tokio_postgres::Config =
        url.parse()
            .map_err(|e: tokio_postgres::Error| ReadError::BadUrl {
                from: cfg.url_from.clone(),
                why: hide(e.to_string()),
            })?;
    pg.connect_timeout(READ_LIMIT);
    pg.application_name("backstop");
    let work = async {
        let (client, connection) =
            pg.connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| ReadError::Unreachable {
                    at: at.clone(),
                    why: hide(cause(&e)),
                })?;
        // The connection runs beside the queries, and ends with the client.
        let conn = tokio::spawn(connection);
        let read = read_tables(&client, cfg.tool, &at).await;
        drop(client);
        let _ = conn.await;
        read
    };
    let (tool, mut applied, dirty) =
        tokio::time::timeout(READ_LIMIT * 2, work)
            .await
            .map_err(|_| ReadError::Unreachable {
                at: at.clone(),
                why: format!("no answer within {}s", (READ_LIMIT * 2).as_secs()),
            })??;
    if let Some(dir) = cfg.migrations.clone() {
        // Files, read off the runtime's workers.
        let files = tokio::task::spawn_blocking(move || folder(&dir))
            .await
            .unwrap_or_default();
        applied = with_files(tool, applied, &files);
    }
    Ok(Schema {
        tool,
        applied,
        dirty,
    })
}

/// The URL, from its variable or its file.
pub async fn url_of(cfg: &DatabaseConfig) -> Result<String, ReadError> {
    if let Some(u) = &cfg.url {
        return Ok(u.expose().to_string());
    }
    let Some(path) = &cfg.url_file else {
        return Err(ReadError::NoUrl {
            from: cfg.url_from.clone(),
        });
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| ReadError::UrlFile {
            from: cfg.url_from.clone(),
            why: e.to_string(),
        })?;
    match text.trim() {
        "" => Err(ReadError::EmptyUrlFile {
            from: cfg.url_from.clone(),
        }),
        t => Ok(t.to_string()),
    }
}

/// `postgres://app@db:5432/shop`: the URL without its password (or the
/// `host=… dbname=…` form's host and database).
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.has_host() => {
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        _ => {
            let keep: Vec<&str> = url
                .split_whitespace()
                .filter(|kv| {
                    kv.starts_with("host=")
                        || kv.starts_with("dbname=")
                        || kv.starts_with("port=")
                        || kv.starts_with("user=")
                })
                .collect();
            if keep.is_empty() {
                "(its URL)".into()
            } else {
                keep.join(" ")
            }
        }
    }
}

/// `text` with `url` shown without its password, and the password itself
/// masked wherever else it appears.
pub fn hide_password(text: &str, url: &str) -> String {
    let password = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .or_else(|| {
            url.split_whitespace()
                .find_map(|kv| kv.strip_prefix("password=").map(str::to_string))
        });
    let mut out = text.replace(url, &shown(url));
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        out = out.replace(&p, "***");
    }
    out
}

/// The error and what caused it ("error connecting to server: Connection refused").
fn cause(e: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

type Tables = (Tool, Vec<Migration>, Option<String>);

async fn read_tables(
    client: &tokio_postgres::Client,
    tool: Option<Tool>,
    at: &str,
) -> Result<Tables, ReadError> {
    let tool = match tool {
        Some(t) => t,
        None => find_tool(client, at).await?,
    };
    let query = |why: tokio_postgres::Error| ReadError::Query {
        at: at.to_string(),
        table: tool.table(),
        why: why
            .as_db_error()
            .map_or_else(|| why.to_string(), |d| d.message().to_string()),
    };
    // Each tool's own columns; times as milliseconds since the epoch.
    let sql = match tool {
        Tool::Dbmate => {
            "SELECT version::text, NULL::text, NULL::float8, true FROM schema_migrations ORDER BY version"
        }
        Tool::GolangMigrate => {
            "SELECT version::text, NULL::text, NULL::float8, NOT dirty FROM schema_migrations"
        }
        Tool::Knex => {
            "SELECT name::text, NULL::text, (extract(epoch FROM migration_time) * 1000)::float8, true FROM knex_migrations ORDER BY id"
        }
        Tool::Alembic => {
            "SELECT version_num::text, NULL::text, NULL::float8, true FROM alembic_version"
        }
        Tool::Sqlx => {
            "SELECT version::text, description::text, (extract(epoch FROM installed_on) * 1000)::float8, success FROM _sqlx_migrations ORDER BY version"
        }
        Tool::Flyway => {
            "SELECT version::text, description::text, (extract(epoch FROM installed_on) * 1000)::float8, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"
        }
    };
    let rows = client.query(sql, &[]).await.map_err(query)?;
    let mut applied = Vec::new();
    let mut dirty = None;
    for r in rows {
        let version: String = r.get(0);
        let name: Option<String> = r.get(1);
        let at: Option<f64> = r.get(2);
        let ok: bool = r.get(3);
        if !ok {
            dirty = Some(match tool {
                Tool::GolangMigrate => {
                    format!("version {version} is marked dirty: it failed halfway")
                }
                _ => format!("migration {version} failed"),
            });
        }
        applied.push(Migration {
            version,
            name,
            applied_at: at.map(|ms| Ts(ms as i64)),
            up: Vec::new(),
            down: Down::Unknown,
            file: false,
        });
    }
    Ok((tool, applied, dirty))
}

/// The tool whose table the database has; more than one is a question
/// only a person can answer.
async fn find_tool(client: &tokio_postgres::Client, at: &str) -> Result<Tool, ReadError> {
    let names: Vec<&str> = Tool::ALL.iter().map(|t| t.table()).collect();
    let rows = client
        .query(
            "SELECT table_name::text, array_agg(column_name::text) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1) GROUP BY table_name",
            &[&names],
        )
        .await
        .map_err(|e| ReadError::Query {
            at: at.to_string(),
            table: "information_schema.columns",
            why: e.to_string(),
        })?;
    let mut found = Vec::new();
    for r in rows {
        let table: String = r.get(0);
        let columns: Vec<String> = r.get(1);
        let tool = match table.as_str() {
            // dbmate and golang-migrate share the name; `dirty` tells them apart.
            "schema_migrations" if columns.iter().any(|c| c == "dirty") => Tool::GolangMigrate,
            "schema_migrations" => Tool::Dbmate,
            other => match Tool::ALL.into_iter().find(|t| t.table() == other) {
                Some(t) => t,
                None => continue,
            },
        };
        found.push(tool);
    }
    match found.as_slice() {
        [one] => Ok(*one),
        _ => Err(ReadError::NoTable {
            at: at.to_string(),
            known: if found.is_empty() {
                names.join(", ")
            } else {
                let several: Vec<&str> = found.iter().map(|t| t.as_str()).collect();
                format!("it has several: {}", several.join(", "))
            },
        }),
    }
}

/// One migration's files: its version, name, and the text of each side.
#[derive(Debug, Default)]
pub struct Files {
    pub version: String,
    pub name: String,
    pub lang: Option<Lang>,
    pub up: Option<String>,
    pub down: Option<String>,
    /// The layout has a separate down file (`.down.sql`, Flyway's `U`), so
    /// its absence means there is none.
    pub paired: bool,
    /// Alembic's previous revision, for its chain.
    pub parent: Option<String>,
}

/// Every migration in `dir`, by version (an unreadable folder is empty:
/// the table's facts still show, with "down: unknown").
pub fn folder(dir: &Path) -> Vec<Files> {
    let mut dir = dir.to_path_buf();
    // Alembic's folder or its `versions/` inside.
    if dir.join("versions").is_dir() {
        dir = dir.join("versions");
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let mut out: Vec<Files> = Vec::new();
    for path in paths {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(parsed) = parse_file(file, &text) else {
            continue;
        };
        let (version, name, side) = parsed;
        let f = match out.iter_mut().position(|f| f.version == version) {
            Some(i) => &mut out[i],
            None => {
                out.push(Files {
                    version: version.clone(),
                    name,
                    ..Files::default()
                });
                out.last_mut().expect("just pushed")
            }
        };
        match side {
            Side::Up(lang, t) => {
                f.lang = Some(lang);
                f.up = Some(t);
            }
            Side::Down(t) => {
                f.down = Some(t);
                f.paired = true;
            }
            Side::UpPaired(t) => {
                f.lang = Some(Lang::Sql);
                f.up = Some(t);
                f.paired = true;
            }
            Side::Both(lang, up, down, parent) => {
                f.lang = Some(lang);
                f.up = Some(up);
                f.down = down;
                f.paired = true;
                f.parent = parent;
            }
        }
    }
    out
}

enum Side {
    Up(Lang, String),
    /// An up file whose layout pairs it with a down file.
    UpPaired(String),
    Down(String),
    /// One file with both (dbmate's markers, knex's `down`, Alembic's
    /// `downgrade`); the down side `None` when it is missing or empty.
    Both(Lang, String, Option<String>, Option<String>),
}

fn parse_file(file: &str, text: &str) -> Option<(String, String, Side)> {
    let split = |stem: &str| -> (String, String) {
        match stem.split_once('_') {
            Some((v, n)) => (v.to_string(), n.to_string()),
            None => (stem.to_string(), String::new()),
        }
    };
    if let Some(stem) = file.strip_suffix(".up.sql") {
        let (v, n) = split(stem);
        return Some((v, n, Side::UpPaired(text.to_string())));
    }
    if let Some(stem) = file.strip_suffix(".down.sql") {
        let (v, n) = split(stem);
        return Some((v, n, Side::Down(text.to_string())));
    }
    if let Some(stem) = file.strip_suffix(".sql") {
        // Flyway: V1.2__name.sql, and U1.2__name.sql undoes it.
        for (prefix, up) in [("V", true), ("U", false)] {
            if let Some((v, n)) = stem.strip_prefix(prefix).and_then(|s| s.split_once("__")) {
                let side = if up {
                    Side::UpPaired(text.to_string())
                } else {
                    Side::Down(text.to_string())
                };
                return Some((v.to_string(), n.to_string(), side));
            }
        }
        let (v, n) = split(stem);
        // dbmate: `-- migrate:up` then `-- migrate:down` in one file.
        if let Some(i) = text.find("-- migrate:up") {
            let rest = &text[i + "-- migrate:up".len()..];
            let (up, down) = match rest.find("-- migrate:down") {
                Some(j) => (&rest[..j], Some(&rest[j + "-- migrate:down".len()..])),
                None => (rest, None),
            };
            let down = down.filter(|d| !sql_is_empty(d)).map(str::to_string);
            return Some((v, n, Side::Both(Lang::Sql, up.to_string(), down, None)));
        }
        // sqlx's simple migrations: up only, never undone.
        return Some((v, n, Side::Up(Lang::Sql, text.to_string())));
    }
    if [".js", ".cjs", ".mjs", ".ts"]
        .iter()
        .any(|x| file.ends_with(x))
    {
        // knex keeps the file's whole name in its table.
        let at = text
            .find("exports.down")
            .or_else(|| text.find("export async function down"))
            .or_else(|| text.find("export function down"))
            .or_else(|| text.find("down:"));
        let (up, down) = match at {
            Some(i) => (&text[..i], Some(&text[i..])),
            None => (text, None),
        };
        let (_, n) = split(file);
        return Some((
            file.to_string(),
            n,
            Side::Both(Lang::Knex, up.to_string(), down.map(str::to_string), None),
        ));
    }
    if file.ends_with(".py") {
        let revision = py_string(text, "revision")?;
        let parent = py_string(text, "down_revision");
        let (up, down) = match text.find("def downgrade") {
            Some(i) => (&text[..i], Some(&text[i..])),
            None => (text, None),
        };
        // A downgrade that only passes undoes nothing.
        let down = down.filter(|d| {
            d.lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("\"\"\""))
                .any(|l| l != "pass")
        });
        let (_, n) = split(file.trim_end_matches(".py"));
        return Some((
            revision,
            n,
            Side::Both(
                Lang::Alembic,
                up.to_string(),
                down.map(str::to_string),
                parent,
            ),
        ));
    }
    None
}

/// `revision = "ae1027a6acf"` (or with a type: `revision: str = '…'`).
fn py_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        let k = k.split(':').next()?.trim();
        if k != key {
            return None;
        }
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty() && v != "None").then(|| v.to_string())
    })
}

fn sql_is_empty(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with("--"))
}

/// The table's migrations with what their files say. Tools that keep the
/// current version alone (golang-migrate, Alembic) have every file up to
/// it applied.
fn with_files(tool: Tool, applied: Vec<Migration>, files: &[Files]) -> Vec<Migration> {
    let applied = match tool {
        Tool::GolangMigrate => match applied.first() {
            Some(current) => {
                let n = |v: &str| v.parse::<u64>().ok();
                let upto = n(&current.version);
                let mut all: Vec<Migration> = files
                    .iter()
                    .filter(|f| n(&f.version).is_some() && n(&f.version) <= upto)
                    .map(|f| bare(&f.version, &f.name))
                    .collect();
                all.sort_by_key(|m| n(&m.version));
                if all.is_empty() { applied } else { all }
            }
            None => applied,
        },
        Tool::Alembic => match applied.first() {
            Some(head) => {
                // Walk the chain back from the head.
                let mut chain = Vec::new();
                let mut at = Some(head.version.clone());
                while let Some(v) = at.take() {
                    let Some(f) = files.iter().find(|f| f.version == v) else {
                        break;
                    };
                    if chain.len() > files.len() {
                        break;
                    }
                    chain.push(bare(&f.version, &f.name));
                    at = f.parent.clone();
                }
                chain.reverse();
                if chain.is_empty() { applied } else { chain }
            }
            None => applied,
        },
        _ => applied,
    };
    applied
        .into_iter()
        .map(|mut m| {
            let found = files
                .iter()
                .find(|f| migration::same_version(&m.version, &f.version));
            if let Some(f) = found {
                let lang = f.lang.unwrap_or(Lang::Sql);
                m.file = true;
                if m.name.is_none() && !f.name.is_empty() {
                    m.name = Some(f.name.clone());
                }
                m.up =
                    f.up.as_deref()
                        .map(|t| migration::risks(t, lang))
                        .unwrap_or_default();
                m.down = match &f.down {
                    Some(t) => Down::Present {
                        risks: migration::risks(t, lang),
                    },
                    None if f.paired || f.lang.is_some() => Down::Missing,
                    None => Down::Unknown,
                };
            }
            m
        })
        .collect()
}

fn bare(version: &str, name: &str) -> Migration {
    Migration {
        version: version.to_string(),
        name: (!name.is_empty()).then(|| name.to_string()),
        applied_at: None,
        up: Vec::new(),
        down: Down::Unknown,
        file: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::migration::Risk;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            shown("postgres://app:s3cret@db.internal:5432/shop?sslmode=require"),
            "postgres://app@db.internal:5432/shop"
        );
        assert_eq!(
            shown("host=db dbname=shop user=app password=s3cret"),
            "host=db dbname=shop user=app"
        );
        let url = "postgres://app:s3cret@db/shop";
        assert_eq!(
            hide_password("password authentication failed (s3cret)", url),
            "password authentication failed (***)"
        );
    }

    #[tokio::test]
    async fn a_url_file_that_is_empty_or_missing_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop-db");
        std::fs::write(&file, "\n").unwrap();
        let cfg = |path: &Path| DatabaseConfig {
            url_from: path.display().to_string(),
            url: None,
            url_file: Some(path.to_path_buf()),
            tool: None,
            migrations: None,
            revert: None,
        };
        let e = read(&cfg(&file)).await.unwrap_err();
        assert_eq!(
            e,
            ReadError::EmptyUrlFile {
                from: file.display().to_string()
            }
        );
        assert!(
            e.to_string()
                .ends_with("is empty: it should hold the database URL")
        );
        let gone = dir.path().join("gone");
        assert!(matches!(
            read(&cfg(&gone)).await,
            Err(ReadError::UrlFile { .. })
        ));
    }

    #[test]
    fn every_layout_says_what_its_down_side_is() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        w(
            "001_users.up.sql",
            "CREATE TABLE users (id int, email text);",
        );
        w("001_users.down.sql", "DROP TABLE users;");
        w(
            "002_drop_email.up.sql",
            "ALTER TABLE users DROP COLUMN email;",
        );
        w(
            "20240101000000_phone.sql",
            "-- migrate:up\nALTER TABLE users ADD phone text;\n-- migrate:down\n",
        );
        w(
            "V3__nn.sql",
            "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
        );
        w(
            "U3__nn.sql",
            "ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;",
        );
        let files = folder(dir.path());
        let get = |v: &str| files.iter().find(|f| f.version == v).unwrap();
        assert!(get("001").down.is_some());
        assert!(get("002").paired && get("002").down.is_none());
        assert!(
            get("20240101000000").down.is_none(),
            "an empty down section"
        );
        assert!(get("3").down.is_some());
        let applied = with_files(Tool::GolangMigrate, vec![bare("2", "")], &files);
        assert_eq!(applied.len(), 2, "every file up to the current version");
        assert_eq!(
            applied[0].down,
            Down::Present {
                risks: vec![Risk::DropsTable]
            }
        );
        assert_eq!(applied[1].up, [Risk::DropsColumn]);
        assert_eq!(applied[1].down, Down::Missing);
        assert_eq!(applied[1].name.as_deref(), Some("drop_email"));
    }

    #[test]
    fn alembic_is_walked_back_from_its_head() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        w(
            "aaa_create.py",
            "revision = 'aaa'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('t')\n\ndef downgrade():\n    op.drop_table('t')\n",
        );
        w(
            "bbb_drop.py",
            "revision: str = \"bbb\"\ndown_revision: str = \"aaa\"\n\ndef upgrade():\n    op.drop_column('t', 'x')\n\ndef downgrade():\n    pass\n",
        );
        let files = folder(dir.path());
        let applied = with_files(Tool::Alembic, vec![bare("bbb", "")], &files);
        let versions: Vec<&str> = applied.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["aaa", "bbb"]);
        assert_eq!(applied[1].up, [Risk::DropsColumn]);
        assert_eq!(applied[1].down, Down::Missing, "a downgrade that passes");
        assert_eq!(
            applied[0].down,
            Down::Present {
                risks: vec![Risk::DropsTable]
            }
        );
    }
}
