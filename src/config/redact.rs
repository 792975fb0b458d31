//! Credentials in URLs that are only text: a URL that does not parse (so
//! [`super::redact_url`] cannot take it apart), quoted in an error message
//! or in the line of a file an error points at. Every `scheme://` in the
//! text is looked at: a password in its user part and token-like query
//! values are masked.

/// Query keys whose values are secrets (`access_token`, `apiKey`, `sig`…).
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "signature",
        "sig",
        "auth",
        "credential",
    ]
    .iter()
    .any(|s| lower.contains(s))
}

/// `text` with every URL's password and secret query values as `***`.
pub fn redact_urls(text: &str) -> String {
    redact_with(text, |_| "***".to_string())
}

/// The same, masking each secret character by character: for a quoted
/// source line, so a caret under it still points at the right column.
pub fn mask_urls(text: &str) -> String {
    redact_with(text, |s| "*".repeat(s.chars().count()))
}

/// Where a URL ends in free text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

fn redact_with(text: &str, mask: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after.find(ends_url).unwrap_or(after.len());
        out.push_str(&redact_one(&after[..end], &mask));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// One URL after its `scheme://`: `user:pass@host/path?k=v#frag`.
fn redact_one(url: &str, mask: &impl Fn(&str) -> String) -> String {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, tail) = url.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, pass)) if !already_masked(pass) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(&mask(pass));
                }
                _ => out.push_str(userinfo),
            }
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    let (path, fragment) = match tail.find('#') {
        Some(h) => tail.split_at(h),
        None => (tail, ""),
    };
    match path.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if is_secret_key(k) && !already_masked(v) => {
                        format!("{k}={}", mask(v))
                    }
                    _ => pair.to_string(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(path),
    }
    out.push_str(fragment);
    out
}

/// Masked before (a quoted line inside a message): left as it is.
fn already_masked(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_does_not_parse_loses_its_password() {
        assert_eq!(
            redact_urls(r#"invalid URL "http://user:secret@[::1/health": invalid IPv6 address"#),
            r#"invalid URL "http://user:***@[::1/health": invalid IPv6 address"#
        );
    }

    #[test]
    fn token_like_query_values_are_masked_and_the_rest_kept() {
        assert_eq!(
            redact_urls("see https://h/x?verbose=1&access_token=abc#top and http://a:b@c"),
            "see https://h/x?verbose=1&access_token=***#top and http://a:***@c"
        );
    }

    #[test]
    fn masking_keeps_the_length_and_a_second_pass_changes_nothing() {
        let line = r#"url = "https://u:hunter2@h/health""#;
        let masked = mask_urls(line);
        assert_eq!(masked, r#"url = "https://u:*******@h/health""#);
        assert_eq!(masked.len(), line.len());
        assert_eq!(redact_urls(&masked), masked);
    }

    #[test]
    fn text_without_credentials_is_unchanged() {
        for t in [
            "no url here",
            "http://h:8080/p?q=1",
            "user@example.com",
            "a://",
        ] {
            assert_eq!(redact_urls(t), t);
        }
    }
}
