//! `backstop drill --scenario` and `--list`: scored rehearsals, in the
//! console or headless.

use super::*;

/// `backstop drill --scenario …` (or `--list`).
pub(super) struct Play {
    pub(super) list: bool,
    pub(super) scenario: Option<String>,
    pub(super) speed: f64,
    pub(super) seed: Option<u64>,
    pub(super) auto: bool,
    pub(super) headless: bool,
    pub(super) json: bool,
    /// `--target aws`, with the --config flag (if given).
    pub(super) aws: Option<Option<PathBuf>>,
    /// Changing real weights was agreed to beforehand.
    pub(super) yes: bool,
    /// Hosted as a team drill (`--team`): joinable while it runs.
    pub(super) team: Option<super::team::Team>,
}

pub(super) fn scenario_drill(paths: &Paths, p: Play, storage: Storage) -> Done {
    let scenarios = Scenarios::load(&paths.drills_dir).map_err(|d| {
        Failure::Usage(format!(
            "{d}\nbackstop: drill scenarios in {} have errors",
            paths.drills_dir.display()
        ))
    })?;
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
        return Ok(exit::OK);
    }
    let name = p.scenario.unwrap_or_default();
    let Some(scenario) = scenarios.get(&name) else {
        let names: Vec<&str> = scenarios.0.iter().map(|s| s.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "backstop drill: no scenario {name:?}; there are: {}",
            names.join(", ")
        )));
    };
    if !(p.speed > 0.0 && p.speed <= 100.0) {
        return Err(Failure::Usage(
            "backstop drill: --speed must be more than 0 and at most 100".into(),
        ));
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
        let config = load_config(flag.as_deref(), paths)?;
        let Some(svc) = config.services.iter().find(|s| s.name == scenario.service) else {
            return Err(Failure::Usage(format!(
                "backstop drill: --target aws plays on service {} of {}, which has none",
                scenario.service, config.file
            )));
        };
        if !matches!(
            svc.traffic.as_ref().map(|t| &t.kind),
            Some(crate::config::TrafficKind::Alb(_))
        ) {
            return Err(Failure::Usage(format!(
                "backstop drill: --target aws needs {}'s traffic on an ALB (provider = \"alb\") in {}",
                svc.name, config.file
            )));
        }
        // Real weights change: preview, then an explicit yes.
        let start = scenario
            .world
            .iter()
            .map(|w| format!("{} {} %", w.env, w.weight))
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
                return Err(Failure::Usage(
                    "backstop drill: pass --yes to agree to that".into(),
                ));
            }
            out::err_text("Go on? [y/N] ");
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                return Err(Failure::Failing(
                    "not confirmed: nothing was changed".into(),
                ));
            }
        }
        o.real = Some(svc.clone());
        o.real_aws = Some(config.aws.clone());
        // The drill drives the real service in production's room: where
        // the configuration keeps its journal, and its room's name.
        let place = match super::configured_journal(flag.as_deref(), paths)? {
            Some(super::Configured::Table(t)) => crate::room::Place {
                file: paths.data_dir.join(format!("dynamodb-{}.sqlite", t.name)),
                table: Some(t),
                room: String::new(),
            },
            Some(super::Configured::File(f)) => crate::room::Place::from(&f),
            None => crate::room::Place::from(&paths.journal_file),
        };
        o.real_room = Some(crate::sandbox::drill::RealRoom {
            place: place.in_room(&config.room),
            expiry: config.lease_expiry,
            secrets: config.secrets(),
        });
    }
    let scenario = scenario.clone();
    if p.headless {
        return runtime(|| async move {
            crate::identity::learn_aws(o.real.as_ref().and_then(|s| s.aws())).await;
            headless::drill::run(&scenario, o, &storage, p.json)
                .await
                .map_err(|e| Failure::Usage(format!("backstop drill: {e:#}")))
        });
    }
    if p.team.is_some() {
        super::team::alone(&storage)?;
    }
    let keymap = load_keymap(paths)?;
    open_console(|| async move {
        // A drill on real AWS acts as the operator there.
        crate::identity::learn_aws(o.real.as_ref().and_then(|s| s.aws())).await;
        let (sandbox, mut config) = crate::sandbox::drill::start(&scenario, &o).await?;
        // A team's scenario: its world shared on the journal, joinable.
        let _hosting = match p.team {
            Some(team) => Some(
                super::team::host(&mut config, team, o.speed, &storage)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ),
            None => None,
        };
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
