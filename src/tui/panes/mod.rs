//! One file per pane. Each renders a part of `&State` into a rectangle.

pub mod detail;
pub mod events;
pub mod header;
pub mod health;
pub mod help;
pub mod keybar;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Widget};

use super::View;

/// A pane's frame: heavy border when focused, the title in it.
pub fn frame(view: &View<'_>, title: &str, focused: bool, area: Rect, buf: &mut Buffer) -> Rect {
    let block = Block::bordered()
        .title(format!(" {title} "))
        .border_type(view.theme.border_type(focused))
        .border_style(view.theme.border(focused));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Cut `s` to `width` characters, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}
