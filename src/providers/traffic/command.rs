//! Platforms switched by their own CLI (`flyctl`, `vercel alias set`, a curl
//! to Render's API; reference runbooks 002 and 004). A read command prints the
//! weights as JSON; a set command runs once per environment whose weight
//! changes, with `{env}` and `{weight}` replaced inside each argument. Nothing
//! ever goes through a shell.

use serde_json::Value;

use super::{Applied, TrafficError, TrafficProvider};
use crate::config::CommandConfig;
use crate::core::traffic::Weights;
use crate::providers::BoxFuture;
use crate::providers::command::{self, display, substitute};

pub struct CommandTraffic {
    cfg: CommandConfig,
    envs: Vec<String>,
}

impl CommandTraffic {
    pub fn new(cfg: CommandConfig, envs: Vec<String>) -> Self {
        CommandTraffic { cfg, envs }
    }

    /// The set commands for a change, gaining environments first so capacity
    /// is there before traffic leaves the others.
    fn plan(&self, from: &Weights, to: &Weights) -> Vec<(String, u32, u32, Vec<String>)> {
        let fp = from.percents();
        let tp = to.percents();
        let mut steps: Vec<(String, u32, u32, Vec<String>)> =
            to.0.iter()
                .zip(&tp)
                .filter_map(|(w, t)| {
                    let before = from
                        .0
                        .iter()
                        .position(|f| f.env == w.env)
                        .map_or(0, |i| fp[i]);
                    (before != *t).then(|| {
                        (
                            w.env.clone(),
                            before,
                            *t,
                            substitute(&self.cfg.set, &w.env, *t),
                        )
                    })
                })
                .collect();
        steps.sort_by_key(|(_, before, after, _)| after <= before);
        steps
    }

