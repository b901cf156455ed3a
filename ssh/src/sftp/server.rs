//! The SFTP request handlers: decode → decide (the policy core) → act → exactly one reply.
//!
//! As in OpenSSH's `sftp-server.c`, dispatch is one `match` over the decoded request, and each
//! handler is short: it turns the client's path into a canonical path once, resolves symlinks
//! inside the root ([`Root::resolve`]), asks [`Policy::decide`] about the resolved path, and only
//! then touches the disk, through [`Root`], which follows no symlink at all. Handle requests are
//! judged by the path and the access recorded at OPEN (and re-judged when the policy changes),
//! two-handle requests (copy-data) on both handles.
//!
//! Every request with an id gets exactly one reply: handlers return a [`Reply`] or a [`Fail`],
//! and [`Server::handle`] writes it. A denial is `PERMISSION_DENIED`; an entry the user may not
//! see (`none`) is `NO_SUCH_FILE`, and is left out of listings; an unknown request is
//! `OP_UNSUPPORTED`. Denials are logged with the rule that decided; the client is told only
//! "Permission denied", since the reason could name a rule for a folder the user cannot see.
//!
//! Choices where the protocol leaves room:
//! - A client path that is not UTF-8 cannot be matched against rules: `NO_SUCH_FILE`. Entries
//!   whose names are not UTF-8 are left out of listings for the same reason.
//! - SFTP v3 RENAME never replaces an existing target (`FAILURE`, as OpenSSH); posix-rename does,
//!   and then needs the overwrite and delete rights on the target. Without them the kernel is
//!   asked not to replace (`RENAME_NOREPLACE`), so a target created after the check survives.
//! - Writing into an existing file (truncating or not) is an overwrite; a file created through
//!   this handle may be written freely. A create is exclusive whenever the user lacks the
//!   overwrite right, so a file that appears between the check and the open is never clobbered.
//! - READLINK returns the stored target only if it is relative and resolves inside the root, so
//!   no host path leaks, and only if neither the entries its text names nor where it leads lie
//!   in a `none` subtree (else `NO_SUCH_FILE`, as for the hidden entry itself).
//! - Times in `ls -l` lines are UTC: the server cannot read the host's zone file once confined.
use super::codec::{self, Attrs, NameEntry, Out, Request, Status, MAX_NAMES_PER_READDIR, MAX_PACKET, MAX_READ};
use super::fs::{safe_mode, Create, DirReader, FsError, OpenMode, Root};
use crate::syslog::Syslog;
use gatehouse_policy::path;
use gatehouse_policy::rules::{Op, Policy, Request as Ask};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::Stat;
use rustix::io::Errno;

/// Most handles open at once (files and directories).
pub const MAX_HANDLES: usize = 512;

/// The extensions advertised in VERSION (hardlink is not: it is always refused).
pub const EXTENSIONS: &[(&str, &str)] = &[
    ("posix-rename@openssh.com", "1"),
    ("statvfs@openssh.com", "2"),
    ("fstatvfs@openssh.com", "2"),
    ("fsync@openssh.com", "1"),
    ("lsetstat@openssh.com", "1"),
    ("limits@openssh.com", "1"),
    ("expand-path@openssh.com", "1"),
    ("copy-data", "1"),
    ("home-directory", "1"),
    ("users-groups-by-id@openssh.com", "1"),
];

