//! Deployments as a deploy provider reports them: which revision each
//! environment's service points at, its rollouts (ECS deployments: PRIMARY
//! and the ACTIVE ones it replaces) with their counts, and the revisions
//! before it. Whether a rollout is stable is decided here, from the report
//! alone, so the same rule serves ECS and the drill sandbox.

use serde::{Deserialize, Serialize};

use super::time::Ts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutPhase {
    InProgress,
    Completed,
    Failed,
    /// The provider does not say (ECS without the deployment circuit breaker).
    Unknown,
}

impl RolloutPhase {
    pub fn word(self) -> &'static str {
        match self {
            RolloutPhase::InProgress => "IN_PROGRESS",
            RolloutPhase::Completed => "COMPLETED",
            RolloutPhase::Failed => "FAILED",
            RolloutPhase::Unknown => "—",
        }
    }
}

/// One rollout of one service: an ECS deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: String,
    /// The newest one, the one the service is moving to.
    pub primary: bool,
    /// `PRIMARY`, `ACTIVE`, `INACTIVE`.
    pub status: String,
    pub phase: RolloutPhase,
    /// `family:revision` (`web:2`) or a version.
    pub revision: String,
    pub running: u32,
    pub desired: u32,
    pub pending: u32,
    pub failed: u32,
    pub reason: Option<String>,
    pub created: Option<Ts>,
}

/// One environment's deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvDeploy {
    /// The environment, as named in the configuration.
    pub env: String,
    /// The provider's name for it: the ECS service.
    pub name: String,
    /// The revision the service points at.
    pub current: String,
    pub rollouts: Vec<Rollout>,
    /// The revision a revert goes back to.
    pub previous: Option<String>,
    /// Recent revisions of the family, oldest first.
    pub history: Vec<String>,
}

/// Where an environment's rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stability {
    /// One rollout, on the revision the service points at, complete.
    Stable,
    Rolling {
        running: u32,
        desired: u32,
        pending: u32,
    },
    Failed(String),
}

impl EnvDeploy {
    pub fn primary(&self) -> Option<&Rollout> {
        self.rollouts
            .iter()
            .find(|r| r.primary)
            .or(self.rollouts.first())
    }

    /// Stable only when the old rollouts are drained and the new one is
    /// complete on the revision the service points at: a service pointed
    /// at `web:1` whose only deployment still runs `web:2` is not stable
    /// (the rollout has not started yet).
    pub fn stability(&self) -> Stability {
        let Some(p) = self.primary() else {
            return Stability::Rolling {
                running: 0,
                desired: 0,
                pending: 0,
            };
        };
        if p.phase == RolloutPhase::Failed {
            return Stability::Failed(
                p.reason
                    .clone()
                    .unwrap_or_else(|| format!("the rollout of {} failed", p.revision)),
            );
        }
        let complete = match p.phase {
            RolloutPhase::Completed => true,
            RolloutPhase::Unknown => p.running == p.desired && p.pending == 0,
            _ => false,
        };
        if complete && self.rollouts.len() == 1 && p.revision == self.current {
            Stability::Stable
        } else {
            Stability::Rolling {
                running: p.running,
                desired: p.desired,
                pending: p.pending,
            }
        }
    }

    /// `web:2 PRIMARY COMPLETED 2/2 · web:1 ACTIVE 1/2`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .rollouts
            .iter()
            .map(|r| {
                let pending = if r.pending > 0 {
                    format!(" ({} pending)", r.pending)
                } else {
                    String::new()
                };
                format!(
                    "{} {} {} {}/{}{pending}",
                    r.revision,
                    r.status,
                    r.phase.word(),
                    r.running,
                    r.desired
                )
            })
            .collect();
        if parts.is_empty() {
            format!("{} (no deployment reported)", self.current)
        } else {
            parts.join(" · ")
        }
    }
}

/// A service's deploy provider and what it last reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployState {
    /// `ecs`, `sandbox`.
    pub provider: String,
    /// `cluster prod`.
    pub target: String,
    pub envs: Vec<EnvDeploy>,
    pub read_at: Option<Ts>,
    /// The last read's error, and since when reads fail.
    pub error: Option<(String, Ts)>,
}

impl DeployState {
    pub fn new(provider: impl Into<String>, target: impl Into<String>) -> Self {
        DeployState {
            provider: provider.into(),
            target: target.into(),
            envs: Vec::new(),
            read_at: None,
            error: None,
        }
    }

    pub fn env(&self, name: &str) -> Option<&EnvDeploy> {
        self.envs.iter().find(|e| e.env == name)
    }
}

/// `web:2` from `arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2`
/// (and `web:2` unchanged): ECS answers either form.
pub fn short_revision(arn_or_name: &str) -> String {
    arn_or_name
        .rsplit_once("task-definition/")
        .map_or(arn_or_name, |(_, r)| r)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(primary: bool, revision: &str, phase: RolloutPhase, running: u32) -> Rollout {
        Rollout {
            id: format!("ecs-svc/{revision}"),
            primary,
            status: if primary { "PRIMARY" } else { "ACTIVE" }.into(),
            phase,
            revision: revision.into(),
            running,
            desired: 2,
            pending: 2 - running,
            failed: 0,
            reason: None,
            created: None,
        }
    }

    fn env(current: &str, rollouts: Vec<Rollout>) -> EnvDeploy {
        EnvDeploy {
            env: "prod".into(),
            name: "web".into(),
            current: current.into(),
            rollouts,
            previous: Some("web:1".into()),
            history: vec!["web:1".into(), "web:2".into()],
        }
    }

    #[test]
    fn a_revert_is_stable_only_once_the_new_rollout_has_replaced_the_old() {
        use RolloutPhase::*;
        // Just after UpdateService: pointed at web:1, the old deployment still there.
        let before = env("web:1", vec![rollout(true, "web:2", Completed, 2)]);
        assert!(matches!(before.stability(), Stability::Rolling { .. }));
        let rolling = env(
            "web:1",
            vec![
                rollout(true, "web:1", InProgress, 1),
                rollout(false, "web:2", Completed, 1),
            ],
        );
        assert_eq!(
            rolling.stability(),
            Stability::Rolling {
                running: 1,
                desired: 2,
                pending: 1
            }
        );
        assert_eq!(
            rolling.summary(),
            "web:1 PRIMARY IN_PROGRESS 1/2 (1 pending) · web:2 ACTIVE COMPLETED 1/2 (1 pending)"
        );
        let done = env("web:1", vec![rollout(true, "web:1", Completed, 2)]);
        assert_eq!(done.stability(), Stability::Stable);
        let mut failed = env("web:1", vec![rollout(true, "web:1", Failed, 0)]);
        failed.rollouts[0].reason = Some("tasks failed to start".into());
        assert_eq!(
            failed.stability(),
            Stability::Failed("tasks failed to start".into())
        );
        // Without rollout states: counts decide.
        assert_eq!(
            env("web:1", vec![rollout(true, "web:1", Unknown, 2)]).stability(),
            Stability::Stable
        );
    }

    #[test]
    fn revisions_are_shortened_from_arns() {
        assert_eq!(
            short_revision("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2"),
            "web:2"
        );
        assert_eq!(short_revision("web:1"), "web:1");
    }
}
