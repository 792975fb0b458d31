//! The executor: the only code that changes the world. It carries out the
//! `Effect`s core emits, each on a task of its own, and answers each with an
//! outcome `Msg`, so the render loop never waits on the world.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::msg::{Effect, Msg};
use crate::providers::traffic::TrafficProvider;
use crate::sandbox::Sandbox;
use crate::sources::now;

/// A service's traffic provider and its position in the configuration.
#[derive(Clone)]
pub struct TrafficHandle {
    pub service: usize,
    pub provider: Arc<dyn TrafficProvider>,
}

pub struct Executor {
    sandbox: Option<Arc<Sandbox>>,
    traffic: HashMap<String, TrafficHandle>,
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
            tx,
        }
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
            } => {
                let Some(h) = self.traffic_handle(&service, &tx) else {
                    return;
                };
                tokio::spawn(async move {
                    let msg = match h.provider.set(&from, &to).await {
                        Ok(applied) => {
                            tracing::info!(
                                "weights of {service} set by {by}: {}",
                                crate::core::traffic::Weights::describe_change(
                                    &from,
                                    &applied.weights
                                )
                            );
                            Msg::WeightsSet {
                                service: h.service,
                                from,
                                to: applied.weights,
                                by,
                                log: applied.log,
                                at: now(),
                            }
                        }
                        Err(e) => {
                            tracing::warn!("set weights of {service} failed: {}", e.message);
                            Msg::WeightsFailed {
                                service: h.service,
                                error: e.message,
                                log: e.log,
                                at: now(),
                            }
                        }
                    };
                    let _ = tx.send(msg).await;
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

/// Send from a task: the loop that receives may be the caller.
fn send(tx: mpsc::Sender<Msg>, msg: Msg) {
    tokio::spawn(async move {
        let _ = tx.send(msg).await;
    });
}
