//! What the tests of this crate (and the binary's, with the `testkit`
//! feature) build their worlds from, without the binary's configuration code.

use crate::runbook::Runbook;

/// The default runbook as `assets/runbooks/default.toml` parses, kept here as
/// JSON; a test of the binary (`config::runbook`) fails when the two differ.
pub const DEFAULT_RUNBOOK_JSON: &str = include_str!("testkit/default-runbook.json");

/// The built-in default runbook.
pub fn default_runbook() -> Runbook {
    serde_json::from_str(DEFAULT_RUNBOOK_JSON)
        .unwrap_or_else(|e| panic!("testkit/default-runbook.json does not read as a runbook: {e}"))
}
