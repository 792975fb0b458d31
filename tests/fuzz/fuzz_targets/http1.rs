//! The probes' own HTTP/1.1 answer parsing (`sources::http1`): any bytes a
//! server sends, cut into reads anywhere, give an answer or a failure,
//! never a panic or a hang.
//!
//! Layout of an input: one byte that says how many bytes each read hands
//! over (1 to 64), one that says the body's cap (times 16 bytes, at least
//! 1), then what the server sent.
#![no_main]

use std::sync::OnceLock;

use backstop::sources::http1::{Pieces, read_answer};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let [step, cap, answer @ ..] = data else {
        return;
    };
    let step = usize::from(*step % 64) + 1;
    let cap = usize::from(*cap).max(1) * 16;
    let read = runtime().block_on(read_answer(Pieces::new(answer, step), cap));
    if let Ok(a) = read {
        assert!(a.body.len() <= cap, "the cap holds");
    }
});
