//! Reading each service's traffic split back at its interval, so a change
//! made outside backstop shows up too.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::core::msg::Msg;
use crate::poller::Gate;
use crate::providers::traffic::TrafficHandle;

/// Read the split every `every`; with a `gate` (a load balancer in a war
/// room), only when this console polls for the room or nobody else has.
pub fn spawn_reads(
    handle: TrafficHandle,
    every: Duration,
    gate: Option<Gate>,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            crate::poller::next(gate.as_ref(), &mut ticker, every).await;
            let result = handle.provider.read().await.map_err(|e| e.message);
            let msg = Msg::TrafficRead {
                service: handle.service,
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
