//! `DeployProvider`: put an environment back on its previous revision — ECS's
//! previous task definition (reference runbook 000, strategy 1), or the drill
//! sandbox's previous version.

use std::sync::Arc;

use super::BoxFuture;
use crate::sandbox::Sandbox;

pub trait DeployProvider: Send + Sync {
    /// `sandbox`, `ecs`.
    fn kind(&self) -> &'static str;

    /// Exactly what `revert` would do, changing nothing.
    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>>;

    /// What `env` runs now (for checking the real state after a crash).
    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, String>>;

    /// Put `env` on its previous revision; what was done, line by line.
    fn revert<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>>;
}

/// The drill sandbox's environments, each with a short history of versions.
pub struct SandboxDeploy {
    pub sandbox: Arc<Sandbox>,
    pub service: String,
}

impl DeployProvider for SandboxDeploy {
    fn kind(&self) -> &'static str {
        "sandbox"
    }

    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let (current, previous) = self
                .sandbox
                .revisions(&self.service, env)
                .map_err(|e| e.to_string())?;
            let previous = previous.ok_or_else(|| {
                format!(
                    "{}/{env} has no previous version to go back to",
                    self.service
                )
            })?;
            Ok(vec![
                format!("sandbox {}/{env}: v{current} → v{previous}", self.service),
                "the environment restarts on the previous version (its faults go with the bad release)".into(),
            ])
        })
    }

    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let (current, previous) = self
                .sandbox
                .revisions(&self.service, env)
                .map_err(|e| e.to_string())?;
            Ok(match previous {
                Some(p) => format!("{}/{env} runs v{current} (previous v{p})", self.service),
                None => format!("{}/{env} runs v{current}", self.service),
            })
        })
    }

    fn revert<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let (from, to) = self
                .sandbox
                .revert(&self.service, env)
                .map_err(|e| e.to_string())?;
            Ok(vec![format!(
                "{}/{env} reverted: v{from} → v{to}",
                self.service
            )])
        })
    }
}