/// Who the session belongs to: the only names a reply ever shows.
#[derive(Clone, Debug)]
pub struct Identity {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// A failed request: the status and the message the client gets.
#[derive(Debug)]
pub struct Fail {
    status: Status,
    msg: String,
}

impl Fail {
    fn new(status: Status, msg: impl Into<String>) -> Fail {
        Fail { status, msg: msg.into() }
    }
    fn denied() -> Fail {
        Fail::new(Status::PermissionDenied, "Permission denied")
    }
    fn no_such_file() -> Fail {
        Fail::new(Status::NoSuchFile, "No such file")
    }
}

impl From<FsError> for Fail {
    fn from(e: FsError) -> Fail {
        match e {
            FsError::Escape => Fail::denied(),
            FsError::Loop => Fail::new(Status::Failure, "Too many levels of symbolic links"),
            FsError::NotRegular => Fail::new(Status::Failure, "Not a regular file"),
            FsError::Os(errno) => errno_fail(errno),
        }
    }
}

fn errno_fail(e: Errno) -> Fail {
    match e {
        Errno::NOENT | Errno::NOTDIR => Fail::no_such_file(),
        Errno::ACCESS | Errno::PERM | Errno::ROFS => Fail::denied(),
        Errno::EXIST => Fail::new(Status::Failure, "File exists"),
        Errno::NOTEMPTY => Fail::new(Status::Failure, "Directory not empty"),
        Errno::ISDIR => Fail::new(Status::Failure, "Is a directory"),
        Errno::NOSPC | Errno::DQUOT => Fail::new(Status::Failure, "No space left on device"),
        Errno::LOOP => Fail::new(Status::Failure, "Too many levels of symbolic links"),
        other => Fail::new(Status::Failure, std::io::Error::from(other).to_string()),
    }
}

/// What a successful handler answers.
enum Reply {
    Ok,
    Handle([u8; 8]),
    Attrs(Attrs),
    /// One NAME entry: (filename, longname).
    Name(String, String),
    /// The handler already appended its one reply (DATA, NAME lists, EXTENDED_REPLY).
    Written,
}

/// What an open file handle may do, decided at OPEN.
struct FileHandle {
    fd: OwnedFd,
    /// The resolved canonical path it was opened at.
    path: String,
    read: bool,
    write: bool,
    append: bool,
    /// Created by this OPEN (writing into it is an upload, not an overwrite).
    created: bool,
    /// A policy change took its access away.
    revoked: bool,
    read_bytes: u64,
    written_bytes: u64,
}

struct DirHandle {
    reader: DirReader,
    path: String,
    done: bool,
    revoked: bool,
}

enum Handle {
    File(FileHandle),
    Dir(DirHandle),
}

/// Open handles. A handle is 8 bytes: slot index and a generation, so a closed handle's bytes
/// never reach a later handle in the same slot.
#[derive(Default)]
struct Handles {
    slots: Vec<Option<(u32, Handle)>>,
    next_gen: u32,
}

impl Handles {
    fn insert(&mut self, h: Handle) -> Result<[u8; 8], Fail> {
        let idx = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX_HANDLES => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Fail::new(Status::Failure, "Too many open handles")),
        };
        self.next_gen = self.next_gen.wrapping_add(1);
        self.slots[idx] = Some((self.next_gen, h));
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&(idx as u32).to_be_bytes());
        out[4..].copy_from_slice(&self.next_gen.to_be_bytes());
        Ok(out)
    }

    fn slot(raw: &[u8]) -> Option<(usize, u32)> {
        let b: [u8; 8] = raw.try_into().ok()?;
        let idx = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        Some((idx, u32::from_be_bytes([b[4], b[5], b[6], b[7]])))
    }

    fn get(&self, raw: &[u8]) -> Result<&Handle, Fail> {
        let (i, g) = Handles::slot(raw).ok_or_else(bad_handle)?;
        match self.slots.get(i) {
            Some(Some((gen, h))) if *gen == g => Ok(h),
            _ => Err(bad_handle()),
        }
    }

    fn get_mut(&mut self, raw: &[u8]) -> Result<&mut Handle, Fail> {
        let (i, g) = Handles::slot(raw).ok_or_else(bad_handle)?;
        match self.slots.get_mut(i) {
            Some(Some((gen, h))) if *gen == g => Ok(h),
            _ => Err(bad_handle()),
        }
    }

    fn remove(&mut self, raw: &[u8]) -> Result<Handle, Fail> {
        self.get(raw)?;
        let (i, _) = Handles::slot(raw).ok_or_else(bad_handle)?;
        self.slots[i].take().map(|(_, h)| h).ok_or_else(bad_handle)
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut Handle> {
        self.slots.iter_mut().flatten().map(|(_, h)| h)
    }
}

fn bad_handle() -> Fail {
    Fail::new(Status::Failure, "Invalid handle")
}

fn file(h: &Handle) -> Result<&FileHandle, Fail> {
    match h {
        Handle::File(f) if !f.revoked => Ok(f),
        Handle::File(_) => Err(Fail::denied()),
        Handle::Dir(_) => Err(Fail::new(Status::Failure, "Is a directory handle")),
    }
}

/// One SFTP session's state: the root, the policy, the handles and the output buffer.
pub struct Server {
    root: Root,
    policy: Policy,
    max_file_size: Option<u64>,
    me: Identity,
    log: Syslog,
    handles: Handles,
    /// Replies not yet written to the client.
    pub out: Vec<u8>,
}

impl Server {
    pub fn new(root: Root, policy: Policy, max_file_size: Option<u64>, me: Identity, log: Syslog) -> Server {
        Server { root, policy, max_file_size, me, log, handles: Handles::default(), out: Vec::with_capacity(1 << 20) }
    }

    /// The log the session writes to.
    pub fn log(&self) -> &Syslog {
        &self.log
    }

    /// Puts a new policy in force, and re-judges every open handle under it: a handle whose
    /// access the new rules take away answers `PERMISSION_DENIED` from then on.
    pub fn set_policy(&mut self, policy: Policy, max_file_size: Option<u64>) {
        self.policy = policy;
        self.max_file_size = max_file_size;
        let policy = &self.policy;
        let mut revoked = Vec::new();
        for h in self.handles.all_mut() {
            match h {
                Handle::File(f) => {
                    let read_ok = !f.read || policy.decide(&Ask::new(Op::Download, &f.path)).allowed;
                    let op = if f.created { Op::Upload } else { Op::Overwrite };
                    let write_ok = !f.write || policy.decide(&Ask::new(op, &f.path)).allowed;
                    if (!read_ok || !write_ok) && !f.revoked {
                        f.revoked = true;
                        revoked.push(f.path.clone());
                    }
                }
                Handle::Dir(d) => {
                    if !policy.decide(&Ask::new(Op::List, &d.path)).allowed && !d.revoked {
                        d.revoked = true;
                        revoked.push(d.path.clone());
                    }
                }
            }
        }
        for p in revoked {
            self.log.warn(&format!("policy changed: access to open handle {p} withdrawn"));
        }
    }

