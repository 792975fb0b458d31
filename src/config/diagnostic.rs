//! Errors in files the operator wrote, pointing at the place: `file:line:col: message`,
//! then the offending line and a caret under the bad part.

use std::fmt;
use std::ops::Range;

/// One error at one place in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
    /// The offending line, without its newline.
    pub source_line: String,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// An error at a byte span of `src`.
    pub fn at(file: &str, src: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = floor_char_boundary(src, span.start.min(src.len()));
        let end = floor_char_boundary(src, span.end.clamp(start, src.len()));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let col = src[line_start..start].chars().count() + 1;
        // The file's own line, but an error may end up in a CI log: a
        // password in a URL is masked (character for character, so the
        // caret stays under the bad part).
        let source_line =
            super::redact::mask_urls(src[line_start..line_end].trim_end_matches('\r'));
        let width = src[start..end.min(line_end).max(start)]
            .chars()
            .count()
            .max(1);
        Diagnostic {
            file: file.to_string(),
            line,
            col,
            message: super::redact_urls(&message.into()),
            source_line,
            width,
        }
    }

    /// An error about the whole file (it cannot be read, say).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: super::redact_urls(&message.into()),
            source_line: String::new(),
            width: 1,
        }
    }

    /// The first line alone: `file:line:col: message`.
    pub fn headline(&self) -> String {
        format!("{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            let pad: String = self
                .source_line
                .chars()
                .take(self.col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{:>gutter$} | {}", self.line, self.source_line)?;
            write!(f, "\n{:>gutter$} | {pad}{}", "", "^".repeat(self.width))?;
        }
        Ok(())
    }
}

/// Several diagnostics, reported together so one run of `config check` shows them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// A TOML syntax or type error, with the location toml gives.
pub fn from_toml(file: &str, src: &str, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return Diagnostic::whole_file(file, message);
    };
    let mut d = Diagnostic::at(file, src, span.clone(), message);
    if d.message == "duplicate key" {
        d.message = explain_duplicate(src, &d, src.get(span).unwrap_or(""));
    }
    d
}

/// toml says only "duplicate key"; say what is defined twice and where first.
fn explain_duplicate(src: &str, d: &Diagnostic, key: &str) -> String {
    let here = d.source_line.trim();
    let earlier = src.lines().take(d.line - 1).enumerate();
    if here.starts_with('[') {
        let first = earlier
            .filter(|(_, l)| l.trim() == here)
            .map(|(i, _)| i + 1)
            .next();
        let at = first
            .map(|n| format!(" (first on line {n})"))
            .unwrap_or_default();
        return format!(
            "duplicate key: table {here} is defined twice{at}; define each service and environment once"
        );
    }
    let first = earlier
        .filter(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .next();
    let at = first
        .map(|n| format!(" (first on line {n})"))
        .unwrap_or_default();
    format!("duplicate key: `{key}` is defined twice{at}")
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let src = "a = 1\nbb = \"oops\"\n";
        let start = src.find("\"oops\"").unwrap_or(0);
        let d = Diagnostic::at("f.toml", src, start..start + 6, "bad value");
        assert_eq!(d.headline(), "f.toml:2:6: bad value");
        assert_eq!(
            d.to_string(),
            "f.toml:2:6: bad value\n2 | bb = \"oops\"\n  |      ^^^^^^"
        );
    }

    #[test]
    fn survives_spans_past_the_end_and_multibyte_text() {
        let src = "é = 1";
        let d = Diagnostic::at("f", src, 1..100, "x");
        assert_eq!((d.line, d.col), (1, 1));
        let d = Diagnostic::at("f", "", 5..9, "x");
        assert_eq!((d.line, d.col), (1, 1));
    }
}
