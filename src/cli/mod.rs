//! The command line. Exit codes: 0 healthy, 1 failing (or the console could
//! not run), 2 bad usage or configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use crate::app;
use crate::config::drill::Scenarios;
use crate::config::runbook::Catalog;
use crate::config::{self, Config, Source};
use crate::core::model::Origin;
use crate::engine::Storage;
use crate::headless::{self, exit, out};
use crate::keymap::Keymap;
use crate::logging;
use crate::paths::Paths;
use crate::report::Report;
use crate::room::Reader;
use crate::sandbox::drill::DrillOptions;
use crate::sandbox::{self, Sandbox};
use crate::tui::Theme;

mod args;
mod config_file;
mod console;
mod drill;
mod journal;
mod manual;
mod report;
mod team;
mod who;

pub use args::{Cli, Command, ConfigCommand, Format, JournalCommand, Target};
use config_file::{config_check, config_init};
use console::{console, drill};
use drill::{Play, scenario_drill};
use journal::journal_verify;
use report::{Shown, drill_list, report, report_stats};

pub fn main() -> ExitCode {
    let paths = Paths::discover();
    let files = match &paths {
        Ok(p) => format!(
            "Files:\n  config  {}\n  keymap  {}\n  log     {}",
            p.config_file.display(),
            p.keymap_file.display(),
            p.log_file.display()
        ),
        Err(e) => format!("Files: {e:#}"),
    };
    let matches = Cli::command().after_help(files).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let paths = match paths {
        Ok(p) => p,
        Err(e) => {
            out::err_line(format_args!("backstop: {e:#}"));
            return ExitCode::from(exit::USAGE);
        }
    };
    let _log = match logging::init(&paths.log_file) {
        Ok(g) => Some(g),
        Err(e) => {
            out::err_line(format_args!("backstop: logging is off: {e:#}"));
            None
        }
    };
    // The one place a command's failure is said.
    let code = match run(cli, &paths) {
        Ok(code) => code,
        Err(failure) => {
            out::err_line(&failure);
            failure.code()
        }
    };
    if out::gone() {
        tracing::info!(
            "standard output was closed before the end; exit {}",
            exit::READER_GONE
        );
        return ExitCode::from(exit::READER_GONE);
    }
    ExitCode::from(code)
}

/// Why a command stopped before its work was done: what to tell the person
/// on stderr, and so its exit code. Commands return their exit code or one
/// of these; `main` is the one place that prints them.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad usage, a bad file, or a refusal before anything ran: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The work could not be done: exit 1.
    #[error("{0}")]
    Failing(String),
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::Failing(_) => exit::FAILING,
        }
    }
}

/// A command's end: its exit code, or why it could not do its work.
pub type Done = Result<u8, Failure>;

