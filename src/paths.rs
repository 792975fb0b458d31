//! Where backstop keeps its files, following the XDG base directories.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use directories::ProjectDirs;

#[derive(Clone, Debug)]
pub struct Paths {
    pub config_dir: PathBuf,
    /// The default configuration file (when neither --config nor $BACKSTOP_CONFIG is given).
    pub config_file: PathBuf,
    /// The user's keymap, merged over the built-in one.
    pub keymap_file: PathBuf,
    /// The user's runbooks (`*.toml`), beside and over the built-in ones.
    pub runbooks_dir: PathBuf,
    /// The team's drill scenarios (`*.toml`), beside and over the built-in ones.
    pub drills_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log_file: PathBuf,
    pub data_dir: PathBuf,
    /// The incident journal of the console on a configuration (--journal overrides).
    pub journal_file: PathBuf,
    /// The drills' journal: rehearsals never mix with real incidents.
    pub drill_journal_file: PathBuf,
    /// Exported incident reports.
    pub reports_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> Result<Self> {
        let dirs = ProjectDirs::from("", "", "backstop")
            .context("cannot find a home directory for backstop's files (is $HOME set?)")?;
        let config_dir = dirs.config_dir().to_path_buf();
        // The XDG state directory holds logs; platforms without one use local data.
        let state_dir = dirs
            .state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf();
        let data_dir = dirs.data_dir().to_path_buf();
        Ok(Paths {
            config_file: config_dir.join("backstop.toml"),
            keymap_file: config_dir.join("keymap.toml"),
            runbooks_dir: config_dir.join("runbooks"),
            drills_dir: config_dir.join("drills"),
            journal_file: data_dir.join("journal.sqlite"),
            drill_journal_file: data_dir.join("drills.sqlite"),
            reports_dir: data_dir.join("reports"),
            log_file: state_dir.join("backstop.log"),
            config_dir,
            state_dir,
            data_dir,
        })
    }

    /// The listing `backstop paths` prints.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let contexts = self.config_dir.join("contexts");
        let rows = [
            (
                "config",
                &self.config_file,
                "default configuration (--config / $BACKSTOP_CONFIG override)",
            ),
            (
                "contexts",
                &contexts,
                "other configurations by name (*.toml; --context NAME), listed in contexts.toml beside it",
            ),
            (
                "keymap",
                &self.keymap_file,
                "your key bindings, merged over the defaults",
            ),
            (
                "log",
                &self.log_file,
                "log file (nothing is logged to the screen)",
            ),
            (
                "runbooks",
                &self.runbooks_dir,
                "your runbooks (*.toml), over the built-in ones",
            ),
            (
                "scenario",
                &self.drills_dir,
                "your drill scenarios (*.toml), over the built-in ones",
            ),
            (
                "journal",
                &self.journal_file,
                "incident journal, append-only SQLite (--journal overrides)",
            ),
            (
                "drills",
                &self.drill_journal_file,
                "the drills' journal (backstop report --drills)",
            ),
            ("reports", &self.reports_dir, "exported incident reports"),
        ];
        for (name, path, what) in rows {
            let mark = if path.exists() {
                ""
            } else {
                "  (not there yet)"
            };
            let _ = writeln!(s, "{name:<8} {}{mark}\n         {what}", path.display());
        }
        s
    }
}
