//! Entering and leaving the terminal. Whatever ends the program — `q`, a
//! panic, SIGTERM, SIGHUP from a dropped SSH session — the terminal is put
//! back: raw mode off, main screen back, cursor shown.

use std::io::{self, Stdout};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct Guard {
    pub terminal: Term,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Take over the terminal: raw mode, alternate screen, hidden cursor, and
/// bracketed paste, so pasted text arrives as text, never as keys (a pasted
/// line with `y` or `r` in it must not act).
pub fn enter() -> io::Result<Guard> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, Hide, EnableBracketedPaste) {
        restore();
        return Err(e);
    }
    let terminal = Terminal::new(CrosstermBackend::new(out))?;
    Ok(Guard { terminal })
}

/// Give the terminal back. Safe to call more than once, and when the terminal
/// is gone (errors are ignored: there is nobody left to tell).
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
