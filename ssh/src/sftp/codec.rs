//! The SFTP v3 wire format (draft-ietf-secsh-filexfer-02) plus the OpenSSH extensions
//! gatehouse-sftp serves: packet framing, one bounded [`Reader`], the [`Request`] enum, and the
//! reply encoders that write straight into the output buffer.
//!
//! Every length is checked against what is left of the packet (and the packet against
//! [`MAX_PACKET`]) before anything is allocated; each request is parsed from its own packet only,
//! and bytes after a request's fields are skipped, as OpenSSH's sftp-server skips them.
//! Filenames are byte strings on the wire; they are handed on as bytes and the server decides
//! what to do with ones that are not UTF-8.
//!
//! Symlink order: OpenSSH sends SYMLINK's two strings as (target, link path), the reverse of the
//! draft's (linkpath, targetpath), and every deployed client follows OpenSSH; see
//! [`Request::Symlink`].

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
// One line per variant: the table reads better than rustfmt's one field per line.
#[rustfmt::skip]
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
    /// On the wire, in OpenSSH's order (`sftp-client.c` `sftp_symlink`, `sftp-server.c`
    /// `process_symlink`): first the **target** (the link's contents, `symlink(2)`'s first
    /// argument, `ln -s`'s first operand), then the **link** path to create. The draft says the
    /// opposite; OpenSSH's order is what clients send. So `link` = the second string (the new
    /// directory entry, judged as a create), `target` = the first (stored as is, never resolved
    /// here).
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
    CopyData {
        id: u32,
        read_handle: &'a [u8],
        read_offset: u64,
        read_len: u64,
        write_handle: &'a [u8],
        write_offset: u64,
    },
    /// `home-directory`.
    HomeDirectory { id: u32, user: &'a [u8] },
    /// `users-groups-by-id@openssh.com`: the ids, unpacked from the two strings of u32s.
    UsersGroupsById { id: u32, uids: Vec<u32>, gids: Vec<u32> },
    /// An EXTENDED request with a name we do not serve: answered `OP_UNSUPPORTED`.
    UnknownExtended { id: u32, name: &'a [u8] },
    /// A packet type we do not serve (including reply types sent by a client): answered
    /// `OP_UNSUPPORTED` when it has an id. `id` is the u32 after the type byte when at least four
    /// bytes follow it (`None` otherwise); whatever follows the id is not looked at.
    Unknown { id: Option<u32>, kind: u8 },
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The length header exceeds [`MAX_PACKET`] (or is zero): the session cannot resync.
    #[error("packet length {0} is outside 1..={MAX_PACKET}")]
    BadLength(u32),
    /// A field runs past the end of the packet, or bytes are left over. `id` is set when the
    /// id itself was read, so the server can answer `BAD_MESSAGE` for it. `what` names the field
    /// that was cut short or invalid (`"path"`, `"attrs extended count"`, `"more than 10000
    /// uids"`), or is `"trailing bytes"`.
    #[error("malformed {kind} packet: {what}")]
    Malformed { kind: u8, id: Option<u32>, what: &'static str },
}

/// Largest number of ids accepted in each list of a `users-groups-by-id@openssh.com` request.
pub const MAX_IDS_PER_LOOKUP: usize = 10_000;

/// A bounds-checked cursor over one packet body. Every read checks the length against what is
/// left, so nothing is allocated or sliced beyond the packet; a failed read returns the name of
/// the field that ran past the end, which becomes [`DecodeError::Malformed`]'s `what`.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { rest: buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes, or `Err(field)` when fewer are left.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], &'static str> {
        if n > self.rest.len() {
            return Err(field);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], &'static str> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, &'static str> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, &'static str> {
        self.array(field).map(u32::from_be_bytes)
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, &'static str> {
        self.array(field).map(u64::from_be_bytes)
    }

    /// A string: u32 length, then that many bytes, borrowed from the packet.
    pub fn string(&mut self, field: &'static str) -> Result<&'a [u8], &'static str> {
        let len = self.u32(field)?;
        self.take(usize::try_from(len).map_err(|_| field)?, field)
    }

    /// Ends the parse: `Err("trailing bytes")` if anything is left over.
    pub fn finish(self) -> Result<(), &'static str> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes")
        }
    }
}

/// Splits the first whole packet off `buf`: `Ok(Some((body, consumed)))` where `body` is the
/// packet without its length header (type byte first), `Ok(None)` when more bytes are needed.
/// A length of zero or above [`MAX_PACKET`] is [`DecodeError::BadLength`]: the stream cannot be
/// resynchronised, so the session ends.
pub fn split_packet(buf: &[u8]) -> Result<Option<(&[u8], usize)>, DecodeError> {
    let Some(header) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*header);
    let body_len = usize::try_from(len).map_err(|_| DecodeError::BadLength(len))?;
    if body_len == 0 || body_len > MAX_PACKET {
        return Err(DecodeError::BadLength(len));
    }
    Ok(buf.get(4..4 + body_len).map(|body| (body, 4 + body_len)))
}

/// Decodes one packet body (type byte first). The request borrows its paths, handles and data
/// from `body`; the only allocation is the id lists of `users-groups-by-id`, bounded by the
/// packet and by [`MAX_IDS_PER_LOOKUP`].
pub fn decode(body: &[u8]) -> Result<Request<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let kind = r.u8("type").map_err(|what| DecodeError::Malformed { kind: 0, id: None, what })?;
    let mut id = None;
    // Bytes after a request's fields are ignored, as OpenSSH's sftp-server skips them: real
    // clients send them (rclone's pkg/sftp sends a WRITE whose data string says 4096 bytes in a
    // packet sized for its whole 32 KiB buffer when a read of its source came back short).
    // Every field is still bounded by the packet, and the next packet starts after this one.
    decode_fields(kind, &mut r, &mut id).map_err(|what| DecodeError::Malformed { kind, id, what })
}

