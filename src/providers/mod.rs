//! Backends that change the world, behind traits so a drill, nginx, a
//! platform CLI and AWS look the same to the executor.

pub mod command;
pub mod deploy;
pub mod ecs;
pub mod escalation;
pub mod notify;
pub mod smoke;
pub mod status_page;
pub mod traffic;

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so providers can sit behind `dyn` traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The HTTP client of an incident service's API (a status page, a
/// pager): 10 s for a whole request, so an unanswering service is a failed
/// step, never a step that hangs.
pub(crate) fn api_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
}

/// Why a request was not answered, never in reqwest's own words: they
/// contain the URL, and a webhook's URL or a key in its path is secret.
pub(crate) fn failed_to_send(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}

/// The lease a change is made under, looked at again right before each
/// write a provider makes (and between the commands of one change): a
/// driver stopped between its intent and the call — Ctrl-Z, a laptop
/// asleep — and taken over meanwhile writes nothing more when it resumes.
#[derive(Clone, Default)]
pub struct LeaseCheck(Option<std::sync::Arc<Check>>);

/// What `LeaseCheck::holds` asks: `Err` says who holds the lease now.
type Check = dyn Fn() -> BoxFuture<'static, Result<(), LeaseLost>> + Send + Sync;

/// Why a change stops before a provider's write: the lease it was made
/// under is not this backstop's any more, or cannot be looked at (then
/// nothing is written either: a change is made under a lease known held).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LeaseLost {
    #[error(
        "the lease of {service} (token {token}) is no longer this backstop's: {holder} drives it now (lease {now})"
    )]
    TakenOver {
        service: String,
        token: i64,
        holder: String,
        now: i64,
    },
    /// Given up (a handover, or lost and not yet taken by anyone).
    #[error(
        "the lease of {service} (token {token}) is no longer this backstop's: nobody holds it now"
    )]
    Released { service: String, token: i64 },
    #[error("the lease of {service} cannot be read ({source})")]
    Unreadable {
        service: String,
        source: crate::room::Error,
    },
}

impl LeaseCheck {
    /// No lease to look at (no journal, a drill's own sandbox).
    pub fn none() -> Self {
        LeaseCheck(None)
    }

    pub fn new(
        check: impl Fn() -> BoxFuture<'static, Result<(), LeaseLost>> + Send + Sync + 'static,
    ) -> Self {
        LeaseCheck(Some(std::sync::Arc::new(check)))
    }

    /// Whether the lease is still this backstop's, now.
    pub async fn holds(&self) -> Result<(), LeaseLost> {
        match &self.0 {
            Some(check) => check().await,
            None => Ok(()),
        }
    }
}
