//! A world for the headless and war-room tests: the sandbox's services
//! (real HTTP on loopback) as web's blue and green, and a traffic provider
//! that is a real program storing the weights in files. Its journal is one
//! SQLite file, or a DynamoDB table on moto's server that consoles with
//! homes of their own share (and nothing else).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;

use backstop::sandbox::{Options, Sandbox, default_world};

use super::moto::{Moto, REGION};
use super::pty::Pty;
use super::{Home, QUICK_RUNBOOK};

/// Where the world's journal lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    File,
    Table,
}

/// The table of a `Backend::Table` world.
pub const TABLE: &str = "backstop-journal";

/// Credentials for moto (it takes any), and no instance metadata.
pub const AWS_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A platform CLI: `read` prints the weights as JSON, `set ENV WEIGHT`
/// stores one.
pub const CTL: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
case "$1" in
  read)
    printf '{"blue": %s, "green": %s}\n' "$(cat "$dir/blue")" "$(cat "$dir/green")" ;;
  set)
    printf '%s %s\n' "$2" "$3" >> "$dir/calls"
    printf '%s' "$3" > "$dir/$2" ;;
esac
"#;

pub struct World {
    pub home: Home,
    pub sandbox: Sandbox,
    pub ctl: PathBuf,
    pub backend: Backend,
    pub moto: Option<Moto>,
    /// The configuration every home gets (its endpoint replaced, for a
    /// console behind a proxy).
    config: String,
    /// Homes of the table world's consoles, kept while they run.
    homes: Mutex<Vec<Home>>,
}

impl World {
    pub async fn start() -> World {
        Self::start_with("", "").await
    }

    /// As `start`, with `top` added to the file's top level
    /// (`lease_expiry = "3s"`) and `rollback` to `[services.web.rollback]`
    /// (`approvals = 2`…).
    pub async fn start_with(top: &str, rollback: &str) -> World {
        Self::start_on(Backend::File, top, rollback).await
    }

    /// As `start_with`, its journal on `backend` (a table is created with
    /// `backstop journal init`).
    pub async fn start_on(backend: Backend, top: &str, rollback: &str) -> World {
        Self::start_full(backend, top, &format!("runbook = \"quick\"\n{rollback}")).await
    }

    /// As `start_with`, with no runbook named: each rollback is one of the
    /// three types (immediate, standard, emergency), chosen by the rule.
    #[allow(dead_code)]
    pub async fn start_typed(rollback: &str) -> World {
        Self::start_full(Backend::File, "", rollback).await
    }

