//! Landlock fences, so that a bug in gatehouse-sftp, or in the scp or rsync it execs, still
//! cannot reach outside the user's root. Every access right the chosen ABI knows (files, TCP,
//! abstract sockets and signals) is handled, so whatever a rule below does not grant is denied.
//! The fence is best effort across kernels: an old or Landlock-less kernel gets a partial or no
//! fence (reported, never an error, since every request is also checked in code), but a kernel
//! that supports Landlock and refuses our ruleset is an error. `restrict_self` also sets
//! `no_new_privs`, so nothing exec'd afterwards gains privileges.
//!
//! [`Fence::Sftp`] grants the root alone: the SFTP server needs nothing else once it has its
//! config, its root fd and its already-open daemon socket. [`Fence::Legacy`] adds what a
//! dynamically linked scp or rsync needs to start (checked on Debian 12, see DESIGN "Checked
//! facts"): `/usr` read+execute, `/dev/null` read-write, and read-only `/etc/nsswitch.conf`,
//! `/etc/passwd`, `/etc/group`, and files (not listings) under `/var/lib/gatehouse`, for the NSS
//! snapshot (scp looks its own user up and gatehouse users live in the snapshot). Never all of
//! `/etc`.
//!
//! ABI: rights up to [`ABI::V6`] (fs rights of V5 incl. truncate and device ioctls, TCP
//! bind/connect, abstract UNIX socket and signal scoping). Not V9's `ResolveUnix`: it would stop
//! a session from ever reconnecting to the daemon's socket by path, and it is untested here.

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, LandlockStatus, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetError, RulesetStatus, Scope, ABI,
};
use std::os::fd::BorrowedFd;

/// The newest Landlock ABI whose rights we handle (see the module doc).
const ABI_USED: ABI = ABI::V6;

/// Read-only files a legacy (scp/rsync) process may open, each only if it exists.
const LEGACY_READ_FILES: &[&str] = &["/etc/nsswitch.conf", "/etc/passwd", "/etc/group"];

/// The directory of the NSS snapshot: its files are readable (not listable) by a legacy process.
/// A Landlock rule binds an inode, and gatehoused replaces the snapshot by renaming a new file
/// over it, so a rule on the file itself goes stale the moment a change is exported (scp then
/// fails with "unknown user"). The directory's other file, the database, is 0600 and owned by
/// the daemon's user, so file permissions still keep it from the user.
const LEGACY_READ_DIR: &str = "/var/lib/gatehouse";

/// Which process is being fenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    /// gatehouse-sftp serving SFTP itself: the root only.
    Sftp,
    /// Just before exec of `/usr/bin/scp` or `/usr/bin/rsync`: the root plus what they need to run.
    Legacy,
}

/// How much of the fence the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Every right we handle is enforced.
    Full,
    /// The kernel's older ABI enforces only some of them (e.g. ABI 2 has no truncate right).
    Partial,
    /// The kernel has no Landlock (or it is disabled): nothing is enforced.
    None,
}

/// The outcome of [`confine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confined {
    /// How much is enforced.
    pub enforcement: Enforcement,
    /// The kernel's Landlock ABI (0 when it has none); for logs only.
    pub kernel_abi: i32,
    /// Whether `no_new_privs` is now set.
    pub no_new_privs: bool,
}

/// Why the fence could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// A path the legacy fence grants exists but could not be opened.
    #[error("cannot open {path} for the Landlock fence: {source}")]
    Open {
        /// The path.
        path: &'static str,
        /// What `open` said.
        source: landlock::PathFdError,
    },
    /// The kernel supports Landlock but refused the ruleset.
    #[error("cannot apply the Landlock fence: {0}")]
    Ruleset(#[from] RulesetError),
}

/// Confines the calling thread (and everything it later forks or execs) to `root`, plus the
/// extra paths of `fence`. Call it single-threaded or just before exec: Landlock applies to the
/// calling thread only.
pub fn confine(root: BorrowedFd<'_>, fence: Fence) -> Result<Confined, ConfineError> {
    let all_fs = AccessFs::from_all(ABI_USED);
    let ruleset = Ruleset::default()
        .handle_access(all_fs)?
        .handle_access(AccessNet::from_all(ABI_USED))?
        .scope(Scope::from_all(ABI_USED))?;
    let mut created = ruleset.create()?.add_rule(PathBeneath::new(root, all_fs))?;
    if fence == Fence::Legacy {
        let read_file: BitFlags<AccessFs> = AccessFs::from_read(ABI_USED) & AccessFs::from_file(ABI_USED);
        created = created.add_rule(PathBeneath::new(open("/usr")?, AccessFs::from_read(ABI_USED)))?;
        let rw_file = (AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate) & AccessFs::from_file(ABI_USED);
        created = created.add_rule(PathBeneath::new(open("/dev/null")?, rw_file))?;
        for path in LEGACY_READ_FILES {
            if std::path::Path::new(path).exists() {
                created = created.add_rule(PathBeneath::new(open(path)?, read_file & !AccessFs::Execute))?;
            }
        }
        if std::path::Path::new(LEGACY_READ_DIR).is_dir() {
            created = created.add_rule(PathBeneath::new(open(LEGACY_READ_DIR)?, read_file & !AccessFs::Execute))?;
        }
    }
    let status = created.no_new_privs(true).restrict_self()?;
    let kernel_abi = match status.landlock {
        LandlockStatus::Available { effective_abi, kernel_abi } => kernel_abi.unwrap_or(effective_abi as i32),
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => 0,
    };
    let enforcement = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial,
        RulesetStatus::NotEnforced => Enforcement::None,
    };
    Ok(Confined { enforcement, kernel_abi, no_new_privs: status.no_new_privs })
}

/// Opens a path the legacy fence grants.
fn open(path: &'static str) -> Result<PathFd, ConfineError> {
    PathFd::new(path).map_err(|source| ConfineError::Open { path, source })
}
