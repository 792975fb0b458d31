//! The `:` command line: every action by its keymap name (or a short alias),
//! with the service and environment it acts on, parsed and completed here.
//! A command does what its key does, through the same previews and
//! confirmations: it selects, then presses the key.

use crate::action::Action;

/// Short names people type, beside the keymap names.
pub const ALIASES: &[(&str, Action)] = &[
    ("rollback", Action::StartRollback),
    ("weights", Action::SetWeights),
    ("why", Action::Explain),
    ("report", Action::ExportReport),
    ("update", Action::StatusUpdate),
    ("fault", Action::InjectFault),
    ("heal", Action::ClearFaults),
    ("trend", Action::DrillTrend),
    ("q", Action::Quit),
];

/// Commands that are not actions.
pub const CONTEXT: &str = "context";
pub const FILTER: &str = "filter";
pub const TYPE: &str = "type";
pub const SEVERITY: &str = "sev";
pub const ROLE: &str = "role";
pub const NOTE: &str = "note";
pub const PAGE: &str = "page";

/// How many lines the history keeps.
pub const HISTORY: usize = 100;

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// An action, on `service` (and `env`) when named.
    Action {
        action: Action,
        service: Option<String>,
        env: Option<String>,
    },
    /// `weights SERVICE ENV PERCENT`: the dialog, set, and previewed.
    Weights {
        service: String,
        env: String,
        percent: u32,
    },
    /// `context NAME`: another configuration.
    Context(String),
    /// `filter TEXT`: as `/` on the focused pane (empty clears it).
    Filter(String),
    /// `sev LEVEL [REASON]`: the open incident's severity, declared.
    Severity { level: u8, reason: String },
    /// `role [comms|scribe [off | to NAME]]`: take, give up or hand over a
    /// role of the open incident (alone: who holds which).
    Role(Option<(crate::roles::Role, RoleCmd)>),
    /// `note TEXT`: a line for the incident's timeline.
    Note(String),
    /// `page [REASON]`: page the on-call chain (its next level), now.
    Page(String),
    /// `type KIND [SERVICE]`: the open checklist follows another rollback
    /// type (before its first change).
    Type {
        kind: crate::runbook::RollbackType,
        service: Option<String>,
    },
}

/// What `:role ROLE …` asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleCmd {
    Take,
    Release,
    /// To the person present whose name starts so.
    Hand(String),
}

/// What completion and parsing may name.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Services, each with its environments.
    pub services: Vec<(String, Vec<String>)>,
    pub contexts: Vec<String>,
}

/// The action a command word names, by keymap name or alias.
pub fn action_named(word: &str) -> Option<Action> {
    ALIASES
        .iter()
        .find(|(a, _)| *a == word)
        .map(|(_, action)| *action)
        .or_else(|| word.parse().ok())
}

/// Every command word, aliases first, for completion and the help.
pub fn words() -> Vec<&'static str> {
    let mut w: Vec<&'static str> = ALIASES.iter().map(|(a, _)| *a).collect();
    w.extend([CONTEXT, FILTER, TYPE, SEVERITY, ROLE, NOTE, PAGE]);
    w.extend(Action::ALL.iter().map(|a| a.name()));
    w
}

