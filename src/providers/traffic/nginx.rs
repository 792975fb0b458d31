//! nginx in front of blue/green (reference runbooks 002, 003): weights live in
//! an `upstream` block. Setting them rewrites that block atomically (temp
//! file, fsync, rename), runs `nginx -t`, reloads, and on any failure puts the
//! previous file back, so nothing is left half-applied.

use std::ops::Range;
use std::path::Path;

use tokio::io::AsyncWriteExt;

use super::{Applied, TrafficError, TrafficProvider};
use crate::config::NginxConfig;
use crate::core::traffic::{EnvWeight, Server, Weights};
use crate::providers::BoxFuture;
use crate::providers::command::{self, display};

pub struct Nginx {
    cfg: NginxConfig,
    /// The service's environments, in order.
    envs: Vec<String>,
}

impl Nginx {
    pub fn new(cfg: NginxConfig, envs: Vec<String>) -> Self {
        Nginx { cfg, envs }
    }

    fn file(&self) -> String {
        self.cfg.upstream_file.display().to_string()
    }

    async fn load(&self) -> Result<(String, Vec<ServerLine>), TrafficError> {
        let text = tokio::fs::read_to_string(&self.cfg.upstream_file)
            .await
            .map_err(|e| TrafficError::new(format!("cannot read {}: {e}", self.file())))?;
        let servers = parse_upstream(&text, &self.cfg.upstream)
            .map_err(|e| TrafficError::new(format!("{}: {e}", self.file())))?;
        Ok((text, servers))
    }

    /// The server line of each environment, in environment order.
    fn lines_by_env<'a>(
        &self,
        servers: &'a [ServerLine],
    ) -> Result<Vec<(&str, &'a ServerLine)>, TrafficError> {
        let mut out = Vec::new();
        for env in &self.envs {
            let Some((_, addr)) = self.cfg.servers.iter().find(|(e, _)| e == env) else {
                continue;
            };
            let matching: Vec<&ServerLine> = servers.iter().filter(|s| &s.addr == addr).collect();
            match matching.as_slice() {
                [one] => out.push((env.as_str(), *one)),
                [] => {
                    return Err(TrafficError::new(format!(
                        "upstream {} in {} has no `server {addr}` (environment {env})",
                        self.cfg.upstream,
                        self.file()
                    )));
                }
                _ => {
                    return Err(TrafficError::new(format!(
                        "upstream {} in {} lists `server {addr}` more than once",
                        self.cfg.upstream,
                        self.file()
                    )));
                }
            }
        }
        Ok(out)
    }

    fn weights_of(&self, servers: &[ServerLine]) -> Result<Weights, TrafficError> {
        Ok(Weights(
            self.lines_by_env(servers)?
                .into_iter()
                .map(|(env, s)| EnvWeight {
                    env: env.to_string(),
                    weight: if s.down { 0 } else { s.weight },
                    server: if s.down {
                        Server::Down
                    } else if s.backup {
                        Server::Backup
                    } else {
                        Server::Active
                    },
                })
                .collect(),
        ))
    }

    /// The new text and, per changed server, its line before and after.
    fn plan(
        &self,
        text: &str,
        servers: &[ServerLine],
        to: &Weights,
    ) -> Result<(String, Vec<(String, String)>), TrafficError> {
        let pct: Vec<(String, u32)> =
            to.0.iter()
                .map(|w| w.env.clone())
                .zip(to.percents())
                .collect();
        let mut edits = Vec::new();
        for (env, line) in self.lines_by_env(servers)? {
            let Some((_, p)) = pct.iter().find(|(e, _)| e == env) else {
                continue;
            };
            let new = line.with_share(*p);
            let old = text[line.span.clone()].to_string();
            if new != old {
                edits.push((line.span.clone(), old, new));
            }
        }
        let mut out = text.to_string();
        let mut sorted = edits.clone();
        sorted.sort_by_key(|(span, _, _)| std::cmp::Reverse(span.start));
        for (span, _, new) in sorted {
            out.replace_range(span, &new);
        }
        Ok((out, edits.into_iter().map(|(_, o, n)| (o, n)).collect()))
    }

    async fn restore(&self, old: &str, log: &mut Vec<String>) {
        match write_atomic(&self.cfg.upstream_file, old).await {
            Ok(()) => log.push(format!("restored the previous {}", self.file())),
            Err(e) => log.push(format!("COULD NOT RESTORE {}: {e}", self.file())),
        }
    }
}

