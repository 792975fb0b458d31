//! The command line's arguments: every command and its flags, as clap reads them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::HumanDuration;

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

    /// Open this context: contexts/NAME.toml in the config directory, or the file contexts.toml
    /// names (see `backstop paths`) [default: $BACKSTOP_CONTEXT, then contexts.toml's default]
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "config")]
    pub context: Option<String>,

    /// Incident journal (SQLite) [default: journal.sqlite, or drills.sqlite for drills, in the XDG data directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Your name, for the journal and the war room, when the login does not name you
    /// (a shared `ec2-user`); recorded as self-declared, beside the name AWS gives the caller
    /// when the configuration uses AWS [default: $BACKSTOP_OPERATOR]
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,

    /// Only watch: the console shows everything and changes nothing (no key acts, and no
    /// intent can be written from it); also `read_only = true` in the configuration
    #[arg(long, global = true)]
    pub read_only: bool,

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
        #[arg(long, value_enum, default_value_t = Target::Sandbox, requires = "scenario")]
        target: Target,
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
        /// Host a team drill (free play, or a --scenario at its --speed): teammates on this
        /// machine follow it, approve its changes and take the incident's roles with
        /// `backstop drill --join`; this console drives. Its messages and status page go to
        /// the drill's desk, never anywhere real
        #[arg(long, conflicts_with_all = ["list", "join", "headless"])]
        team: bool,
        /// With --team: 2 for the two-person rule, each change approved from another console
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2), requires = "team")]
        approvals: u8,
        /// With --team: approvals count from the names people declare (--operator), for a team
        /// on one shared login; otherwise (the default) only from a second account
        #[arg(long, requires = "team")]
        self_declared_approvers: bool,
        /// Join the team drill running on this machine: follow its checklist, approve its changes
        #[arg(long, conflicts_with_all = ["scenario", "list"])]
        join: bool,
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
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        /// Read the drills' journal instead of the incidents'
        #[arg(long)]
        drill: bool,
        /// List past drills with their scores (MTTD, MTTR, expectation), oldest first
        #[arg(long, conflicts_with_all = ["incident", "list"])]
        drills: bool,
        /// Figures per service and month (UTC): deploys (each change once, however many
        /// consoles saw it; reverts are rollbacks), rollbacks, change-failure rate
        /// (rollbacks / deploys), incidents, MTTD and MTTR (median and worst), drivers
        /// (distinct people), handovers and takeovers, approvals, watchers (distinct people).
        /// A Markdown table, or with --json one object: {"services": [{"service", "month",
        /// "deploys", "rollbacks", "change_failure_rate" (null without deploys), "incidents",
        /// "mttd": {"median_s", "worst_s"}, "mttr": {…}, "drivers": [names], "handovers",
        /// "takeovers", "approvals": {"approved", "rejected", "overridden"}, "watchers"}]}
        #[arg(long, conflicts_with_all = ["incident", "list", "drills"])]
        stats: bool,
        /// The same as --format json
        #[arg(long)]
        json: bool,
        /// List the incidents in the journal instead
        #[arg(long, conflicts_with = "incident")]
        list: bool,
        /// Draft the incident's post-mortem (Markdown): summary, severity and impact window,
        /// milestones with MTTD/MTTA/MTTR, the decision and its evidence, every change with
        /// who made and approved it, every message, the timeline, and reference 003's
        /// follow-ups (within an hour, a day, a week) as a checklist with due dates
        #[arg(long, conflicts_with_all = ["list", "drills", "stats", "json"])]
        postmortem: bool,
    },
    /// Correct a milestone of an incident, with a reason: the journal's stamp stays, and the
    /// report, the post-mortem and `report --stats` use the correction (MTTD, MTTA, MTTR),
    /// saying who made it and why
    Milestone {
        /// The incident's number (`backstop report --list`)
        incident: i64,
        /// began, detected, acknowledged, mitigated or resolved
        milestone: String,
        /// When it really was: 2026-12-07T14:02:00Z, or HH:MM[:SS] in UTC (the one within 12
        /// hours of the incident's opening)
        at: String,
        /// Why (required: it is read in the post-mortem)
        #[arg(long)]
        reason: String,
        /// The drills' journal instead of the incidents'
        #[arg(long)]
        drill: bool,
    },
    /// Check or create the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The incident journal itself
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Who is on this journal now: every console and headless command, and
    /// the services each drives (holds the lease of) or watches
    Who {
        /// One JSON array: [{"session", "operator", "room", "role", "what", "services", "since",
        /// "last_seen", "read_only", "roles"}] — `roles`: the incident roles held, as
        /// `comms web`, `scribe web`
        #[arg(long)]
        json: bool,
        /// The drills' journal instead of the incidents'
        #[arg(long)]
        drill: bool,
    },
    /// Print the key bindings in force (defaults merged with yours)
    Keys,
    /// Print where backstop keeps its configuration, keymap, log and data
    Paths,
    /// Print the shell completion script: `source <(backstop completions bash)` (zsh, fish and
    /// powershell alike; see the README for installing it for good)
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `backstop man | man -l -`, or
    /// `backstop man > ~/.local/share/man/man1/backstop.1`
    Man,
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
    /// Create the DynamoDB table the configuration's `[journal]` names
    /// (on-demand capacity, TTL on presence items), or print it as
    /// CloudFormation and Terraform; or make the shared file its `path`
    /// names (with its -wal and -shm) for a Unix group
    Init {
        /// Print the table's definition instead of creating it
        #[arg(long)]
        print: bool,
        /// The Unix group whose members share the journal file (`path`):
        /// group-owned, mode 660, in a setgid directory [default: the
        /// directory's group]
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
    },
    /// Copy a SQLite journal's history into the configuration's DynamoDB
    /// table (empty, or holding an earlier part of this copy): ids, hashes
    /// and sessions kept, so `journal verify` holds across the move
    Copy {
        /// The SQLite journal to copy [default: this host's incident journal]
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
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

/// How a report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown, for people and tickets
    Md,
    /// JSON, for programs
    Json,
}

/// Where a drill's changes land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// The embedded sandbox: nothing real is touched
    Sandbox,
    /// The AWS providers of the scenario's service in your configuration
    Aws,
}

pub(super) fn duration(s: &str) -> Result<Duration, String> {
    HumanDuration::parse(s).map(|d| d.0)
}
