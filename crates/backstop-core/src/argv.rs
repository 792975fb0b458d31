//! Argument vectors: what a command is, without a shell in sight.

/// `{env}` and `{weight}` replaced inside each argument. Each argument stays
/// one argument whatever it contains: nothing is split, quoted or interpreted.
pub fn substitute(argv: &[String], env: &str, weight: u32) -> Vec<String> {
    argv.iter()
        .map(|a| {
            a.replace("{env}", env)
                .replace("{weight}", &weight.to_string())
        })
        .collect()
}

/// The command as a person would type it, for previews and logs (quoted for
/// reading only; it is never given to a shell).
pub fn display(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''").replace('\n', "\\n"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
