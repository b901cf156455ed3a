//! gatehouse-tasks: the few filesystem jobs that need root, kept small so the helper that runs
//! them can hold only CHOWN, FOWNER, DAC_OVERRIDE and KILL.
//!
//! Its own crate (as Kanidm's `unixd_tasks`): the root helper links the policy core, the
//! directory walks, the renderers of the FTP servers' files and its socket protocol, and none of
//! the store, the database drivers, LDAP, TLS or the CLI. gatehoused and the CLI depend on this
//! crate for the protocol types ([`proto`]) and keep the client side themselves.
//!
//! * [`ensure_root`] creates a user's root under an allowed prefix (`home_base` or
//!   `root_prefixes`) with the user's owner. A root that already exists is used as it is: it is
//!   **never chowned**, so pointing a user at `/srv/data/shared` cannot hand them someone else's
//!   files.
//! * [`remove_root`] removes a root for `user del --remove-files`, refusing one shared with
//!   another user, one outside the prefixes, or one that is (or contains) a prefix.
//!
//! **Symlinks.** The prefix itself is configuration written by root and is opened as given (it
//! may lie behind a symlink such as `/srv → /data/srv`). Everything *below* the prefix is walked
//! one component at a time with `openat(…, O_DIRECTORY | O_NOFOLLOW)` on the directory fd of the
//! level above, so a symlink anywhere below the prefix is refused rather than followed, and no
//! path string is resolved twice. Removal walks the same way and unlinks symlinks themselves,
//! never what they point to.
//!
//! * [`vsftpd`] renders ([`vsftpd::user_file`]), writes and removes vsftpd's per-user files
//!   (root-owned, as vsftpd requires); [`proftpd`] renders ([`proftpd::render`]), writes and
//!   removes ProFTPD's, and signals ProFTPD to re-read them. Both write through [`rootfile`],
//!   which refuses the names of local accounts ([`local`]).
//!
//! The wire protocol between gatehoused (or the CLI) and the helper is in [`proto`]; the
//! helper binary is `src/bin/gatehouse-tasks.rs`, started as [`service`] says.
#![forbid(unsafe_code)]

use gatehouse_policy::config::{Config, MIN_ID};
use gatehouse_policy::model::root_under;

pub mod local;
pub mod proftpd;
pub mod proto;
pub mod rootfile;
pub mod service;
pub mod vsftpd;
mod walk;

/// What [`ensure_root`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The root did not exist; it was created 0750 and given to `uid:gid`.
    Created,
    /// The root already existed as a directory and was left exactly as it was.
    Existed,
}

/// What [`remove_root`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The root and everything in it were removed.
    Removed,
    /// There was nothing at the root's path.
    Absent,
}

/// Why a task was not done.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The request breaks a rule (outside the prefixes, shared, a symlink in the way, uid 0, …);
    /// nothing was changed. The message says which rule and what to do.
    #[error("{0}")]
    Refused(String),
    /// A system call failed (`op` on `path`); what was done before it stays done.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation (`open`, `mkdir`, `chown`, `unlink`, …).
        op: &'static str,
        /// The path it was applied to.
        path: String,
        /// The error from the kernel.
        source: std::io::Error,
    },
}

impl TaskError {
    fn io(op: &'static str, path: &str, e: impl Into<std::io::Error>) -> TaskError {
        TaskError::Io { op, path: path.to_string(), source: e.into() }
    }
}

/// Most directory levels [`remove_root`] descends (each level holds one open fd).
pub const MAX_DEPTH: usize = 256;

/// The longest allowed prefix that strictly contains `root`, and the components below it.
/// `root` must already have passed [`Config::check_root`].
fn split_under_prefix<'a>(cfg: &'a Config, root: &'a str) -> Result<(&'a str, Vec<&'a str>), TaskError> {
    let prefix = cfg
        .prefixes()
        .filter(|p| root != *p && root_under(root, p))
        .max_by_key(|p| p.trim_end_matches('/').len())
        .ok_or_else(|| TaskError::Refused(format!("{root} is not under an allowed prefix")))?;
    let rest = root[prefix.trim_end_matches('/').len()..].trim_start_matches('/');
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.iter().any(|c| c.is_empty() || *c == "." || *c == "..") {
        return Err(TaskError::Refused(format!("{root} is not a canonical path")));
    }
    Ok((prefix, parts))
}

