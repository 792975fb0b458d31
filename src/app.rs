//! The console's runtime: sources feed `Msg`s into core, core's `Effect`s go
//! to the executor, and the screen is redrawn from `&State` — after draining
//! what is pending, at most once per frame, and only if it would look different.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::Event;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::Config;
use crate::core::model::{EndpointState, EnvState, Origin, ServiceState, State};
use crate::core::msg::Msg;
use crate::core::time::Ts;
use crate::core::update::update;
use crate::exec::Executor;
use crate::keymap::Keymap;
use crate::sandbox::Sandbox;
use crate::sources::probe::Prober;
use crate::sources::{self, now};
use crate::tui::{self, Theme, View};

/// At most this many frames a second.
const FRAME: Duration = Duration::from_millis(33);
/// Messages applied before the loop looks at keys and the screen again.
const DRAIN_LIMIT: usize = 512;

/// The initial state for a configuration: every endpoint known, none probed.
pub fn initial_state(config: &Config, origin: Origin, at: Ts) -> State {
    let services = config
        .services
        .iter()
        .map(|s| ServiceState {
            name: s.name.clone(),
            envs: s
                .environments
                .iter()
                .map(|e| {
                    let endpoints = e
                        .endpoints
                        .iter()
                        .map(|ep| {
                            EndpointState::new(ep.display_url(), ep.role, ep.interval, ep.timeout)
                        })
                        .collect();
                    EnvState::new(e.name.clone(), endpoints)
                })
                .collect(),
        })
        .collect();
    State::new(config.title.clone(), origin, services, at)
}

/// Run the console on the real terminal until the operator quits or a signal arrives.
pub async fn run_console(
    config: Config,
    origin: Origin,
    keymap: Keymap,
    theme: Theme,
    sandbox: Option<Sandbox>,
) -> Result<()> {
    let (tx, mut rx) = mpsc::channel(1024);
    let prober = Prober::new()?;
    let probes = sources::spawn_probes(&config, &prober, &tx);
    let executor = Executor::new(sandbox.map(Arc::new), tx.clone());
    let mut state = initial_state(&config, origin, now());
    tracing::info!(
        "console started on {} ({} services)",
        config.file,
        config.services.len()
    );

    let mut guard = tui::terminal::enter()?;
    let (key_tx, mut key_rx) = mpsc::channel(64);
    sources::terminal::spawn_reader(key_tx);
    let view = View {
        keymap: &keymap,
        theme,
    };
    let result = event_loop(
        &mut guard.terminal,
        &mut state,
        &view,
        &mut rx,
        &mut key_rx,
        &executor,
        shutdown_signal(),
    )
    .await;
    for p in probes {
        p.abort();
    }
    drop(guard);
    tracing::info!("console stopped");
    result
}

/// Resolves on SIGTERM, SIGHUP (the SSH session dropped) or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for signals; only the quit key ends the console");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: leaving"),
        _ = hup.recv() => tracing::info!("SIGHUP (terminal gone): leaving"),
        _ = int.recv() => tracing::info!("SIGINT: leaving"),
    }
}

/// The loop itself, on any ratatui backend (tests use `TestBackend`).
pub async fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut State,
    view: &View<'_>,
    msgs: &mut mpsc::Receiver<Msg>,
    terminal_events: &mut mpsc::Receiver<Event>,
    executor: &Executor,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut screen = Screen::default();
    let mut dirty = true;
    loop {
        let due = screen.last_draw.map_or_else(Instant::now, |t| t + FRAME);
        tokio::select! {
            () = &mut shutdown => break,
            Some(ev) = terminal_events.recv() => match ev {
                Event::Key(k) => {
                    if let Some(action) = sources::terminal::key_of(&k).and_then(|key| view.keymap.action(key)) {
                        apply(state, Msg::Action(action, now()), executor);
                        dirty = true;
                    }
                }
                Event::Resize(..) => {
                    screen.last = None;
                    dirty = true;
                }
                _ => {}
            },
            Some(msg) = msgs.recv() => {
                apply(state, msg, executor);
                for _ in 0..DRAIN_LIMIT {
                    match msgs.try_recv() {
                        Ok(m) => apply(state, m, executor),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
            _ = ticker.tick() => {
                apply(state, Msg::Tick(now()), executor);
                dirty = true;
            }
            () = tokio::time::sleep_until(due), if dirty => {
                screen.draw(terminal, state, view)?;
                dirty = false;
            }
        }
        if state.quit {
            break;
        }
    }
    Ok(())
}

fn apply(state: &mut State, msg: Msg, executor: &Executor) {
    for effect in update(state, msg) {
        executor.run(effect);
    }
}

/// The last frame drawn, so an unchanged frame is not sent at all.
#[derive(Default)]
struct Screen {
    last: Option<Buffer>,
    last_draw: Option<Instant>,
}

impl Screen {
    fn draw<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        state: &State,
        view: &View<'_>,
    ) -> Result<()> {
        let size = terminal
            .size()
            .map_err(|e| anyhow::anyhow!("terminal size: {e}"))?;
        let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
        let mut buf = Buffer::empty(area);
        tui::render(state, view, area, &mut buf);
        self.last_draw = Some(Instant::now());
        if self.last.as_ref() == Some(&buf) {
            return Ok(());
        }
        terminal
            .draw(|f| {
                if f.area() == buf.area {
                    f.buffer_mut().clone_from(&buf);
                } else {
                    tui::render(state, view, f.area(), f.buffer_mut());
                }
            })
            .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        self.last = Some(buf);
        Ok(())
    }
}
