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

use aws_sdk_ecs::types::{
    Deployment, DeploymentRolloutState, Service, StopServiceDeploymentStopType,
    TaskDefinitionStatus,
};
use tokio::sync::OnceCell;

use super::BoxFuture;
use super::deploy::{DeployError, DeployProvider};
use crate::aws::{Aws, describe};
use crate::config::aws::{EcsConfig, RevertKind};
use crate::core::deploy::{
    Breaker, DeploymentAlarms, EnvDeploy, Hook, NativeRollback, Rollout, RolloutPhase,
    ServiceDeployment, Strategy, short_revision,
};
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
    /// Held across a read of the revisions, so that when a family's entry
    /// expires the services on it wait for one `ListTaskDefinitions`
    /// instead of each making its own (fifty services, fifty calls).
    history: tokio::sync::Mutex<HashMap<String, (Vec<u32>, Instant)>>,
    /// ECS's service deployments, kept between rounds so the polling
    /// budget stays flat (see `deployments`).
    known: tokio::sync::Mutex<Known>,
}

/// What is known of the clusters' service deployments. A deployment that
/// reached a final status never changes again, nor does a service
/// revision: both are read once. Only deployments still moving are
/// described again, twenty a call, and a service's list of deployments is
/// read again only when its current deployment changes.
#[derive(Default)]
struct Known {
    /// Service name → (its current deployment's ARN, its newest deployments' ARNs).
    lists: HashMap<String, (String, Vec<String>)>,
    /// ARN → the deployment as last described.
    deployments: HashMap<String, ServiceDeployment>,
    /// Service revision ARN → its task definition (`web:6`).
    revisions: HashMap<String, String>,
    /// The last failure of these reads, if the last round failed.
    error: Option<String>,
    /// Services whose list could not be read, until their next deployment.
    list_errors: HashMap<String, String>,
}

/// How many of a service's deployments are shown: the current and the last few.
const DEPLOYMENTS_SHOWN: usize = 5;

