//! Database migrations as a rollback sees them: which were applied since
//! the version being rolled back to went live, whether each can be undone,
//! and whether it breaks the old code (reference 004's rule for blue/green:
//! the schema must stay usable by the previous release) or its undoing
//! destroys data. Read from text here; the shell reads the database and the
//! migrations folder.

use serde::Serialize;

use crate::time::Ts;

/// The migration tools whose own table backstop reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Dbmate,
    GolangMigrate,
    Knex,
    Alembic,
    Sqlx,
    Flyway,
}

impl Tool {
    pub const ALL: [Tool; 6] = [
        Tool::Dbmate,
        Tool::GolangMigrate,
        Tool::Knex,
        Tool::Alembic,
        Tool::Sqlx,
        Tool::Flyway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Dbmate => "dbmate",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Knex => "knex",
            Tool::Alembic => "alembic",
            Tool::Sqlx => "sqlx",
            Tool::Flyway => "flyway",
        }
    }

    pub fn parse(s: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The table the tool keeps its applied migrations in.
    pub fn table(self) -> &'static str {
        match self {
            Tool::Dbmate | Tool::GolangMigrate => "schema_migrations",
            Tool::Knex => "knex_migrations",
            Tool::Alembic => "alembic_version",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Flyway => "flyway_schema_history",
        }
    }
}

/// What a migration does that matters to a rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    DropsColumn,
    RenamesColumn,
    DropsTable,
    RenamesTable,
    SetsNotNull,
    ChangesType,
    DeletesRows,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::DropsColumn => "drops a column",
            Risk::RenamesColumn => "renames a column",
            Risk::DropsTable => "drops a table",
            Risk::RenamesTable => "renames a table",
            Risk::SetsNotNull => "sets NOT NULL",
            Risk::ChangesType => "changes a column's type",
            Risk::DeletesRows => "deletes rows",
        }
    }

    /// Breaks code written for the schema before it (an up migration).
    pub fn breaks_old_code(self) -> bool {
        !matches!(self, Risk::DeletesRows)
    }

    /// Loses what was written since (a down migration).
    pub fn destroys_data(self) -> bool {
        matches!(
            self,
            Risk::DropsColumn | Risk::DropsTable | Risk::DeletesRows | Risk::ChangesType
        )
    }
}

/// The language a migration's text is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Sql,
    /// knex's schema builder (JavaScript).
    Knex,
    /// Alembic's `op` calls (Python).
    Alembic,
}

/// What `text` does, each risk once, in order. SQL comments and string
/// literals are not read as statements.
pub fn risks(text: &str, lang: Lang) -> Vec<Risk> {
    let mut found = match lang {
        Lang::Sql => sql_risks(text),
        Lang::Knex => knex_risks(text),
        Lang::Alembic => alembic_risks(text),
    };
    found.sort();
    found.dedup();
    found
}

fn sql_risks(sql: &str) -> Vec<Risk> {
    let mut found = Vec::new();
    for statement in statements(sql) {
        let words: Vec<&str> = statement.split_whitespace().collect();
        let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
        let first = |w: &str| words.first() == Some(&w);
        if first("DROP") && words.get(1) == Some(&"TABLE") {
            found.push(Risk::DropsTable);
        }
        if first("TRUNCATE") || first("DELETE") {
            found.push(Risk::DeletesRows);
        }
        if !first("ALTER") || words.get(1) != Some(&"TABLE") {
            continue;
        }
        if has(&["DROP", "COLUMN"])
            || words.windows(2).any(|w| {
                w[0] == "DROP"
                    && !matches!(
                        w[1],
                        "CONSTRAINT" | "DEFAULT" | "NOT" | "IDENTITY" | "EXPRESSION"
                    )
            })
        {
            found.push(Risk::DropsColumn);
        }
        if has(&["RENAME", "COLUMN"]) {
            found.push(Risk::RenamesColumn);
        } else if has(&["RENAME", "TO"]) {
            found.push(Risk::RenamesTable);
        } else if words.windows(3).any(|w| w[0] == "RENAME" && w[2] == "TO") {
            // `RENAME old TO new`: a column, the word COLUMN being optional.
            found.push(Risk::RenamesColumn);
        }
        if has(&["SET", "NOT", "NULL"]) {
            found.push(Risk::SetsNotNull);
        }
        if has(&["TYPE"]) && has(&["ALTER", "COLUMN"]) {
            found.push(Risk::ChangesType);
        }
    }
    found
}

