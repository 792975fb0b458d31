//! `backstop drill` in a real pseudo-terminal, as a newcomer would run it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Home;
use common::pty::Pty;

/// The drill's defaults: a probe every 2 s, 1 s timeout.
const INTERVAL: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(1);
/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

fn row_has(screen: &str, env: &str, word: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!(" {env} ")) && l.contains(word))
}

fn both_ok(s: &str) -> bool {
    row_has(s, "blue", " OK ") && row_has(s, "green", " OK ")
}

#[test]
fn drill_shows_health_injects_and_clears_a_fault_and_quits_cleanly() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 100, 30, &[]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    assert!(
        pty.alternate_screen(),
        "the console uses the alternate screen"
    );
    assert!(pty.screen().contains("DRILL"), "{}", pty.screen());

    // Select green (second row) and inject the first fault: 503 critical.
    pty.send("j");
    pty.confirm("f");
    let took = pty.wait_for("green CRIT", INTERVAL + TIMEOUT + SLACK, |s| {
        row_has(s, "green", "CRIT")
    });
    assert!(
        row_has(&pty.screen(), "blue", " OK "),
        "blue is untouched:\n{}",
        pty.screen()
    );
    eprintln!("green turned critical {took:?} after the key press");

    // The detail shows why.
    pty.send("\r");
    pty.wait_for(
        "detail with the failing check",
        Duration::from_secs(3),
        |s| s.contains("web/green · detail") && s.contains("connection pool exhausted"),
    );
    pty.send("\x1b");

    // Heal.
    pty.confirm("c");
    pty.wait_for("green OK again", INTERVAL + TIMEOUT + SLACK, |s| {
        row_has(s, "green", " OK ")
    });

    // Help comes from the keymap.
    pty.send("?");
    pty.wait_for("help", Duration::from_secs(3), |s| {
        s.contains("inject the next fault")
    });
    pty.send("\x1b");
    pty.wait_for("help closed", Duration::from_secs(3), |s| {
        !s.contains("inject the next fault")
    });

    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    assert!(!pty.alternate_screen(), "left the alternate screen");
    assert!(!pty.cursor_hidden(), "cursor shown again");
}

#[test]
fn every_fault_shows_as_its_status() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 100, 30, &[("NO_COLOR", "1")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.send("j");
    // The cycle: 503 → degraded → slow (over the timeout) → refused.
    for (fault, badge) in [
        ("503", "CRIT"),
        ("degraded", "DEGR"),
        ("slow", "DOWN"),
        ("refused", "DOWN"),
    ] {
        pty.confirm("f");
        pty.wait_for(
            &format!("green {badge} under fault {fault}"),
            INTERVAL * 2 + TIMEOUT + SLACK,
            |s| row_has(s, "green", fault) && row_has(s, "green", badge),
        );
    }
    pty.confirm("c");
    pty.wait_for(
        "green OK after refused",
        INTERVAL * 2 + TIMEOUT + SLACK,
        |s| row_has(s, "green", " OK "),
    );
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

/// The step whose turn it is has this title.
fn current(screen: &str, title: &str) -> bool {
    screen.lines().any(|l| l.contains("›") && l.contains(title))
}

#[test]
fn a_dropped_ssh_session_or_sigterm_restores_the_terminal() {
    for signal in ["HUP", "TERM"] {
        let home = Home::new();
        let mut pty = Pty::spawn(&home, &["drill"], 80, 24, &[]);
        pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
        pty.signal(signal);
        assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0, "SIG{signal}");
        assert!(
            !pty.alternate_screen(),
            "SIG{signal}: left the alternate screen"
        );
        assert!(!pty.cursor_hidden(), "SIG{signal}: cursor shown");
        let log = std::fs::read_to_string(home.path().join("state/backstop/backstop.log")).unwrap();
        assert!(
            log.contains(&format!("SIG{signal}")),
            "the log says why it stopped:\n{log}"
        );
    }
}