/// Statuses after which ECS never changes a deployment again.
fn is_final(status: &str) -> bool {
    matches!(
        status,
        "SUCCESSFUL" | "STOPPED" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED"
    )
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
            history: tokio::sync::Mutex::new(HashMap::new()),
            known: tokio::sync::Mutex::new(Known::default()),
        })
    }

    /// With a client made elsewhere: the SDK's recorded responses in tests.
    #[cfg(test)]
    pub fn with_client(
        client: aws_sdk_ecs::Client,
        cluster: &str,
        names: Vec<String>,
    ) -> Arc<Self> {
        let me = Self::new(
            crate::aws::Aws::new(crate::config::aws::AwsSettings::default()),
            cluster,
            names,
            Duration::from_millis(0),
        );
        let _ = me.client.set(client);
        me
    }

    async fn client(&self) -> Result<&aws_sdk_ecs::Client, DeployError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
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
        self.deployments(client, &mut out).await;
        out
    }

    /// ECS's service deployments of every described service, within the
    /// polling budget: nothing at all while no service has a current
    /// deployment that is still moving or new, one
    /// `DescribeServiceDeployments` per twenty moving ones a round, one
    /// `ListServiceDeployments` per service whose current deployment
    /// changed, and one `DescribeServiceRevisions` per twenty revisions
    /// never seen. A failure here (an IAM policy without these actions, an
    /// emulator without them) leaves the rest of the read intact and is
    /// said beside the deployments.
    async fn deployments(&self, client: &aws_sdk_ecs::Client, out: &mut Described) {
        let mut known = self.known.lock().await;
        let mut current: Vec<(String, String, String)> = Vec::new();
        for (key, s) in &out.services {
            // Each service is in the map under its name and its ARN: once.
            if s.service_name() != Some(key.as_str()) {
                continue;
            }
            if let (Some(arn), Some(svc_arn)) = (s.current_service_deployment(), s.service_arn()) {
                current.push((key.clone(), svc_arn.to_string(), arn.to_string()));
            }
        }
        current.sort();
        let mut error = None;
        // Lists first, for services whose current deployment is new.
        for (name, svc_arn, arn) in &current {
            if known.lists.get(name).is_some_and(|(c, _)| c == arn) {
                continue;
            }
            match client
                .list_service_deployments()
                .cluster(&self.cluster)
                .service(svc_arn)
                .max_results(i32::try_from(DEPLOYMENTS_SHOWN).unwrap_or(5))
                .send()
                .await
            {
                Ok(r) => {
                    let mut arns: Vec<String> = r
                        .service_deployments()
                        .iter()
                        .filter_map(|b| b.service_deployment_arn().map(str::to_string))
                        .collect();
                    if !arns.contains(arn) {
                        arns.insert(0, arn.clone());
                    }
                    arns.truncate(DEPLOYMENTS_SHOWN);
                    known.lists.insert(name.clone(), (arn.clone(), arns));
                    known.list_errors.remove(name);
                }
                Err(e) => {
                    // The current one alone, until its next deployment: a
                    // policy without this action must not cost a call per
                    // service every round. The error stays said till then.
                    let why = describe("ListServiceDeployments", &e).to_string();
                    known.list_errors.insert(name.clone(), why);
                    known
                        .lists
                        .insert(name.clone(), (arn.clone(), vec![arn.clone()]));
                    continue;
                }
            }
        }
        // Describe what is not final yet.
        let mut wanted: Vec<String> = Vec::new();
        for (name, _, _) in &current {
            if let Some((_, arns)) = known.lists.get(name) {
                for a in arns {
                    let done = known
                        .deployments
                        .get(a)
                        .is_some_and(|d| is_final(&d.status));
                    if !done && !wanted.contains(a) {
                        wanted.push(a.clone());
                    }
                }
            }
        }
        for chunk in wanted.chunks(20) {
            match client
                .describe_service_deployments()
                .set_service_deployment_arns(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(r) => {
                    for sd in r.service_deployments() {
                        let d = service_deployment(sd);
                        known.deployments.insert(d.arn.clone(), d);
                    }
                }
                Err(e) => {
                    error = Some(describe("DescribeServiceDeployments", &e).to_string());
                    break;
                }
            }
        }
        // The task definitions behind the revisions, read once each.
        let mut revs: Vec<String> = Vec::new();
        for d in known.deployments.values() {
            for r in d.source.iter().chain(d.target.iter()) {
                if !known.revisions.contains_key(r) && !revs.contains(r) {
                    revs.push(r.clone());
                }
            }
        }
        for chunk in revs.chunks(20) {
            match client
                .describe_service_revisions()
                .set_service_revision_arns(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(r) => {
                    for rev in r.service_revisions() {
                        if let (Some(a), Some(td)) =
                            (rev.service_revision_arn(), rev.task_definition())
                        {
                            known.revisions.insert(a.to_string(), short_revision(td));
                        }
                    }
                }
                Err(e) => {
                    error = Some(describe("DescribeServiceRevisions", &e).to_string());
                    break;
                }
            }
        }
        known.error = error;
        // Only what is listed is kept: a console left running for weeks
        // does not collect every deployment it ever saw.
        let listed: std::collections::HashSet<String> = known
            .lists
            .values()
            .flat_map(|(_, a)| a.iter().cloned())
            .collect();
        known.deployments.retain(|a, _| listed.contains(a));
        let Known {
            lists,
            deployments,
            revisions,
            error,
            list_errors,
        } = &*known;
        for (name, _, _) in &current {
            let Some((_, arns)) = lists.get(name) else {
                continue;
            };
            let mut list: Vec<ServiceDeployment> = arns
                .iter()
                .filter_map(|a| deployments.get(a).cloned())
                .map(|mut d| {
                    d.source_task = d.source.first().and_then(|r| revisions.get(r).cloned());
                    d.target_task = d.target.as_ref().and_then(|r| revisions.get(r).cloned());
                    d
                })
                .collect();
            list.sort_by_key(|d| std::cmp::Reverse(d.created));
            out.deployments.insert(name.clone(), list);
        }
        out.deployments_error = error
            .clone()
            .or_else(|| list_errors.values().next().cloned());
    }

    /// The family's revision numbers, oldest first.
    async fn revisions(&self, family: &str, current: u32) -> Result<Vec<u32>, DeployError> {
        let mut history = self.history.lock().await;
        if let Some((revs, at)) = history.get(family)
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
        history.insert(family.to_string(), (revs.clone(), Instant::now()));
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
    /// Service name → its service deployments, newest first.
    deployments: HashMap<String, Vec<ServiceDeployment>>,
    /// Why the service deployments could not be read (the rest could).
    deployments_error: Option<String>,
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
    /// Environment → the deployment in progress its last preview showed
    /// (None: none, a revision revert): a revert refuses if that moved.
    previewed: Mutex<HashMap<String, Option<String>>>,
}

impl EcsDeploy {
    /// On its own (a cluster of one): for one-shot reads.
    pub fn new(aws: Arc<Aws>, cfg: EcsConfig) -> Self {
        let names = cfg.services.iter().map(|(_, s)| s.clone()).collect();
        let shared = EcsCluster::new(aws, &cfg.cluster, names, Duration::from_secs(1));
        Self::shared(shared, cfg)
    }

