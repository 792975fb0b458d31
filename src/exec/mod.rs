//! The executor: the only code that changes the world. It carries out the
//! `Effect`s core emits and answers each with an outcome `Msg`.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::msg::{Effect, Msg};
use crate::sandbox::Sandbox;
use crate::sources::now;

pub struct Executor {
    sandbox: Option<Arc<Sandbox>>,
    tx: mpsc::Sender<Msg>,
}

impl Executor {
    pub fn new(sandbox: Option<Arc<Sandbox>>, tx: mpsc::Sender<Msg>) -> Self {
        Executor { sandbox, tx }
    }

    /// Start carrying out `effect`. Returns at once: the outcome arrives later
    /// as a `Msg`, so the render loop never waits on the world.
    pub fn run(&self, effect: Effect) {
        tracing::info!("effect: {}", effect.describe());
        let outcome = match &effect {
            Effect::SetFault {
                service,
                env,
                fault,
            } => match &self.sandbox {
                Some(sb) => match sb.set_fault(service, env, *fault) {
                    Ok(()) => Msg::FaultSet {
                        service: service.clone(),
                        env: env.clone(),
                        fault: *fault,
                        at: now(),
                    },
                    Err(error) => Msg::EffectFailed {
                        effect: effect.describe(),
                        error: error.to_string(),
                        at: now(),
                    },
                },
                None => Msg::EffectFailed {
                    effect: effect.describe(),
                    error: "no drill sandbox is running".into(),
                    at: now(),
                },
            },
        };
        let tx = self.tx.clone();
        // Sent from a task: the loop that receives may be the caller.
        tokio::spawn(async move {
            let _ = tx.send(outcome).await;
        });
    }
}
