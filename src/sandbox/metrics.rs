//! The sandbox's synthetic traffic as a `MetricSource`: the figures its
//! generator measured, per environment and window.

use std::sync::Arc;
use std::time::Duration;

use super::Sandbox;
use crate::core::time::Ts;
use crate::providers::BoxFuture;
use crate::sources::metrics::{MetricSource, NamedSnapshot, SourceError};

/// The sandbox's synthetic traffic, as observed by its generator.
pub struct SandboxMetrics {
    pub sandbox: Arc<Sandbox>,
    /// Windows besides 1 and 5 minutes that rules ask for.
    pub extra: Vec<Duration>,
}

impl MetricSource for SandboxMetrics {
    fn name(&self) -> &str {
        "sandbox traffic"
    }

    fn poll(&self, now: Ts) -> BoxFuture<'_, Result<Vec<NamedSnapshot>, SourceError>> {
        Box::pin(async move { Ok(self.sandbox.snapshots(now, &self.extra)) })
    }
}
