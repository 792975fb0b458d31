//! The executor: the only code that changes the world. It carries out the
//! `Effect`s core emits, each on a task of its own, and answers each with an
//! outcome `Msg`, so the render loop never waits on the world.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::{Effect, Msg};
use crate::core::traffic::Purpose;
use crate::providers::traffic::TrafficProvider;
use crate::sandbox::Sandbox;
use crate::sources::now;
use crate::sources::probe::{ProbeSpec, Prober};

/// A service's traffic provider and its position in the configuration.
#[derive(Clone)]
pub struct TrafficHandle {
    pub service: usize,
    pub provider: Arc<dyn TrafficProvider>,
}

pub struct Executor {
    sandbox: Option<Arc<Sandbox>>,
    traffic: HashMap<String, TrafficHandle>,
    /// For confirming re-probes: the prober and every endpoint's request.
    probes: Option<(Prober, HashMap<EndpointId, ProbeSpec>)>,
    tx: mpsc::Sender<Msg>,
}

impl Executor {
    pub fn new(
        sandbox: Option<Arc<Sandbox>>,
        traffic: HashMap<String, TrafficHandle>,
        tx: mpsc::Sender<Msg>,
    ) -> Self {
        Executor {
            sandbox,
            traffic,
            probes: None,
            tx,
        }
    }

    /// Let the executor re-probe endpoints (the `confirm` of health-failures rules).
    pub fn with_probes(mut self, prober: Prober, specs: HashMap<EndpointId, ProbeSpec>) -> Self {
        self.probes = Some((prober, specs));
        self
    }

    /// Start carrying out `effect`; the outcome arrives later as a `Msg`.
    pub fn run(&self, effect: Effect) {
        tracing::info!("effect: {}", effect.describe());
        let tx = self.tx.clone();
        match effect {
            Effect::SetFault {
                service,
                env,
                fault,
            } => {
                let described = Effect::SetFault {
                    service: service.clone(),
                    env: env.clone(),
                    fault,
                }
                .describe();
                let outcome = match &self.sandbox {
                    Some(sb) => match sb.set_fault(&service, &env, fault) {
                        Ok(()) => Msg::FaultSet {
                            service,
                            env,
                            fault,
                            at: now(),
                        },
                        Err(e) => Msg::EffectFailed {
                            effect: described,
                            error: e.to_string(),
                            at: now(),
                        },
                    },
                    None => Msg::EffectFailed {
                        effect: described,
                        error: "no drill sandbox is running".into(),
                        at: now(),
                    },
                };
                send(tx, outcome);
            }
            Effect::PreviewWeights { service, from, to } => {
                let Some(h) = self.traffic_handle(&service, &tx) else {
                    return;
                };
                tokio::spawn(async move {
                    let msg = match h.provider.preview(&from, &to).await {
                        Ok(lines) => Msg::WeightsPreview {
                            service: h.service,
                            to,
                            lines,
                            at: now(),
                        },
                        Err(e) => Msg::WeightsFailed {
                            service: h.service,
                            error: e.message,
                            purpose: Purpose::Adjust,
                            log: e.log,
                            at: now(),
                        },
                    };
                    let _ = tx.send(msg).await;
                });
            }
            Effect::SetWeights {
                service,
                from,
                to,
                by,
                purpose,
            } => {
                let Some(h) = self.traffic_handle(&service, &tx) else {
                    return;
                };
                tokio::spawn(async move {
                    let msg = match h.provider.set(&from, &to).await {
                        Ok(applied) => {
                            let change = crate::core::traffic::Weights::describe_change(
                                &from,
                                &applied.weights,
                            );
                            tracing::info!("weights of {service} set by {by}: {change}");
                            Msg::WeightsSet {
                                service: h.service,
                                from,
                                to: applied.weights,
                                by,
                                purpose,
                                log: applied.log,
                                at: now(),
                            }
                        }
                        Err(e) => {
                            tracing::warn!("set weights of {service} failed: {}", e.message);
                            Msg::WeightsFailed {
                                service: h.service,
                                error: e.message,
                                purpose,
                                log: e.log,
                                at: now(),
                            }
                        }
                    };
                    let _ = tx.send(msg).await;
                });
            }
            Effect::Reprobe { endpoint, times } => {
                let Some((prober, spec)) = self
                    .probes
                    .as_ref()
                    .and_then(|(p, specs)| Some((p.clone(), specs.get(&endpoint)?.clone())))
                else {
                    return;
                };
                tokio::spawn(async move {
                    for _ in 0..times {
                        // A short pause: a confirmation, not a flood.
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                        let probed = prober.probe(&spec).await;
                        let result = ProbeResult {
                            at: now(),
                            latency_ms: probed.latency_ms,
                            report: probed.report,
                        };
                        if tx.send(Msg::Probed { endpoint, result }).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    }

    fn traffic_handle(&self, service: &str, tx: &mpsc::Sender<Msg>) -> Option<TrafficHandle> {
        let h = self.traffic.get(service).cloned();
        if h.is_none() {
            let error = format!("{service} has no traffic provider");
            send(
                tx.clone(),
                Msg::EffectFailed {
                    effect: "set weights".into(),
                    error,
                    at: now(),
                },
            );
        }
        h
    }
}

/// Send an outcome that is already known. In order: outcomes of quick
/// successive effects must arrive as they happened (the fifth fault injected
/// is the one in force, and the screen must say so). Never blocks: the loop
/// that receives may be the caller; only a full channel defers to a task.
fn send(tx: mpsc::Sender<Msg>, msg: Msg) {
    if let Err(mpsc::error::TrySendError::Full(msg)) = tx.try_send(msg) {
        tokio::spawn(async move {
            let _ = tx.send(msg).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Fault;
    use crate::sandbox::{EnvSpec, Options};

    #[tokio::test]
    async fn outcomes_of_quick_effects_arrive_in_order() {
        let world = [EnvSpec::new("web", "green", "1.0.1", 100)];
        let sb = Arc::new(
            Sandbox::start(&world, &Options { rate: 0.0 })
                .await
                .unwrap(),
        );
        let (tx, mut rx) = mpsc::channel(16);
        let ex = Executor::new(Some(sb), HashMap::new(), tx);
        for f in Fault::CYCLE {
            ex.run(Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: Some(f),
            });
        }
        let mut seen = Vec::new();
        for _ in Fault::CYCLE {
            if let Some(Msg::FaultSet { fault, .. }) = rx.recv().await {
                seen.push(fault);
            }
        }
        assert_eq!(
            seen,
            Fault::CYCLE.iter().copied().map(Some).collect::<Vec<_>>()
        );
    }
}
