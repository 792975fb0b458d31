//! Drill scenarios: `assets/drills/*.toml` built in, and the team's own in
//! `drills/` in the config directory (a file named like a built-in one
//! replaces it). Every mistake is an error with file, line and column.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Diagnostic, Diagnostics, HumanDuration, OrderedMap};
use crate::core::drill::{DrillAction, Expectation, Scenario, Step};
use crate::core::model::Fault;

pub const BUILT_IN: [(&str, &str); 9] = [
    (
        "bad-switch",
        include_str!("../../assets/drills/bad-switch.toml"),
    ),
    (
        "canary-errors",
        include_str!("../../assets/drills/canary-errors.toml"),
    ),
    (
        "slow-release",
        include_str!("../../assets/drills/slow-release.toml"),
    ),
    (
        "degraded-dependency",
        include_str!("../../assets/drills/degraded-dependency.toml"),
    ),
    ("blip", include_str!("../../assets/drills/blip.toml")),
    (
        "target-broken",
        include_str!("../../assets/drills/target-broken.toml"),
    ),
    (
        "second-bad-deploy",
        include_str!("../../assets/drills/second-bad-deploy.toml"),
    ),
    (
        "quiet-canary",
        include_str!("../../assets/drills/quiet-canary.toml"),
    ),
    (
        "canary-noise",
        include_str!("../../assets/drills/canary-noise.toml"),
    ),
];

/// Every scenario known, built-in first.
#[derive(Clone, Debug, Default)]
pub struct Scenarios(pub Vec<Scenario>);

impl Scenarios {
    pub fn builtin() -> Self {
        let mut out = Vec::new();
        for (name, src) in BUILT_IN {
            // The built-in files are tested to parse: an error here is a build defect.
            match parse(src, &format!("assets/drills/{name}.toml (built in)")) {
                Ok(s) => out.push(s),
                Err(e) => panic!("built-in drill {name} is invalid:\n{e}"),
            }
        }
        Scenarios(out)
    }

