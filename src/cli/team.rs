//! Team drills on one machine: `backstop drill --team` runs the sandbox and
//! drives; teammates `backstop drill --join` it to follow the checklist step
//! by step and approve its changes (`--approvals 2`), so a team rehearses
//! the two-person rule, not only the switch.
//!
//! The host leaves two files beside the drills' journal while it runs: a
//! configuration that watches its sandbox (its health endpoints, its
//! approvals) and who hosts it, with the drill's speed and its desk (the
//! team channel and status page nothing real hears: `sandbox::desk`). A
//! joiner loads that configuration, shares the journal, drives nothing,
//! and may take an incident role: the communications lead's updates go to
//! the desk from the joiner's own console.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::*;

/// Who hosts the team drill.
#[derive(Serialize, Deserialize)]
struct Host {
    pid: u32,
    operator: String,
    /// The configuration a joiner watches the sandbox with.
    config: PathBuf,
    /// The drill's speed: the update cadence runs in its time.
    #[serde(default = "one")]
    speed: f64,
    /// The desk's URL: where the team's messages and status page go.
    #[serde(default)]
    desk: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn host_file(storage: &Storage) -> PathBuf {
    storage.journal.with_file_name("team-drill.json")
}

/// The host's files, removed when the drill ends, and its desk.
pub(super) struct Hosting(Vec<PathBuf>, #[allow(dead_code)] crate::sandbox::desk::Desk);

impl Drop for Hosting {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// How a team drill takes its approvals.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Team {
    /// 2: the two-person rule.
    pub approvals: u8,
    /// From the names people declare (one shared login), not accounts.
    pub self_declared: bool,
}

/// Make `config` (the sandbox's) a team's world and say so beside the
/// journal for joiners. Refused while another team drill runs here.
pub(super) fn host(
    config: &mut Config,
    team: Team,
    speed: f64,
    storage: &Storage,
) -> Result<Hosting, Failure> {
    let Team {
        approvals,
        self_declared,
    } = team;
    let file = host_file(storage);
    alone(storage)?;
    let desk = crate::sandbox::desk::Desk::start()
        .map_err(|e| Failure::Failing(format!("backstop drill: {e:#}")))?;
    desk.serve(config);
    config.shared = true;
    // A room of its own: the leases, guards and rows of earlier team
    // drills on this machine belong to worlds that are gone.
    // (A room's name is letters, digits, spaces, `-`, `_` and `.`.)
    config.room = format!("team drill {}", crate::clock::now().millis());
    for s in &mut config.services {
        s.policy.approvals = approvals;
        s.policy.self_declared_approvers = self_declared;
    }
    let toml_path = storage.journal.with_file_name("team-drill.toml");
    let mut toml = format!(
        "# Written by `backstop drill --team` (pid {}) for `backstop drill --join`; removed when it ends.\ntitle = \"team drill\"\n\n[journal]\nroom = \"{}\"\n",
        std::process::id(),
        config.room
    );
    for s in &config.services {
        for e in &s.environments {
            let _ = writeln!(toml, "\n[services.{}.environments.{}]", s.name, e.name);
            let eps: Vec<String> = e
                .endpoints
                .iter()
                .map(|p| {
                    format!(
                        "{{ url = \"{}\", role = \"{}\", interval = \"{}ms\", timeout = \"{}ms\" }}",
                        p.url,
                        p.role.as_str(),
                        p.interval.as_millis(),
                        p.timeout.as_millis()
                    )
                })
                .collect();
            let _ = writeln!(toml, "endpoints = [{}]", eps.join(", "));
        }
        let _ = writeln!(
            toml,
            "\n[services.{}.rollback]\napprovals = {approvals}\nself_declared_approvers = {self_declared}",
            s.name
        );
    }
    let write = |path: &Path, text: &str| {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, text).map_err(|e| {
            Failure::Failing(format!(
                "backstop drill: cannot write {}: {e}",
                path.display()
            ))
        })
    };
    write(&toml_path, &toml)?;
    let host = Host {
        pid: std::process::id(),
        operator: crate::identity::operator(),
        config: toml_path.clone(),
        speed,
        desk: Some(desk.url().to_string()),
    };
    write(
        &file,
        &serde_json::to_string_pretty(&host).unwrap_or_default(),
    )?;
    Ok(Hosting(vec![file, toml_path], desk))
}

/// One team drill per machine: a second host is refused, naming the first.
pub(super) fn alone(storage: &Storage) -> Result<(), Failure> {
    match running(&host_file(storage)) {
        Some(h) => Err(Failure::Failing(format!(
            "backstop drill: {} already hosts a team drill on this machine (pid {}): `backstop drill --join` joins it",
            h.operator, h.pid
        ))),
        None => Ok(()),
    }
}

/// The team drill hosted on this machine, if its host still runs.
fn running(file: &Path) -> Option<Host> {
    let h: Host = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    Path::new(&format!("/proc/{}", h.pid)).exists().then_some(h)
}

/// `backstop drill --join`: the console on the running team drill, to
/// watch and approve.
pub(super) fn join(paths: &Paths, storage: Storage) -> Done {
    let Some(host) = running(&host_file(&storage)) else {
        return Err(Failure::Failing(
            "backstop drill --join: no team drill runs on this machine (start one with `backstop drill --team`)".into(),
        ));
    };
    let runbooks = load_runbooks(paths)?;
    let mut config = config::load_with(&host.config, &runbooks).map_err(|d| {
        Failure::Failing(format!(
            "backstop drill --join: the team drill's configuration: {d}"
        ))
    })?;
    config.approve_only = true;
    // The host's clock and desk: an update is due when the host's is.
    config.severities = crate::core::severity::scaled(&config.severities, host.speed);
    for s in &mut config.services {
        s.policy = s.policy.scaled(host.speed);
    }
    if let Some(url) = &host.desk {
        crate::sandbox::desk::point(&mut config, url);
    }
    let keymap = load_keymap(paths)?;
    open_console(|| async move {
        app::run_console(
            config,
            Origin::Drill,
            keymap,
            Theme::from_env(),
            None,
            None,
            &storage,
        )
        .await
    })
}
