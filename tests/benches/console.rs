//! Benchmarks, not timed tests: `cargo bench --bench console [-- NAME…]`
//! with NAME among `render`, `classify`, `rules`, `window`, `compare`, `router`,
//! `detect`, `bandwidth`, `journal` (all by default); the war room's
//! `propagation`, `observer` and `death`, the DynamoDB journal's `table`
//! and the 2,000/10,000-endpoint `scale` run only when named.
//! `BENCH_SECONDS` shortens the bandwidth run (default 60).
//! Figures and how to read them: docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../common/mod.rs"]
mod common;
#[path = "dynamodb.rs"]
mod dynamodb;
#[path = "scale.rs"]
mod scale;
#[path = "war_room.rs"]
mod war_room;

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backstop::config::{Config, EndpointConfig, EnvConfig, ServiceConfig};
use backstop::core::health::{self, Check, HealthReport, HealthStatus, HttpAnswer};

use backstop::core::model::{EndpointId, Origin, ProbeResult, Role, State};
use backstop::core::msg::Msg;
use backstop::core::time::Ts;
use backstop::core::update::update;
use backstop::keymap::Keymap;
use backstop::tui::{self, Theme, View};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("render") {
        render();
    }
    if run("classify") {
        classify();
    }
    if run("rules") {
        rules();
    }
    if run("window") {
        window();
    }
    if run("compare") {
        compare();
    }
    if run("router") {
        router();
    }
    if run("detect") {
        detect();
    }
    if run("bandwidth") {
        bandwidth();
    }
    if run("journal") {
        journal();
    }
    if run("aws") {
        aws();
    }
    // Real consoles in pseudo-terminals: minutes each, so only when named.
    if wanted.iter().any(|w| w == "propagation") {
        war_room::propagation();
    }
    if wanted.iter().any(|w| w == "observer") {
        war_room::idle_observer();
    }
    if wanted.iter().any(|w| w == "death") {
        war_room::driver_death();
    }
    if wanted.iter().any(|w| w == "table") {
        dynamodb::table();
    }
    if wanted.iter().any(|w| w == "scale") {
        scale::scale();
    }
}

