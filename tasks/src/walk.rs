//! The directory walks behind [`ensure_root`](super::ensure_root) and
//! [`remove_root`](super::remove_root): everything below the prefix is reached through `openat`
//! on the directory fd of the level above, with `O_NOFOLLOW`, never through a path string.
//!
//! `std::fs::remove_dir_all` would also do for removal on current Rust (its documentation says
//! it "does not follow symbolic links and will simply remove the symbolic link itself", and
//! since Rust 1.58.1, CVE-2022-21658, it uses `openat`/`unlinkat` on Unix), but it gives no depth
//! bound and no control over crossing into another mount, so the walk is written out here.
use super::{Created, Removed, TaskError, MAX_DEPTH};
use rustix::fs::{
    fchmod, fchown, fstat, openat, statat, unlinkat, AtFlags, Dir, FileType, Gid, Mode, OFlags, Uid, CWD,
};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// How every directory below the prefix is opened.
const BELOW: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// Opens the prefix (root's configuration: followed as given). It must exist.
fn open_prefix(prefix: &str) -> Result<OwnedFd, TaskError> {
    match openat(CWD, prefix, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOENT) => {
            Err(TaskError::Refused(format!("the allowed prefix {prefix} does not exist; create it first")))
        }
        Err(e) => Err(TaskError::io("open", prefix, e)),
    }
}

/// Opens the directory `name` inside `dir` without following a symlink. `None`: nothing there.
fn open_below(dir: &OwnedFd, name: &str, path: &str) -> Result<Option<OwnedFd>, TaskError> {
    match openat(dir, name, BELOW, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP | Errno::NOTDIR) => {
            let what = match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => "a symlink",
                _ => "not a directory",
            };
            Err(TaskError::Refused(format!("{path} is {what}; refusing to follow or replace it")))
        }
        Err(e) => Err(TaskError::io("open", path, e)),
    }
}

/// Creates the directory `name` in `dir` with `mode` unless something is there. Returns whether
/// this call created it.
fn mkdir_below(dir: &OwnedFd, name: &str, path: &str, mode: u32) -> Result<bool, TaskError> {
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode)) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(TaskError::io("mkdir", path, e)),
    }
}

fn join(path: &mut String, name: &str) {
    path.push('/');
    path.push_str(name);
}

/// Walks (creating root-owned 0755 directories where missing) to the parent of the root, then
/// creates the root 0750 and gives it to `uid:gid`, or leaves an existing one as it is.
pub(super) fn ensure(prefix: &str, parts: &[&str], uid: u32, gid: u32) -> Result<Created, TaskError> {
    let (last, middle) = parts.split_last().ok_or_else(|| TaskError::Refused("an empty root".into()))?;
    let mut dir = open_prefix(prefix)?;
    let mut path = prefix.trim_end_matches('/').to_string();
    for name in middle {
        join(&mut path, name);
        dir = match open_below(&dir, name, &path)? {
            Some(fd) => fd,
            None => {
                let created = mkdir_below(&dir, name, &path, 0o755)?;
                let fd = open_below(&dir, name, &path)?.ok_or_else(|| TaskError::io("open", &path, Errno::NOENT))?;
                if created {
                    // The umask may have narrowed the mode.
                    fchmod(&fd, Mode::from_raw_mode(0o755)).map_err(|e| TaskError::io("chmod", &path, e))?;
                }
                fd
            }
        };
    }
    join(&mut path, last);
    let created = mkdir_below(&dir, last, &path, 0o750)?;
    let fd = match open_below(&dir, last, &path) {
        Ok(Some(fd)) => fd,
        Ok(None) => return Err(TaskError::io("open", &path, Errno::NOENT)),
        Err(e) => return Err(e),
    };
    if !created {
        return Ok(Created::Existed);
    }
    // Give away only the directory this call made: it must still be ours (not swapped for
    // another directory between mkdirat and openat).
    let give = || -> Result<(), Errno> {
        let st = fstat(&fd)?;
        if st.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(Errno::PERM);
        }
        fchmod(&fd, Mode::from_raw_mode(0o750))?;
        fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
    };
    if let Err(e) = give() {
        drop(fd);
        let _ = unlinkat(&dir, *last, AtFlags::REMOVEDIR);
        return Err(TaskError::io("chown", &path, e));
    }
    Ok(Created::Created)
}

/// Walks to the root (refusing symlinks) and removes it with everything below it.
pub(super) fn remove(prefix: &str, parts: &[&str]) -> Result<Removed, TaskError> {
    let (last, middle) = parts.split_last().ok_or_else(|| TaskError::Refused("an empty root".into()))?;
    let mut dir = open_prefix(prefix)?;
    let mut path = prefix.trim_end_matches('/').to_string();
    for name in middle {
        join(&mut path, name);
        dir = match open_below(&dir, name, &path)? {
            Some(fd) => fd,
            None => return Ok(Removed::Absent),
        };
    }
    join(&mut path, last);
    let Some(fd) = open_below(&dir, last, &path)? else { return Ok(Removed::Absent) };
    let dev = fstat(&fd).map_err(|e| TaskError::io("stat", &path, e))?.st_dev;
    clear(&fd, &path, dev, 1)?;
    drop(fd);
    unlinkat(&dir, *last, AtFlags::REMOVEDIR).map_err(|e| TaskError::io("rmdir", &path, e))?;
    Ok(Removed::Removed)
}

/// Empties the directory `dir` (at `path`, on device `dev`): symlinks and files are unlinked,
/// directories emptied and removed. Never follows a symlink, never enters another mount.
fn clear(dir: &OwnedFd, path: &str, dev: u64, depth: usize) -> Result<(), TaskError> {
    if depth > MAX_DEPTH {
        return Err(TaskError::Refused(format!(
            "{path} lies more than {MAX_DEPTH} levels below the root; remove the rest by hand"
        )));
    }
    // Names first, then changes: the directory is not modified while it is being read.
    let mut names: Vec<CString> = Vec::new();
    for entry in Dir::read_from(dir).map_err(|e| TaskError::io("read", path, e))? {
        let entry = entry.map_err(|e| TaskError::io("read", path, e))?;
        let n = entry.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            names.push(n.to_owned());
        }
    }
    for name in names {
        let child = format!("{path}/{}", name.to_string_lossy());
        let st = match statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(TaskError::io("stat", &child, e)),
        };
        let flags = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            if st.st_dev != dev {
                return Err(TaskError::Refused(format!("{child} is another mount; unmount it first")));
            }
            let fd = match openat(dir, name.as_c_str(), BELOW, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(TaskError::io("open", &child, e)),
            };
            clear(&fd, &child, dev, depth + 1)?;
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        match unlinkat(dir, name.as_c_str(), flags) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(TaskError::io("unlink", &child, e)),
        }
    }
    Ok(())
}