/// Creates `root` with owner `uid:gid` and mode 0750 if it does not exist; missing directories
/// between the prefix and the root are created root-owned 0755. An existing root is left as it
/// is ([`Created::Existed`]). The prefix must exist.
///
/// Refused: a root outside the prefixes (per [`Config::check_root`]), a root that is or contains
/// an allowed prefix, a symlink or non-directory anywhere below the prefix, a uid or gid below
/// [`MIN_ID`] (a root is never created for root or a system account or group) or `u32::MAX`.
pub fn ensure_root(cfg: &Config, root: &str, uid: u32, gid: u32) -> Result<Created, TaskError> {
    cfg.check_root(root).map_err(|e| TaskError::Refused(e.to_string()))?;
    // Below MIN_ID are root and the system accounts and groups (`shadow` is 42): a root owned by
    // one of them would hand its files to whoever the daemon names.
    if uid < MIN_ID || gid < MIN_ID || uid == u32::MAX || gid == u32::MAX {
        return Err(TaskError::Refused(format!(
            "refusing to create {root} for uid {uid} gid {gid} (ids below {MIN_ID} belong to the system)"
        )));
    }
    refuse_prefix(cfg, root)?;
    let (prefix, parts) = split_under_prefix(cfg, root)?;
    walk::ensure(prefix, &parts, uid, gid)
}

/// Removes `root` and everything below it, without following any symlink.
///
/// `sharers` are the other users whose root is the same folder, lies inside it or contains it
/// (the caller knows the database; this function trusts the list). Refused: a non-empty
/// `sharers`, a root outside the prefixes, a root that is or contains an allowed prefix, a
/// symlink or non-directory at the root or on the way to it. A tree deeper than [`MAX_DEPTH`]
/// is an error, with what was above that depth already removed.
pub fn remove_root(cfg: &Config, root: &str, sharers: &[String], owner: u32) -> Result<Removed, TaskError> {
    check_remove(cfg, root, sharers, owner)?;
    let (prefix, parts) = split_under_prefix(cfg, root)?;
    walk::remove(prefix, &parts)
}

/// The rules [`remove_root`] applies before touching the disk (sharers, prefixes, owner), so a
/// caller can refuse before changing anything else (the CLI checks before deleting the user).
///
/// The root must be a directory owned by `owner`, the deleted user's uid, as gatehouse-tasks
/// creates every root ([`ensure_root`]). Uids are never reused, so a folder owned by anyone else
/// (a former employee's, one that was there before the user pointed at it) was not made for
/// this user and is never removed with them. A root that does not exist is fine (nothing to do).
pub fn check_remove(cfg: &Config, root: &str, sharers: &[String], owner: u32) -> Result<(), TaskError> {
    if !sharers.is_empty() {
        return Err(TaskError::Refused(format!("{root} is shared with {}", sharers.join(", "))));
    }
    cfg.check_root(root).map_err(|e| TaskError::Refused(e.to_string()))?;
    refuse_prefix(cfg, root)?;
    match std::fs::symlink_metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TaskError::Refused(format!("cannot check who owns {root}: {e}"))),
        // Symlinks and files are refused by the walk, with its own words.
        Ok(m) if !m.file_type().is_dir() => Ok(()),
        Ok(m) if std::os::unix::fs::MetadataExt::uid(&m) != owner => Err(TaskError::Refused(format!(
            "{root} is owned by uid {}, not by the user's uid {owner}: gatehouse removes only a root made for the user",
            std::os::unix::fs::MetadataExt::uid(&m)
        ))),
        Ok(_) => Ok(()),
    }
}

/// A root that is or contains an allowed prefix (possible when prefixes nest) is never created
/// for a user nor removed.
fn refuse_prefix(cfg: &Config, root: &str) -> Result<(), TaskError> {
    match cfg.prefixes().find(|p| root_under(p, root)) {
        Some(p) => Err(TaskError::Refused(format!("{root} is or contains the allowed prefix {p}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn picks_the_longest_prefix() {
        let c = Config::parse("home_base = \"/srv/g\"\nroot_prefixes = [\"/srv/g/data\"]").unwrap();
        let (p, parts) = split_under_prefix(&c, "/srv/g/data/a/b").unwrap();
        assert_eq!((p, parts), ("/srv/g/data", vec!["a", "b"]));
        let (p, parts) = split_under_prefix(&c, "/srv/g/data").unwrap();
        assert_eq!((p, parts), ("/srv/g", vec!["data"]));
    }

    #[test]
    fn refuses_prefixes_and_root_ids() {
        let c = Config::parse("home_base = \"/srv/g\"\nroot_prefixes = [\"/srv/g/data\"]").unwrap();
        assert!(matches!(remove_root(&c, "/srv/g/data", &[], 5000), Err(TaskError::Refused(_))));
        assert!(matches!(remove_root(&c, "/srv/g", &[], 5000), Err(TaskError::Refused(_))));
        assert!(matches!(ensure_root(&c, "/srv/g/data", 5, 5), Err(TaskError::Refused(_))));
        assert!(matches!(ensure_root(&c, "/srv/g/a", 0, 5000), Err(TaskError::Refused(_))));
        assert!(matches!(ensure_root(&c, "/srv/g/a", 5000, 42), Err(TaskError::Refused(_))));
        assert!(matches!(ensure_root(&c, "/srv/g/a", 5, u32::MAX), Err(TaskError::Refused(_))));
        assert!(matches!(remove_root(&c, "/srv/g/a", &["bob".into()], 5000), Err(TaskError::Refused(_))));
    }
}