#[test]
fn it_fits_80x24_and_survives_resizing_to_tiny() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 80, 24, &[("NO_COLOR", "1")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    let screen = pty.screen();
    assert!(
        screen.lines().any(|l| l.contains("q quit")),
        "key hints at the bottom:\n{screen}"
    );
    for (cols, rows) in [(20, 5), (1, 1), (40, 8), (200, 60), (80, 24)] {
        pty.resize(cols, rows);
        std::thread::sleep(Duration::from_millis(300));
    }
    pty.wait_for("redrawn at 80x24", Duration::from_secs(5), both_ok);
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

/// The first screen a newcomer sees, at the size their terminal opens at:
/// both weights, the rules' state and the decision, without a key.
#[test]
fn the_first_screen_at_80x24_shows_health_weights_rules_and_the_decision() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 80, 24, &[("NO_COLOR", "1")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    let weights = |s: &str| row_has(s, "blue", " 90 % ") && row_has(s, "green", " 10 % ");
    pty.wait_for(
        "both weights in the health table",
        Duration::from_secs(10),
        weights,
    );
    let screen = pty.screen();
    assert!(screen.contains("Rules & alarms · web"), "{screen}");
    assert!(screen.contains("rules OK"), "the rules' state:\n{screen}");
    assert!(screen.contains("HEALTHY"), "the decision:\n{screen}");
    assert!(
        screen.contains("┌ Events"),
        "the events under them:\n{screen}"
    );
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

#[test]
fn the_operator_shifts_traffic_with_a_preview_and_a_second_key() {
    let home = Home::new();
    let mut pty = Pty::spawn(
        &home,
        &["drill", "--rate", "100"],
        140,
        40,
        &[("USER", "oncall")],
    );
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.wait_for("the canary split", Duration::from_secs(10), |s| {
        s.contains("90 %") && s.contains("green v1.0.1 takes 10 %")
    });

    // Green: one step up the canary ladder, 10 → 25 %.
    pty.send("j");
    pty.send("w");
    pty.wait_for("the dialog", Duration::from_secs(3), |s| {
        s.contains("Set weights · web")
    });
    pty.send("\x1b[C"); // right arrow
    pty.wait_for("25 % chosen", Duration::from_secs(3), |s| {
        s.contains("→  25 %")
    });
    // The first key only previews; cancelling it changes nothing.
    pty.send("\r");
    pty.wait_for("the preview", Duration::from_secs(3), |s| {
        s.contains("The change, exactly:") && s.contains("blue 90 → 75 %, green 10 → 25 %")
    });
    pty.send("\x1b");
    pty.wait_for("the dialog closed", Duration::from_secs(3), |s| {
        !s.contains("The change, exactly:")
    });
    std::thread::sleep(Duration::from_millis(1500)); // a traffic read-back or two
    assert!(
        pty.screen().contains("green v1.0.1 takes 10 %"),
        "a cancelled preview changed nothing:\n{}",
        pty.screen()
    );
    // Again, and this time the second key applies it.
    pty.send("w");
    pty.send("\x1b[C");
    pty.send("\r");
    pty.wait_for("the preview again", Duration::from_secs(3), |s| {
        s.contains("The change, exactly:")
    });
    pty.send("y");
    pty.wait_for("the new split", Duration::from_secs(5), |s| {
        s.contains("green v1.0.1 takes 25 %") && s.contains(&by_me())
    });
    // Real requests follow: green's share of the synthetic traffic grows.
    pty.wait_for("green's traffic share", Duration::from_secs(30), |s| {
        // The traffic pane's row (the health table beside it has a share too).
        s.lines()
            .filter_map(|l| l.find("│  green").map(|at| &l[at..]))
            .find(|l| l.contains("25 %"))
            .is_some_and(|l| {
                l.split_whitespace()
                    .skip_while(|w| *w != "%")
                    .nth(1)
                    .and_then(|r| r.parse::<f64>().ok())
                    .is_some_and(|r| r > 13.0)
            })
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

#[test]
fn an_error_fault_shows_in_the_traffic_figures() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill", "--rate", "200"], 140, 40, &[]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.send("j");
    // The cycle reaches "8 % of requests fail" at its fifth step.
    pty.confirm("fffff");
    pty.wait_for("the error fault", Duration::from_secs(5), |s| {
        row_has(s, "green", "8% 5xx")
    });
    // Health stays OK while users see errors.
    pty.wait_for("green OK again (health)", Duration::from_secs(10), |s| {
        row_has(s, "green", " OK ")
    });
    pty.wait_for("green's error rate", Duration::from_secs(20), |s| {
        s.lines()
            .any(|l| l.contains("│  green") && (l.contains("% err") && !l.contains(" 0.0 % err")))
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

#[test]
fn a_failing_canary_is_recommended_explained_and_rolled_back_by_the_checklist() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 140, 45, &[("USER", "oncall")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.send("j");
    pty.confirm("f"); // 503: every request fails and health says critical
    // Three failed probes, two seconds apart.
    pty.wait_for("the recommendation", Duration::from_secs(15), |s| {
        s.lines()
            .nth(1)
            .is_some_and(|l| l.contains("ROLLBACK RECOMMENDED") && l.contains("green → blue"))
    });
    // Why: evidence → rule → decision.
    pty.send("e");
    pty.wait_for("the why view", Duration::from_secs(3), |s| {
        s.contains("Why: web is ROLLBACK RECOMMENDED")
            && s.contains("evidence")
            && s.contains("health-failures FIRING")
    });
    pty.send("\x1b");
    // Roll back: the checklist opens, says which of the three rollbacks and
    // why (a canary's failure is its own: immediate), and checks the
    // failure is real by itself.
    pty.send("r");
    pty.wait_for("the checklist", Duration::from_secs(5), |s| {
        s.contains("Rollback web: green → blue · immediate rollback ·")
            && s.contains("IMMEDIATE — ")
            && s.contains("⏱ rollback: ")
            && s.contains("left of 5m")
    });
    pty.wait_for("the re-probes", Duration::from_secs(5), |s| {
        s.contains("probe 3/3: CRIT")
    });
    pty.send("\r"); // the message, previewed
    pty.wait_for("the message preview", Duration::from_secs(3), |s| {
        s.contains("no notifier is configured")
    });
    pty.send("y");
    // Target healthy checks itself; the switch shows exactly what it will do.
    pty.wait_for("the switch step", Duration::from_secs(5), |s| {
        current(s, "Switch all traffic from green to blue")
    });
    pty.send("\r");
    pty.wait_for("the switch preview", Duration::from_secs(5), |s| {
        s.contains("web via the sandbox traffic provider:")
            && s.contains("blue 90 → 100 %, green 10 → 0 %")
    });
    pty.send("y");
    // Then it waits for blue, checks the split and runs the smoke tests.
    pty.wait_for("the error-rate watch", Duration::from_secs(20), |s| {
        s.contains("✓ health says ok") && current(s, "Watch error rate")
    });
    assert!(
        pty.screen().contains(&format!(" {}", by_me())),
        "the switch is attributed:\n{}",
        pty.screen()
    );
    // A minute is long in a test: skip it, with a reason.
    pty.send("s");
    pty.wait_for("the reason prompt", Duration::from_secs(3), |s| {
        s.contains("because:")
    });
    pty.send("watched it on the dashboard\r");
    pty.wait_for("skipped", Duration::from_secs(3), |s| {
        s.contains("— watched it on the dashboard")
    });
    pty.wait_for("the decision", Duration::from_secs(3), |s| {
        s.contains("ROLLED BACK")
    });
    pty.send("\r");
    pty.wait_for("the second message", Duration::from_secs(3), |s| {
        s.contains("ROLLBACK COMPLETED: web")
    });
    pty.send("y");
    pty.wait_for("the investigation", Duration::from_secs(3), |s| {
        current(s, "Investigate the issue in green")
    });
    pty.send("\r");
    pty.wait_for("the note prompt", Duration::from_secs(3), |s| {
        s.contains("Document the root cause: ")
    });
    pty.send("bad feature flag\r");
    pty.wait_for("the post-mortem's prompt", Duration::from_secs(3), |s| {
        s.contains("Schedule the post-mortem: when, and who leads it: ")
    });
    pty.send("tomorrow 10:00, led by bob\r");
    pty.wait_for("completed", Duration::from_secs(5), |s| {
        s.contains("COMPLETED at")
    });
    pty.send("x");
    pty.wait_for("the report written", Duration::from_secs(5), |s| {
        s.contains("written to")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    // The report, from the drills' journal.
    let out = common::run({
        let mut c = home.command();
        c.args(["report", "--drill"]);
        c
    });
    let md = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let me = backstop::identity::login_name();
    for want in [
        "# Incident".to_string(),
        "rolled back from green to blue".into(),
        "| MTTD (detected − began) |".into(),
        format!(
            "| during | Watch error rate: under 1 % on blue for 60 s | skipped: watched it on the dashboard | {me}@"
        ),
        format!("| after | Document the root cause | done | {me}@"),
        "drill: fault injected: 503 critical".into(),
        "- Rollback type: immediate".into(),
        "| rollback | 5m | ".into(),
        "- Severity: **SEV3?** — rule: green takes 10 % of the traffic (a canary)".into(),
        "| MTTA (acknowledged − detected) |".into(),
    ] {
        assert!(md.contains(&want), "{want:?} not in\n{md}");
    }
    // The post-mortem's draft, from the same journal.
    let out = common::run({
        let mut c = home.command();
        c.args(["report", "--drill", "--postmortem"]);
        c
    });
    let md = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    for want in [
        "# Post-mortem: web, incident ",
        "| mitigated | 20",
        "The review is scheduled: tomorrow 10:00, led by bob (by ",
        "### within 24 hours (due ",
        "- [ ] Add tests to prevent recurrence",
    ] {
        assert!(md.contains(want), "{want:?} not in\n{md}");
    }
}

/// A scored drill as a team rehearses it: the scenario plays (at 5×), the
/// operator follows the checklist with keys, the score screen closes the
/// drill and its report is on disk and in `report --drills`.
#[test]
fn a_scenario_drill_followed_by_keys_ends_on_its_score_and_report() {
    let home = Home::new();
    let mut pty = Pty::spawn(
        &home,
        &[
            "drill",
            "--scenario",
            "bad-switch",
            "--speed",
            "5",
            "--seed",
            "3",
        ],
        140,
        45,
        &[("USER", "oncall"), ("NO_COLOR", "1")],
    );
    pty.wait_for("the drill clock", Duration::from_secs(10), |s| {
        s.contains("drill bad-switch") && s.contains(" at 5x") && s.contains("T+00:")
    });
    // The scenario deploys, switches to green, then breaks it: production
    // is down, and the switch back is previewed in the banner at once.
    pty.wait_for("the emergency switch", Duration::from_secs(30), |s| {
        s.lines().nth(1).is_some_and(|l| {
            l.contains("EMERGENCY") && l.contains("blue 0 → 100 %, green 100 → 0 %")
        }) && s.contains("y switch")
    });
    // One key moves users; the emergency checklist opens with it done. (A
    // person reads the preview first: a `y` within 300 ms of it is taken
    // for typing and refused.)
    std::thread::sleep(Duration::from_millis(400));
    pty.send("y");
    pty.wait_for("the emergency checklist", Duration::from_secs(10), |s| {
        s.contains("Rollback web: green → blue · emergency rollback ·")
            && current(s, "Clear caches, if the service has any")
    });
    assert!(
        pty.screen().contains("EMERGENCY — "),
        "the type and its reason:\n{}",
        pty.screen()
    );
    pty.send("\r"); // caches: none in the sandbox
    pty.wait_for("the after phase", Duration::from_secs(20), |s| {
        current(s, "Communicate: tell the team production is back on")
    });
    pty.send("\r");
    pty.wait_for("the second message", Duration::from_secs(5), |s| {
        s.contains("ROLLBACK COMPLETED: web")
    });
    pty.send("y");
    pty.wait_for("the status page step", Duration::from_secs(5), |s| {
        current(s, "Communicate: update the status page")
    });
    pty.send("\r");
    pty.wait_for("the note prompt", Duration::from_secs(5), |s| {
        s.contains("Log the incident: what failed, what was done: ")
    });
    pty.send("bad feature flag, switched back to blue\r");
    // Thirty minutes of watching is long in a test: skip it, with a reason.
    pty.wait_for("the monitor", Duration::from_secs(5), |s| {
        current(s, "Monitor for 30 minutes")
    });
    pty.send("s");
    pty.wait_for("the reason prompt", Duration::from_secs(3), |s| {
        s.contains("because:")
    });
    pty.send("a drill\r");
    pty.wait_for("the log review", Duration::from_secs(5), |s| {
        current(s, "Review the logs of green")
    });
    pty.send("\r");
    pty.wait_for("the post-mortem's prompt", Duration::from_secs(5), |s| {
        s.contains("Schedule the post-mortem: when, and who leads it: ")
    });
    pty.send("Monday 14:00, led by the team lead\r");
    pty.wait_for("the score", Duration::from_secs(10), |s| {
        s.contains("Drill bad-switch: EXPECTATION HELD") && s.contains("Report: ")
    });
    let s = pty.screen();
    assert!(s.contains("MTTD (detected − fault)"), "{s}");
    assert!(s.contains("time to safe (switch − fault)"), "{s}");
    assert!(s.contains("immediate actions:"), "{s}");
    assert!(s.contains("monitor:"), "{s}");
    assert!(s.contains("✓ health-failures fires first"), "{s}");
    assert!(s.contains("checklist: 10 done, 1 skipped"), "{s}");
    // How the team was told, scored too: the emergency's first message
    // comes once users are safe, and no update was missed at 5×.
    assert!(s.contains("first message "), "{s}");
    assert!(
        s.contains("updates on the cadence") && s.contains("1 sent, 0 late or missed"),
        "{s}"
    );
    let reports = home.path().join("data/backstop/reports");
    let md: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    assert_eq!(md.len(), 1, "{md:?}");
    let text = std::fs::read_to_string(&md[0]).unwrap();
    assert!(
        text.starts_with("# Drill bad-switch: expectation held"),
        "{text}"
    );
    assert!(
        text.contains("| Time to safe (switch − fault) | "),
        "{text}"
    );
    assert!(text.contains("| immediate actions | 2m | "), "{text}");
    assert!(
        text.contains("## Communication\n\n- First message: "),
        "{text}"
    );
    pty.send("\x1b");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    let out = common::run({
        let mut c = home.command();
        c.args(["report", "--drills"]);
        c
    });
    let listing = common::stdout(&out);
    assert!(
        listing.contains("bad-switch") && listing.contains("held"),
        "{listing}"
    );
}

/// `by root@host` for whoever runs the tests: the kernel's account, not
/// the `$USER` the consoles are given (which names no one).
fn by_me() -> String {
    format!("by {}@", backstop::identity::login_name())
}

/// Severity 1's cadence in a drill at 10×: five minutes after the incident
/// opened (30 s of wall time) the update opens by itself, prefilled, on the
/// console that drives; Enter sends it (journaled as a message), and the
/// header counts down to the next one. `:sev` declares the severity.
#[test]
fn the_update_comes_due_prefilled_and_is_sent_and_journaled() {
    let home = Home::new();
    // bad-switch, played long enough for the 5-minute mark (it ends at 6m).
    let drills = home.config_dir().join("drills");
    std::fs::create_dir_all(&drills).unwrap();
    let scenario = include_str!("../assets/drills/bad-switch.toml")
        .replace("name = \"bad-switch\"", "name = \"long-outage\"")
        .replace("ends = \"6m\"", "ends = \"15m\"");
    std::fs::write(drills.join("long-outage.toml"), scenario).unwrap();
    let mut pty = Pty::spawn(
        &home,
        &[
            "drill",
            "--scenario",
            "long-outage",
            "--speed",
            "10",
            "--seed",
            "3",
        ],
        140,
        45,
        &[("USER", "oncall"), ("NO_COLOR", "1")],
    );
    pty.wait_for("the emergency switch", Duration::from_secs(40), |s| {
        s.contains("y switch")
    });
    std::thread::sleep(Duration::from_millis(400));
    pty.send("y");
    pty.wait_for("the proposed severity", Duration::from_secs(10), |s| {
        s.contains("SEV1? critical · update in ")
            && s.lines().next().is_some_and(|l| l.contains("SEV1? web"))
    });
    pty.send(":sev 1 checkout is down for everyone\r");
    pty.wait_for("the declared severity", Duration::from_secs(5), |s| {
        s.contains("SEV1 critical · update in ")
            && s.lines().next().is_some_and(|l| l.contains("SEV1 web"))
    });
    // Nothing pressed from here: the update opens by itself when it is due.
    pty.wait_for("the update's prompt", Duration::from_secs(60), |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("not verified yet · ETA: ") && l.contains("⏎ done"))
    });
    pty.send("\r");
    pty.wait_for("the update recorded", Duration::from_secs(5), |s| {
        s.contains("no notifier is configured: tell the team yourself")
            && s.contains("SEV1 critical · update in <1m")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    // The journal: the severity declared, and the update as a message.
    let out = common::run({
        let mut c = home.command();
        c.args(["report", "--drill"]);
        c
    });
    let md = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    for want in [
        "- Severity: **SEV1** — checkout is down for everyone",
        "SEV1? proposed: rule: every probe of green",
        "> SEV1 web: rolling back green → blue · progress: ",
        "update: SEV1 web: rolling back green → blue",
    ] {
        assert!(md.contains(want), "{want:?} not in\n{md}");
    }
}
