//! Logs go to a file in the XDG state directory, never to the screen: while
//! the console owns the terminal, a stray line would corrupt it.

use std::path::Path;

use anyhow::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start logging to `file`. Keep the guard alive until exit so the last lines
/// are flushed. The level comes from `$BACKSTOP_LOG` (default `info`).
pub fn init(file: &Path) -> Result<WorkerGuard> {
    let dir = file.parent().context("log file has no directory")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let name = file.file_name().context("log file has no name")?;
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("BACKSTOP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok();
    Ok(guard)
}
