//! What verify, watch and rollback share: the configuration narrowed to
//! the services asked for, and an engine that has read everything once.

use std::time::Duration;

use crate::config::Config;
use crate::core::decision::{Decision, Mode};
use crate::core::model::Origin;
use crate::core::model::State;
use crate::engine::{Engine, Storage};

/// Keep only `service` (all services when `None`); `Err` names the ones there are.
pub fn only(mut config: Config, service: Option<&str>) -> Result<Config, String> {
    let Some(name) = service else {
        return Ok(config);
    };
    if !config.services.iter().any(|s| s.name == name) {
        let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "{} has no service {name:?}; it has: {}",
            config.file,
            names.join(", ")
        ));
    }
    config.services.retain(|s| s.name == name);
    Ok(config)
}

/// No automatic rollback unless the command was asked for one: a service
/// in `mode = "auto"` is only advised while `verify`, `watch` without
/// `--auto` or `rollback --dry-run` look at it (`off` stays off).
pub fn advise_only(config: &mut Config) {
    for s in &mut config.services {
        if s.policy.mode == Mode::Auto {
            s.policy.mode = Mode::Advise;
        }
    }
}

/// Every environment probed, and the traffic and deployment providers read
/// (or failed), for every service.
pub fn ready(state: &State) -> bool {
    state.services.iter().all(|s| {
        s.envs.iter().all(|e| e.status.is_some())
            && s.traffic
                .as_ref()
                .is_none_or(|t| t.read_at.is_some() || t.error.is_some())
            && s.deploy
                .as_ref()
                .is_none_or(|d| d.read_at.is_some() || d.error.is_some())
    })
}

/// Long enough for every source to answer once: the slowest probe's
/// interval and timeout, twice, and the AWS polls.
pub fn first_read_limit(config: &Config) -> Duration {
    let probes = config
        .services
        .iter()
        .flat_map(|s| &s.environments)
        .flat_map(|e| &e.endpoints)
        .map(|e| e.interval + e.timeout)
        .max()
        .unwrap_or_default();
    (probes * 2).max(Duration::from_secs(10)) + Duration::from_secs(20)
}

/// Run the engine until everything has been read once; false if it timed out.
pub async fn settle(engine: &mut Engine, limit: Duration) -> bool {
    engine.run_until(limit, ready).await
}

/// Why a rollback is wanted, when the decision says so.
pub fn wanted(d: &Decision) -> Option<Vec<String>> {
    match d {
        Decision::RollbackRecommended { reasons, .. } | Decision::Blocked { reasons, .. } => {
            Some(reasons.clone())
        }
        _ => None,
    }
}

/// Why a headless command does not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The engine could not start (its sources, its journal's place).
    #[error("{0:#}")]
    Engine(anyhow::Error),
    /// It started, on a journal it cannot write: nothing would be recorded.
    #[error("the journal {place} cannot be used, so nothing would be recorded: {why}")]
    NoJournal { place: String, why: String },
}

/// The engine a headless command runs on, on the journal it was told to
/// write. The console keeps its panes live on a journal it cannot use (and
/// refuses every change, saying why); a headless command is run for its
/// record, so it does not run without one.
pub fn start(config: &Config, storage: &Storage, what: &str) -> Result<Engine, StartError> {
    let origin = Origin::Config(config.file.clone());
    let engine =
        Engine::start_as(config, origin, None, storage, what).map_err(StartError::Engine)?;
    match &engine.state.journal_down {
        None => Ok(engine),
        Some(why) => Err(StartError::NoJournal {
            place: storage.place().describe(),
            why: why.clone(),
        }),
    }
}