    async fn run_set(&self, argv: &[String], log: &mut Vec<String>) -> Result<(), String> {
        log.push(format!("$ {}", display(argv)));
        let ran = command::run(argv, self.cfg.timeout)
            .await
            .map_err(|e| e.to_string())?;
        log.extend(ran.log_lines(10));
        if ran.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` exited with {}: {}",
                display(argv),
                ran.code.map_or("a signal".into(), |c| c.to_string()),
                ran.last_words()
            ))
        }
    }
}

/// Weights from the read command's JSON: `{"blue": 90, "green": 10}`,
/// `{"weights": {…}}`, or `[{"env": "blue", "weight": 90}, …]`.
pub fn parse_weights(stdout: &str, envs: &[String]) -> Result<Weights, String> {
    let json: Value = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("the read command did not print JSON ({e})"))?;
    let json = json.get("weights").cloned().unwrap_or(json);
    let pairs: Vec<(String, u32)> = match &json {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), number(v)?)))
            .collect::<Result<_, String>>()?,
        Value::Array(items) => items
            .iter()
            .map(|it| {
                let env = it
                    .get("env")
                    .or_else(|| it.get("name"))
                    .and_then(Value::as_str)
                    .ok_or("each item needs \"env\" (or \"name\")")?;
                let w = it.get("weight").ok_or("each item needs \"weight\"")?;
                Ok((env.to_string(), number(w)?))
            })
            .collect::<Result<_, String>>()?,
        _ => return Err("expected a JSON object or array of weights".into()),
    };
    for (env, _) in &pairs {
        if !envs.contains(env) {
            return Err(format!(
                "the read command names `{env}`, which is not an environment of this service"
            ));
        }
    }
    Ok(Weights::from_percents(envs.iter().map(|e| {
        (
            e.as_str(),
            pairs.iter().find(|(p, _)| p == e).map_or(0, |(_, w)| *w),
        )
    })))
}

fn number(v: &Value) -> Result<u32, String> {
    v.as_f64()
        .filter(|n| *n >= 0.0 && *n <= f64::from(u32::MAX))
        .map(|n| n.round() as u32)
        .ok_or_else(|| format!("{v} is not a weight"))
}

impl TrafficProvider for CommandTraffic {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn target(&self) -> String {
        format!("`{}`", display(&self.cfg.read))
    }

    fn read(&self) -> BoxFuture<'_, Result<Weights, TrafficError>> {
        Box::pin(async move {
            let ran = command::run(&self.cfg.read, self.cfg.timeout)
                .await
                .map_err(|e| TrafficError::new(e.to_string()))?;
            if !ran.success() {
                return Err(TrafficError::with_log(
                    format!(
                        "`{}` exited with {}: {}",
                        display(&self.cfg.read),
                        ran.code.map_or("a signal".into(), |c| c.to_string()),
                        ran.last_words()
                    ),
                    ran.log_lines(10),
                ));
            }
            parse_weights(&ran.stdout, &self.envs).map_err(TrafficError::new)
        })
    }

    fn preview<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
    ) -> BoxFuture<'a, Result<Vec<String>, TrafficError>> {
        Box::pin(async move {
            let mut lines = vec![format!(
                "runs, in this order (no shell; each stops the rest if it fails):"
            )];
            for (env, before, after, argv) in self.plan(from, to) {
                lines.push(format!(
                    "  $ {}    # {env} {before} → {after} %",
                    display(&argv)
                ));
            }
            lines.push(format!(
                "then reads back with `{}`",
                display(&self.cfg.read)
            ));
            Ok(lines)
        })
    }

    fn set<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
        fence: &'a crate::providers::LeaseCheck,
    ) -> BoxFuture<'a, Result<Applied, TrafficError>> {
        Box::pin(async move {
            super::unmoved(&self.read().await?, from)?;
            let mut log = Vec::new();
            let mut done: Vec<(String, u32, u32)> = Vec::new();
            for (env, before, after, argv) in self.plan(from, to) {
                // Between two commands of one change too: a driver taken
                // over midway stops, and says what was done and what not —
                // undoing it would be a change made without the lease.
                if let Err(e) = fence.holds().await {
                    let made: Vec<String> = done
                        .iter()
                        .map(|(env, _, after)| format!("{env} set to {after} %"))
                        .collect();
                    let said = if made.is_empty() {
                        "nothing was changed".to_string()
                    } else {
                        format!(
                            "stopped midway: {}; `{}` and what follows not run",
                            made.join(", "),
                            display(&argv)
                        )
                    };
                    log.push(format!("not run: `{}`", display(&argv)));
                    return Err(TrafficError::with_log(format!("{e}; {said}"), log));
                }
                if let Err(e) = self.run_set(&argv, &mut log).await {
                    // Put back what already ran, newest first, so the split is
                    // not left somewhere nobody chose.
                    for (env, before, _) in done.iter().rev() {
                        let undo = substitute(&self.cfg.set, env, *before);
                        match self.run_set(&undo, &mut log).await {
                            Ok(()) => log.push(format!("reverted {env} to {before} %")),
                            Err(e) => {
                                log.push(format!("COULD NOT REVERT {env} to {before} %: {e}"))
                            }
                        }
                    }
                    let reverted = if done.is_empty() {
                        "nothing had changed"
                    } else {
                        "the earlier steps were reverted"
                    };
                    return Err(TrafficError::with_log(format!("{e}; {reverted}"), log));
                }
                done.push((env, before, after));
            }
            let weights = self.read().await?;
            Ok(Applied { weights, log })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs() -> Vec<String> {
        vec!["blue".into(), "green".into()]
    }

    #[test]
    fn reads_the_common_json_shapes() {
        let want = Weights::from_percents([("blue", 90), ("green", 10)]);
        assert_eq!(
            parse_weights(r#"{"blue": 90, "green": 10}"#, &envs()),
            Ok(want.clone())
        );
        assert_eq!(
            parse_weights(r#"{"weights": {"green": 10, "blue": 90}}"#, &envs()),
            Ok(want.clone())
        );
        assert_eq!(
            parse_weights(
                r#"[{"env":"blue","weight":90},{"name":"green","weight":10.0}]"#,
                &envs()
            ),
            Ok(want)
        );
        assert_eq!(
            parse_weights(r#"{"blue": 100}"#, &envs()).map(|w| w.percents()),
            Ok(vec![100, 0])
        );
        assert!(
            parse_weights("not json", &envs())
                .unwrap_err()
                .starts_with("the read command did not print JSON")
        );
        assert_eq!(
            parse_weights(r#"{"purple": 1}"#, &envs()).unwrap_err(),
            "the read command names `purple`, which is not an environment of this service"
        );
        assert_eq!(
            parse_weights(r#"{"blue": -1}"#, &envs()).unwrap_err(),
            "-1 is not a weight"
        );
    }

    #[test]
    fn plans_gaining_environments_first() {
        let p = CommandTraffic::new(
            CommandConfig {
                read: vec!["r".into()],
                set: vec!["set".into(), "{env}={weight}".into()],
                timeout: std::time::Duration::from_secs(1),
            },
            envs(),
        );
        let plan = p.plan(
            &Weights::from_percents([("blue", 90), ("green", 10)]),
            &Weights::from_percents([("blue", 0), ("green", 100)]),
        );
        let argvs: Vec<Vec<String>> = plan.into_iter().map(|(_, _, _, a)| a).collect();
        assert_eq!(
            argvs,
            [
                vec!["set".to_string(), "green=100".into()],
                vec!["set".to_string(), "blue=0".into()]
            ]
        );
    }
}
