//! Who is at the keyboard, for attributing every step and change: the
//! person's login and host, and the SSH client's address when there is one.

/// This process's real user id, as the kernel keeps it (`/proc/self/
/// status`): not `$USER` or `$LOGNAME`, which anyone can set.
pub fn real_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A field of the line of `/etc/passwd` or `/etc/group` whose field
/// `key_at` is `key`.
fn lookup(file: &str, key_at: usize, key: &str, want: usize) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > key_at.max(want) && f[key_at] == key).then(|| f[want].to_string())
    })
}

/// The login name of user `uid` on this host.
pub fn user_name(uid: u32) -> Option<String> {
    lookup("/etc/passwd", 2, &uid.to_string(), 0)
}

/// The name of group `gid` on this host.
pub fn group_name(gid: u32) -> Option<String> {
    lookup("/etc/group", 2, &gid.to_string(), 0)
}

/// The id of group `name` on this host.
pub fn group_id(name: &str) -> Option<u32> {
    lookup("/etc/group", 0, name, 2)?.parse().ok()
}

/// The login name the kernel knows this process by (its real uid's), or
/// the uid itself when `/etc/passwd` does not name it.
pub fn login_name() -> String {
    match real_uid() {
        Some(uid) => user_name(uid).unwrap_or_else(|| format!("uid {uid}")),
        None => "unknown".into(),
    }
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

/// The caller AWS vouches for (its ARN), once asked (`learn_aws`).
static AWS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The caller's AWS user id (`${aws:userid}`), once asked.
static AWS_USERID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The caller's AWS user id, if AWS said it (`learn_aws`).
pub fn aws_userid() -> Option<String> {
    AWS_USERID.get().cloned()
}

/// Who something other than the person says this process's person is:
/// on a table shared between hosts, AWS's principal (`aws:` and its user
/// id); on this host's file, the kernel's account (`user@host`). `None`
/// when nothing can say (a table, and AWS did not answer).
pub fn vouched(on_table: bool) -> Option<String> {
    if on_table {
        aws_userid().map(|id| format!("aws:{id}"))
    } else {
        Some(format!("{}@{}", login_name(), host()))
    }
}

/// This host's name.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The account a record's machine part names — its AWS person, else its
/// `user@host` without the address — as the writer's machine reported it
/// (not proof: an approval is proven by the room's vouch, `room::vouch`).
pub fn machine_of(operator: &str) -> Option<String> {
    let op = operator.trim();
    let notes: Vec<&str> = match op.strip_suffix(')').and_then(|s| s.rsplit_once(" (")) {
        Some((_, notes)) => notes.split("; ").collect(),
        None => vec![op],
    };
    let login = notes
        .iter()
        .rev()
        .find(|n| !n.starts_with("aws ") && *n != &"self-declared")?;
    let login = login.split_once(" from ").map_or(*login, |(l, _)| l);
    (!login.is_empty()).then(|| login.to_string())
}

/// Who is at the keyboard, for attributing changes: `user@host`, and the
/// SSH client's address when there is one. A name the person declared
/// (`--operator NAME`, else `$BACKSTOP_OPERATOR`) comes first, recorded as
/// self-declared, with the login it came from: `alice (self-declared;
/// ec2-user@bastion from 10.0.0.7)`. When AWS said who the caller is
/// (`learn_aws`), its ARN is recorded too, and names the person unless a
/// name was declared: `alice@example.com (aws arn:aws:sts::…:assumed-role/
/// …/alice@example.com; ec2-user@bastion from 10.0.0.7)`.
pub fn operator() -> String {
    let declared = DECLARED
        .get()
        .cloned()
        .or_else(|| std::env::var("BACKSTOP_OPERATOR").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    compose(declared.as_deref(), AWS.get().map(String::as_str), &login())
}

/// The record of who acts, from its parts. `person` reads it back.
fn compose(declared: Option<&str>, arn: Option<&str>, login: &str) -> String {
    // Only an ARN that names someone is recorded (`learn_aws` keeps no other).
    let aws = arn.and_then(|a| Some((aws_person(a)?, a)));
    match (declared, aws) {
        (Some(name), Some((_, arn))) => format!("{name} (self-declared; aws {arn}; {login})"),
        (Some(name), None) => format!("{name} (self-declared; {login})"),
        (None, Some((person, arn))) => format!("{person} (aws {arn}; {login})"),
        (None, None) => login.to_string(),
    }
}

/// The person an AWS caller ARN names: an assumed role's session (SSO
/// names its sessions after the person: `…:assumed-role/AWSReservedSSO_
/// Admin_x/alice@example.com` → `alice@example.com`), an IAM user (`…:user/
/// ops/bob` → `bob`), a federated user, or the account's root. `None` for
/// anything else: it names no one.
pub fn aws_person(arn: &str) -> Option<String> {
    let mut f = arn.trim().splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(_region), Some(account), Some(res)) =
        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return None;
    };
    let name = match (service, res.split_once('/')) {
        ("sts", Some(("assumed-role", rest))) => rest.split_once('/')?.1,
        ("sts", Some(("federated-user", name))) => name,
        // IAM paths (`user/ops/bob`): the name is the last part.
        ("iam", Some(("user", rest))) => rest.rsplit('/').next()?,
        ("iam", None) if res == "root" && !account.is_empty() => {
            return Some(format!("root@{account}"));
        }
        _ => return None,
    };
    let name = name.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
}