    /// Built-ins, then every `*.toml` in `dir` over them.
    pub fn load(dir: &Path) -> Result<Self, Diagnostics> {
        let mut all = Self::builtin();
        for s in super::read_toml_dir(dir, "drill", parse)? {
            all.0.retain(|x| x.name != s.name);
            all.0.push(s);
        }
        Ok(all)
    }

    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.0.iter().find(|s| s.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_service")]
    service: String,
    ends: Spanned<HumanDuration>,
    max_speed: Option<Spanned<f64>>,
    #[serde(default)]
    world: Vec<RawWorld>,
    #[serde(default)]
    timeline: Vec<RawStep>,
    expect: RawExpect,
}

fn default_service() -> String {
    "web".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    env: String,
    version: String,
    previous: Option<String>,
    weight: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Spanned<HumanDuration>,
    #[serde(rename = "do")]
    action: Spanned<String>,
    env: Option<Spanned<String>>,
    version: Option<String>,
    weights: Option<Spanned<OrderedMap<Spanned<u32>>>>,
    fault: Option<Spanned<String>>,
    percent: Option<Spanned<u8>>,
    ms: Option<Spanned<u32>>,
    every: Option<Spanned<HumanDuration>>,
    #[serde(rename = "for")]
    length: Option<Spanned<HumanDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    fires: Option<String>,
    rollback: bool,
    rollbacks: Option<u32>,
    #[serde(default)]
    escalate: bool,
}

const ACTIONS: &str = "\"deploy\", \"weights\", \"fault\", \"heal\" or \"flap\"";
const FAULTS: &str = "\"503\", \"degraded\", \"slow\", \"refused\", \"error-rate\" (with percent) or \"latency\" (with ms)";

fn fault(s: &RawStep, err: &mut impl FnMut(Range<usize>, String)) -> Option<Fault> {
    let Some(f) = &s.fault else {
        err(
            s.action.span(),
            format!("\"{}\" needs `fault`: {FAULTS}", s.action.get_ref()),
        );
        return None;
    };
    Some(match f.get_ref().as_str() {
        "503" => Fault::Unhealthy,
        "degraded" => Fault::Degraded,
        "slow" => Fault::Slow,
        "refused" => Fault::Refused,
        "error-rate" => match &s.percent {
            Some(p) if (1..=100).contains(p.get_ref()) => Fault::ErrorRate(*p.get_ref()),
            Some(p) => {
                err(p.span(), "`percent` is 1 to 100".into());
                return None;
            }
            None => {
                err(f.span(), "fault \"error-rate\" needs `percent`".into());
                return None;
            }
        },
        "latency" => match &s.ms {
            Some(ms) => Fault::Latency(*ms.get_ref()),
            None => {
                err(f.span(), "fault \"latency\" needs `ms`".into());
                return None;
            }
        },
        other => {
            err(
                f.span(),
                format!("unknown fault {other:?}: expected {FAULTS}"),
            );
            return None;
        }
    })
}

/// Parse and check one scenario file.
pub fn parse(src: &str, file: &str) -> Result<Scenario, Diagnostics> {
    // Unknown keys all reported, with the checks' errors after them.
    let (raw, mut errors) = super::diagnostic::deserialize_all::<RawScenario>(file, src)?;
    let mut err =
        |span: Range<usize>, msg: String| errors.push(Diagnostic::at(file, src, span, msg));
    let envs: Vec<String> = raw.world.iter().map(|w| w.env.clone()).collect();
    let known =
        |e: &str| envs.is_empty() && ["blue", "green"].contains(&e) || envs.iter().any(|x| x == e);
    if !raw.world.is_empty() {
        let total: u32 = raw.world.iter().map(|w| *w.weight.get_ref()).sum();
        if total != 100
            && let Some(w) = raw.world.first()
        {
            err(
                w.weight.span(),
                format!("the world's weights add up to {total} %, not 100 %"),
            );
        }
    }
    let mut timeline = Vec::new();
    for s in &raw.timeline {
        let env = || -> Option<String> { s.env.as_ref().map(|e| e.get_ref().clone()) };
        let need_env = |err: &mut dyn FnMut(Range<usize>, String)| -> Option<String> {
            match &s.env {
                Some(e) if known(e.get_ref()) => Some(e.get_ref().clone()),
                Some(e) => {
                    err(
                        e.span(),
                        format!("the drill's world has no environment `{}`", e.get_ref()),
                    );
                    None
                }
                None => {
                    err(
                        s.action.span(),
                        format!("\"{}\" needs `env`", s.action.get_ref()),
                    );
                    None
                }
            }
        };
        let action = match s.action.get_ref().as_str() {
            "deploy" => match (need_env(&mut err), &s.version) {
                (Some(env), Some(v)) => Some(DrillAction::Deploy {
                    env,
                    version: v.clone(),
                }),
                (_, None) => {
                    err(s.action.span(), "\"deploy\" needs `version`".into());
                    None
                }
                _ => None,
            },
            "weights" => match &s.weights {
                Some(w) => {
                    let mut out = Vec::new();
                    for (e, p) in &w.get_ref().0 {
                        if !known(e.get_ref()) {
                            err(
                                e.span(),
                                format!("the drill's world has no environment `{}`", e.get_ref()),
                            );
                        }
                        out.push((e.get_ref().clone(), *p.get_ref()));
                    }
                    let total: u32 = out.iter().map(|(_, p)| p).sum();
                    if total != 100 {
                        err(w.span(), format!("weights add up to {total} %, not 100 %"));
                    }
                    Some(DrillAction::Weights { weights: out })
                }
                None => {
                    err(
                        s.action.span(),
                        "\"weights\" needs `weights = { blue = 0, green = 100 }`".into(),
                    );
                    None
                }
            },
            "fault" => match (need_env(&mut err), fault(s, &mut err)) {
                (Some(env), Some(fault)) => Some(DrillAction::Fault { env, fault }),
                _ => None,
            },
            "heal" => need_env(&mut err).map(|env| DrillAction::Heal { env }),
            "flap" => {
                let every = s.every.as_ref().map(|e| e.get_ref().0);
                let length = s.length.as_ref().map(|l| l.get_ref().0);
                match (need_env(&mut err), fault(s, &mut err), every, length) {
                    (Some(_), Some(_), Some(every), Some(_)) if every.is_zero() => {
                        if let Some(e) = &s.every {
                            err(e.span(), "`every` must be more than 0s".into());
                        }
                        None
                    }
                    (Some(env), Some(fault), Some(every), Some(length)) => {
                        Some(DrillAction::Flap {
                            env,
                            fault,
                            every,
                            length,
                        })
                    }
                    (_, _, None, _) | (_, _, _, None) => {
                        err(s.action.span(), "\"flap\" needs `every` and `for`".into());
                        None
                    }
                    _ => None,
                }
            }
            other => {
                err(
                    s.action.span(),
                    format!("unknown step {other:?}: expected {ACTIONS}"),
                );
                None
            }
        };
        let _ = env;
        if let Some(action) = action {
            if s.at.get_ref().0 > raw.ends.get_ref().0 {
                err(
                    s.at.span(),
                    "this step comes after the drill ends (`ends`)".into(),
                );
            }
            timeline.push(Step {
                at: s.at.get_ref().0,
                action,
            });
        }
    }
    timeline.sort_by_key(|s| s.at);
    if raw.ends.get_ref().0 < Duration::from_secs(10) {
        err(raw.ends.span(), "a drill lasts at least 10s".into());
    }
    let name = raw.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        err(
            raw.name.span(),
            format!(
                "drill name {name:?}: letters, digits and `-` (it is typed on the command line)"
            ),
        );
    }
    if let Some(m) = &raw.max_speed
        && (m.get_ref().is_nan() || *m.get_ref() < 1.0)
    {
        errors.push(Diagnostic::at(
            file,
            src,
            m.span(),
            "max_speed must be at least 1 (the speed a scenario stays faithful up to)",
        ));
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Scenario {
        name,
        title: raw.title,
        description: raw.description,
        service: raw.service,
        world: raw
            .world
            .into_iter()
            .map(|w| crate::core::drill::StartingEnv {
                env: w.env,
                version: w.version,
                previous: w.previous,
                weight: w.weight.into_inner(),
            })
            .collect(),
        timeline,
        expect: Expectation {
            fires: raw.expect.fires,
            rollback: raw.expect.rollback,
            rollbacks: raw.expect.rollbacks,
            escalate: raw.expect.escalate,
        },
        ends: raw.ends.get_ref().0,
        max_speed: raw.max_speed.map(|m| m.into_inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_scenarios_parse() {
        let all = Scenarios::builtin();
        assert_eq!(all.0.len(), 9);
        let blip = all.get("blip").unwrap();
        assert!(!blip.expect.rollback);
        assert!(all.get("target-broken").unwrap().expect.escalate);
    }

    fn headline(src: &str) -> String {
        match parse(src, "d.toml") {
            Ok(_) => panic!("expected an error"),
            Err(d) => d.0[0].headline(),
        }
    }

    #[test]
    fn mistakes_name_their_place() {
        let head = "name = \"x\"\ntitle = \"X\"\nends = \"1m\"\n[expect]\nrollback = true\n";
        assert_eq!(
            headline(&format!(
                "{head}[[timeline]]\nat = \"5s\"\ndo = \"explode\"\n"
            )),
            format!("d.toml:8:6: unknown step \"explode\": expected {ACTIONS}")
        );
        assert_eq!(
            headline(&format!(
                "{head}[[timeline]]\nat = \"5s\"\ndo = \"fault\"\nenv = \"green\"\nfault = \"error-rate\"\n"
            )),
            "d.toml:10:9: fault \"error-rate\" needs `percent`"
        );
        assert_eq!(
            headline(&format!(
                "{head}[[timeline]]\nat = \"5s\"\ndo = \"fault\"\nenv = \"purple\"\nfault = \"503\"\n"
            )),
            "d.toml:9:7: the drill's world has no environment `purple`"
        );
        assert_eq!(
            headline(&format!(
                "{head}[[timeline]]\nat = \"2m\"\ndo = \"heal\"\nenv = \"green\"\n"
            )),
            "d.toml:7:6: this step comes after the drill ends (`ends`)"
        );
        // A flap that never advances would never end; a speed of 0 divides by it.
        assert_eq!(
            headline(&format!(
                "{head}[[timeline]]\nat = \"5s\"\ndo = \"flap\"\nenv = \"green\"\nfault = \"503\"\nevery = \"0s\"\nfor = \"10s\"\n"
            )),
            "d.toml:11:9: `every` must be more than 0s"
        );
        assert_eq!(
            headline(&format!("max_speed = 0\n{head}")),
            "d.toml:1:13: max_speed must be at least 1 (the speed a scenario stays faithful up to)"
        );
    }
}
