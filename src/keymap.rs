//! Key bindings: the default `keymap.toml` embedded in the binary, the user's
//! file merged over it key by key. Every mistake in a keymap file is an error
//! naming file, line and column; nothing falls back silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use toml::de::{DeTable, DeValue};

use crate::config::{Diagnostic, Diagnostics};
use crate::core::action::Action;

/// The default bindings, shipped as `keymap.toml` at the top of the repository.
pub const DEFAULT: &str = include_str!("../keymap.toml");

/// A key without modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

/// A key with its modifiers. Shift is folded into the character (`J`, `?`),
/// so `shift-j` and `J` are the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }
}

impl FromStr for Key {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        // A lone "-" is the minus key, not an empty modifier.
        while rest.len() > 1 {
            let Some((m, tail)) = rest.split_once('-') else {
                break;
            };
            if tail.is_empty() {
                break;
            }
            match m.to_ascii_lowercase().as_str() {
                "ctrl" | "c" => ctrl = true,
                "alt" | "a" | "m" | "meta" => alt = true,
                "shift" | "s" => shift = true,
                _ => {
                    return Err(format!(
                        "unknown modifier `{m}` in key {s:?} (use ctrl-, alt- or shift-)"
                    ));
                }
            }
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                let c = if shift { c.to_ascii_uppercase() } else { c };
                shift = false;
                // Ctrl combinations arrive lower-case from terminals.
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if shift => {
                    shift = false;
                    KeyCode::BackTab
                }
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => return Err(format!("unknown key {s:?}")),
            },
        };
        if shift {
            return Err(format!("shift- only applies to letters and tab, not {s:?}"));
        }
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::F(n) => write!(f, "f{n}"),
        }
    }
}

impl Key {
    /// Compact form for the key line at the bottom of the screen.
    pub fn short(&self) -> String {
        let base = match self.code {
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Enter => "⏎".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "S-Tab".to_string(),
            _ => return self.to_string(),
        };
        if self.ctrl || self.alt {
            self.to_string()
        } else {
            base
        }
    }
}

/// The bindings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Key, Action>,
}

impl Keymap {
    /// The embedded defaults alone.
    pub fn defaults() -> Self {
        match parse_file(DEFAULT, "keymap.toml (built in)") {
            Ok(entries) => Keymap {
                bindings: entries
                    .into_iter()
                    .filter_map(|(k, a)| Some((k, a?)))
                    .collect(),
            },
            // The default file is tested to parse; an error here is a build defect.
            Err(e) => panic!("the built-in keymap.toml is invalid:\n{e}"),
        }
    }

    /// Defaults, then the user's file (if it exists) merged over them.
    pub fn load(user_file: &Path) -> Result<Self, Diagnostics> {
        let mut map = Self::defaults();
        if !user_file.exists() {
            return Ok(map);
        }
        let name = user_file.display().to_string();
        let text = crate::config::diagnostic::read_source(user_file, "keymap")?;
        map.merge(&text, &name)?;
        Ok(map)
    }

    /// Merge a user keymap over this one, key by key (`"none"` unbinds).
    pub fn merge(&mut self, text: &str, file: &str) -> Result<(), Diagnostics> {
        for (key, action) in parse_file(text, file)? {
            match action {
                Some(a) => self.bindings.insert(key, a),
                None => self.bindings.remove(&key),
            };
        }
        Ok(())
    }

    /// The action for a key press. Ctrl-C always quits.
    pub fn action(&self, key: Key) -> Option<Action> {
        if key == Key::ctrl('c') {
            return Some(Action::Quit);
        }
        self.bindings.get(&key).copied()
    }

    /// Keys bound to an action, in a stable order: named keys such as arrows
    /// first, then plain characters, then chords.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| *k)
            .collect();
        keys.sort_by_key(|k| (matches!(k.code, KeyCode::Char(_)), k.ctrl || k.alt, *k));
        keys
    }

    /// The bindings as `backstop keys` prints them.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut group = "";
        for a in Action::ALL {
            if a.group() != group {
                group = a.group();
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(group);
                out.push('\n');
            }
            let keys: Vec<String> = self.keys_for(*a).iter().map(Key::to_string).collect();
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.join(", ")
            };
            out.push_str(&format!(
                "  {:<14} {:<18} {}\n",
                a.name(),
                keys,
                a.description()
            ));
        }
        out
    }
}

