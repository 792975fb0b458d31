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

use crate::clock::now;
use crate::config::Config;
use crate::contexts::{Context, Contexts};
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::{Origin, State};
use crate::core::msg::Msg;
use crate::engine::{Engine, Storage};
use crate::keymap::Keymap;
use crate::sandbox::Sandbox;
use crate::sources;
use crate::tui::{self, Theme, View};

/// At most this many frames a second.
const FRAME: Duration = Duration::from_millis(33);

/// Run the console on the real terminal until the operator quits or a signal arrives.
pub async fn run_console(
    config: Config,
    origin: Origin,
    keymap: Keymap,
    theme: Theme,
    sandbox: Option<Arc<Sandbox>>,
    drill: Option<(
        &crate::core::drill::Scenario,
        &crate::sandbox::drill::DrillOptions,
    )>,
    storage: &Storage,
) -> Result<()> {
    let mut engine = Engine::start(&config, origin, sandbox.clone(), storage)?;
    if let (Some((scenario, o)), Some(sb)) = (drill, sandbox) {
        engine.begin_drill(sb, scenario, o)?;
    }
    let mut guard = tui::terminal::enter()?;
    let (key_tx, mut key_rx) = mpsc::channel(64);
    sources::terminal::spawn_reader(key_tx);
    let view = View {
        keymap: &keymap,
        theme,
    };
    let result = loop {
        let result = event_loop(
            &mut guard.terminal,
            &mut engine,
            &view,
            &mut key_rx,
            shutdown_signal(),
        )
        .await;
        // No contexts here (a drill): core refuses `:context` before this.
        if engine.state.switch_context.take().is_some() {
            continue;
        }
        break result;
    };
    // The terminal back first: putting a real load balancer back as the
    // drill found it can take seconds, and the screen would look frozen.
    drop(guard);
    if let Some(note) = engine.finish_drill().await {
        crate::headless::out::err_line(format_args!("backstop drill: {note}"));
    }
    engine.leave().await;
    drop(engine);
    tracing::info!("console stopped");
    result
}

/// Reads a context's configuration; file I/O, so it runs off the loop.
pub type Loader = Arc<dyn Fn(&Context) -> Result<Config, String> + Send + Sync>;

/// The contexts a console on a configuration can switch between (`:context`).
pub struct Switching {
    pub contexts: Contexts,
    /// The context open now, if the configuration is one.
    pub current: Option<Context>,
    pub load: Loader,
}

/// The console on a configuration, switching contexts in place on
/// `:context NAME`: the new configuration is read and checked first (its
/// errors are a line in the event log, and the console stays where it
/// is), then the engine on the old one leaves and one on the new starts.
pub async fn run_console_in_contexts(
    config: Config,
    keymap: Keymap,
    theme: Theme,
    storage: &Storage,
    mut switching: Switching,
) -> Result<()> {
    let origin = Origin::Config(config.file.clone());
    let mut engine = Engine::start(&config, origin, None, storage)?;
    // Where the journal is was settled at start: a context that keeps it
    // elsewhere (another DynamoDB table, or a table instead of this host's
    // file) is started on its own, never switched into on this journal.
    let journal = config.journal.clone();
    show_contexts(&mut engine.state, &switching);
    let mut guard = tui::terminal::enter()?;
    let (key_tx, mut key_rx) = mpsc::channel(64);
    sources::terminal::spawn_reader(key_tx);
    let view = View {
        keymap: &keymap,
        theme,
    };
    let result = loop {
        let result = event_loop(
            &mut guard.terminal,
            &mut engine,
            &view,
            &mut key_rx,
            shutdown_signal(),
        )
        .await;
        let Some(name) = engine.state.switch_context.take() else {
            break result;
        };
        let next = match switching.contexts.get(&name) {
            Ok(c) => c.clone(),
            Err(e) => {
                say(&mut engine.state, Level::Warn, format!(":context: {e}"));
                continue;
            }
        };
        let load = switching.load.clone();
        let wanted = next.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&wanted))
            .await
            .unwrap_or_else(|e| Err(format!("reading it failed: {e}")));
        let config = match loaded {
            Ok(c) if c.journal != journal => {
                let text = format!(
                    "context {name} keeps its journal elsewhere ([journal] in {}): start `backstop --context {name}` for it",
                    c.file
                );
                say(&mut engine.state, Level::Bad, text);
                continue;
            }
            Ok(c) => c,
            Err(e) => {
                let text = format!("context {name} not opened: {e}");
                say(&mut engine.state, Level::Bad, text);
                continue;
            }
        };
        crate::identity::learn_aws(config.aws_in_use()).await;
        let origin = Origin::Config(config.file.clone());
        // The person's command history is theirs, whatever the world.
        let history = std::mem::take(&mut engine.state.ui.history);
        engine.leave().await;
        drop(engine);
        engine = Engine::start(&config, origin, None, storage)?;
        engine.state.ui.history = history;
        switching.current = Some(next);
        show_contexts(&mut engine.state, &switching);
        say(
            &mut engine.state,
            Level::Info,
            format!("context {name}: {}", config.file),
        );
        tracing::info!("switched to context {name} ({})", config.file);
    };
    drop(guard);
    engine.leave().await;
    drop(engine);
    tracing::info!("console stopped");
    result
}