/// The fields after the type byte. `id` is set as soon as the request id has been read, so the
/// caller can report it with a parse error further on.
fn decode_fields<'a>(kind: u8, r: &mut Reader<'a>, id_out: &mut Option<u32>) -> Result<Request<'a>, &'static str> {
    use msg::*;
    if kind == INIT {
        let version = r.u32("version")?;
        // Extension pairs: parsed so a broken one is caught, then dropped. Each pair takes at
        // least eight bytes, so the loop is bounded by the packet.
        while r.remaining() > 0 {
            r.string("extension name")?;
            r.string("extension data")?;
        }
        return Ok(Request::Init { version });
    }
    let known = matches!(kind, OPEN..=SYMLINK | EXTENDED);
    if !known {
        let id = if r.remaining() >= 4 { Some(r.u32("id")?) } else { None };
        *id_out = id;
        return Ok(Request::Unknown { id, kind });
    }
    let id = r.u32("id")?;
    *id_out = Some(id);
    Ok(match kind {
        OPEN => Request::Open { id, path: r.string("path")?, pflags: r.u32("pflags")?, attrs: attrs(r)? },
        CLOSE => Request::Close { id, handle: r.string("handle")? },
        READ => Request::Read { id, handle: r.string("handle")?, offset: r.u64("offset")?, len: r.u32("length")? },
        WRITE => Request::Write { id, handle: r.string("handle")?, offset: r.u64("offset")?, data: r.string("data")? },
        LSTAT => Request::Lstat { id, path: r.string("path")? },
        FSTAT => Request::Fstat { id, handle: r.string("handle")? },
        SETSTAT => Request::Setstat { id, path: r.string("path")?, attrs: attrs(r)? },
        FSETSTAT => Request::Fsetstat { id, handle: r.string("handle")?, attrs: attrs(r)? },
        OPENDIR => Request::Opendir { id, path: r.string("path")? },
        READDIR => Request::Readdir { id, handle: r.string("handle")? },
        REMOVE => Request::Remove { id, path: r.string("path")? },
        MKDIR => Request::Mkdir { id, path: r.string("path")?, attrs: attrs(r)? },
        RMDIR => Request::Rmdir { id, path: r.string("path")? },
        REALPATH => Request::Realpath { id, path: r.string("path")? },
        STAT => Request::Stat { id, path: r.string("path")? },
        RENAME => Request::Rename { id, from: r.string("old path")?, to: r.string("new path")? },
        READLINK => Request::Readlink { id, path: r.string("path")? },
        SYMLINK => {
            // OpenSSH's order: target first, then the link to create (see `Request::Symlink`).
            let target = r.string("symlink target")?;
            let link = r.string("link path")?;
            Request::Symlink { id, link, target }
        }
        _ => extended(id, r)?,
    })
}

/// An EXTENDED request: the name, then that extension's fields.
fn extended<'a>(id: u32, r: &mut Reader<'a>) -> Result<Request<'a>, &'static str> {
    let name = r.string("extension name")?;
    Ok(match name {
        b"posix-rename@openssh.com" => {
            Request::PosixRename { id, from: r.string("old path")?, to: r.string("new path")? }
        }
        b"statvfs@openssh.com" => Request::Statvfs { id, path: r.string("path")? },
        b"fstatvfs@openssh.com" => Request::Fstatvfs { id, handle: r.string("handle")? },
        b"hardlink@openssh.com" => Request::Hardlink { id, from: r.string("old path")?, to: r.string("new path")? },
        b"fsync@openssh.com" => Request::Fsync { id, handle: r.string("handle")? },
        b"lsetstat@openssh.com" => Request::Lsetstat { id, path: r.string("path")?, attrs: attrs(r)? },
        b"limits@openssh.com" => Request::Limits { id },
        b"expand-path@openssh.com" => Request::ExpandPath { id, path: r.string("path")? },
        b"copy-data" => Request::CopyData {
            id,
            read_handle: r.string("read handle")?,
            read_offset: r.u64("read offset")?,
            read_len: r.u64("read length")?,
            write_handle: r.string("write handle")?,
            write_offset: r.u64("write offset")?,
        },
        b"home-directory" => Request::HomeDirectory { id, user: r.string("user name")? },
        b"users-groups-by-id@openssh.com" => {
            let uids = id_list(r.string("uids")?, "uids not a multiple of 4 bytes", "more than 10000 uids")?;
            let gids = id_list(r.string("gids")?, "gids not a multiple of 4 bytes", "more than 10000 gids")?;
            Request::UsersGroupsById { id, uids, gids }
        }
        _ => {
            // Fields of extensions we do not know are not ours to judge.
            r.take(r.remaining(), "extension data")?;
            Request::UnknownExtended { id, name }
        }
    })
}

/// Unpacks a string of big-endian u32s, checking the count before allocating.
fn id_list(packed: &[u8], not_multiple: &'static str, too_many: &'static str) -> Result<Vec<u32>, &'static str> {
    if packed.len() % 4 != 0 {
        return Err(not_multiple);
    }
    if packed.len() / 4 > MAX_IDS_PER_LOOKUP {
        return Err(too_many);
    }
    let mut ids = Vec::with_capacity(packed.len() / 4);
    for chunk in packed.chunks_exact(4) {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        ids.push(u32::from_be_bytes(b));
    }
    Ok(ids)
}

