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
    /// ECS's own deployment objects (service deployments), newest first:
    /// the current one and the last few. Empty where the provider has none
    /// (the sandbox) or before ECS answered for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<ServiceDeployment>,
    /// Why the service deployments could not be read (the rest was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployments_error: Option<String>,
}

/// One ECS service deployment, as `DescribeServiceDeployments` reports it:
/// ECS's own record of moving a service from some revisions to one, with
/// its verdicts (circuit breaker, alarms) and its rollback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDeployment {
    /// The ARN (`StopServiceDeployment` needs it).
    pub arn: String,
    /// ECS's word: `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`,
    /// `STOP_REQUESTED`, `ROLLBACK_REQUESTED`, `ROLLBACK_IN_PROGRESS`,
    /// `ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED`. Kept as text so a status
    /// ECS adds later still shows.
    pub status: String,
    /// ECS's `statusReason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The lifecycle stage (`SCALE_UP`, `BAKE_TIME`, `PRODUCTION_TRAFFIC_SHIFT`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<Breaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<NativeRollback>,
    /// Service revisions moved from (short ids) and their task definitions
    /// where known.
    #[serde(default)]
    pub source: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The task definition of the revision a rollback returns to (`web:6`):
    /// the first source revision's, where ECS said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_task: Option<String>,
    /// Lifecycle hooks that ran or hold the deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Ts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Ts>,
}

/// How ECS moves the tasks: `ROLLING`, `BLUE_GREEN`, `LINEAR`, `CANARY`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strategy {
    pub kind: String,
    /// Canary percent or linear step percent, as ECS wrote it (`10`, `2.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    /// The bake time (blue/green), or the canary's or step's bake time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<u32>,
}

impl Strategy {
    /// `canary 10 % bake 5m`, `rolling`.
    pub fn label(&self) -> String {
        let mut s = self.kind.to_lowercase().replace('_', "/");
        if let Some(p) = &self.percent {
            s.push_str(&format!(" {p} %"));
        }
        if let Some(b) = self.bake_minutes {
            s.push_str(&format!(" bake {b}m"));
        }
        s
    }
}

/// The deployment circuit breaker: failed tasks against the threshold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    /// `DISABLED`, `MONITORING`, `MONITORING_COMPLETE`, `TRIGGERED`.
    pub status: String,
    pub failures: u32,
    pub threshold: u32,
}

/// CloudWatch alarms ECS watches during the deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAlarms {
    pub status: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub triggered: Vec<String>,
}

/// ECS's rollback of this deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeRollback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Ts>,
    /// The service revision it returns to (short id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A lifecycle hook's run: `AWAITING_ACTION` holds the deployment for a
/// decision until it expires.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Ts>,
}

/// What ECS itself concluded about a deployment: evidence for the decision
/// and the why view. ECS acting on its own verdict (a rollback under way)
/// is never fought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// ECS is rolling the deployment back (`ROLLBACK_REQUESTED`,
    /// `ROLLBACK_IN_PROGRESS`): wait for it.
    RollingBack(String),
    /// ECS rolled it back (`ROLLBACK_SUCCESSFUL`).
    RolledBack(String),
    /// ECS tried and failed (`ROLLBACK_FAILED`): the service is stuck.
    RollbackFailed(String),
    /// The circuit breaker or a deployment alarm tripped, and ECS is not
    /// rolling back (rollback not configured).
    Tripped(String),
}

impl Verdict {
    pub fn text(&self) -> &str {
        match self {
            Verdict::RollingBack(t)
            | Verdict::RolledBack(t)
            | Verdict::RollbackFailed(t)
            | Verdict::Tripped(t) => t,
        }
    }

    /// Calls for a rollback (evidence that fires), as an alarm would.
    pub fn fires(&self) -> bool {
        !matches!(self, Verdict::RolledBack(_))
    }
}