fn run(cli: Cli, paths: &Paths) -> Done {
    if let Some(name) = &cli.operator {
        crate::identity::declare(name);
    }
    // A context is a configuration file by name: from here on, as --config.
    let mut cli = cli;
    if let Some(file) = context_file(&cli, paths)? {
        cli.config = Some(file);
    }
    let journal = cli.journal.clone();
    // The incidents' journal is where the configuration keeps it (a table,
    // or a file shared on this host), found once, when a command first
    // needs it; else this user's file, or `--journal FILE`. Drills always
    // rehearse on this host's file.
    let configured = std::cell::OnceCell::new();
    let config_flag = cli.config.clone();
    let storage = |drill: bool| -> Result<Storage, Failure> {
        let found = if drill {
            None
        } else {
            match configured.get() {
                Some(c) => c,
                None => {
                    let found = configured_journal(config_flag.as_deref(), paths)?;
                    configured.get_or_init(|| found)
                }
            }
            .clone()
        };
        if let (Some(flag), Some(c)) = (&journal, &found) {
            return Err(Failure::Usage(format!(
                "backstop: --journal {} is refused: the configuration keeps its journal in {}, where the rest of its room meets; leave --journal out (or use a configuration without [journal])",
                flag.display(),
                c.describe()
            )));
        }
        Ok(match found {
            Some(Configured::Table(t)) => Storage {
                journal: paths.data_dir.join(format!("dynamodb-{}.sqlite", t.name)),
                reports: paths.reports_dir.clone(),
                table: Some(t),
            },
            Some(Configured::File(f)) => Storage {
                journal: f,
                reports: paths.reports_dir.clone(),
                table: None,
            },
            None => Storage {
                journal: journal.clone().unwrap_or_else(|| {
                    if drill {
                        paths.drill_journal_file.clone()
                    } else {
                        paths.journal_file.clone()
                    }
                }),
                reports: paths.reports_dir.clone(),
                table: None,
            },
        })
    };
    match cli.command {
        None => console(cli.config.as_deref(), paths, storage(false)?, cli.read_only),
        Some(Command::Drill {
            list,
            scenario,
            speed,
            seed,
            auto,
            headless,
            json,
            target,
            yes,
            interval,
            timeout,
            rate,
            team,
            approvals,
            self_declared_approvers,
            join,
        }) => {
            if join {
                team::join(paths, storage(true)?)
            } else if list || scenario.is_some() {
                let team = team.then_some(team::Team {
                    approvals,
                    self_declared: self_declared_approvers,
                });
                let play = Play {
                    team,
                    list,
                    scenario,
                    speed,
                    seed,
                    auto,
                    headless,
                    json,
                    aws: (target == Target::Aws).then(|| cli.config.clone()),
                    yes,
                };
                scenario_drill(paths, play, storage(true)?)
            } else {
                let team = team.then_some(team::Team {
                    approvals,
                    self_declared: self_declared_approvers,
                });
                drill(
                    paths,
                    interval,
                    timeout,
                    rate,
                    storage(true)?,
                    cli.read_only,
                    team,
                )
            }
        }
        Some(Command::Report {
            incident,
            format,
            drill,
            drills,
            stats,
            json,
            list,
            postmortem,
        }) => {
            let format = if json { Format::Json } else { format };
            if stats {
                report_stats(&storage(drill)?.place(), format)
            } else if drills {
                drill_list(&storage(true)?.place(), format)
            } else {
                let how = if list {
                    Shown::List
                } else if postmortem {
                    Shown::Postmortem
                } else {
                    Shown::Report(format)
                };
                report(&storage(drill)?.place(), incident, how)
            }
        }
        Some(Command::Probe { url, json, timeout }) => runtime(|| {
            until_signal("probe", async move {
                Ok(headless::probe::run(&url, json, timeout).await)
            })
        }),
        Some(Command::Status { json }) => {
            let config = load_config(cli.config.as_deref(), paths)?;
            let place = storage(false)?.place();
            runtime(|| {
                until_signal("status", async move {
                    headless::status::run(&config, json, Some(&place))
                        .await
                        .map_err(|e| Failure::Failing(format!("backstop status: {e:#}")))
                })
            })
        }
        Some(Command::Verify {
            service,
            env,
            stabilize,
            watch_for,
            json,
        }) => {
            let args = headless::verify::Args {
                service,
                env,
                stabilize,
                watch: watch_for,
                json,
            };
            let storage = storage(false)?;
            pipeline(cli.config.as_deref(), paths, "verify", |c| async move {
                headless::verify::run(c, &storage, args).await
            })
        }
        Some(Command::Watch {
            service,
            auto,
            window,
            json,
        }) => {
            let args = headless::watch::Args {
                service,
                auto,
                window,
                json,
            };
            let storage = storage(false)?;
            pipeline(cli.config.as_deref(), paths, "watch", |c| async move {
                headless::watch::run(c, &storage, args).await
            })
        }
        Some(Command::Rollback {
            service,
            env,
            yes,
            dry_run,
            json,
        }) => {
            let args = headless::rollback::Args {
                service,
                env,
                yes,
                dry_run,
                json,
            };
            let storage = storage(false)?;
            pipeline(cli.config.as_deref(), paths, "rollback", |c| async move {
                headless::rollback::run(c, &storage, args).await
            })
        }
        Some(Command::Config(ConfigCommand::Check { file })) => {
            config_check(file.or(cli.config).as_deref(), paths)
        }
        Some(Command::Journal(JournalCommand::Verify { json, drill })) => {
            journal_verify(&storage(drill)?.place(), json)
        }
        Some(Command::Journal(JournalCommand::Init { print, group })) => {
            journal::journal_init(cli.config.as_deref(), paths, print, group.as_deref())
        }
        Some(Command::Journal(JournalCommand::Copy { from })) => journal::journal_copy(
            cli.config.as_deref(),
            paths,
            &from.unwrap_or_else(|| paths.journal_file.clone()),
        ),
        Some(Command::Config(ConfigCommand::Init { force, path })) => {
            config_init(path.as_deref().unwrap_or(&paths.config_file), force)
        }
        Some(Command::Who { json, drill }) => {
            // A driver is lost by the expiry of the configuration in force
            // (drills keep the default).
            let expiry = if drill {
                crate::room::lease::EXPIRY
            } else {
                configured_expiry(cli.config.as_deref(), paths)?
            };
            who::who(&storage(drill)?.place(), json, expiry)
        }
        Some(Command::Milestone {
            incident,
            milestone,
            at,
            reason,
            drill,
        }) => report::correct(&storage(drill)?.place(), incident, &milestone, &at, &reason),
        Some(Command::Keys) => {
            out::text(load_keymap(paths)?.describe());
            Ok(exit::OK)
        }
        Some(Command::Paths) => {
            out::text(paths.describe());
            Ok(exit::OK)
        }
        Some(Command::Completions { shell }) => {
            out::text(manual::completions(shell));
            Ok(exit::OK)
        }
        Some(Command::Man) => {
            let page = manual::page(&load_keymap(paths)?)
                .map_err(|e| Failure::Failing(format!("backstop man: {e}")))?;
            out::text(page);
            Ok(exit::OK)
        }
    }
}

