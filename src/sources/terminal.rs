//! Terminal input: key presses and resizes, read on a thread of their own so
//! the render loop never blocks on the terminal.

use ratatui::crossterm::event::{
    self, Event, KeyCode as CtCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use tokio::sync::mpsc;

use crate::keymap::{Key, KeyCode};

/// Read terminal events until the receiver goes away or the terminal does.
pub fn spawn_reader(tx: mpsc::Sender<Event>) {
    std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || {
            while let Ok(ev) = event::read() {
                if tx.blocking_send(ev).is_err() {
                    break;
                }
            }
        })
        .map(drop)
        .unwrap_or_else(|e| tracing::error!("cannot start the terminal input thread: {e}"));
}

/// The keymap's view of a key press; `None` for releases and keys it has no name for.
pub fn key_of(ev: &KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let code = match ev.code {
        CtCode::Char(c) => KeyCode::Char(if ev.modifiers.contains(KeyModifiers::CONTROL) {
            c.to_ascii_lowercase()
        } else {
            c
        }),
        CtCode::Up => KeyCode::Up,
        CtCode::Down => KeyCode::Down,
        CtCode::Left => KeyCode::Left,
        CtCode::Right => KeyCode::Right,
        CtCode::Enter => KeyCode::Enter,
        CtCode::Esc => KeyCode::Esc,
        CtCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
        CtCode::Tab => KeyCode::Tab,
        CtCode::BackTab => KeyCode::BackTab,
        CtCode::Backspace => KeyCode::Backspace,
        CtCode::Delete => KeyCode::Delete,
        CtCode::Home => KeyCode::Home,
        CtCode::End => KeyCode::End,
        CtCode::PageUp => KeyCode::PageUp,
        CtCode::PageDown => KeyCode::PageDown,
        CtCode::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        alt: ev.modifiers.contains(KeyModifiers::ALT),
    })
}

/// A key as line editing sees it, while the operator types a reason or a
/// note. Ctrl-C is not text: it still quits.
pub fn text_key_of(ev: &KeyEvent) -> Option<crate::core::msg::TextKey> {
    use crate::core::msg::TextKey;
    if ev.kind == KeyEventKind::Release
        || ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    Some(match ev.code {
        CtCode::Char(c) => TextKey::Char(c),
        CtCode::Backspace => TextKey::Backspace,
        CtCode::Enter => TextKey::Submit,
        CtCode::Esc => TextKey::Cancel,
        CtCode::Tab => TextKey::Complete,
        CtCode::Up => TextKey::Older,
        CtCode::Down => TextKey::Newer,
        _ => return None,
    })
}

/// Ctrl-C quits in every mode, typing included.
pub fn is_ctrl_c(ev: &KeyEvent) -> bool {
    ev.kind != KeyEventKind::Release
        && ev.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(ev.code, CtCode::Char('c' | 'C'))
}