/// SQL statements, upper-cased, without comments or quoted text.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                cur.push(' ');
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                cur.push_str(" '' ");
            }
            ';' => out.push(std::mem::take(&mut cur)),
            // Names and punctuation apart: `ADD (x` reads as words.
            '(' | ')' | ',' => cur.push(' '),
            c => cur.extend(c.to_uppercase()),
        }
    }
    out.push(cur);
    out.retain(|s| !s.trim().is_empty());
    out
}

fn knex_risks(js: &str) -> Vec<Risk> {
    let calls = [
        ("dropColumn(", Risk::DropsColumn),
        ("dropColumns(", Risk::DropsColumn),
        ("renameColumn(", Risk::RenamesColumn),
        ("dropTable(", Risk::DropsTable),
        ("dropTableIfExists(", Risk::DropsTable),
        ("renameTable(", Risk::RenamesTable),
        (".del(", Risk::DeletesRows),
        (".truncate(", Risk::DeletesRows),
    ];
    let mut found: Vec<Risk> = calls
        .iter()
        .filter(|(call, _)| js.contains(call))
        .map(|(_, r)| *r)
        .collect();
    // `.alter()` redefines a column: NOT NULL if it says so, else its type.
    for line in js.lines().filter(|l| l.contains(".alter(")) {
        found.push(if line.contains(".notNullable(") {
            Risk::SetsNotNull
        } else {
            Risk::ChangesType
        });
    }
    found.extend(raw_sql(js, &["raw(", "schema.raw("]));
    found
}

fn alembic_risks(py: &str) -> Vec<Risk> {
    let calls = [
        ("drop_column(", Risk::DropsColumn),
        ("drop_table(", Risk::DropsTable),
        ("rename_table(", Risk::RenamesTable),
    ];
    let mut found: Vec<Risk> = calls
        .iter()
        .filter(|(call, _)| py.contains(call))
        .map(|(_, r)| *r)
        .collect();
    // `op.alter_column(...)` changes what its arguments say.
    let mut rest = py;
    while let Some(i) = rest.find("alter_column(") {
        let call = &rest[i..];
        let args = &call[..call.find(')').map_or(call.len(), |j| j + 1)];
        let args: String = args.split_whitespace().collect();
        if args.contains("nullable=False") {
            found.push(Risk::SetsNotNull);
        }
        if args.contains("type_=") {
            found.push(Risk::ChangesType);
        }
        if args.contains("new_column_name=") {
            found.push(Risk::RenamesColumn);
        }
        rest = &call["alter_column(".len()..];
    }
    found.extend(raw_sql(py, &["execute("]));
    found
}

/// The risks of SQL passed as a string literal to one of `calls`.
fn raw_sql(code: &str, calls: &[&str]) -> Vec<Risk> {
    let mut found = Vec::new();
    for call in calls {
        let mut rest = code;
        while let Some(i) = rest.find(call) {
            rest = &rest[i + call.len()..];
            let Some(q) = rest
                .chars()
                .next()
                .filter(|c| matches!(c, '"' | '\'' | '`'))
            else {
                continue;
            };
            let body = &rest[1..];
            let end = body.find(q).unwrap_or(body.len());
            found.extend(sql_risks(&body[..end]));
        }
    }
    found
}

/// A migration's undoing, as its files say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Down {
    /// A down migration exists; what it does.
    Present { risks: Vec<Risk> },
    /// The tool's layout has a place for one, and it is missing or empty.
    Missing,
    /// Not known: no migrations folder given, or the file was not found.
    Unknown,
}

/// One applied migration, the table's facts and the files'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub version: String,
    pub name: Option<String>,
    /// When it was applied, where the tool's table keeps it.
    pub applied_at: Option<Ts>,
    /// What its up migration does (empty when its file was not read).
    pub up: Vec<Risk>,
    pub down: Down,
    /// Whether its file was found in the migrations folder.
    pub file: bool,
}

