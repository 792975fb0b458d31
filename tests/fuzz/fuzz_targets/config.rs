//! `backstop.toml`: parse and validate must return a value (Ok or
//! diagnostics) for any text, never panic. Environment lookups answer
//! nothing, so `${VAR}` takes its error path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = backstop::config::parse(src, "backstop.toml", &|_| None);
    }
});
