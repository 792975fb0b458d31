//! The decision engine on the real machinery: the sandbox's services over
//! HTTP, real probes, real synthetic traffic through the router, the engine
//! that the console and headless commands share.
//!
//! Time runs 4× faster than life (every window, hold and probe interval
//! divided by 4 together), so the default rules keep their meaning: an error
//! rate over 5 % for a minute is over 5 % for 15 s here, and a 5-second blip
//! is a 1.25-second blip.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use backstop::core::decision::{Decision, Policy};
use backstop::core::model::{Fault, Origin, State};
use backstop::core::rules::RuleStatus;
use backstop::engine::{Engine, Storage};
use backstop::sandbox::{Options, Sandbox, default_world};

const SPEED: f64 = 4.0;

/// The drill world with the default rules at 4×: probes every 500 ms.
async fn start(rate: f64) -> (Engine, Arc<Sandbox>, tempfile::TempDir) {
    let sb = Arc::new(
        Sandbox::start(&default_world(), &Options { rate })
            .await
            .unwrap(),
    );
    let mut config = sb.config(Duration::from_millis(500), Duration::from_millis(250));
    for s in &mut config.services {
        s.policy = Policy::default().scaled(SPEED);
    }
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(
        &config,
        Origin::Drill,
        Some(sb.clone()),
        &Storage::in_dir(dir.path()),
    )
    .unwrap();
    (engine, sb, dir)
}

fn rule(s: &State, env: usize, name: &str) -> RuleStatus {
    s.services[0]
        .rollback
        .rules
        .iter()
        .find(|r| r.env == env && r.kind.name() == name)
        .map_or(RuleStatus::Ok, |r| r.status)
}

fn healthy(s: &State) -> bool {
    s.services[0]
        .envs
        .iter()
        .all(|e| e.status == Some(backstop::core::health::HealthStatus::Ok))
        && s.services[0]
            .traffic
            .as_ref()
            .is_some_and(|t| t.weights.is_some())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_8_percent_error_fault_on_a_10_percent_canary_fires_after_its_window() {
    let (mut engine, sb, _dir) = start(100.0).await;
    assert!(
        engine.run_until(Duration::from_secs(10), healthy).await,
        "the drill came up"
    );
    sb.set_fault("web", "green", Some(Fault::ErrorRate(8)))
        .unwrap();
    let injected = Instant::now();
    let window = Duration::from_secs_f64(60.0 / SPEED);
    let fired = engine
        .run_until(Duration::from_secs(60), |s| {
            rule(s, 1, "error-rate") == RuleStatus::Firing
        })
        .await;
    let took = injected.elapsed();
    assert!(
        fired,
        "error-rate never fired; events: {:#?}",
        engine
            .state
            .events
            .iter()
            .map(|e| &e.text)
            .collect::<Vec<_>>()
    );
    // It held for its whole window first.
    assert!(
        took >= window,
        "fired after {took:?}, before its {window:?} window"
    );
    // Health stayed ok: only the traffic knew.
    assert_eq!(rule(&engine.state, 1, "health-failures"), RuleStatus::Ok);
    match &engine.state.services[0].rollback.decision {
        Decision::RollbackRecommended {
            suspect: 1,
            target: 0,
            reasons,
        } => {
            assert!(
                reasons.iter().any(|r| r.contains("error-rate")),
                "{reasons:?}"
            );
        }
        d => panic!("{d:?}"),
    }
    // Blue is untouched.
    assert_eq!(rule(&engine.state, 0, "error-rate"), RuleStatus::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blip_does_not_fire() {
    let (mut engine, sb, _dir) = start(100.0).await;
    assert!(
        engine.run_until(Duration::from_secs(10), healthy).await,
        "the drill came up"
    );
    // A network blip: every request to green fails for "5 seconds" (1.25 s at 4×).
    sb.set_fault("web", "green", Some(Fault::ErrorRate(100)))
        .unwrap();
    engine
        .run_until(Duration::from_millis(1250), |_| false)
        .await;
    sb.set_fault("web", "green", None).unwrap();
    // Watch for longer than the window and hold together.
    let fired = engine
        .run_until(Duration::from_secs(40), |s| {
            rule(s, 1, "error-rate") == RuleStatus::Firing
        })
        .await;
    assert!(!fired, "a blip fired the error-rate rule");
    assert!(
        engine
            .state
            .events
            .iter()
            .any(|e| e.text.starts_with("rule error-rate pending")),
        "the blip was seen (pending) but did not fire"
    );
    assert!(
        matches!(
            engine.state.services[0].rollback.decision,
            Decision::Healthy
        ),
        "{:?}",
        engine.state.services[0].rollback.decision
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_fault_fires_health_failures_after_three_probes() {
    let (mut engine, sb, _dir) = start(20.0).await;
    assert!(
        engine.run_until(Duration::from_secs(10), healthy).await,
        "the drill came up"
    );
    sb.set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let fired = engine
        .run_until(Duration::from_secs(10), |s| {
            rule(s, 1, "health-failures") == RuleStatus::Firing
        })
        .await;
    assert!(fired);
    let s = &engine.state;
    let worst = s.services[0].envs[1].consecutive_failures();
    assert!(worst >= 3, "fired at {worst} failures");
    // Evidence → rule → decision, in order, in the "why" timeline.
    let timeline: Vec<String> = s.services[0]
        .rollback
        .timeline
        .iter()
        .map(|e| e.text.clone())
        .collect();
    let pos = |needle: &str| {
        timeline
            .iter()
            .position(|t| t.contains(needle))
            .unwrap_or(usize::MAX)
    };
    assert!(
        pos("(1/3)") < pos("health-failures FIRING"),
        "{timeline:#?}"
    );
    assert!(
        pos("health-failures FIRING") < pos("ROLLBACK RECOMMENDED"),
        "{timeline:#?}"
    );
    assert!(matches!(
        s.services[0].rollback.decision,
        Decision::RollbackRecommended {
            suspect: 1,
            target: 0,
            ..
        }
    ));
}
