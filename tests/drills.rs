//! Every built-in drill scenario, whole, through the real binary with no
//! terminal: `backstop drill --headless --auto` at 10×, the sandbox, the
//! probes, the decision engine and the checklist all real. Each asserts
//! the scenario's expectation held (exit 0) and what the score says.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Home, run, stderr, stdout};
use serde_json::Value;

/// Run one scenario headless at `speed`; its score (and the process output).
fn drill(home: &Home, name: &str, speed: &str) -> (Option<i32>, Value, String) {
    let mut c = home.command();
    c.args([
        "drill",
        "--headless",
        "--auto",
        "--json",
        "--scenario",
        name,
        "--speed",
        speed,
        "--seed",
        "7",
    ]);
    let out = run(c);
    let text = format!("stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let score: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{name}: the score is not JSON ({e})\n{text}"));
    (out.status.code(), score, text)
}

fn checks(score: &Value) -> String {
    score["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                if c["held"] == true { "✓" } else { "✗" },
                c["what"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A scenario that expects a rollback: it held, the first rule is the one
/// named, and detection and recovery were measured within the targets.
fn rolls_back(name: &str, first_rule: &str) {
    let home = Home::new();
    let (code, s, text) = drill(&home, name, "10");
    assert_eq!(code, Some(0), "{name}:\n{}\n{text}", checks(&s));
    assert_eq!(s["held"], true);
    assert!(
        s["first_rule"].as_str().unwrap().starts_with(first_rule),
        "{s}"
    );
    assert_eq!(s["rollbacks"], 1, "{s}");
    let mttd = s["mttd_secs"].as_f64().unwrap();
    let mttr = s["mttr_secs"].as_f64().unwrap();
    assert!(mttd > 0.0 && mttd < 300.0, "MTTD {mttd}");
    assert!(mttr > 0.0 && mttr < 900.0, "MTTR {mttr}");
    // The report landed beside the journal's data, in both formats.
    let reports = home.path().join("data/backstop/reports");
    let files: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with(&format!("drill-{name}-")) && f.ends_with(".md")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with(".json")), "{files:?}");
    // With the team's trend, this drill included.
    let md = files
        .iter()
        .find(|f| f.starts_with(&format!("drill-{name}-")) && f.ends_with(".md"))
        .map(|f| std::fs::read_to_string(reports.join(f)).unwrap())
        .unwrap_or_default();
    assert!(
        md.contains("## Trend: is the team getting faster?") && md.contains(&format!("{name}  ")),
        "{md}"
    );
}

#[test]
fn bad_blue_green_switch_is_rolled_back_on_health_failures() {
    rolls_back("bad-switch", "health-failures");
}

#[test]
fn canary_with_eight_percent_errors_is_rolled_back_on_the_comparison() {
    rolls_back("canary-errors", "compare errors");
}

#[test]
fn slow_release_is_rolled_back_on_the_latency_comparison() {
    rolls_back("slow-release", "compare latency");
}

#[test]
fn degraded_dependency_is_rolled_back_after_two_minutes() {
    rolls_back("degraded-dependency", "degraded-for");
}

#[test]
fn a_five_second_blip_does_not_roll_back() {
    let home = Home::new();
    let (code, s, text) = drill(&home, "blip", "10");
    assert_eq!(code, Some(0), "{}\n{text}", checks(&s));
    assert_eq!(s["rollbacks"], 0);
    assert_eq!(s["first_rule"], Value::Null, "no rule may fire: {s}");
}

/// A 1 % canary gets a request every two seconds (at 10×, every four):
/// the error-rate rule's window never gathers its 20, the comparison sees
/// the failures land where the canary is.
#[test]
fn a_quiet_one_percent_canary_is_rolled_back_on_the_comparison() {
    rolls_back("quiet-canary", "compare errors");
}

/// Both sides fail one request in fifty: the canary's failure is noise,
/// and the comparison holds.
#[test]
fn a_canary_failing_like_its_baseline_is_not_rolled_back() {
    let home = Home::new();
    let (code, s, text) = drill(&home, "canary-noise", "10");
    assert_eq!(code, Some(0), "{}\n{text}", checks(&s));
    assert_eq!(s["rollbacks"], 0);
    assert_eq!(s["first_rule"], Value::Null, "no rule may fire: {s}");
}

#[test]
fn a_broken_target_escalates_instead_of_looping() {
    let home = Home::new();
    let (code, s, text) = drill(&home, "target-broken", "10");
    assert_eq!(code, Some(0), "{}\n{text}", checks(&s));
    assert_eq!(s["rollbacks"], 0);
    assert_eq!(s["escalated"], true);
}

#[test]
fn a_second_bad_deploy_inside_the_cooldown_is_blocked_and_escalated() {
    let home = Home::new();
    let (code, s, text) = drill(&home, "second-bad-deploy", "10");
    assert_eq!(code, Some(0), "{}\n{text}", checks(&s));
    assert_eq!(s["rollbacks"], 1);
    assert_eq!(s["escalated"], true);
}

/// The drills' journal keeps every score; `report --drills` lists them and
/// an expectation that does not hold exits 1.
#[test]
fn report_drills_lists_past_drills_and_a_failed_expectation_exits_one() {
    let home = Home::new();
    // A team's own scenario (from the config dir) whose expectation cannot
    // hold: nothing goes wrong, yet it expects a rollback.
    let dir = home.config_dir().join("drills");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("calm.toml"),
        r#"name = "calm"
title = "Nothing happens, yet a rollback is expected"
ends = "20s"

[[world]]
env = "blue"
version = "1.0.0"
previous = "0.9.9"
weight = 100

[[world]]
env = "green"
version = "1.0.0"
previous = "0.9.9"
weight = 0

[expect]
rollback = true
"#,
    )
    .unwrap();
    let mut c = home.command();
    c.args(["drill", "--list"]);
    let out = run(c);
    assert!(stdout(&out).contains("calm "), "{}", stdout(&out));
    let (code, s, text) = drill(&home, "calm", "10");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(s["held"], false);
    let (code, _, text) = drill(&home, "target-broken", "10");
    assert_eq!(code, Some(0), "{text}");

    let mut c = home.command();
    c.args(["report", "--drills"]);
    let out = run(c);
    let listing = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The table, then (after a blank line) the trend.
    let lines: Vec<&str> = listing.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        listing.contains("## Trend: is the team getting faster?")
            && listing.contains("### MTTD by scenario (median; ┆ the 5m target)")
            && listing.contains("- MTTR: "),
        "{listing}"
    );
    assert!(
        lines[1].contains("calm") && lines[1].ends_with("NOT held"),
        "{listing}"
    );
    assert!(
        lines[2].contains("target-broken") && lines[2].ends_with("held"),
        "{listing}"
    );

    let mut c = home.command();
    c.args(["report", "--drills", "--format", "json"]);
    let out = run(c);
    let all: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["score"]["scenario"], "target-broken");
}

