//! Standard output and error for the commands without a terminal.
//!
//! A reader that goes away (`| head -n1`, a CI log collector that died)
//! is not a failure of what the command is doing: `println!` would panic
//! on the closed pipe, in the middle of a rollback. Here a failed write
//! only marks the reader gone; the command decides at a safe point whether
//! to finish (a change under way) or stop (watching, a drill), journals
//! it, and exits with [`super::exit::READER_GONE`].

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::redact_urls;

/// One flag for the process, as there is one standard output: every
/// writer (events, the closing object, the exit code) must agree on it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Whether a write to standard output has failed (the reader went away).
pub fn gone() -> bool {
    STDOUT_GONE.load(Ordering::SeqCst)
}

/// Print `text` as it is. Once the reader is gone, nothing more is tried.
pub fn text(text: impl Display) {
    if gone() {
        return;
    }
    let text = text.to_string();
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        STDOUT_GONE.store(true, Ordering::SeqCst);
        tracing::warn!("standard output closed ({e}): the reader went away; printing stops");
    }
}

/// Print one line.
pub fn line(line: impl Display) {
    text(format!("{line}\n"));
}

/// One line on standard error; a closed standard error is ignored (there
/// is nobody left to tell), never a panic. Errors quote what they were
/// given, and a URL given may carry a password: masked here, whatever the
/// error path.
pub fn err_line(line: impl Display) {
    let line = redact_urls(&line.to_string());
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Standard error without a newline (a question before its answer).
pub fn err_text(text: impl Display) {
    let text = redact_urls(&text.to_string());
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{text}").and_then(|()| err.flush());
}

/// Resolves when the reader of standard output goes away (the read end
/// of a pipe closed), so a command that has nothing to print for a while
/// still learns it in time. Pends forever when that cannot be known (a
/// terminal, a file: they do not go away like that).
pub async fn reader_gone() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    // A copy of the descriptor that this function owns: it stays open for
    // as long as it is registered, whatever happens to fd 1.
    let Ok(owned) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return std::future::pending().await;
    };
    let is_pipe = owned
        .try_clone()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_fifo());
    if !is_pipe {
        return std::future::pending().await;
    }
    // A pipe's write end reports an error (EPOLLERR) once no reader is left.
    // `with_interest` is deprecated for fds it does not own (tokio#8587);
    // this one owns its `OwnedFd`, and the replacement is `unsafe`.
    #[allow(deprecated)]
    let Ok(fd) = AsyncFd::with_interest(owned, Interest::ERROR) else {
        return std::future::pending().await;
    };
    if fd.ready(Interest::ERROR).await.is_ok() {
        STDOUT_GONE.store(true, Ordering::SeqCst);
        tracing::warn!("standard output closed: the reader went away");
    } else {
        std::future::pending::<()>().await;
    }
}

/// [`reader_gone`] on its own task, for as long as the handle is kept.
pub fn watch_reader() -> ReaderWatch {
    ReaderWatch(tokio::spawn(reader_gone()))
}

/// Stops watching when dropped.
pub struct ReaderWatch(tokio::task::JoinHandle<()>);

impl Drop for ReaderWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
