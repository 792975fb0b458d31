//! CloudWatch's ALB metrics as a metric source: per environment (its target
//! group), requests and 5xx answers (`RequestCount`, `HTTPCode_Target_5XX_Count`,
//! sums per minute) and `TargetResponseTime` percentiles, read with
//! `GetMetricData` — one call for many metrics — and turned into the same
//! windows the sandbox's traffic gives the rules.
//!
//! The percentiles go in a call of their own: if it fails (some emulators
//! cannot compute them), the error rate still arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use tokio::sync::OnceCell;

use super::{Aws, describe};
use crate::config::aws::CloudWatchMetricsConfig;
use crate::core::metrics::WindowStats;
use crate::core::time::Ts;
use crate::providers::BoxFuture;
use crate::sources::metrics::SourceError;
use crate::sources::metrics::{MetricSource, NamedSnapshot};

const NAMESPACE: &str = "AWS/ApplicationELB";
const PERIOD: i32 = 60;

/// One environment's metrics.
#[derive(Clone, Debug)]
pub struct Target {
    pub service: String,
    pub env: String,
    pub load_balancer: String,
    pub target_group: String,
}

pub struct CloudWatchMetrics {
    aws: Arc<Aws>,
    name: String,
    targets: Vec<Target>,
    /// Windows besides 1 and 5 minutes that rules ask for (whole minutes).
    extra: Vec<Duration>,
    client: OnceCell<aws_sdk_cloudwatch::Client>,
    percentiles_warned: AtomicBool,
}

impl CloudWatchMetrics {
    pub fn new(aws: Arc<Aws>, targets: Vec<Target>, extra: Vec<Duration>) -> Self {
        CloudWatchMetrics {
            name: format!("cloudwatch ({})", aws.describe()),
            aws,
            targets,
            extra,
            client: OnceCell::new(),
            percentiles_warned: AtomicBool::new(false),
        }
    }

    /// The targets of every service configured with CloudWatch metrics.
    pub fn targets(service: &str, cfg: &CloudWatchMetricsConfig) -> Vec<Target> {
        cfg.target_groups
            .iter()
            .map(|(env, tg)| Target {
                service: service.to_string(),
                env: env.clone(),
                load_balancer: cfg.load_balancer.clone(),
                target_group: tg.clone(),
            })
            .collect()
    }

    async fn client(&self) -> Result<&aws_sdk_cloudwatch::Client, super::AwsError> {
        let conf = self.aws.config().await?;
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_cloudwatch::Client::new(conf) })
            .await)
    }

    fn query(&self, id: String, t: &Target, metric: &str, stat: &str) -> MetricDataQuery {
        let dims = [
            ("LoadBalancer", &t.load_balancer),
            ("TargetGroup", &t.target_group),
        ]
        .into_iter()
        .map(|(n, v)| Dimension::builder().name(n).value(v.as_str()).build())
        .collect();
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(NAMESPACE)
                            .metric_name(metric)
                            .set_dimensions(Some(dims))
                            .build(),
                    )
                    .period(PERIOD)
                    .stat(stat)
                    .build(),
            )
            .return_data(true)
            .build()
    }

    /// Query id → (timestamp seconds, value), newest first.
    async fn fetch(
        &self,
        queries: Vec<MetricDataQuery>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<(String, Vec<(i64, f64)>)>, super::AwsError> {
        let client = self.client().await?;
        let mut out: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
        // GetMetricData takes 500 queries a call.
        for chunk in queries.chunks(500) {
            let mut token = None;
            loop {
                let resp = client
                    .get_metric_data()
                    .set_metric_data_queries(Some(chunk.to_vec()))
                    .start_time(DateTime::from_millis(from.millis()))
                    .end_time(DateTime::from_millis(to.millis()))
                    .scan_by(ScanBy::TimestampDescending)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| describe("GetMetricData", &e))?;
                for r in resp.metric_data_results() {
                    let id = r.id().unwrap_or_default().to_string();
                    let points: Vec<(i64, f64)> = r
                        .timestamps()
                        .iter()
                        .map(DateTime::secs)
                        .zip(r.values().iter().copied())
                        .collect();
                    match out.iter_mut().find(|(i, _)| *i == id) {
                        Some((_, v)) => v.extend(points),
                        None => out.push((id, points)),
                    }
                }
                token = resp.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        for (_, v) in &mut out {
            v.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        }
        Ok(out)
    }
}

/// The datapoints of the `minutes` whole minutes before `end` (seconds of
/// each datapoint's minute): by time, not by position, because CloudWatch
/// publishes no datapoint for a minute without errors.
fn within(
    series: Option<&Vec<(i64, f64)>>,
    minutes: usize,
    end: Ts,
) -> impl Iterator<Item = f64> + '_ {
    let end_s = end.millis() / 1000;
    let start_s = end_s - minutes as i64 * 60;
    series
        .into_iter()
        .flatten()
        .filter(move |(t, _)| *t >= start_s && *t < end_s)
        .map(|(_, v)| *v)
}

