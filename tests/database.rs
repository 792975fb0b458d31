//! The database, read from the database: a real PostgreSQL server, real
//! migration tools (dbmate, knex, Alembic) applying and rolling back real
//! migrations, and `backstop status` saying what a rollback would meet —
//! which migration is current, which break the old code, which cannot be
//! undone — without ever showing the URL's password.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::postgres::Postgres;
use common::{Home, stderr, stdout};
use serde_json::Value;

const PASSWORD: &str = "pa55-w0rd-never-shown";

fn tool(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(fallback);
        assert!(
            p.exists(),
            "{var} is not set and {} is missing: scripts/test installs the migration tools",
            p.display()
        );
        p
    })
}

fn dbmate() -> PathBuf {
    tool(
        "BACKSTOP_DBMATE",
        "target/migrate-tools/node_modules/.bin/dbmate",
    )
}

fn knex() -> PathBuf {
    tool(
        "BACKSTOP_KNEX",
        "target/migrate-tools/node_modules/.bin/knex",
    )
}

fn alembic() -> PathBuf {
    tool("BACKSTOP_ALEMBIC", "target/migrate-venv/bin/alembic")
}

/// A program run to success (a migration tool), its output said if not.
fn ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{:?}: {}{}", c, stdout(&o), stderr(&o));
    o
}

/// A configuration of one service on a refused port (its health does not
/// matter here) with `database` as its database section.
fn configure(home: &Home, database: &str) {
    let dir = home.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let port = common::refused_port();
    std::fs::write(
        dir.join("backstop.toml"),
        format!(
            r#"[services.shop.environments.blue]
endpoints = [{{ url = "http://127.0.0.1:{port}/health" }}]

[services.shop.database]
{database}
"#
        ),
    )
    .unwrap();
}

fn status(home: &Home, url: &str) -> (Value, String) {
    let run = |json: bool| {
        let mut c = home.command();
        c.arg("status").env("SHOP_DATABASE_URL", url);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let j = run(true);
    let t = run(false);
    for o in [&j, &t] {
        let all = format!("{}{}", stdout(o), stderr(o));
        assert!(!all.contains(PASSWORD), "the password was shown:\n{all}");
    }
    let doc: Value = serde_json::from_str(&stdout(&j))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&j), stderr(&j)));
    (doc["services"]["shop"]["database"].clone(), stdout(&t))
}

