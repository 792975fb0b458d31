//! `backstop config check` and `backstop config init`.

use super::*;

/// Every error of the configuration, the runbooks and the keymap, each as
/// `file:line:col`; exit 2 when there is one.
pub(super) fn config_check(flag: Option<&Path>, paths: &Paths) -> Done {
    let found = config::locate(
        flag,
        std::env::var("BACKSTOP_CONFIG").ok(),
        &paths.config_file,
    )
    .map_err(|e| Failure::Usage(format!("backstop: {e}")))?;
    let Some((path, source)) = found else {
        return Err(Failure::Usage(no_config_help(paths)));
    };
    let mut code = exit::OK;
    let runbooks = match Catalog::load(&paths.runbooks_dir) {
        Ok(c) => c,
        Err(d) => {
            out::err_line(&d);
            code = exit::USAGE;
            Catalog::builtin()
        }
    };
    match config::load_with(&path, &runbooks) {
        Ok(c) => {
            let envs: usize = c.services.iter().map(|s| s.environments.len()).sum();
            let eps: usize = c
                .services
                .iter()
                .flat_map(|s| &s.environments)
                .map(|e| e.endpoints.len())
                .sum();
            let how = match source {
                Source::Flag => "",
                Source::EnvVar => " (from $BACKSTOP_CONFIG)",
                Source::Default => " (default location)",
            };
            out::line(format_args!(
                "{}{how}: ok — {} services, {envs} environments, {eps} endpoints",
                path.display(),
                c.services.len()
            ));
            let books: Vec<String> = c
                .services
                .iter()
                .map(|s| format!("{} → {}", s.name, s.runbook.describe()))
                .collect();
            out::line(format_args!("runbooks: {}", books.join(", ")));
        }
        Err(d) => {
            out::err_line(&d);
            let n = d.0.len();
            out::err_line(format_args!(
                "{}: {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            ));
            code = exit::USAGE;
        }
    }
    if paths.keymap_file.exists() {
        match Keymap::load(&paths.keymap_file) {
            Ok(_) => out::line(format_args!("{}: ok", paths.keymap_file.display())),
            Err(d) => {
                out::err_line(&d);
                code = exit::USAGE;
            }
        }
    }
    Ok(code)
}

/// Write the documented example, never over a file without `--force`.
pub(super) fn config_init(path: &Path, force: bool) -> Done {
    if path.exists() && !force {
        return Err(Failure::Usage(format!(
            "backstop: {} already exists; use --force to overwrite it",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::Failing(format!("backstop: cannot create {}: {e}", dir.display()))
        })?;
    }
    std::fs::write(path, config::EXAMPLE)
        .map_err(|e| Failure::Failing(format!("backstop: cannot write {}: {e}", path.display())))?;
    out::line(format_args!("wrote {}", path.display()));
    out::line("edit it for your services, then run: backstop config check");
    Ok(exit::OK)
}
