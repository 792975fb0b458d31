//! The habits of the terminal tools on-call engineers already use (issue 17),
//! tried on the real binary in a pseudo-terminal: typing never acts, `:`
//! commands, `/` filters, contexts.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Home;
use common::pty::Pty;

fn row_has(screen: &str, env: &str, word: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!(" {env} ")) && l.contains(word))
}

fn both_ok(s: &str) -> bool {
    row_has(s, "blue", " OK ") && row_has(s, "green", " OK ")
}

/// The new user's path from the issue: on the note step, the note typed
/// before pressing Enter. It goes into the note; `c` does not heal and `f`
/// injects nothing.
#[test]
fn typing_a_note_never_acts() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 120, 40, &[("USER", "oncall")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.send("j");
    pty.send("f");
    pty.wait_for("the fault's question", Duration::from_secs(3), |s| {
        s.contains("Inject \"503 critical\" into web/green?")
    });
    pty.send("y");
    pty.wait_for("green CRIT", Duration::from_secs(10), |s| {
        row_has(s, "green", "CRIT")
    });
    pty.send("r");
    pty.wait_for("the checklist", Duration::from_secs(5), |s| {
        s.contains("Rollback web: green → blue")
    });
    // Every step before the note skipped, with a reason, until the note's
    // turn: its line opens by itself, with no Enter.
    let mut opened = false;
    for _ in 0..40 {
        let screen = pty.screen();
        if screen.contains("Record what caused the failure: ") {
            opened = true;
            break;
        }
        if screen.contains("because: ") {
            pty.send("rehearsal\r");
        } else {
            pty.send("s");
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(opened, "the note's line never opened:\n{}", pty.screen());
    // Typed straight away, as a person would: letters that are keys too.
    pty.send("a config flag, fixed by hand");
    pty.wait_for("the text in the line", Duration::from_secs(3), |s| {
        s.contains("Record what caused the failure: a config flag, fixed by hand")
    });
    pty.send("\r");
    pty.wait_for("the note recorded", Duration::from_secs(3), |s| {
        s.contains("a config flag, fixed by hand")
            && !s.contains("Record what caused the failure: ")
    });
    let screen = pty.screen();
    assert!(
        row_has(&screen, "green", "CRIT"),
        "nothing healed green:\n{screen}"
    );
    assert!(
        !screen.contains("faults cleared"),
        "nothing healed:\n{screen}"
    );
    assert!(
        !screen.contains("degraded dependency"),
        "no new fault:\n{screen}"
    );
    // Letters at the keys (no line open) ask at most; the next letter cancels.
    pty.send("cafe");
    pty.wait_for("cancelled questions", Duration::from_secs(3), |s| {
        s.contains("cancelled: nothing changed")
    });
    std::thread::sleep(Duration::from_millis(500));
    let screen = pty.screen();
    assert!(row_has(&screen, "green", "CRIT"), "{screen}");
    assert!(
        !screen.contains("faults cleared"),
        "nothing healed:\n{screen}"
    );
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}

/// `:` with Tab completion runs an action through its key's question; a
/// weights command opens the dialog and shows the provider's preview;
/// `/crit` filters the health pane (title says so), Esc clears it.
#[test]
fn colon_runs_an_action_with_its_confirmation_and_slash_filters() {
    let home = Home::new();
    let mut pty = Pty::spawn(&home, &["drill"], 80, 24, &[("NO_COLOR", "1")]);
    pty.wait_for("blue and green OK", Duration::from_secs(20), both_ok);
    pty.send(":");
    pty.wait_for("the command line", Duration::from_secs(3), |s| {
        s.lines().last().is_some_and(|l| l.starts_with(" :▏"))
    });
    pty.send("fau\t");
    pty.wait_for("completed", Duration::from_secs(3), |s| {
        s.contains(":fault ▏")
    });
    pty.send("web gr\t\r");
    pty.wait_for("the key's question", Duration::from_secs(3), |s| {
        s.contains("Inject \"503 critical\" into web/green? y do it")
    });
    assert!(row_has(&pty.screen(), "green", " OK "), "nothing before y");
    pty.send("y");
    pty.wait_for("green CRIT", Duration::from_secs(10), |s| {
        row_has(s, "green", "CRIT")
    });

    pty.send("/crit");
    pty.wait_for("the filtered pane", Duration::from_secs(3), |s| {
        s.contains("Health · /crit · 1 of 2") && !row_has(s, "blue", "OK")
    });
    pty.send("\r");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x1b");
    pty.wait_for("the filter cleared", Duration::from_secs(3), |s| {
        !s.contains("/crit") && row_has(s, "blue", " OK ")
    });

    // History: ↑ brings the last command back.
    pty.send(":");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x1b[A");
    pty.wait_for("the last command", Duration::from_secs(3), |s| {
        s.contains(":fault web green▏")
    });
    for _ in 0.."fault web green".len() {
        pty.send("\x7f");
    }
    pty.send("weights web green 0\r");
    pty.wait_for("the weights preview", Duration::from_secs(5), |s| {
        s.contains("blue 90 → 100 %, green 10 → 0 %") && s.contains("APPLY")
    });
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x1b");
    pty.wait_for("cancelled", Duration::from_secs(3), |s| {
        !s.contains("APPLY")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}
