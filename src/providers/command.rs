//! Running an operator's command: an argument vector, never a shell string,
//! with a time limit, its output captured for the event log.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Output kept per stream; the rest is dropped.
const OUTPUT_CAP: usize = 64 * 1024;

/// A finished command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// The exit code; `None` if a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The last line of stderr (or stdout), for a one-line error.
    pub fn last_words(&self) -> String {
        let pick = |s: &str| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        };
        pick(&self.stderr)
            .or_else(|| pick(&self.stdout))
            .unwrap_or_default()
    }

    /// Output lines for the event log, prefixed by stream, at most `max`.
    pub fn log_lines(&self, max: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("stdout: {l}"))
            .collect();
        out.extend(
            self.stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("stderr: {l}")),
        );
        if out.len() > max {
            let more = out.len() - max;
            out.truncate(max);
            out.push(format!("… {more} more lines"));
        }
        out
    }
}

/// What kept a command from running to an exit code (an exit code that is
/// not 0 is a `Ran`, not an error: the caller decides what it means).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("cannot run `{program}`: {error}")]
    Spawn { program: String, error: String },
    #[error("`{program}` could not be waited for: {error}")]
    Wait { program: String, error: String },
    /// It overran its time and was killed.
    #[error("`{command}` did not finish within {} and was killed", crate::core::time::human(*.after))]
    Timeout { command: String, after: Duration },
}

/// Run `argv` and wait at most `timeout`; a command that overruns is killed.
pub async fn run(argv: &[String], timeout: Duration) -> Result<Ran, CommandError> {
    run_with_env(argv, timeout, &[]).await
}

/// [`run`] with extra environment variables (`TARGET_URL` for smoke tests).
pub async fn run_with_env(
    argv: &[String],
    timeout: Duration,
    env: &[(&str, &str)],
) -> Result<Ran, CommandError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(CommandError::Empty);
    };
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CommandError::Spawn {
            program: program.clone(),
            error: e.to_string(),
        })?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let work = async {
        let (o, e) = tokio::join!(read_capped(out.as_mut()), read_capped(err.as_mut()));
        let status = child.wait().await;
        (o, e, status)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok((stdout, stderr, Ok(status))) => Ok(Ran {
            code: status.code(),
            stdout,
            stderr,
        }),
        Ok((_, _, Err(e))) => Err(CommandError::Wait {
            program: program.clone(),
            error: e.to_string(),
        }),
        // `child` is dropped here, and kill_on_drop ends it.
        Err(_) => Err(CommandError::Timeout {
            command: display(argv),
            after: timeout,
        }),
    }
}

async fn read_capped<R: tokio::io::AsyncRead + Unpin>(r: Option<&mut R>) -> String {
    let Some(r) = r else { return String::new() };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf.len() < OUTPUT_CAP {
                    let take = n.min(OUTPUT_CAP - buf.len());
                    buf.extend_from_slice(&chunk[..take]);
                }
                // Past the cap keep reading, so the command is not blocked on a full pipe.
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

pub use crate::core::argv::{display, substitute};

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn substitution_keeps_arguments_whole() {
        let argv = v(&["switch", "--env={env}", "{weight}", "{env}-{env}"]);
        assert_eq!(
            substitute(&argv, "a b; rm -rf /", 25),
            v(&[
                "switch",
                "--env=a b; rm -rf /",
                "25",
                "a b; rm -rf /-a b; rm -rf /"
            ])
        );
    }

    #[test]
    fn display_quotes_for_reading() {
        assert_eq!(display(&v(&["nginx", "-s", "reload"])), "nginx -s reload");
        assert_eq!(
            display(&v(&["echo", "it's", "a\nb", ""])),
            r"echo 'it'\''s' 'a\nb' ''"
        );
    }

    #[tokio::test]
    async fn hostile_arguments_reach_the_program_as_data() {
        let hostile = "; rm -rf / && echo \"pwned\" `id` $(id) 'x'\nsecond line";
        let argv = substitute(&v(&["printf", "[%s]\\n", "{env}", "{weight}"]), hostile, 7);
        let ran = run(&argv, Duration::from_secs(5)).await.unwrap();
        assert!(ran.success());
        assert_eq!(ran.stdout, format!("[{hostile}]\n[7]\n"));
    }

    #[tokio::test]
    async fn timeouts_kill_and_failures_report() {
        let started = std::time::Instant::now();
        let e = run(&v(&["sleep", "10"]), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(e, CommandError::Timeout { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "`sleep 10` did not finish within 300ms and was killed"
        );
        assert!(started.elapsed() < Duration::from_secs(3));

        let ran = run(
            &v(&["sh", "-c", "echo out; echo oops >&2; exit 3"]),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(ran.code, Some(3));
        assert_eq!(ran.last_words(), "oops");
        assert_eq!(ran.log_lines(10), ["stdout: out", "stderr: oops"]);

        let e = run(&v(&["/definitely/not/here"]), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, CommandError::Spawn { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("cannot run `/definitely/not/here`"),
            "{e}"
        );
    }
}
