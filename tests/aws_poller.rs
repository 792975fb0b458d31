//! The war room's AWS poller, through the real binary against moto's
//! server: consoles (`backstop watch`, the same engine as the console) on
//! one journal poll ECS, CloudWatch and the ALB once between them, not once
//! each; the others show what the poller read; and when the poller quits,
//! another console polls within seconds.
//!
//! Calls are counted on moto's side of a counting proxy on loopback: every
//! request the SDK signs names its service in the SigV4 credential scope
//! (`…/eu-west-1/ecs/aws4_request`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::ContainerDefinition;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use common::moto::{Moto, xml};
use common::{Home, Reply, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// A TCP proxy to `upstream` that counts signed AWS requests by service.
async fn counting_proxy(upstream: u16) -> (u16, Counts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts: Counts = Arc::default();
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                continue;
            };
            let counts = c.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    // What is left of the last read, should a credential
                    // scope straddle two reads.
                    let mut carry = String::new();
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while let Some(i) = carry.find("/aws4_request") {
                            let scope = &carry[..i];
                            let service = scope.rsplit('/').next().unwrap_or("?").to_string();
                            *counts.lock().unwrap().entry(service).or_default() += 1;
                            carry.drain(..i + "/aws4_request".len());
                        }
                        let keep = carry.len().saturating_sub(200);
                        let keep = (keep..=carry.len())
                            .find(|k| carry.is_char_boundary(*k))
                            .unwrap_or(carry.len());
                        carry.drain(..keep);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (port, counts)
}

fn snapshot(c: &Counts) -> BTreeMap<String, u64> {
    c.lock().unwrap().clone()
}

/// Calls by service between two snapshots.
fn diff(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect()
}

struct World {
    moto: Moto,
    counts: Counts,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    listener: String,
    tgs: Vec<String>,
    home: Home,
    file: String,
    _health: TestServer,
}

/// One service on the emulator behind the proxy: an ECS service (prod
/// cluster), an ALB listener forwarding blue 100 / green 0, a CloudWatch
/// alarm and ALB metrics; healthy endpoints. AWS polled at the shortest
/// cadences the configuration allows (deployments 2 s, traffic 1 s, alarms
/// 5 s, metrics 30 s).
async fn world() -> World {
    let moto = Moto::start();
    let (port, counts) = counting_proxy(moto.port).await;
    let sdk = moto.sdk().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("web")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("registry.example/web:1")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(2)
        .send()
        .await
        .unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    cw.put_metric_alarm()
        .alarm_name("web-5xx")
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
    let vpc = xml(
        &moto
            .ec2(&[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")])
            .await,
        "vpcId",
    );
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "eu-west-1a"), ("10.0.2.0/24", "eu-west-1b")] {
        let body = moto
            .ec2(&[
                ("Action", "CreateSubnet"),
                ("VpcId", &vpc),
                ("CidrBlock", cidr),
                ("AvailabilityZone", az),
            ])
            .await;
        subnets.push(xml(&body, "subnetId"));
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lb = elb
        .create_load_balancer()
        .name("web")
        .set_subnets(Some(subnets))
        .send()
        .await
        .unwrap();
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let mut tgs = Vec::new();
    for name in ["web-blue", "web-green"] {
        let tg = elb
            .create_target_group()
            .name(name)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        tgs.push(
            tg.target_groups()[0]
                .target_group_arn()
                .unwrap()
                .to_string(),
        );
    }
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&tgs, [100, 0]))
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let home = Home::new();
    let dir = home.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("aws.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[aws]
region = "eu-west-1"
endpoint_url = "http://127.0.0.1:{port}"
poll = {{ alarms = "5s", deployments = "2s", metrics = "30s" }}
[services.web.environments.blue]
endpoints = [{{ url = "{health}", interval = "2s", timeout = "1s" }}]
[services.web.environments.green]
endpoints = [{{ url = "{health}", interval = "2s", timeout = "1s" }}]
[services.web.traffic]
provider = "alb"
listener = "{listener}"
target_groups = {{ blue = "{}", green = "{}" }}
interval = "1s"
[services.web.deploy]
provider = "ecs"
cluster = "prod"
service = "web"
[services.web.alarms]
provider = "cloudwatch"
names = ["web-5xx"]
[services.web.metrics]
provider = "cloudwatch"
"#,
            tgs[0],
            tgs[1],
            health = health.url("/health"),
        ),
    )
    .unwrap();
    World {
        moto,
        counts,
        elb,
        listener,
        tgs,
        home,
        file: file.display().to_string(),
        _health: health,
    }
}

fn forward(tgs: &[String], w: [i32; 2]) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&tgs[0])
                        .weight(w[0])
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&tgs[1])
                        .weight(w[1])
                        .build(),
                )
                .build(),
        )
        .build()
}