impl ServiceDeployment {
    /// The short id: the ARN's last part.
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }

    /// Moving forward: the one a native rollback can stop.
    pub fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "IN_PROGRESS")
    }

    pub fn rolling_back(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS"
        )
    }

    /// Why, in ECS's words, with what tripped.
    fn why(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.rollback.as_ref().and_then(|r| r.reason.as_deref()) {
            parts.push(r.to_string());
        } else if let Some(r) = &self.reason {
            parts.push(r.clone());
        }
        if let Some(b) = self.breaker.as_ref().filter(|b| b.status == "TRIGGERED") {
            parts.push(format!(
                "circuit breaker tripped: {} of {} tasks failed",
                b.failures, b.threshold
            ));
        }
        if let Some(a) = self.alarms.as_ref().filter(|a| !a.triggered.is_empty()) {
            parts.push(format!("alarms {}", a.triggered.join(", ")));
        }
        parts.join("; ")
    }

    /// ECS's own verdict on this deployment, if it reached one.
    pub fn verdict(&self) -> Option<Verdict> {
        let why = self.why();
        let with = |s: &str| {
            if why.is_empty() {
                s.to_string()
            } else {
                format!("{s} ({why})")
            }
        };
        match self.status.as_str() {
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => {
                Some(Verdict::RollingBack(with("ECS is rolling back")))
            }
            "ROLLBACK_SUCCESSFUL" => Some(Verdict::RolledBack(with("ECS rolled back"))),
            // The API reference's own example: a deployment the circuit
            // breaker rolled back ends STOPPED with its rollback recorded.
            "STOPPED" if self.rollback.is_some() => {
                Some(Verdict::RolledBack(with("ECS rolled back")))
            }
            "ROLLBACK_FAILED" => Some(Verdict::RollbackFailed(with("ECS's rollback failed"))),
            _ => {
                let tripped = self
                    .breaker
                    .as_ref()
                    .is_some_and(|b| b.status == "TRIGGERED")
                    || self
                        .alarms
                        .as_ref()
                        .is_some_and(|a| a.status == "TRIGGERED");
                tripped.then(|| Verdict::Tripped(with("ECS deployment verdict: failed")))
            }
        }
    }

    /// `IN_PROGRESS rolling SCALE_UP web:6 → web:7 · breaker 1/3`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} {}", self.status, self.strategy.label());
        if let Some(st) = &self.stage {
            s.push_str(&format!(" {st}"));
        }
        let from = self
            .source_task
            .clone()
            .or_else(|| self.source.first().cloned());
        let to = self.target_task.clone().or_else(|| self.target.clone());
        if from.is_some() || to.is_some() {
            s.push_str(&format!(
                " {} → {}",
                from.as_deref().unwrap_or("?"),
                to.as_deref().unwrap_or("?")
            ));
        }
        if let Some(b) = &self.breaker
            && b.status != "DISABLED"
        {
            s.push_str(&format!(" · breaker {}/{}", b.failures, b.threshold));
        }
        if let Some(a) = self.alarms.as_ref().filter(|a| !a.triggered.is_empty()) {
            s.push_str(&format!(" · alarms {}", a.triggered.join(",")));
        }
        for h in self.hooks.iter().filter(|h| h.status == "AWAITING_ACTION") {
            s.push_str(&format!(" · hook {} awaiting action", h.id));
        }
        if let Some(r) = self.rollback.as_ref().and_then(|r| r.reason.as_deref()) {
            s.push_str(&format!(" · rollback: {r}"));
        } else if let Some(r) = &self.reason
            && !matches!(
                self.status.as_str(),
                "SUCCESSFUL" | "IN_PROGRESS" | "PENDING"
            )
        {
            s.push_str(&format!(" · {r}"));
        }
        s
    }
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
    /// The newest service deployment: the one under way, or the last.
    pub fn current_deployment(&self) -> Option<&ServiceDeployment> {
        self.deployments.first()
    }

    /// The deployment a native rollback would stop: the newest, if it is
    /// still moving forward.
    pub fn in_progress(&self) -> Option<&ServiceDeployment> {
        self.current_deployment().filter(|d| d.in_progress())
    }

    /// ECS's verdict on the newest deployment.
    pub fn verdict(&self) -> Option<Verdict> {
        self.current_deployment()
            .and_then(ServiceDeployment::verdict)
    }

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
        // ECS's own rollback is followed by its own status: it is over
        // when ECS says so, with ECS's reason when it failed.
        if let Some(d) = self.current_deployment() {
            match d.status.as_str() {
                "ROLLBACK_FAILED" => {
                    return Stability::Failed(format!("ECS's rollback failed: {}", d.why()));
                }
                "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => {
                    let p = self.primary();
                    return Stability::Rolling {
                        running: p.map_or(0, |p| p.running),
                        desired: p.map_or(0, |p| p.desired),
                        pending: p.map_or(0, |p| p.pending),
                    };
                }
                "ROLLBACK_SUCCESSFUL" => return Stability::Stable,
                _ => {}
            }
        }
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
            deployments: vec![],
            deployments_error: None,
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

    /// The war room's poller publishes deploy reads as JSON rows that the
    /// other consoles read back: ECS's deployments must survive the trip,
    /// and a reading from an older backstop (without them) must still read.
    #[test]
    fn service_deployments_survive_the_pollers_readings() {
        let mut e = env(
            "web:7",
            vec![rollout(true, "web:7", RolloutPhase::InProgress, 1)],
        );
        e.deployments = vec![ServiceDeployment {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/abc".into(),
            status: "ROLLBACK_IN_PROGRESS".into(),
            strategy: Strategy {
                kind: "CANARY".into(),
                percent: Some("10".into()),
                bake_minutes: Some(5),
            },
            breaker: Some(Breaker {
                status: "TRIGGERED".into(),
                failures: 3,
                threshold: 3,
            }),
            ..ServiceDeployment::default()
        }];
        let text = serde_json::to_string(&e).unwrap();
        let back: EnvDeploy = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert!(matches!(back.verdict(), Some(Verdict::RollingBack(_))));
        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        old.as_object_mut().unwrap().remove("deployments");
        let back: EnvDeploy = serde_json::from_value(old).unwrap();
        assert!(back.deployments.is_empty());
    }
}
