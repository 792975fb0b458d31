//! ECS as a deploy provider (reference runbook 000, strategy 1): each
//! environment is an ECS service; a revert points it at the previous
//! revision of its task definition family with `UpdateService`, and ECS
//! rolls the tasks over. What is read: `DescribeServices` (the revision the
//! service points at, its deployments with counts and rollout states) and
//! the family's revisions from `ListTaskDefinitions`.
//!
//! Nothing here depends on the order AWS lists things in, or on
//! `UpdateService` creating a new deployment at once: revisions are sorted
//! by number, and names and ARNs are both accepted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, TaskDefinitionStatus};
use tokio::sync::OnceCell;

use super::BoxFuture;
use super::deploy::{DeployError, DeployProvider};
use crate::aws::{Aws, describe};
use crate::config::aws::EcsConfig;
use crate::core::deploy::{EnvDeploy, Rollout, RolloutPhase, short_revision};
use crate::core::time::Ts;

/// Revisions of a family change rarely: read them again after this, or
/// when the service points at one not seen yet.
const HISTORY_TTL: Duration = Duration::from_secs(60);

/// One cluster's services, described together: every service of the
/// cluster that any backstop service watches, ten a call, once per polling
/// round however many backstop services ask (fifty services cost five calls
/// a round, not fifty).
pub struct EcsCluster {
    aws: Arc<Aws>,
    cluster: String,
    names: Vec<String>,
    /// How old a shared answer may be and still serve a read.
    fresh: Duration,
    client: OnceCell<aws_sdk_ecs::Client>,
    /// The last answer (or error), shared for `fresh`: one outage costs one
    /// call a round, not one per service.
    last: tokio::sync::Mutex<Option<(Instant, Described)>>,
    /// Family → its revision numbers (sorted) and when they were read.
    history: Mutex<HashMap<String, (Vec<u32>, Instant)>>,
}

impl EcsCluster {
    pub fn new(aws: Arc<Aws>, cluster: &str, mut names: Vec<String>, fresh: Duration) -> Arc<Self> {
        names.sort_unstable();
        names.dedup();
        Arc::new(EcsCluster {
            aws,
            cluster: cluster.to_string(),
            names,
            fresh,
            client: OnceCell::new(),
            last: tokio::sync::Mutex::new(None),
            history: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> Result<&aws_sdk_ecs::Client, DeployError> {
        let conf = self.aws.config().await?;
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_ecs::Client::new(conf) })
            .await)
    }

    /// Every watched service, from a fresh shared answer or a new one.
    /// Readers arriving while a call is out wait for it instead of calling;
    /// a change (`fresh`) reads anew, and does not wait behind slow polls
    /// for long.
    async fn services(&self, fresh: bool) -> Result<Described, DeployError> {
        let mut last = if fresh {
            tokio::time::timeout(Duration::from_secs(30), self.last.lock())
                .await
                .map_err(|_| DeployError::Busy)?
        } else {
            self.last.lock().await
        };
        if !fresh
            && let Some((at, d)) = last.as_ref()
            && at.elapsed() < self.fresh
        {
            return Ok(d.clone());
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let d = self.describe(&names).await;
        *last = Some((Instant::now(), d.clone()));
        Ok(d)
    }

    /// The services in one call per ten; a service ECS does not know is a
    /// failure of that service alone, and an error of the call of all.
    async fn describe(&self, names: &[&str]) -> Described {
        let mut out = Described::default();
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        for chunk in names.chunks(10) {
            let resp = match client
                .describe_services()
                .cluster(&self.cluster)
                .set_services(Some(chunk.iter().map(|s| s.to_string()).collect()))
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(describe("DescribeServices", &e).into());
                    return out;
                }
            };
            for f in resp.failures() {
                let name = f.arn().map(short_name).unwrap_or("?").to_string();
                out.failures.insert(
                    name.clone(),
                    format!(
                        "ECS service {name} in cluster {}: {}",
                        self.cluster,
                        f.reason().unwrap_or("not found")
                    ),
                );
            }
            for s in resp.services() {
                // Configured by name or by ARN: both find it.
                for key in [s.service_name(), s.service_arn()].into_iter().flatten() {
                    out.services.insert(key.to_string(), s.clone());
                }
            }
        }
        out
    }

    /// The family's revision numbers, oldest first.
    async fn revisions(&self, family: &str, current: u32) -> Result<Vec<u32>, DeployError> {
        if let Some((revs, at)) = self
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(family)
            && at.elapsed() < HISTORY_TTL
            && revs.contains(&current)
        {
            return Ok(revs.clone());
        }
        let client = self.client().await?;
        let mut revs = Vec::new();
        let mut token = None;
        // Newest first: the current revision and the one before it are on
        // the first pages, however long the family's history.
        for _ in 0..5 {
            let resp = client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .sort(aws_sdk_ecs::types::SortOrder::Desc)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| describe("ListTaskDefinitions", &e))?;
            for arn in resp.task_definition_arns() {
                // A prefix matches `web-worker` too: keep the family itself.
                if let Some((f, r)) = split_revision(&short_revision(arn))
                    && f == family
                {
                    revs.push(r);
                }
            }
            token = resp.next_token().map(str::to_string);
            let found = revs.contains(&current) && revs.iter().any(|r| *r < current);
            if token.is_none() || found {
                break;
            }
        }
        revs.sort_unstable();
        revs.dedup();
        self.history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(family.to_string(), (revs.clone(), Instant::now()));
        Ok(revs)
    }
}