/// Who a recorded operator is, comparably: the key two records of one
/// person share, and whether it is vouched for (not self-declared). The
/// AWS name when the record has one (verified); else the declared name
/// (not verified); else `user@host` (what the machine says, so verified,
/// whatever address it came from). Keys compare without case: `Alice` and
/// `alice` are one person, the safe side for a rule that wants two.
pub fn person(operator: &str) -> (String, bool) {
    let op = operator.trim();
    // The last parenthesised group is backstop's own (a declared name may
    // hold parentheses; it always comes before it).
    let (name, notes) = match op.strip_suffix(')').and_then(|s| s.rsplit_once(" (")) {
        Some((name, notes)) => (name.trim(), notes.split("; ").collect()),
        None => (op, Vec::new()),
    };
    let declared = notes.first() == Some(&"self-declared");
    let aws = notes
        .iter()
        .find_map(|n| n.strip_prefix("aws "))
        .and_then(aws_person);
    let (key, verified) = match (aws, declared) {
        (Some(person), _) => (person, true),
        (None, true) => (name.to_string(), false),
        (None, false) => {
            let login = name.split_once(" from ").map_or(name, |(l, _)| l);
            (login.to_string(), true)
        }
    };
    let key = key.to_lowercase();
    let verified = verified && !key.is_empty();
    (key, verified)
}

/// Ask AWS who the caller is, once, with the settings the configuration
/// calls AWS with (`None`: it does not, and nothing is asked). Bounded by
/// `aws::caller::CALLER_TIMEOUT`; whatever goes wrong, the operator is
/// recorded as before, without an AWS name, and the log says why.
pub async fn learn_aws(settings: Option<&crate::config::aws::AwsSettings>) {
    let Some(settings) = settings else {
        tracing::debug!("no AWS in the configuration: the operator has no AWS identity");
        return;
    };
    if AWS_USERID.get().is_some() {
        return;
    }
    let aws = crate::aws::Aws::new(settings.clone());
    match crate::aws::caller::caller(&aws).await {
        Ok(c) if aws_person(&c.arn).is_some() => {
            tracing::info!("AWS says the operator is {} ({})", c.arn, c.userid);
            let _ = AWS_USERID.set(c.userid);
            let _ = AWS.set(c.arn);
        }
        Ok(c) => {
            // It names no person, but is a principal: approvals can still
            // be vouched for under its user id.
            let _ = AWS_USERID.set(c.userid);
            tracing::warn!(
                "AWS's caller {} names no person: the operator is recorded without an AWS identity",
                c.arn
            );
        }
        Err(e) => tracing::warn!(
            "no AWS identity for the operator (GetCallerIdentity via {}): {e}",
            aws.describe()
        ),
    }
}