impl Migration {
    /// What in its up migration breaks the previous release's code.
    pub fn breaks_old_code(&self) -> Vec<Risk> {
        self.up
            .iter()
            .copied()
            .filter(|r| r.breaks_old_code())
            .collect()
    }

    /// What its down migration loses.
    pub fn down_destroys(&self) -> Vec<Risk> {
        match &self.down {
            Down::Present { risks } => risks
                .iter()
                .copied()
                .filter(|r| r.destroys_data())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `20240102 add_email` (the name, when there is one).
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) if !n.is_empty() => format!("{} {n}", self.version),
            _ => self.version.clone(),
        }
    }
}

/// Migrations applied this close to the newest are one run of the tool.
pub const RUN: std::time::Duration = std::time::Duration::from_secs(600);

/// A service's database as its migration tool recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schema {
    pub tool: Tool,
    /// Applied migrations, oldest first.
    pub applied: Vec<Migration>,
    /// The tool says a migration failed halfway (golang-migrate's `dirty`,
    /// a failed sqlx or Flyway row): the schema is in no known state.
    pub dirty: Option<String>,
}

impl Schema {
    /// The migration applied last.
    pub fn current(&self) -> Option<&Migration> {
        self.applied.last()
    }

    /// The last run of the tool, oldest first: the migrations applied
    /// within [`RUN`] of the newest (a deploy applies its release's
    /// together); the current one alone where the table keeps no times.
    pub fn last_run(&self) -> Vec<&Migration> {
        let Some(newest) = self.current() else {
            return Vec::new();
        };
        let Some(end) = newest.applied_at else {
            return vec![newest];
        };
        let start = end.minus(RUN);
        let mut run: Vec<&Migration> = self
            .applied
            .iter()
            .rev()
            .take_while(|m| m.applied_at.is_some_and(|t| t >= start))
            .collect();
        run.reverse();
        run
    }

    /// Migrations applied at or after `since` (oldest first). Without
    /// times in the tool's table nothing can be said: `None`.
    pub fn since(&self, since: Ts) -> Option<Vec<&Migration>> {
        if self.applied.iter().any(|m| m.applied_at.is_none()) {
            return None;
        }
        Some(
            self.applied
                .iter()
                .filter(|m| m.applied_at.is_some_and(|t| t >= since))
                .collect(),
        )
    }

    /// One line for a pane or a table: the current migration, and what in
    /// the ones since `since` a rollback must know.
    pub fn summary(&self, since: Option<Ts>) -> String {
        let mut s = format!("{}: ", self.tool.as_str());
        match self.current() {
            Some(m) => s.push_str(&m.label()),
            None => s.push_str("no migration applied"),
        }
        if let Some(why) = &self.dirty {
            s.push_str(&format!(" · DIRTY ({why})"));
        }
        // Since the previous version went live, where the table says when;
        // else the last one alone, the likeliest to be the release's own.
        let recent = match since.and_then(|t| self.since(t)) {
            Some(recent) => {
                s.push_str(&format!(
                    " · {} since the previous version went live",
                    recent.len()
                ));
                recent
            }
            None => self.last_run(),
        };
        let unsafe_ones: Vec<String> = recent
            .iter()
            .filter(|m| !m.breaks_old_code().is_empty())
            .map(|m| {
                let what: Vec<&str> = m.breaks_old_code().iter().map(|r| r.as_str()).collect();
                format!("{} ({})", m.version, what.join(", "))
            })
            .collect();
        if !unsafe_ones.is_empty() {
            s.push_str(&format!(
                " · UNSAFE for the old code: {}",
                unsafe_ones.join("; ")
            ));
        }
        let no_down = recent.iter().filter(|m| m.down == Down::Missing).count();
        if no_down > 0 {
            s.push_str(&format!(" · {no_down} without a down migration"));
        }
        s
    }
}

