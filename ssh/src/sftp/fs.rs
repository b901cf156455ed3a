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
//! operation fails (`ELOOP`, [`FsError::Loop`]) instead of following it.
//!
//! Every path is checked to be canonical again here (defence in depth): anything else is
//! `EINVAL`. The root itself cannot be created, removed or renamed: `mkdir /` is `EEXIST`,
//! `rmdir`, `unlink` and `rename` of `/` (either side) are `EBUSY`.
//!
//! Objects that are not regular files are never opened for I/O: files are opened with
//! `O_NONBLOCK` (so a FIFO cannot block the session) and refused unless `fstat` says `S_IFREG`.
//!
//! chmod cannot be done by name safely on Linux before `fchmodat2` (6.6, and rustix does not
//! expose it): `fchmodat` always follows a final symlink. So [`Root::chmod`] opens the object
//! without following links and changes it through that fd: a directory with `fchmodat(fd, ".")`,
//! a regular file or FIFO with `fchmod` after opening it `O_RDONLY` (or `O_WRONLY` if that is
//! refused). Consequence: a non-root user cannot chmod a file it can neither read nor write
//! (mode 0o000), nor a directory it cannot search; those fail with `EACCES`. Devices and
//! sockets are refused ([`FsError::NotRegular`]) rather than opened; a symlink is `EOPNOTSUPP`
//! (as `lchmod` on Linux).
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, RenameFlags, ResolveFlags, Stat, Timespec, Timestamps};
use rustix::io::Errno;
use std::collections::VecDeque;
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
///
/// Note that `create`, `truncate` and `append` are passed to the kernel as given, even with
/// `write == false` (as OpenSSH's sftp-server does; Linux truncates on `O_RDONLY | O_TRUNC`):
/// the server must judge any of them as a write.
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

/// One directory entry: its name and its lstat (`None` if it vanished before the stat).
pub type Entry = (Vec<u8>, Option<Stat>);

/// Directory entries read in batches for READDIR.
pub struct DirReader {
    /// The open directory stream (an `O_RDONLY | O_DIRECTORY` fd inside).
    dir: Dir,
    /// An error met after some entries of a batch were read: returned by the next call.
    pending: Option<Errno>,
    /// Whether this is the root: its `..` is then given the root's own lstat, never that of
    /// the directory above the root.
    is_root: bool,
}

/// Resolution flags of every walk: stay beneath the root, follow no link of any kind.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);

/// Flags added to every open of an object for I/O: never follow, never block, never a tty.
const SAFE_OPEN: OFlags = OFlags::NOFOLLOW.union(OFlags::CLOEXEC).union(OFlags::NONBLOCK).union(OFlags::NOCTTY);

/// Attempts for races the kernel reports as `EAGAIN` (openat2) or `EEXIST`/`ENOENT` (IfMissing).
const RETRIES: usize = 8;

/// Maps an errno; `ELOOP` (a link met where none may be followed) becomes [`FsError::Loop`].
fn os(e: Errno) -> FsError {
    if e == Errno::LOOP {
        FsError::Loop
    } else {
        FsError::Os(e)
    }
}

/// Maps an errno of an `openat2` walk: `EXDEV` is its "would leave the root".
fn walk_err(e: Errno) -> FsError {
    if e == Errno::XDEV {
        FsError::Escape
    } else {
        os(e)
    }
}

/// Checks that `path` is canonical and returns it relative to the root (`.` for `/`).
fn relative(path: &str) -> Result<&str, FsError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(FsError::Os(Errno::INVAL));
    };
    if rest.is_empty() {
        return Ok(".");
    }
    if path.contains('\0') || rest.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(FsError::Os(Errno::INVAL));
    }
    Ok(rest)
}

/// Splits a relative path other than `.` into its parent (relative, `.` for the root) and name.
fn split(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => (".", rel),
    }
}

fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn timestamp(secs: u32) -> Timespec {
    Timespec { tv_sec: i64::from(secs), tv_nsec: 0 }
}

/// The open access mode and extra flags of an [`OpenMode`] (without `O_CREAT`/`O_EXCL`).
fn open_flags(how: &OpenMode) -> OFlags {
    let mut flags = match (how.read, how.write) {
        (true, true) => OFlags::RDWR,
        (false, true) => OFlags::WRONLY,
        _ => OFlags::RDONLY,
    };
    if how.append {
        flags |= OFlags::APPEND;
    }
    if how.truncate {
        flags |= OFlags::TRUNC;
    }
    flags | SAFE_OPEN
}