fn versions(db: &Value) -> Vec<String> {
    db["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap().to_string())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// dbmate's migrations in `dir`: a users table (its down drops it), then
/// `second` (a file name and its dbmate text).
fn dbmate_files(dir: &Path, second: (&str, &str)) {
    write(
        dir,
        "20240101000000_create_users.sql",
        "-- migrate:up\nCREATE TABLE users (id serial PRIMARY KEY, email text);\n\n-- migrate:down\nDROP TABLE users;\n",
    );
    write(dir, second.0, second.1);
}

/// dbmate `args` on the database at `url` with the migrations in `dir`.
fn dbmate_on(url: &str, dir: &Path, args: &[&str]) -> Output {
    let url = if url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?sslmode=disable")
    };
    let mut c = Command::new(dbmate());
    c.arg("--url")
        .arg(url)
        .arg("--migrations-dir")
        .arg(dir)
        .arg("--no-dump-schema")
        .args(args);
    ok(c)
}

/// `[services.web.database]` for the database at `url` (the URL in a file
/// beside `migrations`, as a mounted secret, the password in it), with
/// `extra` keys.
fn database_section(url: &str, migrations: &Path, extra: &str) -> String {
    let secret = migrations.parent().unwrap().join("web-db-url");
    std::fs::write(&secret, format!("{url}\n")).unwrap();
    format!(
        "\n[services.web.database]\nurl_file = \"{}\"\nmigrations = \"{}\"\n{extra}",
        secret.display(),
        migrations.display()
    )
}

/// The platform's world (web, blue and green, green failing) with its
/// database at `url` (the URL in a file beside `migrations`, as a mounted
/// secret, the password in it).
async fn world_on(url: &str, migrations: &Path) -> common::platform::World {
    let w = common::platform::World::start_with("", &database_section(url, migrations, "")).await;
    w.sandbox
        .set_fault(
            "web",
            "green",
            Some(backstop::core::model::Fault::Unhealthy),
        )
        .unwrap();
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbmate_migrations_that_break_the_old_code_are_named() {
    let pg = Postgres::start();
    let url = pg.database("shop", PASSWORD).await;
    let home = Home::new();
    let migrations = home.config_dir().join("db/migrations");
    dbmate_files(
        &migrations,
        (
            "20240102000000_drop_email.sql",
            "-- migrate:up\nALTER TABLE users DROP COLUMN email;\n\n-- migrate:down\n",
        ),
    );
    let dbmate = |args: &[&str]| dbmate_on(&url, &migrations, args);
    dbmate(&["up"]);
    configure(
        &home,
        "url_env = \"SHOP_DATABASE_URL\"\nmigrations = \"db/migrations\"",
    );
    let (db, text) = status(&home, &url);
    assert_eq!(db["tool"], "dbmate", "found from its table: {db}");
    assert_eq!(db["current"], "20240102000000");
    assert_eq!(versions(&db), ["20240101000000", "20240102000000"]);
    let last = &db["applied"][1];
    assert_eq!(
        last["unsafe_for_old_code"],
        serde_json::json!(["drops-column"])
    );
    assert_eq!(last["down"]["kind"], "missing", "an empty down section");
    assert_eq!(
        db["applied"][0]["down_destroys"],
        serde_json::json!(["drops-table"])
    );
    assert!(
        text.contains("shop  dbmate: 20240102000000 drop_email · UNSAFE for the old code: 20240102000000 (drops a column) · 1 without a down migration"),
        "{text}"
    );
    assert!(
        text.contains("20240101000000 create_users · down: yes, DESTROYS DATA (drops a table)"),
        "{text}"
    );
    // dbmate rolls the last one back (its down section is empty: the
    // column stays dropped), and the table says so.
    dbmate(&["rollback"]);
    let (db, _) = status(&home, &url);
    assert_eq!(db["current"], "20240101000000", "{db}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knex_migrations_carry_their_times_and_roll_back() {
    let pg = Postgres::start();
    let url = pg.database("shop", PASSWORD).await;
    let home = Home::new();
    let project = home.path().join("app");
    let migrations = project.join("migrations");
    write(
        &project,
        "knexfile.js",
        "module.exports = { client: 'pg', connection: process.env.SHOP_DATABASE_URL, migrations: { directory: './migrations' } };\n",
    );
    write(
        &migrations,
        "20240101000000_create_orders.js",
        "exports.up = (knex) => knex.schema.createTable('orders', (t) => { t.increments('id'); t.string('state'); });\nexports.down = (knex) => knex.schema.dropTable('orders');\n",
    );
    write(
        &migrations,
        "20240102000000_rename_state.js",
        "exports.up = (knex) => knex.schema.alterTable('orders', (t) => { t.renameColumn('state', 'status'); });\nexports.down = (knex) => knex.schema.alterTable('orders', (t) => { t.renameColumn('status', 'state'); });\n",
    );
    // knex's CLI runs the project's own knex: the installed one, linked in.
    std::os::unix::fs::symlink(
        knex().parent().unwrap().parent().unwrap(),
        project.join("node_modules"),
    )
    .unwrap();
    let knex = |args: &[&str]| {
        let mut c = Command::new(knex());
        c.current_dir(&project)
            .env("SHOP_DATABASE_URL", &url)
            .args(["--knexfile", "knexfile.js"])
            .args(args);
        ok(c)
    };
    let before = backstop::core::time::Ts(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 1_000,
    );
    knex(&["migrate:latest"]);
    configure(
        &home,
        &format!(
            "url_env = \"SHOP_DATABASE_URL\"\ntool = \"knex\"\nmigrations = \"{}\"",
            migrations.display()
        ),
    );
    let (db, text) = status(&home, &url);
    assert_eq!(db["tool"], "knex");
    assert_eq!(
        versions(&db),
        [
            "20240101000000_create_orders.js",
            "20240102000000_rename_state.js"
        ]
    );
    let renamed = &db["applied"][1];
    assert_eq!(
        renamed["unsafe_for_old_code"],
        serde_json::json!(["renames-column"])
    );
    assert_eq!(renamed["down"]["kind"], "present");
    // knex keeps when each was applied: the table's own time.
    let at = renamed["applied_at"].as_str().unwrap();
    assert!(
        at >= before.rfc3339().as_str(),
        "{at} before {}",
        before.rfc3339()
    );
    assert!(text.contains(" applied "), "{text}");
    knex(&["migrate:rollback"]);
    let (db, _) = status(&home, &url);
    assert_eq!(
        versions(&db),
        Vec::<String>::new(),
        "one batch, rolled back: {db}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alembic_is_read_along_its_chain_and_downgraded() {
    let pg = Postgres::start();
    let url = pg.database("shop", PASSWORD).await;
    let home = Home::new();
    let project = home.path().join("app");
    std::fs::create_dir_all(&project).unwrap();
    let alembic = |args: &[&str]| {
        let mut c = Command::new(alembic());
        c.current_dir(&project)
            .env(
                "SQLALCHEMY_URL",
                url.replace("postgres://", "postgresql+psycopg2://"),
            )
            .args(args);
        ok(c)
    };
    alembic(&["init", "alembic"]);
    // The URL from the environment, never written into alembic.ini.
    let env_py = project.join("alembic/env.py");
    let text = std::fs::read_to_string(&env_py).unwrap().replace(
        "config = context.config\n",
        "config = context.config\nimport os\nconfig.set_main_option('sqlalchemy.url', os.environ['SQLALCHEMY_URL'])\n",
    );
    std::fs::write(&env_py, text).unwrap();
    let versions_dir = project.join("alembic/versions");
    write(
        &versions_dir,
        "aaa_create_items.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'aaa'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), sa.Column('sku', sa.String))\n\n\ndef downgrade():\n    op.drop_table('items')\n",
    );
    write(
        &versions_dir,
        "bbb_sku_not_null.py",
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'bbb'\ndown_revision = 'aaa'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.alter_column('items', 'sku', nullable=False)\n\n\ndef downgrade():\n    pass\n",
    );
    alembic(&["upgrade", "head"]);
    configure(
        &home,
        &format!(
            "url_env = \"SHOP_DATABASE_URL\"\nmigrations = \"{}\"",
            project.join("alembic").display()
        ),
    );
    let (db, text) = status(&home, &url);
    assert_eq!(db["tool"], "alembic", "{db}");
    assert_eq!(db["current"], "bbb");
    assert_eq!(versions(&db), ["aaa", "bbb"], "the chain, from the files");
    assert_eq!(
        db["applied"][1]["unsafe_for_old_code"],
        serde_json::json!(["sets-not-null"])
    );
    assert_eq!(
        db["applied"][1]["down"]["kind"], "missing",
        "a downgrade that passes"
    );
    assert!(text.contains("bbb sku_not_null · down: NONE"), "{text}");
    alembic(&["downgrade", "-1"]);
    let (db, _) = status(&home, &url);
    assert_eq!(db["current"], "aaa", "{db}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_read_says_why_and_never_its_password() {
    let pg = Postgres::start();
    let home = Home::new();
    let migrations = home.config_dir().join("migrations");
    configure(
        &home,
        "url_env = \"SHOP_DATABASE_URL\"\nmigrations = \"migrations\"",
    );
    // Nobody listens.
    let closed = format!(
        "postgres://app:{PASSWORD}@127.0.0.1:{}/shop",
        common::refused_port()
    );
    let (db, text) = status(&home, &closed);
    let e = db["error"].as_str().unwrap();
    assert!(
        e.contains("the database postgres://app@127.0.0.1:") && e.contains("does not answer"),
        "{e}"
    );
    assert!(text.contains("shop  database: cannot read: "), "{text}");
    // No migration table of a tool backstop knows.
    let url = pg.database("empty", PASSWORD).await;
    let (db, _) = status(&home, &url);
    assert!(
        db["error"]
            .as_str()
            .unwrap()
            .contains("has no migration table backstop knows"),
        "{db}"
    );
    // golang-migrate's table, marked dirty by a migration that failed
    // halfway, with the plain NNN_name.up.sql / .down.sql layout whose
    // second down file is missing.
    let url = pg.database("dirty", PASSWORD).await;
    pg.sql(
        &url,
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, true);",
    )
    .await;
    write(
        &migrations,
        "001_users.up.sql",
        "CREATE TABLE users (id int);",
    );
    write(&migrations, "001_users.down.sql", "DROP TABLE users;");
    write(
        &migrations,
        "002_users_email.up.sql",
        "ALTER TABLE users ADD COLUMN email text NULL;",
    );
    let (db, text) = status(&home, &url);
    assert_eq!(db["tool"], "golang-migrate", "{db}");
    assert_eq!(versions(&db), ["001", "002"]);
    assert!(
        db["dirty"]
            .as_str()
            .unwrap()
            .contains("version 2 is marked dirty"),
        "{db}"
    );
    assert_eq!(db["applied"][1]["down"]["kind"], "missing");
    assert_eq!(
        db["applied"][1]["unsafe_for_old_code"],
        serde_json::json!([])
    );
    assert!(
        text.contains("· DIRTY (version 2 is marked dirty"),
        "{text}"
    );
    // The variable not set at all.
    let mut c = home.command();
    c.arg("status")
        .env_remove("SHOP_DATABASE_URL")
        .arg("--json");
    let o = c.output().unwrap();
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        doc["services"]["shop"]["database"]["error"],
        "$SHOP_DATABASE_URL is not set: it holds the database URL"
    );
}

#[test]
fn a_url_in_the_configuration_is_refused_with_its_place() {
    let home = Home::new();
    configure(
        &home,
        &format!("url = \"postgres://app:{PASSWORD}@db/shop\""),
    );
    let mut c = home.command();
    c.arg("status");
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("backstop.toml:5:7"), "{err}");
    assert!(err.contains("never goes in this file"), "{err}");
    assert!(
        !err.contains(PASSWORD),
        "the line quoted, its password masked: {err}"
    );
}

/// The console reads the database beside everything else: its line in the
/// Deployments pane, and a rollback's preview that warns, before anything
/// is confirmed, that the release being left dropped a column the old
/// code reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_preview_warns_that_the_old_code_meets_a_dropped_column() {
    let pg = Postgres::start();
    let url = pg.database("web", PASSWORD).await;
    let files = tempfile::tempdir().unwrap();
    let migrations = files.path().join("migrations");
    dbmate_files(
        &migrations,
        (
            "20240102000000_drop_email.sql",
            "-- migrate:up\nALTER TABLE users DROP COLUMN email;\n-- migrate:down\n",
        ),
    );
    dbmate_on(&url, &migrations, &["up"]);
    let w = world_on(&url, &migrations).await;
    let wait = std::time::Duration::from_secs(20);
    let mut alice = w.console("alice", &[], None);
    // The small screen's glance says it too.
    alice.wait_for("the database on the glance", wait, |s| {
        s.contains(" DB      dbmate: 20240102000000 drop_email drops a column")
    });
    // Wide enough for every pane, the Deployments pane among them.
    alice.resize(140, 45);
    alice.wait_for("the database's line", wait, |s| {
        s.contains("db     dbmate: 20240102000000 drop_email · UNSAFE")
    });
    alice.wait_for("the recommendation", wait, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the switch's turn", wait, |s| {
        s.contains("›▶") && s.contains("Switch traffic")
    });
    alice.send("\r");
    alice.wait_for("the preview", wait, |s| s.contains("DO IT"));
    let screen = alice.screen();
    assert!(
        screen.contains("⚠ the database (dbmate): 20240102000000 drop_email drops a column")
            && screen.contains("the old code may fail on it; it has NO down migration"),
        "{screen}"
    );
    assert!(!screen.contains(PASSWORD), "{screen}");
    assert!(w.calls().is_empty(), "nothing changed before y");
    alice.send("\x1b");
    alice.send("q");
    alice.send("q");
    alice.wait_exit(wait);
}

