//! backstop's pure core: the model, the health classifier, the rules and the
//! decision, runbooks and checklists, drill scoring, and `update`. No I/O, no
//! clock, no tokio, terminal, HTTP, AWS or SQLite — this crate depends on
//! none of them, so that is a compile error here, not a review comment.
//! Everything the console decides is decided here, from values, and
//! unit-tested here (`cargo test -p backstop-core`, without the AWS SDK).

// Outside tests, `unwrap` is denied (the workspace's lints); a failing test may panic.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod action;
pub mod argv;
pub mod command;
pub mod comms;
pub mod compare;
pub mod decision;
pub mod deploy;
pub mod drill;
pub mod escalation;
pub mod events;
pub mod filter;
pub mod health;
pub mod metrics;
pub mod migration;
pub mod model;
pub mod msg;
pub mod rng;
pub mod roles;
pub mod rollback_type;
pub mod room;
pub mod rules;
pub mod runbook;
pub mod severity;
pub mod status_page;
pub mod time;
pub mod traffic;
pub mod trend;
pub mod triage;
pub mod update;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
