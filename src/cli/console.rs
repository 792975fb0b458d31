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
    let mut config = load_config(flag, paths)?;
    watch_only(&mut config, read_only);
    let keymap = load_keymap(paths)?;
    let origin = Origin::Config(config.file.clone());
    open_console(|| async move {
        // Before anything records who acts (the engine, presence, leases).
        crate::identity::learn_aws(config.aws_in_use()).await;
        app::run_console(
            config,
            origin,
            keymap,
            Theme::from_env(),
            None,
            None,
            &storage,
        )
        .await
    })
}

pub(super) fn drill(
    paths: &Paths,
    interval: Duration,
    timeout: Duration,
    rate: f64,
    storage: Storage,
    read_only: bool,
    team: Option<u8>,
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
        watch_only(&mut config, read_only);
        // A team drill: its world shared on the journal, joinable while it runs.
        let _hosting = match team {
            Some(approvals) => Some(
                super::team::host(&mut config, approvals, &storage)
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
