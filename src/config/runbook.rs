//! Runbook files: `assets/runbooks/*.toml` built in, and the user's own in
//! `runbooks/` beside the configuration (a file of the same name replaces
//! the built-in one). Every mistake is an error with file, line and column.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Diagnostic, Diagnostics, HumanDuration};
use crate::core::runbook::{Act, Check, Runbook, StepKind, StepSpec, Target, Template, When};

/// The runbooks that ship inside the binary.
pub const BUILT_IN: [(&str, &str); 5] = [
    (
        "default",
        include_str!("../../assets/runbooks/default.toml"),
    ),
    ("manual", include_str!("../../assets/runbooks/manual.toml")),
    (
        "immediate",
        include_str!("../../assets/runbooks/immediate.toml"),
    ),
    (
        "standard",
        include_str!("../../assets/runbooks/standard.toml"),
    ),
    (
        "emergency",
        include_str!("../../assets/runbooks/emergency.toml"),
    ),
];

/// A parsed runbook and where its text came from (for later errors).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub runbook: Runbook,
    pub file: String,
    pub src: String,
    /// Per step (in `Runbook::steps` order), the span of its `action` or
    /// `check` value.
    pub kind_spans: Vec<Range<usize>>,
}

/// Every runbook known, by name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    books: Vec<Loaded>,
}

impl Catalog {
    /// The built-in runbooks alone.
    pub fn builtin() -> Self {
        let mut c = Catalog::default();
        for (name, src) in BUILT_IN {
            // The built-in files are tested to parse: an error here is a build defect.
            match parse(src, &format!("assets/runbooks/{name}.toml (built in)")) {
                Ok(l) => c.books.push(l),
                Err(e) => panic!("built-in runbook {name} is invalid:\n{e}"),
            }
        }
        c
    }

    /// Built-ins, then every `*.toml` in `dir` (if it exists) over them.
    pub fn load(dir: &Path) -> Result<Self, Diagnostics> {
        let mut c = Self::builtin();
        for l in super::read_toml_dir(dir, "runbook", parse)? {
            c.insert(l);
        }
        Ok(c)
    }

    pub fn insert(&mut self, l: Loaded) {
        self.books.retain(|b| b.runbook.name != l.runbook.name);
        self.books.push(l);
    }

