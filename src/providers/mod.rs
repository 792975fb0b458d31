//! Backends that change the world, behind traits so a drill, nginx, a
//! platform CLI and AWS look the same to the executor.

pub mod command;
pub mod deploy;
pub mod ecs;
pub mod notify;
pub mod smoke;
pub mod traffic;

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so providers can sit behind `dyn` traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
