//! The command line. Exit codes: 0 healthy, 1 failing (or the console could
//! not run), 2 bad usage or configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app;
use crate::config::drill::Scenarios;
use crate::config::runbook::Catalog;
use crate::config::{self, Config, HumanDuration, Source};
use crate::core::model::Origin;
use crate::engine::Storage;
use crate::headless::{self, exit, out};
use crate::journal::Reader;
use crate::keymap::Keymap;
use crate::logging;
use crate::paths::Paths;
use crate::report::Report;
use crate::sandbox::drill::DrillOptions;
use crate::sandbox::{self, Sandbox};
use crate::tui::Theme;

#[derive(Parser, Debug)]
#[command(
    name = "backstop",
    version,
    about = "A terminal incident console for deployment verification and rollback.",
    long_about = "A terminal incident console for deployment verification and rollback.\n\n\
        With no command, opens the console on your configuration. New here? Run `backstop drill`:\n\
        it starts sample blue/green services on 127.0.0.1 and opens the console on them."
)]
pub struct Cli {
    /// Configuration file [default: $BACKSTOP_CONFIG, then the XDG config directory]
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Incident journal (SQLite) [default: journal.sqlite, or drills.sqlite for drills, in the XDG data directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the drill sandbox (sample blue/green services on 127.0.0.1) and open the console on it;
    /// with --scenario, a scored rollback rehearsal (with --headless: exit 0 when its expectation held, 1 when not)
    Drill {
        /// List the drill scenarios (built in, and yours) and exit
        #[arg(long)]
        list: bool,
        /// Play this scenario: its timeline of deploys and faults, then the score
        #[arg(long, value_name = "NAME")]
        scenario: Option<String>,
        /// Run the scenario N times faster: its timeline, the probes and the rules' windows together
        #[arg(long, default_value_t = 1.0, value_name = "N", requires = "scenario")]
        speed: f64,
        /// Seed for the scenario's random choices (flapping); printed, so a drill can be replayed
        #[arg(long, value_name = "N", requires = "scenario")]
        seed: Option<u64>,
        /// Roll back by the runbook's automatable path, without a person (decision mode auto)
        #[arg(long, requires = "scenario")]
        auto: bool,
        /// No terminal: print the events and the score (needs --scenario and --auto)
        #[arg(long, requires_all = ["scenario", "auto"])]
        headless: bool,
        /// With --headless: print the score as JSON only
        #[arg(long, requires = "headless")]
        json: bool,
        /// Where backstop's changes land: the sandbox, or the AWS providers (ALB weights, ECS)
        /// of the scenario's service in your configuration (--config); the apps stay the sandbox's
        #[arg(long, default_value = "sandbox", value_parser = ["sandbox", "aws"], requires = "scenario")]
        target: String,
        /// With --target aws: do not ask before changing the real weights (required with --headless)
        #[arg(long, short)]
        yes: bool,
        /// Time between health probes (free play)
        #[arg(long, default_value = "2s", value_parser = duration, conflicts_with = "scenario")]
        interval: Duration,
        /// How long a probe waits for an answer (free play)
        #[arg(long, default_value = "1s", value_parser = duration, conflicts_with = "scenario")]
        timeout: Duration,
        /// Synthetic requests per second through each service's router (free play; 0: none)
        #[arg(long, default_value_t = 50.0, conflicts_with = "scenario")]
        rate: f64,
    },
    /// Probe one health endpoint once and print the verdict (exit 0 ok/degraded, 1 critical/unreachable)
    Probe {
        /// The URL to GET
        url: String,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// How long to wait for the whole answer
        #[arg(long, default_value = "5s", value_parser = duration, value_name = "DUR")]
        timeout: Duration,
    },
    /// Probe every configured environment once (exit code of the worst status)
    Status {
        /// Print one JSON document: services → environments → endpoints
        #[arg(long)]
        json: bool,
    },
    /// Verify a service after a deploy: stabilise, health, smoke tests, then watch the rules
    /// (exit 0 verified, 1 rollback required, 2 error)
    Verify {
        /// The service to verify
        #[arg(long, short)]
        service: String,
        /// Only this environment [default: those taking traffic, or all]
        #[arg(long, short)]
        env: Option<String>,
        /// Wait this long before checking (the deploy settles)
        #[arg(long, default_value = "30s", value_parser = duration, value_name = "DUR")]
        stabilize: Duration,
        /// Then watch the rules for this long; any rollback recommendation fails it (0s: skip)
        #[arg(long = "watch", default_value = "0s", value_parser = duration, value_name = "DUR")]
        watch_for: Duration,
        /// Print one JSON object: the checks, the verdict and the reasons
        #[arg(long)]
        json: bool,
    },
    /// Watch the rules and print every event (exit 0 calm, 1 rollback required, 2 error,
    /// 3 rolled back by --auto and verified)
    Watch {
        /// Only this service [default: all]
        #[arg(long, short)]
        service: Option<String>,
        /// Roll back by the runbook's automatable path, within the guards (decision mode auto)
        #[arg(long)]
        auto: bool,
        /// Stop after this long [default: until interrupted]
        #[arg(long = "for", value_parser = duration, value_name = "DUR")]
        window: Option<Duration>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Roll a service back by its runbook, without the console: the plan with every change
    /// previewed, one confirmation, then the automatable path (exit 0 done and verified, 1 not, 2 error)
    Rollback {
        /// The service to roll back
        #[arg(long, short)]
        service: String,
        /// The environment to roll back [default: what the rules name, else the one taking traffic]
        #[arg(long, short)]
        env: Option<String>,
        /// Do not ask (required without a terminal)
        #[arg(long, short)]
        yes: bool,
        /// Print the plan and every preview; change nothing
        #[arg(long, conflicts_with = "yes")]
        dry_run: bool,
        /// Events as JSON lines and a JSON result (the plan goes to stderr)
        #[arg(long)]
        json: bool,
    },
    /// Print an incident's report from the journal: timeline, MTTD and MTTR, steps, messages
    Report {
        /// The incident's number [default: the newest]
        incident: Option<i64>,
        /// md (Markdown) or json
        #[arg(long, default_value = "md", value_parser = ["md", "json"])]
        format: String,
        /// Read the drills' journal instead of the incidents'
        #[arg(long)]
        drill: bool,
        /// List past drills with their scores (MTTD, MTTR, expectation), oldest first
        #[arg(long, conflicts_with_all = ["incident", "list"])]
        drills: bool,
        /// List the incidents in the journal instead
        #[arg(long, conflicts_with = "incident")]
        list: bool,
    },
    /// Check or create the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The incident journal itself
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Print the key bindings in force (defaults merged with yours)
    Keys,
    /// Print where backstop keeps its configuration, keymap, log and data
    Paths,
}

#[derive(Subcommand, Debug)]
pub enum JournalCommand {
    /// Recompute the journal's hash chain and name the first row that does not fit
    /// (exit 0 it holds, 1 it is broken, 2 it cannot be read)
    Verify {
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// Verify the drills' journal instead of the incidents'
        #[arg(long)]
        drill: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate a configuration file [default: the one backstop would use]; errors as file:line:col, exit 2
    Check {
        /// The file to check
        file: Option<PathBuf>,
    },
    /// Write the documented example configuration to the default place
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
        /// Write here instead of the default place
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
}

fn duration(s: &str) -> Result<Duration, String> {
    HumanDuration::parse(s).map(|d| d.0)
}

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
    let code = run(cli, &paths);
    if out::gone() {
        tracing::info!(
            "standard output was closed before the end; exit {}",
            exit::READER_GONE
        );
        return ExitCode::from(exit::READER_GONE);
    }
    ExitCode::from(code)
}

fn run(cli: Cli, paths: &Paths) -> u8 {
    let journal = cli.journal.clone();
    let storage = |drill: bool| Storage {
        journal: journal.clone().unwrap_or_else(|| {
            if drill {
                paths.drill_journal_file.clone()
            } else {
                paths.journal_file.clone()
            }
        }),
        reports: paths.reports_dir.clone(),
    };
    match cli.command {
        None => console(cli.config.as_deref(), paths, storage(false)),
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
        }) => {
            if list || scenario.is_some() {
                let play = Play {
                    list,
                    scenario,
                    speed,
                    seed,
                    auto,
                    headless,
                    json,
                    aws: (target == "aws").then(|| cli.config.clone()),
                    yes,
                };
                scenario_drill(paths, play, storage(true))
            } else {
                drill(paths, interval, timeout, rate, storage(true))
            }
        }
        Some(Command::Report {
            incident,
            format,
            drill,
            drills,
            list,
        }) => {
            if drills {
                drill_list(&storage(true).journal, &format)
            } else {
                report(&storage(drill).journal, incident, &format, list)
            }
        }
        Some(Command::Probe { url, json, timeout }) => {
            runtime(|| until_signal("probe", headless::probe::run(&url, json, timeout)))
        }
        Some(Command::Status { json }) => {
            let config = match load_config(cli.config.as_deref(), paths) {
                Ok(c) => c,
                Err(code) => return code,
            };
            runtime(|| {
                until_signal("status", async move {
                    headless::status::run(&config, json)
                        .await
                        .unwrap_or_else(|e| {
                            out::err_line(format_args!("backstop status: {e:#}"));
                            exit::FAILING
                        })
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
            pipeline(cli.config.as_deref(), paths, "verify", |c| async move {
                headless::verify::run(c, &storage(false), args).await
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
            pipeline(cli.config.as_deref(), paths, "watch", |c| async move {
                headless::watch::run(c, &storage(false), args).await
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
            pipeline(cli.config.as_deref(), paths, "rollback", |c| async move {
                headless::rollback::run(c, &storage(false), args).await
            })
        }
        Some(Command::Config(ConfigCommand::Check { file })) => {
            config_check(file.or(cli.config).as_deref(), paths)
        }
        Some(Command::Journal(JournalCommand::Verify { json, drill })) => {
            journal_verify(&storage(drill).journal, json)
        }
        Some(Command::Config(ConfigCommand::Init { force, path })) => {
            config_init(path.as_deref().unwrap_or(&paths.config_file), force)
        }
        Some(Command::Keys) => match load_keymap(paths) {
            Ok(k) => {
                out::text(k.describe());
                exit::OK
            }
            Err(code) => code,
        },
        Some(Command::Paths) => {
            out::text(paths.describe());
            exit::OK
        }
    }
}

fn runtime<F, Fut>(f: F) -> u8
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = u8>,
{
    match tokio::runtime::Runtime::new() {
        Ok(rt) => {
            let code = rt.block_on(f());
            // A thread still blocked (a question on stdin a signal cut
            // short) must not hold the exit: dropping would wait for it.
            rt.shutdown_timeout(Duration::from_secs(1));
            code
        }
        Err(e) => {
            out::err_line(format_args!(
                "backstop: cannot start the async runtime: {e}"
            ));
            exit::FAILING
        }
    }
}

/// A one-shot command that changes nothing: a signal ends it at once, said
/// on stderr, with exit 128 + the signal's number.
async fn until_signal(name: &str, work: impl std::future::Future<Output = u8>) -> u8 {
    let interrupt = headless::interrupt::Interrupt::listen();
    tokio::select! {
        code = work => code,
        () = interrupt.wait() => {
            out::err_line(format_args!(
                "backstop {name}: interrupted by {} before the answer",
                interrupt.received().unwrap_or("a signal")
            ));
            interrupt.code()
        }
    }
}

/// A headless command on the configuration: errors are exit 2.
fn pipeline<F, Fut>(flag: Option<&Path>, paths: &Paths, name: &str, f: F) -> u8
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u8>>,
{
    let config = match load_config(flag, paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    runtime(|| async move {
        f(config).await.unwrap_or_else(|e| {
            out::err_line(format_args!("backstop {name}: {e:#}"));
            exit::USAGE
        })
    })
}

fn load_keymap(paths: &Paths) -> Result<Keymap, u8> {
    Keymap::load(&paths.keymap_file).map_err(|d| {
        out::err_line(&d);
        out::err_line("backstop: the keymap has errors; fix them or move the file away");
        exit::USAGE
    })
}

fn no_config_help(paths: &Paths) -> String {
    format!(
        "backstop: no configuration found.\n\
         \x20 looked for: --config FILE, $BACKSTOP_CONFIG, {}\n\n\
         To see backstop work right away, start the drill sandbox:\n\
         \x20   backstop drill\n\n\
         To watch your own services, write a configuration and edit it:\n\
         \x20   backstop config init     (writes a documented example to {})\n\
         \x20   backstop config check\n",
        paths.config_file.display(),
        paths.config_file.display()
    )
}

fn load_config(flag: Option<&Path>, paths: &Paths) -> Result<Config, u8> {
    let found = config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    )
    .map_err(|e| {
        out::err_line(format_args!("backstop: {e}"));
        exit::USAGE
    })?;
    let Some((path, _)) = found else {
        out::err_text(no_config_help(paths));
        return Err(exit::USAGE);
    };
    let runbooks = load_runbooks(paths)?;
    config::load_with(&path, &runbooks).map_err(|d| {
        out::err_line(&d);
        out::err_line(format_args!(
            "backstop: {} has errors (`backstop config check` lists them)",
            path.display()
        ));
        exit::USAGE
    })
}

/// The built-in runbooks and the user's.
fn load_runbooks(paths: &Paths) -> Result<Catalog, u8> {
    Catalog::load(&paths.runbooks_dir).map_err(|d| {
        out::err_line(&d);
        out::err_line(format_args!(
            "backstop: runbooks in {} have errors (`backstop config check` lists them)",
            paths.runbooks_dir.display()
        ));
        exit::USAGE
    })
}

fn console(flag: Option<&Path>, paths: &Paths, storage: Storage) -> u8 {
    let config = match load_config(flag, paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let keymap = match load_keymap(paths) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let origin = Origin::Config(config.file.clone());
    open_console(|| async move {
        app::run_console(
            config,
            origin,
            keymap,
            Theme::from_env(),
            None,
            None,
            &storage,
        )
        .await
    })
}

fn drill(paths: &Paths, interval: Duration, timeout: Duration, rate: f64, storage: Storage) -> u8 {
    if timeout >= interval {
        out::err_line("backstop drill: --timeout must be shorter than --interval");
        return exit::USAGE;
    }
    if !(0.0..=5000.0).contains(&rate) {
        out::err_line("backstop drill: --rate must be between 0 and 5000 requests a second");
        return exit::USAGE;
    }
    let keymap = match load_keymap(paths) {
        Ok(k) => k,
        Err(code) => return code,
    };
    open_console(|| async move {
        let options = sandbox::Options { rate };
        let sandbox =
            std::sync::Arc::new(Sandbox::start(&sandbox::default_world(), &options).await?);
        let config = sandbox.config(interval, timeout);
        app::run_console(
            config,
            Origin::Drill,
            keymap,
            Theme::from_env(),
            Some(sandbox),
            None,
            &storage,
        )
        .await
    })
}

/// `backstop drill --scenario …` (or `--list`).
struct Play {
    list: bool,
    scenario: Option<String>,
    speed: f64,
    seed: Option<u64>,
    auto: bool,
    headless: bool,
    json: bool,
    /// `--target aws`, with the --config flag (if given).
    aws: Option<Option<PathBuf>>,
    /// Changing real weights was agreed to beforehand.
    yes: bool,
}

fn scenario_drill(paths: &Paths, p: Play, storage: Storage) -> u8 {
    let scenarios = match Scenarios::load(&paths.drills_dir) {
        Ok(s) => s,
        Err(d) => {
            out::err_line(&d);
            out::err_line(format_args!(
                "backstop: drill scenarios in {} have errors",
                paths.drills_dir.display()
            ));
            return exit::USAGE;
        }
    };
    if p.list {
        for s in &scenarios.0 {
            let expect = if s.expect.rollback {
                "rollback expected"
            } else if s.expect.escalate {
                "escalation expected"
            } else {
                "no rollback expected"
            };
            out::line(format_args!(
                "{:<20} {} ({}, {expect})",
                s.name,
                s.title,
                crate::core::time::human(s.ends)
            ));
        }
        return exit::OK;
    }
    let name = p.scenario.unwrap_or_default();
    let Some(scenario) = scenarios.get(&name) else {
        let names: Vec<&str> = scenarios.0.iter().map(|s| s.name.as_str()).collect();
        out::err_line(format_args!(
            "backstop drill: no scenario {name:?}; there are: {}",
            names.join(", ")
        ));
        return exit::USAGE;
    };
    if !(p.speed > 0.0 && p.speed <= 100.0) {
        out::err_line("backstop drill: --speed must be more than 0 and at most 100");
        return exit::USAGE;
    }
    let mut speed = p.speed;
    if let Some(max) = scenario.max_speed
        && speed > max
    {
        out::err_line(format_args!(
            "backstop drill: {} stays faithful up to {max}x; running it at {max}x",
            scenario.name
        ));
        speed = max;
    }
    let seed = p.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut o = DrillOptions::new(speed, seed, p.auto);
    if let Some(flag) = &p.aws {
        let config = match load_config(flag.as_deref(), paths) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let Some(svc) = config.services.iter().find(|s| s.name == scenario.service) else {
            out::err_line(format_args!(
                "backstop drill: --target aws plays on service {} of {}, which has none",
                scenario.service, config.file
            ));
            return exit::USAGE;
        };
        if !matches!(
            svc.traffic.as_ref().map(|t| &t.kind),
            Some(crate::config::TrafficKind::Alb(_))
        ) {
            out::err_line(format_args!(
                "backstop drill: --target aws needs {}'s traffic on an ALB (provider = \"alb\") in {}",
                svc.name, config.file
            ));
            return exit::USAGE;
        }
        // Real weights change: preview, then an explicit yes.
        let start = scenario
            .world
            .iter()
            .map(|(e, _, _, w)| format!("{e} {w} %"))
            .collect::<Vec<_>>()
            .join(" · ");
        // In the provider's own words, as its pane will say it.
        let target = crate::providers::traffic::build(svc, None, &crate::aws::Registry::default())
            .map_or_else(|| "its traffic provider".to_string(), |p| p.target());
        out::err_line(format_args!(
            "backstop drill: this drill changes real weights on {target} of {}: first to {start}, then as the scenario and the rollback go; at the end they are put back as found.",
            config.file
        ));
        if !p.yes {
            if p.headless || !std::io::stdin().is_terminal() {
                out::err_line("backstop drill: pass --yes to agree to that");
                return exit::USAGE;
            }
            out::err_text("Go on? [y/N] ");
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                out::err_line("not confirmed: nothing was changed");
                return exit::FAILING;
            }
        }
        o.real = Some(svc.clone());
        o.real_aws = Some(config.aws.clone());
    }
    let scenario = scenario.clone();
    if p.headless {
        return runtime(|| async move {
            headless::drill::run(&scenario, o, &storage, p.json)
                .await
                .unwrap_or_else(|e| {
                    out::err_line(format_args!("backstop drill: {e:#}"));
                    exit::USAGE
                })
        });
    }
    let keymap = match load_keymap(paths) {
        Ok(k) => k,
        Err(code) => return code,
    };
    open_console(|| async move {
        let (sandbox, config) = crate::sandbox::drill::start(&scenario, &o).await?;
        app::run_console(
            config,
            Origin::Drill,
            keymap,
            Theme::from_env(),
            Some(sandbox),
            Some((&scenario, &o)),
            &storage,
        )
        .await
    })
}

/// `backstop report --drills`: every drill scored in the journal, so a
/// team sees its MTTR month by month.
fn drill_list(journal: &Path, format: &str) -> u8 {
    let reader = match Reader::open(journal) {
        Ok(r) => r,
        Err(e) => {
            out::err_line(format_args!("backstop report: {e:#}"));
            return exit::FAILING;
        }
    };
    let rows = match reader.drills() {
        Ok(r) => r,
        Err(e) => {
            out::err_line(format_args!("backstop report: {e:#}"));
            return exit::FAILING;
        }
    };
    out::text(crate::report::drill_list(&rows, format == "json"));
    if rows.is_empty() && format != "json" {
        out::line(format_args!("no drill in {}", journal.display()));
    }
    exit::OK
}

fn open_console<F, Fut>(f: F) -> u8
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        out::err_line(
            "backstop: the console needs a terminal; for a one-shot view without one use `backstop status` (or `--json`)",
        );
        return exit::USAGE;
    }
    runtime(|| async move {
        match f().await {
            Ok(()) => exit::OK,
            Err(e) => {
                out::err_line(format_args!("backstop: {e:#}"));
                exit::FAILING
            }
        }
    })
}

fn config_check(flag: Option<&Path>, paths: &Paths) -> u8 {
    let found = match config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    ) {
        Ok(f) => f,
        Err(e) => {
            out::err_line(format_args!("backstop: {e}"));
            return exit::USAGE;
        }
    };
    let Some((path, source)) = found else {
        out::err_text(no_config_help(paths));
        return exit::USAGE;
    };
    let mut code = exit::OK;
    let runbooks = match Catalog::load(&paths.runbooks_dir) {
        Ok(c) => c,
        Err(d) => {
            out::err_line(&d);
            code = exit::USAGE;
            Catalog::builtin()
        }
    };
    match config::load_with(&path, &runbooks) {
        Ok(c) => {
            let envs: usize = c.services.iter().map(|s| s.environments.len()).sum();
            let eps: usize = c
                .services
                .iter()
                .flat_map(|s| &s.environments)
                .map(|e| e.endpoints.len())
                .sum();
            let how = match source {
                Source::Flag => "",
                Source::EnvVar => " (from $BACKSTOP_CONFIG)",
                Source::Default => " (default location)",
            };
            out::line(format_args!(
                "{}{how}: ok — {} services, {envs} environments, {eps} endpoints",
                path.display(),
                c.services.len()
            ));
            let books: Vec<String> = c
                .services
                .iter()
                .map(|s| format!("{} → {}", s.name, s.runbook.name))
                .collect();
            out::line(format_args!("runbooks: {}", books.join(", ")));
        }
        Err(d) => {
            out::err_line(&d);
            let n = d.0.len();
            out::err_line(format_args!(
                "{}: {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            ));
            code = exit::USAGE;
        }
    }
    if paths.keymap_file.exists() {
        match Keymap::load(&paths.keymap_file) {
            Ok(_) => out::line(format_args!("{}: ok", paths.keymap_file.display())),
            Err(d) => {
                out::err_line(&d);
                code = exit::USAGE;
            }
        }
    }
    code
}

fn report(journal: &Path, incident: Option<i64>, format: &str, list: bool) -> u8 {
    let reader = match Reader::open(journal) {
        Ok(r) => r,
        Err(e) => {
            out::err_line(format_args!("backstop report: {e:#}"));
            return exit::FAILING;
        }
    };
    if list {
        return match reader.incidents() {
            Ok(rows) if rows.is_empty() => {
                out::line(format_args!("no incident in {}", journal.display()));
                exit::OK
            }
            Ok(rows) => {
                for r in rows {
                    out::line(format_args!(
                        "{:>5}  {}  {}  by {}",
                        r.id,
                        r.entry.at.rfc3339(),
                        r.entry.text,
                        r.entry.operator
                    ));
                }
                exit::OK
            }
            Err(e) => {
                out::err_line(format_args!("backstop report: {e:#}"));
                exit::FAILING
            }
        };
    }
    match Report::load(&reader, incident) {
        Ok(r) => {
            if format == "json" {
                out::line(r.json());
            } else {
                out::text(r.markdown());
            }
            exit::OK
        }
        Err(e) => {
            out::err_line(format_args!(
                "backstop report: {e:#} (in {})",
                journal.display()
            ));
            exit::FAILING
        }
    }
}

/// `backstop journal verify`: 0 the chain holds, 1 broken, 2 unreadable.
fn journal_verify(journal: &Path, json: bool) -> u8 {
    let verdict = Reader::open(journal).and_then(|r| r.verify());
    let v = match verdict {
        Ok(v) => v,
        Err(e) => {
            out::err_line(format_args!("backstop journal verify: {e:#}"));
            return exit::USAGE;
        }
    };
    if json {
        out::line(serde_json::json!({
            "journal": journal.display().to_string(),
            "holds": v.holds(),
            "rows": v.rows,
            "unchained": v.unchained,
            "head": v.head.as_ref().map(|(id, hash)| serde_json::json!({ "id": id, "hash": hash })),
            "broken": v.broken.as_ref().map(|(id, why)| serde_json::json!({ "id": id, "why": why })),
            "text": v.text(),
        }));
    } else {
        out::line(format_args!("{}: {}", journal.display(), v.text()));
    }
    if v.holds() { exit::OK } else { exit::FAILING }
}

fn config_init(path: &Path, force: bool) -> u8 {
    if path.exists() && !force {
        out::err_line(format_args!(
            "backstop: {} already exists; use --force to overwrite it",
            path.display()
        ));
        return exit::USAGE;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        out::err_line(format_args!(
            "backstop: cannot create {}: {e}",
            dir.display()
        ));
        return exit::FAILING;
    }
    match std::fs::write(path, config::EXAMPLE) {
        Ok(()) => {
            out::line(format_args!("wrote {}", path.display()));
            out::line("edit it for your services, then run: backstop config check");
            exit::OK
        }
        Err(e) => {
            out::err_line(format_args!(
                "backstop: cannot write {}: {e}",
                path.display()
            ));
            exit::FAILING
        }
    }
}
