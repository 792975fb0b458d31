//! The command traffic provider against a small fake platform CLI: weights
//! read and set through real processes, hostile input passed as data,
//! timeouts, failures and their reverts.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backstop::config::CommandConfig;
use backstop::core::traffic::Weights;
use backstop::providers::traffic::TrafficProvider;
use backstop::providers::traffic::command::CommandTraffic;
use backstop::providers::{LeaseCheck, LeaseLost};

/// A fake `platformctl`: `read` prints the weights as JSON; `set ENV WEIGHT`
/// stores one, logging every argument on its own line. `FAIL_ON` names an
/// environment whose `set` exits 3; `SLEEP` makes `set` hang.
const FAKE_CTL: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
case "$1" in
  read)
    printf '{'
    sep=''
    for f in "$dir"/weights/*; do
      printf '%s"%s": %s' "$sep" "$(basename "$f")" "$(cat "$f")"
      sep=', '
    done
    printf '}\n'
    ;;
  set)
    for a in "$@"; do printf '<%s>\n' "$a"; done >> "$dir/argv.log"
    if [ -f "$dir/fail_on" ] && [ "$(cat "$dir/fail_on")" = "$2" ]; then echo "platform says no to $2" >&2; exit 3; fi
    if [ -f "$dir/sleep" ]; then sleep 5; fi
    printf '%s' "$3" > "$dir/weights/$2"
    echo "switched $2 to $3"
    ;;
esac
"#;

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(envs: &[(&str, u32)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("platformctl");
        std::fs::write(&ctl, FAKE_CTL).unwrap();
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("weights")).unwrap();
        for (env, w) in envs {
            std::fs::write(dir.path().join("weights").join(env), w.to_string()).unwrap();
        }
        Fake { dir }
    }

    fn ctl(&self) -> String {
        self.dir.path().join("platformctl").display().to_string()
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn provider(&self, envs: &[&str], timeout: Duration) -> CommandTraffic {
        CommandTraffic::new(
            CommandConfig {
                read: vec![self.ctl(), "read".into()],
                set: vec![self.ctl(), "set".into(), "{env}".into(), "{weight}".into()],
                timeout,
            },
            envs.iter().map(|e| e.to_string()).collect(),
        )
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[tokio::test]
async fn reads_previews_and_sets_through_the_cli() {
    let fake = Fake::new(&[("blue", 90), ("green", 10)]);
    let p = fake.provider(&["blue", "green"], Duration::from_secs(5));
    let now = p.read().await.unwrap();
    assert_eq!(now.percents(), [90, 10]);
    let to = Weights::from_percents([("blue", 0), ("green", 100)]);
    let preview = p.preview(&now, &to).await.unwrap();
    // Gaining environment first; each line is exactly what will run.
    assert_eq!(
        preview[1],
        format!("  $ {} set green 100    # green 10 → 100 %", fake.ctl())
    );
    assert_eq!(
        preview[2],
        format!("  $ {} set blue 0    # blue 90 → 0 %", fake.ctl())
    );
    let applied = p.set(&now, &to, &LeaseCheck::none()).await.unwrap();
    assert_eq!(applied.weights.percents(), [0, 100]);
    assert!(
        applied
            .log
            .iter()
            .any(|l| l == "stdout: switched green to 100"),
        "{:#?}",
        applied.log
    );
}

#[tokio::test]
async fn hostile_environment_names_are_data_not_commands() {
    let hostile = "; rm -rf / && touch pwned `id` $(id) \"q\" 'x'";
    let fake = Fake::new(&[("blue", 100)]);
    // The CLI stores the weight under the env name: use a file-safe name for
    // the stored side, and check what arrived in argv.
    let p = CommandTraffic::new(
        CommandConfig {
            read: vec![fake.ctl(), "read".into()],
            set: vec![
                fake.ctl(),
                "set".into(),
                "blue".into(),
                "{weight}".into(),
                "--note={env}\nnext line".into(),
            ],
            timeout: Duration::from_secs(5),
        },
        vec!["blue".into(), hostile.into()],
    );
    let from = p.read().await.unwrap();
    assert_eq!(from.percents(), [100, 0]);
    let to = Weights::from_percents([("blue", 50), (hostile, 50)]);
    p.set(&from, &to, &LeaseCheck::none()).await.unwrap();
    // Two runs (the gaining environment first); every argument arrived whole.
    let log = read(&fake.path("argv.log"));
    assert_eq!(
        log,
        format!(
            "<set>\n<blue>\n<50>\n<--note={hostile}\nnext line>\n<set>\n<blue>\n<50>\n<--note=blue\nnext line>\n"
        )
    );
    assert!(
        !fake.path("pwned").exists() && !Path::new("pwned").exists(),
        "nothing was interpreted"
    );
}

#[tokio::test]
async fn a_failing_step_is_reported_and_earlier_steps_reverted() {
    let fake = Fake::new(&[("blue", 90), ("green", 10)]);
    std::fs::write(fake.path("fail_on"), "blue").unwrap();
    let p = fake.provider(&["blue", "green"], Duration::from_secs(5));
    let from = p.read().await.unwrap();
    let e = p
        .set(
            &from,
            &Weights::from_percents([("blue", 0), ("green", 100)]),
            &LeaseCheck::none(),
        )
        .await
        .unwrap_err();
    assert!(
        e.message
            .contains("exited with 3: platform says no to blue"),
        "{}",
        e.message
    );
    assert!(
        e.message.ends_with("the earlier steps were reverted"),
        "{}",
        e.message
    );
    // green had already moved to 100; it was put back to 10.
    assert_eq!(read(&fake.path("weights/green")), "10");
    assert_eq!(p.read().await.unwrap().percents(), [90, 10]);
    assert!(
        e.log.iter().any(|l| l == "reverted green to 10 %"),
        "{:#?}",
        e.log
    );
}

/// The lease is looked at between the commands of one change: a driver
/// taken over midway stops there, undoes nothing (that would be a change
/// without the lease) and says what was done and what was not.
#[tokio::test]
async fn a_lease_lost_between_two_commands_stops_the_change_there() {
    let fake = Fake::new(&[("blue", 90), ("green", 10)]);
    let p = fake.provider(&["blue", "green"], Duration::from_secs(5));
    let from = p.read().await.unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = asked.clone();
    let lease = LeaseCheck::new(move || {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if n == 0 {
                Ok(())
            } else {
                Err(LeaseLost::TakenOver {
                    service: "web".into(),
                    token: 3,
                    holder: "bob".into(),
                    now: 4,
                })
            }
        })
    });
    let e = p
        .set(
            &from,
            &Weights::from_percents([("blue", 0), ("green", 100)]),
            &lease,
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("bob drives it now"), "{}", e.message);
    assert!(
        e.message.contains("stopped midway: green set to 100 %; `")
            && e.message.contains("set blue 0` and what follows not run"),
        "{}",
        e.message
    );
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Green moved (gaining first); blue was never touched, nothing undone.
    assert_eq!(read(&fake.path("weights/green")), "100");
    assert_eq!(read(&fake.path("weights/blue")), "90");
    assert!(
        !e.log.iter().any(|l| l.starts_with("reverted")),
        "{:#?}",
        e.log
    );
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_its_timeout() {
    let fake = Fake::new(&[("blue", 90), ("green", 10)]);
    std::fs::write(fake.path("sleep"), "").unwrap();
    let p = fake.provider(&["blue", "green"], Duration::from_millis(500));
    let from = p.read().await.unwrap();
    let started = std::time::Instant::now();
    let e = p
        .set(
            &from,
            &Weights::from_percents([("blue", 50), ("green", 50)]),
            &LeaseCheck::none(),
        )
        .await
        .unwrap_err();
    assert!(
        e.message
            .contains("did not finish within 500ms and was killed"),
        "{}",
        e.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_read_command_that_fails_or_lies_is_an_error_in_words() {
    let fake = Fake::new(&[("blue", 90), ("purple", 10)]);
    let p = fake.provider(&["blue", "green"], Duration::from_secs(5));
    let e = p.read().await.unwrap_err();
    assert_eq!(
        e.message,
        "the read command names `purple`, which is not an environment of this service"
    );
    let broken = CommandTraffic::new(
        CommandConfig {
            read: vec!["false".into()],
            set: vec!["true".into(), "{env}".into()],
            timeout: Duration::from_secs(5),
        },
        vec!["blue".into()],
    );
    assert_eq!(
        broken.read().await.unwrap_err().message,
        "`false` exited with 1: "
    );
}
