//! One journal file for many Unix accounts on one bastion: who may write
//! it, said plainly when someone may not, and the file made for a group by
//! `backstop journal init`. SQLite writes the file and, beside it, its
//! `-wal` and `-shm` files, so the directory must be writable too.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::Error;

/// The files SQLite keeps for a journal in WAL mode.
pub fn files(journal: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = journal.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    [journal.to_path_buf(), with("-wal"), with("-shm")]
}

/// Why this account cannot write the journal at `path`, if that is why it
/// could not be opened: the file (or its `-wal`/`-shm`, or the directory
/// they are made in), its owner, group and mode — or a directory where the
/// file should be.
pub fn denied(path: &Path) -> Option<Error> {
    let user = crate::identity::login_name();
    for f in files(path) {
        let Ok(meta) = std::fs::metadata(&f) else {
            continue;
        };
        if meta.is_dir() {
            return Some(Error::Unusable(format!(
                "{} is a directory, not a journal: name a file, such as {}",
                f.display(),
                f.join("journal.sqlite").display()
            )));
        }
        let writable = std::fs::OpenOptions::new().append(true).open(&f).is_ok();
        if !writable {
            return Some(permission(&f, &meta, &user));
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let meta = std::fs::metadata(dir).ok()?;
    // A file made and removed again: can this account make the -wal here?
    let probe = dir.join(format!(".backstop-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some(permission(dir, &meta, &user))
        }
        Err(_) => None,
    }
}

fn permission(file: &Path, meta: &std::fs::Metadata, user: &str) -> Error {
    Error::Permission {
        file: file.display().to_string(),
        user: user.to_string(),
        owner: crate::identity::user_name(meta.uid()).unwrap_or_else(|| meta.uid().to_string()),
        group: crate::identity::group_name(meta.gid()).unwrap_or_else(|| meta.gid().to_string()),
        mode: meta.mode() & 0o7777,
    }
}

/// Make the journal at `path` (and its `-wal`, `-shm`) for `group`: owned
/// by that group, readable and writable by it (mode 660), in a directory
/// that gives new files its group (setgid, 2770) — so every member's
/// backstop writes the same file. `open` opens the journal (made, with its
/// tables, once the directory gives the group). What was done, line by line.
pub fn share<J>(
    path: &Path,
    group: &str,
    open: impl FnOnce(&Path) -> Result<J, String>,
) -> Result<Vec<String>, String> {
    let gid = crate::identity::group_id(group).ok_or_else(|| {
        format!("there is no group `{group}` on this host (see /etc/group): make it first (groupadd {group}) and add the team to it")
    })?;
    let mut done = Vec::new();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        done.push(format!("created {}", dir.display()));
    }
    let chown = |p: &Path| {
        std::os::unix::fs::chown(p, None, Some(gid))
            .map_err(|e| format!("cannot give {} to group {group}: {e}", p.display()))
    };
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", p.display()))
    };
    chown(dir)?;
    chmod(dir, 0o2770)?;
    done.push(format!(
        "{}: group {group}, mode 2770 (new files take its group)",
        dir.display()
    ));
    // The file, its tables and its WAL files exist while it is open (SQLite
    // makes later ones with the file's mode; the directory gives the group).
    let open = open(path)?;
    for f in files(path) {
        if f.exists() {
            chown(&f)?;
            chmod(&f, 0o660)?;
            done.push(format!("{}: group {group}, mode 660", f.display()));
        }
    }
    drop(open);
    // Where approvals leave their proof: anyone in the group may leave one,
    // nobody may remove another's (sticky), new ones take the group.
    let vouch = super::vouch::dir(path);
    std::fs::create_dir_all(&vouch)
        .map_err(|e| format!("cannot create {}: {e}", vouch.display()))?;
    chown(&vouch)?;
    chmod(&vouch, 0o3770)?;
    done.push(format!(
        "{}: group {group}, mode 3770 (who approved what, vouched by the kernel)",
        vouch.display()
    ));
    Ok(done)
}