impl TrafficProvider for Nginx {
    fn kind(&self) -> &'static str {
        "nginx"
    }

    fn target(&self) -> String {
        format!("upstream {} in {}", self.cfg.upstream, self.file())
    }

    fn read(&self) -> BoxFuture<'_, Result<Weights, TrafficError>> {
        Box::pin(async move {
            let (_, servers) = self.load().await?;
            self.weights_of(&servers)
        })
    }

    fn preview<'a>(
        &'a self,
        _from: &'a Weights,
        to: &'a Weights,
    ) -> BoxFuture<'a, Result<Vec<String>, TrafficError>> {
        Box::pin(async move {
            let (text, servers) = self.load().await?;
            let (_, changes) = self.plan(&text, &servers, to)?;
            let mut lines = vec![format!("nginx {}:", self.target())];
            for (old, new) in changes {
                lines.push(format!("  - {old};"));
                lines.push(format!("  + {new};"));
            }
            lines.push(format!(
                "then `{}` (if it fails, the file is restored and nothing is reloaded)",
                display(&self.cfg.test)
            ));
            lines.push(format!("then `{}`", display(&self.cfg.reload)));
            Ok(lines)
        })
    }

    fn set<'a>(
        &'a self,
        from: &'a Weights,
        to: &'a Weights,
        fence: &'a crate::providers::LeaseCheck,
    ) -> BoxFuture<'a, Result<Applied, TrafficError>> {
        Box::pin(async move {
            let (old, servers) = self.load().await?;
            super::unmoved(&self.weights_of(&servers)?, from)?;
            let (new, _) = self.plan(&old, &servers, to)?;
            let mut log = Vec::new();
            fence
                .holds()
                .await
                .map_err(|e| TrafficError::new(format!("{e}; nothing was changed")))?;
            write_atomic(&self.cfg.upstream_file, &new)
                .await
                .map_err(|e| {
                    TrafficError::new(format!(
                        "cannot write {}: {e}; nothing was changed",
                        self.file()
                    ))
                })?;
            log.push(format!(
                "wrote {}: {}",
                self.target(),
                Weights::describe_change(from, to)
            ));

            let timeout = self.cfg.timeout;
            let test = command::run(&self.cfg.test, timeout).await;
            match test {
                Ok(ran) if ran.success() => log.push(format!("`{}`: ok", display(&self.cfg.test))),
                other => {
                    let why = match other {
                        Ok(ran) => {
                            log.extend(ran.log_lines(10));
                            format!(
                                "exit {}: {}",
                                ran.code.map_or("signal".into(), |c| c.to_string()),
                                ran.last_words()
                            )
                        }
                        Err(e) => e.to_string(),
                    };
                    self.restore(&old, &mut log).await;
                    return Err(TrafficError::with_log(
                        format!(
                            "`{}` failed ({why}); the previous file was restored and nginx was not reloaded",
                            display(&self.cfg.test)
                        ),
                        log,
                    ));
                }
            }
            match command::run(&self.cfg.reload, timeout).await {
                Ok(ran) if ran.success() => {
                    log.push(format!("`{}`: ok", display(&self.cfg.reload)))
                }
                other => {
                    let why = match other {
                        Ok(ran) => {
                            log.extend(ran.log_lines(10));
                            format!(
                                "exit {}: {}",
                                ran.code.map_or("signal".into(), |c| c.to_string()),
                                ran.last_words()
                            )
                        }
                        Err(e) => e.to_string(),
                    };
                    self.restore(&old, &mut log).await;
                    // nginx may have half-read the new file: reload the old one.
                    let again = command::run(&self.cfg.reload, timeout)
                        .await
                        .map(|r| r.success())
                        .unwrap_or(false);
                    log.push(format!(
                        "reload of the restored file: {}",
                        if again { "ok" } else { "failed" }
                    ));
                    return Err(TrafficError::with_log(
                        format!(
                            "`{}` failed ({why}); the previous file was restored",
                            display(&self.cfg.reload)
                        ),
                        log,
                    ));
                }
            }
            let weights = self.read().await?;
            Ok(Applied { weights, log })
        })
    }
}

