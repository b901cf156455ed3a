//! The SFTP v3 wire format (draft-ietf-secsh-filexfer-02) plus the OpenSSH extensions
//! gatehouse-sftp serves: packet framing, one bounded [`Reader`], the [`Request`] enum, and the
//! reply encoders that write straight into the output buffer.
//!
//! Every length is checked against what is left of the packet (and the packet against
//! [`MAX_PACKET`]) before anything is allocated; each request is parsed from its own packet only,
//! and trailing bytes are an error. Filenames are byte strings on the wire; they are handed on as
//! bytes and the server decides what to do with ones that are not UTF-8.
//!
//! SKELETON: the types are fixed (the server is written against them); the bodies are being
//! filled in.

/// Largest packet accepted or sent, as OpenSSH's `SFTP_MAX_MSG_LENGTH` (256 KiB).
pub const MAX_PACKET: usize = 256 * 1024;
/// Largest READ length served; longer reads are shortened (clients handle short reads).
pub const MAX_READ: u32 = 255 * 1024;
/// Largest number of entries put in one NAME reply to READDIR.
pub const MAX_NAMES_PER_READDIR: usize = 100;

/// Packet types (draft 02, section 3).
pub mod msg {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const LSTAT: u8 = 7;
    pub const FSTAT: u8 = 8;
    pub const SETSTAT: u8 = 9;
    pub const FSETSTAT: u8 = 10;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const REMOVE: u8 = 13;
    pub const MKDIR: u8 = 14;
    pub const RMDIR: u8 = 15;
    pub const REALPATH: u8 = 16;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const READLINK: u8 = 19;
    pub const SYMLINK: u8 = 20;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED: u8 = 200;
    pub const EXTENDED_REPLY: u8 = 201;
}

/// Status codes (draft 02, section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    Ok = 0,
    Eof = 1,
    NoSuchFile = 2,
    PermissionDenied = 3,
    Failure = 4,
    BadMessage = 5,
    NoConnection = 6,
    ConnectionLost = 7,
    OpUnsupported = 8,
}

/// OPEN pflags.
pub mod pflags {
    pub const READ: u32 = 0x01;
    pub const WRITE: u32 = 0x02;
    pub const APPEND: u32 = 0x04;
    pub const CREAT: u32 = 0x08;
    pub const TRUNC: u32 = 0x10;
    pub const EXCL: u32 = 0x20;
}

/// ATTRS flags.
pub mod attr_flags {
    pub const SIZE: u32 = 0x01;
    pub const UIDGID: u32 = 0x02;
    pub const PERMISSIONS: u32 = 0x04;
    pub const ACMODTIME: u32 = 0x08;
    pub const EXTENDED: u32 = 0x8000_0000;
}

/// File attributes as on the wire. `None` = the flag is not set. Extended pairs are parsed
/// (bounded) and dropped: no extended attribute is acted on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    pub size: Option<u64>,
    /// (uid, gid).
    pub uid_gid: Option<(u32, u32)>,
    /// Full `st_mode` (type bits included in replies; only the permission bits matter in requests).
    pub permissions: Option<u32>,
    /// (atime, mtime), seconds, as u32 on the wire.
    pub times: Option<(u32, u32)>,
}

