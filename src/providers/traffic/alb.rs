//! An Application Load Balancer's weighted forward action: how blue/green
//! and canary weights are held on AWS. The weights live in the listener's
//! default actions, or in one listener rule's actions; a change replaces the
//! forward action's target-group weights and keeps everything else (other
//! actions, stickiness). Refused if the weights moved since the preview.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, AuthenticateOidcActionConfig, ForwardActionConfig, TargetGroupTuple,
};
use tokio::sync::OnceCell;

use super::{Applied, TrafficError, TrafficProvider};
use crate::aws::{Aws, describe};
use crate::config::traffic::AlbConfig;
use crate::core::traffic::{EnvWeight, Server, Weights};
use crate::providers::BoxFuture;

pub struct AlbTraffic {
    aws: Arc<Aws>,
    cfg: AlbConfig,
    client: OnceCell<aws_sdk_elasticloadbalancingv2::Client>,
    /// Listener reads shared with every ALB provider on the same settings.
    listeners: Arc<Listeners>,
}

/// Listeners per `DescribeListeners` call. The API documents no limit on
/// `ListenerArns`; twenty is the limit its sibling calls set for ARNs
/// (`DescribeLoadBalancers`, `DescribeTargetGroups`), so a batch stays
/// within what AWS accepts elsewhere, and pages are followed regardless.
const BATCH: usize = 20;

/// Every watched listener of one AWS setup, described together: fifty
/// services on ALB listeners cost three calls a round instead of fifty
/// (before: 300 of the 418 calls a minute of the 50-service benchmark).
/// A read uses a shared answer younger than half its reading interval; a
/// change (`fresh`) reads its listener anew.
pub struct Listeners {
    aws: Arc<Aws>,
    client: OnceCell<aws_sdk_elasticloadbalancingv2::Client>,
    /// Listener ARN → its reading interval.
    watched: Mutex<Vec<(String, Duration)>>,
    /// The last round: when, and each listener's default actions or error.
    last: tokio::sync::Mutex<Found>,
}

impl Listeners {
    pub fn new(aws: Arc<Aws>) -> Arc<Self> {
        Arc::new(Listeners {
            aws,
            client: OnceCell::new(),
            watched: Mutex::new(Vec::new()),
            last: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    fn register(&self, arn: &str, every: Duration) {
        let mut w = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !w.iter().any(|(a, _)| a == arn) {
            w.push((arn.to_string(), every));
        }
    }

    async fn client(&self) -> Result<&aws_sdk_elasticloadbalancingv2::Client, TrafficError> {
        let conf = self
            .aws
            .config()
            .await
            .map_err(|e| TrafficError::new(e.to_string()))?;
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_elasticloadbalancingv2::Client::new(conf) })
            .await)
    }

    /// The default actions of listener `arn`. An answer younger than half
    /// the listener's own reading interval serves; otherwise every watched
    /// listener that is as due as it is read in the same calls, so each
    /// listener is still read about once per its interval (a service read
    /// every second does not drag the others along), and services on the
    /// same cadence share one round.
    async fn actions(&self, arn: &str, fresh: bool) -> Result<Vec<Action>, TrafficError> {
        let watched: Vec<(String, Duration)> = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let keep = |a: &str| {
            watched
                .iter()
                .find(|(w, _)| w == a)
                .map_or(Duration::ZERO, |(_, every)| *every / 2)
        };
        let mut last = self.last.lock().await;
        let young =
            |a: &str, last: &Found| last.get(a).is_some_and(|(at, _)| at.elapsed() < keep(a));
        if !fresh
            && young(arn, &last)
            && let Some((_, r)) = last.get(arn)
        {
            return r.clone().map_err(TrafficError::new);
        }
        let client = self.client().await?;
        let mut asked = vec![arn.to_string()];
        if !fresh {
            asked.extend(
                watched
                    .iter()
                    .map(|(a, _)| a)
                    .filter(|a| *a != arn && !young(a, &last))
                    .cloned(),
            );
        }
        let mut found: HashMap<String, Result<Vec<Action>, String>> = HashMap::new();
        for chunk in asked.chunks(BATCH) {
            match describe_listeners(client, chunk).await {
                Ok(got) => found.extend(got),
                // One listener gone (ListenerNotFound) fails the call of
                // all: ask for each alone, so it blinds only itself.
                Err(_) if chunk.len() > 1 => {
                    for one in chunk {
                        match describe_listeners(client, std::slice::from_ref(one)).await {
                            Ok(got) => found.extend(got),
                            Err(e) => {
                                found.insert(one.clone(), Err(e));
                            }
                        }
                    }
                }
                Err(e) => {
                    for one in chunk {
                        found.insert(one.clone(), Err(e.clone()));
                    }
                }
            }
        }
        let now = Instant::now();
        for a in asked {
            let r = found
                .remove(&a)
                .unwrap_or_else(|| Err(format!("listener {} not found", tail(&a))));
            last.insert(a, (now, r));
        }
        last.get(arn)
            .map_or_else(
                || Err(format!("listener {} not found", tail(arn))),
                |(_, r)| r.clone(),
            )
            .map_err(TrafficError::new)
    }
}

