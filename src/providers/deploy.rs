//! `DeployProvider`: what each environment runs, and putting one back on its
//! previous revision — ECS's previous task definition (reference runbook
//! 000, strategy 1), or the drill sandbox's previous version.

use std::sync::Arc;

use super::BoxFuture;
use crate::core::deploy::{EnvDeploy, Rollout, RolloutPhase};
use crate::sandbox::Sandbox;

/// Why a deployment could not be read or changed. Its text goes to the
/// Deployments pane, the checklist's evidence and the journal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// Another read of the cluster is slow to come back.
    #[error("AWS is slow to answer DescribeServices: try again")]
    Busy,
    /// The service or environment is not there (ECS says MISSING, or the
    /// configuration names no service for the environment).
    #[error("{0}")]
    NotFound(String),
    /// The revisions moved since the preview: nothing was changed.
    #[error("{0}")]
    Moved(String),
    /// Nothing to go back to, or the revision to leave is not known.
    #[error("{0}")]
    Refused(String),
    /// The drill sandbox said no.
    #[error("{0}")]
    Sandbox(String),
}

pub trait DeployProvider: Send + Sync {
    /// `sandbox`, `ecs`.
    fn kind(&self) -> &'static str;

    /// Where the deployments live, for the pane: `cluster prod`.
    fn target(&self) -> String;

    /// Every environment it manages: revision, rollouts, history.
    fn read(&self) -> BoxFuture<'_, Result<Vec<EnvDeploy>, DeployError>>;

    /// Exactly what `revert` would do, changing nothing.
    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, DeployError>>;

    /// What `env` runs now (for checking the real state after a crash).
    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, DeployError>>;

    /// Put `env` from revision `expect` back on `to`, the two the preview
    /// showed; what was done, line by line. Refused, changing nothing, if
    /// `env` no longer runs `expect` or its previous revision is no longer
    /// `to` (someone moved it since the preview); nothing to do if it runs
    /// `to` already (a retry after an answer that never came).
    fn revert<'a>(
        &'a self,
        env: &'a str,
        expect: Option<&'a str>,
        to: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<String>, DeployError>>;
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

    fn target(&self) -> String {
        "drill sandbox".into()
    }

    fn read(&self) -> BoxFuture<'_, Result<Vec<EnvDeploy>, DeployError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for env in self.sandbox.envs_of(&self.service) {
                let (current, previous) = self
                    .sandbox
                    .revisions(&self.service, &env)
                    .map_err(|e| DeployError::Sandbox(e.to_string()))?;
                let v = |s: &str| format!("v{}", s.trim_start_matches('v'));
                // The sandbox switches versions at once: one complete rollout.
                out.push(EnvDeploy {
                    name: format!("{}/{env}", self.service),
                    current: v(&current),
                    rollouts: vec![Rollout {
                        id: format!("sandbox-{env}-{current}"),
                        primary: true,
                        status: "PRIMARY".into(),
                        phase: RolloutPhase::Completed,
                        revision: v(&current),
                        running: 1,
                        desired: 1,
                        pending: 0,
                        failed: 0,
                        reason: None,
                        created: None,
                    }],
                    history: previous.iter().map(|p| v(p)).chain([v(&current)]).collect(),
                    previous: previous.map(|p| v(&p)),
                    deployments: Vec::new(),
                    deployments_error: None,
                    env,
                });
            }
            Ok(out)
        })
    }

    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, DeployError>> {
        Box::pin(async move {
            let (current, previous) = self
                .sandbox
                .revisions(&self.service, env)
                .map_err(|e| DeployError::Sandbox(e.to_string()))?;
            let previous = previous.ok_or_else(|| {
                DeployError::Refused(format!(
                    "{}/{env} has no previous version to go back to",
                    self.service
                ))
            })?;
            Ok(vec![
                format!("sandbox {}/{env}: v{current} → v{previous}", self.service),
                "the environment restarts on the previous version (its faults go with the bad release)".into(),
            ])
        })
    }

    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, DeployError>> {
        Box::pin(async move {
            let (current, previous) = self
                .sandbox
                .revisions(&self.service, env)
                .map_err(|e| DeployError::Sandbox(e.to_string()))?;
            Ok(match previous {
                Some(p) => format!("{}/{env} runs v{current} (previous v{p})", self.service),
                None => format!("{}/{env} runs v{current}", self.service),
            })
        })
    }

    fn revert<'a>(
        &'a self,
        env: &'a str,
        expect: Option<&'a str>,
        to: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<String>, DeployError>> {
        Box::pin(async move {
            let (current, previous) = self
                .sandbox
                .revisions(&self.service, env)
                .map_err(|e| DeployError::Sandbox(e.to_string()))?;
            let bare = |s: &str| s.trim_start_matches('v').to_string();
            if let Some(t) = to
                && bare(t) == bare(&current)
            {
                return Ok(vec![format!(
                    "{}/{env} runs {t} already: nothing to do",
                    self.service
                )]);
            }
            if let (Some(t), Some(p)) = (to, &previous)
                && bare(t) != bare(p)
            {
                return Err(DeployError::Moved(format!(
                    "{}/{env}'s previous version is v{p} now, not {t} as previewed: nothing changed; look again",
                    self.service
                )));
            }
            if let Some(e) = expect
                && bare(e) != bare(&current)
            {
                return Err(DeployError::Moved(format!(
                    "{}/{env} runs v{current} now, not {e} as previewed: nothing changed; look again",
                    self.service
                )));
            }
            let (from, to) = self
                .sandbox
                .revert(&self.service, env)
                .map_err(|e| DeployError::Sandbox(e.to_string()))?;
            Ok(vec![format!(
                "{}/{env} reverted: v{from} → v{to}",
                self.service
            )])
        })
    }
}