fn show_contexts(state: &mut State, switching: &Switching) {
    state.contexts = switching.contexts.names();
    state.context = switching.current.as_ref().map(Context::view);
}

fn say(state: &mut State, level: Level, text: String) {
    let now = state.now;
    state.events.push(now, "backstop", level, text);
}

/// Resolves on SIGTERM, SIGHUP (the SSH session dropped) or SIGINT.
pub async fn shutdown_signal() {
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
    engine: &mut Engine,
    view: &View<'_>,
    terminal_events: &mut mpsc::Receiver<Event>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut ticker = tokio::time::interval(engine.tick);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut screen = Screen::default();
    let mut dirty = true;
    // A key was handled: its frame goes out at once, not at the next
    // frame's slot (the frame rate bounds what the sources change).
    let mut answer = false;
    loop {
        let due = match screen.last_draw {
            Some(t) if !answer => t + FRAME,
            _ => Instant::now(),
        };
        tokio::select! {
            // In this order: a key, then its frame, never wait behind a
            // flood of probe answers (drained in slices of `DRAIN_BUDGET`).
            biased;
            () = &mut shutdown => break,
            Some(ev) = terminal_events.recv() => {
                let changed = on_terminal(engine, view, &mut screen, ev);
                answer |= changed;
                dirty |= changed;
            },
            () = tokio::time::sleep_until(due), if dirty => {
                screen.draw(terminal, &engine.state, view)?;
                dirty = false;
                answer = false;
            }
            _ = ticker.tick() => {
                engine.apply(Msg::Tick(now()));
                dirty = true;
            }
            Some(msg) = engine.rx.recv() => {
                engine.apply(msg);
                engine.drain();
                dirty = true;
            }
        }
        // Quit, or another context asked for (the console switches).
        if engine.state.quit || engine.state.switch_context.is_some() {
            break;
        }
    }
    Ok(())
}

/// A terminal event: a key (an action, or text while a line is typed), a
/// paste, a resize. Whether the screen may look different now.
fn on_terminal(engine: &mut Engine, view: &View<'_>, screen: &mut Screen, ev: Event) -> bool {
    let mut dirty = false;
    match ev {
        Event::Key(k) if engine.state.ui.input.is_some() => {
            if let Some(key) = sources::terminal::text_key_of(&k) {
                engine.apply(Msg::Text(key, now()));
                dirty = true;
            } else if sources::terminal::is_ctrl_c(&k) {
                engine.apply(Msg::Action(Action::Quit, now()));
            }
        }
        Event::Key(k) => {
            if let Some(action) =
                sources::terminal::key_of(&k).and_then(|key| view.keymap.action(key))
            {
                engine.apply(Msg::Action(action, now()));
                dirty = true;
            }
        }
        // Pasted text is text: into a prompt if one is open, never keys.
        Event::Paste(text) => {
            engine.apply(Msg::Text(crate::core::msg::TextKey::Paste(text), now()));
            dirty = true;
        }
        Event::Resize(..) => {
            screen.last = None;
            dirty = true;
        }
        _ => {}
    }
    dirty
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
