//! Every filesystem access of gatehouse-sftp, beneath a directory fd of the user's root.
//!
//! Paths given to this module are canonical client paths (`/` is the root; see
//! `gatehouse_policy::path::canonicalize`). The server first calls [`Root::resolve`], which
//! follows symlinks already in the tree *inside the root* and returns the path they lead to
//! (DESIGN step 9), then decides on that path, then calls one operation here with the resolved
//! path. Operations never follow a symlink at all: the walk to the parent directory uses
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` and the last
//! component is acted on with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`. So the object acted on is the
//! object decided on: if a directory is swapped for a symlink between the two steps, the
//! operation fails (`ELOOP`) instead of following it.
//!
//! SKELETON: signatures fixed (the server is written against them); bodies being filled in.
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::Stat;
use std::path::Path;

/// Most symlinks followed in one resolution (as the kernel's 40).
pub const MAX_SYMLINKS: usize = 40;

/// Why an operation failed. The server maps each to an SFTP status.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A symlink in the path leads outside the root (absolute target, or `..` above the root).
    #[error("a symbolic link leads outside the root")]
    Escape,
    /// More than [`MAX_SYMLINKS`] links, or a link met where none may be followed (a race).
    #[error("too many levels of symbolic links")]
    Loop,
    /// The object is not a regular file (a FIFO, socket or device), where one is needed.
    #[error("not a regular file")]
    NotRegular,
    /// Any other error from the kernel (ENOENT, EEXIST, ENOTEMPTY, EACCES, …).
    #[error("{0}")]
    Os(#[from] rustix::io::Errno),
}

/// How to open a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenMode {
    pub read: bool,
    pub write: bool,
    pub append: bool,
    pub create: Create,
    pub truncate: bool,
    /// Permission bits for a new file (masked with 0o777; setuid/setgid/sticky never set;
    /// the process umask applies).
    pub mode: u32,
}

/// Whether OPEN may create the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Create {
    /// The file must exist.
    #[default]
    No,
    /// Create it if missing (`O_CREAT`).
    IfMissing,
    /// It must not exist (`O_CREAT | O_EXCL`).
    Exclusive,
}

/// The user's root, opened once at start (`O_PATH | O_DIRECTORY`).
pub struct Root {
    dir: OwnedFd,
}

/// Directory entries read in batches for READDIR.
pub struct DirReader {
    dir: OwnedFd,
}

impl Root {
    /// Opens the root directory (following symlinks in `path`, which is the admin's).
    pub fn open(_path: &Path) -> Result<Root, FsError> {
        Err(FsError::Loop)
    }

    /// The root's fd (for Landlock).
    pub fn fd(&self) -> BorrowedFd<'_> {
        use rustix::fd::AsFd;
        self.dir.as_fd()
    }

    /// Resolves symlinks in canonical `path` inside the root and returns the canonical path they
    /// lead to. The last component is followed only if `follow_last`. Components that do not
    /// exist (and everything after them) are kept as they are, so a path to be created resolves
    /// to itself under its resolved parent. A symlink with an absolute target, or one whose `..`
    /// climbs above the root, is [`FsError::Escape`].
    pub fn resolve(&self, _path: &str, _follow_last: bool) -> Result<String, FsError> {
        Err(FsError::Loop)
    }

    /// lstat of the resolved path (`/` is the root itself).
    pub fn lstat(&self, _path: &str) -> Result<Stat, FsError> {
        Err(FsError::Loop)
    }

    /// Opens a regular file. Returns the fd and whether this call created it.
    pub fn open_file(&self, _path: &str, _how: &OpenMode) -> Result<(OwnedFd, bool), FsError> {
        Err(FsError::Loop)
    }

    /// Opens a directory for reading its entries.
    pub fn open_dir(&self, _path: &str) -> Result<DirReader, FsError> {
        Err(FsError::Loop)
    }

    /// mkdir with `mode & 0o777`.
    pub fn mkdir(&self, _path: &str, _mode: u32) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    pub fn rmdir(&self, _path: &str) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// Removes a file (or a symlink itself); never a directory.
    pub fn unlink(&self, _path: &str) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// Renames `from` to `to`; with `replace == false` fails with EEXIST if `to` exists
    /// (`RENAME_NOREPLACE`).
    pub fn rename(&self, _from: &str, _to: &str, _replace: bool) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// The target of the symlink at `path`, as stored.
    pub fn readlink(&self, _path: &str) -> Result<Vec<u8>, FsError> {
        Err(FsError::Loop)
    }

    /// Sets permission bits (`mode & 0o777`: never setuid, setgid or sticky) of `path`.
    pub fn chmod(&self, _path: &str, _mode: u32) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// Sets atime and mtime (seconds) of `path`, not following a final symlink.
    pub fn set_times(&self, _path: &str, _atime: u32, _mtime: u32) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// Truncates (or extends) the regular file at `path` to `size`.
    pub fn truncate(&self, _path: &str, _size: u64) -> Result<(), FsError> {
        Err(FsError::Loop)
    }

    /// statvfs of the filesystem holding `path`.
    pub fn statvfs(&self, _path: &str) -> Result<rustix::fs::StatVfs, FsError> {
        Err(FsError::Loop)
    }
}

impl DirReader {
    /// Up to `max` entries (`.` and `..` included, as the kernel gives them), each with its
    /// lstat (`None` if the entry vanished meanwhile). An empty batch means the end.
    pub fn next_batch(&mut self, _max: usize) -> Result<Vec<(Vec<u8>, Option<Stat>)>, FsError> {
        let _ = &self.dir;
        Ok(Vec::new())
    }
}

/// Permission bits a SETSTAT or OPEN may set: never setuid, setgid or sticky.
pub const fn safe_mode(mode: u32) -> u32 {
    mode & 0o777
}
