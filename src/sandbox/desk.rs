//! The drill's desk: where a team drill's messages and public status page
//! go. A team rehearses talking as well as switching — the update every
//! five minutes, the status page moving investigating → monitoring →
//! resolved — and nothing real is told: the desk is a loopback server
//! that keeps what it received, for the team (and the tests) to read back
//! at `GET /received`.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::config::smoke::{NotifierConfig, NotifierKind};
use crate::config::status_page::{StatusPageConfig, StatusPageKind};
use crate::config::{Config, Secret};

type Got = Arc<Mutex<Vec<Value>>>;

/// The desk, serving while it lives.
pub struct Desk {
    url: String,
    closed: watch::Sender<bool>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.closed.send(true);
    }
}

/// How the desk is named where a URL would be (the variable is never read).
const NAMED: &str = "BACKSTOP_DRILL_DESK";

fn keep(got: &Got, to: &str, body: Value) {
    got.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(json!({ "to": to, "body": body }));
}

impl Desk {
    /// Serve on a loopback port (inside a tokio runtime).
    pub fn start() -> Result<Desk> {
        let listener = super::server::bind(0).context("the drill's desk: cannot bind a port")?;
        let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let got: Got = Arc::default();
        let app = axum::Router::new()
            .route(
                "/chat",
                post(|State(g): State<Got>, Json(body): Json<Value>| async move {
                    keep(&g, "chat", body);
                    "ok"
                }),
            )
            .route(
                "/status",
                post(|State(g): State<Got>, Json(body): Json<Value>| async move {
                    keep(&g, "status", body);
                    Json(json!({ "ok": true }))
                }),
            )
            .route(
                "/received",
                get(|State(g): State<Got>| async move {
                    let all = g
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone();
                    Json(Value::Array(all))
                }),
            )
            .with_state(got);
        let (closed, closed_rx) = watch::channel(false);
        tokio::spawn(super::server::serve(listener, app, closed_rx));
        Ok(Desk { url, closed })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Point `config`'s messages and status page at this desk.
    pub fn serve(&self, config: &mut Config) {
        point(config, &self.url);
    }
}

/// `config`'s team channel and public status page, at the desk `url`.
pub fn point(config: &mut Config, url: &str) {
    config.notifiers = vec![NotifierConfig {
        kind: NotifierKind::Webhook,
        url_env: NAMED.into(),
        url: Some(Secret::new(format!("{url}/chat"))),
    }];
    config.status_page = Some(StatusPageConfig {
        kind: StatusPageKind::Webhook {
            url_env: NAMED.into(),
            url: Some(Secret::new(format!("{url}/status"))),
        },
        names: config
            .services
            .iter()
            .map(|s| (s.name.clone(), s.name.clone()))
            .collect(),
    });
}
