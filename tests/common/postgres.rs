//! A private PostgreSQL server for one test: its own data directory and
//! port on loopback, run as the `postgres` user when the tests run as root
//! (PostgreSQL refuses root). scripts/test installs Debian's package and
//! says where its programs are (`$BACKSTOP_PG_BIN`).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    pub port: u16,
}

fn bin_dir() -> PathBuf {
    if let Some(b) = std::env::var_os("BACKSTOP_PG_BIN") {
        return PathBuf::from(b);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| Some(e.ok()?.path().join("bin"))).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().filter(|b| b.join("initdb").exists()).unwrap_or_else(|| {
        panic!("PostgreSQL is missing: scripts/test installs Debian's postgresql (or set BACKSTOP_PG_BIN to its bin directory)")
    })
}

fn as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to whoever this process runs as.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program args…`, as the postgres user when this is root.
fn pg(bin: &Path, program: &str, args: &[&str]) -> Command {
    let path = bin.join(program);
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path).args(args);
        c
    } else {
        let mut c = Command::new(path);
        c.args(args);
        c
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown to postgres");
        }
        let d = data.display().to_string();
        let out = pg(&bin, "initdb", &["-D", &d, "-A", "trust", "-U", "postgres"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = super::refused_port();
        let opts = format!("-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = format!("{d}/server.log");
        let out = pg(
            &bin,
            "pg_ctl",
            &["-D", &d, "-o", &opts, "-l", &log, "-w", "start"],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Postgres {
            bin,
            data,
            _dir: dir,
            port,
        }
    }

    /// A new, empty database; its URL with `password` in it (the server
    /// trusts loopback, so any password works — and must never be shown).
    pub async fn database(&self, name: &str, password: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        self.sql(&admin, &format!("CREATE DATABASE {name}")).await;
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Run `sql` on the database at `url`.
    pub async fn sql(&self, url: &str, sql: &str) {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let d = self.data.display().to_string();
        let _ = pg(
            &self.bin,
            "pg_ctl",
            &["-D", &d, "-m", "immediate", "-w", "stop"],
        )
        .output();
    }
}