pub(super) fn runtime<F, Fut>(f: F) -> Done
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Done>,
{
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::Failing(format!("backstop: cannot start the async runtime: {e}")))?;
    let done = rt.block_on(f());
    // A thread still blocked (a question on stdin a signal cut short) must
    // not hold the exit: dropping would wait for it.
    rt.shutdown_timeout(Duration::from_secs(1));
    // The journal's last rows (a headless command queues them just before
    // it returns) are written before the process goes.
    crate::room::journal::written_before_exit(Duration::from_secs(3));
    done
}

/// A one-shot command that changes nothing: a signal ends it at once, said
/// on stderr, with exit 128 + the signal's number.
pub(super) async fn until_signal(
    name: &str,
    work: impl std::future::Future<Output = Done>,
) -> Done {
    let interrupt = headless::interrupt::Interrupt::listen();
    tokio::select! {
        done = work => done,
        () = interrupt.wait() => {
            out::err_line(format_args!(
                "backstop {name}: interrupted by {} before the answer",
                interrupt.received().unwrap_or("a signal")
            ));
            Ok(interrupt.code())
        }
    }
}

/// A headless command on the configuration: errors are exit 2.
pub(super) fn pipeline<F, Fut>(flag: Option<&Path>, paths: &Paths, name: &str, f: F) -> Done
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u8>>,
{
    let config = load_config(flag, paths)?;
    runtime(|| async move {
        // Before anything records who acts (the engine, presence, leases).
        crate::identity::learn_aws(config.aws_in_use()).await;
        f(config)
            .await
            .map_err(|e| Failure::Usage(format!("backstop {name}: {e:#}")))
    })
}

pub(super) fn load_keymap(paths: &Paths) -> Result<Keymap, Failure> {
    Keymap::load(&paths.keymap_file).map_err(|d| {
        Failure::Usage(format!(
            "{d}\nbackstop: the keymap has errors; fix them or move the file away"
        ))
    })
}

pub(super) fn no_config_help(paths: &Paths) -> String {
    format!(
        "backstop: no configuration found.\n\
         \x20 looked for: --config FILE, $BACKSTOP_CONFIG, {}\n\n\
         To see backstop work right away, start the drill sandbox:\n\
         \x20   backstop drill\n\n\
         To watch your own services, write a configuration and edit it:\n\
         \x20   backstop config init     (writes a documented example to {})\n\
         \x20   backstop config check",
        paths.config_file.display(),
        paths.config_file.display()
    )
}

pub(super) fn load_config(flag: Option<&Path>, paths: &Paths) -> Result<Config, Failure> {
    let found = config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    )
    .map_err(|e| Failure::Usage(format!("backstop: {e}")))?;
    let Some((path, _)) = found else {
        return Err(Failure::Usage(no_config_help(paths)));
    };
    let runbooks = load_runbooks(paths)?;
    let config = config::load_with(&path, &runbooks).map_err(|d| {
        Failure::Usage(format!(
            "{d}\nbackstop: {} has errors (`backstop config check` lists them)",
            path.display()
        ))
    })?;
    Ok(config)
}

