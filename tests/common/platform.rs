//! A world for the headless and war-room tests: the sandbox's services
//! (real HTTP on loopback) as web's blue and green, and a traffic provider
//! that is a real program storing the weights in files.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use backstop::sandbox::{Options, Sandbox, default_world};

use super::{Home, QUICK_RUNBOOK};

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
}

impl World {
    pub async fn start() -> World {
        Self::start_with("", "").await
    }

    /// As `start`, with `top` added to the file's top level
    /// (`lease_expiry = "3s"`) and `rollback` to `[services.web.rollback]`
    /// (`approvals = 2`…).
    pub async fn start_with(top: &str, rollback: &str) -> World {
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
        let cfg = home.config_dir();
        std::fs::create_dir_all(cfg.join("runbooks")).unwrap();
        std::fs::write(cfg.join("runbooks/quick.toml"), QUICK_RUNBOOK).unwrap();
        let (blue, green) = (
            sandbox.base_url("web", "blue").unwrap(),
            sandbox.base_url("web", "green").unwrap(),
        );
        let ctl_s = ctl.display();
        std::fs::write(
            cfg.join("backstop.toml"),
            format!(
                r#"title = "headless test"
{top}

[services.web.environments.blue]
endpoints = [{{ url = "{blue}/api/health", interval = "200ms", timeout = "150ms" }}]

[services.web.environments.green]
endpoints = [{{ url = "{green}/api/health", interval = "200ms", timeout = "150ms" }}]

[services.web.traffic]
provider = "command"
read = ["{ctl_s}", "read"]
set = ["{ctl_s}", "set", "{{env}}", "{{weight}}"]
interval = "500ms"

[services.web.rollback]
runbook = "quick"
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
            ),
        )
        .unwrap();
        World { home, sandbox, ctl }
    }

    pub fn weight(&self, env: &str) -> String {
        std::fs::read_to_string(self.ctl.parent().unwrap().join(env)).unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        let mut c: Command = self.home.command();
        c.args(args);
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

    pub fn journal(&self) -> PathBuf {
        self.home.path().join("data/backstop/journal.sqlite")
    }
}