    pub fn get(&self, name: &str) -> Option<&Loaded> {
        self.books.iter().find(|b| b.runbook.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.books.iter().map(|b| b.runbook.name.as_str()).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRunbook {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    before: Vec<RawStep>,
    #[serde(default)]
    during: Vec<RawStep>,
    #[serde(default)]
    after: Vec<RawStep>,
    /// Time targets: `[[target]] title = "immediate actions", within = "2m", ends = ["switch-traffic"]`.
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    title: Spanned<String>,
    within: Spanned<HumanDuration>,
    /// Step ids, or a phase's name (`"during"`): the target is met when they have settled.
    ends: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    help: String,
    kind: Spanned<String>,
    check: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    count: Option<Spanned<u32>>,
    threshold: Option<Spanned<String>>,
    #[serde(rename = "for")]
    hold: Option<Spanned<HumanDuration>>,
    timeout: Option<Spanned<HumanDuration>>,
    probes: Option<Spanned<u32>>,
    template: Option<Template>,
    /// A status-page action's public status.
    status: Option<Spanned<String>>,
    argv: Option<Spanned<Vec<String>>>,
    /// `"traffic"`, `"no-traffic"`, `"deploy"`, `"no-deploy"`, or a list of them.
    when: Option<Spanned<toml::Value>>,
    /// This step's change needs a second person's approval.
    #[serde(default)]
    approve: bool,
}

/// Parse and check one runbook file.
pub fn parse(src: &str, file: &str) -> Result<Loaded, Diagnostics> {
    // Unknown keys all reported, with the checks' errors after them.
    let (raw, mut errors) = super::diagnostic::deserialize_all::<RawRunbook>(file, src)?;
    let mut err =
        |span: Range<usize>, msg: String| errors.push(Diagnostic::at(file, src, span, msg));
    let mut ids: Vec<(String, Range<usize>)> = Vec::new();
    let mut kind_spans = Vec::new();
    let mut phase =
        |steps: Vec<RawStep>, err: &mut dyn FnMut(Range<usize>, String)| -> Vec<StepSpec> {
            let mut out = Vec::new();
            for s in steps {
                if let Some((_, first)) = ids.iter().find(|(id, _)| id == s.id.get_ref()) {
                    let line = src[..first.start].matches('\n').count() + 1;
                    err(
                        s.id.span(),
                        format!(
                            "step id {:?} is used twice (first on line {line})",
                            s.id.get_ref()
                        ),
                    );
                }
                ids.push((s.id.get_ref().clone(), s.id.span()));
                let span = s
                    .action
                    .as_ref()
                    .or(s.check.as_ref())
                    .map_or(s.kind.span(), Spanned::span);
                let when = conditions(s.when.as_ref(), err);
                if let (Some(kind), Some(when)) = (step_kind(&s, err), when) {
                    kind_spans.push(span);
                    out.push(StepSpec {
                        id: s.id.into_inner(),
                        title: s.title.into_inner(),
                        help: s.help,
                        kind,
                        when,
                        approve: s.approve,
                    });
                }
            }
            out
        };
    let raw_steps = raw.before.len() + raw.during.len() + raw.after.len();
    let raw_during = raw.during.len();
    let before = phase(raw.before, &mut err);
    let during = phase(raw.during, &mut err);
    let after = phase(raw.after, &mut err);
    if raw_steps == 0 {
        err(
            raw.name.span(),
            "the runbook has no steps: add [[before]], [[during]] or [[after]] tables".into(),
        );
    } else if raw_during == 0 {
        err(
            raw.name.span(),
            "the runbook has no [[during]] step: the during phase is the rollback itself".into(),
        );
    }
    let mut targets = Vec::new();
    for t in raw.target {
        let words: Vec<Option<&str>> = match t.ends.get_ref() {
            toml::Value::Array(a) => a.iter().map(toml::Value::as_str).collect(),
            one => vec![one.as_str()],
        };
        let known = |w: &str| {
            ["before", "during", "after"].contains(&w) || ids.iter().any(|(id, _)| id == w)
        };
        match words.iter().copied().collect::<Option<Vec<&str>>>() {
            Some(ends) if !ends.is_empty() => {
                if let Some(bad) = ends.iter().find(|w| !known(w)) {
                    err(
                        t.ends.span(),
                        format!(
                            "`ends` names {bad:?}, which is neither a step id of this runbook nor a phase (before, during, after)"
                        ),
                    );
                }
                if t.within.get_ref().0.is_zero() {
                    err(
                        t.within.span(),
                        "a target's `within` must be longer than 0".into(),
                    );
                }
                targets.push(Target {
                    title: t.title.into_inner(),
                    within: t.within.get_ref().0,
                    ends: ends.into_iter().map(str::to_string).collect(),
                });
            }
            _ => err(
                t.ends.span(),
                "`ends` takes a step id or a phase (\"during\"), or a list of them".into(),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let runbook = Runbook {
        name: raw.name.into_inner(),
        description: raw.description,
        before,
        during,
        after,
        targets,
    };
    Ok(Loaded {
        runbook,
        file: file.to_string(),
        src: src.to_string(),
        kind_spans,
    })
}

/// A step's `when`: one condition or a list, all of which must hold.
fn conditions(
    v: Option<&Spanned<toml::Value>>,
    err: &mut dyn FnMut(Range<usize>, String),
) -> Option<Vec<When>> {
    let Some(v) = v else { return Some(Vec::new()) };
    let words: Vec<&toml::Value> = match v.get_ref() {
        toml::Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut out = Vec::new();
    for w in words {
        match w.as_str().and_then(When::parse) {
            Some(c) => out.push(c),
            None => {
                err(
                    v.span(),
                    "`when` takes \"traffic\", \"no-traffic\", \"deploy\", \"no-deploy\", \"status-page\", \"no-status-page\", or a list of them".into(),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// A `restart`, `stop` or `migrate-down` step's `argv`: its own, or (left
/// out) the service's command, filled in by `Runbook::with_commands`.
fn own_argv(
    s: &RawStep,
    action: &Spanned<String>,
    err: &mut dyn FnMut(Range<usize>, String),
) -> Option<Vec<String>> {
    match &s.argv {
        None => Some(Vec::new()),
        Some(a) if a.get_ref().first().is_some_and(|p| !p.trim().is_empty()) => {
            Some(a.get_ref().clone())
        }
        Some(a) => {
            err(
                a.span(),
                format!(
                    "`argv` of a {:?} action names no program: give the command (such as [\"dbmate\", \"rollback\"]), or leave `argv` out to use the service's own",
                    action.get_ref()
                ),
            );
            None
        }
    }
}

const CHECKS: &str =
    "\"reprobe\", \"target-healthy\", \"traffic-on-target\" or \"error-rate-below\"";
const ACTIONS: &str = "\"switch-traffic\", \"revert-deployment\", \"wait-healthy\", \"wait-stable\", \"smoke\", \"notify\", \"status-page\", \"command\", \"migrate-down\", \"restart\", \"stop\" or \"note\"";

fn step_kind(s: &RawStep, err: &mut dyn FnMut(Range<usize>, String)) -> Option<StepKind> {
    let kind = s.kind.get_ref().as_str();
    let mut allowed: Vec<&str> = Vec::new();
    let result = match kind {
        "manual" => Some(StepKind::Manual),
        "check" => {
            let Some(check) = &s.check else {
                err(
                    s.kind.span(),
                    format!("a \"check\" step needs `check`: {CHECKS}"),
                );
                return None;
            };
            allowed.push("check");
            match check.get_ref().as_str() {
                "reprobe" => {
                    allowed.push("count");
                    Some(StepKind::Check(Check::Reprobe {
                        count: s.count.as_ref().map_or(3, |c| *c.get_ref()).max(1),
                    }))
                }
                "target-healthy" => Some(StepKind::Check(Check::TargetHealthy)),
                "traffic-on-target" => Some(StepKind::Check(Check::TrafficOnTarget)),
                "error-rate-below" => {
                    allowed.extend(["threshold", "for", "timeout"]);
                    let threshold = match &s.threshold {
                        Some(t) => match super::rollback::percent(t.get_ref()) {
                            Ok(v) => v,
                            Err(e) => {
                                err(t.span(), e);
                                return None;
                            }
                        },
                        None => 0.01,
                    };
                    let hold = s
                        .hold
                        .as_ref()
                        .map_or(Duration::from_secs(60), |h| h.get_ref().0);
                    let timeout = s
                        .timeout
                        .as_ref()
                        .map_or(Duration::from_secs(300), |t| t.get_ref().0);
                    Some(StepKind::Check(Check::ErrorRateBelow {
                        threshold,
                        hold,
                        timeout,
                    }))
                }
                other => {
                    err(
                        check.span(),
                        format!("unknown check {other:?}: expected {CHECKS}"),
                    );
                    return None;
                }
            }
        }
        "action" => {
            let Some(action) = &s.action else {
                err(
                    s.kind.span(),
                    format!("an \"action\" step needs `action`: {ACTIONS}"),
                );
                return None;
            };
            allowed.push("action");
            let timeout = |default: u64| {
                s.timeout
                    .as_ref()
                    .map_or(Duration::from_secs(default), |t| t.get_ref().0)
            };
            match action.get_ref().as_str() {
                "switch-traffic" => Some(StepKind::Action(Act::SwitchTraffic)),
                "revert-deployment" => Some(StepKind::Action(Act::RevertDeployment)),
                "wait-healthy" => {
                    allowed.extend(["probes", "timeout"]);
                    let probes = s.probes.as_ref().map_or(3, |p| *p.get_ref()).max(1);
                    Some(StepKind::Action(Act::WaitHealthy {
                        probes,
                        timeout: timeout(120),
                    }))
                }
                "wait-stable" => {
                    allowed.push("timeout");
                    Some(StepKind::Action(Act::WaitStable {
                        timeout: timeout(600),
                    }))
                }
                "smoke" => Some(StepKind::Action(Act::Smoke)),
                "notify" => {
                    allowed.push("template");
                    let Some(template) = s.template else {
                        err(action.span(), "a \"notify\" action needs `template`: \"rollback-started\" or \"rollback-completed\"".into());
                        return None;
                    };
                    Some(StepKind::Action(Act::Notify { template }))
                }
                "command" => {
                    allowed.extend(["argv", "timeout"]);
                    match &s.argv {
                        Some(a) if a.get_ref().first().is_some_and(|p| !p.trim().is_empty()) => {
                            Some(StepKind::Action(Act::Command {
                                argv: a.get_ref().clone(),
                                timeout: timeout(120),
                            }))
                        }
                        Some(a) => {
                            err(
                                a.span(),
                                "`argv` needs a program to run: [\"program\", \"arg\", …]".into(),
                            );
                            return None;
                        }
                        None => {
                            err(action.span(), "a \"command\" action needs `argv`: [\"program\", \"arg\", …] (no shell)".into());
                            return None;
                        }
                    }
                }
                "migrate-down" => {
                    allowed.extend(["argv", "timeout"]);
                    Some(StepKind::Action(Act::MigrateDown {
                        argv: own_argv(s, action, err)?,
                        timeout: timeout(120),
                    }))
                }
                "restart" => {
                    allowed.extend(["argv", "probes", "timeout"]);
                    Some(StepKind::Action(Act::Restart {
                        argv: own_argv(s, action, err)?,
                        probes: s.probes.as_ref().map_or(3, |p| *p.get_ref()).max(1),
                        timeout: timeout(180),
                    }))
                }
                "stop" => {
                    allowed.extend(["argv", "timeout"]);
                    Some(StepKind::Action(Act::Stop {
                        argv: own_argv(s, action, err)?,
                        timeout: timeout(120),
                    }))
                }
                "note" => Some(StepKind::Action(Act::Note)),
                "status-page" => {
                    allowed.push("status");
                    use crate::core::status_page::PublicStatus;
                    match s
                        .status
                        .as_ref()
                        .map(|st| (st, PublicStatus::parse(st.get_ref())))
                    {
                        Some((_, Some(status))) => {
                            Some(StepKind::Action(Act::StatusPage { status }))
                        }
                        Some((st, None)) => {
                            err(st.span(), "`status` is \"investigating\", \"identified\", \"monitoring\" or \"resolved\"".into());
                            return None;
                        }
                        None => {
                            err(action.span(), "a \"status-page\" action needs `status`: \"investigating\", \"identified\", \"monitoring\" or \"resolved\"".into());
                            return None;
                        }
                    }
                }
                other => {
                    err(
                        action.span(),
                        format!("unknown action {other:?}: expected {ACTIONS}"),
                    );
                    return None;
                }
            }
        }
        other => {
            err(
                s.kind.span(),
                format!(
                    "unknown step kind {other:?}: expected \"manual\", \"check\" or \"action\""
                ),
            );
            return None;
        }
    };
    // A key that does nothing for this step is a mistake to point at, not ignore.
    let present = [
        ("check", s.check.as_ref().map(Spanned::span)),
        ("action", s.action.as_ref().map(Spanned::span)),
        ("count", s.count.as_ref().map(Spanned::span)),
        ("threshold", s.threshold.as_ref().map(Spanned::span)),
        ("for", s.hold.as_ref().map(Spanned::span)),
        ("timeout", s.timeout.as_ref().map(Spanned::span)),
        ("probes", s.probes.as_ref().map(Spanned::span)),
        ("template", s.template.map(|_| s.kind.span())),
        ("status", s.status.as_ref().map(Spanned::span)),
        ("argv", s.argv.as_ref().map(Spanned::span)),
    ];
    for (key, span) in present {
        if let Some(span) = span
            && !allowed.contains(&key)
        {
            err(
                span,
                format!("`{key}` does not apply to this step ({kind})"),
            );
            return None;
        }
    }
    result
}

/// Why a runbook's step cannot be carried out for a service, if it cannot.
pub fn unavailable(
    kind: &StepKind,
    service: &str,
    has_traffic: bool,
    has_deploy: bool,
) -> Option<String> {
    match kind {
        StepKind::Action(Act::SwitchTraffic) if !has_traffic => Some(format!(
            "action \"switch-traffic\" needs a traffic provider, and service `{service}` has none (add [services.{service}.traffic], or use another runbook)"
        )),
        StepKind::Action(Act::RevertDeployment) if !has_deploy => Some(format!(
            "action \"revert-deployment\" needs a deploy provider, and service `{service}` has none (add [services.{service}.deploy], or use another runbook)"
        )),
        StepKind::Action(Act::WaitStable { .. }) if !has_deploy => Some(format!(
            "action \"wait-stable\" needs a deploy provider, and service `{service}` has none"
        )),
        StepKind::Check(Check::TrafficOnTarget) if !has_traffic => Some(format!(
            "check \"traffic-on-target\" needs a traffic provider, and service `{service}` has none"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's tests play the default runbook from a JSON copy (the core
    /// crate cannot read TOML runbooks): it must be the one built in.
    /// `BACKSTOP_WRITE_FIXTURES=1` writes it anew.
    #[test]
    fn the_core_tests_play_the_built_in_default_runbook() {
        let built = Catalog::builtin().get("default").unwrap().runbook.clone();
        let json = serde_json::to_string_pretty(&built).unwrap() + "\n";
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crates/backstop-core/src/testkit/default-runbook.json"
        );
        if std::env::var_os("BACKSTOP_WRITE_FIXTURES").is_some() {
            std::fs::write(path, &json).unwrap();
        }
        assert_eq!(
            crate::core::testkit::default_runbook(),
            built,
            "{path} is stale: run the tests once with BACKSTOP_WRITE_FIXTURES=1"
        );
    }

    #[test]
    fn the_built_in_runbooks_parse() {
        let c = Catalog::builtin();
        assert_eq!(
            c.names(),
            ["default", "manual", "immediate", "standard", "emergency"]
        );
        let d = &c.get("default").unwrap().runbook;
        assert_eq!((d.before.len(), d.during.len(), d.after.len()), (5, 7, 8));
        assert!(matches!(
            d.before[0].kind,
            StepKind::Check(Check::Reprobe { count: 3 })
        ));
        assert!(
            matches!(d.during[6].kind, StepKind::Check(Check::ErrorRateBelow { threshold, .. }) if (threshold - 0.01).abs() < 1e-12)
        );
    }

    /// Reference 003's three rollbacks: their steps for a blue/green
    /// service, their targets, and the steps that run the service's own
    /// commands (left out without them).
    #[test]
    fn the_three_rollback_types_follow_reference_003() {
        use crate::core::runbook::{Caps, Commands};
        let c = Catalog::builtin();
        let caps = Caps {
            traffic: true,
            deploy: false,
            status_page: false,
        };
        let ids = |name: &str, cmds: &Commands| -> Vec<String> {
            c.get(name)
                .unwrap()
                .runbook
                .with_commands(cmds)
                .for_caps(caps)
                .steps()
                .map(|(_, s)| s.id.clone())
                .collect()
        };
        let none = Commands::default();
        let all = Commands {
            restart: Some(vec!["supervisorctl".into(), "restart".into(), "all".into()]),
            stop: Some(vec!["docker".into(), "compose".into(), "stop".into()]),
            migrate_down: Some(vec!["dbmate".into(), "rollback".into()]),
            database: true,
        };
        // Emergency acts first: no re-probe, the switch is the first change.
        let e = ids("emergency", &all);
        assert_eq!(&e[..3], ["rollback-ready", "switch-traffic", "restart"]);
        assert!(e.contains(&"migrate-down".to_string()));
        assert!(
            !ids("emergency", &none)
                .iter()
                .any(|i| i == "restart" || i == "migrate-down")
        );
        let s = ids("standard", &all);
        let at = |id: &str| s.iter().position(|x| x == id).unwrap();
        assert!(at("switch-traffic") < at("migrate-down") && at("migrate-down") < at("restart"));
        assert!(at("smoke") < at("monitor"));
        // A database without `revert`: its step is left to a person.
        let by_hand = Commands {
            database: true,
            ..Commands::default()
        };
        let step = c
            .get("standard")
            .unwrap()
            .runbook
            .with_commands(&by_hand)
            .during
            .into_iter()
            .find(|s| s.id == "migrate-down")
            .expect("kept");
        assert_eq!(step.kind, StepKind::Manual);
        assert!(step.help.contains("No `revert` command"), "{}", step.help);
        assert!(ids("immediate", &all).contains(&"stop-suspect".to_string()));
        assert!(!ids("immediate", &none).contains(&"stop-suspect".to_string()));
        let restart = c
            .get("standard")
            .unwrap()
            .runbook
            .with_commands(&all)
            .during
            .into_iter()
            .find(|s| s.id == "restart")
            .unwrap();
        assert_eq!(
            restart.kind,
            StepKind::Action(Act::Restart {
                argv: vec!["supervisorctl".into(), "restart".into(), "all".into()],
                probes: 3,
                timeout: Duration::from_secs(180),
            })
        );
        let targets: Vec<(String, u64)> = c
            .get("emergency")
            .unwrap()
            .runbook
            .targets
            .iter()
            .map(|t| (t.title.clone(), t.within.as_secs()))
            .collect();
        assert_eq!(
            targets,
            [
                ("immediate actions".to_string(), 120),
                ("verify".to_string(), 180),
                ("communicate".to_string(), 300),
                ("monitor".to_string(), 2100)
            ]
        );
    }

    #[test]
    fn the_default_runbook_fits_what_a_service_has() {
        use crate::core::runbook::Caps;
        let d = Catalog::builtin().get("default").unwrap().runbook.clone();
        let ids = |caps| -> Vec<String> {
            d.for_caps(caps)
                .during
                .iter()
                .map(|s| s.id.clone())
                .collect()
        };
        assert_eq!(
            ids(Caps {
                traffic: true,
                deploy: true,
                status_page: false,
            }),
            [
                "switch-traffic",
                "wait-healthy",
                "traffic-on-target",
                "smoke",
                "error-rate"
            ]
        );
        assert_eq!(
            ids(Caps {
                traffic: false,
                deploy: true,
                status_page: false,
            }),
            [
                "revert",
                "wait-stable",
                "wait-healthy",
                "smoke",
                "error-rate"
            ]
        );
        assert_eq!(
            headline(
                "name = \"x\"\n[[during]]\nid = \"a\"\ntitle = \"A\"\nkind = \"manual\"\nwhen = \"always\"\n"
            ),
            "rb.toml:6:8: `when` takes \"traffic\", \"no-traffic\", \"deploy\", \"no-deploy\", \"status-page\", \"no-status-page\", or a list of them"
        );
        assert_eq!(
            headline("name = \"x\"\n[[before]]\nid = \"a\"\ntitle = \"A\"\nkind = \"manual\"\n"),
            "rb.toml:1:8: the runbook has no [[during]] step: the during phase is the rollback itself"
        );
    }

    fn headline(src: &str) -> String {
        match parse(src, "rb.toml") {
            Ok(_) => panic!("expected an error"),
            Err(d) => d.0[0].headline(),
        }
    }

    #[test]
    fn errors_name_their_place() {
        let head = "name = \"x\"\n[[before]]\nid = \"a\"\ntitle = \"A\"\n";
        assert_eq!(
            headline(&format!("{head}kind = \"automatic\"\n")),
            "rb.toml:5:8: unknown step kind \"automatic\": expected \"manual\", \"check\" or \"action\""
        );
        assert_eq!(
            headline(&format!("{head}kind = \"action\"\naction = \"reboot\"\n")),
            format!("rb.toml:6:10: unknown action \"reboot\": expected {ACTIONS}")
        );
        assert_eq!(
            headline(&format!("{head}kind = \"action\"\n")),
            format!("rb.toml:5:8: an \"action\" step needs `action`: {ACTIONS}")
        );
        assert_eq!(
            headline("name = \"x\"\n[[before]]\nid = \"a\"\nkind = \"manual\"\n"),
            "rb.toml:2:1: missing field `title`"
        );
        assert_eq!(
            headline(&format!("{head}kind = \"manual\"\ncount = 3\n")),
            "rb.toml:6:9: `count` does not apply to this step (manual)"
        );
        assert_eq!(
            headline(&format!(
                "{head}kind = \"manual\"\n[[after]]\nid = \"a\"\ntitle = \"B\"\nkind = \"manual\"\n"
            )),
            "rb.toml:7:6: step id \"a\" is used twice (first on line 3)"
        );
        assert_eq!(
            headline("name = \"x\"\n"),
            "rb.toml:1:8: the runbook has no steps: add [[before]], [[during]] or [[after]] tables"
        );
        assert!(
            headline(&format!(
                "{head}kind = \"action\"\naction = \"migrate-down\"\nargv = []\n"
            ))
            .starts_with("rb.toml:7:8: `argv` of a \"migrate-down\" action names no program")
        );
        // Targets name steps or phases of their runbook.
        assert_eq!(
            headline(
                "name = \"x\"\n[[during]]\nid = \"a\"\ntitle = \"A\"\nkind = \"manual\"\n[[target]]\ntitle = \"t\"\nwithin = \"2m\"\nends = [\"during\", \"nope\"]\n"
            ),
            "rb.toml:9:8: `ends` names \"nope\", which is neither a step id of this runbook nor a phase (before, during, after)"
        );
        let ok = parse(
            "name = \"x\"\n[[during]]\nid = \"a\"\ntitle = \"A\"\nkind = \"action\"\naction = \"migrate-down\"\nargv = [\"dbmate\", \"rollback\"]\ntimeout = \"30s\"\n",
            "rb.toml",
        )
        .unwrap();
        assert_eq!(
            ok.runbook.during[0].kind,
            StepKind::Action(Act::MigrateDown {
                argv: vec!["dbmate".into(), "rollback".into()],
                timeout: Duration::from_secs(30),
            })
        );
    }

    #[test]
    fn user_runbooks_replace_built_ins_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("default.toml"),
            "name = \"default\"\n[[during]]\nid = \"a\"\ntitle = \"A\"\nkind = \"manual\"\n",
        )
        .unwrap();
        let c = Catalog::load(dir.path()).unwrap();
        assert_eq!(c.get("default").unwrap().runbook.during.len(), 1);
        std::fs::write(dir.path().join("bad.toml"), "name = 1\n").unwrap();
        let e = Catalog::load(dir.path()).unwrap_err();
        assert!(e.0[0].headline().contains("bad.toml:1:8:"), "{e}");
    }
}
