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
    // Read, then answered (a `y` at once would be typing).
    std::thread::sleep(Duration::from_millis(400));
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
        if screen.contains("Document the root cause: ") {
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
        s.contains("Document the root cause: a config flag, fixed by hand")
    });
    pty.send("\r");
    pty.wait_for("the note recorded", Duration::from_secs(3), |s| {
        s.contains("a config flag, fixed by hand") && !s.contains("Document the root cause: ")
    });
    // The next note (the post-mortem's) opens its line by itself: Esc closes it.
    pty.wait_for("the post-mortem's line", Duration::from_secs(3), |s| {
        s.contains("Schedule the post-mortem: when, and who leads it: ")
    });
    pty.send("\x1b");
    pty.wait_for("the line closed", Duration::from_secs(3), |s| {
        !s.contains("Schedule the post-mortem: when, and who leads it: ")
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
    std::thread::sleep(Duration::from_millis(400));
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

/// `backstop completions bash` loads in a real bash, registers itself for
/// `backstop`, and completes a command and a shell name.
#[test]
fn completions_load_in_bash() {
    let bin = common::bin();
    let script = format!(
        r#"source <("{bin}" completions bash) || exit 9
complete -p backstop
COMP_WORDS=(backstop dr); COMP_CWORD=1; COMP_LINE='backstop dr'; COMP_POINT=11
_backstop backstop dr backstop; echo "words: ${{COMPREPLY[*]}}"
COMP_WORDS=(backstop completions f); COMP_CWORD=2
_backstop backstop f completions; echo "shells: ${{COMPREPLY[*]}}""#,
        bin = bin.display()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", common::stderr(&out));
    assert!(
        stdout.contains("-F _backstop backstop"),
        "registered for backstop: {stdout}"
    );
    assert!(stdout.contains("words: drill"), "{stdout}");
    assert!(stdout.contains("shells: fish"), "{stdout}");
}

/// Every shell clap knows gets a script that names the commands; zsh and
/// fish (scripts/test installs them) also parse theirs.
#[test]
fn completions_for_zsh_fish_and_powershell() {
    for (shell, checker) in [
        ("zsh", Some(("zsh", "-n"))),
        ("fish", Some(("fish", "--no-execute"))),
        ("powershell", None),
        ("elvish", None),
    ] {
        let out = common::run({
            let mut c = common::Home::new().command();
            c.args(["completions", shell]);
            c
        });
        assert!(out.status.success(), "{shell}: {}", common::stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            script.contains("drill") && script.contains("rollback"),
            "{shell}"
        );
        let Some((program, flag)) = checker else {
            continue;
        };
        assert!(
            std::process::Command::new(program)
                .arg("--version")
                .output()
                .is_ok(),
            "{program} is missing: scripts/test installs it (it checks its completion script)"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &script).unwrap();
        let check = std::process::Command::new(program)
            .arg(flag)
            .arg(file.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{program} {flag}: {}",
            common::stderr(&check)
        );
    }
}

/// The requests a man page may use (man(7) and what clap_mangen writes).
const ROFF_REQUESTS: &[&str] = &[
    "TH", "SH", "SS", "TP", "PP", "P", "LP", "IP", "RS", "RE", "B", "I", "BR", "IR", "RB", "RI",
    "nf", "fi", "br", "sp", "ie", "el", "ds", "TQ",
];

/// `backstop man` is a well-formed man page: checked by a small parser of
/// its requests, rendered by `man -l` and checked by groff's warnings
/// (scripts/test installs both).
#[test]
fn the_man_page_renders() {
    let home = Home::new();
    let out = common::run({
        let mut c = home.command();
        c.arg("man");
        c
    });
    assert!(out.status.success(), "{}", common::stderr(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.is_ascii(), "non-ASCII characters are escaped");
    // The parser: every control line is a known request, fonts are closed,
    // and the sections a reader looks for are there.
    let mut sections = Vec::new();
    for (n, line) in page.lines().enumerate() {
        if let Some(req) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
            let name = req.split_whitespace().next().unwrap_or("");
            assert!(
                ROFF_REQUESTS.contains(&name),
                "line {}: unknown request {line:?}",
                n + 1
            );
            if name == "SH" {
                sections.push(req[2..].trim().trim_matches('"').to_string());
            }
        }
        let opened = line.matches("\\fB").count() + line.matches("\\fI").count();
        let closed = line.matches("\\fR").count() + line.matches("\\fP").count();
        assert!(
            opened <= closed,
            "line {}: a font left open: {line:?}",
            n + 1
        );
    }
    for s in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS IN DETAIL",
        "CONSOLE KEYS",
        "CONSOLE COMMANDS",
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
    ] {
        assert!(
            sections.iter().any(|x| x == s),
            "section {s} in {sections:?}"
        );
    }
    assert!(page.contains(".TH backstop 1"), "{}", &page[..200]);

    let file = home.path().join("backstop.1");
    std::fs::write(&file, &page).unwrap();
    match std::process::Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        Err(e) => panic!("man cannot run ({e}): scripts/test installs man-db"),
        Ok(man) => {
            let text = String::from_utf8_lossy(&man.stdout);
            assert!(man.status.success(), "man -l: {}", common::stderr(&man));
            assert!(text.contains("backstop drill"), "{text}");
            assert!(text.contains("--scenario NAME"), "{text}");
            assert!(text.contains("CONSOLE KEYS"), "{text}");
        }
    }
    let groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("groff cannot run ({e}): scripts/test installs groff-base"));
    assert!(
        groff.stderr.is_empty(),
        "groff warns: {}",
        String::from_utf8_lossy(&groff.stderr)
    );
}

/// Two contexts side by side: `--context staging` names it in the header,
/// `:context prod` switches in place and the header says PRODUCTION; an
/// unknown context is a line in the log, and the console stays.
#[test]
fn a_context_switch_changes_the_header() {
    let home = Home::new();
    let dir = home.config_dir().join("contexts");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["prod", "staging"] {
        std::fs::write(
            dir.join(format!("{name}.toml")),
            format!(
                "title = \"shop-{name}\"\n[services.web.environments.blue]\nendpoints = [{{ url = \"http://127.0.0.1:9/health\" }}]\n"
            ),
        )
        .unwrap();
    }
    let mut pty = Pty::spawn(&home, &["--context", "staging"], 100, 30, &[]);
    pty.wait_for("the staging header", Duration::from_secs(10), |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains(" staging ") && l.contains("shop-staging"))
    });
    assert!(!pty.screen().contains("PRODUCTION"), "{}", pty.screen());
    pty.send(":context nope\r");
    pty.wait_for("the refusal", Duration::from_secs(3), |s| {
        s.contains("unknown context `nope` (contexts: prod, staging)")
    });
    pty.send(":context prod\r");
    pty.wait_for("the prod header", Duration::from_secs(10), |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("prod · PRODUCTION") && l.contains("shop-prod"))
    });
    // The command history came along.
    pty.send(":");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x1b[A");
    pty.wait_for("the history", Duration::from_secs(3), |s| {
        s.contains(":context prod▏")
    });
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x1b");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    // Headless commands take the context too.
    let out = common::run({
        let mut c = home.command();
        c.args(["--context", "prod", "status", "--json"]);
        c
    });
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"web\""),
        "{}",
        common::stderr(&out)
    );
    let out = common::run({
        let mut c = home.command();
        c.args(["--context", "dev", "status"]);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("unknown context `dev` (contexts: prod, staging)"));
}
