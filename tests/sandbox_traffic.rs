//! The drill sandbox's router and synthetic traffic, over real HTTP.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use backstop::clock::now;
use backstop::core::model::Fault;
use backstop::core::traffic::Weights;
use backstop::sandbox::router::ENV_HEADER;
use backstop::sandbox::{EnvSpec, Options, Sandbox};

fn world() -> Vec<EnvSpec> {
    vec![
        EnvSpec::new("web", "blue", "1.0.0", 90),
        EnvSpec::new("web", "green", "1.0.1", 10),
    ]
}

/// Send `n` requests through the router; count answers per environment and status.
async fn send(url: &str, n: usize) -> (HashMap<String, usize>, usize) {
    let client = reqwest::Client::new();
    let mut by_env = HashMap::new();
    let mut errors = 0;
    for _ in 0..n {
        let r = client
            .get(format!("{url}/api/orders"))
            .send()
            .await
            .unwrap();
        let env = r
            .headers()
            .get(ENV_HEADER)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if r.status().is_server_error() {
            errors += 1;
        }
        *by_env.entry(env).or_insert(0) += 1;
    }
    (by_env, errors)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weight_change_moves_the_split() {
    let sb = Sandbox::start(&world(), &Options { rate: 0.0 })
        .await
        .unwrap();
    let url = sb.router_url("web").unwrap();
    let (split, _) = send(&url, 1000).await;
    let green = split.get("green").copied().unwrap_or(0);
    assert!(
        (50..=150).contains(&green),
        "90/10 ±5 % over 1000 requests: {split:?}"
    );

    let applied = sb
        .set_weights(
            "web",
            &Weights::from_percents([("blue", 0), ("green", 100)]),
        )
        .unwrap();
    assert_eq!(applied.percents(), [0, 100]);
    let (split, _) = send(&url, 200).await;
    assert_eq!(split.get("green"), Some(&200), "{split:?}");
    assert_eq!(
        sb.weights("web").unwrap(),
        Weights::from_percents([("blue", 0), ("green", 100)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_show_as_the_expected_error_rate_and_latency() {
    let sb = Sandbox::start(&world(), &Options { rate: 0.0 })
        .await
        .unwrap();
    let url = sb.router_url("web").unwrap();
    sb.set_weights(
        "web",
        &Weights::from_percents([("blue", 0), ("green", 100)]),
    )
    .unwrap();

    sb.set_fault("web", "green", Some(Fault::ErrorRate(8)))
        .unwrap();
    let (_, errors) = send(&url, 1000).await;
    assert_eq!(errors, 80, "8 % of 1000 requests fail");
    // Health stays ok: a release that passes its health check and fails users.
    let health = reqwest::get(format!(
        "{}/api/health",
        sb.base_url("web", "green").unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(health.status(), 200);

    sb.set_fault("web", "green", Some(Fault::Latency(1500)))
        .unwrap();
    let started = Instant::now();
    let (_, errors) = send(&url, 2).await;
    let each = started.elapsed() / 2;
    assert_eq!(errors, 0);
    assert!(
        each >= Duration::from_millis(1500) && each < Duration::from_millis(2500),
        "{each:?}"
    );

    sb.set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let (_, errors) = send(&url, 10).await;
    assert_eq!(errors, 10, "a dead database fails every request");

    // Connection refused behind the router is a 502 from the router, as from nginx.
    sb.set_fault("web", "green", Some(Fault::Refused)).unwrap();
    let r = reqwest::get(format!("{url}/")).await.unwrap();
    assert_eq!(r.status(), 502);
    sb.set_fault("web", "green", None).unwrap();
    let (_, errors) = send(&url, 10).await;
    assert_eq!(errors, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generator_reports_rate_split_and_errors() {
    let sb = Sandbox::start(&world(), &Options { rate: 200.0 })
        .await
        .unwrap();
    sb.set_fault("web", "green", Some(Fault::ErrorRate(8)))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let snaps = sb.snapshots(now(), &[]);
    let get = |env: &str| {
        snaps
            .iter()
            .find(|s| s.env == env)
            .map(|s| s.one_min)
            .unwrap()
    };
    let (blue, green) = (get("blue"), get("green"));
    let total = (blue.requests + green.requests) as f64;
    assert!(
        total >= 900.0,
        "about 200 requests a second for 6 s: {total}"
    );
    let green_share = green.requests as f64 / total;
    assert!(
        (0.05..=0.15).contains(&green_share),
        "green takes 10 % ±5: {green_share}"
    );
    assert!(
        (0.03..=0.13).contains(&green.error_rate),
        "green fails 8 %: {}",
        green.error_rate
    );
    assert_eq!(blue.errors, 0);
    assert!(
        blue.rate > 150.0 && blue.rate < 200.0,
        "blue's rate: {}",
        blue.rate
    );
    assert!(blue.p95_ms.is_some());
}

/// The drill's world answers like a real service: the traffic's latency is
/// tens of milliseconds with a tail (not `<1ms`), and health endpoints a
/// few milliseconds to tens, far inside a probe's timeout.
#[tokio::test(flavor = "multi_thread")]
async fn the_default_world_answers_like_a_real_service() {
    let sb = Sandbox::start(
        &backstop::sandbox::default_world(),
        &Options { rate: 100.0 },
    )
    .await
    .unwrap();
    let base = sb.base_url("web", "blue").unwrap();
    let client = reqwest::Client::new();
    let mut health = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let r = client
            .get(format!("{base}/api/health"))
            .send()
            .await
            .unwrap();
        let _ = r.bytes().await;
        health.push(started.elapsed());
    }
    health.sort();
    let median = health[health.len() / 2];
    assert!(
        median >= Duration::from_millis(5) && median < Duration::from_millis(60),
        "health median {median:?}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snaps = sb.snapshots(now(), &[]);
    let blue = snaps.iter().find(|s| s.env == "blue").unwrap().one_min;
    let (p50, p99) = (blue.p50_ms.unwrap(), blue.p99_ms.unwrap());
    assert!((20.0..90.0).contains(&p50), "p50 {p50} ms");
    assert!(p99 > p50 * 2.0, "a tail: p99 {p99} ms over p50 {p50} ms");
}