    /// Handles one packet body (type byte first) and appends exactly one reply for its id.
    /// Returns an error only when the session cannot go on (a packet it cannot even frame).
    pub fn handle(&mut self, body: &[u8]) {
        let req = match codec::decode(body) {
            Ok(r) => r,
            Err(codec::DecodeError::Malformed { kind, id, what }) => {
                self.log.warn(&format!("malformed packet of type {kind}: {what}"));
                if let Some(id) = id {
                    Out(&mut self.out).status(id, Status::BadMessage, "Malformed request");
                }
                return;
            }
            Err(e) => {
                self.log.warn(&format!("bad packet: {e}"));
                return;
            }
        };
        let id = match request_id(&req) {
            Some(id) => id,
            None => {
                match req {
                    Request::Init { version } => {
                        self.log.info(&format!("session opened for {} (client version {version})", self.me.name));
                        Out(&mut self.out).version(EXTENSIONS);
                    }
                    other => self.log.warn(&format!("request without an id ignored: {other:?}")),
                }
                return;
            }
        };
        let result = self.dispatch(req);
        let mut out = Out(&mut self.out);
        match result {
            Ok(Reply::Ok) => out.status(id, Status::Ok, "Success"),
            Ok(Reply::Handle(h)) => out.handle(id, &h),
            Ok(Reply::Attrs(a)) => out.attrs(id, &a),
            Ok(Reply::Name(f, l)) => {
                out.name(id, &[NameEntry { filename: f.as_bytes(), longname: l.as_bytes(), attrs: Attrs::default() }])
            }
            Ok(Reply::Written) => {}
            Err(f) => out.status(id, f.status, &f.msg),
        }
    }

    fn dispatch(&mut self, req: Request<'_>) -> Result<Reply, Fail> {
        match req {
            Request::Init { .. } => Ok(Reply::Ok),
            Request::Open { path, pflags, attrs, .. } => self.open(path, pflags, &attrs),
            Request::Close { handle, .. } => self.close(handle),
            Request::Read { id, handle, offset, len } => self.read(id, handle, offset, len),
            Request::Write { handle, offset, data, .. } => self.write(handle, offset, data),
            Request::Lstat { path, .. } => self.stat(path, false),
            Request::Stat { path, .. } => self.stat(path, true),
            Request::Fstat { handle, .. } => self.fstat(handle),
            Request::Setstat { path, attrs, .. } => self.setstat(path, &attrs, true),
            Request::Lsetstat { path, attrs, .. } => self.setstat(path, &attrs, false),
            Request::Fsetstat { handle, attrs, .. } => self.fsetstat(handle, &attrs),
            Request::Opendir { path, .. } => self.opendir(path),
            Request::Readdir { id, handle } => self.readdir(id, handle),
            Request::Remove { path, .. } => self.remove(path),
            Request::Mkdir { path, attrs, .. } => self.mkdir(path, &attrs),
            Request::Rmdir { path, .. } => self.rmdir(path),
            Request::Realpath { path, .. } => self.realpath(path),
            Request::ExpandPath { path, .. } => self.expand_path(path),
            Request::Rename { from, to, .. } => self.rename(from, to, false),
            Request::PosixRename { from, to, .. } => self.rename(from, to, true),
            Request::Readlink { path, .. } => self.readlink(path),
            Request::Symlink { link, .. } => self.refuse_link(Op::Symlink, link),
            Request::Hardlink { to, .. } => self.refuse_link(Op::Hardlink, to),
            Request::Statvfs { id, path } => self.statvfs(id, path),
            Request::Fstatvfs { id, handle } => self.fstatvfs(id, handle),
            Request::Fsync { handle, .. } => {
                let f = file(self.handles.get(handle)?)?;
                rustix::fs::fsync(&f.fd).map_err(errno_fail)?;
                Ok(Reply::Ok)
            }
            Request::Limits { id } => {
                let max_write = (MAX_PACKET - 1024) as u64;
                Out(&mut self.out).limits(id, MAX_PACKET as u64, u64::from(MAX_READ), max_write, MAX_HANDLES as u64);
                Ok(Reply::Written)
            }
            Request::CopyData { read_handle, read_offset, read_len, write_handle, write_offset, .. } => {
                self.copy_data(read_handle, read_offset, read_len, write_handle, write_offset)
            }
            Request::HomeDirectory { user, .. } => {
                if user.is_empty() || user == self.me.name.as_bytes() {
                    Ok(Reply::Name("/".into(), "/".into()))
                } else {
                    Err(Fail::no_such_file())
                }
            }
            Request::UsersGroupsById { id, uids, gids } => {
                let me = &self.me;
                let users: Vec<&str> = uids.iter().map(|&u| if u == me.uid { me.name.as_str() } else { "" }).collect();
                let groups: Vec<&str> = gids.iter().map(|&g| if g == me.gid { me.name.as_str() } else { "" }).collect();
                if Out::users_groups_len(&users, &groups) > MAX_PACKET {
                    return Err(Fail::new(Status::Failure, "Too many ids in one request"));
                }
                Out(&mut self.out).users_groups(id, &users, &groups);
                Ok(Reply::Written)
            }
            Request::UnknownExtended { name, .. } => {
                self.log.info(&format!("unsupported extension {:?}", String::from_utf8_lossy(name)));
                Err(Fail::new(Status::OpUnsupported, "Unsupported extension"))
            }
            Request::Unknown { kind, .. } => {
                self.log.info(&format!("unsupported request type {kind}"));
                Err(Fail::new(Status::OpUnsupported, "Unsupported request"))
            }
        }
    }