    /// Sharing its cluster's reads with the other services on it.
    pub fn shared(shared: Arc<EcsCluster>, cfg: EcsConfig) -> Self {
        EcsDeploy {
            shared,
            cfg,
            previewed: Mutex::new(HashMap::new()),
        }
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

    async fn env_deploy(
        &self,
        env: &str,
        svc: &Service,
        described: &Described,
    ) -> Result<EnvDeploy, DeployError> {
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
        let name = svc.service_name().unwrap_or_default().to_string();
        let deployments = described
            .deployments
            .get(&name)
            .cloned()
            .unwrap_or_default();
        // A native rollback goes back to the deployment's source revision:
        // that, not the revision before by number, is what a revert goes to.
        let previous = match deployments.first() {
            Some(d) if d.in_progress() && self.cfg.revert != RevertKind::Revision => {
                d.source_task.clone().or(previous)
            }
            _ => previous,
        };
        Ok(EnvDeploy {
            env: env.to_string(),
            name,
            current,
            rollouts: svc.deployments().iter().map(rollout).collect(),
            previous,
            history,
            deployments,
            deployments_error: described.deployments_error.clone(),
        })
    }

    /// One environment, read now (previews and changes never use an old answer).
    async fn one(&self, env: &str) -> Result<EnvDeploy, DeployError> {
        let name = self.service_of(env)?;
        let services = self.shared.services(true).await?;
        let svc = services.get(name, &self.cfg.cluster)?;
        self.env_deploy(env, svc, &services).await
    }

    /// The other environments on the same ECS service as `env`.
    fn sharing(&self, env: &str) -> Vec<&str> {
        let Ok(name) = self.service_of(env) else {
            return Vec::new();
        };
        self.cfg
            .services
            .iter()
            .filter(|(e, s)| e != env && s == name)
            .map(|(e, _)| e.as_str())
            .collect()
    }

    /// Native rollback or revision revert, for this read of `env`.
    fn how<'d>(&self, d: &'d EnvDeploy) -> Result<How<'d>, DeployError> {
        match (self.cfg.revert, d.in_progress()) {
            (RevertKind::Revision, _) | (RevertKind::Auto, None) => Ok(How::Revision),
            (RevertKind::Auto | RevertKind::EcsRollback, Some(sd)) => Ok(How::Native(sd)),
            (RevertKind::EcsRollback, None) => Err(DeployError::Refused(format!(
                "ECS service {} has no service deployment in progress to roll back (revert = \"ecs-rollback\"){}",
                d.name,
                d.current_deployment()
                    .map(|c| format!(": the newest is {} {}", c.id(), c.status))
                    .unwrap_or_default()
            ))),
        }
    }
}

/// How a revert is done this time.
enum How<'d> {
    Revision,
    Native(&'d ServiceDeployment),
}

