//! A runbook file (`runbooks/*.toml`): parse returns the runbook or
//! diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = backstop::config::runbook::parse(src, "runbook.toml");
    }
});
