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
    /// The offending line, without its newline; around the caret only
    /// when the line is long (`…` where it was cut).
    pub source_line: String,
    /// Where the caret goes in `source_line`, 1-based, in characters.
    pub caret: usize,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
}

/// The most characters of a source line quoted in an error: a 10 MB
/// unterminated string must not be echoed whole (twice, with the caret).
pub const SNIPPET_WIDTH: usize = 100;

/// The most characters of a message: it may quote a value.
const MESSAGE_WIDTH: usize = 300;

impl Diagnostic {
    /// An error at a byte span of `src`.
    pub fn at(file: &str, src: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = floor_char_boundary(src, span.start.min(src.len()));
        let end = floor_char_boundary(src, span.end.clamp(start, src.len()));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let col = src[line_start..start].chars().count() + 1;
        let width = src[start..end.min(line_end).max(start)]
            .chars()
            .count()
            .max(1);
        let (source_line, caret, width) =
            snippet(src[line_start..line_end].trim_end_matches('\r'), col, width);
        // The file's own line, but an error may end up in a CI log: a
        // password in a URL is masked (character for character, so the
        // caret stays under the bad part).
        Diagnostic {
            file: file.to_string(),
            line,
            col,
            message: clip(&super::redact_urls(&message.into()), MESSAGE_WIDTH),
            source_line: super::redact::mask_urls(&source_line),
            caret,
            width,
        }
    }

    /// An error about the whole file (it cannot be read, say).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: clip(&super::redact_urls(&message.into()), MESSAGE_WIDTH),
            source_line: String::new(),
            caret: 1,
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
                .take(self.caret - 1)
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
    if d.message.starts_with("invalid unquoted key") {
        d.message = explain_bare_key(src.get(span.start..).unwrap_or(""));
    }
    if d.message == "duplicate key" {
        d.message = explain_duplicate(src, &d, src.get(span).unwrap_or(""));
    }
    d
}

/// The most errors one file reports before the rest is left for the next run.
const MAX_ERRORS: usize = 50;

/// Deserialize a whole TOML file, reporting every unknown key and every
/// bad value in one run rather than the first alone: serde stops at its
/// first error, so the key it names is taken out and the file read again.
/// `Ok` carries the value and whether only unknown keys were taken out
/// (then the errors are all there is, and validation can still run).
pub fn deserialize_all<T: serde::de::DeserializeOwned>(
    file: &str,
    src: &str,
) -> Result<(T, Vec<Diagnostic>), Diagnostics> {
    let mut doc = toml::de::DeTable::parse(src).map_err(|e| from_toml(file, src, &e))?;
    let mut errors = Vec::new();
    // Spans of values taken out for being bad: the "missing field" that
    // follows from taking a required one out is not another error.
    let mut taken: Vec<Range<usize>> = Vec::new();
    let mut values_taken = false;
    loop {
        let e = match T::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(_) if values_taken => return Err(Diagnostics(errors)),
            Ok(v) => return Ok((v, errors)),
            Err(e) => e,
        };
        let Some(span) = e.span() else {
            errors.push(from_toml(file, src, &e));
            return Err(Diagnostics(errors));
        };
        let follows = e.message().starts_with("missing field")
            && taken
                .iter()
                .any(|t| span.start <= t.start && t.end <= span.end);
        if !follows {
            errors.push(from_toml(file, src, &e));
        }
        let unknown = e.message().starts_with("unknown field");
        if errors.len() >= MAX_ERRORS || !take_out(doc.get_mut(), &span) {
            return Err(Diagnostics(errors));
        }
        if !unknown {
            values_taken = true;
            taken.push(span);
        }
    }
}

/// Take out of `table` the entry whose key or value is at `span` (or the
/// array item there); false when nothing is.
fn take_out(table: &mut toml::de::DeTable<'_>, span: &Range<usize>) -> bool {
    let found = table
        .iter()
        .find(|(k, v)| k.span() == *span || v.span() == *span)
        .map(|(k, _)| k.get_ref().to_string());
    if let Some(key) = found {
        return table.remove(key.as_str()).is_some();
    }
    table
        .iter_mut()
        .any(|(_, v)| take_out_of_value(v.get_mut(), span))
}

fn take_out_of_value(value: &mut toml::de::DeValue<'_>, span: &Range<usize>) -> bool {
    match value {
        toml::de::DeValue::Table(t) => take_out(t, span),
        toml::de::DeValue::Array(a) if a.iter().any(|item| item.span() == *span) => {
            // An array cannot drop an item in place: build it again without.
            let mut rest = toml::de::DeArray::new();
            for item in a.iter().filter(|item| item.span() != *span) {
                rest.push(item.clone());
            }
            *a = rest;
            true
        }
        toml::de::DeValue::Array(a) => a
            .iter_mut()
            .any(|item| take_out_of_value(item.get_mut(), span)),
        _ => false,
    }
}

/// toml says "expected letters": it means ASCII ones, and `ü` is a letter.
fn explain_bare_key(at: &str) -> String {
    let rule = "a key without quotes may only use ASCII letters, digits, `-` and `_`";
    match at.chars().next() {
        Some(c) if !c.is_whitespace() => format!("`{c}` is not allowed here: {rule}"),
        _ => format!("invalid key: {rule}"),
    }
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

/// At most [`SNIPPET_WIDTH`] characters of `line` around column `col`:
/// the line, the caret's column in it and the caret's width.
fn snippet(line: &str, col: usize, width: usize) -> (String, usize, usize) {
    let len = line.chars().count();
    // The quoted line has lost its trailing `\r`s; an error among or after
    // them puts the caret just past the line's end (found by fuzzing).
    let col = col.min(len + 1);
    if len <= SNIPPET_WIDTH {
        return (line.to_string(), col, width);
    }
    // A little context before the caret, the rest after it.
    let from = col.saturating_sub(1 + SNIPPET_WIDTH / 4);
    let to = (from + SNIPPET_WIDTH).min(len);
    let mut out: String = line.chars().skip(from).take(to - from).collect();
    let mut caret = col - from;
    if from > 0 {
        out.insert(0, '…');
        caret += 1;
    }
    if to < len {
        out.push('…');
    }
    let width = width.min(to.saturating_sub(col - 1)).max(1);
    (out, caret, width)
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// Read an operator's file as UTF-8. A file that is not is an error at the
/// first bad byte (line and column), not at 1:1.
pub fn read_source(path: &std::path::Path, what: &str) -> Result<String, Diagnostic> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::whole_file(&file, format!("cannot read the {what}: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let bad = bytes.get(at).copied().unwrap_or_default();
        let text = String::from_utf8_lossy(bytes);
        // Up to `at` the lossy text is the file itself; the bad byte is
        // the replacement character there.
        Diagnostic::at(
            &file,
            &text,
            at..at + 1,
            format!("byte 0x{bad:02X} is not UTF-8: save the {what} as UTF-8"),
        )
    })
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
    fn a_long_line_is_quoted_around_the_caret() {
        let src = format!("title = \"{}", "a".repeat(1_000_000));
        let d = Diagnostic::at("f", &src, src.len()..src.len(), "unterminated");
        assert_eq!((d.line, d.col), (1, 1_000_010));
        let shown = d.to_string();
        assert!(shown.len() < 1000, "{}", shown.len());
        // The caret is still under the end of the line.
        let lines: Vec<&str> = shown.lines().collect();
        let caret_at = lines[2].chars().position(|c| c == '^');
        let line_end = lines[1].chars().count();
        assert_eq!(caret_at, Some(line_end), "{shown}");
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