/// Where a configuration keeps its journal, when it says.
#[derive(Clone)]
pub(super) enum Configured {
    /// A DynamoDB table shared between hosts.
    Table(std::sync::Arc<crate::room::dynamo::Table>),
    /// A file several accounts on this host share.
    File(PathBuf),
}

impl Configured {
    fn describe(&self) -> String {
        match self {
            Configured::Table(t) => format!("DynamoDB table {}", t.name),
            Configured::File(f) => f.display().to_string(),
        }
    }
}

/// Where the configuration keeps its journal, if it names a place (no
/// configuration, or none named: this user's file).
pub(super) fn configured_journal(
    flag: Option<&Path>,
    paths: &Paths,
) -> Result<Option<Configured>, Failure> {
    let found = config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    )
    .map_err(|e| Failure::Usage(format!("backstop: {e}")))?;
    if found.is_none() {
        return Ok(None);
    }
    let config = load_config(flag, paths)?;
    Ok(match config.journal {
        config::journal::JournalConfig::DynamoDb { table, aws } => Some(Configured::Table(
            crate::room::dynamo::Table::new(&table, aws),
        )),
        config::journal::JournalConfig::Path(p) => Some(Configured::File(p)),
        config::journal::JournalConfig::File => None,
    })
}

/// The configuration's `lease_expiry`, or the default without one.
fn configured_expiry(flag: Option<&Path>, paths: &Paths) -> Result<std::time::Duration, Failure> {
    let found = config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    )
    .map_err(|e| Failure::Usage(format!("backstop: {e}")))?;
    Ok(match found {
        Some(_) => load_config(flag, paths)?.lease_expiry,
        None => crate::room::lease::EXPIRY,
    })
}

/// The DynamoDB table the configuration keeps its journal in, if it names
/// one (no configuration: none).
pub(super) fn shared_table(
    flag: Option<&Path>,
    paths: &Paths,
) -> Result<Option<std::sync::Arc<crate::room::dynamo::Table>>, Failure> {
    Ok(match configured_journal(flag, paths)? {
        Some(Configured::Table(t)) => Some(t),
        _ => None,
    })
}

/// The configuration file of the context asked for (`--context`,
/// `$BACKSTOP_CONTEXT`, else `contexts.toml`'s default when no configuration
/// was named), if any.
fn context_file(cli: &Cli, paths: &Paths) -> Result<Option<PathBuf>, Failure> {
    let asked = cli.context.clone().or_else(|| {
        std::env::var("BACKSTOP_CONTEXT")
            .ok()
            .filter(|v| !v.is_empty())
    });
    let named_config =
        cli.config.is_some() || std::env::var("BACKSTOP_CONFIG").is_ok_and(|v| !v.is_empty());
    if asked.is_none() && named_config {
        return Ok(None);
    }
    let found = crate::contexts::Contexts::discover(&paths.config_dir);
    let contexts = match (found, &asked) {
        (Ok(c), _) => c,
        (Err(d), Some(_)) => {
            return Err(Failure::Usage(format!(
                "{d}\nbackstop: the contexts in {} have errors",
                paths.config_dir.display()
            )));
        }
        // Only looking for a default: the console says what is wrong.
        (Err(_), None) => return Ok(None),
    };
    let Some(name) = asked.or(contexts.default.clone()) else {
        return Ok(None);
    };
    contexts
        .get(&name)
        .map(|c| Some(c.file.clone()))
        .map_err(|e| Failure::Usage(format!("backstop: {e}")))
}

/// The built-in runbooks and the user's.
pub(super) fn load_runbooks(paths: &Paths) -> Result<Catalog, Failure> {
    Catalog::load(&paths.runbooks_dir).map_err(|d| {
        Failure::Usage(format!(
            "{d}\nbackstop: runbooks in {} have errors (`backstop config check` lists them)",
            paths.runbooks_dir.display()
        ))
    })
}

pub(super) fn open_console<F, Fut>(f: F) -> Done
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "backstop: the console needs a terminal; for a one-shot view without one use `backstop status` (or `--json`)".into(),
        ));
    }
    runtime(|| async move {
        f().await
            .map(|()| exit::OK)
            .map_err(|e| Failure::Failing(format!("backstop: {e:#}")))
    })
}
