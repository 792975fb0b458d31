//! Reading each service's deployments at their interval: the Deployments
//! pane, and the wait-stable steps that follow a rollout.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::core::msg::Msg;
use crate::providers::deploy::DeployProvider;

pub fn spawn_reads(
    service: usize,
    provider: Arc<dyn DeployProvider>,
    every: Duration,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // Core keeps the error's words: it shows them and decides nothing on them.
            let result = provider.read().await.map_err(|e| e.to_string());
            let msg = Msg::DeployRead {
                service,
                result,
                at: super::now(),
            };
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    })
}