/// Replace `path` with `text` so that a reader sees the old file or the new
/// one, never a mix: write a temporary file beside it, flush it to disk, rename.
pub async fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.backstop-tmp"));
    let perms = tokio::fs::metadata(path)
        .await
        .ok()
        .map(|m| m.permissions());
    let written = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(text.as_bytes()).await?;
        f.sync_all().await?;
        if let Some(p) = perms {
            tokio::fs::set_permissions(&tmp, p).await?;
        }
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
        return written;
    }
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
    Ok(())
}

// ---- the upstream block ----

/// One `server` statement of an upstream block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLine {
    /// From `server` to the last parameter (the `;` excluded).
    pub span: Range<usize>,
    pub addr: String,
    /// nginx's default weight is 1.
    pub weight: u32,
    pub backup: bool,
    pub down: bool,
    /// Parameters kept as they are (`max_fails=3`, `fail_timeout=30s`…).
    pub other: Vec<String>,
}

impl ServerLine {
    /// The statement giving this server `pct` percent (0 = `down`).
    fn with_share(&self, pct: u32) -> String {
        let mut parts = vec!["server".to_string(), self.addr.clone()];
        if pct > 0 {
            parts.push(format!("weight={pct}"));
        }
        parts.extend(self.other.iter().cloned());
        if pct == 0 {
            parts.push("down".into());
        }
        parts.join(" ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Semi,
}

/// nginx configuration tokens with their byte spans; comments dropped.
fn tokens(text: &str) -> Vec<(Tok, Range<usize>)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            b'{' => {
                out.push((Tok::Open, i..i + 1));
                i += 1;
            }
            b'}' => {
                out.push((Tok::Close, i..i + 1));
                i += 1;
            }
            b';' => {
                out.push((Tok::Semi, i..i + 1));
                i += 1;
            }
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.push((Tok::Word(text[start..i].to_string()), start..i));
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'{' | b'}' | b';' | b'#')
                {
                    i += 1;
                }
                out.push((Tok::Word(text[start..i].to_string()), start..i));
            }
        }
    }
    out
}

/// The `server` statements of `upstream NAME { … }`.
pub fn parse_upstream(text: &str, name: &str) -> Result<Vec<ServerLine>, String> {
    let toks = tokens(text);
    let start = toks
        .windows(3)
        .position(|w| matches!((&w[0].0, &w[1].0, &w[2].0), (Tok::Word(u), Tok::Word(n), Tok::Open) if u == "upstream" && n == name))
        .ok_or_else(|| format!("no `upstream {name} {{ … }}` block"))?;
    let mut servers = Vec::new();
    let mut statement: Vec<(String, Range<usize>)> = Vec::new();
    let mut depth = 0;
    for (tok, span) in &toks[start + 3..] {
        match tok {
            Tok::Open => depth += 1,
            Tok::Close if depth == 0 => return Ok(servers),
            Tok::Close => depth -= 1,
            Tok::Word(w) => statement.push((w.clone(), span.clone())),
            Tok::Semi => {
                if depth == 0 && statement.first().is_some_and(|(w, _)| w == "server") {
                    servers.push(server_line(&statement)?);
                }
                statement.clear();
            }
        }
    }
    Err(format!("`upstream {name}` is not closed with `}}`"))
}