/// Seconds and milliseconds of an SDK time as core's.
fn when(d: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<Ts> {
    d.map(ts)
}

/// `10`, `2.5`: a percent as ECS wrote it.
fn percent(p: f64) -> String {
    let s = format!("{p:.1}");
    s.strip_suffix(".0").unwrap_or(&s).to_string()
}

/// One service deployment as core sees it.
pub fn service_deployment(sd: &aws_sdk_ecs::types::ServiceDeployment) -> ServiceDeployment {
    let conf = sd.deployment_configuration();
    let kind = conf
        .and_then(|c| c.strategy())
        .map_or("ROLLING", |s| s.as_str())
        .to_string();
    let (pct, bake) = match kind.as_str() {
        "CANARY" => {
            let c = conf.and_then(|c| c.canary_configuration());
            (
                c.and_then(|c| c.canary_percent()).map(percent),
                c.and_then(|c| c.canary_bake_time_in_minutes()),
            )
        }
        "LINEAR" => {
            let c = conf.and_then(|c| c.linear_configuration());
            (
                c.and_then(|c| c.step_percent()).map(percent),
                c.and_then(|c| c.step_bake_time_in_minutes()),
            )
        }
        _ => (None, conf.and_then(|c| c.bake_time_in_minutes())),
    };
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    ServiceDeployment {
        arn: sd.service_deployment_arn().unwrap_or_default().to_string(),
        status: sd.status().map_or("?", |s| s.as_str()).to_string(),
        reason: sd.status_reason().map(str::to_string),
        stage: sd.lifecycle_stage().map(|s| s.as_str().to_string()),
        strategy: Strategy {
            kind,
            percent: pct,
            bake_minutes: bake.and_then(|b| u32::try_from(b).ok()),
        },
        breaker: sd.deployment_circuit_breaker().map(|b| Breaker {
            status: b.status().map_or("?", |s| s.as_str()).to_string(),
            failures: count(b.failure_count()),
            threshold: count(b.threshold()),
        }),
        alarms: sd.alarms().map(|a| DeploymentAlarms {
            status: a.status().map_or("?", |s| s.as_str()).to_string(),
            names: a.alarm_names().to_vec(),
            triggered: a.triggered_alarm_names().to_vec(),
        }),
        rollback: sd.rollback().map(|r| NativeRollback {
            reason: r.reason().map(str::to_string),
            started: when(r.started_at()),
            to: r.service_revision_arn().map(str::to_string),
        }),
        source: sd
            .source_service_revisions()
            .iter()
            .filter_map(|r| r.arn().map(str::to_string))
            .collect(),
        target: sd
            .target_service_revision()
            .and_then(|r| r.arn())
            .map(str::to_string),
        source_task: None,
        target_task: None,
        hooks: sd
            .lifecycle_hook_details()
            .iter()
            .map(|h| Hook {
                id: h.hook_id().unwrap_or_default().to_string(),
                status: h.status().map_or("?", |s| s.as_str()).to_string(),
                expires: when(h.expires_at()),
            })
            .collect(),
        created: when(sd.created_at()),
        finished: when(sd.finished_at().or(sd.stopped_at())),
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
                out.push(self.env_deploy(env, svc, &services).await?);
            }
            Ok(out)
        })
    }

    fn preview<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<Vec<String>, DeployError>> {
        Box::pin(async move {
            let d = self.one(env).await?;
            let mut lines = match self.how(&d)? {
                How::Native(sd) => {
                    let to = d
                        .previous
                        .as_deref()
                        .unwrap_or("its last good service revision");
                    let why = match self.cfg.revert {
                        RevertKind::Auto => {
                            "native rollback: a service deployment is in progress (revert = \"auto\"; with none in progress the revert is UpdateService to the previous revision)"
                        }
                        _ => "native rollback (revert = \"ecs-rollback\")",
                    };
                    vec![
                        format!(
                            "ECS service {} (cluster {}): {why}",
                            d.name, self.cfg.cluster
                        ),
                        format!("deployment {}: {}", sd.id(), sd.summary()),
                        format!(
                            "StopServiceDeployment serviceDeploymentArn={} stopType=ROLLBACK",
                            sd.arn
                        ),
                        format!(
                            "ECS stops the deployment and returns the service to {to}; wait-stable follows ECS's rollback to ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED"
                        ),
                        format!("now: {}", d.summary()),
                    ]
                }
                How::Revision => {
                    let Some(prev) = &d.previous else {
                        return Err(DeployError::Refused(format!(
                            "{} is the oldest active revision of its family: there is nothing to revert to",
                            d.current
                        )));
                    };
                    let why = match (self.cfg.revert, d.current_deployment()) {
                        (RevertKind::Auto, Some(c)) => format!(
                            " (revert = \"auto\": no service deployment in progress, the newest is {} {})",
                            c.id(),
                            c.status
                        ),
                        _ => String::new(),
                    };
                    vec![
                        format!(
                            "ECS service {} (cluster {}): task definition {} → {prev}, revision revert{why}",
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
                    ]
                }
            };
            // One ECS service behind several environments: reverting one
            // reverts them all, and the person confirming must know.
            let others = self.sharing(env);
            if !others.is_empty() {
                lines.insert(
                    1,
                    format!(
                        "{env} and {} are one ECS service ({}): reverting {env} reverts {}",
                        others.join(", "),
                        d.name,
                        if others.len() == 1 {
                            "both"
                        } else {
                            "all of them"
                        }
                    ),
                );
            }
            self.previewed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(env.to_string(), d.in_progress().map(|sd| sd.arn.clone()));
            Ok(lines)
        })
    }

    fn state<'a>(&'a self, env: &'a str) -> BoxFuture<'a, Result<String, DeployError>> {
        Box::pin(async move {
            let d = self.one(env).await?;
            // After a crash, what ECS itself is doing matters as much as the
            // revision: a rollback that was asked for may still be running.
            let ecs = d
                .current_deployment()
                .map(|x| format!("; ECS deployment {}: {}", x.id(), x.summary()))
                .unwrap_or_default();
            Ok(format!(
                "ECS service {} points at {} ({}){ecs}",
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
            // Stopped or finished since the preview: the preview described
            // another change than this one would be.
            let previewed = self
                .previewed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(env)
                .cloned();
            let now_arn = d.in_progress().map(|sd| sd.arn.clone());
            if let Some(p) = previewed
                && p != now_arn
                && self.cfg.revert != RevertKind::Revision
            {
                return Err(DeployError::Moved(format!(
                    "ECS service {}'s deployment in progress is {} now, not {} as previewed: nothing changed; look again",
                    d.name,
                    now_arn.as_deref().map_or("none", short_name),
                    p.as_deref().map_or("none", short_name)
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
            if let How::Native(sd) = self.how(&d)? {
                let resp = self
                    .shared
                    .client()
                    .await?
                    .stop_service_deployment()
                    .service_deployment_arn(&sd.arn)
                    .stop_type(StopServiceDeploymentStopType::Rollback)
                    .send()
                    .await
                    .map_err(|e| describe("StopServiceDeployment", &e))?;
                return Ok(vec![format!(
                    "StopServiceDeployment ROLLBACK accepted: ECS rolls service {} back from {} to {} (deployment {})",
                    d.name,
                    d.current,
                    d.previous
                        .as_deref()
                        .unwrap_or("its last good service revision"),
                    resp.service_deployment_arn().map_or(sd.id(), short_name)
                )]);
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
            deployments: vec![],
            deployments_error: None,
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

/// ECS's service-deployment APIs against recorded responses. moto 5.2.5 —
/// the newest moto on PyPI as of November 2026, pre-releases included —
/// implements none of `ListServiceDeployments`,
/// `DescribeServiceDeployments`, `DescribeServiceRevisions` or
/// `StopServiceDeployment`, and never rolls a deployment out. So these
/// tests serve JSON bodies shaped as the AWS API reference shows those
/// actions' answers (field names, epoch-second timestamps, the example of a
/// circuit breaker rollback) through the SDK's own test support,
/// `aws-smithy-mocks`, as HTTP responses: the SDK's real deserializers read
/// them. What moto can do (DescribeServices, UpdateService, a shared
/// service's preview) is tested against moto in `tests/aws.rs`.
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::core::deploy::Stability;
    use aws_sdk_ecs::Client;
    use aws_sdk_ecs::config::http::HttpResponse;
    use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012";

    fn sd_arn(id: &str) -> String {
        format!("{ARN}:service-deployment/prod/web/{id}")
    }

    fn rev_arn(n: u32) -> String {
        format!("{ARN}:service-revision/prod/web/49803064663735{n:02}")
    }

    /// The ECS the recorded answers describe: the service, its deployments
    /// (as DescribeServiceDeployments shows them) and the calls made.
    struct World {
        task_definition: String,
        rollout: &'static str,
        current: String,
        deployments: Vec<Value>,
        calls: Vec<String>,
        /// ListServiceDeployments refused, as for a policy without it.
        deny_list: bool,
    }

    type Shared = Arc<Mutex<World>>;

    fn lock(w: &Shared) -> std::sync::MutexGuard<'_, World> {
        w.lock().unwrap()
    }

    fn http(v: Value) -> HttpResponse {
        HttpResponse::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from(v.to_string()),
        )
    }

    /// A deployment from web:6 (revision 01) to web:7 (revision 02).
    fn deployment(id: &str, status: &str, extra: Value) -> Value {
        let mut d = json!({
            "serviceDeploymentArn": sd_arn(id),
            "serviceArn": format!("{ARN}:service/prod/web"),
            "clusterArn": format!("{ARN}:cluster/prod"),
            "createdAt": 1_795_269_600.5,
            "startedAt": 1_795_269_601.0,
            "updatedAt": 1_795_269_700.0,
            "sourceServiceRevisions": [{"arn": rev_arn(1), "requestedTaskCount": 2, "runningTaskCount": 1, "pendingTaskCount": 0}],
            "targetServiceRevision": {"arn": rev_arn(2), "requestedTaskCount": 2, "runningTaskCount": 1, "pendingTaskCount": 1},
            "status": status,
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "alarms": {"alarmNames": ["web-5xx"], "rollback": true, "enable": true}
            },
            "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 1, "threshold": 3},
            "alarms": {"status": "MONITORING", "alarmNames": ["web-5xx"], "triggeredAlarmNames": []}
        });
        if let (Some(d), Some(e)) = (d.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                d.insert(k.clone(), v.clone());
            }
        }
        d
    }

    fn world(deployments: Vec<Value>) -> Shared {
        let current = deployments
            .first()
            .and_then(|d| d["serviceDeploymentArn"].as_str())
            .unwrap_or_default()
            .to_string();
        Arc::new(Mutex::new(World {
            task_definition: "web:7".into(),
            rollout: "IN_PROGRESS",
            current,
            deployments,
            calls: Vec::new(),
            deny_list: false,
        }))
    }

    fn client(w: &Shared) -> Client {
        let services = {
            let w = w.clone();
            mock!(Client::describe_services).then_compute_response(move |_| {
                let mut w = lock(&w);
                w.calls.push("DescribeServices".into());
                let td = format!("{ARN}:task-definition/{}", w.task_definition);
                MockResponse::Http(http(json!({
                    "services": [{
                        "serviceArn": format!("{ARN}:service/prod/web"),
                        "serviceName": "web",
                        "clusterArn": format!("{ARN}:cluster/prod"),
                        "status": "ACTIVE",
                        "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                        "taskDefinition": td,
                        "deployments": [{
                            "id": "ecs-svc/9876543210", "status": "PRIMARY", "taskDefinition": td,
                            "desiredCount": 2, "runningCount": 1, "pendingCount": 1, "failedTasks": 0,
                            "rolloutState": w.rollout, "rolloutStateReason": "ECS deployment ecs-svc/9876543210 in progress.",
                            "createdAt": 1_795_269_600.0
                        }],
                        "currentServiceDeployment": w.current,
                    }],
                    "failures": []
                })))
            })
        };
        let list = {
            let w = w.clone();
            mock!(Client::list_service_deployments).then_compute_response(move |_| {
                let mut w = lock(&w);
                w.calls.push("ListServiceDeployments".into());
                if w.deny_list {
                    // An AWS JSON-protocol error body, as ECS sends it.
                    return MockResponse::Http(HttpResponse::new(
                        StatusCode::try_from(400).unwrap(),
                        SdkBody::from(json!({
                            "__type": "AccessDeniedException",
                            "message": "User: arn:aws:sts::123456789012:assumed-role/oncall/ops is not authorized to perform: ecs:ListServiceDeployments"
                        }).to_string()),
                    ));
                }
                let briefs: Vec<Value> = w
                    .deployments
                    .iter()
                    .map(|d| {
                        json!({
                            "serviceDeploymentArn": d["serviceDeploymentArn"],
                            "serviceArn": d["serviceArn"],
                            "clusterArn": d["clusterArn"],
                            "createdAt": d["createdAt"],
                            "status": d["status"],
                            "targetServiceRevisionArn": d["targetServiceRevision"]["arn"],
                        })
                    })
                    .collect();
                MockResponse::Http(http(json!({ "serviceDeployments": briefs })))
            })
        };
        let describe = {
            let w = w.clone();
            mock!(Client::describe_service_deployments).then_compute_response(move |req| {
                let mut w = lock(&w);
                let asked = req.service_deployment_arns().to_vec();
                w.calls
                    .push(format!("DescribeServiceDeployments {}", asked.len()));
                let found: Vec<Value> = w
                    .deployments
                    .iter()
                    .filter(|d| {
                        asked
                            .iter()
                            .any(|a| d["serviceDeploymentArn"] == a.as_str())
                    })
                    .cloned()
                    .collect();
                MockResponse::Http(http(json!({ "serviceDeployments": found, "failures": [] })))
            })
        };
        let revisions = {
            let w = w.clone();
            mock!(Client::describe_service_revisions).then_compute_response(move |req| {
                let mut w = lock(&w);
                w.calls.push("DescribeServiceRevisions".into());
                let found: Vec<Value> = req
                    .service_revision_arns()
                    .iter()
                    .map(|a| {
                        let td = if a.ends_with("01") { "web:6" } else { "web:7" };
                        json!({
                            "serviceRevisionArn": a,
                            "serviceArn": format!("{ARN}:service/prod/web"),
                            "clusterArn": format!("{ARN}:cluster/prod"),
                            "taskDefinition": format!("{ARN}:task-definition/{td}"),
                            "launchType": "FARGATE",
                            "createdAt": 1_795_269_000.0
                        })
                    })
                    .collect();
                MockResponse::Http(http(json!({ "serviceRevisions": found, "failures": [] })))
            })
        };
        let families = mock!(Client::list_task_definitions).then_compute_response(|_| {
            MockResponse::Http(http(json!({ "taskDefinitionArns": [
                format!("{ARN}:task-definition/web:7"),
                format!("{ARN}:task-definition/web:6"),
                format!("{ARN}:task-definition/web:5"),
            ]})))
        });
        let stop = {
            let w = w.clone();
            mock!(Client::stop_service_deployment).then_compute_response(move |req| {
                let mut w = lock(&w);
                w.calls.push(format!(
                    "StopServiceDeployment {} {}",
                    req.service_deployment_arn().unwrap_or_default(),
                    req.stop_type().map_or("-", |t| t.as_str())
                ));
                MockResponse::Http(http(
                    json!({ "serviceDeploymentArn": req.service_deployment_arn() }),
                ))
            })
        };
        let update = {
            let w = w.clone();
            mock!(Client::update_service).then_compute_response(move |req| {
                let mut w = lock(&w);
                w.calls.push(format!(
                    "UpdateService {}",
                    req.task_definition().unwrap_or_default()
                ));
                MockResponse::Http(http(json!({ "service": {
                    "serviceName": "web",
                    "taskDefinition": format!("{ARN}:task-definition/{}", req.task_definition().unwrap_or_default())
                }})))
            })
        };
        mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [
                &services, &list, &describe, &revisions, &families, &stop, &update
            ]
        )
    }

    fn provider(w: &Shared, revert: RevertKind, services: &[(&str, &str)]) -> EcsDeploy {
        let cluster = EcsCluster::with_client(client(w), "prod", vec!["web".into()]);
        EcsDeploy::shared(
            cluster,
            EcsConfig {
                cluster: "prod".into(),
                services: services
                    .iter()
                    .map(|(e, s)| (e.to_string(), s.to_string()))
                    .collect(),
                aws: Default::default(),
                revert,
            },
        )
    }

    fn calls(w: &Shared) -> Vec<String> {
        std::mem::take(&mut lock(w).calls)
    }

    #[tokio::test]
    async fn deployments_in_each_status_are_read_with_strategy_breaker_alarms_and_rollback() {
        let w = world(vec![
            deployment(
                "cur",
                "IN_PROGRESS",
                json!({
                    "lifecycleStage": "BAKE_TIME",
                    "deploymentConfiguration": {
                        "strategy": "CANARY",
                        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
                        "lifecycleHooks": []
                    },
                    "lifecycleHookDetails": [{"hookId": "approve-canary", "targetType": "LAMBDA_FUNCTION", "status": "AWAITING_ACTION", "expiresAt": 1_795_270_000.0}]
                }),
            ),
            deployment(
                "rolled",
                "STOPPED",
                json!({
                    "createdAt": 1_795_260_000.0,
                    "statusReason": "Service deployment rolled back because the circuit breaker threshold was exceeded.",
                    "rollback": {"reason": "Service deployment rolled back because the circuit breaker threshold was exceeded.", "startedAt": 1_795_260_300.0, "serviceRevisionArn": rev_arn(1)},
                    "deploymentCircuitBreaker": {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
                }),
            ),
            deployment(
                "ok",
                "SUCCESSFUL",
                json!({"createdAt": 1_795_250_000.0, "finishedAt": 1_795_250_400.0,
                       "deploymentConfiguration": {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.5, "stepBakeTimeInMinutes": 1}},
                       "deploymentCircuitBreaker": {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3}}),
            ),
            deployment(
                "bg",
                "ROLLBACK_FAILED",
                json!({"createdAt": 1_795_240_000.0,
                       "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15},
                       "rollback": {"reason": "Alarm web-5xx in ALARM: rollback requested", "serviceRevisionArn": rev_arn(1)},
                       "statusReason": "ECS could not place tasks of web:6: RESOURCE:MEMORY",
                       "alarms": {"status": "TRIGGERED", "alarmNames": ["web-5xx"], "triggeredAlarmNames": ["web-5xx"]}}),
            ),
        ]);
        let p = provider(&w, RevertKind::Auto, &[("prod", "web")]);
        let envs = p.read().await.unwrap();
        let e = &envs[0];
        assert_eq!(e.deployments_error, None);
        let ids: Vec<&str> = e.deployments.iter().map(|d| d.id()).collect();
        assert_eq!(ids, ["cur", "rolled", "ok", "bg"], "newest first");
        let cur = &e.deployments[0];
        assert_eq!(cur.strategy.label(), "canary 10 % bake 5m");
        assert_eq!(cur.stage.as_deref(), Some("BAKE_TIME"));
        assert_eq!(
            (cur.source_task.as_deref(), cur.target_task.as_deref()),
            (Some("web:6"), Some("web:7"))
        );
        assert_eq!(
            cur.summary(),
            "IN_PROGRESS canary 10 % bake 5m BAKE_TIME web:6 → web:7 · breaker 1/3 · hook approve-canary awaiting action"
        );
        assert_eq!(cur.verdict(), None);
        // The rollback goes to the deployment's source revision.
        assert_eq!(e.previous.as_deref(), Some("web:6"));
        let rolled = &e.deployments[1];
        assert_eq!(
            rolled.verdict().map(|v| v.text().to_string()).as_deref(),
            Some(
                "ECS rolled back (Service deployment rolled back because the circuit breaker threshold was exceeded.; circuit breaker tripped: 3 of 3 tasks failed)"
            )
        );
        assert_eq!(e.deployments[2].strategy.label(), "linear 2.5 % bake 1m");
        assert_eq!(e.deployments[2].finished, Some(Ts(1_795_250_400_000)));
        let bg = &e.deployments[3];
        assert_eq!(bg.strategy.label(), "blue/green bake 15m");
        assert!(
            matches!(bg.verdict(), Some(crate::core::deploy::Verdict::RollbackFailed(t)) if t.contains("Alarm web-5xx in ALARM") && t.contains("alarms web-5xx"))
        );

        // The polling budget: the first round lists and describes all;
        // later rounds describe only what still moves, in one call.
        assert_eq!(
            calls(&w),
            [
                "DescribeServices",
                "ListServiceDeployments",
                "DescribeServiceDeployments 4",
                "DescribeServiceRevisions"
            ]
        );
        p.read().await.unwrap();
        assert_eq!(
            calls(&w),
            ["DescribeServices", "DescribeServiceDeployments 1"]
        );
        // Once it is over, nothing but DescribeServices.
        lock(&w).deployments[0]["status"] = json!("SUCCESSFUL");
        p.read().await.unwrap();
        assert_eq!(
            calls(&w),
            ["DescribeServices", "DescribeServiceDeployments 1"]
        );
        p.read().await.unwrap();
        assert_eq!(calls(&w), ["DescribeServices"]);
    }

    #[tokio::test]
    async fn the_native_rollback_stops_the_deployment_and_is_followed_to_rollback_failed() {
        let w = world(vec![deployment("cur", "IN_PROGRESS", json!({}))]);
        let p = provider(&w, RevertKind::Auto, &[("prod", "web")]);
        let preview = p.preview("prod").await.unwrap();
        assert!(
            preview[0].contains(
                "native rollback: a service deployment is in progress (revert = \"auto\""
            ),
            "{preview:?}"
        );
        assert!(
            preview.contains(&format!(
                "StopServiceDeployment serviceDeploymentArn={} stopType=ROLLBACK",
                sd_arn("cur")
            )),
            "{preview:?}"
        );
        calls(&w);
        let done = p
            .revert("prod", Some("web:7"), Some("web:6"))
            .await
            .unwrap();
        assert!(done[0].starts_with("StopServiceDeployment ROLLBACK accepted: ECS rolls service web back from web:7 to web:6"), "{done:?}");
        assert!(
            calls(&w).contains(&format!("StopServiceDeployment {} ROLLBACK", sd_arn("cur"))),
            "the call names the deployment and the stop type"
        );
        // ECS rolls back: wait-stable follows ECS's own status.
        lock(&w).deployments[0]["status"] = json!("ROLLBACK_IN_PROGRESS");
        let e = p.read().await.unwrap().remove(0);
        assert!(matches!(e.stability(), Stability::Rolling { .. }));
        {
            let mut w = lock(&w);
            w.deployments[0]["status"] = json!("ROLLBACK_FAILED");
            w.deployments[0]["rollback"] = json!({"reason": "Rollback failed: tasks of web:6 failed to start: CannotPullContainerError", "startedAt": 1_795_269_900.0, "serviceRevisionArn": rev_arn(1)});
        }
        let e = p.read().await.unwrap().remove(0);
        assert_eq!(
            e.stability(),
            Stability::Failed(
                "ECS's rollback failed: Rollback failed: tasks of web:6 failed to start: CannotPullContainerError"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn a_rollback_that_succeeds_is_stable_once_ecs_says_so() {
        let w = world(vec![deployment("cur", "IN_PROGRESS", json!({}))]);
        let p = provider(&w, RevertKind::EcsRollback, &[("prod", "web")]);
        p.preview("prod").await.unwrap();
        p.revert("prod", Some("web:7"), Some("web:6"))
            .await
            .unwrap();
        {
            let mut w = lock(&w);
            w.deployments[0]["status"] = json!("ROLLBACK_SUCCESSFUL");
            w.task_definition = "web:6".into();
            w.rollout = "COMPLETED";
        }
        let e = p.read().await.unwrap().remove(0);
        assert_eq!(e.current, "web:6");
        assert_eq!(e.stability(), Stability::Stable);
        // What a restart after a crash reads as the real state.
        let state = p.state("prod").await.unwrap();
        assert!(
            state.ends_with(
                "; ECS deployment cur: ROLLBACK_SUCCESSFUL rolling web:6 → web:7 · breaker 1/3"
            ),
            "{state}"
        );
    }

    #[tokio::test]
    async fn auto_reverts_by_revision_when_nothing_is_in_progress_and_ecs_rollback_refuses() {
        let w = world(vec![deployment("done", "SUCCESSFUL", json!({}))]);
        let p = provider(&w, RevertKind::Auto, &[("prod", "web")]);
        let preview = p.preview("prod").await.unwrap();
        assert!(
            preview[0].ends_with("task definition web:7 → web:6, revision revert (revert = \"auto\": no service deployment in progress, the newest is done SUCCESSFUL)"),
            "{preview:?}"
        );
        assert!(
            preview.contains(
                &"UpdateService cluster=prod service=web taskDefinition=web:6".to_string()
            )
        );
        p.revert("prod", Some("web:7"), Some("web:6"))
            .await
            .unwrap();
        assert!(calls(&w).contains(&"UpdateService web:6".to_string()));

        let p = provider(&w, RevertKind::EcsRollback, &[("prod", "web")]);
        let e = p.preview("prod").await.unwrap_err().to_string();
        assert!(
            e.contains("no service deployment in progress to roll back"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_deployment_that_finished_since_the_preview_is_not_rolled_back() {
        let w = world(vec![deployment("cur", "IN_PROGRESS", json!({}))]);
        let p = provider(&w, RevertKind::Auto, &[("prod", "web")]);
        p.preview("prod").await.unwrap();
        lock(&w).deployments[0]["status"] = json!("SUCCESSFUL");
        let e = p
            .revert("prod", Some("web:7"), Some("web:6"))
            .await
            .unwrap_err();
        assert!(matches!(e, DeployError::Moved(_)), "{e}");
        assert!(
            !calls(&w)
                .iter()
                .any(|c| c.starts_with("StopServiceDeployment") || c.starts_with("UpdateService"))
        );
    }

    #[tokio::test]
    async fn a_shared_ecs_service_says_so_in_the_native_preview() {
        let w = world(vec![deployment("cur", "IN_PROGRESS", json!({}))]);
        let p = provider(&w, RevertKind::Auto, &[("blue", "web"), ("green", "web")]);
        let preview = p.preview("green").await.unwrap();
        assert_eq!(
            preview[1],
            "green and blue are one ECS service (web): reverting green reverts both"
        );
    }

    #[tokio::test]
    async fn a_policy_without_the_list_costs_one_call_per_deployment_not_per_round() {
        let w = world(vec![deployment("cur", "IN_PROGRESS", json!({}))]);
        lock(&w).deny_list = true;
        let p = provider(&w, RevertKind::Auto, &[("prod", "web")]);
        let e = p.read().await.unwrap().remove(0);
        let why = e.deployments_error.clone().unwrap_or_default();
        assert!(why.contains("AccessDeniedException"), "{why}");
        // The current deployment is still read (DescribeServices names it).
        assert_eq!(e.deployments.len(), 1);
        assert_eq!(
            calls(&w),
            [
                "DescribeServices",
                "ListServiceDeployments",
                "DescribeServiceDeployments 1",
                "DescribeServiceRevisions"
            ]
        );
        let e = p.read().await.unwrap().remove(0);
        assert!(e.deployments_error.is_some(), "still said");
        assert_eq!(
            calls(&w),
            ["DescribeServices", "DescribeServiceDeployments 1"]
        );
    }
}