pub fn parse(line: &str, names: &Names) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let Some(word) = words.next() else {
        return Err("type a command: `:rollback web`, `:why`, `:quit` (Tab completes)".into());
    };
    let args: Vec<&str> = words.collect();
    let word = word.trim_start_matches(':');
    if word == CONTEXT {
        return match args[..] {
            [name] if names.contexts.iter().any(|c| c == name) => Ok(Command::Context(name.into())),
            [name] if names.contexts.is_empty() => Err(format!(
                "no contexts are configured: `{name}` is not one (see `backstop paths`)"
            )),
            [name] => Err(format!(
                "unknown context `{name}` (contexts: {})",
                names.contexts.join(", ")
            )),
            _ => Err("context NAME".into()),
        };
    }
    if word == FILTER {
        return Ok(Command::Filter(args.join(" ")));
    }
    if word == SEVERITY || word == "severity" {
        let usage = || "sev LEVEL REASON: `:sev 1 checkout is down for everyone`".to_string();
        let (level, reason) = args.split_first().ok_or_else(usage)?;
        let level = level
            .trim_start_matches(['S', 's', 'E', 'e', 'V', 'v'])
            .parse::<u8>()
            .map_err(|_| format!("`{level}` is not a severity level (1 is the worst)"))?;
        return Ok(Command::Severity {
            level,
            reason: reason.join(" "),
        });
    }
    if word == ROLE {
        use crate::roles::Role;
        let usage = || "role comms|scribe [off | to NAME]".to_string();
        let Some((first, rest)) = args.split_first() else {
            return Ok(Command::Role(None));
        };
        let role = Role::parse(first).ok_or_else(|| {
            format!("`{first}` is not a role (comms, scribe; the driver holds the lease)")
        })?;
        let cmd = match rest {
            [] => RoleCmd::Take,
            ["off" | "release" | "drop"] => RoleCmd::Release,
            ["to", name] => RoleCmd::Hand((*name).to_string()),
            _ => return Err(usage()),
        };
        return Ok(Command::Role(Some((role, cmd))));
    }
    if word == PAGE {
        return Ok(Command::Page(args.join(" ")));
    }
    if word == NOTE {
        let text = args.join(" ");
        if text.is_empty() {
            return Err("note TEXT: a line for the incident's timeline".into());
        }
        return Ok(Command::Note(text));
    }
    if word == TYPE {
        use crate::runbook::RollbackType;
        let usage = || "type immediate|standard|emergency [SERVICE]".to_string();
        let kind = |w: &str| {
            RollbackType::parse(w).ok_or_else(|| {
                format!("`{w}` is not a rollback type (immediate, standard, emergency)")
            })
        };
        return match args[..] {
            [k] => Ok(Command::Type {
                kind: kind(k)?,
                service: None,
            }),
            [k, service] if names.services.iter().any(|(s, _)| s == service) => Ok(Command::Type {
                kind: kind(k)?,
                service: Some(service.into()),
            }),
            [_, service] => Err(format!("unknown service `{service}`")),
            _ => Err(usage()),
        };
    }
    let Some(action) = action_named(word) else {
        let mut e = format!("unknown command `{word}`");
        if let Err(unknown) = word.parse::<Action>() {
            // The action list's own suggestion ("did you mean …").
            let hint = unknown.to_string();
            if let Some(i) = hint.find(" (did you mean") {
                e.push_str(&hint[i..]);
            }
        }
        return Err(e);
    };
    let service_of = |name: &str| names.services.iter().find(|(s, _)| s == name);
    let check_service = |name: &str| -> Result<(), String> {
        if service_of(name).is_some() {
            Ok(())
        } else {
            Err(format!(
                "unknown service `{name}` (services: {})",
                names
                    .services
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let check_env = |service: &str, env: &str| -> Result<(), String> {
        match service_of(service) {
            Some((_, envs)) if envs.iter().any(|e| e == env) => Ok(()),
            Some((_, envs)) => Err(format!(
                "{service} has no environment `{env}` (environments: {})",
                envs.join(", ")
            )),
            None => check_service(service),
        }
    };
    match (action, &args[..]) {
        (Action::SetWeights, [service, env, percent]) => {
            check_env(service, env)?;
            let percent = percent
                .trim_end_matches('%')
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("`{percent}` is not a percentage from 0 to 100"))?;
            Ok(Command::Weights {
                service: (*service).into(),
                env: (*env).into(),
                percent,
            })
        }
        (Action::SetWeights, [_, _]) => {
            Err("weights SERVICE ENV PERCENT (or SERVICE alone: the dialog)".into())
        }
        (_, []) => Ok(Command::Action {
            action,
            service: None,
            env: None,
        }),
        (_, [service]) => {
            check_service(service)?;
            Ok(Command::Action {
                action,
                service: Some((*service).into()),
                env: None,
            })
        }
        (_, [service, env]) => {
            check_env(service, env)?;
            Ok(Command::Action {
                action,
                service: Some((*service).into()),
                env: Some((*env).into()),
            })
        }
        _ => Err(format!("{word} takes at most a service and an environment")),
    }
}

/// What the last word of `line` could become: command words first, then
/// services, environments of the named service, and contexts.
pub fn candidates(line: &str, names: &Names) -> Vec<String> {
    let ends_in_space = line.ends_with(' ') || line.is_empty();
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let partial = if ends_in_space {
        ""
    } else {
        words.pop().unwrap_or("")
    };
    let pool: Vec<String> = match words[..] {
        [] => self::words().into_iter().map(String::from).collect(),
        [CONTEXT] => names.contexts.clone(),
        [FILTER, ..] => Vec::new(),
        [cmd] if action_named(cmd).is_some() => {
            names.services.iter().map(|(s, _)| s.clone()).collect()
        }
        [cmd, service] if action_named(cmd).is_some() => names
            .services
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, envs)| envs.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = pool
        .into_iter()
        .filter(|c| c.starts_with(partial))
        .collect();
    out.dedup();
    out
}

/// `line` with its last word completed as far as every candidate agrees
/// (a single candidate completes whole, with a space after it).
pub fn complete(line: &str, names: &Names) -> String {
    let found = candidates(line, names);
    let partial_len = if line.ends_with(' ') || line.is_empty() {
        0
    } else {
        line.split_whitespace().last().map_or(0, str::len)
    };
    let stem = &line[..line.len() - partial_len];
    match &found[..] {
        [] => line.to_string(),
        [one] => format!("{stem}{one} "),
        many => {
            let first = &many[0];
            let common = many.iter().fold(first.len(), |n, c| {
                first
                    .chars()
                    .zip(c.chars())
                    .take(n)
                    .take_while(|(a, b)| a == b)
                    .count()
            });
            let common: String = first.chars().take(common).collect();
            if common.len() > partial_len {
                format!("{stem}{common}")
            } else {
                line.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names() -> Names {
        Names {
            services: vec![
                ("web".into(), vec!["blue".into(), "green".into()]),
                ("checkout".into(), vec!["blue".into(), "green".into()]),
            ],
            contexts: vec!["prod".into(), "staging".into()],
        }
    }

    #[test]
    fn actions_by_name_and_alias_with_their_targets() {
        let n = names();
        assert_eq!(
            parse("rollback web", &n),
            Ok(Command::Action {
                action: Action::StartRollback,
                service: Some("web".into()),
                env: None
            })
        );
        assert_eq!(
            parse("start-rollback", &n),
            Ok(Command::Action {
                action: Action::StartRollback,
                service: None,
                env: None
            })
        );
        assert_eq!(
            parse("weights web green 10%", &n),
            Ok(Command::Weights {
                service: "web".into(),
                env: "green".into(),
                percent: 10
            })
        );
        assert_eq!(
            parse("context prod", &n),
            Ok(Command::Context("prod".into()))
        );
        assert_eq!(parse("filter crit", &n), Ok(Command::Filter("crit".into())));
    }

    #[test]
    fn mistakes_say_what_would_do() {
        let n = names();
        assert_eq!(
            parse("rolback web", &n).unwrap_err(),
            "unknown command `rolback`"
        );
        assert_eq!(
            parse("selct-next", &n).unwrap_err(),
            "unknown command `selct-next` (did you mean `select-next`?)"
        );
        assert!(
            parse("rollback shop", &n)
                .unwrap_err()
                .contains("services: web, checkout")
        );
        assert!(
            parse("weights web red 10", &n)
                .unwrap_err()
                .contains("environments: blue, green")
        );
        assert!(
            parse("weights web green 120", &n)
                .unwrap_err()
                .contains("0 to 100")
        );
        assert!(
            parse("context dev", &n)
                .unwrap_err()
                .contains("prod, staging")
        );
        use crate::roles::Role;
        assert_eq!(parse("role", &n), Ok(Command::Role(None)));
        assert_eq!(
            parse("role comms", &n),
            Ok(Command::Role(Some((Role::Comms, RoleCmd::Take))))
        );
        assert_eq!(
            parse("role scribe to bob", &n),
            Ok(Command::Role(Some((
                Role::Scribe,
                RoleCmd::Hand("bob".into())
            ))))
        );
        assert_eq!(
            parse("role comms off", &n),
            Ok(Command::Role(Some((Role::Comms, RoleCmd::Release))))
        );
        assert!(parse("role driver", &n).unwrap_err().contains("not a role"));
        assert_eq!(
            parse("note db failover started", &n),
            Ok(Command::Note("db failover started".into()))
        );
        assert!(parse("note", &n).is_err());
        assert_eq!(
            parse("page the target is broken too", &n),
            Ok(Command::Page("the target is broken too".into()))
        );
    }

    #[test]
    fn completion_walks_words_services_and_environments() {
        let n = names();
        assert_eq!(complete("roll", &n), "rollback ");
        assert_eq!(candidates("rol", &n), vec!["rollback", "role"]);
        assert_eq!(complete("rollback w", &n), "rollback web ");
        assert_eq!(complete("rollback web g", &n), "rollback web green ");
        assert_eq!(complete("context s", &n), "context staging ");
        // Several: as far as they agree, and the candidates to choose from.
        assert_eq!(complete("re", &n), "re");
        assert_eq!(candidates("re", &n), vec!["report", "reject"]);
        assert_eq!(complete("sel", &n), "select-");
        assert_eq!(complete("nothing-like-it", &n), "nothing-like-it");
    }
}