/// Why a service's database could not be read. Every text in it is
/// already without the URL's password (the reader cleans them).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{from} is not set: it holds the database URL")]
    NoUrl { from: String },
    #[error("{from} is empty: it should hold the database URL")]
    EmptyUrlFile { from: String },
    #[error("cannot read the database URL from {from}: {why}")]
    UrlFile { from: String, why: String },
    #[error("the database URL from {from} is not one PostgreSQL takes ({why})")]
    BadUrl { from: String, why: String },
    #[error("the database {at} does not answer: {why}")]
    Unreachable { at: String, why: String },
    #[error(
        "the database {at} has no migration table backstop knows ({known}): name the tool (`tool = …`) or check the database"
    )]
    NoTable { at: String, known: String },
    #[error("the database {at}: reading {table} failed: {why}")]
    Query {
        at: String,
        table: &'static str,
        why: String,
    },
}

/// A service's database as last read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub result: Result<Schema, ReadError>,
    pub at: Ts,
}

impl Read {
    /// What a rollback's preview must say of the database, a line or two
    /// each (previews are read in narrow panes): the migration that breaks
    /// the old code, a schema left dirty, or that it could not be read.
    /// Empty when going back meets nothing known.
    pub fn warning(&self) -> Vec<String> {
        let schema = match &self.result {
            Ok(s) => s,
            Err(e) => {
                return vec![
                    "⚠ the database could not be read: check its migrations first".into(),
                    format!("  ({e})"),
                ];
            }
        };
        let tool = schema.tool.as_str();
        let mut said = Vec::new();
        if let Some(d) = &schema.dirty {
            said.push(format!("⚠ the database ({tool}) is DIRTY: {d}"));
        }
        // The last run: what the release being left behind brought.
        for m in schema.last_run() {
            let breaks: Vec<&str> = m.breaks_old_code().iter().map(|r| r.as_str()).collect();
            if breaks.is_empty() {
                continue;
            }
            let down = match &m.down {
                Down::Present { .. } if m.down_destroys().is_empty() => {
                    "its down migration undoes it"
                }
                Down::Present { .. } => "its down migration DESTROYS DATA",
                Down::Missing => "it has NO down migration",
                Down::Unknown => "whether it can be undone is unknown",
            };
            said.push(format!(
                "⚠ the database ({tool}): {} {}",
                m.label(),
                breaks.join(", ")
            ));
            said.push(format!("  the old code may fail on it; {down}"));
        }
        said
    }
}

/// What a rollback's database step would undo: the last migration, when
/// it breaks the old code, and the version the table must show after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    pub migration: Migration,
    pub to: Option<String>,
}

/// Why the database step cannot plan an undo (a person decides).
pub fn plan_undo(read: Option<&Read>) -> Result<Option<Undo>, String> {
    let schema = match read.map(|r| &r.result) {
        None => {
            return Err("the service has no [services.x.database], or it was not read yet: nothing is known of its migrations".into());
        }
        Some(Err(e)) => return Err(format!("the database cannot be read ({e})")),
        Some(Ok(s)) => s,
    };
    let Some(m) = schema.current().filter(|m| !m.breaks_old_code().is_empty()) else {
        // The last run may hold one deeper down: going back meets it, and
        // one step of the tool would undo a harmless one first.
        if let Some(deep) = schema
            .last_run()
            .into_iter()
            .find(|m| !m.breaks_old_code().is_empty())
        {
            let breaks: Vec<&str> = deep.breaks_old_code().iter().map(|r| r.as_str()).collect();
            return Err(format!(
                "{} {}, under later migrations of the same run: undo them in order by hand, restore from a backup, or stop and escalate",
                deep.label(),
                breaks.join(", ")
            ));
        }
        return Ok(None);
    };
    let breaks: Vec<&str> = m.breaks_old_code().iter().map(|r| r.as_str()).collect();
    if let Some(d) = &schema.dirty {
        return Err(format!(
            "the schema is DIRTY ({d}): its tool must be repaired by a person first"
        ));
    }
    if m.down == Down::Missing {
        return Err(format!(
            "{} {} and has NO down migration: skip (s) to leave the schema if the old code copes, restore from a backup with the team's command, or stop and escalate",
            m.label(),
            breaks.join(", ")
        ));
    }
    Ok(Some(Undo {
        migration: m.clone(),
        to: schema
            .applied
            .iter()
            .rev()
            .nth(1)
            .map(|p| p.version.clone()),
    }))
}