#[test]
fn unknown_scenarios_and_bad_speeds_are_usage_errors() {
    let home = Home::new();
    let mut c = home.command();
    c.args(["drill", "--headless", "--auto", "--scenario", "nope"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad-switch"), "{}", stderr(&out));
    let mut c = home.command();
    c.args([
        "drill",
        "--headless",
        "--auto",
        "--scenario",
        "blip",
        "--speed",
        "0",
    ]);
    assert_eq!(run(c).status.code(), Some(2));
    // Headless needs --auto: nobody is there to confirm.
    let mut c = home.command();
    c.args(["drill", "--headless", "--scenario", "blip"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--auto"), "{}", stderr(&out));
}

/// A change an earlier drill left without an outcome (its process killed
/// mid-switch) was made on a sandbox that died with it: the next drill
/// records it as abandoned and rolls back as usual.
#[tokio::test(flavor = "multi_thread")]
async fn a_drill_killed_mid_change_does_not_hold_back_the_next() {
    let home = Home::new();
    let path = home.path().join("data/backstop/drills.sqlite");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let j = backstop::room::Journal::open(
            &path,
            backstop::room::Redactor::new(Vec::<String>::new()),
        )
        .unwrap();
        let mut e = backstop::room::Entry::new(
            backstop::clock::now(),
            "intent",
            "web",
            "switch web: green → blue",
            "backstop (auto)",
        );
        e.data = Some(serde_json::json!({ "work": "switch-traffic" }));
        j.append_durable(e).await.unwrap();
    }
    let (code, s, text) = tokio::task::spawn_blocking(move || {
        let r = drill(&home, "bad-switch", "10");
        (r, home)
    })
    .await
    .map(|((code, s, text), _home)| (code, s, text))
    .unwrap();
    assert_eq!(code, Some(0), "{}\n{text}", checks(&s));
    assert_eq!(s["rollbacks"], 1);
}
