//! `keymap.toml`: a user's keymap merged over the defaults, as `Keymap::load`
//! does after reading the file. Errors are diagnostics, never a panic; a
//! merge that succeeds must still describe itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut map = backstop::keymap::Keymap::defaults();
        if map.merge(text, "keymap.toml").is_ok() {
            let _ = map.describe();
        }
    }
});
