//! The AWS providers against moto's server, a real AWS API emulator on
//! loopback: ECS deployments and the revert, CloudWatch alarms and metrics,
//! ALB weighted traffic, and an outage of the API mid-run.
//!
//! What the emulator cannot do is covered elsewhere and said here: it does
//! not start a new deployment on `UpdateService` — the service points at
//! the new revision, its one deployment still runs the old one — so a
//! rollout never goes IN_PROGRESS → COMPLETED or FAILED (`providers::ecs` unit tests read
//! real-AWS-shaped deployments for that, and `core::deploy` tests the
//! stability rule); and it cannot compute percentile statistics
//! (`GetMetricData` with `p95` fails; latency percentiles are read in a call
//! of their own so the error rate still arrives).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StateValue};
use aws_sdk_ecs::types::ContainerDefinition;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use backstop::clock::now;
use backstop::config::{self, Config, DeployConfig, Secret, TrafficKind};
use backstop::core::action::Action as Key;
use backstop::core::decision::Decision;
use backstop::core::deploy::Stability;
use backstop::core::model::{Origin, State};
use backstop::core::msg::{Msg, TextKey};
use backstop::core::runbook::StepStatus;
use backstop::engine::{Engine, Storage};
use backstop::providers::LeaseCheck;
use backstop::providers::traffic::TrafficProvider;
use common::moto::{Moto, xml};
use common::{Home, Reply, TestServer};

/// Dummy keys for every AWS setting in the configuration (the binary gets
/// them from the environment instead).
fn with_test_keys(mut c: Config) -> Config {
    let keys = Some(("test".to_string(), Secret::new("test")));
    c.aws.settings.credentials = keys.clone();
    for s in &mut c.services {
        if let Some(DeployConfig::Ecs(e)) = &mut s.deploy {
            e.aws.credentials = keys.clone();
        }
        if let Some(a) = &mut s.alarms {
            a.aws.credentials = keys.clone();
        }
        if let Some(m) = &mut s.metrics {
            m.aws.credentials = keys.clone();
        }
        if let Some(t) = &mut s.traffic
            && let TrafficKind::Alb(a) = &mut t.kind
        {
            a.aws.credentials = keys.clone();
        }
    }
    c
}

fn parse(text: &str) -> Config {
    with_test_keys(config::parse(text, "aws.toml", &|_| None).unwrap_or_else(|d| panic!("{d}")))
}

async fn ecs(m: &Moto) -> aws_sdk_ecs::Client {
    let c = aws_sdk_ecs::Client::new(&m.sdk().await);
    c.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    for image in ["registry.example/web:1.4.1", "registry.example/web:1.4.2"] {
        c.register_task_definition()
            .family("web")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("web")
                    .image(image)
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    c.create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition("web:2")
        .desired_count(2)
        .send()
        .await
        .unwrap();
    c
}

fn ecs_config(m: &Moto, health: &TestServer, extra: &str) -> String {
    format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{}"
poll = {{ alarms = "5s", deployments = "2s" }}

[services.web.environments.prod]
endpoints = [{{ url = "{}" }}]

[services.web.deploy]
provider = "ecs"
cluster = "prod"
service = "web"
{extra}
"#,
        m.url(),
        health.url("/health")
    )
}

async fn start(config: &Config, dir: &std::path::Path) -> Engine {
    Engine::start(
        config,
        Origin::Config("aws.toml".into()),
        None,
        &Storage::in_dir(dir),
    )
    .unwrap()
}

fn current(s: &State) -> Option<(usize, StepStatus)> {
    let c = s.services[0].rollback.checklist.as_ref()?;
    Some((c.cursor, c.current()?.status.clone()))
}

async fn type_line(engine: &mut Engine, text: &str) {
    for ch in text.chars() {
        engine.apply(Msg::Text(TextKey::Char(ch), now()));
    }
    engine.apply(Msg::Text(TextKey::Submit, now()));
}