/// Listener ARN → when it was read, and its default actions or why they
/// could not be read.
type Found = HashMap<String, (Instant, Result<Vec<Action>, String>)>;

/// The listeners named, following pages.
async fn describe_listeners(
    client: &aws_sdk_elasticloadbalancingv2::Client,
    arns: &[String],
) -> Result<HashMap<String, Result<Vec<Action>, String>>, String> {
    let mut out = HashMap::new();
    let mut marker = None;
    loop {
        let resp = client
            .describe_listeners()
            .set_listener_arns(Some(arns.to_vec()))
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| describe("DescribeListeners", &e).to_string())?;
        for l in resp.listeners() {
            if let Some(a) = l.listener_arn() {
                out.insert(a.to_string(), Ok(l.default_actions().to_vec()));
            }
        }
        marker = resp.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// `…/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2` → `app/web/…/f2f7…`: the
/// end of an ARN, enough to recognise it on screen.
fn tail(arn: &str) -> &str {
    arn.split_once(":listener/")
        .or_else(|| arn.split_once(":listener-rule/"))
        .or_else(|| arn.split_once(":targetgroup/"))
        .map_or(arn, |(_, t)| t)
}

impl AlbTraffic {
    /// On its own: its listener read alone.
    pub fn new(aws: Arc<Aws>, cfg: AlbConfig) -> Self {
        let listeners = Listeners::new(aws);
        Self::shared(listeners, cfg, Duration::from_secs(5))
    }

    /// Its listener read with the others of the same AWS setup, every `every`.
    pub fn shared(listeners: Arc<Listeners>, cfg: AlbConfig, every: Duration) -> Self {
        if cfg.rule.is_none() {
            listeners.register(&cfg.listener, every);
        }
        AlbTraffic {
            aws: listeners.aws.clone(),
            cfg,
            client: OnceCell::new(),
            listeners,
        }
    }

    async fn client(&self) -> Result<&aws_sdk_elasticloadbalancingv2::Client, TrafficError> {
        let conf = self
            .aws
            .config()
            .await
            .map_err(|e| TrafficError::new(e.to_string()))?;
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_elasticloadbalancingv2::Client::new(conf) })
            .await)
    }

    /// Where the weights live, in words and for the API.
    fn place(&self) -> String {
        match &self.cfg.rule {
            Some(r) => format!("listener rule {}", tail(r)),
            None => format!("listener {} (default action)", tail(&self.cfg.listener)),
        }
    }

    /// The actions holding the weights; `fresh` for a change, which never
    /// works from a shared answer.
    async fn actions(&self, fresh: bool) -> Result<Vec<Action>, TrafficError> {
        if self.cfg.rule.is_none() {
            return self.listeners.actions(&self.cfg.listener, fresh).await;
        }
        let client = self.client().await?;
        match &self.cfg.rule {
            Some(rule) => {
                let resp = client
                    .describe_rules()
                    .rule_arns(rule)
                    .send()
                    .await
                    .map_err(|e| TrafficError::new(describe("DescribeRules", &e).to_string()))?;
                let r = resp
                    .rules()
                    .first()
                    .ok_or_else(|| TrafficError::new(format!("rule {} not found", tail(rule))))?;
                Ok(r.actions().to_vec())
            }
            None => {
                let resp = client
                    .describe_listeners()
                    .listener_arns(&self.cfg.listener)
                    .send()
                    .await
                    .map_err(|e| {
                        TrafficError::new(describe("DescribeListeners", &e).to_string())
                    })?;
                let l = resp.listeners().first().ok_or_else(|| {
                    TrafficError::new(format!("listener {} not found", tail(&self.cfg.listener)))
                })?;
                Ok(l.default_actions().to_vec())
            }
        }
    }

    /// The weights of the forward action, per environment in configured order.
    fn weights(&self, actions: &[Action]) -> Result<Weights, TrafficError> {
        let forward = actions
            .iter()
            .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
            .ok_or_else(|| TrafficError::new(format!("{} has no forward action", self.place())))?;
        let tuples: Vec<(String, i32)> = match forward.forward_config() {
            Some(fc) if !fc.target_groups().is_empty() => fc
                .target_groups()
                .iter()
                .map(|t| {
                    (
                        t.target_group_arn().unwrap_or_default().to_string(),
                        t.weight().unwrap_or(1),
                    )
                })
                .collect(),
            _ => match forward.target_group_arn() {
                Some(arn) => vec![(arn.to_string(), 1)],
                None => Vec::new(),
            },
        };
        for (arn, _) in &tuples {
            if !self.cfg.target_groups.iter().any(|(_, a)| a == arn) {
                return Err(TrafficError::new(format!(
                    "{} forwards to target group {} that no environment is configured with",
                    self.place(),
                    tail(arn)
                )));
            }
        }
        Ok(Weights(
            self.cfg
                .target_groups
                .iter()
                .map(|(env, arn)| {
                    let w = tuples
                        .iter()
                        .find(|(a, _)| a == arn)
                        .map_or(0, |(_, w)| u32::try_from(*w).unwrap_or(0));
                    EnvWeight {
                        env: env.clone(),
                        weight: w,
                        server: if w == 0 { Server::Down } else { Server::Active },
                    }
                })
                .collect(),
        ))
    }

    fn change_lines(&self, from: &Weights, to: &Weights) -> Vec<String> {
        let mut lines = vec![format!(
            "{} via {}:",
            self.place(),
            if self.cfg.rule.is_some() {
                "ModifyRule"
            } else {
                "ModifyListener"
            }
        )];
        for (env, arn) in &self.cfg.target_groups {
            let w = |ws: &Weights| ws.0.iter().find(|x| &x.env == env).map_or(0, |x| x.weight);
            lines.push(format!(
                "  forward to {} ({env}): weight {} → {}",
                tail(arn),
                w(from),
                w(to)
            ));
        }
        lines
    }
}