/// Refuses anything but a regular file, then makes its fd blocking again.
fn regular_only(fd: OwnedFd) -> Result<OwnedFd, FsError> {
    let st = rustix::fs::fstat(&fd)?;
    if file_type(&st) != FileType::RegularFile {
        return Err(FsError::NotRegular);
    }
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    rustix::fs::fcntl_setfl(&fd, flags.difference(OFlags::NONBLOCK))?;
    Ok(fd)
}

impl Root {
    /// Opens the root directory (following symlinks in `path`, which is the admin's).
    pub fn open(path: &Path) -> Result<Root, FsError> {
        let dir = rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Root { dir })
    }

    /// The root's fd (for Landlock).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// `openat2` of `rel` beneath the root, following no symlink at all.
    fn open_beneath(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, FsError> {
        let mut last = Errno::AGAIN;
        for _ in 0..RETRIES {
            match rustix::fs::openat2(&self.dir, rel, flags | OFlags::CLOEXEC, Mode::empty(), BENEATH) {
                Ok(fd) => return Ok(fd),
                Err(e @ (Errno::AGAIN | Errno::INTR)) => last = e,
                Err(e) => return Err(walk_err(e)),
            }
        }
        Err(FsError::Os(last))
    }

    /// The parent directory (`O_PATH`) of canonical `path` and its last name; `None` for `/`.
    fn parent<'p>(&self, path: &'p str) -> Result<Option<(OwnedFd, &'p str)>, FsError> {
        let rel = relative(path)?;
        if rel == "." {
            return Ok(None);
        }
        let (parent, name) = split(rel);
        let dir = self.open_beneath(parent, OFlags::PATH | OFlags::DIRECTORY)?;
        Ok(Some((dir, name)))
    }

    /// Resolves symlinks in canonical `path` inside the root and returns the canonical path they
    /// lead to. The last component is followed only if `follow_last`. Components that do not
    /// exist (and everything after them) are kept as they are, so a path to be created resolves
    /// to itself under its resolved parent. A symlink with an absolute target, or one whose `..`
    /// climbs above the root, is [`FsError::Escape`].
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String, FsError> {
        self.resolve_stat(path, follow_last).map(|(p, _)| p)
    }

    /// [`Root::resolve`], plus the lstat of the resolved path when the fast path already had it
    /// (no symlink on the way: the common case), which saves the caller a second walk.
    pub fn resolve_stat(&self, path: &str, follow_last: bool) -> Result<(String, Option<Stat>), FsError> {
        let rel = relative(path)?;
        if rel == "." {
            return Ok(("/".to_owned(), None));
        }
        // Fast path: the whole path opens with no symlink on the way (a final one is returned
        // as itself thanks to O_PATH | O_NOFOLLOW).
        if let Ok(fd) = self.open_beneath(rel, OFlags::PATH | OFlags::NOFOLLOW) {
            let st = rustix::fs::fstat(&fd)?;
            if !(follow_last && file_type(&st) == FileType::Symlink) {
                return Ok((path.to_owned(), Some(st)));
            }
        }
        Ok((self.resolve_slow(rel, follow_last)?, None))
    }

    /// The component-by-component walk of [`Root::resolve`] (a symlink or a missing component
    /// is on the way).
    fn resolve_slow(&self, rel: &str, follow_last: bool) -> Result<String, FsError> {
        let mut stack: Vec<String> = Vec::new();
        let mut pending: VecDeque<String> = rel.split('/').map(str::to_owned).collect();
        let mut links = 0usize;
        // Once a component is missing or not a directory, the rest is kept lexically.
        let mut lexical = false;
        while let Some(name) = pending.pop_front() {
            if name == "." || name.is_empty() {
                continue;
            }
            if name == ".." {
                if stack.pop().is_none() {
                    return Err(FsError::Escape);
                }
                continue;
            }
            if lexical {
                stack.push(name);
                continue;
            }
            let here = if stack.is_empty() { ".".to_owned() } else { stack.join("/") };
            let dir = self.open_beneath(&here, OFlags::PATH | OFlags::DIRECTORY)?;
            let st = match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => {
                    lexical = true;
                    stack.push(name);
                    continue;
                }
                Err(e) => return Err(os(e)),
            };
            let is_last = pending.is_empty();
            match file_type(&st) {
                FileType::Symlink if !is_last || follow_last => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(FsError::Loop);
                    }
                    let target = match rustix::fs::readlinkat(&dir, name.as_str(), Vec::new()) {
                        Ok(target) => target,
                        // Replaced by a non-link since the stat: look at it again (the link
                        // count bounds the retries).
                        Err(Errno::INVAL) => {
                            pending.push_front(name);
                            continue;
                        }
                        Err(e) => return Err(os(e)),
                    };
                    let target = String::from_utf8(target.into_bytes()).map_err(|_| FsError::Os(Errno::ILSEQ))?;
                    if target.starts_with('/') {
                        return Err(FsError::Escape);
                    }
                    if target.is_empty() {
                        return Err(FsError::Os(Errno::NOENT));
                    }
                    for part in target.rsplit('/') {
                        pending.push_front(part.to_owned());
                    }
                }
                FileType::Directory | FileType::Symlink => stack.push(name),
                _ => {
                    // Not a directory: if anything follows, the operation will fail (ENOTDIR).
                    lexical = true;
                    stack.push(name);
                }
            }
        }
        Ok(format!("/{}", stack.join("/")))
    }

    /// lstat of the resolved path (`/` is the root itself).
    pub fn lstat(&self, path: &str) -> Result<Stat, FsError> {
        match self.parent(path)? {
            None => Ok(rustix::fs::fstat(&self.dir)?),
            Some((dir, name)) => rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(os),
        }
    }

    /// Opens a regular file. Returns the fd and whether this call created it.
    pub fn open_file(&self, path: &str, how: &OpenMode) -> Result<(OwnedFd, bool), FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::NotRegular);
        };
        let flags = open_flags(how);
        let mode = Mode::from_raw_mode(safe_mode(how.mode));
        let open = |extra: OFlags| rustix::fs::openat(&dir, name, flags | extra, mode);
        if how.create != Create::Exclusive {
            // Do not even open a device, FIFO or directory that is there now; the fstat after
            // opening catches one swapped in meanwhile.
            match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if file_type(&st) == FileType::Symlink => return Err(FsError::Loop),
                Ok(st) if file_type(&st) != FileType::RegularFile => return Err(FsError::NotRegular),
                Ok(_) | Err(Errno::NOENT) => {}
                Err(e) => return Err(os(e)),
            }
        }
        match how.create {
            Create::No => Ok((regular_only(open(OFlags::empty()).map_err(os)?)?, false)),
            Create::Exclusive => Ok((regular_only(open(OFlags::CREATE | OFlags::EXCL).map_err(os)?)?, true)),
            Create::IfMissing => {
                // O_CREAT alone cannot tell whether it created: try exclusive, then plain, and
                // again if the file appeared or vanished in between.
                let mut last = Errno::EXIST;
                for _ in 0..RETRIES {
                    match open(OFlags::CREATE | OFlags::EXCL) {
                        Ok(fd) => return Ok((regular_only(fd)?, true)),
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(os(e)),
                    }
                    match open(OFlags::empty()) {
                        Ok(fd) => return Ok((regular_only(fd)?, false)),
                        Err(Errno::NOENT) => last = Errno::NOENT,
                        Err(e) => return Err(os(e)),
                    }
                }
                Err(FsError::Os(last))
            }
        }
    }

    /// Opens a directory for reading its entries.
    pub fn open_dir(&self, path: &str) -> Result<DirReader, FsError> {
        let rel = relative(path)?;
        let fd = self.open_beneath(rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW)?;
        Ok(DirReader { dir: Dir::new(fd)?, pending: None, is_root: rel == "." })
    }

    /// mkdir with `mode & 0o777`.
    pub fn mkdir(&self, path: &str, mode: u32) -> Result<(), FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::Os(Errno::EXIST));
        };
        rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(safe_mode(mode))).map_err(os)
    }

    pub fn rmdir(&self, path: &str) -> Result<(), FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::Os(Errno::BUSY));
        };
        rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(os)
    }

    /// Removes a file (or a symlink itself); never a directory.
    pub fn unlink(&self, path: &str) -> Result<(), FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::Os(Errno::BUSY));
        };
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(os)
    }

    /// Renames `from` to `to`; with `replace == false` fails with EEXIST if `to` exists
    /// (`RENAME_NOREPLACE`).
    pub fn rename(&self, from: &str, to: &str, replace: bool) -> Result<(), FsError> {
        let Some((from_dir, from_name)) = self.parent(from)? else {
            return Err(FsError::Os(Errno::BUSY));
        };
        let Some((to_dir, to_name)) = self.parent(to)? else {
            return Err(FsError::Os(Errno::BUSY));
        };
        let flags = if replace { RenameFlags::empty() } else { RenameFlags::NOREPLACE };
        rustix::fs::renameat_with(&from_dir, from_name, &to_dir, to_name, flags).map_err(os)
    }

    /// The target of the symlink at `path`, as stored.
    pub fn readlink(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::Os(Errno::INVAL));
        };
        Ok(rustix::fs::readlinkat(&dir, name, Vec::new()).map_err(os)?.into_bytes())
    }

    /// Sets permission bits (`mode & 0o777`: never setuid, setgid or sticky) of `path`.
    ///
    /// Never by name (that would follow a final symlink): see the module doc.
    pub fn chmod(&self, path: &str, mode: u32) -> Result<(), FsError> {
        let rel = relative(path)?;
        let mode = Mode::from_raw_mode(safe_mode(mode));
        // The object itself (a final symlink is returned as itself, not followed).
        let obj = self.open_beneath(rel, OFlags::PATH | OFlags::NOFOLLOW)?;
        match file_type(&rustix::fs::fstat(&obj)?) {
            FileType::Symlink => Err(FsError::Os(Errno::OPNOTSUPP)),
            // "." of a directory fd is that directory: no name, no link to follow.
            FileType::Directory => rustix::fs::chmodat(&obj, ".", mode, AtFlags::empty()).map_err(os),
            FileType::RegularFile | FileType::Fifo => {
                let fd = match self.open_beneath(rel, OFlags::RDONLY | SAFE_OPEN) {
                    Err(FsError::Os(Errno::ACCESS)) => self.open_beneath(rel, OFlags::WRONLY | SAFE_OPEN)?,
                    other => other?,
                };
                match file_type(&rustix::fs::fstat(&fd)?) {
                    FileType::RegularFile | FileType::Fifo | FileType::Directory => Ok(rustix::fs::fchmod(&fd, mode)?),
                    _ => Err(FsError::NotRegular),
                }
            }
            _ => Err(FsError::NotRegular),
        }
    }

    /// Sets atime and mtime (seconds) of `path`, not following a final symlink.
    pub fn set_times(&self, path: &str, atime: u32, mtime: u32) -> Result<(), FsError> {
        let times = Timestamps { last_access: timestamp(atime), last_modification: timestamp(mtime) };
        match self.parent(path)? {
            None => rustix::fs::utimensat(&self.dir, ".", &times, AtFlags::SYMLINK_NOFOLLOW).map_err(os),
            Some((dir, name)) => rustix::fs::utimensat(&dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(os),
        }
    }

    /// Truncates (or extends) the regular file at `path` to `size`.
    pub fn truncate(&self, path: &str, size: u64) -> Result<(), FsError> {
        let Some((dir, name)) = self.parent(path)? else {
            return Err(FsError::Os(Errno::ISDIR));
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if file_type(&st) == FileType::Symlink => return Err(FsError::Loop),
            Ok(st) if file_type(&st) != FileType::RegularFile => return Err(FsError::NotRegular),
            Ok(_) => {}
            Err(e) => return Err(os(e)),
        }
        let fd = rustix::fs::openat(&dir, name, OFlags::WRONLY | SAFE_OPEN, Mode::empty()).map_err(os)?;
        let fd = regular_only(fd)?;
        Ok(rustix::fs::ftruncate(&fd, size)?)
    }

    /// statvfs of the filesystem holding `path`.
    pub fn statvfs(&self, path: &str) -> Result<rustix::fs::StatVfs, FsError> {
        let rel = relative(path)?;
        let fd = self.open_beneath(rel, OFlags::PATH | OFlags::NOFOLLOW)?;
        Ok(rustix::fs::fstatvfs(&fd)?)
    }
}

impl DirReader {
    /// Up to `max` entries (`.` and `..` included, as the kernel gives them), each with its
    /// lstat (`None` if the entry vanished meanwhile). An empty batch means the end.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Entry>, FsError> {
        if let Some(e) = self.pending.take() {
            return Err(FsError::Os(e));
        }
        let mut batch = Vec::new();
        while batch.len() < max.max(1) {
            match self.dir.read() {
                None => break,
                Some(Ok(entry)) => {
                    let name = entry.file_name();
                    let stat_name = if self.is_root && name.to_bytes() == b".." { c"." } else { name };
                    let st = rustix::fs::statat(self.dir.fd()?, stat_name, AtFlags::SYMLINK_NOFOLLOW).ok();
                    batch.push((name.to_bytes().to_vec(), st));
                }
                Some(Err(e)) if batch.is_empty() => return Err(FsError::Os(e)),
                Some(Err(e)) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok(batch)
    }
}

/// Permission bits a SETSTAT or OPEN may set: never setuid, setgid or sticky.
pub const fn safe_mode(mode: u32) -> u32 {
    mode & 0o777
}
