//! Who answered an approval request, as something other than the person
//! says it: the two-person rule compares what is vouched for, never a name
//! typed at a keyboard or an environment variable.
//!
//! - **This host's file.** The approver's backstop creates a file named
//!   after the answer in a directory beside the journal; the kernel makes
//!   the creating account its owner, which that account cannot change, and
//!   the directory's sticky bit keeps anyone else from removing or
//!   replacing it. The driver's backstop reads the owner. Root can forge
//!   anything on its host: the file proves the account, not what root did.
//! - **A DynamoDB table.** The approver's backstop puts an item under
//!   `vouch#` and its AWS user id (`${aws:userid}`); the printed IAM
//!   policies let a principal write only under its own. The driver's
//!   backstop reads the item back under the user id the approval names.
//!   The table proves the principal, as far as IAM is configured so.

use sha2::{Digest, Sha256};

/// The name of one answer's proof: which driver's request, which answer,
/// from which session.
pub fn token(driver: &str, request: u64, approver: &str, act: &str) -> String {
    let d = Sha256::digest(format!("{driver}\n{request}\n{approver}\n{act}").as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The directory of proofs beside a journal file.
pub fn dir(journal: &std::path::Path) -> std::path::PathBuf {
    let mut p = journal.as_os_str().to_owned();
    p.push(".vouch");
    std::path::PathBuf::from(p)
}

/// Leave the proof of an answer in `dir`: a new file this account owns.
pub fn leave(dir: &std::path::Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        // Anyone who may write the journal may leave a proof; nobody may
        // remove another's (the sticky bit), as in /tmp.
        let mode = std::fs::metadata(dir.parent().unwrap_or(dir))
            .map(|m| std::os::unix::fs::MetadataExt::mode(&m))
            .unwrap_or(0o700);
        let shared = mode & 0o070 != 0;
        let _ = std::fs::set_permissions(
            dir,
            std::fs::Permissions::from_mode(if shared { 0o3770 } else { 0o1700 }),
        );
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(token))
    {
        Ok(_) => Ok(()),
        // Answered twice the same way: the first proof stands.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whose account left the proof `token` in `dir`, as `user@host`.
pub fn owner(dir: &std::path::Path, token: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir.join(token)).ok()?;
    if !meta.is_file() {
        return None;
    }
    let name =
        crate::identity::user_name(meta.uid()).unwrap_or_else(|| format!("uid {}", meta.uid()));
    Some(format!("{name}@{}", crate::identity::host()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_names_the_account_that_left_it_and_only_that_answer() {
        let d = tempfile::tempdir().unwrap();
        let vouch = dir(&d.path().join("journal.sqlite"));
        let t = token("alice#1-1", 7, "bob#2-2", "approve");
        assert_eq!(owner(&vouch, &t), None, "no proof yet");
        leave(&vouch, &t).unwrap();
        leave(&vouch, &t).unwrap();
        assert_eq!(
            owner(&vouch, &t),
            Some(format!(
                "{}@{}",
                crate::identity::login_name(),
                crate::identity::host()
            ))
        );
        // Another answer, request or session is another proof.
        for other in [
            token("alice#1-1", 8, "bob#2-2", "approve"),
            token("alice#1-1", 7, "carol#3-3", "approve"),
            token("alice#1-1", 7, "bob#2-2", "reject"),
        ] {
            assert_ne!(other, t);
            assert_eq!(owner(&vouch, &other), None);
        }
    }
}