/// One shared DescribeServices answer.
#[derive(Clone, Debug, Default)]
struct Described {
    /// By name and by ARN.
    services: HashMap<String, Service>,
    /// Services ECS reported as missing, by name.
    failures: HashMap<String, String>,
    /// The call itself failed.
    error: Option<DeployError>,
}

impl Described {
    fn get(&self, name: &str, cluster: &str) -> Result<&Service, DeployError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if let Some(s) = self.services.get(name) {
            return Ok(s);
        }
        Err(DeployError::NotFound(
            self.failures
                .get(short_name(name))
                .cloned()
                .unwrap_or_else(|| format!("ECS service {name} not found in cluster {cluster}")),
        ))
    }
}

/// A backstop service's environments on ECS.
pub struct EcsDeploy {
    shared: Arc<EcsCluster>,
    cfg: EcsConfig,
}

impl EcsDeploy {
    /// On its own (a cluster of one): for one-shot reads.
    pub fn new(aws: Arc<Aws>, cfg: EcsConfig) -> Self {
        let names = cfg.services.iter().map(|(_, s)| s.clone()).collect();
        let shared = EcsCluster::new(aws, &cfg.cluster, names, Duration::from_secs(1));
        EcsDeploy { shared, cfg }
    }

    /// Sharing its cluster's reads with the other services on it.
    pub fn shared(shared: Arc<EcsCluster>, cfg: EcsConfig) -> Self {
        EcsDeploy { shared, cfg }
    }

    fn service_of(&self, env: &str) -> Result<&str, DeployError> {
        self.cfg
            .services
            .iter()
            .find(|(e, _)| e == env)
            .map(|(_, s)| s.as_str())
            .ok_or_else(|| {
                DeployError::NotFound(format!(
                    "environment {env} has no ECS service in the configuration"
                ))
            })
    }

    async fn env_deploy(&self, env: &str, svc: &Service) -> Result<EnvDeploy, DeployError> {
        let current = short_revision(svc.task_definition().unwrap_or_default());
        let (previous, history) = match split_revision(&current) {
            Some((family, rev)) => {
                let revs = self.shared.revisions(family, rev).await?;
                let previous = revs
                    .iter()
                    .rev()
                    .find(|r| **r < rev)
                    .map(|r| format!("{family}:{r}"));
                let history = revs
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .map(|r| format!("{family}:{r}"))
                    .collect();
                (previous, history)
            }
            None => (None, vec![current.clone()]),
        };
        Ok(EnvDeploy {
            env: env.to_string(),
            name: svc.service_name().unwrap_or_default().to_string(),
            current,
            rollouts: svc.deployments().iter().map(rollout).collect(),
            previous,
            history,
        })
    }

