//! `MetricSource`: request rate, error rate and latency percentiles per
//! environment over sliding windows. The sandbox's synthetic traffic is one;
//! CloudWatch is another. (Probe metrics are kept by core itself, from the
//! probe results it already receives.)

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::Config;
use crate::core::metrics::WindowStats;
use crate::core::msg::{EnvSnapshot, Msg};
use crate::core::time::Ts;
use crate::providers::BoxFuture;

/// One environment's figures, named as in the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedSnapshot {
    pub service: String,
    pub env: String,
    pub one_min: WindowStats,
    pub five_min: WindowStats,
    /// Other windows asked for (by rules).
    pub extra: Vec<WindowStats>,
    /// Everything served since the source began, where it counts requests
    /// one by one (the sandbox's traffic; not CloudWatch).
    pub tally: Option<crate::core::compare::Tally>,
}

/// Why a metric source could not be read this round (shown in its pane,
/// with the age of the data it still has).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
}

pub trait MetricSource: Send + Sync {
    /// Shown beside the figures: `sandbox traffic`, `cloudwatch`.
    fn name(&self) -> &str;
    fn poll(&self, now: Ts) -> BoxFuture<'_, Result<Vec<NamedSnapshot>, SourceError>>;
}

/// The windows, besides 1 and 5 minutes, that the rules of `config` read.
pub fn rule_windows(config: &Config) -> Vec<Duration> {
    let mut out: Vec<Duration> = Vec::new();
    for s in &config.services {
        for r in &s.policy.rules {
            if let crate::core::rules::RuleKind::ErrorRate { window, .. }
            | crate::core::rules::RuleKind::Latency { window, .. } = r
            {
                let w = Duration::from_secs(window.as_secs());
                if w.as_secs() != 60 && w.as_secs() != 300 && !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    out
}

/// Poll `source` every `every` and send what it reports, named by position;
/// with a `gate` (CloudWatch in a war room), only when this console polls
/// for the room or nobody else has.
pub fn spawn_poll(
    source: Arc<dyn MetricSource>,
    every: Duration,
    config: &Config,
    gate: Option<crate::poller::Gate>,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    let names: Vec<(String, Vec<String>)> = config
        .services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.environments.iter().map(|e| e.name.clone()).collect(),
            )
        })
        .collect();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            crate::poller::next(gate.as_ref(), &mut ticker, every).await;
            let at = super::now();
            let msg = match source.poll(at).await {
                Ok(named) => {
                    let snapshots = named
                        .into_iter()
                        .filter_map(|n| {
                            let s = names.iter().position(|(svc, _)| *svc == n.service)?;
                            let e = names[s].1.iter().position(|env| *env == n.env)?;
                            Some(EnvSnapshot {
                                service: s,
                                env: e,
                                one_min: n.one_min,
                                five_min: n.five_min,
                                extra: n.extra,
                                tally: n.tally,
                            })
                        })
                        .collect();
                    Msg::Metrics {
                        source: source.name().to_string(),
                        snapshots,
                        at,
                    }
                }
                Err(error) => Msg::SourceFailed {
                    source: source.name().to_string(),
                    kind: crate::core::model::SourceKind::Metrics,
                    error: error.to_string(),
                    at,
                },
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