/// Whether the version in a tool's table and one in a file's name are the
/// same migration: equal, or equal numbers (`001` and `1`).
pub fn same_version(table: &str, file: &str) -> bool {
    if table == file {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(table) && digits(file) && table.trim_start_matches('0') == file.trim_start_matches('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> Vec<Risk> {
        risks(s, Lang::Sql)
    }

    #[test]
    fn sql_that_breaks_the_old_code_is_named() {
        assert_eq!(
            sql("ALTER TABLE users DROP COLUMN email;"),
            [Risk::DropsColumn]
        );
        assert_eq!(sql("alter table users drop email"), [Risk::DropsColumn]);
        assert_eq!(
            sql("ALTER TABLE users RENAME COLUMN name TO full_name"),
            [Risk::RenamesColumn]
        );
        assert_eq!(
            sql("ALTER TABLE users RENAME TO people"),
            [Risk::RenamesTable]
        );
        assert_eq!(
            sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL"),
            [Risk::SetsNotNull]
        );
        assert_eq!(
            sql("ALTER TABLE users ALTER COLUMN age TYPE bigint USING age::bigint"),
            [Risk::ChangesType]
        );
        assert_eq!(sql("DROP TABLE IF EXISTS sessions"), [Risk::DropsTable]);
        assert_eq!(sql("TRUNCATE audit; DELETE FROM logs"), [Risk::DeletesRows]);
        // Forward-compatible (reference 004): nothing to warn of.
        assert!(sql("ALTER TABLE users ADD COLUMN phone text NULL").is_empty());
        assert!(sql("CREATE INDEX CONCURRENTLY users_email ON users (email)").is_empty());
        assert!(sql("ALTER TABLE users ALTER COLUMN email DROP NOT NULL").is_empty());
        assert!(sql("ALTER TABLE users DROP CONSTRAINT users_email_key").is_empty());
        assert!(sql("ALTER TABLE users ALTER COLUMN n DROP DEFAULT").is_empty());
    }

    #[test]
    fn comments_and_strings_are_not_statements() {
        assert!(sql("-- DROP TABLE users\nCREATE TABLE t (a int)").is_empty());
        assert!(sql("/* ALTER TABLE users DROP COLUMN x; */ SELECT 1").is_empty());
        assert!(sql("INSERT INTO notes VALUES ('DROP TABLE users;')").is_empty());
        assert_eq!(
            sql("CREATE TABLE a (x int);\n-- then\nALTER TABLE a DROP COLUMN x;"),
            [Risk::DropsColumn]
        );
    }

    #[test]
    fn knex_and_alembic_calls_are_read_too() {
        let knex = r#"
exports.up = function (knex) {
  return knex.schema.alterTable('users', (t) => {
    t.dropColumn('email');
    t.string('name').notNullable().alter();
  });
};
exports.down = (knex) => knex.schema.dropTable('users');
"#;
        assert_eq!(
            risks(knex, Lang::Knex),
            [Risk::DropsColumn, Risk::DropsTable, Risk::SetsNotNull]
        );
        let py = r#"
def upgrade():
    op.alter_column("users", "email", nullable=False)
    op.alter_column("users", "name", new_column_name="full_name")
    op.execute("ALTER TABLE t DROP COLUMN legacy")
"#;
        assert_eq!(
            risks(py, Lang::Alembic),
            [Risk::DropsColumn, Risk::RenamesColumn, Risk::SetsNotNull]
        );
        assert!(
            risks(
                "def upgrade():\n    op.add_column('u', sa.Column('x'))",
                Lang::Alembic
            )
            .is_empty()
        );
    }

    fn applied(version: &str, at: Option<i64>, up: &[Risk], down: Down) -> Migration {
        Migration {
            version: version.into(),
            name: Some(format!("m{version}")),
            applied_at: at.map(Ts),
            up: up.to_vec(),
            down,
            file: true,
        }
    }

    #[test]
    fn the_summary_names_what_a_rollback_must_know() {
        let schema = Schema {
            tool: Tool::Dbmate,
            applied: vec![
                applied(
                    "1",
                    Some(1_000),
                    &[],
                    Down::Present {
                        risks: vec![Risk::DropsTable],
                    },
                ),
                applied("2", Some(5_000), &[], Down::Present { risks: vec![] }),
                applied("3", Some(6_000), &[Risk::DropsColumn], Down::Missing),
            ],
            dirty: None,
        };
        assert_eq!(schema.current().unwrap().version, "3");
        assert_eq!(schema.since(Ts(5_000)).unwrap().len(), 2);
        assert_eq!(
            schema.summary(Some(Ts(5_000))),
            "dbmate: 3 m3 · 2 since the previous version went live · UNSAFE for the old code: 3 (drops a column) · 1 without a down migration"
        );
        assert_eq!(
            schema.summary(None),
            "dbmate: 3 m3 · UNSAFE for the old code: 3 (drops a column) · 1 without a down migration"
        );
        assert_eq!(schema.applied[0].down_destroys(), [Risk::DropsTable]);
        // A table without times (Alembic keeps one row): nothing is claimed.
        let mut alembic = schema.clone();
        alembic.tool = Tool::Alembic;
        alembic.applied[0].applied_at = None;
        alembic.applied[2].up.clear();
        assert_eq!(alembic.since(Ts(0)), None);
        assert_eq!(
            alembic.summary(Some(Ts(0))),
            "alembic: 3 m3 · 1 without a down migration"
        );
    }

    #[test]
    fn a_rollback_is_warned_of_what_the_old_code_meets() {
        let read = |result| Read { result, at: Ts(0) };
        let mut schema = Schema {
            tool: Tool::Knex,
            applied: vec![applied(
                "7",
                None,
                &[Risk::RenamesColumn],
                Down::Present { risks: vec![] },
            )],
            dirty: None,
        };
        assert_eq!(
            read(Ok(schema.clone())).warning(),
            [
                "⚠ the database (knex): 7 m7 renames a column",
                "  the old code may fail on it; its down migration undoes it"
            ]
        );
        schema.applied[0].up = vec![Risk::DeletesRows];
        assert!(
            read(Ok(schema.clone())).warning().is_empty(),
            "the old code copes"
        );
        schema.dirty = Some("migration 7 failed".into());
        assert_eq!(
            read(Ok(schema)).warning(),
            ["⚠ the database (knex) is DIRTY: migration 7 failed"]
        );
        let down = ReadError::Unreachable {
            at: "postgres://app@db/shop".into(),
            why: "no answer".into(),
        };
        assert_eq!(
            read(Err(down)).warning()[1],
            "  (the database postgres://app@db/shop does not answer: no answer)"
        );
    }

    #[test]
    fn the_last_run_is_what_the_release_brought() {
        let min = 60_000;
        let schema = Schema {
            tool: Tool::Sqlx,
            applied: vec![
                applied("1", Some(0), &[Risk::DropsTable], Down::Missing),
                applied(
                    "2",
                    Some(100 * min),
                    &[Risk::DropsColumn],
                    Down::Present { risks: vec![] },
                ),
                applied("3", Some(101 * min), &[], Down::Present { risks: vec![] }),
            ],
            dirty: None,
        };
        let run: Vec<&str> = schema
            .last_run()
            .iter()
            .map(|m| m.version.as_str())
            .collect();
        assert_eq!(
            run,
            ["2", "3"],
            "a month-old migration is not this release's"
        );
        let read = Read {
            result: Ok(schema.clone()),
            at: Ts(0),
        };
        assert_eq!(
            read.warning()[0],
            "⚠ the database (sqlx): 2 m2 drops a column",
            "the unsafe one under a safe one is still said"
        );
        let e = plan_undo(Some(&read)).unwrap_err();
        assert!(
            e.starts_with("2 m2 drops a column, under later migrations"),
            "{e}"
        );
        assert!(
            schema
                .summary(None)
                .contains("UNSAFE for the old code: 2 (drops a column)")
        );
    }

    #[test]
    fn versions_match_as_numbers_where_they_are() {
        assert!(same_version("1", "001"));
        assert!(same_version("20240102120000", "20240102120000"));
        assert!(!same_version("1", "10"));
        assert!(!same_version("ab12", "ab13"));
        assert!(same_version("ae1027a6acf", "ae1027a6acf"));
    }
}
