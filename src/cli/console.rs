//! `backstop` (the console on your configuration) and `backstop drill`
//! (free play in the sandbox).

use super::*;

/// Every service only watched, when asked (`--read-only`).
fn watch_only(config: &mut Config, read_only: bool) {
    if read_only {
        for s in &mut config.services {
            s.read_only = true;
        }
    }
}

pub(super) fn console(
    flag: Option<&Path>,
    paths: &Paths,
    storage: Storage,
    read_only: bool,
) -> Done {
    let contexts = crate::contexts::Contexts::discover(&paths.config_dir).map_err(|d| {
        Failure::Usage(format!(
            "{d}\nbackstop: the contexts in {} have errors",
            paths.config_dir.display()
        ))
    })?;
    let mut config = load_config(flag, paths).map_err(|e| match e {
        // Nothing to open by default, but contexts to choose from.
        Failure::Usage(text) if flag.is_none() && !contexts.all.is_empty() => {
            Failure::Usage(format!(
                "{text}\nbackstop: or open a context: backstop --context NAME ({})",
                contexts.names().join(", ")
            ))
        }
        other => other,
    })?;
    watch_only(&mut config, read_only);
    let keymap = load_keymap(paths)?;
    let current = contexts
        .of_file(Path::new(&config.file))
        .cloned()
        .or_else(|| (!contexts.all.is_empty()).then(|| default_context(&config)));
    let loader_paths = paths.clone();
    let load: app::Loader = std::sync::Arc::new(move |c: &crate::contexts::Context| {
        let mut config = load_config(Some(&c.file), &loader_paths).map_err(|e| e.to_string())?;
        watch_only(&mut config, read_only);
        Ok(config)
    });
    open_console(|| async move {
        // Before anything records who acts (the engine, presence, leases).
        crate::identity::learn_aws(config.aws_in_use()).await;
        let switching = app::Switching {
            contexts,
            current,
            load,
        };
        app::run_console_in_contexts(config, keymap, Theme::from_env(), &storage, switching).await
    })
}

/// The configuration opened without a context, when contexts exist: the
/// header still names it, so no world goes unnamed.
fn default_context(config: &Config) -> crate::contexts::Context {
    crate::contexts::Context {
        name: "default".into(),
        file: config.file.clone().into(),
        production: false,
        color: None,
    }
}

pub(super) fn drill(
    paths: &Paths,
    interval: Duration,
    timeout: Duration,
    rate: f64,
    storage: Storage,
    read_only: bool,
    team: Option<super::team::Team>,
) -> Done {
    if timeout >= interval {
        return Err(Failure::Usage(
            "backstop drill: --timeout must be shorter than --interval".into(),
        ));
    }
    if !(0.0..=5000.0).contains(&rate) {
        return Err(Failure::Usage(
            "backstop drill: --rate must be between 0 and 5000 requests a second".into(),
        ));
    }
    if team.is_some() {
        super::team::alone(&storage)?;
    }
    let keymap = load_keymap(paths)?;
    open_console(|| async move {
        let options = sandbox::Options { rate };
        let sandbox =
            std::sync::Arc::new(Sandbox::start(&sandbox::default_world(), &options).await?);
        let mut config = sandbox.config(interval, timeout);
        config.fresh_world = true;
        watch_only(&mut config, read_only);
        // A team drill: its world shared on the journal, joinable while it runs.
        let _hosting = match team {
            Some(team) => Some(
                super::team::host(&mut config, team, 1.0, &storage)
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
            None,
            &storage,
        )
        .await
    })
}