fn sum(series: Option<&Vec<(i64, f64)>>, minutes: usize, end: Ts) -> f64 {
    within(series, minutes, end).sum()
}

/// The worst percentile over the minutes (seconds → ms): a window's
/// percentile is not an average of its minutes' percentiles, and the worst
/// is the honest bound.
fn worst(series: Option<&Vec<(i64, f64)>>, minutes: usize, end: Ts) -> Option<f64> {
    within(series, minutes, end)
        .map(|v| v * 1000.0)
        .reduce(f64::max)
}

fn window(got: &[(String, Vec<(i64, f64)>)], i: usize, minutes: usize, end: Ts) -> WindowStats {
    let get = |prefix: &str| {
        got.iter()
            .find(|(id, _)| *id == format!("{prefix}{i}"))
            .map(|(_, v)| v)
    };
    let requests = sum(get("r"), minutes, end).max(0.0) as u64;
    let errors = (sum(get("e"), minutes, end).max(0.0) as u64).min(requests);
    WindowStats {
        window_secs: (minutes * 60) as u32,
        requests,
        errors,
        rate: requests as f64 / (minutes * 60) as f64,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        p50_ms: worst(get("pa"), minutes, end),
        p95_ms: worst(get("pb"), minutes, end),
        p99_ms: worst(get("pc"), minutes, end),
    }
}

impl MetricSource for CloudWatchMetrics {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&self, now: Ts) -> BoxFuture<'_, Result<Vec<NamedSnapshot>, SourceError>> {
        Box::pin(async move {
            let longest = self
                .extra
                .iter()
                .map(|d| d.as_secs().div_ceil(60) as usize)
                .max()
                .unwrap_or(0)
                .max(5);
            // Whole minutes only, and only those CloudWatch has had a minute
            // to publish: the current minute is incomplete, the one before it
            // may be too.
            let end = Ts(now.millis().div_euclid(60_000) * 60_000).minus(Duration::from_secs(60));
            let from = end.minus(Duration::from_secs(longest as u64 * 60));
            let counts: Vec<MetricDataQuery> = self
                .targets
                .iter()
                .enumerate()
                .flat_map(|(i, t)| {
                    [
                        self.query(format!("r{i}"), t, "RequestCount", "Sum"),
                        self.query(format!("e{i}"), t, "HTTPCode_Target_5XX_Count", "Sum"),
                    ]
                })
                .collect();
            let mut got = self.fetch(counts, from, end).await?;
            let latency: Vec<MetricDataQuery> = self
                .targets
                .iter()
                .enumerate()
                .flat_map(|(i, t)| {
                    [("pa", "p50"), ("pb", "p95"), ("pc", "p99")].map(|(id, stat)| {
                        self.query(format!("{id}{i}"), t, "TargetResponseTime", stat)
                    })
                })
                .collect();
            match self.fetch(latency, from, end).await {
                Ok(l) => got.extend(l),
                Err(e) => {
                    if !self.percentiles_warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!("{}: latency percentiles unavailable: {e}", self.name);
                    }
                }
            }
            Ok(self
                .targets
                .iter()
                .enumerate()
                .map(|(i, t)| NamedSnapshot {
                    service: t.service.clone(),
                    env: t.env.clone(),
                    one_min: window(&got, i, 1, end),
                    five_min: window(&got, i, 5, end),
                    extra: self
                        .extra
                        .iter()
                        .map(|d| window(&got, i, d.as_secs().div_ceil(60).max(1) as usize, end))
                        .collect(),
                    // CloudWatch sums requests per minute: no tally of
                    // them one by one, so comparisons say "no data".
                    tally: None,
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_whole_minutes_by_time() {
        // The window ends at 240 s: minutes start at 180, 120, 60…; a
        // datapoint of the unfinished minute (240) is left out.
        let end = Ts(240_000);
        let got = vec![
            (
                "r0".to_string(),
                vec![(240, 9999.0), (180, 600.0), (120, 600.0), (60, 1200.0)],
            ),
            // 5xx is published only for minutes with errors: none at 180.
            (
                "e0".to_string(),
                vec![(240, 500.0), (120, 60.0), (60, 12.0)],
            ),
            ("pb0".to_string(), vec![(180, 0.25), (120, 1.5)]),
        ];
        let one = window(&got, 0, 1, end);
        assert_eq!(
            (one.requests, one.errors),
            (600, 0),
            "no 5xx datapoint in the last minute: none"
        );
        assert!((one.rate - 10.0).abs() < 1e-9);
        assert_eq!(one.p95_ms, Some(250.0));
        let five = window(&got, 0, 5, end);
        assert_eq!((five.requests, five.errors), (2400, 72));
        assert!((five.error_rate - 0.03).abs() < 1e-9);
        assert_eq!(five.p95_ms, Some(1500.0), "the worst minute");
        assert_eq!(five.p50_ms, None);
        assert_eq!(window(&got, 1, 1, end).requests, 0);
    }
}
