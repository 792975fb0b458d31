//! The sandbox's load balancer: a weighted HTTP router on 127.0.0.1 in front
//! of a service's environments. Requests are really proxied, so faults,
//! latency and errors reach the client as they would through nginx or an ALB.
//! The answer names the environment that served it (`x-backstop-env`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router as Axum;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::core::traffic::Weights;

/// The header that says which environment answered.
pub const ENV_HEADER: &str = "x-backstop-env";

/// Smooth weighted round-robin (the algorithm nginx uses): deterministic, and
/// every window of `sum(weights)` picks matches the weights exactly.
#[derive(Debug, Default)]
pub struct Wrr {
    weights: Vec<i64>,
    current: Vec<i64>,
}

impl Wrr {
    pub fn set(&mut self, weights: &[u32]) {
        self.weights = weights.iter().map(|w| i64::from(*w)).collect();
        self.current = vec![0; weights.len()];
    }

    pub fn pick(&mut self) -> Option<usize> {
        let total: i64 = self.weights.iter().sum();
        if total == 0 {
            return None;
        }
        for (c, w) in self.current.iter_mut().zip(&self.weights) {
            *c += w;
        }
        let best =
            (0..self.current.len()).max_by_key(|i| (self.current[*i], std::cmp::Reverse(*i)))?;
        self.current[best] -= total;
        Some(best)
    }
}

struct Shared {
    /// Environment name and base URL, in weight order.
    upstreams: Vec<(String, String)>,
    wrr: Mutex<Wrr>,
    weights: Mutex<Weights>,
    client: reqwest::Client,
}

/// A running router. Dropping it stops it.
pub struct Router {
    pub port: u16,
    shared: Arc<Shared>,
    _closed: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Router {
    /// Start on an ephemeral port with `weights` (percentages per environment).
    pub fn start(upstreams: Vec<(String, String)>, weights: &Weights) -> anyhow::Result<Self> {
        let listener = super::server::bind(0)?;
        let port = listener.local_addr()?.port();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(10))
            .build()?;
        let shared = Arc::new(Shared {
            upstreams,
            wrr: Mutex::new(Wrr::default()),
            weights: Mutex::new(Weights::default()),
            client,
        });
        let router = Axum::new().fallback(proxy).with_state(shared.clone());
        let (closed, closed_rx) = watch::channel(false);
        let task = tokio::spawn(super::server::serve(listener, router, closed_rx));
        let r = Router {
            port,
            shared,
            _closed: closed,
            task,
        };
        r.set_weights(weights);
        Ok(r)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn weights(&self) -> Weights {
        self.shared
            .weights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Route by `weights` from the next request on. Environments it does not
    /// name get nothing.
    pub fn set_weights(&self, weights: &Weights) {
        let per_upstream: Vec<u32> = self
            .shared
            .upstreams
            .iter()
            .map(|(env, _)| {
                weights
                    .0
                    .iter()
                    .find(|w| &w.env == env && w.server == crate::core::traffic::Server::Active)
                    .map_or(0, |w| w.weight)
            })
            .collect();
        self.shared
            .wrr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(&per_upstream);
        // Held as percentages, whatever units the caller used.
        let names = || self.shared.upstreams.iter().map(|(env, _)| env.as_str());
        let raw = Weights::from_percents(names().zip(per_upstream.iter().copied()));
        let normalised = Weights::from_percents(names().zip(raw.percents()));
        *self
            .shared
            .weights
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = normalised;
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let pick = shared
        .wrr
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pick();
    let Some(i) = pick else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no environment has any weight",
            None,
        );
    };
    let (env, base) = &shared.upstreams[i];
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    match shared.client.get(format!("{base}{path}")).send().await {
        Ok(resp) => {
            let status = resp.status();
            let body = resp.bytes().await.unwrap_or_default();
            Response::builder()
                .status(status)
                .header(ENV_HEADER, env.as_str())
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_else(|_| {
                    plain(StatusCode::BAD_GATEWAY, "bad upstream answer", Some(env))
                })
        }
        // As nginx would: the upstream did not answer.
        Err(e) if e.is_timeout() => {
            plain(StatusCode::GATEWAY_TIMEOUT, "upstream timed out", Some(env))
        }
        Err(_) => plain(StatusCode::BAD_GATEWAY, "upstream unreachable", Some(env)),
    }
}

fn plain(status: StatusCode, text: &str, env: Option<&str>) -> Response {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "text/plain");
    if let Some(env) = env {
        b = b.header(ENV_HEADER, env);
    }
    b.body(Body::from(text.to_string())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_wrr_is_exact_and_interleaved() {
        let mut w = Wrr::default();
        w.set(&[9, 1]);
        let picks: Vec<usize> = (0..10).filter_map(|_| w.pick()).collect();
        assert_eq!(picks.iter().filter(|p| **p == 1).count(), 1);
        w.set(&[5, 1, 1]);
        let picks: Vec<usize> = (0..7).filter_map(|_| w.pick()).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
        w.set(&[0, 0]);
        assert_eq!(w.pick(), None);
    }
}
