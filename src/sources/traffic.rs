//! Reading each service's traffic split back at its interval, so a change
//! made outside backstop shows up too.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::core::msg::Msg;
use crate::providers::traffic::TrafficHandle;

pub fn spawn_reads(
    handle: TrafficHandle,
    every: Duration,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let result = handle.provider.read().await.map_err(|e| e.message);
            if tx
                .send(Msg::TrafficRead {
                    service: handle.service,
                    result,
                    at: super::now(),
                })
                .await
                .is_err()
            {
                break;
            }
        }
    })
}