/// Parse one keymap file into `(key, action)` pairs; `None` means unbind.
fn parse_file(text: &str, file: &str) -> Result<Vec<(Key, Option<Action>)>, Diagnostics> {
    let doc =
        DeTable::parse(text).map_err(|e| crate::config::diagnostic::from_toml(file, text, &e))?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    // Where each key was first bound, to report duplicates written two ways.
    let mut seen: BTreeMap<Key, (usize, String)> = BTreeMap::new();
    for (section, body) in doc.get_ref() {
        if section.get_ref() != "global" {
            errors.push(Diagnostic::at(
                file,
                text,
                section.span(),
                format!(
                    "unknown section `{}`: key bindings go under [global]",
                    section.get_ref()
                ),
            ));
            continue;
        }
        let DeValue::Table(table) = body.get_ref() else {
            errors.push(Diagnostic::at(
                file,
                text,
                body.span(),
                "[global] must be a table of key = \"action\"",
            ));
            continue;
        };
        for (key_name, value) in table {
            let key = match key_name.get_ref().parse::<Key>() {
                Ok(k) => k,
                Err(msg) => {
                    errors.push(Diagnostic::at(file, text, key_name.span(), msg));
                    continue;
                }
            };
            let line = Diagnostic::at(file, text, key_name.span(), "").line;
            if let Some((first_line, first_name)) = seen.get(&key) {
                errors.push(Diagnostic::at(
                    file,
                    text,
                    key_name.span(),
                    format!(
                        "duplicate binding: {:?} is the same key as {first_name:?} on line {first_line}",
                        key_name.get_ref()
                    ),
                ));
                continue;
            }
            seen.insert(key, (line, key_name.get_ref().to_string()));
            let DeValue::String(name) = value.get_ref() else {
                errors.push(Diagnostic::at(
                    file,
                    text,
                    value.span(),
                    format!(
                        "the action for {:?} must be a string such as \"quit\"",
                        key_name.get_ref()
                    ),
                ));
                continue;
            };
            if name == "none" {
                out.push((key, None));
                continue;
            }
            match name.parse::<Action>() {
                Ok(a) => out.push((key, Some(a))),
                Err(e) => errors.push(Diagnostic::at(file, text, value.span(), e.to_string())),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headlines(text: &str) -> Vec<String> {
        let mut k = Keymap::defaults();
        match k.merge(text, "user.toml") {
            Ok(()) => panic!("expected an error"),
            Err(d) => d.0.iter().map(Diagnostic::headline).collect(),
        }
    }

    #[test]
    fn defaults_bind_every_action() {
        let k = Keymap::defaults();
        for a in Action::ALL {
            assert!(!k.keys_for(*a).is_empty(), "{a} is unbound");
        }
        assert_eq!(k.action(Key::plain(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(
            k.action(Key::plain(KeyCode::Down)),
            Some(Action::SelectNext)
        );
        assert_eq!(
            k.action(Key::plain(KeyCode::BackTab)),
            Some(Action::PrevPane)
        );
        assert_eq!(k.action(Key::ctrl('c')), Some(Action::Quit));
    }

    #[test]
    fn user_file_merges_per_key() {
        let mut k = Keymap::defaults();
        k.merge(
            "[global]\nq = \"none\"\nx = \"quit\"\n\"ctrl-r\" = \"clear-faults\"\n",
            "u",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.action(Key::plain(KeyCode::Char('q'))), None);
        assert_eq!(k.action(Key::plain(KeyCode::Char('x'))), Some(Action::Quit));
        assert_eq!(k.action(Key::ctrl('r')), Some(Action::ClearFaults));
        // Untouched keys keep their defaults.
        assert_eq!(
            k.action(Key::plain(KeyCode::Char('j'))),
            Some(Action::SelectNext)
        );
    }

    #[test]
    fn key_names() {
        assert_eq!("shift-j".parse::<Key>(), "J".parse::<Key>());
        assert_eq!("shift-tab".parse::<Key>(), Ok(Key::plain(KeyCode::BackTab)));
        assert_eq!("ctrl-C".parse::<Key>(), Ok(Key::ctrl('c')));
        assert_eq!("-".parse::<Key>(), Ok(Key::plain(KeyCode::Char('-'))));
        assert_eq!("f5".parse::<Key>(), Ok(Key::plain(KeyCode::F(5))));
        assert!("f13".parse::<Key>().is_err());
        assert!("hyper-x".parse::<Key>().is_err());
        assert!("shift-up".parse::<Key>().is_err());
        for k in [
            "q",
            "?",
            "ctrl-c",
            "alt-x",
            "shift-tab",
            "pageup",
            "space",
            "f12",
        ] {
            let key: Key = k.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(key.to_string().parse::<Key>(), Ok(key), "{k}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            headlines("[global]\nq = \"quitt\"\n"),
            ["user.toml:2:5: unknown action `quitt` (did you mean `quit`?)"]
        );
        assert_eq!(
            headlines("[global]\n\"hyper-q\" = \"quit\"\n"),
            [
                "user.toml:2:1: unknown modifier `hyper` in key \"hyper-q\" (use ctrl-, alt- or shift-)"
            ]
        );
        assert_eq!(
            headlines("[global]\nJ = \"quit\"\n\"shift-j\" = \"help\"\n"),
            ["user.toml:3:1: duplicate binding: \"shift-j\" is the same key as \"J\" on line 2"]
        );
        assert_eq!(
            headlines("[global]\nq = 1\n"),
            ["user.toml:2:5: the action for \"q\" must be a string such as \"quit\""]
        );
        assert_eq!(
            headlines("[normal]\nq = \"quit\"\n"),
            ["user.toml:1:2: unknown section `normal`: key bindings go under [global]"]
        );
        // The same key twice is already a TOML error, with its place.
        assert_eq!(
            headlines("[global]\nq = \"quit\"\nq = \"help\"\n"),
            ["user.toml:3:1: duplicate key: `q` is defined twice (first on line 2)"]
        );
    }
}