fn server_line(words: &[(String, Range<usize>)]) -> Result<ServerLine, String> {
    let addr = words
        .get(1)
        .map(|(w, _)| w.clone())
        .ok_or("a `server` without an address")?;
    let mut line = ServerLine {
        span: words[0].1.start..words[words.len() - 1].1.end,
        addr,
        weight: 1,
        backup: false,
        down: false,
        other: Vec::new(),
    };
    for (w, _) in &words[2..] {
        if let Some(n) = w.strip_prefix("weight=") {
            line.weight = n.parse().map_err(|_| format!("`{w}` is not a weight"))?;
        } else if w == "backup" {
            line.backup = true;
        } else if w == "down" {
            line.down = true;
        } else {
            line.other.push(w.clone());
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"# managed by hand and by backstop
upstream other { server 10.9.9.9:80 weight=5; }

upstream web_pool {
    # blue is live
    server 127.0.0.1:8081 weight=9 max_fails=3 fail_timeout=10s;
    server 127.0.0.1:8082 weight=1;   # green canary
    server 127.0.0.1:8083 backup;
    keepalive 16;
}
"#;

    fn nginx() -> Nginx {
        let cfg = NginxConfig {
            upstream_file: "/tmp/x.conf".into(),
            upstream: "web_pool".into(),
            servers: vec![
                ("blue".into(), "127.0.0.1:8081".into()),
                ("green".into(), "127.0.0.1:8082".into()),
            ],
            test: vec!["nginx".into(), "-t".into()],
            reload: vec!["nginx".into(), "-s".into(), "reload".into()],
            timeout: std::time::Duration::from_secs(5),
        };
        Nginx::new(cfg, vec!["blue".into(), "green".into()])
    }

    #[test]
    fn reads_weights_backup_and_down() {
        let s = parse_upstream(CONF, "web_pool").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].addr.as_str(), s[0].weight, s[0].other.len()),
            ("127.0.0.1:8081", 9, 2)
        );
        assert!(s[2].backup);
        let w = nginx().weights_of(&s).unwrap();
        assert_eq!(w.percents(), [90, 10]);
        let down = CONF.replace("weight=1;", "weight=1 down;");
        let w = nginx()
            .weights_of(&parse_upstream(&down, "web_pool").unwrap())
            .unwrap();
        assert_eq!(w.percents(), [100, 0]);
        assert_eq!(w.0[1].server, Server::Down);
    }

    #[test]
    fn rewrites_only_the_weights_of_that_block() {
        let s = parse_upstream(CONF, "web_pool").unwrap();
        let to = Weights::from_percents([("blue", 100), ("green", 0)]);
        let (text, changes) = nginx().plan(CONF, &s, &to).unwrap();
        assert_eq!(
            changes,
            [
                (
                    "server 127.0.0.1:8081 weight=9 max_fails=3 fail_timeout=10s".to_string(),
                    "server 127.0.0.1:8081 weight=100 max_fails=3 fail_timeout=10s".to_string()
                ),
                (
                    "server 127.0.0.1:8082 weight=1".to_string(),
                    "server 127.0.0.1:8082 down".to_string()
                ),
            ]
        );
        assert!(text.contains("upstream other { server 10.9.9.9:80 weight=5; }"));
        assert!(text.contains("    server 127.0.0.1:8082 down;   # green canary\n"));
        assert!(text.contains("server 127.0.0.1:8083 backup;"));
        let back = nginx()
            .weights_of(&parse_upstream(&text, "web_pool").unwrap())
            .unwrap();
        assert!(back.same_split(&to));
        // And back again: down is lifted.
        let (again, _) = nginx()
            .plan(
                &text,
                &parse_upstream(&text, "web_pool").unwrap(),
                &Weights::from_percents([("blue", 50), ("green", 50)]),
            )
            .unwrap();
        assert!(
            again.contains("server 127.0.0.1:8082 weight=50;"),
            "{again}"
        );
    }

    #[test]
    fn clear_errors_for_broken_files() {
        assert_eq!(
            parse_upstream("upstream a { server x; }", "web_pool").unwrap_err(),
            "no `upstream web_pool { … }` block"
        );
        assert_eq!(
            parse_upstream("upstream web_pool { server x;", "web_pool").unwrap_err(),
            "`upstream web_pool` is not closed with `}`"
        );
        assert_eq!(
            parse_upstream("upstream web_pool { server x weight=lots; }", "web_pool").unwrap_err(),
            "`weight=lots` is not a weight"
        );
        let s = parse_upstream("upstream web_pool { server 127.0.0.1:8081; }", "web_pool").unwrap();
        let e = nginx().weights_of(&s).unwrap_err();
        assert_eq!(
            e.message,
            "upstream web_pool in /tmp/x.conf has no `server 127.0.0.1:8082` (environment green)"
        );
        // Comments and quoted strings do not confuse it.
        let tricky = "upstream web_pool { # server 1.1.1.1 weight=99;\n server 127.0.0.1:8081 weight=2; server 127.0.0.1:8082 weight=2 \"x;y\"; }";
        let s = parse_upstream(tricky, "web_pool").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].other, ["\"x;y\""]);
    }
}