    // --------------------------------------------------------------------------------------
    // Deciding
    // --------------------------------------------------------------------------------------

    /// Asks the policy; a denial is logged with its reason and answered without it.
    fn check(&self, ask: Ask<'_>) -> Result<(), Fail> {
        let d = self.policy.decide(&ask);
        if d.allowed {
            return Ok(());
        }
        let target = ask.to.map(|t| format!(" -> {t}")).unwrap_or_default();
        self.log.warn(&format!(
            "denied {} {}{target} for {}: {}",
            ask.op,
            ask.path,
            self.me.name,
            d.explain(&self.policy)
        ));
        Err(if d.hidden { Fail::no_such_file() } else { Fail::denied() })
    }

    /// The client's path, canonical and with symlinks resolved inside the root.
    fn resolve(&self, raw: &[u8], follow_last: bool) -> Result<String, Fail> {
        self.resolve_stat(raw, follow_last).map(|(p, _)| p)
    }

    /// [`Server::resolve`], plus the resolved path's lstat when the walk already had it.
    fn resolve_stat(&self, raw: &[u8], follow_last: bool) -> Result<(String, Option<Stat>), Fail> {
        let s = std::str::from_utf8(raw).map_err(|_| Fail::no_such_file())?;
        let canonical = path::canonicalize("/", s).map_err(|_| Fail::no_such_file())?;
        match self.root.resolve_stat(&canonical, follow_last) {
            Ok(p) => Ok(p),
            Err(FsError::Escape) => {
                self.log
                    .warn(&format!("denied {canonical} for {}: a symbolic link leads outside the root", self.me.name));
                Err(Fail::denied())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn lstat_opt(&self, p: &str) -> Result<Option<Stat>, Fail> {
        match self.root.lstat(p) {
            Ok(st) => Ok(Some(st)),
            Err(FsError::Os(Errno::NOENT)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Where a write at `offset` through `f` really starts: the end of the file for an `APPEND`
    /// handle (`pwrite` on an `O_APPEND` fd appends whatever offset it is given), else `offset`.
    /// Every write path (WRITE, copy-data) judges the size cap from here.
    fn write_start(f: &FileHandle, offset: u64) -> Result<u64, Fail> {
        if f.append {
            Ok(rustix::fs::fstat(&f.fd).map_err(errno_fail)?.st_size.max(0) as u64)
        } else {
            Ok(offset)
        }
    }

    fn size_allowed(&self, end: u64) -> Result<(), Fail> {
        match self.max_file_size {
            Some(max) if end > max => {
                self.log.warn(&format!("denied write past {max} bytes for {}: max_file_size", self.me.name));
                Err(Fail::new(Status::PermissionDenied, format!("File size limit ({max} bytes) exceeded")))
            }
            _ => Ok(()),
        }
    }

    // --------------------------------------------------------------------------------------
    // Files
    // --------------------------------------------------------------------------------------

    fn open(&mut self, raw: &[u8], pflags: u32, attrs: &Attrs) -> Result<Reply, Fail> {
        use codec::pflags as pf;
        let (p, st) = self.resolve_stat(raw, true)?;
        let read = pflags & pf::READ != 0;
        let write = pflags & (pf::WRITE | pf::APPEND) != 0;
        let (creat, trunc, excl) = (pflags & pf::CREAT != 0, pflags & pf::TRUNC != 0, pflags & pf::EXCL != 0);
        let existing = match st {
            Some(st) => Some(st),
            None => self.lstat_opt(&p)?,
        };
        let read = read || !write;
        if read {
            self.check(Ask::new(Op::Download, &p))?;
        }
        let mut create = Create::No;
        if write {
            match existing {
                Some(_) if creat && excl => {
                    self.check(Ask::new(Op::Stat, &p))?;
                    return Err(Fail::new(Status::Failure, "File exists"));
                }
                Some(_) => self.check(Ask::new(Op::Overwrite, &p))?,
                None if !creat => {
                    self.check(Ask::new(Op::Stat, &p))?;
                    return Err(Fail::no_such_file());
                }
                None => {
                    self.check(Ask::new(Op::Upload, &p))?;
                    // Without the overwrite right, a file that appears meanwhile must not be
                    // clobbered.
                    let may_overwrite = self.policy.decide(&Ask::new(Op::Overwrite, &p)).allowed;
                    create = if excl || !may_overwrite { Create::Exclusive } else { Create::IfMissing };
                }
            }
        } else if existing.is_none() {
            self.check(Ask::new(Op::Stat, &p))?;
            return Err(Fail::no_such_file());
        }
        let how = OpenMode {
            read,
            write,
            append: pflags & pf::APPEND != 0,
            create,
            truncate: trunc && write,
            mode: safe_mode(attrs.permissions.unwrap_or(0o666)),
        };
        let (fd, created) = self.root.open_file(&p, &how)?;
        let h = self.handles.insert(Handle::File(FileHandle {
            fd,
            path: p.clone(),
            read,
            write,
            append: how.append,
            created,
            revoked: false,
            read_bytes: 0,
            written_bytes: 0,
        }))?;
        let mode = match (read, write) {
            (true, true) => "read-write",
            (false, true) => "write",
            _ => "read",
        };
        let how = if created { " (new file)" } else { "" };
        self.log.info(&format!("open {p} for {mode}{how}"));
        Ok(Reply::Handle(h))
    }

    fn close(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        match self.handles.remove(raw)? {
            Handle::File(f) => {
                self.log.info(&format!("close {}: read {} bytes, wrote {}", f.path, f.read_bytes, f.written_bytes))
            }
            Handle::Dir(d) => self.log.info(&format!("closedir {}", d.path)),
        }
        Ok(Reply::Ok)
    }

    fn read(&mut self, id: u32, raw: &[u8], offset: u64, len: u32) -> Result<Reply, Fail> {
        let Server { handles, out, .. } = self;
        let h = handles.get_mut(raw)?;
        let Handle::File(f) = h else { return Err(Fail::new(Status::Failure, "Is a directory handle")) };
        if f.revoked || !f.read {
            return Err(Fail::denied());
        }
        let len = len.min(MAX_READ) as usize;
        let before = out.len();
        let n = Out(out).data_with(id, len, |buf| rustix::io::pread(&f.fd, buf, offset)).map_err(errno_fail)?;
        if n == 0 {
            out.truncate(before);
            return Err(Fail::new(Status::Eof, "End of file"));
        }
        f.read_bytes += n as u64;
        Ok(Reply::Written)
    }

    fn write(&mut self, raw: &[u8], offset: u64, data: &[u8]) -> Result<Reply, Fail> {
        let f = file(self.handles.get(raw)?)?;
        if !f.write {
            return Err(Fail::denied());
        }
        let start = Server::write_start(f, offset)?;
        self.size_allowed(start.saturating_add(data.len() as u64))?;
        let mut done = 0;
        while done < data.len() {
            let n = rustix::io::pwrite(&f.fd, &data[done..], start + done as u64).map_err(errno_fail)?;
            if n == 0 {
                return Err(Fail::new(Status::Failure, "Short write"));
            }
            done += n;
        }
        if let Ok(Handle::File(f)) = self.handles.get_mut(raw) {
            f.written_bytes += data.len() as u64;
        }
        Ok(Reply::Ok)
    }

    fn stat(&mut self, raw: &[u8], follow: bool) -> Result<Reply, Fail> {
        let (p, st) = self.resolve_stat(raw, follow)?;
        self.check(Ask::new(Op::Stat, &p))?;
        let st = match st {
            Some(st) => st,
            None => self.root.lstat(&p)?,
        };
        Ok(Reply::Attrs(attrs_of(&st)))
    }

    fn fstat(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        match self.handles.get(raw)? {
            Handle::File(f) if !f.revoked => Ok(Reply::Attrs(attrs_of(&rustix::fs::fstat(&f.fd).map_err(errno_fail)?))),
            Handle::Dir(d) if !d.revoked => Ok(Reply::Attrs(attrs_of(&self.root.lstat(&d.path)?))),
            _ => Err(Fail::denied()),
        }
    }

    /// Checks a SETSTAT's attributes on `p`: ownership is never changed; size is an overwrite
    /// (and bounded by max_file_size); mode and times need the setstat right.
    fn check_attrs(&self, p: &str, a: &Attrs) -> Result<(), Fail> {
        if a.uid_gid.is_some() {
            self.log.warn(&format!("denied chown {p} for {}: ownership is never changed", self.me.name));
            return Err(Fail::denied());
        }
        if let Some(size) = a.size {
            self.check(Ask::new(Op::Overwrite, p))?;
            self.size_allowed(size)?;
        }
        if a.permissions.is_some() || a.times.is_some() {
            self.check(Ask::new(Op::Setstat, p))?;
        }
        Ok(())
    }

    fn setstat(&mut self, raw: &[u8], a: &Attrs, follow: bool) -> Result<Reply, Fail> {
        let p = self.resolve(raw, follow)?;
        self.check_attrs(&p, a)?;
        if let Some(size) = a.size {
            self.root.truncate(&p, size)?;
        }
        if let Some(mode) = a.permissions {
            self.root.chmod(&p, safe_mode(mode))?;
        }
        if let Some((atime, mtime)) = a.times {
            self.root.set_times(&p, atime, mtime)?;
        }
        self.log.info(&format!("setstat {p}{}", describe_attrs(a)));
        Ok(Reply::Ok)
    }

    fn fsetstat(&mut self, raw: &[u8], a: &Attrs) -> Result<Reply, Fail> {
        let (path, is_file) = match self.handles.get(raw)? {
            Handle::File(f) if !f.revoked => (f.path.clone(), true),
            Handle::Dir(d) if !d.revoked => (d.path.clone(), false),
            _ => return Err(Fail::denied()),
        };
        self.check_attrs(&path, a)?;
        if !is_file {
            return self.setstat(path.as_bytes(), a, false);
        }
        let f = file(self.handles.get(raw)?)?;
        if let Some(size) = a.size {
            rustix::fs::ftruncate(&f.fd, size).map_err(errno_fail)?;
        }
        if let Some(mode) = a.permissions {
            rustix::fs::fchmod(&f.fd, rustix::fs::Mode::from_raw_mode(safe_mode(mode))).map_err(errno_fail)?;
        }
        if let Some((atime, mtime)) = a.times {
            let ts = |s: u32| rustix::fs::Timespec { tv_sec: i64::from(s), tv_nsec: 0 };
            let times = rustix::fs::Timestamps { last_access: ts(atime), last_modification: ts(mtime) };
            rustix::fs::futimens(&f.fd, &times).map_err(errno_fail)?;
        }
        self.log.info(&format!("fsetstat {path}{}", describe_attrs(a)));
        Ok(Reply::Ok)
    }

    fn copy_data(
        &mut self,
        read_handle: &[u8],
        read_offset: u64,
        read_len: u64,
        write_handle: &[u8],
        write_offset: u64,
    ) -> Result<Reply, Fail> {
        let src = file(self.handles.get(read_handle)?)?;
        let dst = file(self.handles.get(write_handle)?)?;
        if !src.read || !dst.write {
            return Err(Fail::denied());
        }
        let len = if read_len == 0 {
            let size = rustix::fs::fstat(&src.fd).map_err(errno_fail)?.st_size.max(0) as u64;
            size.saturating_sub(read_offset)
        } else {
            read_len
        };
        let write_offset = Server::write_start(dst, write_offset)?;
        self.size_allowed(write_offset.saturating_add(len))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut done = 0u64;
        while done < len {
            let want = (len - done).min(buf.len() as u64) as usize;
            let n = rustix::io::pread(&src.fd, &mut buf[..want], read_offset + done).map_err(errno_fail)?;
            if n == 0 {
                break;
            }
            let mut w = 0;
            while w < n {
                let m = rustix::io::pwrite(&dst.fd, &buf[w..n], write_offset + done + w as u64).map_err(errno_fail)?;
                if m == 0 {
                    return Err(Fail::new(Status::Failure, "Short write"));
                }
                w += m;
            }
            done += n as u64;
        }
        self.log.info(&format!("copy-data {} -> {}: {done} bytes", src.path, dst.path));
        Ok(Reply::Ok)
    }

    // --------------------------------------------------------------------------------------
    // Directories and names
    // --------------------------------------------------------------------------------------

    fn opendir(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, true)?;
        self.check(Ask::new(Op::List, &p))?;
        let reader = self.root.open_dir(&p)?;
        let h = self.handles.insert(Handle::Dir(DirHandle { reader, path: p.clone(), done: false, revoked: false }))?;
        self.log.info(&format!("opendir {p}"));
        Ok(Reply::Handle(h))
    }

    fn readdir(&mut self, id: u32, raw: &[u8]) -> Result<Reply, Fail> {
        let Server { handles, policy, me, out, .. } = self;
        let Handle::Dir(d) = handles.get_mut(raw)? else {
            return Err(Fail::new(Status::Failure, "Not a directory handle"));
        };
        if d.revoked {
            return Err(Fail::denied());
        }
        let now = unix_now();
        loop {
            if d.done {
                return Err(Fail::new(Status::Eof, "End of directory"));
            }
            let batch = d.reader.next_batch(MAX_NAMES_PER_READDIR)?;
            if batch.is_empty() {
                d.done = true;
                continue;
            }
            let mut names = Vec::with_capacity(batch.len());
            for (name, st) in &batch {
                let (Ok(name), Some(st)) = (std::str::from_utf8(name), st) else { continue };
                if name != "." && name != ".." && !policy.visible(&join(&d.path, name)) {
                    continue;
                }
                names.push((name, longname(name, st, me, now), attrs_of(st)));
            }
            if names.is_empty() {
                continue;
            }
            let entries: Vec<NameEntry<'_>> = names
                .iter()
                .map(|(n, l, a)| NameEntry { filename: n.as_bytes(), longname: l.as_bytes(), attrs: *a })
                .collect();
            Out(out).name(id, &entries);
            return Ok(Reply::Written);
        }
    }

    fn remove(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, false)?;
        self.check(Ask::new(Op::Delete, &p))?;
        self.root.unlink(&p)?;
        self.log.info(&format!("remove {p}"));
        Ok(Reply::Ok)
    }

    fn mkdir(&mut self, raw: &[u8], a: &Attrs) -> Result<Reply, Fail> {
        let p = self.resolve(raw, false)?;
        self.check(Ask::new(Op::Mkdir, &p))?;
        self.root.mkdir(&p, safe_mode(a.permissions.unwrap_or(0o777)))?;
        self.log.info(&format!("mkdir {p}"));
        Ok(Reply::Ok)
    }

    fn rmdir(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, false)?;
        self.check(Ask::new(Op::Rmdir, &p))?;
        self.root.rmdir(&p)?;
        self.log.info(&format!("rmdir {p}"));
        Ok(Reply::Ok)
    }

    fn realpath(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, true)?;
        self.check(Ask::new(Op::Stat, &p))?;
        Ok(Reply::Name(p.clone(), p))
    }

    /// `~` and `~/x` are the root; `~name` only for the user's own name (no other user's home
    /// is ever named).
    fn expand_path(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let s = std::str::from_utf8(raw).map_err(|_| Fail::no_such_file())?;
        let expanded = match s.strip_prefix('~') {
            None => s.to_string(),
            Some(rest) => {
                let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
                if !user.is_empty() && user != self.me.name {
                    return Err(Fail::no_such_file());
                }
                format!("/{tail}")
            }
        };
        self.realpath(expanded.as_bytes())
    }

    fn rename(&mut self, from: &[u8], to: &[u8], replace: bool) -> Result<Reply, Fail> {
        let f = self.resolve(from, false)?;
        let t = self.resolve(to, false)?;
        let exists = self.lstat_opt(&t)?.is_some();
        if exists && !replace {
            self.check(Ask::new(Op::Stat, &t))?;
            return Err(Fail::new(Status::Failure, "File exists"));
        }
        self.check(Ask::rename(&f, &t, exists))?;
        // The kernel is told whether it may replace (RENAME_NOREPLACE otherwise), so a target
        // that appears after the check above is never clobbered: the rename then fails with
        // EEXIST, answered "File exists" as when the target was there all along.
        let may_replace = replace && self.policy.decide(&Ask::rename(&f, &t, true)).allowed;
        self.root.rename(&f, &t, may_replace)?;
        self.log.info(&format!("rename {f} -> {t}"));
        Ok(Reply::Ok)
    }

    fn readlink(&mut self, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, false)?;
        self.check(Ask::new(Op::Download, &p))?;
        let target = self.root.readlink(&p)?;
        let target = String::from_utf8(target).map_err(|_| Fail::no_such_file())?;
        // The stored text is shown only if it stays inside the root; an absolute target would
        // name a host path.
        if target.starts_with('/') {
            return Err(Fail::denied());
        }
        // Nor may it name what the user cannot see: every entry the text names, and where the
        // link finally leads, must be visible.
        let resolved = self.resolve(p.as_bytes(), true)?;
        let named = named_entries(parent_of(&p), &target).ok_or_else(Fail::denied)?;
        if let Some(hidden) = named.iter().chain(std::iter::once(&resolved)).find(|e| !self.policy.visible(e)) {
            self.log.warn(&format!(
                "denied readlink {p} for {}: its target {hidden} is in a part of the tree hidden from the user",
                self.me.name
            ));
            return Err(Fail::no_such_file());
        }
        Ok(Reply::Name(target.clone(), target))
    }

    fn refuse_link(&mut self, op: Op, raw: &[u8]) -> Result<Reply, Fail> {
        let p = String::from_utf8_lossy(raw);
        self.check(Ask::new(op, &p))?;
        Err(Fail::denied())
    }

    fn statvfs(&mut self, id: u32, raw: &[u8]) -> Result<Reply, Fail> {
        let p = self.resolve(raw, true)?;
        self.check(Ask::new(Op::Stat, &p))?;
        let s = self.root.statvfs(&p)?;
        Out(&mut self.out).statvfs(id, &statvfs_reply(&s));
        Ok(Reply::Written)
    }

    fn fstatvfs(&mut self, id: u32, raw: &[u8]) -> Result<Reply, Fail> {
        let s = match self.handles.get(raw)? {
            Handle::File(f) if !f.revoked => rustix::fs::fstatvfs(f.fd.as_fd()).map_err(errno_fail)?,
            Handle::Dir(d) if !d.revoked => self.root.statvfs(&d.path)?,
            _ => return Err(Fail::denied()),
        };
        Out(&mut self.out).statvfs(id, &statvfs_reply(&s));
        Ok(Reply::Written)
    }
}

fn request_id(r: &Request<'_>) -> Option<u32> {
    Some(match r {
        Request::Init { .. } => return None,
        Request::Unknown { id, .. } => return *id,
        Request::Open { id, .. }
        | Request::Close { id, .. }
        | Request::Read { id, .. }
        | Request::Write { id, .. }
        | Request::Lstat { id, .. }
        | Request::Fstat { id, .. }
        | Request::Setstat { id, .. }
        | Request::Fsetstat { id, .. }
        | Request::Opendir { id, .. }
        | Request::Readdir { id, .. }
        | Request::Remove { id, .. }
        | Request::Mkdir { id, .. }
        | Request::Rmdir { id, .. }
        | Request::Realpath { id, .. }
        | Request::Stat { id, .. }
        | Request::Rename { id, .. }
        | Request::Readlink { id, .. }
        | Request::Symlink { id, .. }
        | Request::PosixRename { id, .. }
        | Request::Statvfs { id, .. }
        | Request::Fstatvfs { id, .. }
        | Request::Hardlink { id, .. }
        | Request::Fsync { id, .. }
        | Request::Lsetstat { id, .. }
        | Request::Limits { id }
        | Request::ExpandPath { id, .. }
        | Request::CopyData { id, .. }
        | Request::HomeDirectory { id, .. }
        | Request::UsersGroupsById { id, .. }
        | Request::UnknownExtended { id, .. } => *id,
    })
}

/// The directory of canonical `path` (`/` for `/` and its children).
fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// Every entry a relative link text names, walked lexically from canonical `dir`: for
/// `../a/b` in `/w`, `/a` and `/a/b`. `None` if it climbs above the root.
fn named_entries(dir: &str, target: &str) -> Option<Vec<String>> {
    let mut at: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let mut named = Vec::new();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                at.pop()?;
            }
            name => {
                at.push(name);
                named.push(format!("/{}", at.join("/")));
            }
        }
    }
    Some(named)
}