    /// One environment, read now (previews and changes never use an old answer).
    async fn one(&self, env: &str) -> Result<EnvDeploy, DeployError> {
        let name = self.service_of(env)?;
        let services = self.shared.services(true).await?;
        let svc = services.get(name, &self.cfg.cluster)?;
        self.env_deploy(env, svc).await
    }
}

/// `web`, 2 from `web:2`.
fn split_revision(r: &str) -> Option<(&str, u32)> {
    let (family, rev) = r.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

/// `web` from `arn:aws:ecs:…:service/prod/web`.
fn short_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn ts(d: &aws_sdk_ecs::primitives::DateTime) -> Ts {
    Ts(d.secs() * 1000 + i64::from(d.subsec_nanos() / 1_000_000))
}

/// One ECS deployment as core sees it.
pub fn rollout(d: &Deployment) -> Rollout {
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    Rollout {
        id: d.id().unwrap_or_default().to_string(),
        primary: d.status() == Some("PRIMARY"),
        status: d.status().unwrap_or("?").to_string(),
        phase: match d.rollout_state() {
            Some(DeploymentRolloutState::Completed) => RolloutPhase::Completed,
            Some(DeploymentRolloutState::Failed) => RolloutPhase::Failed,
            Some(DeploymentRolloutState::InProgress) => RolloutPhase::InProgress,
            _ => RolloutPhase::Unknown,
        },
        revision: short_revision(d.task_definition().unwrap_or_default()),
        running: count(d.running_count()),
        desired: count(d.desired_count()),
        pending: count(d.pending_count()),
        failed: count(d.failed_tasks()),
        reason: d
            .rollout_state_reason()
            .filter(|_| d.rollout_state() == Some(&DeploymentRolloutState::Failed))
            .map(str::to_string),
        created: d.created_at().map(ts),
    }
}

impl DeployProvider for EcsDeploy {
    fn kind(&self) -> &'static str {
        "ecs"
    }

    fn target(&self) -> String {
        format!(
            "cluster {} ({})",
            self.cfg.cluster,
            self.shared.aws.describe()
        )
    }

    fn read(&self) -> BoxFuture<'_, Result<Vec<EnvDeploy>, DeployError>> {
        Box::pin(async move {
            let services = self.shared.services(false).await?;
            let mut out = Vec::new();
            for (env, name) in &self.cfg.services {
                let svc = services.get(name, &self.cfg.cluster)?;
                out.push(self.env_deploy(env, svc).await?);
            }
            Ok(out)
        })
    }

    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, DeployError>> {
        Box::pin(async move {
            let d = self.one(env).await?;
            let Some(prev) = &d.previous else {
                return Err(DeployError::Refused(format!(
                    "{} is the oldest active revision of its family: there is nothing to revert to",
                    d.current
                )));
            };
            Ok(vec![
                format!(
                    "ECS service {} (cluster {}): task definition {} → {prev}",
                    d.name, self.cfg.cluster, d.current
                ),
                format!(
                    "UpdateService cluster={} service={} taskDefinition={prev}",
                    self.cfg.cluster, d.name
                ),
                format!(
                    "ECS starts a deployment of {prev} and drains {} (wait-stable follows it)",
                    d.current
                ),
                format!("now: {}", d.summary()),
            ])
        })
    }

    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, DeployError>> {
        Box::pin(async move {
            let d = self.one(env).await?;
            Ok(format!(
                "ECS service {} points at {} ({})",
                d.name,
                d.current,
                d.summary()
            ))
        })
    }

    fn revert<'a>(
        &'a self,
        env: &'a str,
        expect: Option<&'a str>,
        to: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<String>, DeployError>> {
        Box::pin(async move {
            let d = self.one(env).await?;
            if let Some(t) = to
                && t == d.current
            {
                return Ok(vec![format!(
                    "ECS service {} points at {t} already: nothing to do",
                    d.name
                )]);
            }
            let Some(e) = expect else {
                return Err(DeployError::Refused(
                    "the revision to revert from is not known: look again".into(),
                ));
            };
            if e != d.current {
                return Err(DeployError::Moved(format!(
                    "ECS service {} points at {} now, not {e} as previewed: nothing changed; look again",
                    d.name, d.current
                )));
            }
            let Some(prev) = d.previous.clone() else {
                return Err(DeployError::Refused(format!(
                    "{} has no earlier active revision to go back to",
                    d.current
                )));
            };
            if let Some(t) = to
                && t != prev
            {
                return Err(DeployError::Moved(format!(
                    "the revision before {} is {prev} now, not {t} as previewed: nothing changed; look again",
                    d.current
                )));
            }
            let resp = self
                .shared
                .client()
                .await?
                .update_service()
                .cluster(&self.cfg.cluster)
                .service(&d.name)
                .task_definition(&prev)
                .send()
                .await
                .map_err(|e| describe("UpdateService", &e))?;
            let now = resp
                .service()
                .and_then(|s| s.task_definition())
                .map_or_else(|| prev.clone(), short_revision);
            Ok(vec![format!(
                "UpdateService accepted: ECS service {} now points at {now} (was {})",
                d.name, d.current
            )])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::deploy::Stability;
    use aws_sdk_ecs::primitives::DateTime;

    /// Shaped like real DescribeServices answers during a revert (an
    /// emulator cannot produce these: it keeps a single deployment).
    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        state: DeploymentRolloutState,
        running: i32,
    ) -> Deployment {
        Deployment::builder()
            .id(id)
            .status(status)
            .task_definition(format!(
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/{td}"
            ))
            .desired_count(2)
            .running_count(running)
            .pending_count(2 - running)
            .failed_tasks(0)
            .rollout_state(state.clone())
            .rollout_state_reason(match state {
                DeploymentRolloutState::Failed => {
                    "ECS deployment circuit breaker: tasks failed to start."
                }
                _ => "ECS deployment in progress.",
            })
            .created_at(DateTime::from_secs(1_795_269_600))
            .build()
    }

    fn env(current: &str, deployments: Vec<Deployment>) -> EnvDeploy {
        EnvDeploy {
            env: "prod".into(),
            name: "web".into(),
            current: current.into(),
            rollouts: deployments.iter().map(rollout).collect(),
            previous: None,
            history: vec![],
        }
    }

    #[test]
    fn real_aws_rollouts_read_as_rolling_then_stable_or_failed() {
        use DeploymentRolloutState::*;
        let rolling = env(
            "web:1",
            vec![
                deployment("ecs-svc/2", "PRIMARY", "web:1", InProgress, 1),
                deployment("ecs-svc/1", "ACTIVE", "web:2", Completed, 1),
            ],
        );
        assert_eq!(rolling.rollouts[0].revision, "web:1");
        assert_eq!(rolling.rollouts[0].created, Some(Ts(1_795_269_600_000)));
        assert!(matches!(
            rolling.stability(),
            Stability::Rolling {
                running: 1,
                desired: 2,
                ..
            }
        ));
        let done = env(
            "web:1",
            vec![deployment("ecs-svc/2", "PRIMARY", "web:1", Completed, 2)],
        );
        assert_eq!(done.stability(), Stability::Stable);
        let failed = env(
            "web:1",
            vec![deployment("ecs-svc/2", "PRIMARY", "web:1", Failed, 0)],
        );
        assert_eq!(
            failed.stability(),
            Stability::Failed("ECS deployment circuit breaker: tasks failed to start.".into())
        );
    }

    #[test]
    fn revisions_split_and_names_shorten() {
        assert_eq!(split_revision("web:12"), Some(("web", 12)));
        assert_eq!(split_revision("web"), None);
        assert_eq!(
            short_name("arn:aws:ecs:eu-west-1:123456789012:service/prod/web"),
            "web"
        );
    }
}
