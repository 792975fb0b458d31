//! The pure core: model, health classifier, and `update`. No I/O, no clock,
//! no tokio, terminal, HTTP, AWS or SQLite: everything the console decides is
//! decided here, from values, and unit-tested here.

pub mod action;
pub mod argv;
pub mod decision;
pub mod deploy;
pub mod drill;
pub mod events;
pub mod health;
pub mod metrics;
pub mod model;
pub mod msg;
pub mod rules;
pub mod runbook;
pub mod time;
pub mod traffic;
pub mod update;
