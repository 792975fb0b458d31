//! `backstop completions SHELL` and `backstop man`: shell completion and the
//! manual page, both generated from the clap definition (`args.rs`), so they
//! cannot drift from the flags the binary takes.

use clap::{Command, CommandFactory};

use super::args::Cli;
use crate::core::command as console_commands;
use crate::keymap::Keymap;

/// The completion script for `shell`, for `source <(backstop completions bash)`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "backstop", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The manual page, roff (`backstop man | man -l -`): clap_mangen's page of
/// the top-level command, then every command in detail, the console's keys
/// and commands, the environment, the files and the exit codes.
pub fn page(keymap: &Keymap) -> Result<String, std::io::Error> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    // Not clap_mangen's SUBCOMMANDS: it points at backstop-drill(1) pages
    // that do not exist; COMMANDS IN DETAIL below has them all in one page.
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_version_section(&mut out)?;
    let mut page = String::from_utf8_lossy(&out).into_owned();
    page.push_str(".SH \"COMMANDS IN DETAIL\"\n");
    for sub in cmd.get_subcommands() {
        command_section(&mut page, &["backstop"], sub);
    }
    page.push_str(&keys_section(keymap));
    page.push_str(TAIL);
    Ok(ascii(&page))
}

/// Every character outside ASCII as a roff escape (`→` is `\[u2192]`), so
/// the page renders the same whether or not the formatter is told its
/// encoding (man-db runs preconv; groff alone and other formatters do not).
fn ascii(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    out
}

/// `.SS backstop drill`, what it does, and each of its options.
fn command_section(page: &mut String, parents: &[&str], cmd: &Command) {
    if cmd.is_hide_set() {
        return;
    }
    let mut path = parents.to_vec();
    path.push(cmd.get_name());
    let subs: Vec<&Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    page.push_str(&format!(".SS \"{}\"\n", escape(&path.join(" "))));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        page.push_str(&format!("{}\n", text(&about.to_string())));
    }
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || arg.is_global_set() {
            continue;
        }
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let value = arg
            .get_value_names()
            .map(|v| v.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| id.to_uppercase());
        let name = match (arg.get_long(), arg.get_short()) {
            (Some(l), Some(s)) => format!("\\fB\\-{s}\\fR, \\fB\\-\\-{}\\fR", escape(l)),
            (Some(l), None) => format!("\\fB\\-\\-{}\\fR", escape(l)),
            (None, Some(s)) => format!("\\fB\\-{s}\\fR"),
            (None, None) => format!("\\fI{}\\fR", escape(&value)),
        };
        let takes = arg.get_action().takes_values() && arg.get_long().is_some();
        let name = if takes {
            format!("{name} \\fI{}\\fR", escape(&value))
        } else {
            name
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        let help = if choices.is_empty() || (!takes && arg.get_long().is_some()) {
            help
        } else {
            format!("{help} [one of: {}]", choices.join(", "))
        };
        page.push_str(&format!(".TP\n{name}\n{}\n", text(&help)));
    }
    for sub in subs {
        command_section(page, &path, sub);
    }
}

/// The console's keys as the keymap in force binds them, and its `:` commands.
fn keys_section(keymap: &Keymap) -> String {
    let mut s = String::from(".SH \"CONSOLE KEYS\"\n");
    s.push_str(
        "The bindings in force (the built-in keymap.toml merged with yours); \\fBbackstop keys\\fR prints them.\n",
    );
    s.push_str(".PP\n.nf\n");
    for line in keymap.describe().lines() {
        s.push_str(&escape_line(line));
        s.push('\n');
    }
    s.push_str(".fi\n");
    s.push_str(".SH \"CONSOLE COMMANDS\"\n");
    s.push_str(
        "\\fB:\\fR opens the command line: any action above by its name, or one of these aliases, \
         followed by the service and environment it acts on. A command does what its key does, through \
         the same previews and questions. Tab completes, Up and Down walk the history.\n.PP\n.nf\n",
    );
    for (alias, action) in console_commands::ALIASES {
        s.push_str(&escape_line(&format!("  :{alias:<10} {}", action.name())));
        s.push('\n');
    }
    s.push_str(&escape_line(
        "  :weights SERVICE ENV PERCENT   the split set and previewed (y applies)",
    ));
    s.push('\n');
    s.push_str(&escape_line(
        "  :context NAME                  another context",
    ));
    s.push('\n');
    s.push_str(&escape_line(
        "  :filter TEXT                   as /TEXT on the focused pane",
    ));
    s.push_str("\n.fi\n");
    s
}

const TAIL: &str = r#".SH ENVIRONMENT
.TP
\fBBACKSTOP_CONFIG\fR
The configuration file, when \fB\-\-config\fR is not given.
.TP
\fBBACKSTOP_CONTEXT\fR
The context to open, when \fB\-\-context\fR is not given.
.TP
\fBBACKSTOP_OPERATOR\fR
Your name for the journal and the war room (self-declared).
.TP
\fBBACKSTOP_LOG\fR
The log level (\fIinfo\fR by default); the log is a file, never the screen.
.TP
\fBNO_COLOR\fR
No colours: every state is a word anyway.
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/backstop/backstop.toml\fR
The configuration; \fIcontexts/*.toml\fR beside it are the contexts (\fIcontexts.toml\fR
lists and flags them), \fIkeymap.toml\fR your keys,
\fIrunbooks/\fR and \fIdrills/\fR your runbooks and drill scenarios.
.TP
\fI$XDG_DATA_HOME/backstop/\fR
The journal (\fIjournal.sqlite\fR), the drills' journal (\fIdrills.sqlite\fR) and written reports.
.TP
\fI$XDG_STATE_HOME/backstop/backstop.log\fR
The log.
.PP
\fBbackstop paths\fR prints the exact places.
.SH "EXIT STATUS"
0 done (verified, calm, rolled back and verified); 1 not (a rollback required, a guard, a failed step);
2 usage or a bad file; 3 rolled back by \fBwatch \-\-auto\fR; 128+n a signal n; 141 standard output closed early.
Each command's own codes are in its section above and in the README.
.SH "SEE ALSO"
The README and docs/ARCHITECTURE.md of the source.
"#;

/// Text for a roff paragraph: backslashes escaped, and no line that a
/// formatter would read as a request.
fn text(s: &str) -> String {
    s.lines().map(escape_line).collect::<Vec<_>>().join("\n")
}

fn escape_line(line: &str) -> String {
    let e = escape(line);
    if e.starts_with('.') || e.starts_with('\'') {
        format!("\\&{e}")
    } else {
        e
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_look_like_requests_are_escaped() {
        assert_eq!(escape_line(".config"), "\\&.config");
        assert_eq!(escape_line("a\\b --x"), "a\\eb \\-\\-x");
    }

    #[test]
    fn every_command_has_its_section() {
        let page = page(&Keymap::defaults()).unwrap_or_default();
        for sub in Cli::command().get_subcommands() {
            let head = format!(".SS \"backstop {}\"", escape(sub.get_name()));
            assert!(page.contains(&head), "{head} missing");
        }
        assert!(page.contains(".SS \"backstop config check\""));
        assert!(
            page.starts_with(".ie") || page.starts_with(".TH"),
            "{}",
            &page[..80]
        );
        assert!(page.is_ascii(), "non-ASCII left in the page");
        assert!(page.contains("\\fB\\-\\-scenario\\fR \\fINAME\\fR"));
    }
}
