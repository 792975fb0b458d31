//! The journal on a DynamoDB table (moto's server, behind a counting proxy
//! on loopback): how long a row takes to reach other consoles' screens
//! through the table, what an idle console costs in calls a minute, and
//! the rows and calls one whole rollback takes.

use std::time::{Duration, Instant};

use backstop::room::{Journal, Place, Redactor};

use super::common::moto::Moto;
use super::common::platform::{AWS_ENV, Backend, TABLE, World};
use super::common::proxy::Proxy;
use super::common::pty::Pty;

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Calls by API, as `PutItem 12, Query 240`.
fn by_api(calls: &[String]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in calls {
        *counts.entry(c.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn table() {
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(World::start_on(Backend::Table, "", ""));
    let moto: &Moto = w.moto.as_ref().unwrap();
    let proxy = rt.block_on(Proxy::start(&moto.url()));
    let writer = Journal::open_as(
        &Place {
            file: w.home.path().join("bench-writer.sqlite"),
            table: Some(backstop::room::dynamo::Table::new(
                TABLE,
                backstop::config::aws::AwsSettings {
                    region: Some(super::common::moto::REGION.into()),
                    profile: None,
                    endpoint_url: Some(moto.url()),
                    credentials: Some(("test".into(), backstop::config::Secret::new("test"))),
                },
            )),
            room: String::new(),
        },
        Redactor::default(),
        "bench-writer#1-1",
    )
    .unwrap();
    println!(
        "journal on a DynamoDB table (moto): a row written by one backstop, on every other console's screen"
    );
    println!("  consoles  samples    p50 ms    p99 ms    max ms");
    for n in [2usize, 10] {
        let mut screens: Vec<Pty> = (0..n)
            .map(|i| w.console(&format!("p{i}"), &[], Some(&proxy.url())))
            .collect();
        for c in &screens {
            c.wait_for("the console", Duration::from_secs(60), |s| {
                s.contains("headless test")
            });
        }
        let mut lat = Vec::new();
        for k in 0..samples {
            let text = format!("bench step {n}-{k} done");
            let t0 = Instant::now();
            let mut e =
                backstop::room::Entry::new(backstop::clock::now(), "event", "web", &text, "writer");
            e.data = Some(serde_json::json!({ "kind": "step" }));
            writer.append_now(e).unwrap();
            let mut seen = vec![false; n];
            while seen.iter().any(|s| !s) {
                for (i, c) in screens.iter().enumerate() {
                    if !seen[i] && c.screen().contains(&text) {
                        seen[i] = true;
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "row {k} never arrived"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "  {n:>8}  {:>7}  {:>8.0}  {:>8.0}  {:>8.0}",
            lat.len(),
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat.last().unwrap()
        );
        // What watching costs: every call these consoles make, idle.
        let before = proxy.calls().len();
        std::thread::sleep(Duration::from_secs(seconds));
        let calls = proxy.calls()[before..].to_vec();
        let per_min = calls.len() as f64 * 60.0 / seconds as f64 / n as f64;
        println!(
            "  idle, {n} consoles, {seconds}s: {:.0} calls a minute per console ({})",
            per_min,
            by_api(&calls)
        );
        for c in &mut screens {
            c.send("q");
        }
        for mut c in screens {
            c.wait_exit(Duration::from_secs(20));
        }
    }
    // One whole rollback, headless, through the proxy: rows and calls.
    let before_calls = proxy.calls().len();
    let rows_before = rows(&w);
    let mut c = w.home.command();
    let cfg = w.home.config_dir().join("backstop.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace(&moto.url(), &proxy.url())).unwrap();
    w.sandbox
        .set_fault(
            "web",
            "green",
            Some(backstop::core::model::Fault::Unhealthy),
        )
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    c.args(["rollback", "--service", "web", "--yes"])
        .envs(AWS_ENV);
    let t0 = Instant::now();
    let out = c.output().unwrap();
    let took = t0.elapsed();
    std::fs::write(&cfg, text).unwrap();
    let calls = proxy.calls()[before_calls..].to_vec();
    println!(
        "  one headless rollback (exit {:?}, {:.1}s): {} rows, {} calls ({})",
        out.status.code(),
        took.as_secs_f64(),
        rows(&w) - rows_before,
        calls.len(),
        by_api(&calls)
    );
}

fn rows(w: &World) -> i64 {
    rusqlite::Connection::open(w.journal())
        .unwrap()
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap()
}
