//! `TrafficProvider`: read weights, describe a change, set weights.

pub mod alb;
pub mod command;
pub mod nginx;
pub mod sandbox;

use std::sync::Arc;
use std::time::Duration;

use super::BoxFuture;
use crate::config::{ServiceConfig, TrafficKind};
use crate::core::traffic::Weights;
use crate::sandbox::Sandbox;

/// A failed read or change, with what the provider printed on the way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TrafficError {
    pub message: String,
    pub log: Vec<String>,
}

impl TrafficError {
    pub fn new(message: impl Into<String>) -> Self {
        TrafficError {
            message: message.into(),
            log: Vec::new(),
        }
    }

    pub fn with_log(message: impl Into<String>, log: Vec<String>) -> Self {
        TrafficError {
            message: message.into(),
            log,
        }
    }
}

/// A change that was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The weights read back after the change.
    pub weights: Weights,
    /// What was done and what the tools said, for the event log.
    pub log: Vec<String>,
}

/// A service's traffic provider and its position in the configuration: what
/// the traffic source reads through and the executor changes through.
#[derive(Clone)]
pub struct TrafficHandle {
    pub service: usize,
    pub provider: Arc<dyn TrafficProvider>,
}

/// Who holds a service's traffic split.
pub trait TrafficProvider: Send + Sync {
    /// `sandbox`, `nginx`, `command`, `alb`.
    fn kind(&self) -> &'static str;

    /// Where the weights live, for the pane.
    fn target(&self) -> String;

    /// The weights now, one entry per environment, in the service's order.
    fn read(&self) -> BoxFuture<'_, Result<Weights, TrafficError>>;

    /// Exactly what `set` would do, changing nothing.
    fn preview<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
    ) -> BoxFuture<'a, Result<Vec<String>, TrafficError>>;

    /// Change the weights from `from` to `to`, each write only while
    /// `fence` holds. On failure nothing is left half-applied where the
    /// backend allows it (and the error says so where it does not); a
    /// fence that stopped holding midway stops it, saying what was done.
    fn set<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
        fence: &'a crate::providers::LeaseCheck,
    ) -> BoxFuture<'a, Result<Applied, TrafficError>>;
}

/// The one check every provider makes before it changes anything, read as
/// close to the write as it can: the weights now are exactly those the
/// preview was made from (`Weights::unchanged_since`, the same test core
/// makes before it sends the change). A moved world changes nothing.
pub fn unmoved(now: &Weights, from: &Weights) -> Result<(), TrafficError> {
    if now.unchanged_since(from) {
        return Ok(());
    }
    Err(TrafficError::new(format!(
        "the weights moved since the preview ({}): nothing was changed",
        Weights::describe_change(from, now)
    )))
}

/// The provider a service's configuration names, if any.
pub fn build(
    svc: &ServiceConfig,
    sandbox: Option<&Arc<Sandbox>>,
    aws: &crate::aws::Registry,
) -> Option<Arc<dyn TrafficProvider>> {
    let envs: Vec<String> = svc.environments.iter().map(|e| e.name.clone()).collect();
    match &svc.traffic.as_ref()?.kind {
        TrafficKind::Sandbox => {
            let sb = sandbox?.clone();
            Some(Arc::new(sandbox::SandboxTraffic::new(sb, svc.name.clone())))
        }
        TrafficKind::Nginx(cfg) => Some(Arc::new(nginx::Nginx::new(cfg.clone(), envs))),
        TrafficKind::Command(cfg) => {
            Some(Arc::new(command::CommandTraffic::new(cfg.clone(), envs)))
        }
        TrafficKind::Alb(cfg) => Some(Arc::new(alb::AlbTraffic::shared(
            aws.shared(&cfg.aws, alb::Listeners::new),
            cfg.clone(),
            svc.traffic
                .as_ref()
                .map_or(Duration::from_secs(5), |t| t.interval),
        ))),
    }
}