/// Against moto's server (`BACKSTOP_MOTO_SERVER`, or target/moto-venv as
/// `scripts/test` installs it): cold start to the first AWS data, and the
/// API calls a minute 50 services cost at the default cadence.
fn aws() {
    use aws_sdk_ecs::types::ContainerDefinition;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, ProtocolEnum, TargetGroupTuple,
    };
    use backstop::core::model::Origin;
    use backstop::engine::{Engine, Storage};
    use common::moto::{Moto, xml};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let moto = Moto::start_logged(dir.path().join("moto.log"));
        let sdk = moto.sdk().await;
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        let cw = aws_sdk_cloudwatch::Client::new(&sdk);
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
        let health = common::TestServer::start(common::Reply::json(200, r#"{"status":"ok"}"#)).await;
        ecs.create_cluster().cluster_name("prod").send().await.unwrap();
        for v in 1..=2 {
            ecs.register_task_definition()
                .family("web")
                .container_definitions(
                    ContainerDefinition::builder()
                        .name("web")
                        .image(format!("web:{v}"))
                        .memory(128)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        let vpc = xml(&moto.ec2(&[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")]).await, "vpcId");
        let mut subnets = Vec::new();
        for (cidr, az) in [("10.0.1.0/24", "eu-west-1a"), ("10.0.2.0/24", "eu-west-1b")] {
            let b = moto
                .ec2(&[("Action", "CreateSubnet"), ("VpcId", &vpc), ("CidrBlock", cidr), ("AvailabilityZone", az)])
                .await;
            subnets.push(xml(&b, "subnetId"));
        }
        let lb = elb.create_load_balancer().name("shop").set_subnets(Some(subnets)).send().await.unwrap();
        let lb_arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_string();
        let mut text = format!(
            "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n",
            moto.url()
        );
        for i in 0..50 {
            let name = format!("svc-{i:02}");
            ecs.create_service().cluster("prod").service_name(&name).task_definition("web:2").desired_count(2).send().await.unwrap();
            cw.put_metric_alarm()
                .alarm_name(format!("{name}-5xx"))
                .namespace("AWS/ApplicationELB")
                .metric_name("HTTPCode_Target_5XX_Count")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                .period(60)
                .evaluation_periods(1)
                .threshold(10.0)
                .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
                .send()
                .await
                .unwrap();
            let mut tgs = Vec::new();
            for env in ["blue", "green"] {
                let tg = elb
                    .create_target_group()
                    .name(format!("{name}-{env}"))
                    .protocol(ProtocolEnum::Http)
                    .port(8080)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .unwrap();
                tgs.push(tg.target_groups()[0].target_group_arn().unwrap().to_string());
            }
            let action = Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .forward_config(
                    ForwardActionConfig::builder()
                        .target_groups(TargetGroupTuple::builder().target_group_arn(&tgs[0]).weight(100).build())
                        .target_groups(TargetGroupTuple::builder().target_group_arn(&tgs[1]).weight(0).build())
                        .build(),
                )
                .build();
            let l = elb
                .create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(ProtocolEnum::Http)
                .port(8000 + i)
                .default_actions(action)
                .send()
                .await
                .unwrap();
            let listener = l.listeners()[0].listener_arn().unwrap();
            let h = health.url("/health");
            text.push_str(&format!(
                "[services.{name}.environments.blue]\nendpoints = [{{ url = \"{h}\" }}]\n\
                 [services.{name}.environments.green]\nendpoints = [{{ url = \"{h}\" }}]\n\
                 [services.{name}.deploy]\nprovider = \"ecs\"\ncluster = \"prod\"\nservice = \"{name}\"\n\
                 [services.{name}.traffic]\nprovider = \"alb\"\nlistener = \"{listener}\"\ntarget_groups = {{ blue = \"{}\", green = \"{}\" }}\n\
                 [services.{name}.alarms]\nprovider = \"cloudwatch\"\nnames = [\"{name}-5xx\"]\n\
                 [services.{name}.metrics]\nprovider = \"cloudwatch\"\n",
                tgs[0], tgs[1]
            ));
        }
        let mut config = backstop::config::parse(&text, "bench.toml", &|_| None).unwrap();
        let keys = Some(("test".to_string(), backstop::config::Secret::new("test")));
        for s in &mut config.services {
            if let Some(backstop::config::DeployConfig::Ecs(e)) = &mut s.deploy {
                e.aws.credentials = keys.clone();
            }
            if let Some(a) = &mut s.alarms {
                a.aws.credentials = keys.clone();
            }
            if let Some(m) = &mut s.metrics {
                m.aws.credentials = keys.clone();
            }
            if let Some(t) = &mut s.traffic
                && let backstop::config::TrafficKind::Alb(a) = &mut t.kind
            {
                a.aws.credentials = keys.clone();
            }
        }
        // Cold start: engine start to deployments, traffic and alarms of every service on screen.
        let mut starts = Vec::new();
        for round in 0..5 {
            let started = Instant::now();
            let mut engine = Engine::start(&config, Origin::Config("bench.toml".into()), None, &Storage::in_dir(&dir.path().join(format!("j{round}")))).unwrap();
            let ok = engine
                .run_until(Duration::from_secs(60), |s| {
                    s.services.iter().all(|svc| {
                        svc.deploy.as_ref().is_some_and(|d| d.read_at.is_some())
                            && svc.traffic.as_ref().is_some_and(|t| t.weights.is_some())
                            && !svc.alarms.is_empty()
                    })
                })
                .await;
            assert!(ok, "not all AWS data arrived");
            starts.push(started.elapsed());
        }
        starts.sort();
        println!("aws: cold start to first AWS data of 50 services: median {:?} (min {:?}, max {:?}, n=5)", starts[2], starts[0], starts[4]);
        // Calls a minute, the console running at the default cadence.
        let mut engine = Engine::start(&config, Origin::Config("bench.toml".into()), None, &Storage::in_dir(&dir.path().join("jm"))).unwrap();
        engine.run_until(Duration::from_secs(15), |_| false).await;
        let before = moto.calls();
        engine.run_until(Duration::from_secs(60), |_| false).await;
        let calls = moto.calls() - before;
        println!("aws: 50 services (ECS deploy, ALB traffic, CloudWatch alarms and metrics), default cadence: {calls} API calls in 60 s");
    });
}

/// The journal: events appended without waiting (the engine's path after
/// every update), and intents that wait until they are on disk (before
/// every change).
fn journal() {
    use backstop::room::{Entry, Journal, Reader, Redactor};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite");
    let j = Journal::open(
        &path,
        Redactor::new(["https://hooks.example.com/s3cr3t".to_string()]),
    )
    .unwrap();
    let n = 20_000;
    let started = Instant::now();
    for i in 0..n {
        let mut e = Entry::new(
            Ts(i),
            "event",
            "web/green",
            "OK → CRIT  health: HTTP 503 · database critical",
            "ops@bastion",
        );
        e.data = Some(serde_json::json!({ "kind": "health" }));
        j.append(e);
    }
    let queued = started.elapsed();
    rt.block_on(j.flush());
    let written = started.elapsed();
    println!(
        "journal: {n} events queued in {queued:?} ({:?} each on the caller), written in {written:?} ({:.0} rows/s)",
        queued / n as u32,
        n as f64 / written.as_secs_f64()
    );
    let mut times = Vec::new();
    for i in 0..300 {
        let e = Entry::new(
            Ts(i),
            "intent",
            "web",
            "switch traffic of web: blue 90 → 100 %, green 10 → 0 %",
            "ops@bastion",
        );
        let started = Instant::now();
        rt.block_on(j.append_durable(e)).unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "journal: durable intent p50 {:?}  p99 {:?}  max {:?}  (n={})",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        times.len()
    );
    // A rollback's intent as a driver writes it: under its lease's fence,
    // judged by the journal over every row of the room (the fence, no
    // change open, the cooldown and the limit), then its outcome.
    let session = backstop::identity::session();
    let mut leases = backstop::room::lease::Leases::open(&path).unwrap();
    let token = match leases
        .take(
            "api",
            &session,
            "ops@bastion",
            0,
            Duration::from_secs(30),
            backstop::room::Claim::Free,
        )
        .unwrap()
    {
        backstop::room::Taken::Granted(l) => l.token,
        other => panic!("the lease was not granted: {other:?}"),
    };
    let guard = backstop::core::room::Guard {
        cooldown_ms: 1,
        max_rollbacks: 1_000_000,
        window_ms: 3_600_000,
    };
    let mut times = Vec::new();
    for i in 0..300 {
        let mut e = Entry::new(
            Ts(n + i * 10),
            "intent",
            "api",
            "switch traffic of api: blue 0 → 100 %, green 100 → 0 %",
            "ops@bastion",
        );
        e.data = Some(serde_json::json!({ "kind": "switch-traffic", "guard": guard }));
        let fence = backstop::room::Fence {
            service: "api".into(),
            token,
        };
        let started = Instant::now();
        let id = rt.block_on(j.append_fenced(e, Some(fence))).unwrap();
        times.push(started.elapsed());
        let mut o = Entry::new(
            Ts(n + i * 10 + 5),
            "outcome",
            "api",
            "switched",
            "ops@bastion",
        );
        o.reference = Some(id);
        o.data = Some(serde_json::json!({ "kind": "switch-traffic", "ok": true }));
        rt.block_on(j.append_durable(o)).unwrap();
    }
    times.sort();
    println!(
        "journal: fenced rollback intent, judged over the room (p50 {:?}  p99 {:?}  max {:?}  (n={}))",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        times.len()
    );
    let r = Reader::open(&path).unwrap();
    let started = Instant::now();
    let open = r.interrupted().unwrap();
    println!(
        "journal: finding interrupted intents among {} rows: {:?} ({} found)",
        r.count().unwrap(),
        started.elapsed(),
        open.len()
    );
}

/// Rule evaluation: 200 services × 3 environments, 6 rules each (the four
/// defaults, an alarm, manual), every probe window full. Per tick (all
/// services re-evaluated) and per probe result (its service re-evaluated).
fn rules() {
    use backstop::core::decision::Policy;
    use backstop::core::rules::RuleKind;
    let ep = |role| EndpointConfig {
        url: url::Url::parse("http://10.0.0.1:8080/api/health").unwrap(),
        role,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        headers: vec![],
        format: None,
    };
    let mut policy = Policy::default();
    policy.rules.push(RuleKind::Alarm {
        name: "5xx".into(),
        env: None,
    });
    let services = (0..200)
        .map(|i| ServiceConfig {
            name: format!("service-{i:03}"),
            environments: ["blue", "green", "canary"]
                .iter()
                .map(|e| EnvConfig {
                    name: (*e).into(),
                    endpoints: vec![ep(Role::Health)],
                    url: "http://127.0.0.1:9/".parse().unwrap(),
                })
                .collect(),
            traffic: None,
            policy: policy.clone(),
            runbook: manual_runbook(),
            deploy: None,
            smoke: vec![],
            alarms: None,
            metrics: None,
            read_only: false,
            database: None,
        })
        .collect();
    let config = Config {
        file: "bench.toml".into(),
        title: "bench".into(),
        services,
        notifiers: vec![],
        aws: Default::default(),
        lease_expiry: backstop::room::lease::EXPIRY,
        shared: true,
        approve_only: false,
        fresh_world: false,
        journal: Default::default(),
        room: "bench".into(),
        severities: backstop::core::severity::defaults(),
        status_page: None,
        escalation: None,
    };
    let mut s =
        backstop::engine::initial_state(&config, Origin::Config("bench.toml".into()), Ts(0));
    let report = |status| HealthReport {
        status,
        http_status: Some(200),
        version: Some("1.4.2".into()),
        checks: vec![],
        summary: "HTTP 200 OK".into(),
        error: None,
    };
    // Five minutes of probes, every 2 s, to fill the windows.
    for round in 0..150i64 {
        for svc in 0..200 {
            for env in 0..3 {
                let result = ProbeResult {
                    at: Ts(round * 2000),
                    latency_ms: 3.0 + (round % 7) as f64,
                    report: report(HealthStatus::Ok),
                    late: None,
                };
                update(
                    &mut s,
                    Msg::Probed {
                        endpoint: EndpointId {
                            service: svc,
                            env,
                            endpoint: 0,
                        },
                        result,
                    },
                );
            }
        }
    }
    let rules: usize = s.services.iter().map(|x| x.rollback.rules.len()).sum();
    let mut t = 300_000i64;
    let ticks = 50u32;
    let started = Instant::now();
    for _ in 0..ticks {
        t += 1000;
        black_box(update(&mut s, Msg::Tick(Ts(t))));
    }
    let per_tick = started.elapsed() / ticks;
    let n = 20_000u32;
    let started = Instant::now();
    for i in 0..n {
        t += 1;
        let result = ProbeResult {
            at: Ts(t),
            latency_ms: 3.0,
            report: report(HealthStatus::Ok),
            late: None,
        };
        let svc = (i % 200) as usize;
        black_box(update(
            &mut s,
            Msg::Probed {
                endpoint: EndpointId {
                    service: svc,
                    env: (i % 3) as usize,
                    endpoint: 0,
                },
                result,
            },
        ));
    }
    let per_sample = started.elapsed() / n;
    println!(
        "rules: 200 services x 3 envs, {rules} rule instances: {per_tick:?} per 1 Hz tick ({:.2} % of a core), {per_sample:?} per probe result",
        per_tick.as_secs_f64() * 100.0
    );
}

/// Cost of recording one sample in a metric window, and of reading a window.
fn window() {
    use backstop::core::metrics::MetricWindow;
    let mut w = MetricWindow::new(Duration::from_secs(10));
    let n = 10_000_000i64;
    let started = Instant::now();
    for i in 0..n {
        // 1,000 samples a second, latencies spread over 1–997 ms.
        w.record(Ts(1_800_000_000_000 + i), (i % 997) as f64, i % 13 == 0);
    }
    let per = started.elapsed() / n as u32;
    let now = Ts(1_800_000_000_000 + n);
    let reads = 2000u32;
    let started = Instant::now();
    for _ in 0..reads {
        black_box(w.stats(black_box(now), Duration::from_secs(60)));
    }
    let read_1m = started.elapsed() / reads;
    let started = Instant::now();
    for _ in 0..reads {
        black_box(w.stats(black_box(now), Duration::from_secs(300)));
    }
    let read_5m = started.elapsed() / reads;
    println!(
        "metric window: record {per:?} per sample (10M samples at 1000/s); stats 1m {read_1m:?}, 5m {read_5m:?} per read"
    );
}

/// The canary judge on one pair of tallies: what one comparison rule costs
/// each time its service is judged, after minutes and after hours of a
/// trial (the tallies keep two significant digits, so their size, and the
/// cost, stop growing with the requests).
fn compare() {
    use backstop::core::compare::{self, Direction, Metric, Tally, Test};
    let test = |metric| Test {
        metric,
        min_effect: 0.01,
        confidence: 0.95,
        direction: Direction::Increase,
    };
    for requests in [5_000u64, 5_000_000] {
        let (mut canary, mut baseline) = (Tally::default(), Tally::default());
        // Latencies over 5–500 ms, one in a hundred failing; 5 % canary.
        for i in 0..requests {
            let ms = 5.0 + ((i * 7919) % 4950) as f64 / 10.0;
            let side = if i % 20 == 0 {
                &mut canary
            } else {
                &mut baseline
            };
            side.record(ms, i % 100 == 0);
        }
        let n = 20_000u32;
        let started = Instant::now();
        for _ in 0..n {
            black_box(compare::errors(
                black_box(&canary),
                &baseline,
                test(Metric::Errors),
            ));
        }
        let errors = started.elapsed() / n;
        let n = 2_000u32;
        let started = Instant::now();
        for _ in 0..n {
            black_box(compare::latency(
                black_box(&canary),
                &baseline,
                test(Metric::Latency),
            ));
        }
        let latency = started.elapsed() / n;
        println!(
            "compare: {requests} requests ({} and {} latency values): errors {errors:?}, latency {latency:?} per comparison",
            canary.latency.len(),
            baseline.latency.len()
        );
    }
}

/// Requests a second the sandbox sustains on one core: router, services and
/// the load generator all on a single-threaded runtime.
fn router() {
    use backstop::sandbox::{EnvSpec, Options, Sandbox};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let world = [EnvSpec::new("web", "blue", "1.0.0", 90), EnvSpec::new("web", "green", "1.0.1", 10)];
        let sb = Sandbox::start(&world, &Options { rate: 0.0 }).await.unwrap();
        let url = format!("{}/api/orders", sb.router_url("web").unwrap());
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (client, url, count) = (client.clone(), url.clone(), count.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    if let Ok(r) = client.get(&url).send().await {
                        let _ = r.bytes().await;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let rps = count.load(Ordering::Relaxed) as f64 / 5.0;
        println!("router + generator + services on one core: {rps:.0} requests/s (32 clients in a closed loop, 5 s)");
    });
}

/// Time from injecting an 8 % error fault on green until green's 1-minute
/// error rate crosses 5 % (the runbooks' threshold), at the drill's 50
/// requests a second: green as a 10 % canary, and green taking everything.
fn detect() {
    use backstop::core::model::Fault;
    use backstop::sandbox::{EnvSpec, Options, Sandbox};
    let rt = tokio::runtime::Runtime::new().unwrap();
    for green_share in [10u32, 100] {
        rt.block_on(async {
            let world = [EnvSpec::new("web", "blue", "1.0.0", 100 - green_share), EnvSpec::new("web", "green", "1.0.1", green_share)];
            let sb = Sandbox::start(&world, &Options { rate: 50.0 }).await.unwrap();
            // A full healthy minute first, so the window is what it would be in production.
            tokio::time::sleep(Duration::from_secs(61)).await;
            sb.set_fault("web", "green", Some(Fault::ErrorRate(8))).unwrap();
            let injected = Instant::now();
            loop {
                let snaps = sb.snapshots(backstop::clock::now(), &[]);
                let green = snaps.iter().find(|s| s.env == "green").map(|s| s.one_min).unwrap();
                if green.error_rate > 0.05 {
                    println!(
                        "detect 8 % errors, green at {green_share} % of 50 rps: 1m error rate > 5 % after {:.1} s ({} requests in the window)",
                        injected.elapsed().as_secs_f64(),
                        green.requests
                    );
                    break;
                }
                if injected.elapsed() > Duration::from_secs(120) {
                    println!("detect: not crossed within 120 s");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// 50 services × 3 environments × 2 endpoints, every history full.
fn big_state() -> State {
    let ep = |role| EndpointConfig {
        url: url::Url::parse("http://10.0.0.1:8080/api/health").unwrap(),
        role,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        headers: vec![],
        format: None,
    };
    let services = (0..50)
        .map(|i| ServiceConfig {
            name: format!("service-{i:02}"),
            environments: ["blue", "green", "canary"]
                .iter()
                .map(|e| EnvConfig {
                    name: (*e).into(),
                    endpoints: vec![ep(Role::Health), ep(Role::Ready)],
                    url: "http://127.0.0.1:9/".parse().unwrap(),
                })
                .collect(),
            traffic: None,
            policy: backstop::core::decision::Policy::default(),
            runbook: manual_runbook(),
            deploy: None,
            smoke: vec![],
            alarms: None,
            metrics: None,
            read_only: false,
            database: None,
        })
        .collect();
    let config = Config {
        file: "bench.toml".into(),
        title: "bench".into(),
        services,
        notifiers: vec![],
        aws: Default::default(),
        lease_expiry: backstop::room::lease::EXPIRY,
        shared: true,
        approve_only: false,
        fresh_world: false,
        journal: Default::default(),
        room: "bench".into(),
        severities: backstop::core::severity::defaults(),
        status_page: None,
        escalation: None,
    };
    let mut s =
        backstop::engine::initial_state(&config, Origin::Config("bench.toml".into()), Ts(0));
    for round in 0..64i64 {
        for svc in 0..50 {
            for env in 0..3 {
                for endpoint in 0..2 {
                    let status = if (svc + env + round as usize).is_multiple_of(17) {
                        HealthStatus::Degraded
                    } else {
                        HealthStatus::Ok
                    };
                    let report = HealthReport {
                        status,
                        http_status: Some(200),
                        version: Some("1.4.2".into()),
                        checks: vec![Check {
                            name: "db".into(),
                            status,
                            detail: "3ms".into(),
                        }],
                        summary: "HTTP 200 OK · status \"ok\"".into(),
                        error: None,
                    };
                    let result = ProbeResult {
                        at: Ts(round * 2000),
                        latency_ms: 3.0 + (round % 40) as f64 * 7.0,
                        report,
                        late: None,
                    };
                    update(
                        &mut s,
                        Msg::Probed {
                            endpoint: EndpointId {
                                service: svc,
                                env,
                                endpoint,
                            },
                            result,
                        },
                    );
                }
            }
        }
    }
    s
}

fn render() {
    let state = big_state();
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme { color: true },
    };
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let area = Rect::new(0, 0, w, h);
        let mut times = Vec::with_capacity(3000);
        for _ in 0..200 {
            let mut buf = Buffer::empty(area);
            tui::render(&state, &view, area, &mut buf);
        }
        for _ in 0..3000 {
            let started = Instant::now();
            let mut buf = Buffer::empty(area);
            tui::render(black_box(&state), &view, area, &mut buf);
            black_box(&buf);
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "render main view, 50 services x 3 envs, {w}x{h}: p50 {:?}  p99 {:?}  max {:?}  (n={})",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
            times.len()
        );
    }
    // With a rollback checklist open beside the live panes.
    let mut state = state;
    update(
        &mut state,
        Msg::Action(backstop::core::action::Action::StartRollback, Ts(200_000)),
    );
    assert!(state.has_checklist());
    let area = Rect::new(0, 0, 160, 48);
    let mut times = Vec::with_capacity(3000);
    for i in 0..3200 {
        let started = Instant::now();
        let mut buf = Buffer::empty(area);
        tui::render(black_box(&state), &view, area, &mut buf);
        black_box(&buf);
        if i >= 200 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "render with the rollback checklist open, 160x48: p50 {:?}  p99 {:?}  max {:?}  (n={})",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        times.len()
    );
}

fn classify() {
    let bodies: [(&str, u16, &str, &str); 4] = [
        (
            "runbook-000 JSON",
            200,
            "application/json",
            r#"{"status":"ok","timestamp":"2026-01-17T12:00:00.000Z","uptime":3600,"version":"1.0.0","checks":{"database":{"status":"ok","responseTime":15},"redis":{"status":"ok","responseTime":5},"memory":{"status":"ok","usage":{"heap":{"used":256,"total":512}}}}}"#,
        ),
        (
            "Spring Actuator",
            503,
            "application/vnd.spring-boot.actuator.v3+json",
            r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"refused"}},"diskSpace":{"status":"UP","details":{"total":499963174912,"free":91300425728}},"ping":{"status":"UP"}}}"#,
        ),
        (
            "Kubernetes verbose",
            200,
            "text/plain",
            "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-informers ok\n[+]poststarthook/crd-informer-synced ok\nreadyz check passed\n",
        ),
        ("ASP.NET plain", 200, "text/plain", "Healthy"),
    ];
    for (name, status, ct, body) in bodies {
        let answer = HttpAnswer {
            status,
            content_type: Some(ct),
            body: body.as_bytes(),
            truncated: false,
        };
        let n = 200_000u32;
        for _ in 0..1000 {
            black_box(health::classify(&answer, None));
        }
        let started = Instant::now();
        for _ in 0..n {
            black_box(health::classify(black_box(&answer), None));
        }
        let per = started.elapsed() / n;
        let rate = 1.0 / per.as_secs_f64();
        println!(
            "classify {name:<20} {:>4} B: {per:?} per answer, {:.0} answers/s, {:.1} MB/s",
            body.len(),
            rate,
            rate * body.len() as f64 / 1e6
        );
    }
}

/// Bytes written to the terminal per minute by `backstop drill` at 120×40
/// (every pane) and at 80×24 (the first screen), against `watch -n1`
/// printing status and latency of the same eight endpoints with curl, all
/// three side by side in one run: over the first two minutes (the house
/// issue's budget: at most watch's) and over the second minute alone.
fn bandwidth() {
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A sandbox for curl to hit: the same services the drill starts for itself.
    let sandbox = rt
        .block_on(backstop::sandbox::Sandbox::start(
            &backstop::sandbox::default_world(),
            &backstop::sandbox::Options { rate: 0.0 },
        ))
        .unwrap();
    let mut urls = Vec::new();
    for env in ["blue", "green"] {
        let base = sandbox.base_url("web", env).unwrap();
        for path in [
            "/api/health",
            "/api/health/ready",
            "/api/health/live",
            "/api/health/detailed",
        ] {
            urls.push(format!("{base}{path}"));
        }
    }
    let script = format!(
        "for u in {}; do curl -s -o /dev/null -w \"%{{http_code}} %{{time_total}}s $u\\n\" $u; done",
        urls.join(" ")
    );

    let secs: u64 = secs.max(2);
    let home = common::Home::new();
    let home80 = common::Home::new();
    let ptys = [
        (
            "backstop drill at 120x40 (every pane)",
            common::pty::Pty::spawn(&home, &["drill"], 120, 40, &[]),
        ),
        (
            "backstop drill at 80x24 (the first screen)",
            common::pty::Pty::spawn(&home80, &["drill"], 80, 24, &[]),
        ),
        (
            "watch -n1 + curl (the same 8 endpoints)",
            common::pty::Pty::spawn_program(&home, "watch", &["-n1", &script], 120, 40),
        ),
    ];
    let bytes = || {
        ptys.each_ref()
            .map(|(_, p)| p.bytes.load(Ordering::Relaxed))
    };
    std::thread::sleep(Duration::from_secs(secs / 2));
    let half = bytes();
    std::thread::sleep(Duration::from_secs(secs - secs / 2));
    let end = bytes();
    println!("bandwidth from start, {secs}s (default 120), B/min:");
    let per_min = |b: u64, over: u64| b as f64 * 60.0 / over as f64;
    let watch_all = per_min(end[2], secs);
    for (i, (name, _)) in ptys.iter().enumerate() {
        let all = per_min(end[i], secs);
        println!(
            "  {name:<44} whole run {all:>7.0}  second half {:>7.0}  (÷ watch {:.2})",
            per_min(end[i] - half[i], secs - secs / 2),
            all / watch_all
        );
    }
    drop(sandbox);
}

fn manual_runbook() -> backstop::core::runbook::Runbooks {
    backstop::core::runbook::Runbooks::Named(
        backstop::config::runbook::Catalog::builtin()
            .get("manual")
            .unwrap()
            .runbook
            .clone(),
    )
}
