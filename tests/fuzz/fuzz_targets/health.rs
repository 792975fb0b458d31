//! The health classifier: any status code, content type and body (as the
//! prober hands them over, possibly truncated) gives a report, never a panic.
//!
//! Layout of an input: two bytes of status code (big endian), one flags byte
//! (bit 0: truncated; bits 1-2: no mapping / a mapping whose pointer is read
//! from the input / a fixed mapping), then the content type up to the first
//! `\n`, then (with an input mapping) the JSON pointer up to the next `\n`,
//! then the body. The body goes in as bytes, and also as its lossy text.
#![no_main]

use backstop_core::health::{HttpAnswer, StatusMapping, classify};
use libfuzzer_sys::fuzz_target;

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let flags = data[2];
    let (ct, rest) = split_line(&data[3..]);
    let ct = String::from_utf8_lossy(ct);
    let content_type = (!ct.is_empty()).then_some(ct.as_ref());
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (mapping, body) = match (flags >> 1) & 3 {
        1 => {
            let (field, body) = split_line(rest);
            let m = StatusMapping {
                field: String::from_utf8_lossy(field).into_owned(),
                ok: words(&["up", "green", ""]),
                degraded: words(&["warn", "yellow"]),
                critical: words(&["down", "red"]),
                unreachable: words(&["gone"]),
            };
            (Some(m), body)
        }
        2 => {
            let m = StatusMapping {
                field: "/health/state".into(),
                ok: words(&["up"]),
                degraded: words(&["warn"]),
                critical: words(&["down"]),
                unreachable: Vec::new(),
            };
            (Some(m), rest)
        }
        _ => (None, rest),
    };
    let truncated = flags & 1 == 1;
    let answer = HttpAnswer { status, content_type, body, truncated };
    let _ = classify(&answer, mapping.as_ref());
    let lossy = String::from_utf8_lossy(body);
    let answer = HttpAnswer { body: lossy.as_bytes(), ..answer };
    let _ = classify(&answer, mapping.as_ref());
});