/// The runbook's database step after the switch: previewed (the team's
/// tool, what it undoes, what the table must show after), confirmed, run
/// with `DATABASE_URL`, and checked against the table itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_breaks_the_old_code_is_undone_after_a_confirmation() {
    let pg = Postgres::start();
    let url = pg.database("web", PASSWORD).await;
    let files = tempfile::tempdir().unwrap();
    let migrations = files.path().join("migrations");
    dbmate_files(
        &migrations,
        (
            "20240102000000_rename_email.sql",
            "-- migrate:up\nALTER TABLE users RENAME COLUMN email TO mail;\n-- migrate:down\nALTER TABLE users RENAME COLUMN mail TO email;\n",
        ),
    );
    let url = format!("{url}?sslmode=disable");
    dbmate_on(&url, &migrations, &["up"]);
    let w = world_on(&url, &migrations).await;
    std::fs::write(
        w.home.config_dir().join("runbooks/quick.toml"),
        format!(
            r#"
name = "quick"
description = "switch, then the database"

[[during]]
id = "switch"
title = "Switch traffic from {{suspect}} to {{target}}"
kind = "action"
action = "switch-traffic"

[[during]]
id = "db"
title = "Roll back the database migration"
kind = "action"
action = "migrate-down"
argv = ["{}", "--migrations-dir", "{}", "--no-dump-schema", "rollback"]
"#,
            dbmate().display(),
            migrations.display()
        ),
    )
    .unwrap();
    let wait = std::time::Duration::from_secs(20);
    let mut alice = w.console("alice", &[], None);
    alice.resize(140, 45);
    alice.wait_for("the database read", wait, |s| {
        s.contains("db     dbmate: 20240102000000 rename_email · UNSAFE")
    });
    alice.wait_for("the recommendation", wait, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the switch's turn", wait, |s| {
        s.contains("›▶") && s.contains("Switch traffic")
    });
    alice.send("\r");
    alice.wait_for("the switch's preview", wait, |s| {
        s.contains("DO IT") && s.contains("its down migration undoes it")
    });
    std::thread::sleep(std::time::Duration::from_millis(400));
    alice.send("y");
    alice.wait_for("the database's turn", wait, |s| {
        s.lines()
            .any(|l| l.contains("›▶") && l.contains("Roll back the database migration"))
    });
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    alice.send("\r");
    alice.wait_for("the database step's preview", wait, |s| {
        s.contains("DO IT")
            && s.contains("undoes 20240102000000 rename_email (renames a column)")
            && s.contains("then the migration table must show 20240101000000 as current")
    });
    // Nothing ran before y: the table still has both.
    let before = status_of(&url).await;
    assert_eq!(before, ["20240101000000", "20240102000000"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    alice.send("y");
    alice.wait_for("the table checked", wait, |s| {
        s.contains("the migration table shows 20240101000000 as current")
    });
    assert_eq!(status_of(&url).await, ["20240101000000"]);
    assert!(!alice.screen().contains(PASSWORD));
    // The journal has its intent and its outcome, without the password
    // (the outcome row is written just after the screen shows it).
    let read_rows = || -> Vec<String> {
        let conn = rusqlite::Connection::open(w.journal()).unwrap();
        conn.prepare(
            "SELECT kind || ' ' || text || ' ' || COALESCE(data, '') FROM journal ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let start = std::time::Instant::now();
    let undone = |rows: &[String]| {
        rows.iter()
            .any(|r| r.starts_with("outcome done: Roll back the database migration"))
    };
    let mut rows = read_rows();
    while !undone(&rows) && start.elapsed() < wait {
        std::thread::sleep(std::time::Duration::from_millis(50));
        rows = read_rows();
    }
    assert!(
        rows.iter()
            .any(|r| r.starts_with("intent undo migration 20240102000000 of web")),
        "{rows:#?}"
    );
    assert!(undone(&rows), "{rows:#?}");
    assert!(rows.iter().all(|r| !r.contains(PASSWORD)), "{rows:#?}");
    alice.send("q");
    alice.send("q");
    alice.wait_exit(wait);
}

/// Reference 003's standard rollback, with no runbook named: the release's
/// migration dropped a column the old code reads, so the rule chooses
/// `standard`; the switch's preview warns of the column before anything
/// changes, and the database step after it runs the team's `revert`
/// command once confirmed, then reads the table to see it undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_rollback_switches_then_undoes_the_dropped_column() {
    let pg = Postgres::start();
    let url = pg.database("web", PASSWORD).await;
    let url = format!("{url}?sslmode=disable");
    let files = tempfile::tempdir().unwrap();
    let migrations = files.path().join("migrations");
    dbmate_files(
        &migrations,
        (
            "20240102000000_drop_email.sql",
            "-- migrate:up\nALTER TABLE users DROP COLUMN email;\n-- migrate:down\nALTER TABLE users ADD COLUMN email text;\n",
        ),
    );
    dbmate_on(&url, &migrations, &["up"]);
    let revert = format!(
        "revert = [\"{}\", \"--migrations-dir\", \"{}\", \"--no-dump-schema\", \"rollback\"]\n",
        dbmate().display(),
        migrations.display()
    );
    let w =
        common::platform::World::start_typed(&database_section(&url, &migrations, &revert)).await;
    // Degraded, not down: the database decides the type, not an outage.
    w.sandbox
        .set_fault("web", "green", Some(backstop::core::model::Fault::Degraded))
        .unwrap();
    let wait = std::time::Duration::from_secs(20);
    let mut alice = w.console("alice", &[], None);
    alice.resize(140, 45);
    alice.wait_for("the recommendation", wait, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the standard checklist", wait, |s| {
        s.contains("· standard rollback ·")
            && s.contains("STANDARD — rule: the release's migration 20240102000000 drop_email")
            && s.contains("⏱ rollback, monitored: ")
    });
    // Before the switch: confirm, review, tell the team, the target is up.
    let current = |s: &str, title: &str| s.lines().any(|l| l.contains("›") && l.contains(title));
    alice.wait_for("the review", wait, |s| {
        current(s, "Review the error logs of green")
    });
    alice.send("\r");
    alice.wait_for("the message", wait, |s| current(s, "Notify the team"));
    alice.send("\r");
    alice.wait_for("the message preview", wait, |s| {
        s.contains("no notifier is configured")
    });
    alice.send("y");
    alice.wait_for("the switch's turn", wait, |s| {
        current(s, "Switch traffic from green to blue")
    });
    alice.send("\r");
    alice.wait_for("the switch's preview", wait, |s| {
        s.contains("DO IT")
            && s.contains("⚠ the database (dbmate): 20240102000000 drop_email drops a column")
            && s.contains("its down migration undoes it")
    });
    assert!(w.calls().is_empty(), "nothing changed before y");
    std::thread::sleep(std::time::Duration::from_millis(400));
    alice.send("y");
    alice.wait_for("the database's turn", wait, |s| {
        current(s, "Roll back database migrations")
    });
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    alice.send("\r");
    alice.wait_for("the database step's preview", wait, |s| {
        s.contains("DO IT")
            && s.contains("undoes 20240102000000 drop_email (drops a column)")
            && s.contains("then the migration table must show 20240101000000 as current")
    });
    assert_eq!(
        status_of(&url).await,
        ["20240101000000", "20240102000000"],
        "nothing ran before y"
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    alice.send("y");
    alice.wait_for("the table checked", wait, |s| {
        s.contains("the migration table shows 20240101000000 as current")
    });
    assert_eq!(status_of(&url).await, ["20240101000000"]);
    assert!(!alice.screen().contains(PASSWORD));
    alice.send("q");
    alice.send("q");
    alice.wait_exit(wait);
}

/// The versions dbmate's table holds, read directly.
async fn status_of(url: &str) -> Vec<String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT version::text FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    rows.iter().map(|r| r.get(0)).collect()
}