#[tokio::test(flavor = "multi_thread")]
async fn ecs_deployments_show_and_the_default_runbook_reverts_to_the_previous_revision() {
    let m = Moto::start();
    let client = ecs(&m).await;
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = ecs_config(&m, &health, "");

    // `backstop status --json`, the real binary, keys from the environment.
    let home = Home::new();
    let file = home.path().join("aws.toml");
    std::fs::write(&file, &text).unwrap();
    let out = tokio::process::Command::new(common::bin())
        .envs(home.env_pairs())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["status", "--json", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &doc["services"]["web"]["deployments"];
    assert_eq!(d["provider"], "ecs", "{doc:#}");
    assert_eq!(d["environments"][0]["current"], "web:2", "{doc:#}");
    assert_eq!(d["environments"][0]["previous"], "web:1");
    assert_eq!(d["environments"][0]["rollouts"][0]["phase"], "completed");

    // The console's engine: the Deployments pane, then the revert.
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(&parse(&text), dir.path()).await;
    let read = engine
        .run_until(Duration::from_secs(15), |s| {
            s.services[0]
                .deploy
                .as_ref()
                .is_some_and(|d| !d.envs.is_empty())
                && s.services[0].envs[0].status.is_some()
        })
        .await;
    assert!(read, "{:?}", engine.state.services[0].deploy);
    let e = engine.state.services[0].deploy.as_ref().unwrap().envs[0].clone();
    assert_eq!(
        (e.current.as_str(), e.previous.as_deref()),
        ("web:2", Some("web:1"))
    );
    assert_eq!(e.stability(), Stability::Stable);

    engine.apply(Msg::Action(Key::StartRollback, now()));
    let c = engine.state.services[0]
        .rollback
        .checklist
        .clone()
        .expect("a checklist");
    let ids: Vec<&str> = c.steps.iter().map(|s| s.spec.id.as_str()).collect();
    assert!(
        ids.contains(&"revert") && ids.contains(&"wait-stable"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"switch-traffic"),
        "no traffic provider: no switch"
    );
    // prod answers healthy: the re-probe says so; the operator goes on anyway.
    engine
        .run_until(Duration::from_secs(10), |s| {
            matches!(current(s), Some((0, StepStatus::Failed(_))))
        })
        .await;
    engine.apply(Msg::Action(Key::Skip, now()));
    type_line(&mut engine, "customers report errors the probes do not see").await;
    engine.apply(Msg::Action(Key::OpenDetail, now())); // logs reviewed
    engine.apply(Msg::Action(Key::OpenDetail, now())); // message previewed
    let msg = match current(&engine.state) {
        Some((_, StepStatus::Previewing(lines))) => lines.join("\n"),
        other => panic!("{other:?}"),
    };
    assert!(
        msg.contains("Version: web:2 → web:1 (prod, revert)"),
        "{msg}"
    );
    engine.apply(Msg::Action(Key::Confirm, now()));
    engine
        .run_until(Duration::from_secs(5), |s| {
            matches!(current(s), Some((i, StepStatus::Current)) if s.services[0].rollback.checklist.as_ref().unwrap().steps[i].spec.id == "revert")
        })
        .await;
    engine.apply(Msg::Action(Key::OpenDetail, now()));
    let previewed = engine
        .run_until(Duration::from_secs(10), |s| {
            matches!(current(s), Some((_, StepStatus::Previewing(_))))
        })
        .await;
    assert!(previewed, "{:?}", current(&engine.state));
    let Some((_, StepStatus::Previewing(lines))) = current(&engine.state) else {
        unreachable!()
    };
    assert!(
        lines.iter().any(|l| l
            == "ECS service web (cluster prod): task definition web:2 → web:1, revision revert"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "UpdateService cluster=prod service=web taskDefinition=web:1"),
        "{lines:?}"
    );
    engine.apply(Msg::Action(Key::Confirm, now()));
    let reverted = engine
        .run_until(Duration::from_secs(10), |s| {
            s.services[0]
                .rollback
                .checklist
                .as_ref()
                .unwrap()
                .steps
                .iter()
                .any(|st| st.spec.id == "revert" && st.status == StepStatus::Done)
        })
        .await;
    assert!(reverted, "{:?}", current(&engine.state));
    // AWS itself says so.
    let svc = client
        .describe_services()
        .cluster("prod")
        .services("web")
        .send()
        .await
        .unwrap();
    assert_eq!(svc.services()[0].task_definition(), Some("web:1"));
    assert_eq!(
        engine.state.services[0].rollback.history.len(),
        1,
        "a revert counts for the guards"
    );
    // wait-stable follows the rollout. moto never starts one (see the top):
    // its only deployment still runs web:2, so the step keeps waiting and
    // shows why, which is what it must do on AWS until the new tasks run.
    let following = engine
        .run_until(Duration::from_secs(10), |s| {
            let c = s.services[0].rollback.checklist.as_ref().unwrap();
            // Read after the revert: the service points at web:1.
            let read = s.services[0]
                .deploy
                .as_ref()
                .is_some_and(|d| d.envs.first().is_some_and(|e| e.current == "web:1"));
            read && c.current().is_some_and(|st| {
                st.spec.id == "wait-stable"
                    && st
                        .evidence
                        .iter()
                        .any(|e| e == "web:2 PRIMARY COMPLETED 2/2")
            })
        })
        .await;
    let c = engine.state.services[0].rollback.checklist.clone().unwrap();
    assert!(following, "{:?}", c.current());
    assert!(
        matches!(
            current(&engine.state),
            Some((_, StepStatus::Running { .. }))
        ),
        "not stable while the old revision's deployment is the one running"
    );
    let d = engine.state.services[0].deploy.as_ref().unwrap();
    assert_eq!(d.envs[0].current, "web:1");

    // The journal holds the revert's intent and outcome.
    let incident = engine.state.services[0]
        .rollback
        .checklist
        .as_ref()
        .unwrap()
        .incident
        .unwrap();
    drop(engine);
    let r = backstop::room::Reader::open(&dir.path().join("journal.sqlite")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rows = r.of_incident(incident).unwrap();
        let intent = rows
            .iter()
            .find(|x| x.entry.kind == "intent" && x.entry.text.starts_with("revert web/prod"));
        if let Some(i) = intent
            && let Some(o) = rows
                .iter()
                .find(|x| x.entry.kind == "outcome" && x.entry.reference == Some(i.id))
        {
            assert_eq!(o.entry.level, "good", "{}", o.entry.text);
            break;
        }
        assert!(Instant::now() < deadline, "{rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn put_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) {
    cw.put_metric_alarm()
        .alarm_name(name)
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
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudwatch_alarm_in_alarm_fires_the_rule_and_recommends_a_rollback() {
    let m = Moto::start();
    ecs(&m).await;
    let cw = aws_sdk_cloudwatch::Client::new(&m.sdk().await);
    put_alarm(&cw, "web-5xx").await;
    put_alarm(&cw, "web-latency").await;
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = ecs_config(
        &m,
        &health,
        "[services.web.alarms]\nprovider = \"cloudwatch\"\nnames = [\"web-5xx\", \"web-latency\"]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(&parse(&text), dir.path()).await;
    let seen = engine
        .run_until(Duration::from_secs(15), |s| {
            s.services[0].alarms.len() == 2 && s.services[0].envs[0].status.is_some()
        })
        .await;
    assert!(seen, "{:?}", engine.state.services[0].alarms);
    assert_eq!(
        engine.state.services[0].rollback.decision,
        Decision::Healthy
    );
    assert!(
        engine
            .state
            .sources
            .iter()
            .any(|s| s.name.starts_with("cloudwatch alarms") && s.error.is_none() && s.items == 2)
    );

    cw.set_alarm_state()
        .alarm_name("web-5xx")
        .state_value(StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0)")
        .send()
        .await
        .unwrap();
    let fired = engine
        .run_until(Duration::from_secs(20), |s| {
            matches!(
                s.services[0].rollback.decision,
                Decision::RollbackRecommended { .. }
            )
        })
        .await;
    assert!(fired, "{:?}", engine.state.services[0].rollback.decision);
    let Decision::RollbackRecommended {
        suspect,
        target,
        reasons,
    } = &engine.state.services[0].rollback.decision
    else {
        unreachable!()
    };
    assert_eq!((*suspect, *target), (0, 0), "a revert in place");
    assert!(
        reasons.iter().any(|r| r.contains("alarm web-5xx")),
        "{reasons:?}"
    );
    assert!(engine.state.events.iter().any(|e| {
        e.text
            .contains("decision → ROLLBACK RECOMMENDED: prod → its previous revision")
    }));
    // The checklist's first check: health answers fine, but the alarm confirms it.
    engine.apply(Msg::Action(Key::StartRollback, now()));
    let confirmed = engine
        .run_until(Duration::from_secs(10), |s| {
            s.services[0]
                .rollback
                .checklist
                .as_ref()
                .is_some_and(|c| c.steps[0].status == StepStatus::Done)
        })
        .await;
    let c = engine.state.services[0].rollback.checklist.clone().unwrap();
    assert!(confirmed, "{:?}", c.steps[0]);
    assert!(
        c.steps[0]
            .evidence
            .iter()
            .any(|e| e.contains("alarm web-5xx ALARM still firing")),
        "{:?}",
        c.steps[0].evidence
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_alb_metrics_give_the_error_rate_rule_its_value() {
    let m = Moto::start();
    let cw = aws_sdk_cloudwatch::Client::new(&m.sdk().await);
    // The same minute's figures twice: for the minute CloudWatch has had
    // time to publish (the one before the current), and the one after it,
    // in case the clock crosses a minute before the first read.
    let minute = now().millis().div_euclid(60_000) * 60_000;
    for at in [minute - 90_000, minute - 30_000] {
        let datum = |metric: &str, tg: &str, v: f64| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("LoadBalancer")
                        .value("app/web/50dc6c495c0c9188")
                        .build(),
                )
                .dimensions(Dimension::builder().name("TargetGroup").value(tg).build())
                .value(v)
                .unit(StandardUnit::Count)
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_millis(at))
                .build()
        };
        cw.put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(datum("RequestCount", "targetgroup/web-blue/1", 3000.0))
            .metric_data(datum("RequestCount", "targetgroup/web-green/2", 600.0))
            .metric_data(datum(
                "HTTPCode_Target_5XX_Count",
                "targetgroup/web-green/2",
                60.0,
            ))
            .send()
            .await
            .unwrap();
    }
    let blue = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{}"
[services.web.environments.blue]
endpoints = [{{ url = "{}" }}]
[services.web.environments.green]
endpoints = [{{ url = "{}" }}]
[services.web.metrics]
provider = "cloudwatch"
load_balancer = "app/web/50dc6c495c0c9188"
target_groups = {{ blue = "targetgroup/web-blue/1", green = "targetgroup/web-green/2" }}
"#,
        m.url(),
        blue.url("/health"),
        blue.url("/health")
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(&parse(&text), dir.path()).await;
    let got = engine
        .run_until(Duration::from_secs(15), |s| {
            s.services[0].envs[1].metrics.traffic.is_some()
        })
        .await;
    assert!(got, "{:?}", engine.state.sources);
    let green = engine.state.services[0].envs[1]
        .metrics
        .traffic
        .clone()
        .unwrap();
    assert_eq!((green.one_min.requests, green.one_min.errors), (600, 60));
    assert!((green.one_min.error_rate - 0.10).abs() < 1e-9);
    assert!(
        (green.one_min.rate - 10.0).abs() < 1e-9,
        "600 requests in a minute"
    );
    let blue_m = engine.state.services[0].envs[0]
        .metrics
        .traffic
        .clone()
        .unwrap();
    assert_eq!((blue_m.one_min.requests, blue_m.one_min.errors), (3000, 0));
    assert!(green.source.starts_with("cloudwatch"));
    // The error-rate rule reads it: 10 % over 5 %, pending its minute.
    engine.apply(Msg::Tick(now()));
    let rule = engine.state.services[0]
        .rollback
        .rules
        .iter()
        .find(|r| r.env == 1 && r.kind.name() == "error-rate")
        .unwrap();
    assert_eq!(rule.observed, "10.0 %", "{rule:?}");
    assert_ne!(rule.status, backstop::core::rules::RuleStatus::Ok);
}

/// A load balancer on the emulator: a listener forwarding to `web-blue` and
/// `web-green` at `weights`. The client, the listener's ARN and the target groups'.
async fn alb(
    m: &Moto,
    weights: [i32; 2],
) -> (aws_sdk_elasticloadbalancingv2::Client, String, Vec<String>) {
    let vpc = xml(
        &m.ec2(&[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")])
            .await,
        "vpcId",
    );
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "eu-west-1a"), ("10.0.2.0/24", "eu-west-1b")] {
        let body = m
            .ec2(&[
                ("Action", "CreateSubnet"),
                ("VpcId", &vpc),
                ("CidrBlock", cidr),
                ("AvailabilityZone", az),
            ])
            .await;
        subnets.push(xml(&body, "subnetId"));
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&m.sdk().await);
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
    let forward = |w: [i32; 2]| {
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
    };
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(weights))
        .send()
        .await
        .unwrap();
    let listener_arn = listener.listeners()[0].listener_arn().unwrap().to_string();
    (elb, listener_arn, tgs)
}

/// The weights the listener forwards with, as AWS says.
async fn alb_weights(elb: &aws_sdk_elasticloadbalancingv2::Client, listener: &str) -> Vec<i32> {
    let l = elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .unwrap();
    l.listeners()[0].default_actions()[0]
        .forward_config()
        .unwrap()
        .target_groups()
        .iter()
        .map(|t| t.weight().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn alb_weights_are_read_previewed_switched_and_read_back() {
    let m = Moto::start();
    let (elb, listener_arn, tgs) = alb(&m, [100, 0]).await;
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{}"
[services.web.environments.blue]
endpoints = [{{ url = "{h}" }}]
[services.web.environments.green]
endpoints = [{{ url = "{h}" }}]
[services.web.traffic]
provider = "alb"
listener = "{listener_arn}"
target_groups = {{ blue = "{}", green = "{}" }}
interval = "1s"
"#,
        m.url(),
        tgs[0],
        tgs[1],
        h = health.url("/health"),
    );
    let config = parse(&text);
    let TrafficKind::Alb(alb) = &config.services[0].traffic.as_ref().unwrap().kind else {
        unreachable!()
    };
    let provider = backstop::providers::traffic::alb::AlbTraffic::new(
        backstop::aws::Aws::new(alb.aws.clone()),
        alb.clone(),
    );
    let before = provider.read().await.unwrap();
    assert_eq!(before.percents(), [100, 0]);
    let to = backstop::core::traffic::Weights::from_percents([("blue", 0), ("green", 100)]);
    let lines = provider.preview(&before, &to).await.unwrap();
    assert!(lines[0].contains("ModifyListener"), "{lines:?}");
    assert!(lines[1].ends_with("(blue): weight 100 → 0"), "{lines:?}");
    assert!(lines[2].ends_with("(green): weight 0 → 100"), "{lines:?}");
    // A stale preview is refused, and changes nothing.
    let stale = backstop::core::traffic::Weights::from_percents([("blue", 90), ("green", 10)]);
    let e = provider
        .set(&stale, &to, &LeaseCheck::none())
        .await
        .unwrap_err();
    assert!(e.message.contains("moved since the preview"), "{e:?}");
    let applied = provider
        .set(&before, &to, &LeaseCheck::none())
        .await
        .unwrap();
    assert_eq!(applied.weights.percents(), [0, 100]);
    // AWS itself, and the console's reads, say 0/100.
    let l = elb
        .describe_listeners()
        .listener_arns(&listener_arn)
        .send()
        .await
        .unwrap();
    let fc = l.listeners()[0].default_actions()[0]
        .forward_config()
        .unwrap();
    let weights: Vec<i32> = fc
        .target_groups()
        .iter()
        .map(|t| t.weight().unwrap())
        .collect();
    assert_eq!(weights, [0, 100]);
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(&config, dir.path()).await;
    let read = engine
        .run_until(Duration::from_secs(10), |s| {
            s.services[0]
                .traffic
                .as_ref()
                .and_then(|t| t.weights.as_ref())
                .is_some_and(|w| w.percents() == [0, 100])
        })
        .await;
    assert!(read, "{:?}", engine.state.services[0].traffic);
    assert!(
        engine.state.services[0]
            .traffic
            .as_ref()
            .unwrap()
            .target
            .contains("ALB listener")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emulator_outage_shows_in_the_panes_and_the_console_recovers() {
    let mut m = Moto::start();
    ecs(&m).await;
    let cw = aws_sdk_cloudwatch::Client::new(&m.sdk().await);
    put_alarm(&cw, "web-5xx").await;
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = ecs_config(
        &m,
        &health,
        "[services.web.alarms]\nprovider = \"cloudwatch\"\nnames = [\"web-5xx\"]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(&parse(&text), dir.path()).await;
    let up = engine
        .run_until(Duration::from_secs(15), |s| {
            s.services[0]
                .deploy
                .as_ref()
                .is_some_and(|d| d.read_at.is_some())
                && s.sources.iter().any(|x| x.ok_at.is_some())
        })
        .await;
    assert!(up);

    m.stop();
    let down = engine
        .run_until(Duration::from_secs(30), |s| {
            s.services[0]
                .deploy
                .as_ref()
                .is_some_and(|d| d.error.is_some())
                && s.sources.iter().any(|x| x.error.is_some())
        })
        .await;
    assert!(
        down,
        "{:?} {:?}",
        engine.state.services[0].deploy, engine.state.sources
    );
    let d = engine.state.services[0].deploy.as_ref().unwrap();
    assert!(
        d.error.as_ref().unwrap().0.contains("cannot reach AWS"),
        "{:?}",
        d.error
    );
    assert_eq!(
        d.envs[0].current, "web:2",
        "the last data stays, with its age"
    );
    // On screen: the error, and how old the data is.
    let keymap = backstop::keymap::Keymap::defaults();
    let view = backstop::tui::View {
        keymap: &keymap,
        theme: backstop::tui::Theme::plain(),
    };
    let area = ratatui::layout::Rect::new(0, 0, 160, 48);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    backstop::tui::render(&engine.state, &view, area, &mut buf);
    let screen: String = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(
        screen.contains("ecs: DescribeServices: cannot reach AWS"),
        "{screen}"
    );
    assert!(
        screen.contains("cloudwatch alarms (http://127.0.0.1:"),
        "{screen}"
    );

    // Back (empty, as moto restarts): seeded again, the errors clear.
    m.restart();
    ecs(&m).await;
    put_alarm(&aws_sdk_cloudwatch::Client::new(&m.sdk().await), "web-5xx").await;
    let back = engine
        .run_until(Duration::from_secs(30), |s| {
            s.services[0]
                .deploy
                .as_ref()
                .is_some_and(|d| d.error.is_none())
                && s.sources.iter().all(|x| x.error.is_none())
        })
        .await;
    assert!(
        back,
        "{:?} {:?}",
        engine.state.services[0].deploy, engine.state.sources
    );
    assert!(
        engine
            .state
            .events
            .iter()
            .any(|e| e.text.contains("readable again"))
    );
}

/// The binary with the emulator's dummy keys, in a private home.
fn aws_command(home: &Home) -> std::process::Command {
    let mut c = home.command();
    c.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

async fn output(c: std::process::Command) -> std::process::Output {
    let mut c = c;
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// A configuration file: service web on the emulator's ALB, its health
/// endpoints at `blue` and `green`.
fn alb_config_file(
    home: &Home,
    m: &Moto,
    listener: &str,
    tgs: &[String],
    blue: &str,
    green: &str,
    extra: &str,
) -> String {
    let dir = home.config_dir();
    std::fs::create_dir_all(dir.join("runbooks")).unwrap();
    std::fs::write(dir.join("runbooks/quick.toml"), common::QUICK_RUNBOOK).unwrap();
    let path = dir.join("aws.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[aws]
region = "eu-west-1"
endpoint_url = "{}"
[services.web.environments.blue]
endpoints = [{{ url = "{blue}", interval = "500ms", timeout = "400ms" }}]
[services.web.environments.green]
endpoints = [{{ url = "{green}", interval = "500ms", timeout = "400ms" }}]
[services.web.traffic]
provider = "alb"
listener = "{listener}"
target_groups = {{ blue = "{}", green = "{}" }}
interval = "1s"
[services.web.rollback]
runbook = "quick"
[[services.web.rules]]
kind = "health-failures"
count = 3
{extra}
"#,
            m.url(),
            tgs[0],
            tgs[1],
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// `verify`, `watch` and `rollback` headless on the ALB path: watch says a
/// rollback is required, the dry run shows the ModifyListener call and
/// changes nothing, `--yes` moves the weights on the emulator, and verify
/// fails before and passes after.
#[tokio::test(flavor = "multi_thread")]
async fn headless_verify_and_rollback_move_the_emulators_alb() {
    let m = Moto::start();
    let (elb, listener, tgs) = alb(&m, [0, 100]).await;
    let ok = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let broken = TestServer::start(Reply::json(503, r#"{"status":"critical"}"#)).await;
    let home = Home::new();
    let file = alb_config_file(
        &home,
        &m,
        &listener,
        &tgs,
        &ok.url("/health"),
        &broken.url("/health"),
        "",
    );
    let run = |args: &[&str]| {
        let mut c = aws_command(&home);
        c.arg("--config").arg(&file).args(args);
        output(c)
    };

    let o = run(&["verify", "--service", "web", "--stabilize", "0s", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(
        v["envs"],
        serde_json::json!(["green"]),
        "green takes the traffic"
    );
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("health web/green: CRIT"),
        "{v}"
    );

    // The monitor loop sees green fail and says so (exit 1), touching nothing.
    let o = run(&["watch", "--service", "web", "--for", "30s", "--json"]).await;
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(o.status.code(), Some(1), "{lines:?}");
    let end = lines.last().unwrap();
    assert_eq!(end["end"], "rollback-required", "{end}");
    assert!(
        end["text"]
            .as_str()
            .unwrap()
            .contains("green health-failures"),
        "{end}"
    );
    assert_eq!(alb_weights(&elb, &listener).await, [0, 100]);

    let o = run(&["rollback", "--service", "web", "--dry-run"]).await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("web via the alb traffic provider"), "{out}");
    assert!(out.contains("ModifyListener"), "{out}");
    assert_eq!(
        alb_weights(&elb, &listener).await,
        [0, 100],
        "a dry run changes nothing"
    );

    let o = run(&["rollback", "--service", "web", "--yes"]).await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("weights set by"), "{out}");
    assert_eq!(alb_weights(&elb, &listener).await, [100, 0]);

    let o = run(&["verify", "--service", "web", "--stabilize", "0s", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["envs"], serde_json::json!(["blue"]));
}

/// A drill with `--target aws`: the scenario's switch and backstop's
/// rollback both go through the emulator's ALB; the apps and their faults
/// are the sandbox's.
#[tokio::test(flavor = "multi_thread")]
async fn a_drill_rehearses_the_alb_path_on_the_emulator() {
    let m = Moto::start();
    // Where a previous drill (or a person) left it: the drill resets it.
    let (elb, listener, tgs) = alb(&m, [50, 50]).await;
    let home = Home::new();
    let unused = "http://127.0.0.1:9/health";
    let file = alb_config_file(&home, &m, &listener, &tgs, unused, unused, "");
    // Real weights change: not without an explicit yes.
    let mut c = aws_command(&home);
    c.arg("--config").arg(&file).args([
        "drill",
        "--headless",
        "--auto",
        "--target",
        "aws",
        "--scenario",
        "bad-switch",
    ]);
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --yes"));
    assert_eq!(alb_weights(&elb, &listener).await, [50, 50]);

    let mut c = aws_command(&home);
    c.arg("--config").arg(&file).args([
        "drill",
        "--headless",
        "--auto",
        "--json",
        "--yes",
        "--target",
        "aws",
        "--scenario",
        "bad-switch",
        "--speed",
        "10",
        "--seed",
        "1",
    ]);
    let o = output(c).await;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["held"], true, "{s}");
    assert_eq!(s["rollbacks"], 1, "{s}");
    // The drill set the ALB to blue, the scenario moved it to green,
    // backstop rolled it back to blue, and the end put it back as found.
    assert!(
        text.contains("put back as the drill found it: blue 100 → 50 %, green 0 → 50 %"),
        "{text}"
    );
    assert_eq!(alb_weights(&elb, &listener).await, [50, 50]);
    // The real listener's changes are production's record: journaled in
    // the configuration's room (not the drills' file), each intent under
    // the lease the drill took there, marked as a drill's (the guards leave
    // them out), each with its outcome.
    let prod =
        rusqlite::Connection::open(home.path().join("data/backstop/journal.sqlite")).unwrap();
    let took: String = prod
        .query_row(
            "SELECT text FROM journal WHERE text LIKE 'a DRILL (bad-switch) drives web%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(took.contains("(lease 1)"), "{took}");
    let intents: Vec<(i64, String, String)> = {
        let mut st = prod
            .prepare("SELECT id, room, data FROM journal WHERE kind = 'intent' ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(intents.len() >= 3, "start, scenario, rollback: {intents:?}");
    for (id, room, data) in &intents {
        assert_eq!(room, "aws", "the configuration's room (its file's name)");
        assert!(data.contains("\"drill\":true"), "{data}");
        let answered: i64 = prod
            .query_row(
                "SELECT COUNT(*) FROM journal WHERE kind = 'outcome' AND ref = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(answered, 1, "intent {id} has its one outcome");
    }
    let released: i64 = prod
        .query_row(
            "SELECT released FROM leases WHERE room = 'aws' AND service = 'web'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(released, 1, "the drill gave the lease back when it ended");

    // A configuration without an ALB for the service is refused up front.
    let plain = home.config_dir().join("plain.toml");
    std::fs::write(
        &plain,
        "[services.web.environments.blue]\nendpoints = [{ url = \"http://127.0.0.1:9/\" }]\n",
    )
    .unwrap();
    let mut c = aws_command(&home);
    c.arg("--config").arg(&plain).args([
        "drill",
        "--headless",
        "--auto",
        "--yes",
        "--target",
        "aws",
        "--scenario",
        "bad-switch",
    ]);
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("provider = \"alb\""));
}

/// `backstop verify` on a service with CloudWatch alarms on `endpoint`,
/// as login `ops` with `keys` (id, secret, session token), the journal at
/// `journal`; then the operator its start was journaled under.
async fn verify_as(
    home: &Home,
    endpoint: &str,
    keys: (&str, &str, &str),
    declared: Option<&str>,
    journal: &std::path::Path,
) -> (String, std::process::Output) {
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let file = home.path().join("alarms.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"
[services.web.environments.prod]
endpoints = [{{ url = "{}" }}]
[services.web.alarms]
provider = "cloudwatch"
names = ["web-5xx"]
"#,
            health.url("/health")
        ),
    )
    .unwrap();
    let mut c = home.command();
    c.env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("USER", "ops")
        .env_remove("SSH_CONNECTION")
        .env_remove("BACKSTOP_OPERATOR")
        .arg("--journal")
        .arg(journal)
        .arg("--config")
        .arg(&file);
    if !keys.2.is_empty() {
        c.env("AWS_SESSION_TOKEN", keys.2);
    }
    if let Some(name) = declared {
        c.args(["--operator", name]);
    }
    c.args(["verify", "--service", "web", "--stabilize", "0s"]);
    let o = output(c).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let conn = rusqlite::Connection::open(journal).unwrap();
    let operator: String = conn
        .query_row(
            "SELECT operator FROM journal WHERE text LIKE 'backstop verify started on %' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (operator, o)
}

/// The account the kernel runs the tests as: `$USER=ops` names no one.
fn login() -> String {
    backstop::identity::login_name()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_is_who_aws_says_the_caller_is_declared_or_not() {
    let m = Moto::start();
    // An SSO session, as IAM Identity Center makes them: the role's
    // session is named after the person.
    let role = "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123abcd";
    let sso = aws_sdk_sts::Client::new(&m.sdk().await)
        .assume_role()
        .role_arn(role)
        .role_session_name("alice@example.com")
        .send()
        .await
        .unwrap();
    let creds = sso.credentials().unwrap();
    let keys = (
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
    );
    let arn =
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com";
    let home = Home::new();
    let journal = home.path().join("journal.sqlite");

    let (op, _) = verify_as(&home, &m.url(), keys, None, &journal).await;
    assert!(
        op.starts_with(&format!("alice@example.com (aws {arn}; {}@", login())),
        "{op}"
    );
    assert_eq!(
        backstop::identity::person(&op),
        ("alice@example.com".to_string(), true)
    );

    // Declared: the declared name first and marked so, AWS's word beside
    // it, and the person key is still AWS's.
    let (op, _) = verify_as(&home, &m.url(), keys, Some("al"), &journal).await;
    assert!(
        op.starts_with(&format!("al (self-declared; aws {arn}; {}@", login())),
        "{op}"
    );
    assert_eq!(
        backstop::identity::person(&op),
        ("alice@example.com".to_string(), true)
    );

    // moto's own keys: its default caller (`arn:aws:sts::…:user/moto`)
    // is no shape AWS gives a person, so no AWS name is claimed.
    let (op, _) = verify_as(&home, &m.url(), ("test", "test", ""), None, &journal).await;
    assert!(!op.contains("aws "), "{op}");
    assert!(op.starts_with(&format!("{}@", login())), "{op}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_that_never_answers_costs_startup_three_seconds_and_no_more() {
    // AWS's endpoint accepts connections and never answers: without the
    // bound, GetCallerIdentity would wait out the SDK's 25 s.
    let silent = TestServer::start(Reply::Never).await;
    let home = Home::new();
    let journal = home.path().join("journal.sqlite");
    let started = Instant::now();
    let (op, _) = verify_as(
        &home,
        &silent.url(""),
        ("test", "test", ""),
        Some("bob"),
        &journal,
    )
    .await;
    let took = started.elapsed();
    // verify itself takes well under a second here; the SDK alone would
    // wait 10 s for one attempt.
    assert!(took < Duration::from_secs(7), "verify took {took:?}");
    assert!(
        op.starts_with(&format!("bob (self-declared; {}@", login())),
        "{op}"
    );
    assert!(!op.contains("aws "), "{op}");
    assert_eq!(backstop::identity::person(&op), ("bob".to_string(), false));
    // The log says why there is no AWS name.
    let log = std::fs::read_to_string(home.path().join("state/backstop/backstop.log")).unwrap();
    assert!(
        log.contains("no AWS identity for the operator")
            && log.contains("GetCallerIdentity: AWS did not answer in time"),
        "{log}"
    );
}

/// `backstop status` is the whole picture: the ALB's split as the emulator
/// holds it, and CloudWatch's alarms with the local rules, in the table and
/// in the JSON; and a shared ECS service says so in its preview.
#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_traffic_split_and_the_alarms_table_and_json() {
    let m = Moto::start();
    let (_elb, listener, tgs) = alb(&m, [90, 10]).await;
    let cw = aws_sdk_cloudwatch::Client::new(&m.sdk().await);
    put_alarm(&cw, "web-5xx").await;
    put_alarm(&cw, "web-p99").await;
    cw.set_alarm_state()
        .alarm_name("web-5xx")
        .state_value(StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0)")
        .send()
        .await
        .unwrap();
    let ok = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let home = Home::new();
    let file = alb_config_file(
        &home,
        &m,
        &listener,
        &tgs,
        &ok.url("/health"),
        &ok.url("/health"),
        "[services.web.alarms]\nprovider = \"cloudwatch\"\nnames = [\"web-5xx\", \"web-p99\"]\n",
    );
    let run = |args: &[&str]| {
        let mut c = aws_command(&home);
        c.arg("--config").arg(&file).args(args);
        output(c)
    };
    let o = run(&["status", "--json"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let web = &doc["services"]["web"];
    let t = &web["traffic"];
    assert_eq!(t["provider"], "alb", "{doc:#}");
    assert_eq!(t["live"], "blue");
    let split: Vec<(String, u64)> = t["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["env"].as_str().unwrap().to_string(),
                e["percent"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(split, [("blue".to_string(), 90), ("green".to_string(), 10)]);
    assert_eq!(
        t["last_change"],
        serde_json::Value::Null,
        "nothing journaled yet"
    );
    let cloudwatch = web["alarms"]["cloudwatch"].as_array().unwrap();
    let state = |name: &str| {
        cloudwatch
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state("web-5xx").as_deref(), Some("ALARM"), "{doc:#}");
    assert_eq!(state("web-p99").as_deref(), Some("OK"));
    let rules = web["alarms"]["rules"].as_array().unwrap();
    let rule = |name: &str, env: &str| {
        rules
            .iter()
            .find(|r| r["rule"].as_str().unwrap().starts_with(name) && r["env"] == env)
            .map(|r| r["state"].as_str().unwrap().to_string())
    };
    assert_eq!(
        rule("health-failures", "blue").as_deref(),
        Some("ok"),
        "{doc:#}"
    );
    assert_eq!(
        rule("alarm web-5xx", "-").as_deref(),
        Some("firing"),
        "{doc:#}"
    );
    assert_eq!(rule("alarm web-p99", "-").as_deref(), Some("ok"), "{doc:#}");

    // The table says the same.
    let o = run(&["status"]).await;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("\nTRAFFIC\n"), "{text}");
    assert!(text.contains("web  alb ALB listener app/web/"), "{text}");
    assert!(
        text.contains(": blue 90 % · green 10 % · no change by backstop journaled"),
        "{text}"
    );
    assert!(text.contains("\nALARMS & RULES\n"), "{text}");
    assert!(
        text.contains("web  cloudwatch web-5xx  ALARM  since "),
        "{text}"
    );
    assert!(text.contains("web  blue  rule health-failures"), "{text}");
    assert!(
        text.contains("web  -  rule alarm web-5xx in ALARM  firing: in ALARM"),
        "{text}"
    );
}

/// Blue and green on one ECS service: the preview of reverting one says it
/// reverts both (moto: the revision revert; the native rollback's preview
/// says the same, `providers::ecs` recorded tests).
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_ecs_service_says_in_the_preview_that_reverting_one_reverts_both() {
    use backstop::providers::deploy::DeployProvider;
    let m = Moto::start();
    let _client = ecs(&m).await;
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let text = format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{}"
[services.web.environments.blue]
endpoints = [{{ url = "{}" }}]
[services.web.environments.green]
endpoints = [{{ url = "{}" }}]
[services.web.deploy]
provider = "ecs"
cluster = "prod"
service = "web"
"#,
        m.url(),
        health.url("/blue"),
        health.url("/green")
    );
    let cfg = parse(&text);
    let Some(DeployConfig::Ecs(ecs_cfg)) = cfg.services[0].deploy.clone() else {
        panic!("an ECS deploy");
    };
    let aws = backstop::aws::Registry::default();
    let p = backstop::providers::ecs::EcsDeploy::new(aws.get(&ecs_cfg.aws), ecs_cfg);
    let preview = p.preview("green").await.unwrap();
    assert_eq!(
        preview[1], "green and blue are one ECS service (web): reverting green reverts both",
        "{preview:?}"
    );
    assert!(
        preview[0].contains("task definition web:2 → web:1, revision revert"),
        "{preview:?}"
    );
    // moto has no service deployments: none shown, and no error either
    // (it reports no current deployment, so none is asked for).
    let read = p.read().await.unwrap();
    assert!(
        read.iter()
            .all(|e| e.deployments.is_empty() && e.deployments_error.is_none()),
        "{read:?}"
    );
}

/// The polling budget: every watched ALB listener of one AWS setup is read
/// in one `DescribeListeners` call (twenty a call), not one per service;
/// and a listener that disappears blinds only its own service.
#[tokio::test(flavor = "multi_thread")]
async fn many_alb_listeners_are_read_in_one_describe_listeners_call() {
    let dir = tempfile::tempdir().unwrap();
    let m = Moto::start_logged(dir.path().join("moto.log"));
    let (elb, first, tgs) = alb(&m, [90, 10]).await;
    let lb = elb
        .describe_listeners()
        .listener_arns(&first)
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let forward = |blue: i32| {
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(
                        TargetGroupTuple::builder()
                            .target_group_arn(&tgs[0])
                            .weight(blue)
                            .build(),
                    )
                    .target_groups(
                        TargetGroupTuple::builder()
                            .target_group_arn(&tgs[1])
                            .weight(100 - blue)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let mut listeners = vec![first];
    for (port, blue) in [(81, 50), (82, 0)] {
        let l = elb
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(port)
            .default_actions(forward(blue))
            .send()
            .await
            .unwrap();
        listeners.push(l.listeners()[0].listener_arn().unwrap().to_string());
    }
    let mut text = format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n",
        m.url()
    );
    for (i, l) in listeners.iter().enumerate() {
        text.push_str(&format!(
            "[services.s{i}.environments.blue]\nendpoints = [{{ url = \"http://127.0.0.1:1/\" }}]\n\
             [services.s{i}.environments.green]\nendpoints = [{{ url = \"http://127.0.0.1:1/\" }}]\n\
             [services.s{i}.traffic]\nprovider = \"alb\"\nlistener = \"{l}\"\ninterval = \"2s\"\n\
             target_groups = {{ blue = \"{}\", green = \"{}\" }}\n",
            tgs[0], tgs[1]
        ));
    }
    let cfg = parse(&text);
    let aws = backstop::aws::Registry::default();
    let providers: Vec<_> = cfg
        .services
        .iter()
        .map(|s| backstop::providers::traffic::build(s, None, &aws).unwrap())
        .collect();
    let before = m.calls();
    let mut blue = Vec::new();
    for p in &providers {
        blue.push(p.read().await.unwrap().percents()[0]);
    }
    assert_eq!(blue, [90, 50, 0]);
    assert_eq!(
        m.calls() - before,
        1,
        "three listeners, one DescribeListeners"
    );

    // One listener gone: the others still read, it says why.
    elb.delete_listener()
        .listener_arn(&listeners[1])
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the shared answer's life
    assert_eq!(providers[0].read().await.unwrap().percents()[0], 90);
    let gone = providers[1].read().await.unwrap_err().message;
    assert!(
        gone.contains("ListenerNotFound") || gone.contains("not found"),
        "{gone}"
    );
    assert_eq!(providers[2].read().await.unwrap().percents()[0], 0);

    // Mixed cadences: a service read every second does not drag one read
    // every 20 s along; each listener is read about once per its interval.
    let mut text = format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n",
        m.url()
    );
    for (i, (l, every)) in [(&listeners[0], "1s"), (&listeners[2], "20s")]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "[services.m{i}.environments.blue]\nendpoints = [{{ url = \"http://127.0.0.1:1/\" }}]\n\
             [services.m{i}.environments.green]\nendpoints = [{{ url = \"http://127.0.0.1:1/\" }}]\n\
             [services.m{i}.traffic]\nprovider = \"alb\"\nlistener = \"{l}\"\ninterval = \"{every}\"\n\
             target_groups = {{ blue = \"{}\", green = \"{}\" }}\n",
            tgs[0], tgs[1]
        ));
    }
    let cfg = parse(&text);
    let aws = backstop::aws::Registry::default();
    let (fast, slow) = (
        backstop::providers::traffic::build(&cfg.services[0], None, &aws).unwrap(),
        backstop::providers::traffic::build(&cfg.services[1], None, &aws).unwrap(),
    );
    let before = m.calls();
    fast.read().await.unwrap(); // both due: one call for the two
    slow.read().await.unwrap(); // served
    tokio::time::sleep(Duration::from_millis(600)).await;
    fast.read().await.unwrap(); // the fast one alone
    slow.read().await.unwrap(); // still young for a 20 s cadence
    assert_eq!(m.calls() - before, 2);
}