/// `dir` + `/` + `name` for a canonical `dir`.
fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn attrs_of(st: &Stat) -> Attrs {
    let clamp = |t: i64| u32::try_from(t.max(0)).unwrap_or(u32::MAX);
    Attrs {
        size: Some(st.st_size.max(0) as u64),
        uid_gid: Some((st.st_uid, st.st_gid)),
        permissions: Some(st.st_mode),
        times: Some((clamp(st.st_atime), clamp(st.st_mtime))),
    }
}

fn statvfs_reply(s: &rustix::fs::StatVfs) -> codec::Statvfs {
    codec::Statvfs {
        bsize: s.f_bsize,
        frsize: s.f_frsize,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        favail: s.f_favail,
        fsid: s.f_fsid,
        flag: s.f_flag.bits(),
        namemax: s.f_namemax,
    }
}

fn describe_attrs(a: &Attrs) -> String {
    let mut s = String::new();
    if let Some(size) = a.size {
        s.push_str(&format!(" size={size}"));
    }
    if let Some(m) = a.permissions {
        s.push_str(&format!(" mode={:o}", safe_mode(m)));
    }
    if let Some((at, mt)) = a.times {
        s.push_str(&format!(" atime={at} mtime={mt}"));
    }
    s
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The `ls -l` line OpenSSH's sftp-server sends: mode, links, owner, group, size, date, name.
/// Only the session's own uid and gid are shown by name; every other id is a number.
fn longname(name: &str, st: &Stat, me: &Identity, now: i64) -> String {
    let owner = if st.st_uid == me.uid { me.name.clone() } else { st.st_uid.to_string() };
    let group = if st.st_gid == me.gid { me.name.clone() } else { st.st_gid.to_string() };
    format!(
        "{} {:>3} {:<8} {:<8} {:>8} {} {}",
        mode_string(st.st_mode),
        st.st_nlink,
        owner,
        group,
        st.st_size.max(0),
        ls_date(st.st_mtime, now),
        name
    )
}

fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o010000 => 'p',
        0o140000 => 's',
        0o020000 => 'c',
        0o060000 => 'b',
        _ => '-',
    };
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (mode & x != 0, mode & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

/// `Nov 23 17:02` within six months of `now`, else `Nov 23  2025` (UTC).
fn ls_date(t: i64, now: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS[(m as usize).saturating_sub(1).min(11)];
    if (now - t).abs() < 182 * 86_400 {
        format!("{month} {d:>2} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{month} {d:>2}  {y}")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_modes() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        let t = 20_415 * 86_400 + 17 * 3600 + 2 * 60;
        assert_eq!(ls_date(t, t + 10), "Nov 23 17:02");
        assert_eq!(ls_date(t, t + 400 * 86_400), "Nov 23  2025");
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
    }

    #[test]
    fn link_texts_name_their_entries() {
        assert_eq!(parent_of("/"), "/");
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(parent_of("/a/b"), "/a");
        let v = |x: &[&str]| Some(x.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(named_entries("/w", "../secret/../pub/p"), v(&["/secret", "/pub", "/pub/p"]));
        assert_eq!(named_entries("/", "a//./b"), v(&["/a", "/a/b"]));
        assert_eq!(named_entries("/w", "../.."), None);
    }

    #[test]
    fn handles_are_not_reused_across_close() {
        let mut h = Handles::default();
        let dir = std::env::temp_dir();
        let fd = || rustix::fs::open(&dir, rustix::fs::OFlags::PATH, rustix::fs::Mode::empty()).ok();
        let mk = |fd: OwnedFd| {
            Handle::File(FileHandle {
                fd,
                path: "/x".into(),
                read: true,
                write: false,
                append: false,
                created: false,
                revoked: false,
                read_bytes: 0,
                written_bytes: 0,
            })
        };
        let Some(a) = fd().map(mk) else { return };
        let first = h.insert(a).ok();
        let first = first.unwrap_or_default();
        assert!(h.remove(&first).is_ok());
        let Some(b) = fd().map(mk) else { return };
        let second = h.insert(b).ok().unwrap_or_default();
        assert_ne!(first, second);
        assert!(h.get(&first).is_err() && h.get(&second).is_ok());
        assert!(h.get(b"short").is_err());
    }
}
