//! The world the screen tests draw: a drill in progress, as the console
//! would hold it, built from messages; and how they draw and read it.
#![allow(dead_code, clippy::unwrap_used)]

use backstop::config;
use backstop::core::health::{Check, HealthReport, HealthStatus};
use backstop::core::metrics::WindowStats;
use backstop::core::model::{EndpointId, Fault, Origin, ProbeResult, State};
use backstop::core::msg::{EnvSnapshot, Msg};
use backstop::core::time::Ts;
use backstop::core::traffic::Weights;
use backstop::core::update::update;
use backstop::engine::initial_state;
use backstop::keymap::{Key, Keymap};
use backstop::tui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// 2026-11-21T14:00:00Z
pub const T0: i64 = 1_795_269_600_000;

pub const CONFIG: &str = r#"
title = "shop-prod-eu"
[services.web.environments.blue]
endpoints = [
  { url = "http://127.0.0.1:8081/api/health" },
  { url = "http://127.0.0.1:8081/api/health/ready", role = "ready" },
]
[services.web.environments.green]
endpoints = [
  { url = "http://127.0.0.1:8082/api/health" },
  { url = "http://127.0.0.1:8082/api/health/ready", role = "ready" },
]
[services.web.traffic]
provider = "nginx"
upstream_file = "/etc/nginx/conf.d/web.conf"
upstream = "web_pool"
servers = { blue = "10.0.0.1:8081", green = "10.0.0.2:8082" }
[services.checkout.environments.blue]
endpoints = [{ url = "http://127.0.0.1:8083/actuator/health?token=s3cret" }]
"#;

pub fn at(secs: i64) -> Ts {
    Ts(T0 + secs * 1000)
}

pub fn report(status: HealthStatus, code: u16, version: &str, checks: Vec<Check>) -> HealthReport {
    HealthReport {
        status,
        http_status: Some(code),
        version: Some(version.into()),
        checks,
        summary: format!("HTTP {code} · status \"{}\"", status.as_str()),
        error: None,
    }
}

pub fn check(name: &str, status: HealthStatus, detail: &str) -> Check {
    Check {
        name: name.into(),
        status,
        detail: detail.into(),
    }
}

pub fn probe(
    s: &mut State,
    service: usize,
    env: usize,
    endpoint: usize,
    secs: i64,
    ms: f64,
    r: HealthReport,
) {
    let result = ProbeResult {
        at: at(secs),
        latency_ms: ms,
        report: r,
        late: None,
    };
    update(
        s,
        Msg::Probed {
            endpoint: EndpointId {
                service,
                env,
                endpoint,
            },
            result,
        },
    );
}

/// The configuration, nothing heard yet; where the weights live in each
/// traffic provider's own words, as the engine sets them.
pub fn fresh() -> State {
    let cfg = config::parse(CONFIG, "backstop.toml", &|_| None).unwrap();
    let mut s = initial_state(&cfg, Origin::Drill, at(0));
    let aws = backstop::aws::Registry::default();
    for (svc, c) in s.services.iter_mut().zip(&cfg.services) {
        if let (Some(t), Some(p)) = (
            svc.traffic.as_mut(),
            backstop::providers::traffic::build(c, None, &aws),
        ) {
            t.target = p.target();
        }
    }
    s
}

/// A drill in progress: blue healthy, green failing after an injected fault,
/// checkout healthy.
pub fn scenario() -> State {
    let mut s = fresh();
    let ok = |v: &str| {
        report(
            HealthStatus::Ok,
            200,
            v,
            vec![
                check("database", HealthStatus::Ok, "3ms"),
                check("redis", HealthStatus::Ok, "1ms"),
            ],
        )
    };
    for i in 0..12 {
        let t = i * 2;
        probe(&mut s, 0, 0, 0, t, 3.0 + (i % 3) as f64, ok("1.0.0"));
        probe(&mut s, 0, 0, 1, t, 2.0, ok("1.0.0"));
        probe(
            &mut s,
            1,
            0,
            0,
            t,
            120.0,
            report(HealthStatus::Ok, 200, "3.4.1", vec![]),
        );
        if i < 8 {
            probe(&mut s, 0, 1, 0, t, 4.0, ok("1.0.1"));
            probe(&mut s, 0, 1, 1, t, 2.0, ok("1.0.1"));
        }
    }
    update(
        &mut s,
        Msg::FaultSet {
            service: "web".into(),
            env: "green".into(),
            fault: Some(Fault::Unhealthy),
            at: at(15),
        },
    );
    let bad = || {
        report(
            HealthStatus::Critical,
            503,
            "1.0.1",
            vec![
                check(
                    "database",
                    HealthStatus::Critical,
                    "connection pool exhausted · 1000ms",
                ),
                check("redis", HealthStatus::Ok, "1ms"),
            ],
        )
    };
    for t in [16, 18, 20, 22] {
        probe(&mut s, 0, 1, 0, t, 2.0, bad());
        probe(
            &mut s,
            0,
            1,
            1,
            t,
            1.0,
            report(
                HealthStatus::Critical,
                503,
                "1.0.1",
                vec![check("database", HealthStatus::Critical, "")],
            ),
        );
    }
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
            at: at(1),
        },
    );
    // A second a snapshot of the synthetic traffic: green starts failing at 16 s.
    for t in 1..=25 {
        let stats = |rate: f64, err: f64, p95: f64| WindowStats {
            window_secs: 60,
            requests: (rate * t as f64) as u64,
            errors: (rate * t as f64 * err) as u64,
            rate,
            error_rate: err,
            p50_ms: Some(p95 / 3.0),
            p95_ms: Some(p95),
            p99_ms: Some(p95 * 2.0),
        };
        let green_err = if t < 16 {
            0.0
        } else {
            0.08 * (t - 15) as f64 / 10.0
        };
        let snapshots = vec![
            EnvSnapshot {
                service: 0,
                env: 0,
                one_min: stats(45.0, 0.0, 4.0),
                five_min: stats(45.0, 0.0, 4.0),
                extra: vec![],
                tally: None,
            },
            EnvSnapshot {
                service: 0,
                env: 1,
                one_min: stats(5.0, green_err, 9.0),
                five_min: stats(5.0, green_err / 2.0, 9.0),
                extra: vec![],
                tally: None,
            },
        ];
        update(
            &mut s,
            Msg::Metrics {
                source: "sandbox traffic".into(),
                snapshots,
                at: at(t),
            },
        );
    }
    update(&mut s, Msg::Tick(at(25)));
    s
}

pub fn press(s: &mut State, keymap: &Keymap, key: Key) {
    let action = keymap
        .action(key)
        .unwrap_or_else(|| panic!("{key} is unbound"));
    update(s, Msg::Action(action, s.now));
}

pub fn draw(s: &State, w: u16, h: u16) -> TestBackend {
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme::plain(),
    };
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| tui::render(s, &view, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().clone()
}

pub fn text(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (a.y..a.y + a.height)
        .map(|y| {
            (a.x..a.x + a.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}
