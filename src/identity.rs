//! Who is at the keyboard, for attributing every step and change: the
//! person's login and host, and the SSH client's address when there is one.

/// The login name of this process's user, from /etc/passwd.
fn user_from_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
    })
}

/// A name the person gave (`--operator NAME`), before the environment's.
static DECLARED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The person says who they are (`--operator NAME`): on a bastion where
/// everyone is `ec2-user`, the login does not name anyone.
pub fn declare(name: &str) {
    let name = name.trim();
    if !name.is_empty() {
        let _ = DECLARED.set(name.to_string());
    }
}

/// Who is at the keyboard, for attributing changes: `user@host`, and the
/// SSH client's address when there is one. A name the person declared
/// (`--operator NAME`, else `$BACKSTOP_OPERATOR`) comes first, recorded as
/// self-declared, with the login it came from: `alice (self-declared;
/// ec2-user@bastion from 10.0.0.7)`.
pub fn operator() -> String {
    let declared = DECLARED
        .get()
        .cloned()
        .or_else(|| std::env::var("BACKSTOP_OPERATOR").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let login = login();
    match declared {
        Some(name) => format!("{name} (self-declared; {login})"),
        None => login,
    }
}

/// `user@host`, and the SSH client's address when there is one.
fn login() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_from_uid)
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    match std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| c.split_whitespace().next().map(str::to_string))
    {
        Some(from) => format!("{user}@{host} from {from}"),
        None => format!("{user}@{host}"),
    }
}

/// This process on this machine: what its leases and its presence are
/// recorded under. Two consoles of one person are two sessions.
pub fn session() -> String {
    static SESSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SESSION
        .get_or_init(|| {
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("{}#{}-{started}", operator(), std::process::id())
        })
        .clone()
}

/// Who an operator record names, to compare two people (the two-person
/// rule), and whether it is more than their own word: `alice (self-declared;
/// ec2-user@bastion from 10.0.0.7)` is `alice`, self-declared;
/// `bob@bastion from 10.0.0.8` is `bob@bastion`, known to the machine.
pub fn person(operator: &str) -> (String, bool) {
    if let Some((name, _)) = operator.split_once(" (self-declared") {
        return (name.trim().to_string(), false);
    }
    let login = operator.split(" (").next().unwrap_or(operator);
    let login = login.split(" from ").next().unwrap_or(login);
    (login.trim().to_string(), true)
}
