//! The drill sandbox's router as a traffic provider.

use std::sync::Arc;

use super::{Applied, TrafficError, TrafficProvider};
use crate::core::traffic::Weights;
use crate::providers::BoxFuture;
use crate::sandbox::Sandbox;

pub struct SandboxTraffic {
    sandbox: Arc<Sandbox>,
    service: String,
}

impl SandboxTraffic {
    pub fn new(sandbox: Arc<Sandbox>, service: String) -> Self {
        SandboxTraffic { sandbox, service }
    }
}

impl TrafficProvider for SandboxTraffic {
    fn kind(&self) -> &'static str {
        "sandbox"
    }

    fn target(&self) -> String {
        match self.sandbox.router_url(&self.service) {
            Ok(url) => format!("sandbox router {}", url.trim_start_matches("http://")),
            Err(e) => e.to_string(),
        }
    }

    fn read(&self) -> BoxFuture<'_, Result<Weights, TrafficError>> {
        Box::pin(async move {
            self.sandbox
                .weights(&self.service)
                .map_err(|e| TrafficError::new(e.to_string()))
        })
    }

    fn preview<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
    ) -> BoxFuture<'a, Result<Vec<String>, TrafficError>> {
        Box::pin(async move {
            Ok(vec![
                format!("{}:", self.target()),
                format!("  {}", Weights::describe_change(from, to)),
                "  takes effect with the next request".to_string(),
            ])
        })
    }

    fn set<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
        fence: &'a crate::providers::LeaseCheck,
    ) -> BoxFuture<'a, Result<Applied, TrafficError>> {
        Box::pin(async move {
            // A drill's timeline moves weights too, as a pipeline would.
            super::unmoved(&self.read().await?, from)?;
            fence
                .holds()
                .await
                .map_err(|e| TrafficError::new(format!("{e}; nothing was changed")))?;
            let weights = self
                .sandbox
                .set_weights(&self.service, to)
                .map_err(|e| TrafficError::new(e.to_string()))?;
            Ok(Applied {
                weights,
                log: Vec::new(),
            })
        })
    }
}