/// ATTRS: flags, then the fields the flags name. Extended pairs are checked and dropped; flag
/// bits we do not know are ignored, as OpenSSH does.
fn attrs(r: &mut Reader<'_>) -> Result<Attrs, &'static str> {
    use attr_flags::*;
    let flags = r.u32("attrs flags")?;
    let mut a = Attrs::default();
    if flags & SIZE != 0 {
        a.size = Some(r.u64("attrs size")?);
    }
    if flags & UIDGID != 0 {
        a.uid_gid = Some((r.u32("attrs uid")?, r.u32("attrs gid")?));
    }
    if flags & PERMISSIONS != 0 {
        a.permissions = Some(r.u32("attrs permissions")?);
    }
    if flags & ACMODTIME != 0 {
        a.times = Some((r.u32("attrs atime")?, r.u32("attrs mtime")?));
    }
    if flags & EXTENDED != 0 {
        let count = r.u32("attrs extended count")?;
        // Each pair takes at least eight bytes: a count the packet cannot hold is refused at once.
        if usize::try_from(count).map_or(true, |c| c > r.remaining() / 8) {
            return Err("attrs extended count");
        }
        for _ in 0..count {
            r.string("attrs extended type")?;
            r.string("attrs extended data")?;
        }
    }
    Ok(a)
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
    /// Starts a packet: a length placeholder and the type byte. Returns where it starts.
    fn begin(&mut self, kind: u8) -> usize {
        let start = self.0.len();
        self.0.extend_from_slice(&[0, 0, 0, 0, kind]);
        start
    }

    /// Writes the length of the packet begun at `start` into its header.
    fn end(&mut self, start: usize) {
        let len = wire_len(self.0.len() - start - 4);
        self.0[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn string(&mut self, s: &[u8]) {
        self.u32(wire_len(s.len()));
        self.0.extend_from_slice(s);
    }

    fn put_attrs(&mut self, a: &Attrs) {
        put_attrs(self.0, a);
    }

    /// VERSION 3 with the extensions `(name, version)` advertised.
    pub fn version(&mut self, extensions: &[(&str, &str)]) {
        let start = self.begin(msg::VERSION);
        self.u32(3);
        for (name, data) in extensions {
            self.string(name.as_bytes());
            self.string(data.as_bytes());
        }
        self.end(start);
    }

    /// STATUS with `message` and an empty language tag, as OpenSSH sends it.
    pub fn status(&mut self, id: u32, status: Status, message: &str) {
        let start = self.begin(msg::STATUS);
        self.u32(id);
        self.u32(status as u32);
        self.string(message.as_bytes());
        self.string(b"");
        self.end(start);
    }

    pub fn handle(&mut self, id: u32, handle: &[u8]) {
        let start = self.begin(msg::HANDLE);
        self.u32(id);
        self.string(handle);
        self.end(start);
    }

    /// DATA with `data` (the caller reads the file straight into [`Out::data_with`] instead
    /// where it can).
    pub fn data(&mut self, id: u32, data: &[u8]) {
        let start = self.begin(msg::DATA);
        self.u32(id);
        self.string(data);
        self.end(start);
    }

    /// DATA whose payload `fill` writes into the given slice of `len` bytes, returning how many
    /// it wrote (≤ len); the header is fixed up afterwards. Saves a copy on the READ path. If
    /// `fill` fails, nothing is appended and the error is returned. A count above `len` is taken
    /// as `len`.
    pub fn data_with<E>(
        &mut self,
        id: u32,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let start = self.begin(msg::DATA);
        self.u32(id);
        let len_at = self.0.len();
        let data_at = len_at + 4;
        self.0.resize(data_at + len, 0);
        match fill(&mut self.0[data_at..]) {
            Ok(n) => {
                let n = n.min(len);
                self.0.truncate(data_at + n);
                self.0[len_at..data_at].copy_from_slice(&wire_len(n).to_be_bytes());
                self.end(start);
                Ok(n)
            }
            Err(e) => {
                self.0.truncate(start);
                Err(e)
            }
        }
    }

    /// NAME: `count`, then (filename, longname, ATTRS) for each entry.
    pub fn name(&mut self, id: u32, entries: &[NameEntry<'_>]) {
        let start = self.begin(msg::NAME);
        self.u32(id);
        self.u32(wire_len(entries.len()));
        for e in entries {
            self.string(e.filename);
            self.string(e.longname);
            self.put_attrs(&e.attrs);
        }
        self.end(start);
    }

    pub fn attrs(&mut self, id: u32, attrs: &Attrs) {
        let start = self.begin(msg::ATTRS);
        self.u32(id);
        self.put_attrs(attrs);
        self.end(start);
    }

    /// EXTENDED_REPLY for statvfs/fstatvfs.
    pub fn statvfs(&mut self, id: u32, s: &Statvfs) {
        let start = self.begin(msg::EXTENDED_REPLY);
        self.u32(id);
        for v in [s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.favail, s.fsid, s.flag, s.namemax]
        {
            self.u64(v);
        }
        self.end(start);
    }

    /// EXTENDED_REPLY for limits: max packet, max read, max write, max open handles.
    pub fn limits(&mut self, id: u32, max_packet: u64, max_read: u64, max_write: u64, max_handles: u64) {
        let start = self.begin(msg::EXTENDED_REPLY);
        self.u32(id);
        for v in [max_packet, max_read, max_write, max_handles] {
            self.u64(v);
        }
        self.end(start);
    }

    /// EXTENDED_REPLY for users-groups-by-id: one name per uid, then one per gid ("" = unknown).
    /// As OpenSSH's `process_extended_get_users_groups_by_id`: two strings, each the
    /// concatenation of one string per name. Up to [`MAX_IDS_PER_LOOKUP`] long names each can
    /// exceed [`MAX_PACKET`]; the caller checks [`Out::users_groups_len`] first.
    pub fn users_groups(&mut self, id: u32, users: &[&str], groups: &[&str]) {
        let start = self.begin(msg::EXTENDED_REPLY);
        self.u32(id);
        for names in [users, groups] {
            let len_at = self.0.len();
            self.u32(0);
            for name in names {
                self.string(name.as_bytes());
            }
            let len = wire_len(self.0.len() - len_at - 4);
            self.0[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.end(start);
    }
}

impl Out<'_> {
    /// The whole packet [`Out::users_groups`] would append (length header included), to check
    /// against [`MAX_PACKET`] before building it.
    pub fn users_groups_len(users: &[&str], groups: &[&str]) -> usize {
        let names: usize = users.iter().chain(groups).map(|n| 4 + n.len()).sum();
        4 + 1 + 4 + 4 + 4 + names
    }
}

/// A length as the wire's u32. Replies are capped far below 4 GiB (see [`Out`]), so the
/// saturation never happens; it only keeps the conversion total.
fn wire_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn put_attrs(out: &mut Vec<u8>, a: &Attrs) {
    use attr_flags::*;
    let flags = a.size.map_or(0, |_| SIZE)
        | a.uid_gid.map_or(0, |_| UIDGID)
        | a.permissions.map_or(0, |_| PERMISSIONS)
        | a.times.map_or(0, |_| ACMODTIME);
    out.extend_from_slice(&flags.to_be_bytes());
    if let Some(size) = a.size {
        out.extend_from_slice(&size.to_be_bytes());
    }
    if let Some((uid, gid)) = a.uid_gid {
        out.extend_from_slice(&uid.to_be_bytes());
        out.extend_from_slice(&gid.to_be_bytes());
    }
    if let Some(perm) = a.permissions {
        out.extend_from_slice(&perm.to_be_bytes());
    }
    if let Some((atime, mtime)) = a.times {
        out.extend_from_slice(&atime.to_be_bytes());
        out.extend_from_slice(&mtime.to_be_bytes());
    }
}

/// Appends `req` as a whole packet (length header included), the inverse of [`decode`]: what
/// `decode` returns encodes back to bytes that decode to the same value (dropped ATTRS and INIT
/// extensions are not written). For tests and the `sftp_packet` fuzz target; the server never
/// sends requests.
#[doc(hidden)]
pub fn encode_request(req: &Request<'_>, out: &mut Vec<u8>) {
    let mut w = ReqWriter { out, start: 0 };
    match req {
        Request::Init { version } => {
            w.begin(msg::INIT);
            w.u32(*version);
        }
        Request::Open { id, path, pflags, attrs } => {
            w.head(msg::OPEN, *id).s(path).u32(*pflags).attrs(attrs);
        }
        Request::Close { id, handle } => w.head(msg::CLOSE, *id).s(handle).done(),
        Request::Read { id, handle, offset, len } => {
            w.head(msg::READ, *id).s(handle).u64(*offset).u32(*len);
        }
        Request::Write { id, handle, offset, data } => {
            w.head(msg::WRITE, *id).s(handle).u64(*offset).s(data);
        }
        Request::Lstat { id, path } => w.head(msg::LSTAT, *id).s(path).done(),
        Request::Fstat { id, handle } => w.head(msg::FSTAT, *id).s(handle).done(),
        Request::Setstat { id, path, attrs } => w.head(msg::SETSTAT, *id).s(path).attrs(attrs),
        Request::Fsetstat { id, handle, attrs } => w.head(msg::FSETSTAT, *id).s(handle).attrs(attrs),
        Request::Opendir { id, path } => w.head(msg::OPENDIR, *id).s(path).done(),
        Request::Readdir { id, handle } => w.head(msg::READDIR, *id).s(handle).done(),
        Request::Remove { id, path } => w.head(msg::REMOVE, *id).s(path).done(),
        Request::Mkdir { id, path, attrs } => w.head(msg::MKDIR, *id).s(path).attrs(attrs),
        Request::Rmdir { id, path } => w.head(msg::RMDIR, *id).s(path).done(),
        Request::Realpath { id, path } => w.head(msg::REALPATH, *id).s(path).done(),
        Request::Stat { id, path } => w.head(msg::STAT, *id).s(path).done(),
        Request::Rename { id, from, to } => w.head(msg::RENAME, *id).s(from).s(to).done(),
        Request::Readlink { id, path } => w.head(msg::READLINK, *id).s(path).done(),
        Request::Symlink { id, link, target } => w.head(msg::SYMLINK, *id).s(target).s(link).done(),
        Request::PosixRename { id, from, to } => w.ext(*id, "posix-rename@openssh.com").s(from).s(to).done(),
        Request::Statvfs { id, path } => w.ext(*id, "statvfs@openssh.com").s(path).done(),
        Request::Fstatvfs { id, handle } => w.ext(*id, "fstatvfs@openssh.com").s(handle).done(),
        Request::Hardlink { id, from, to } => w.ext(*id, "hardlink@openssh.com").s(from).s(to).done(),
        Request::Fsync { id, handle } => w.ext(*id, "fsync@openssh.com").s(handle).done(),
        Request::Lsetstat { id, path, attrs } => w.ext(*id, "lsetstat@openssh.com").s(path).attrs(attrs),
        Request::Limits { id } => w.ext(*id, "limits@openssh.com").done(),
        Request::ExpandPath { id, path } => w.ext(*id, "expand-path@openssh.com").s(path).done(),
        Request::CopyData { id, read_handle, read_offset, read_len, write_handle, write_offset } => {
            w.ext(*id, "copy-data").s(read_handle).u64(*read_offset).u64(*read_len).s(write_handle).u64(*write_offset);
        }
        Request::HomeDirectory { id, user } => w.ext(*id, "home-directory").s(user).done(),
        Request::UsersGroupsById { id, uids, gids } => {
            let pack = |ids: &[u32]| ids.iter().flat_map(|i| i.to_be_bytes()).collect::<Vec<u8>>();
            w.ext(*id, "users-groups-by-id@openssh.com").s(&pack(uids)).s(&pack(gids)).done();
        }
        Request::UnknownExtended { id, name } => w.head(msg::EXTENDED, *id).s(name).done(),
        Request::Unknown { id, kind } => {
            w.begin(*kind);
            if let Some(id) = id {
                w.u32(*id);
            }
        }
    }
    w.finish();
}

/// The little builder behind [`encode_request`].
struct ReqWriter<'v> {
    out: &'v mut Vec<u8>,
    start: usize,
}

impl ReqWriter<'_> {
    fn begin(&mut self, kind: u8) -> &mut Self {
        self.start = self.out.len();
        self.out.extend_from_slice(&[0, 0, 0, 0, kind]);
        self
    }
    fn head(&mut self, kind: u8, id: u32) -> &mut Self {
        self.begin(kind).u32(id)
    }
    fn ext(&mut self, id: u32, name: &str) -> &mut Self {
        self.head(msg::EXTENDED, id).s(name.as_bytes())
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn s(&mut self, s: &[u8]) -> &mut Self {
        self.u32(wire_len(s.len()));
        self.out.extend_from_slice(s);
        self
    }
    fn attrs(&mut self, a: &Attrs) {
        put_attrs(self.out, a);
    }
    /// Ends a chain whose value is not needed (the match arms want `()`).
    fn done(&mut self) {}
    fn finish(self) {
        let len = wire_len(self.out.len() - self.start - 4);
        self.out[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const FULL: Attrs =
        Attrs { size: Some(1 << 40), uid_gid: Some((1000, 100)), permissions: Some(0o100644), times: Some((7, 8)) };

    /// One request of every kind (several shapes of ATTRS among them).
    fn samples() -> Vec<Request<'static>> {
        use Request::*;
        vec![
            Init { version: 3 },
            Open { id: 1, path: b"/a/b.txt", pflags: pflags::WRITE | pflags::CREAT | pflags::TRUNC, attrs: FULL },
            Open { id: 2, path: b"r", pflags: pflags::READ, attrs: Attrs::default() },
            Close { id: 3, handle: b"h1" },
            Read { id: 4, handle: b"h1", offset: 1 << 33, len: 32768 },
            Write { id: 5, handle: b"h1", offset: 9, data: b"hello\0world" },
            Lstat { id: 6, path: b"/l" },
            Fstat { id: 7, handle: b"h2" },
            Setstat { id: 8, path: b"/s", attrs: Attrs { permissions: Some(0o755), ..Attrs::default() } },
            Fsetstat { id: 9, handle: b"h3", attrs: Attrs { times: Some((1, 2)), ..Attrs::default() } },
            Opendir { id: 10, path: b"/" },
            Readdir { id: 11, handle: b"d1" },
            Remove { id: 12, path: b"/x" },
            Mkdir { id: 13, path: b"/newdir", attrs: Attrs { permissions: Some(0o700), ..Attrs::default() } },
            Rmdir { id: 14, path: b"/newdir" },
            Realpath { id: 15, path: b"." },
            Stat { id: 16, path: b"/\xff\xfe not utf-8" },
            Rename { id: 17, from: b"/a", to: b"/b" },
            Readlink { id: 18, path: b"/link" },
            Symlink { id: 19, link: b"/link", target: b"../target" },
            PosixRename { id: 20, from: b"/a", to: b"/b" },
            Statvfs { id: 21, path: b"/" },
            Fstatvfs { id: 22, handle: b"h4" },
            Hardlink { id: 23, from: b"/a", to: b"/c" },
            Fsync { id: 24, handle: b"h5" },
            Lsetstat { id: 25, path: b"/l", attrs: Attrs { uid_gid: Some((0, 0)), size: Some(0), ..Attrs::default() } },
            Limits { id: 26 },
            ExpandPath { id: 27, path: b"~/x" },
            CopyData {
                id: 28,
                read_handle: b"r1",
                read_offset: 1,
                read_len: 0,
                write_handle: b"w1",
                write_offset: u64::MAX,
            },
            HomeDirectory { id: 29, user: b"alice" },
            UsersGroupsById { id: 30, uids: vec![0, 1000, u32::MAX], gids: vec![] },
            UnknownExtended { id: 31, name: b"check-file-name" },
            Unknown { id: Some(32), kind: msg::STATUS },
            Unknown { id: None, kind: 99 },
        ]
    }

    fn encode(req: &Request<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        encode_request(req, &mut v);
        v
    }

    fn id_of(req: &Request<'_>) -> Option<u32> {
        let dbg = format!("{req:?}");
        let rest = dbg.split("id: ").nth(1)?;
        let rest = rest.strip_prefix("Some(").unwrap_or(rest);
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    }

    #[test]
    fn every_request_round_trips() {
        for req in samples() {
            let packet = encode(&req);
            let (body, used) = split_packet(&packet).unwrap().unwrap();
            assert_eq!(used, packet.len(), "{req:?}");
            assert_eq!(decode(body).unwrap(), req);
        }
    }

    #[test]
    fn back_to_back_packets_split_one_at_a_time() {
        let all: Vec<u8> = samples().iter().flat_map(encode).collect();
        let mut rest = &all[..];
        let mut got = Vec::new();
        while let Some((body, used)) = split_packet(rest).unwrap() {
            got.push(decode(body).unwrap());
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        assert_eq!(got, samples());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for req in samples() {
            let packet = encode(&req);
            for n in 0..packet.len() {
                assert_eq!(split_packet(&packet[..n]), Ok(None), "{req:?} cut to {n}");
            }
            if matches!(req, Request::Unknown { .. }) {
                continue; // nothing after the id is required
            }
            let body = &packet[4..];
            for n in 0..body.len() {
                let err = decode(&body[..n]).expect_err("a cut packet must not decode");
                let DecodeError::Malformed { kind, id, .. } = err else { panic!("{err:?}") };
                assert_eq!(kind, if n == 0 { 0 } else { body[0] });
                // The id is reported exactly when all of it was there.
                let expect_id = if n >= 5 { id_of(&req) } else { None };
                assert_eq!(id, expect_id, "{req:?} cut to {n}");
            }
        }
    }

    #[test]
    fn trailing_bytes_are_ignored_as_openssh_does() {
        for req in samples() {
            let mut body = encode(&req)[4..].to_vec();
            body.extend_from_slice(&[0, 0, 0, 9, 1, 2, 3]);
            if body[0] == msg::INIT {
                // After INIT's version, extra bytes are read as (cut short) extension pairs.
                assert!(decode(&body).is_err());
                continue;
            }
            if matches!(req, Request::Unknown { id: None, .. }) {
                continue; // the extra bytes become its id
            }
            assert_eq!(decode(&body), Ok(req.clone()), "{req:?}");
        }
        // rclone's short WRITE: the data string says 3 bytes, the packet carries more.
        let mut body = vec![msg::WRITE, 0, 0, 0, 6, 0, 0, 0, 1, b'h', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
        body.extend_from_slice(b"abcdefgh");
        assert_eq!(decode(&body), Ok(Request::Write { id: 6, handle: b"h", offset: 0, data: b"abc" }));
    }

    #[test]
    fn huge_lengths_are_refused_before_allocating() {
        // A string claiming 4 GiB in a 12-byte packet.
        let body = [msg::STAT, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c'];
        assert_eq!(decode(&body), Err(DecodeError::Malformed { kind: msg::STAT, id: Some(5), what: "path" }));
        // ATTRS with u32::MAX extended pairs.
        let mut body = vec![msg::SETSTAT, 0, 0, 0, 6, 0, 0, 0, 1, b'/'];
        body.extend_from_slice(&attr_flags::EXTENDED.to_be_bytes());
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            decode(&body),
            Err(DecodeError::Malformed { kind: msg::SETSTAT, id: Some(6), what: "attrs extended count" })
        );
        // users-groups-by-id: too many ids, or a length that is not a multiple of four.
        let ugb = |uids: Vec<u8>, gids: Vec<u8>| {
            let mut b = vec![msg::EXTENDED, 0, 0, 0, 7];
            for s in [&b"users-groups-by-id@openssh.com"[..], &uids, &gids] {
                b.extend_from_slice(&(s.len() as u32).to_be_bytes());
                b.extend_from_slice(s);
            }
            decode(&b).map(|r| format!("{r:?}"))
        };
        let what = |w| Err(DecodeError::Malformed { kind: msg::EXTENDED, id: Some(7), what: w });
        assert_eq!(ugb(vec![0; 4 * (MAX_IDS_PER_LOOKUP + 1)], vec![]), what("more than 10000 uids"));
        assert_eq!(ugb(vec![], vec![0; 4 * (MAX_IDS_PER_LOOKUP + 1)]), what("more than 10000 gids"));
        assert_eq!(ugb(vec![0; 5], vec![]), what("uids not a multiple of 4 bytes"));
        assert_eq!(ugb(vec![], vec![0; 3]), what("gids not a multiple of 4 bytes"));
        assert!(ugb(vec![0; 4 * MAX_IDS_PER_LOOKUP], vec![1; 4 * MAX_IDS_PER_LOOKUP]).is_ok());
    }

    #[test]
    fn packet_lengths_outside_the_limit_are_bad() {
        assert_eq!(split_packet(&[]), Ok(None));
        assert_eq!(split_packet(&[0, 0, 0]), Ok(None));
        assert_eq!(split_packet(&[0, 0, 0, 0, 1]), Err(DecodeError::BadLength(0)));
        let too_long = (MAX_PACKET as u32 + 1).to_be_bytes();
        assert_eq!(split_packet(&too_long), Err(DecodeError::BadLength(MAX_PACKET as u32 + 1)));
        assert_eq!(split_packet(&[0xff; 8]), Err(DecodeError::BadLength(u32::MAX)));
        // Exactly MAX_PACKET is allowed: it waits for the rest.
        let mut max = (MAX_PACKET as u32).to_be_bytes().to_vec();
        assert_eq!(split_packet(&max), Ok(None));
        max.resize(4 + MAX_PACKET + 3, 0);
        let (body, used) = split_packet(&max).unwrap().unwrap();
        assert_eq!((body.len(), used), (MAX_PACKET, 4 + MAX_PACKET));
        assert_eq!(split_packet(&[0, 0, 0, 1, 42, 9]), Ok(Some((&[42u8][..], 5))));
    }

    #[test]
    fn unknown_types_carry_their_id_when_present() {
        assert_eq!(decode(&[]), Err(DecodeError::Malformed { kind: 0, id: None, what: "type" }));
        assert_eq!(decode(&[77]), Ok(Request::Unknown { id: None, kind: 77 }));
        assert_eq!(decode(&[77, 0, 0, 1]), Ok(Request::Unknown { id: None, kind: 77 }));
        assert_eq!(decode(&[77, 0, 0, 1, 2]), Ok(Request::Unknown { id: Some(258), kind: 77 }));
        assert_eq!(decode(&[msg::DATA, 0, 0, 0, 9, 1, 2, 3]), Ok(Request::Unknown { id: Some(9), kind: msg::DATA }));
        // An unknown extension's own fields are left alone.
        let mut b = vec![msg::EXTENDED, 0, 0, 0, 4, 0, 0, 0, 3];
        b.extend_from_slice(b"foo\x01\x02");
        assert_eq!(decode(&b), Ok(Request::UnknownExtended { id: 4, name: b"foo" }));
    }

    #[test]
    fn init_extensions_and_attrs_extended_pairs_are_parsed_then_dropped() {
        let mut b = vec![msg::INIT, 0, 0, 0, 3];
        for s in ["a@b", "1", "c", ""] {
            b.extend_from_slice(&(s.len() as u32).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        assert_eq!(decode(&b), Ok(Request::Init { version: 3 }));
        b.truncate(b.len() - 1); // the last pair's data length cut short
        assert_eq!(decode(&b), Err(DecodeError::Malformed { kind: msg::INIT, id: None, what: "extension data" }));

        let mut b = vec![msg::FSETSTAT, 0, 0, 0, 2, 0, 0, 0, 1, b'h'];
        b.extend_from_slice(&(attr_flags::PERMISSIONS | attr_flags::EXTENDED | 0x40).to_be_bytes());
        b.extend_from_slice(&0o644u32.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 0]);
        let attrs = Attrs { permissions: Some(0o644), ..Attrs::default() };
        assert_eq!(decode(&b), Ok(Request::Fsetstat { id: 2, handle: b"h", attrs }));
    }

    #[test]
    fn symlink_is_target_then_link_on_the_wire() {
        // As `sftp> ln -s ../target /link` sends it (sftp-client.c: oldpath, then newpath).
        let mut b = vec![msg::SYMLINK, 0, 0, 0, 1];
        for s in ["../target", "/link"] {
            b.extend_from_slice(&(s.len() as u32).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        assert_eq!(decode(&b), Ok(Request::Symlink { id: 1, link: b"/link", target: b"../target" }));
    }

    #[test]
    fn malformed_reports_kind_and_id() {
        let err = decode(&[msg::READ, 0, 0, 0, 42, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(err, DecodeError::Malformed { kind: msg::READ, id: Some(42), what: "offset" });
        assert_eq!(err.to_string(), "malformed 5 packet: offset");
        assert_eq!(DecodeError::BadLength(0).to_string(), "packet length 0 is outside 1..=262144");
    }

    /// Builds expected bytes: a length header is prepended by `packet`.
    fn packet(body: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = body.concat();
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend(body);
        v
    }

    fn s(x: &[u8]) -> Vec<u8> {
        let mut v = (x.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(x);
        v
    }

    #[test]
    fn status_bytes() {
        let mut v = vec![0xaa];
        Out(&mut v).status(0x01020304, Status::NoSuchFile, "No such file");
        let want = packet(&[&[msg::STATUS, 1, 2, 3, 4, 0, 0, 0, 2], &s(b"No such file"), &s(b"")]);
        assert_eq!(v[0], 0xaa, "appends, keeps what was there");
        assert_eq!(&v[1..], &want[..]);
        assert_eq!(v[1..5], [0, 0, 0, 29]); // 1 + 4 + 4 + (4 + 12) + (4 + 0)
    }

    #[test]
    fn name_bytes() {
        let mut v = Vec::new();
        let entries = [
            NameEntry { filename: b"a", longname: b"-rw-r--r-- a", attrs: FULL },
            NameEntry {
                filename: b"d",
                longname: b"drwx d",
                attrs: Attrs { permissions: Some(0o40700), ..Attrs::default() },
            },
        ];
        Out(&mut v).name(9, &entries);
        let full_attrs: &[u8] = &[
            0, 0, 0, 0x0f, // flags: size | uidgid | permissions | acmodtime
            0, 0, 1, 0, 0, 0, 0, 0, // size 2^40
            0, 0, 0x03, 0xe8, 0, 0, 0, 100, // uid 1000, gid 100
            0, 0, 0x81, 0xa4, // 0o100644
            0, 0, 0, 7, 0, 0, 0, 8, // atime, mtime
        ];
        let dir_attrs: &[u8] = &[0, 0, 0, 4, 0, 0, 0x41, 0xc0];
        let want = packet(&[
            &[msg::NAME, 0, 0, 0, 9, 0, 0, 0, 2],
            &s(b"a"),
            &s(b"-rw-r--r-- a"),
            full_attrs,
            &s(b"d"),
            &s(b"drwx d"),
            dir_attrs,
        ]);
        assert_eq!(v, want);
    }

    #[test]
    fn data_and_data_with_bytes() {
        let mut plain = Vec::new();
        Out(&mut plain).data(3, b"xyz");
        assert_eq!(plain, packet(&[&[msg::DATA, 0, 0, 0, 3], &s(b"xyz")]));

        let mut v = vec![1, 2];
        let n = Out(&mut v)
            .data_with(3, 10, |buf| {
                assert_eq!(buf.len(), 10);
                buf[..3].copy_from_slice(b"xyz");
                Ok::<_, ()>(3)
            })
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(&v[..2], &[1, 2]);
        assert_eq!(&v[2..], &plain[..], "a short fill is trimmed to what was written");

        // End of file: an empty DATA is still a whole packet (the server sends EOF instead,
        // but the encoding must be sound).
        let mut v = Vec::new();
        assert_eq!(Out(&mut v).data_with(4, 8, |_| Ok::<_, ()>(0)), Ok(0));
        assert_eq!(v, packet(&[&[msg::DATA, 0, 0, 0, 4], &s(b"")]));

        // A count above len is clamped, never a panic.
        let mut v = Vec::new();
        assert_eq!(
            Out(&mut v).data_with(5, 2, |b| {
                b.copy_from_slice(b"ok");
                Ok::<_, ()>(99)
            }),
            Ok(2)
        );
        assert_eq!(v, packet(&[&[msg::DATA, 0, 0, 0, 5], &s(b"ok")]));

        // A failing fill leaves the buffer exactly as it was.
        let mut v = vec![7, 7, 7];
        let err = Out(&mut v).data_with(6, 1024, |b| {
            b[0] = 1;
            Err("read failed")
        });
        assert_eq!(err, Err("read failed"));
        assert_eq!(v, [7, 7, 7]);
    }

    #[test]
    fn version_bytes() {
        let mut v = Vec::new();
        Out(&mut v).version(&[("posix-rename@openssh.com", "1"), ("limits@openssh.com", "1")]);
        let want = packet(&[
            &[msg::VERSION, 0, 0, 0, 3],
            &s(b"posix-rename@openssh.com"),
            &s(b"1"),
            &s(b"limits@openssh.com"),
            &s(b"1"),
        ]);
        assert_eq!(v, want);
        let mut v = Vec::new();
        Out(&mut v).version(&[]);
        assert_eq!(v, [0, 0, 0, 5, 2, 0, 0, 0, 3]);
    }

    #[test]
    fn users_groups_bytes() {
        let mut v = Vec::new();
        Out(&mut v).users_groups(11, &["root", ""], &["wheel"]);
        let users = [s(b"root"), s(b"")].concat();
        let groups = s(b"wheel");
        let want = packet(&[&[msg::EXTENDED_REPLY, 0, 0, 0, 11], &s(&users), &s(&groups)]);
        assert_eq!(v, want);
        assert_eq!(v.len(), Out::users_groups_len(&["root", ""], &["wheel"]));
        assert_eq!(&v[9..13], &[0, 0, 0, 12], "outer length covers both inner strings");
        let mut v = Vec::new();
        Out(&mut v).users_groups(1, &[], &[]);
        assert_eq!(v, [0, 0, 0, 13, 201, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn other_reply_bytes() {
        let mut v = Vec::new();
        let mut out = Out(&mut v);
        out.handle(1, b"h");
        out.attrs(2, &Attrs::default());
        out.limits(3, 1, 2, 3, 4);
        out.statvfs(4, &Statvfs { bsize: 1, namemax: 11, ..Statvfs::default() });
        let u64s = |xs: &[u64]| xs.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let want = [
            packet(&[&[msg::HANDLE, 0, 0, 0, 1], &s(b"h")]),
            packet(&[&[msg::ATTRS, 0, 0, 0, 2, 0, 0, 0, 0]]),
            packet(&[&[msg::EXTENDED_REPLY, 0, 0, 0, 3], &u64s(&[1, 2, 3, 4])]),
            packet(&[&[msg::EXTENDED_REPLY, 0, 0, 0, 4], &u64s(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11])]),
        ]
        .concat();
        assert_eq!(v, want);
    }

    /// Writes one seed file per sample request into `$SFTP_SEED_DIR` (the fuzz corpus):
    /// `SFTP_SEED_DIR=fuzz/corpus/sftp_packet cargo test -p gatehouse-ssh --lib
    /// write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes the fuzz seed corpus when SFTP_SEED_DIR is set"]
    fn write_fuzz_seeds() {
        let Some(dir) = std::env::var_os("SFTP_SEED_DIR") else { return };
        for (i, req) in samples().iter().enumerate() {
            std::fs::write(std::path::Path::new(&dir).join(format!("seed-{i:02}")), encode(req)).unwrap();
        }
        // Two packets back to back, as the fuzz target splits them.
        let two = [encode(&samples()[1]), encode(&samples()[5])].concat();
        std::fs::write(std::path::Path::new(&dir).join("seed-pair"), two).unwrap();
    }
}
