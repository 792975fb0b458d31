//! What flows into core (`Msg`) and out of it (`Effect`).

use super::action::Action;
use super::model::{EndpointId, Fault, ProbeResult};
use super::time::Ts;

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
}

impl Msg {
    pub fn at(&self) -> Ts {
        match self {
            Msg::Tick(at) | Msg::Action(_, at) => *at,
            Msg::Probed { result, .. } => result.at,
            Msg::FaultSet { at, .. } | Msg::EffectFailed { at, .. } => *at,
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
        }
    }
}
