//! Sources observe the world and send `Msg`s to core. They never change it.

pub mod deploy;
pub mod metrics;
pub mod probe;
pub mod terminal;
pub mod traffic;

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::Config;
use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::Msg;
use crate::core::time::Ts;
use probe::{ProbeSpec, Prober};

/// The wall clock, read here and nowhere in core.
pub fn now() -> Ts {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ts(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// One task per health endpoint, each probing at its own interval. A slow
/// endpoint delays only itself: the next probe starts after the previous one
/// ends (timeouts are shorter than intervals, so this never drifts far).
pub fn spawn_probes(
    config: &Config,
    prober: &Prober,
    tx: &mpsc::Sender<Msg>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (s, svc) in config.services.iter().enumerate() {
        for (e, env) in svc.environments.iter().enumerate() {
            for (p, ep) in env.endpoints.iter().enumerate() {
                let id = EndpointId {
                    service: s,
                    env: e,
                    endpoint: p,
                };
                let spec = ProbeSpec::from_config(ep);
                let interval = ep.interval;
                let prober = prober.clone();
                let tx = tx.clone();
                tasks.push(tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(interval);
                    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    loop {
                        ticker.tick().await;
                        let probed = prober.probe(&spec).await;
                        let result = ProbeResult {
                            at: now(),
                            latency_ms: probed.latency_ms,
                            report: probed.report,
                        };
                        if tx
                            .send(Msg::Probed {
                                endpoint: id,
                                result,
                            })
                            .await
                            .is_err()
                        {
                            break; // the console has gone
                        }
                    }
                }));
            }
        }
    }
    tasks
}