/// A decoded request. Every variant but [`Request::Init`] carries the request id, so the server
/// can always answer with exactly one reply for that id. Paths and handles are the raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    Init { version: u32 },
    Open { id: u32, path: &'a [u8], pflags: u32, attrs: Attrs },
    Close { id: u32, handle: &'a [u8] },
    Read { id: u32, handle: &'a [u8], offset: u64, len: u32 },
    Write { id: u32, handle: &'a [u8], offset: u64, data: &'a [u8] },
    Lstat { id: u32, path: &'a [u8] },
    Fstat { id: u32, handle: &'a [u8] },
    Setstat { id: u32, path: &'a [u8], attrs: Attrs },
    Fsetstat { id: u32, handle: &'a [u8], attrs: Attrs },
    Opendir { id: u32, path: &'a [u8] },
    Readdir { id: u32, handle: &'a [u8] },
    Remove { id: u32, path: &'a [u8] },
    Mkdir { id: u32, path: &'a [u8], attrs: Attrs },
    Rmdir { id: u32, path: &'a [u8] },
    Realpath { id: u32, path: &'a [u8] },
    Stat { id: u32, path: &'a [u8] },
    Rename { id: u32, from: &'a [u8], to: &'a [u8] },
    Readlink { id: u32, path: &'a [u8] },
    /// As OpenSSH sends it: (link path, target path) — OpenSSH swaps the draft's order.
    Symlink { id: u32, link: &'a [u8], target: &'a [u8] },
    /// `posix-rename@openssh.com`.
    PosixRename { id: u32, from: &'a [u8], to: &'a [u8] },
    /// `statvfs@openssh.com`.
    Statvfs { id: u32, path: &'a [u8] },
    /// `fstatvfs@openssh.com`.
    Fstatvfs { id: u32, handle: &'a [u8] },
    /// `hardlink@openssh.com`.
    Hardlink { id: u32, from: &'a [u8], to: &'a [u8] },
    /// `fsync@openssh.com`.
    Fsync { id: u32, handle: &'a [u8] },
    /// `lsetstat@openssh.com`.
    Lsetstat { id: u32, path: &'a [u8], attrs: Attrs },
    /// `limits@openssh.com`.
    Limits { id: u32 },
    /// `expand-path@openssh.com`.
    ExpandPath { id: u32, path: &'a [u8] },
    /// `copy-data`.
    CopyData { id: u32, read_handle: &'a [u8], read_offset: u64, read_len: u64, write_handle: &'a [u8], write_offset: u64 },
    /// `home-directory`.
    HomeDirectory { id: u32, user: &'a [u8] },
    /// `users-groups-by-id@openssh.com`: the ids, unpacked from the two strings of u32s.
    UsersGroupsById { id: u32, uids: Vec<u32>, gids: Vec<u32> },
    /// An EXTENDED request with a name we do not serve: answered `OP_UNSUPPORTED`.
    UnknownExtended { id: u32, name: &'a [u8] },
    /// A packet type we do not serve (including reply types sent by a client): answered
    /// `OP_UNSUPPORTED` when it has an id.
    Unknown { id: Option<u32>, kind: u8 },
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The length header exceeds [`MAX_PACKET`] (or is zero): the session cannot resync.
    #[error("packet length {0} is outside 1..={MAX_PACKET}")]
    BadLength(u32),
    /// A field runs past the end of the packet, or bytes are left over. `id` is set when the
    /// id itself was read, so the server can answer `BAD_MESSAGE` for it.
    #[error("malformed {kind} packet: {what}")]
    Malformed { kind: u8, id: Option<u32>, what: &'static str },
}

/// Splits the first whole packet off `buf`: `Ok(Some((body, consumed)))` where `body` is the
/// packet without its length header (type byte first), `Ok(None)` when more bytes are needed.
pub fn split_packet(_buf: &[u8]) -> Result<Option<(&[u8], usize)>, DecodeError> {
    Err(DecodeError::BadLength(0))
}

/// Decodes one packet body (type byte first).
pub fn decode(body: &[u8]) -> Result<Request<'_>, DecodeError> {
    Err(DecodeError::Malformed { kind: body.first().copied().unwrap_or(0), id: None, what: "not written yet" })
}

/// One entry of a NAME reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameEntry<'a> {
    pub filename: &'a [u8],
    /// The `ls -l` style line clients print.
    pub longname: &'a [u8],
    pub attrs: Attrs,
}

/// Filesystem figures of a statvfs reply (the eleven u64s of OpenSSH's reply, in order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statvfs {
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fsid: u64,
    pub flag: u64,
    pub namemax: u64,
}

/// Appends replies, each a whole packet with its length header, to an output buffer.
/// Nothing here fails: the server never builds a reply longer than [`MAX_PACKET`] (READ lengths
/// are capped at [`MAX_READ`], READDIR at [`MAX_NAMES_PER_READDIR`] entries).
pub struct Out<'a>(pub &'a mut Vec<u8>);

impl Out<'_> {
    /// VERSION 3 with the extensions `(name, version)` advertised.
    pub fn version(&mut self, _extensions: &[(&str, &str)]) {}
    pub fn status(&mut self, _id: u32, _status: Status, _message: &str) {}
    pub fn handle(&mut self, _id: u32, _handle: &[u8]) {}
    /// DATA with `data` (the caller reads the file straight into [`Out::data_with`] instead
    /// where it can).
    pub fn data(&mut self, _id: u32, _data: &[u8]) {}
    /// DATA whose payload `fill` writes into the given slice of `len` bytes, returning how many
    /// it wrote (≤ len); the header is fixed up afterwards. Saves a copy on the READ path. If
    /// `fill` fails, nothing is appended and the error is returned.
    pub fn data_with<E>(&mut self, _id: u32, _len: usize, _fill: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Result<usize, E> {
        Ok(0)
    }
    pub fn name(&mut self, _id: u32, _entries: &[NameEntry<'_>]) {}
    pub fn attrs(&mut self, _id: u32, _attrs: &Attrs) {}
    /// EXTENDED_REPLY for statvfs/fstatvfs.
    pub fn statvfs(&mut self, _id: u32, _s: &Statvfs) {}
    /// EXTENDED_REPLY for limits: max packet, max read, max write, max open handles.
    pub fn limits(&mut self, _id: u32, _max_packet: u64, _max_read: u64, _max_write: u64, _max_handles: u64) {}
    /// EXTENDED_REPLY for users-groups-by-id: one name per uid, then one per gid ("" = unknown).
    pub fn users_groups(&mut self, _id: u32, _users: &[&str], _groups: &[&str]) {}
}
