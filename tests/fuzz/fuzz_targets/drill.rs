//! A drill scenario (`drills/*.toml`): parse returns the scenario or
//! diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = backstop::config::drill::parse(src, "drill.toml");
    }
});
