//! Every command the operator can give. The keymap's values are these names,
//! and the help screen and `backstop keys` are generated from this list, so
//! there is no second list to keep in step.

use std::fmt;
use std::str::FromStr;

macro_rules! actions {
    ($($variant:ident = $name:literal, $group:literal, $desc:literal;)*) => {
        /// A command, named in kebab-case in `keymap.toml`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// All actions, in the order the help screen lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The kebab-case name used in `keymap.toml`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// One line for the help screen.
            pub fn description(self) -> &'static str {
                match self {
                    $(Action::$variant => $desc,)*
                }
            }

            /// The help screen's section.
            pub fn group(self) -> &'static str {
                match self {
                    $(Action::$variant => $group,)*
                }
            }
        }
    };
}

actions! {
    Quit = "quit", "general", "quit backstop (the terminal is restored)";
    Help = "help", "general", "show or hide this help";
    NextPane = "next-pane", "navigate", "focus the next pane";
    PrevPane = "prev-pane", "navigate", "focus the previous pane";
    SelectNext = "select-next", "navigate", "select the next row";
    SelectPrev = "select-prev", "navigate", "select the previous row";
    OpenDetail = "open-detail", "navigate", "open the detail of the selected row";
        Back = "back", "navigate", "close the detail or help, cancel";
    CycleWindow = "cycle-window", "navigate", "show metrics over 1 minute or 5 minutes";
    CommandLine = "command-line", "navigate", "run a command by name: `:rollback web`, `:weights web green 10`, `:why` (Tab completes, ↑↓ history)";
    Filter = "filter", "navigate", "filter the focused list by name or state (`/crit`, `/firing`); Esc clears it";
    NextMatch = "next-match", "navigate", "in the event log: the next (older) line the filter matches";
    PrevMatch = "prev-match", "navigate", "in the event log: the previous (newer) line the filter matches";
            StartRollback = "start-rollback", "rollback", "open the rollback checklist for the selected service (asks for a rollback if no rule fired)";
    Explain = "explain", "rollback", "why: the evidence, rules and decision behind the selected service's state";
    Skip = "skip", "rollback", "in the checklist: skip the current step (asks why)";
    Abort = "abort", "rollback", "in the checklist: abandon the rollback (asks why)";
    StatusUpdate = "status-update", "rollback", "write the team an update on the open incident (prefilled: severity, progress, status, ETA; Enter sends)";
    Escalate = "escalate", "rollback", "page the on-call chain for the selected service: its first level, or the next if nobody acknowledged (asks, then y)";
    ExportReport = "export-report", "rollback", "write the incident report (Markdown) to the data directory";
    SetWeights = "set-weights", "traffic", "change the traffic split of the selected service (preview first)";
    Increase = "increase", "traffic", "in the weights dialog: more traffic to the selected environment";
    Decrease = "decrease", "traffic", "in the weights dialog: less traffic to the selected environment";
    Confirm = "confirm", "traffic", "apply what the preview shows (the second key of every change)";
    People = "people", "war room", "who is on the journal: every console and command, its role, what it drives";
    Drive = "drive", "war room", "drive the selected service: take it if free, ask its driver, or take it over from a lost one";
    HandOver = "hand-over", "war room", "hand the service you drive to the person who asked for it (asks, then y)";
    Approve = "approve", "war room", "approve the change another driver asks a second person for (two-person rule; asks, then y)";
    Reject = "reject", "war room", "reject the change awaiting your approval (asks why)";
    Override = "override", "war room", "run your change without its approval, where the configuration allows it (asks why)";
    DrillTrend = "drill-trend", "drill sandbox", "the drills' MTTD and MTTR by month and scenario against the targets: is the team getting faster?";
    InjectFault = "inject-fault", "drill sandbox", "inject the next fault into the selected environment (asks, then y; again: the next fault)";
    ClearFaults = "clear-faults", "drill sandbox", "heal the selected environment (asks, then y)";
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of [`Action::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown action `{}`", self.0)?;
        if let Some(close) = closest(&self.0) {
            write!(f, " (did you mean `{close}`?)")?;
        }
        Ok(())
    }
}

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAction(s.to_string()))
    }
}

/// The action whose name is nearest to a misspelling, if any is near.
fn closest(s: &str) -> Option<&'static str> {
    Action::ALL
        .iter()
        .map(|a| (edit_distance(s, a.name()), a.name()))
        .filter(|(d, name)| *d <= 2.max(name.len() / 4))
        .min()
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.name().parse::<Action>(), Ok(*a));
            assert!(!a.description().is_empty());
        }
    }

    #[test]
    fn suggests_near_names() {
        let e = "selct-next".parse::<Action>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown action `selct-next` (did you mean `select-next`?)"
        );
        let e = "frobnicate".parse::<Action>().unwrap_err();
        assert_eq!(e.to_string(), "unknown action `frobnicate`");
    }
}