/// `user@host`, and the SSH client's address when there is one. The user
/// is the one the kernel runs this process as, never `$USER`: a person
/// who sets it does not become someone else.
fn login() -> String {
    let user = login_name();
    let host = host();
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

#[cfg(test)]
mod tests {
    use super::*;

    const SSO: &str =
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com";

    #[test]
    fn an_arn_names_the_person_behind_it() {
        assert_eq!(aws_person(SSO).as_deref(), Some("alice@example.com"));
        assert_eq!(
            aws_person("arn:aws:iam::123456789012:user/bob").as_deref(),
            Some("bob")
        );
        assert_eq!(
            aws_person("arn:aws:iam::123456789012:user/ops/team/carol").as_deref(),
            Some("carol")
        );
        assert_eq!(
            aws_person("arn:aws-us-gov:sts::123456789012:federated-user/dave").as_deref(),
            Some("dave")
        );
        assert_eq!(
            aws_person("arn:aws:iam::123456789012:root").as_deref(),
            Some("root@123456789012")
        );
        // What names no one: a role itself, other services, not an ARN,
        // a session without a name.
        for arn in [
            "arn:aws:iam::123456789012:role/Deployer",
            "arn:aws:sts::123456789012:assumed-role/Deployer",
            "arn:aws:sts::123456789012:assumed-role/Deployer/",
            "arn:aws:s3:::bucket/user/bob",
            "alice@example.com",
            "",
        ] {
            assert_eq!(aws_person(arn), None, "{arn}");
        }
    }

    #[test]
    fn the_record_says_who_declared_and_who_aws_vouches_for() {
        let login = "ec2-user@bastion from 10.0.0.7";
        assert_eq!(compose(None, None, login), login);
        assert_eq!(
            compose(Some("alice"), None, login),
            "alice (self-declared; ec2-user@bastion from 10.0.0.7)"
        );
        assert_eq!(
            compose(None, Some(SSO), login),
            format!("alice@example.com (aws {SSO}; ec2-user@bastion from 10.0.0.7)")
        );
        assert_eq!(
            compose(Some("mallory"), Some(SSO), login),
            format!("mallory (self-declared; aws {SSO}; ec2-user@bastion from 10.0.0.7)")
        );
        // An ARN that names no one is left out rather than shown as a name.
        assert_eq!(
            compose(None, Some("arn:aws:iam::1:role/Deployer"), login),
            login
        );
    }

    #[test]
    fn one_person_one_key_however_the_record_reads() {
        fn key(declared: Option<&str>, arn: Option<&str>) -> (String, bool) {
            person(&compose(declared, arn, "ec2-user@bastion from 10.0.0.7"))
        }
        let alice = ("alice@example.com".to_string(), true);
        // AWS's name wins, declared or not, from any address.
        assert_eq!(key(None, Some(SSO)), alice);
        assert_eq!(key(Some("Al"), Some(SSO)), alice);
        assert_eq!(
            person(&compose(None, Some(SSO), "alice@laptop from 192.168.1.9")),
            alice
        );
        // Declared only: the declared name, not vouched for, without case.
        assert_eq!(key(Some("Alice"), None), ("alice".to_string(), false));
        // A declared name with parentheses of its own stays whole and
        // cannot pass for AWS's word.
        assert_eq!(
            key(Some(format!("bob (aws {SSO}").as_str()), None),
            (format!("bob (aws {}", SSO.to_lowercase()), false)
        );
        // Nothing declared, no AWS: the login without the address.
        assert_eq!(key(None, None), ("ec2-user@bastion".to_string(), true));
        assert_eq!(person("ops@ci-runner"), ("ops@ci-runner".to_string(), true));
        // IAM users compare as their name.
        assert_eq!(
            key(None, Some("arn:aws:iam::123456789012:user/bob")),
            ("bob".to_string(), true)
        );
        assert_eq!(person("  "), (String::new(), false));
    }
}