/// An authenticate-oidc action as read has no client secret: sent back as
/// is, the listener change would be refused. Keep the existing secret.
fn keep_oidc_secret(a: Action) -> Action {
    let Some(c) = a.authenticate_oidc_config() else {
        return a;
    };
    let config = AuthenticateOidcActionConfig::builder()
        .set_issuer(c.issuer().map(str::to_string))
        .set_authorization_endpoint(c.authorization_endpoint().map(str::to_string))
        .set_token_endpoint(c.token_endpoint().map(str::to_string))
        .set_user_info_endpoint(c.user_info_endpoint().map(str::to_string))
        .set_client_id(c.client_id().map(str::to_string))
        .set_session_cookie_name(c.session_cookie_name().map(str::to_string))
        .set_scope(c.scope().map(str::to_string))
        .set_session_timeout(c.session_timeout())
        .set_authentication_request_extra_params(c.authentication_request_extra_params().cloned())
        .set_on_unauthenticated_request(c.on_unauthenticated_request().cloned())
        .use_existing_client_secret(true)
        .build();
    Action::builder()
        .r#type(ActionTypeEnum::AuthenticateOidc)
        .set_order(a.order())
        .authenticate_oidc_config(config)
        .build()
}

impl TrafficProvider for AlbTraffic {
    fn kind(&self) -> &'static str {
        "alb"
    }

    fn target(&self) -> String {
        format!("ALB {}", self.place())
    }

    fn read(&self) -> BoxFuture<'_, Result<Weights, TrafficError>> {
        Box::pin(async move {
            let actions = self.actions(false).await?;
            self.weights(&actions)
        })
    }

    fn preview<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
    ) -> BoxFuture<'a, Result<Vec<String>, TrafficError>> {
        Box::pin(async move { Ok(self.change_lines(from, to)) })
    }

    fn set<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
        fence: &'a crate::providers::LeaseCheck,
    ) -> BoxFuture<'a, Result<Applied, TrafficError>> {
        Box::pin(async move {
            let actions = self.actions(true).await?;
            super::unmoved(&self.weights(&actions)?, from)?;
            let tuples: Vec<TargetGroupTuple> = self
                .cfg
                .target_groups
                .iter()
                .map(|(env, arn)| {
                    let w = to.0.iter().find(|x| &x.env == env).map_or(0, |x| {
                        if x.server == Server::Down {
                            0
                        } else {
                            x.weight
                        }
                    });
                    TargetGroupTuple::builder()
                        .target_group_arn(arn)
                        .weight(i32::try_from(w).unwrap_or(0))
                        .build()
                })
                .collect();
            // Only the forward action changes; the others stay as they are.
            let new_actions: Vec<Action> = actions
                .into_iter()
                .map(|a| {
                    if a.r#type() == Some(&ActionTypeEnum::AuthenticateOidc) {
                        return keep_oidc_secret(a);
                    }
                    if a.r#type() != Some(&ActionTypeEnum::Forward) {
                        return a;
                    }
                    let sticky = a
                        .forward_config()
                        .and_then(|f| f.target_group_stickiness_config())
                        .cloned();
                    let fc = ForwardActionConfig::builder()
                        .set_target_groups(Some(tuples.clone()))
                        .set_target_group_stickiness_config(sticky)
                        .build();
                    Action::builder()
                        .r#type(ActionTypeEnum::Forward)
                        .set_order(a.order())
                        .forward_config(fc)
                        .build()
                })
                .collect();
            let client = self.client().await?;
            fence
                .holds()
                .await
                .map_err(|e| TrafficError::new(format!("{e}; nothing was changed")))?;
            let call = match &self.cfg.rule {
                Some(rule) => client
                    .modify_rule()
                    .rule_arn(rule)
                    .set_actions(Some(new_actions))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| describe("ModifyRule", &e)),
                None => client
                    .modify_listener()
                    .listener_arn(&self.cfg.listener)
                    .set_default_actions(Some(new_actions))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| describe("ModifyListener", &e)),
            };
            let log = self.change_lines(from, to);
            call.map_err(|e| TrafficError::with_log(e.to_string(), log.clone()))?;
            // Read back: what the load balancer holds now, not what was asked
            // (fresh: the round's shared answer predates the change, and the
            // fresh answer replaces it for the next reads).
            // The change was made either way: a failed read-back is a warning.
            match self.actions(true).await.and_then(|a| self.weights(&a)) {
                Ok(weights) => Ok(Applied { weights, log }),
                Err(e) => {
                    let mut log = log;
                    log.push(format!(
                        "changed, but reading it back failed: {} (the next read shows it)",
                        e.message
                    ));
                    Ok(Applied {
                        weights: to.clone(),
                        log,
                    })
                }
            }
        })
    }
}
