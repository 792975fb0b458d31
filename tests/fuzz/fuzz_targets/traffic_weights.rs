//! The command traffic provider's JSON (what the user's read command prints):
//! weights or an error string, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(stdout) = std::str::from_utf8(data) {
        let envs = ["blue".to_string(), "green".to_string()];
        let _ = backstop::providers::traffic::command::parse_weights(stdout, &envs);
        let _ = backstop::providers::traffic::command::parse_weights(stdout, &envs[..1]);
    }
});
