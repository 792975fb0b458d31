//! backstop: a terminal incident console for deployment verification and rollback.
//!
//! See `docs/ARCHITECTURE.md` for the shape: sources → core (`update`) →
//! executor, with the TUI rendering `&State`.

// Outside tests, `unwrap` is denied (Cargo.toml); a failing test may panic.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contexts;
/// The pure core lives in its own crate (`crates/backstop-core`); this name
/// keeps `crate::core::…` the path everywhere in the binary.
pub use backstop_core as core;
pub mod engine;
pub mod exec;
pub mod headless;
pub mod identity;
pub mod keymap;
pub mod logging;
pub mod paths;
pub mod poller;
pub mod providers;
pub mod report;
pub mod room;
pub mod sandbox;
pub mod sources;
pub mod tui;
