//! Every file of bad input is a test of its own, named after the file: the
//! binary must answer it with exit 2 and the message its first line expects
//! (`# expect: {file}:line:col: message`), so one regression never hides
//! another. A fixture without a test here fails `every_fixture_has_a_test`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Home, run, stderr, stdout};

/// The message the fixture's first line expects.
fn expectation(file: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{file} must start with `# expect: <message>`"))
        .to_string()
}

/// `backstop config check` on a bad configuration.
fn invalid_config(name: &str) {
    let file = format!("tests/invalid_configs/{name}.toml");
    let home = Home::new();
    let mut c = home.command();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["config", "check", &file]);
    let out = run(c);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{file}: exit code\n{err}");
    let want = expectation(&file).replace("{file}", &file);
    assert!(
        err.lines().any(|l| l.starts_with(&want)),
        "{file}: expected a line starting with\n  {want}\ngot:\n{err}"
    );
    // The offending line is quoted, with a caret under it (unless the error
    // is about the whole file).
    if !want.contains(":1:1: ") {
        assert!(
            err.contains(" | ") && err.contains('^'),
            "{file}: no source line and caret:\n{err}"
        );
    }
    assert!(stdout(&out).is_empty(), "{file}: errors go to stderr");
}

/// `backstop keys` and the console on a bad keymap.
fn invalid_keymap(name: &str) {
    let file = format!("tests/invalid_keymaps/{name}.toml");
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    let target = home.config_dir().join("keymap.toml");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(&file), &target).unwrap();
    let out = run({
        let mut c = home.command();
        c.arg("keys");
        c
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{file}: exit code\n{err}");
    let want = expectation(&file).replace("{file}", &target.display().to_string());
    assert!(
        err.lines().any(|l| l.starts_with(&want)),
        "{file}: expected\n  {want}\ngot:\n{err}"
    );
    // The console refuses to start on it too, before touching the terminal.
    let out = run({
        let mut c = home.command();
        c.arg("drill");
        c
    });
    assert_eq!(
        out.status.code(),
        Some(2),
        "{file}: drill must refuse a bad keymap"
    );
}

macro_rules! fixtures {
    ($dir:literal, $check:ident, $all:ident: $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check(stringify!($name));
            }
        )*
        pub const $all: &[&str] = &[$(stringify!($name)),*];
    };
}

mod configs {
    use super::*;
    fixtures!("tests/invalid_configs", invalid_config, ALL:
        alarms_without_names,
        aws_bad_region,
        aws_poll_too_often,
        bad_duration,
        bad_header_name,
        bad_service_name,
        bad_url,
        bad_url_with_password,
        bare_key_non_ascii,
        bare_number_duration,
        deploy_ecs_without_cluster,
        duplicate_service,
        empty_endpoints,
        empty_service,
        escalation_bad_url,
        escalation_empty_chain,
        escalation_without_routing_key,
        interval_a_year,
        interval_too_long,
        journal_bad_table_name,
        journal_dynamodb_without_table,
        journal_keys_in_file,
        journal_unknown_backend,
        lease_expiry_too_short,
        metrics_without_load_balancer,
        missing_env_var,
        missing_url,
        no_services,
        notify_url_in_file,
        rollback_approvals_three,
        rollback_unknown_mode,
        rollback_unknown_runbook,
        rollback_unknown_stable,
        rule_alarm_without_name,
        rule_compare_effect_in_the_wrong_unit,
        rule_key_of_other_kind,
        rule_threshold_without_percent,
        rule_unknown_kind,
        rule_window_too_long,
        runbook_default_without_providers,
        service_name_non_ascii,
        smoke_timeout_too_long,
        smoke_two_body_tests,
        smoke_without_path_or_command,
        syntax_error,
        timeout_over_interval,
        traffic_alb_bad_listener,
        traffic_key_of_other_provider,
        traffic_nginx_missing_upstream_file,
        traffic_sandbox_outside_drill,
        traffic_set_without_placeholders,
        traffic_unknown_provider,
        traffic_unknown_server_env,
        two_services_one_ecs_service,
        two_services_one_nginx_upstream,
        unknown_key,
        unknown_keys_everywhere,
        unknown_role,
        unknown_top_level,
        unsupported_scheme,
        wrong_type,
    );
}

mod keymaps {
    use super::*;
    fixtures!("tests/invalid_keymaps", invalid_keymap, ALL:
        bad_key,
        bad_modifier,
        duplicate_binding,
        not_a_string,
        unknown_action,
        unknown_section,
    );
}

#[test]
fn every_fixture_has_a_test() {
    for (dir, listed) in [
        ("tests/invalid_configs", configs::ALL),
        ("tests/invalid_keymaps", keymaps::ALL),
    ] {
        let mut files: Vec<String> =
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .filter_map(|e| {
                    let name = e.unwrap().file_name().into_string().unwrap();
                    name.strip_suffix(".toml").map(str::to_string)
                })
                .collect();
        files.sort();
        let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(
            files, listed,
            "{dir}: add the new fixture to tests/invalid_files.rs"
        );
    }
}
