//! What flows into core (`Msg`) and out of it (`Effect`).

use super::action::Action;
use super::metrics::WindowStats;
use super::model::{EndpointId, ExternalAlarm, Fault, ProbeResult};
use super::time::Ts;
use super::traffic::{Purpose, Weights};

/// One environment's request metrics from a metric source.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvSnapshot {
    pub service: usize,
    pub env: usize,
    pub one_min: WindowStats,
    pub five_min: WindowStats,
    /// Other windows the rules asked for.
    pub extra: Vec<WindowStats>,
}

/// Something that happened. Every message carries its time: core never reads a clock.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// The clock moved (ages on screen, deadlines).
    Tick(Ts),
    /// A health endpoint answered (or did not).
    Probed {
        endpoint: EndpointId,
        result: ProbeResult,
    },
    /// The operator gave a command.
    Action(Action, Ts),
    /// The sandbox applied (or cleared, `None`) a fault.
    FaultSet {
        service: String,
        env: String,
        fault: Option<Fault>,
        at: Ts,
    },
    /// An effect could not be carried out.
    EffectFailed {
        effect: String,
        error: String,
        at: Ts,
    },
    /// A traffic provider was read.
    TrafficRead {
        service: usize,
        result: Result<Weights, String>,
        at: Ts,
    },
    /// A metric source reported its windows.
    Metrics {
        source: String,
        snapshots: Vec<EnvSnapshot>,
        at: Ts,
    },
    /// The provider's description of a weight change, for the preview.
    WeightsPreview {
        service: usize,
        to: Weights,
        lines: Vec<String>,
        at: Ts,
    },
    /// Weights were changed; `log` is what the provider printed.
    WeightsSet {
        service: usize,
        from: Weights,
        to: Weights,
        by: String,
        purpose: Purpose,
        log: Vec<String>,
        at: Ts,
    },
    /// A weight change failed; nothing was left half-applied.
    WeightsFailed {
        service: usize,
        error: String,
        purpose: Purpose,
        log: Vec<String>,
        at: Ts,
    },
    /// An alarm source reported the alarms it watches, by service.
    Alarms {
        source: String,
        alarms: Vec<(usize, ExternalAlarm)>,
        at: Ts,
    },
}

impl Msg {
    pub fn at(&self) -> Ts {
        match self {
            Msg::Tick(at) | Msg::Action(_, at) => *at,
            Msg::Probed { result, .. } => result.at,
            Msg::FaultSet { at, .. }
            | Msg::EffectFailed { at, .. }
            | Msg::TrafficRead { at, .. }
            | Msg::Metrics { at, .. }
            | Msg::WeightsPreview { at, .. }
            | Msg::WeightsSet { at, .. }
            | Msg::WeightsFailed { at, .. }
            | Msg::Alarms { at, .. } => *at,
        }
    }
}

/// Something core wants done in the world. Only the executor carries these out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Set (or with `None` clear) the sandbox fault of one environment.
    SetFault {
        service: String,
        env: String,
        fault: Option<Fault>,
    },
    /// Ask the service's traffic provider to describe a change (changes nothing).
    PreviewWeights {
        service: String,
        from: Weights,
        to: Weights,
    },
    /// Change the weights, if they are still `from` (someone else may have
    /// moved them since the preview: then nothing is changed).
    SetWeights {
        service: String,
        from: Weights,
        to: Weights,
        by: String,
        purpose: Purpose,
    },
    /// Probe an endpoint again at once, `times` times: a failure is confirmed
    /// (or not) before its interval comes round.
    Reprobe { endpoint: EndpointId, times: u32 },
}

impl Effect {
    /// A one-line description for the event log and the journal.
    pub fn describe(&self) -> String {
        match self {
            Effect::SetFault {
                service,
                env,
                fault: Some(f),
            } => {
                format!("inject fault \"{}\" into {service}/{env}", f.label())
            }
            Effect::SetFault {
                service,
                env,
                fault: None,
            } => format!("clear faults of {service}/{env}"),
            Effect::PreviewWeights { service, from, to } => {
                format!(
                    "preview weights of {service}: {}",
                    Weights::describe_change(from, to)
                )
            }
            Effect::SetWeights {
                service,
                from,
                to,
                by,
                purpose: Purpose::Adjust,
            } => {
                format!(
                    "set weights of {service}: {} (by {by})",
                    Weights::describe_change(from, to)
                )
            }
            Effect::SetWeights {
                service,
                from,
                to,
                by,
                purpose:
                    Purpose::Rollback {
                        suspect, target, ..
                    },
            } => format!(
                "roll back {service} from {suspect} to {target}: {} (by {by})",
                Weights::describe_change(from, to)
            ),
            Effect::Reprobe { endpoint, times } => {
                format!(
                    "re-probe endpoint {}/{}/{} {times} times",
                    endpoint.service, endpoint.env, endpoint.endpoint
                )
            }
        }
    }
}