impl World {
    /// `backstop watch` on the shared journal for `secs`, its JSON lines
    /// collected.
    fn watch(&self, operator: &str, secs: u64) -> Watch {
        let mut c = self.home.command();
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("BACKSTOP_OPERATOR", operator)
            .arg("--config")
            .arg(&self.file)
            .args(["watch", "--for", &format!("{secs}s"), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for mut pipe in [stdout, stderr] {
            let o = out.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    o.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Watch { child, out }
    }

    fn journal(&self) -> std::path::PathBuf {
        self.home.path().join("data/backstop/journal.sqlite")
    }

    /// Who holds the poller's lease: (session, pid).
    fn poller(&self) -> Option<(String, u32)> {
        let conn = rusqlite::Connection::open(self.journal()).ok()?;
        let session: String = conn
            .query_row(
                "SELECT session FROM leases WHERE service = '@aws-poller' AND released = 0",
                [],
                |r| r.get(0),
            )
            .ok()?;
        let pid = session
            .rsplit_once('#')?
            .1
            .split('-')
            .next()?
            .parse()
            .ok()?;
        Some((session, pid))
    }

    async fn set_weights(&self, w: [i32; 2]) {
        self.elb
            .modify_listener()
            .listener_arn(&self.listener)
            .default_actions(forward(&self.tgs, w))
            .send()
            .await
            .unwrap();
    }
}

struct Watch {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Watch {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn said(&self, what: &str) -> bool {
        self.out.lock().unwrap().contains(what)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok()
}

/// AWS calls a window costs with `n` consoles on one journal, by service,
/// after a warm-up (each console reads everything once at its start).
async fn calls_with(
    w: &World,
    n: usize,
    warm: Duration,
    window: Duration,
) -> BTreeMap<String, u64> {
    let secs = (warm + window).as_secs() + 30;
    let consoles: Vec<Watch> = (0..n).map(|i| w.watch(&format!("op{i}"), secs)).collect();
    tokio::time::sleep(warm).await;
    let before = snapshot(&w.counts);
    tokio::time::sleep(window).await;
    let calls = diff(&snapshot(&w.counts), &before);
    drop(consoles);
    calls
}

/// Ten consoles on the same services cost the AWS calls of one (within
/// 1.5×), by service, counted at the emulator's door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_consoles_poll_aws_no_more_than_one_does() {
    let w = world().await;
    let window = Duration::from_secs(30);
    let one = calls_with(&w, 1, Duration::from_secs(6), window).await;
    // The one console's lease must be free again before the ten start
    // (the process is gone: its lease is lost at once).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ten = calls_with(&w, 10, Duration::from_secs(10), window).await;
    println!("AWS calls in {window:?}: 1 console {one:?}; 10 consoles {ten:?}");
    for service in ["ecs", "elasticloadbalancing", "monitoring"] {
        let (a, b) = (
            one.get(service).copied().unwrap_or(0),
            ten.get(service).copied().unwrap_or(0),
        );
        assert!(a > 0, "one console polls {service}: {one:?}");
        assert!(
            b as f64 <= a as f64 * 1.5,
            "{service}: {b} calls with 10 consoles, {a} with one ({ten:?} / {one:?})"
        );
    }
    // Ten consoles took turns at nothing: one polled, the others followed
    // its rows (the readings are in the journal, by one session at a time).
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM journal WHERE kind = 'event' AND json_extract(data, '$.kind') = 'reading'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(rows > 0, "the poller publishes its readings");
    drop(w.moto);
}

/// Three consoles: the followers show a split the poller read (the change
/// is made behind backstop's back, on the emulator); then the poller quits
/// and another console polls within seconds, and the one left shows the
/// next change too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_show_the_pollers_readings_and_take_over_when_it_quits() {
    let w = world().await;
    let consoles: Vec<Watch> = (0..3).map(|i| w.watch(&format!("op{i}"), 120)).collect();
    assert!(
        wait_until(Duration::from_secs(20), || w.poller().is_some()).await,
        "a poller is elected: {}",
        consoles[0].out.lock().unwrap()
    );
    let (session, pid) = w.poller().unwrap();
    let poller = consoles.iter().position(|c| c.pid() == pid).unwrap();
    // Settled: the followers read AWS themselves only at their start.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = snapshot(&w.counts);
    w.set_weights([70, 30]).await;
    assert!(
        wait_until(Duration::from_secs(10), || consoles
            .iter()
            .all(|c| c.said("blue 100 → 70 %")))
        .await,
        "every console shows the new split: {:?}",
        consoles
            .iter()
            .map(|c| c.out.lock().unwrap().clone())
            .collect::<Vec<_>>()
    );
    let elb = diff(&snapshot(&w.counts), &before)
        .get("elasticloadbalancing")
        .copied()
        .unwrap_or(0);
    assert!(elb > 0, "the poller reads the load balancer");

    // The poller quits (SIGTERM, as a person's Ctrl-C or a closed session).
    let quit = Instant::now();
    signal(pid, 15);
    let next = wait_until(Duration::from_secs(10), || {
        w.poller().is_some_and(|(s, _)| s != session)
    })
    .await;
    let after = quit.elapsed();
    assert!(next, "another console takes the poller's lease");
    println!("poller quit → another console polls after {after:?}");
    assert!(
        after <= Duration::from_secs(4),
        "a follower polls within seconds of the poller quitting: {after:?}"
    );
    let (_, new_pid) = w.poller().unwrap();
    assert_ne!(new_pid, pid);
    // The readings go on: the next change reaches the console that follows.
    w.set_weights([40, 60]).await;
    let left: Vec<&Watch> = consoles
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != poller)
        .map(|(_, c)| c)
        .collect();
    assert!(
        wait_until(Duration::from_secs(10), || left
            .iter()
            .all(|c| c.said("blue 70 → 40 %")))
        .await,
        "the consoles left show the next change"
    );
}

fn signal(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
