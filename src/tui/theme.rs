//! Styles. Meaning never depends on colour alone: badges carry words (OK,
//! DEGR, CRIT, DOWN) and focus is shown by a heavier border, so `NO_COLOR`
//! (https://no-color.org) loses nothing.

use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::BorderType;

use crate::core::events::Level;
use crate::core::health::HealthStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `$NO_COLOR` is set to something non-empty.
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub const fn plain() -> Self {
        Theme { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn status(&self, s: Option<HealthStatus>) -> Style {
        match s {
            None => self.dim(),
            Some(HealthStatus::Ok) => self.fg(Color::Green),
            Some(HealthStatus::Degraded) => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Some(HealthStatus::Critical | HealthStatus::Unreachable) => {
                self.fg(Color::Red).add_modifier(Modifier::BOLD)
            }
        }
    }

    pub fn level(&self, l: Level) -> Style {
        match l {
            Level::Info => Style::new(),
            Level::Good => self.fg(Color::Green),
            Level::Warn => self.fg(Color::Yellow),
            Level::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => self.dim(),
        }
    }

    pub fn border_type(&self, focused: bool) -> BorderType {
        if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The context's badge in the header: production stands out (red unless
    /// configured), others quiet; without colour, production is reversed
    /// and says PRODUCTION in words.
    pub fn context(&self, production: bool, color: Option<&str>) -> Style {
        if !self.color {
            return if production {
                Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::new().add_modifier(Modifier::BOLD)
            };
        }
        let named = color.and_then(|c| c.parse::<Color>().ok());
        match (production, named) {
            (_, Some(c)) => Style::new()
                .fg(Color::Black)
                .bg(c)
                .add_modifier(Modifier::BOLD),
            (true, None) => Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            (false, None) => Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        }
    }

    pub fn drill(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
}
