//! The terminal front end. It owns the terminal and renders `&State`; it
//! never changes state and never performs I/O while drawing.

pub mod layout;
pub mod panes;
pub mod terminal;
pub mod theme;

pub use layout::render;
pub use theme::Theme;

use crate::keymap::Keymap;

/// What rendering needs besides the state: the bindings (for hints and help)
/// and the styles.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub keymap: &'a Keymap,
    pub theme: Theme,
}
