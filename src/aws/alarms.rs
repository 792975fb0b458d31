//! CloudWatch alarms as an alarm source: every service's named alarms in
//! as few `DescribeAlarms` calls as possible (a hundred names a call, one
//! call per prefix), at the shared cadence, into the alarm pane and the
//! `alarm` rule.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use tokio::sync::{OnceCell, mpsc};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{Aws, describe};
use crate::config::aws::AlarmsConfig;
use crate::core::model::ExternalAlarm;
use crate::core::msg::Msg;
use crate::core::rules::AlarmState;
use crate::core::time::Ts;

pub struct CloudWatchAlarms {
    aws: Arc<Aws>,
    /// Service (by position) and what it watches.
    wants: Vec<(usize, AlarmsConfig)>,
    client: OnceCell<aws_sdk_cloudwatch::Client>,
}

impl CloudWatchAlarms {
    pub fn new(aws: Arc<Aws>, wants: Vec<(usize, AlarmsConfig)>) -> Self {
        CloudWatchAlarms {
            aws,
            wants,
            client: OnceCell::new(),
        }
    }

    /// `cloudwatch alarms (eu-west-1)`: how the panes name it.
    pub fn name(&self) -> String {
        format!("cloudwatch alarms ({})", self.aws.describe())
    }

    async fn client(&self) -> Result<&aws_sdk_cloudwatch::Client, super::AwsError> {
        let conf = self.aws.config().await?;
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_cloudwatch::Client::new(conf) })
            .await)
    }

    /// Every alarm wanted, for the services that want it.
    pub async fn poll(&self) -> Result<Vec<(usize, ExternalAlarm)>, super::AwsError> {
        let client = self.client().await?;
        // Metric and composite alarms alike: (name, state, reason, since).
        let mut found: Vec<ExternalAlarm> = Vec::new();
        let mut names: Vec<&str> = self
            .wants
            .iter()
            .flat_map(|(_, w)| w.names.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        for chunk in names.chunks(100) {
            let mut token = None;
            loop {
                let resp = client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| describe("DescribeAlarms", &e))?;
                found.extend(answer(&resp));
                token = resp.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        let mut prefixes: Vec<&str> = self
            .wants
            .iter()
            .filter_map(|(_, w)| w.prefix.as_deref())
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        for prefix in prefixes {
            let mut token = None;
            // Bounded: a prefix that matches thousands of alarms is a mistake.
            for _ in 0..10 {
                let resp = client
                    .describe_alarms()
                    .alarm_name_prefix(prefix)
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| describe("DescribeAlarms", &e))?;
                found.extend(answer(&resp));
                token = resp.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        let mut out = Vec::new();
        for (service, w) in &self.wants {
            let mut seen: Vec<&str> = Vec::new();
            for a in &found {
                let name = a.name.as_str();
                let wanted = w.names.iter().any(|n| n == name)
                    || w.prefix.as_deref().is_some_and(|p| name.starts_with(p));
                if wanted && !seen.contains(&name) {
                    seen.push(name);
                    out.push((*service, a.clone()));
                }
            }
            // A name CloudWatch does not know is said, not silently dropped.
            for n in &w.names {
                if !seen.contains(&n.as_str()) {
                    out.push((
                        *service,
                        ExternalAlarm {
                            name: n.clone(),
                            state: AlarmState::InsufficientData,
                            reason: "no such alarm in CloudWatch (check the name and the region)"
                                .into(),
                            since: Ts(0),
                            source: "cloudwatch".into(),
                        },
                    ));
                }
            }
        }
        Ok(out)
    }
}

fn state(v: Option<&StateValue>) -> AlarmState {
    match v {
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::Ok) => AlarmState::Ok,
        _ => AlarmState::InsufficientData,
    }
}

fn ts(d: Option<&aws_sdk_cloudwatch::primitives::DateTime>) -> Ts {
    d.map_or(Ts(0), |d| {
        Ts(d.secs() * 1000 + i64::from(d.subsec_nanos() / 1_000_000))
    })
}

/// Metric and composite alarms of one answer.
fn answer(
    resp: &aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput,
) -> Vec<ExternalAlarm> {
    let metric = resp.metric_alarms().iter().map(|a| ExternalAlarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        state: state(a.state_value()),
        reason: a.state_reason().unwrap_or_default().to_string(),
        since: ts(a.state_updated_timestamp()),
        source: "cloudwatch".into(),
    });
    let composite = resp.composite_alarms().iter().map(|a| ExternalAlarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        state: state(a.state_value()),
        reason: a.state_reason().unwrap_or_default().to_string(),
        since: ts(a.state_updated_timestamp()),
        source: "cloudwatch".into(),
    });
    metric.chain(composite).collect()
}

/// Poll at `every`; each answer (or failure) becomes a message. With a
/// `gate` (a war room), only when this console polls for the room or
/// nobody else has.
pub fn spawn(
    source: Arc<CloudWatchAlarms>,
    every: Duration,
    gate: Option<crate::poller::Gate>,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let name = source.name();
        let covered: Vec<usize> = source.wants.iter().map(|(s, _)| *s).collect();
        loop {
            crate::poller::next(gate.as_ref(), &mut ticker, every).await;
            let at = crate::clock::now();
            let msg = match source.poll().await {
                Ok(alarms) => Msg::Alarms {
                    source: name.clone(),
                    alarms,
                    covered: covered.clone(),
                    at,
                },
                Err(error) => Msg::SourceFailed {
                    source: name.clone(),
                    kind: crate::core::model::SourceKind::Alarms,
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