    async fn start_full(backend: Backend, top: &str, rollback: &str) -> World {
        let sandbox = Sandbox::start(&default_world(), &Options { rate: 0.0 })
            .await
            .unwrap();
        let home = Home::new();
        let dir = home.path().join("platform");
        std::fs::create_dir_all(&dir).unwrap();
        let ctl = dir.join("ctl");
        std::fs::write(&ctl, CTL).unwrap();
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("blue"), "0").unwrap();
        std::fs::write(dir.join("green"), "100").unwrap();
        let moto = (backend == Backend::Table).then(Moto::start_recorded);
        let table = match &moto {
            Some(m) => format!(
                "\n[aws]\nregion = \"{REGION}\"\nendpoint_url = \"{}\"\n\n[journal]\nbackend = \"dynamodb\"\ntable = \"{TABLE}\"\n",
                m.url()
            ),
            None => String::new(),
        };
        let (blue, green) = (
            sandbox.base_url("web", "blue").unwrap(),
            sandbox.base_url("web", "green").unwrap(),
        );
        let web = web_service(&blue, &green, &ctl);
        let config = format!(
            r#"title = "headless test"
{top}
{table}

{web}
[services.web.rollback]
{rollback}

[[services.web.rules]]
kind = "health-failures"
count = 3

[[services.web.rules]]
kind = "degraded-for"
duration = "1s"

[[services.web.smoke]]
name = "orders answer"
path = "/api/orders"
"#
        );
        furnish(&home, &config);
        let w = World {
            home,
            sandbox,
            ctl,
            backend,
            moto,
            config,
            homes: Mutex::new(Vec::new()),
        };
        if backend == Backend::Table {
            let init = w.run(&["journal", "init"]).await;
            assert!(init.status.success(), "{}", super::stderr(&init));
        }
        w
    }

    /// A console as `name` (self-declared) in a 100×30 terminal: on the
    /// world's home (a file journal), or on a home of its own that shares
    /// only the table — through `endpoint` when given (a proxy).
    pub fn console(&self, name: &str, args: &[&str], endpoint: Option<&str>) -> Pty {
        let mut env = vec![("BACKSTOP_OPERATOR", name), ("NO_COLOR", "1")];
        env.extend(AWS_ENV);
        if self.backend == Backend::File {
            return Pty::spawn(&self.home, args, 100, 30, &env);
        }
        let home = Home::new();
        let config = match (endpoint, &self.moto) {
            (Some(e), Some(m)) => self.config.replace(&m.url(), e),
            _ => self.config.clone(),
        };
        furnish(&home, &config);
        let pty = Pty::spawn(&home, args, 100, 30, &env);
        self.homes.lock().unwrap().push(home);
        pty
    }

    /// As `console`, with AWS credentials of its own (a principal of its
    /// own on the table): (key id, secret, session token).
    pub fn console_with_keys(&self, name: &str, keys: (&str, &str, &str)) -> Pty {
        assert_eq!(self.backend, Backend::Table, "keys are for a table's world");
        let env = vec![
            ("BACKSTOP_OPERATOR", name),
            ("NO_COLOR", "1"),
            ("AWS_ACCESS_KEY_ID", keys.0),
            ("AWS_SECRET_ACCESS_KEY", keys.1),
            ("AWS_SESSION_TOKEN", keys.2),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        let home = Home::new();
        furnish(&home, &self.config);
        let pty = Pty::spawn(&home, &[], 100, 30, &env);
        self.homes.lock().unwrap().push(home);
        pty
    }

    pub fn weight(&self, env: &str) -> String {
        std::fs::read_to_string(self.ctl.parent().unwrap().join(env)).unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        let mut c: Command = self.home.command();
        c.args(args).envs(AWS_ENV);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// Every `set` the platform CLI received, in order.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.ctl.parent().unwrap().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The journal's file; for a table, the world home's replica of it,
    /// brought up to date (by `journal verify`, which must hold).
    pub fn journal(&self) -> PathBuf {
        if self.backend == Backend::File {
            return self.home.path().join("data/backstop/journal.sqlite");
        }
        let mut c = self.home.command();
        c.args(["journal", "verify"]).envs(AWS_ENV);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            super::stdout(&out),
            super::stderr(&out)
        );
        self.home
            .path()
            .join(format!("data/backstop/dynamodb-{TABLE}.sqlite"))
    }
}

/// `home`'s configuration and the quick runbook.
fn furnish(home: &Home, config: &str) {
    let cfg = home.config_dir();
    std::fs::create_dir_all(cfg.join("runbooks")).unwrap();
    std::fs::write(cfg.join("runbooks/quick.toml"), QUICK_RUNBOOK).unwrap();
    std::fs::write(cfg.join("backstop.toml"), config).unwrap();
}

/// The `web` service a platform world watches: blue and green on the
/// sandbox, probed every 200 ms, their weights moved by the platform's CLI
/// (`ctl`, a copy of [`CTL`]).
pub fn web_service(blue: &str, green: &str, ctl: &std::path::Path) -> String {
    let ctl = ctl.display();
    format!(
        r#"[services.web.environments.blue]
endpoints = [{{ url = "{blue}/api/health", interval = "200ms", timeout = "150ms" }}]

[services.web.environments.green]
endpoints = [{{ url = "{green}/api/health", interval = "200ms", timeout = "150ms" }}]

[services.web.traffic]
provider = "command"
read = ["{ctl}", "read"]
set = ["{ctl}", "set", "{{env}}", "{{weight}}"]
interval = "500ms"
"#
    )
}
