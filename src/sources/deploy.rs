//! Reading each service's deployments at their interval: the Deployments
//! pane, and the wait-stable steps that follow a rollout.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::core::msg::Msg;
use crate::poller::Gate;
use crate::providers::deploy::DeployProvider;

/// Read `provider` every `every`; with a `gate` (an AWS provider in a war
/// room), only when this console polls for the room or nobody else has.
pub fn spawn_reads(
    service: usize,
    provider: Arc<dyn DeployProvider>,
    every: Duration,
    gate: Option<Gate>,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            crate::poller::next(gate.as_ref(), &mut ticker, every).await;
            // Core keeps the error's words: it shows them and decides nothing on them.
            let result = provider.read().await.map_err(|e| e.to_string());
            let msg = Msg::DeployRead {
                service,
                result,
                at: super::now(),
            };
            if let Some(g) = &gate {
                g.read(&msg);
            }
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    })
}
