//! The safe half of the module: look a record up in the snapshot and lay it out in the caller's
//! buffer. Each function returns the offsets of the fields inside the buffer, and the
//! `extern "C"` shims turn those into pointers.
//!
//! The entry is exactly DESIGN's: `name:*:uid:gid:display name:/var/lib/gatehouse/home:/usr/sbin/gatehouse-sftp`.
//! Groups have `*` as their password field.
use gatehouse_modcore::snapmap::with_snapshot;
use gatehouse_policy::config::{LOGIN_SHELL, SHARED_HOME};
use gatehouse_policy::snapshot::{GroupEntry, Snapshot, UserEntry};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Why a lookup did not fill the buffer; each maps to one NSS status and errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// No such entry (`NSS_STATUS_NOTFOUND`, `ENOENT`).
    NotFound,
    /// No usable snapshot: missing, unknown version, malformed (`NSS_STATUS_UNAVAIL`, `ENOENT`).
    Unavail,
    /// The caller's buffer is too small (`NSS_STATUS_TRYAGAIN`, `ERANGE`).
    Range,
}

/// Offsets into the buffer of a filled passwd entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pw {
    pub name: usize,
    pub passwd: usize,
    pub gecos: usize,
    pub dir: usize,
    pub shell: usize,
    pub uid: u32,
    pub gid: u32,
}

/// Offsets into the buffer of a filled group entry; `mem` is a NULL-terminated array of pointers
/// (already holding the absolute addresses of the member strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gr {
    pub name: usize,
    pub passwd: usize,
    pub mem: usize,
    pub gid: u32,
}

/// Appends to the caller's buffer, failing with [`Fail::Range`] when it is full.
struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Out<'_> {
    fn reserve(&mut self, n: usize) -> Result<usize, Fail> {
        let at = self.pos;
        let end = at.checked_add(n).ok_or(Fail::Range)?;
        if end > self.buf.len() {
            return Err(Fail::Range);
        }
        self.pos = end;
        Ok(at)
    }

    fn str(&mut self, s: &[u8]) -> Result<usize, Fail> {
        let at = self.reserve(s.len().checked_add(1).ok_or(Fail::Range)?)?;
        self.buf[at..at + s.len()].copy_from_slice(s);
        self.buf[at + s.len()] = 0;
        Ok(at)
    }

    /// Skips to the next offset whose absolute address (`base + offset`) is `align`-aligned.
    fn align(&mut self, base: usize, align: usize) -> Result<(), Fail> {
        let addr = base.checked_add(self.pos).ok_or(Fail::Range)?;
        let pad = (align - addr % align) % align;
        self.reserve(pad).map(|_| ())
    }
}

fn snapshot(bytes: &[u8]) -> Result<Snapshot<'_>, Fail> {
    Snapshot::parse(bytes).map_err(|_| Fail::Unavail)
}

fn found<T, E>(r: Result<Option<T>, E>) -> Result<T, Fail> {
    match r {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(Fail::NotFound),
        Err(_) => Err(Fail::Unavail),
    }
}

fn fill_pw(u: &UserEntry<'_>, buf: &mut [u8]) -> Result<Pw, Fail> {
    let mut o = Out { buf, pos: 0 };
    Ok(Pw {
        name: o.str(u.name)?,
        passwd: o.str(b"*")?,
        gecos: o.str(u.gecos)?,
        dir: o.str(SHARED_HOME.as_bytes())?,
        shell: o.str(LOGIN_SHELL.as_bytes())?,
        uid: u.uid,
        gid: u.gid,
    })
}

/// Whether a group is answered with its member list. The virtual groups (`gatehouse-users`,
/// `gatehouse-totp`) are not: their membership shows where it is used, through `initgroups`
/// (`id`, the process's supplementary groups, sshd's `Match Group`, which calls `getgrouplist`
/// and then `getgrgid` only for the names). Listing them would copy every user's name into the
/// caller's buffer on each `getgrgid`, and sshd makes two at every login: about 2 ms of a login
/// at 100k users and 20 ms at 1M (measured with perf: the 300,000-key login benchmark spent
/// 1.2 % of all CPU in this module for it). sssd's `ignore_group_members` makes the same trade.
fn lists_members(snap: &Snapshot<'_>, g: &GroupEntry<'_>) -> bool {
    let (users, totp) = snap.virtual_gids();
    g.gid != users && g.gid != totp
}

/// `base` is the buffer's address, so member pointers can be stored as absolute addresses.
fn fill_gr(snap: &Snapshot<'_>, g: &GroupEntry<'_>, buf: &mut [u8], base: usize) -> Result<Gr, Fail> {
    const PTR: usize = std::mem::size_of::<usize>();
    let mut o = Out { buf, pos: 0 };
    let name = o.str(g.name)?;
    let passwd = o.str(b"*")?;
    o.align(base, std::mem::align_of::<usize>())?;
    let listed = lists_members(snap, g);
    let n = if listed { g.member_count() } else { 0 };
    let mem = o.reserve(n.checked_add(1).and_then(|k| k.checked_mul(PTR)).ok_or(Fail::Range)?)?;
    for (k, m) in g.members().take(n).enumerate() {
        let m = m.map_err(|_| Fail::Unavail)?;
        let at = o.str(m)?;
        let addr = base.checked_add(at).ok_or(Fail::Range)?;
        o.buf[mem + k * PTR..mem + (k + 1) * PTR].copy_from_slice(&addr.to_ne_bytes());
    }
    o.buf[mem + n * PTR..mem + (n + 1) * PTR].copy_from_slice(&0usize.to_ne_bytes());
    Ok(Gr { name, passwd, mem, gid: g.gid })
}

/// `getpwnam_r`.
pub fn getpwnam(name: &[u8], buf: &mut [u8]) -> Result<Pw, Fail> {
    with_snapshot(|b| fill_pw(&found(snapshot(b)?.user_by_name(name))?, buf))
}

/// `getpwuid_r`.
pub fn getpwuid(uid: u32, buf: &mut [u8]) -> Result<Pw, Fail> {
    with_snapshot(|b| fill_pw(&found(snapshot(b)?.user_by_uid(uid))?, buf))
}

/// `getgrnam_r`.
pub fn getgrnam(name: &[u8], buf: &mut [u8], base: usize) -> Result<Gr, Fail> {
    with_snapshot(|b| {
        let snap = snapshot(b)?;
        fill_gr(&snap, &found(snap.group_by_name(name))?, buf, base)
    })
}

/// `getgrgid_r`.
pub fn getgrgid(gid: u32, buf: &mut [u8], base: usize) -> Result<Gr, Fail> {
    with_snapshot(|b| {
        let snap = snapshot(b)?;
        fill_gr(&snap, &found(snap.group_by_gid(gid))?, buf, base)
    })
}

/// Enumeration cursors. glibc serialises `set/get/endXXent` with its own lock, so one cursor
/// per database per process is all the state there is (no thread-local storage). The cursor is
/// a record index: if the snapshot is replaced mid-enumeration, enumeration continues at the
/// same index in the new file.
static PW_CURSOR: AtomicUsize = AtomicUsize::new(0);
static GR_CURSOR: AtomicUsize = AtomicUsize::new(0);

/// `setpwent`/`endpwent`.
pub fn rewind_pw() {
    PW_CURSOR.store(0, SeqCst);
}

/// `setgrent`/`endgrent`.
pub fn rewind_gr() {
    GR_CURSOR.store(0, SeqCst);
}

/// `getpwent_r`: the next user; the cursor advances only when the entry was filled.
pub fn getpwent(buf: &mut [u8]) -> Result<Pw, Fail> {
    let i = PW_CURSOR.load(SeqCst);
    let r = with_snapshot(|b| fill_pw(&found(snapshot(b)?.user_at(i))?, buf));
    if r.is_ok() {
        PW_CURSOR.store(i.saturating_add(1), SeqCst);
    }
    r
}

/// `getgrent_r`.
pub fn getgrent(buf: &mut [u8], base: usize) -> Result<Gr, Fail> {
    let i = GR_CURSOR.load(SeqCst);
    let r = with_snapshot(|b| {
        let snap = snapshot(b)?;
        fill_gr(&snap, &found(snap.group_at(i))?, buf, base)
    });
    if r.is_ok() {
        GR_CURSOR.store(i.saturating_add(1), SeqCst);
    }
    r
}

/// `initgroups_dyn`: calls `add` with each supplementary gid of `name` other than `skip` (the
/// primary group), stopping when `add` returns false (the caller's limit was reached).
pub fn initgroups(name: &[u8], skip: u32, add: &mut dyn FnMut(u32) -> bool) -> Result<(), Fail> {
    with_snapshot(|b| {
        let u = found(snapshot(b)?.user_by_name(name))?;
        for gid in u.groups().map_err(|_| Fail::Unavail)?.filter(|&g| g != skip) {
            if !add(gid) {
                break;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gatehouse_policy::config::IdRange;
    use gatehouse_policy::snapshot::{build, SnapGroup, SnapUser};

    fn snap_bytes() -> Vec<u8> {
        let users = [SnapUser {
            name: "alice".into(),
            uid: 1_900_000_002,
            gid: 1_900_000_002,
            gecos: "Alice".into(),
            totp: true,
        }];
        let groups = [SnapGroup { name: "acme".into(), gid: 1_900_000_003, members: vec!["alice".into()] }];
        build(1, &IdRange::default(), &users, &groups).unwrap()
    }

    #[test]
    fn passwd_layout_and_erange() {
        let bytes = snap_bytes();
        let snap = Snapshot::parse(&bytes).unwrap();
        let u = snap.user_by_name(b"alice").unwrap().unwrap();
        let need = "alice\0*\0Alice\0/var/lib/gatehouse/home\0/usr/sbin/gatehouse-sftp\0".len();
        let mut buf = vec![0u8; need];
        let pw = fill_pw(&u, &mut buf).unwrap();
        assert_eq!(&buf[pw.shell..], b"/usr/sbin/gatehouse-sftp\0");
        assert_eq!(&buf[pw.passwd..pw.passwd + 2], b"*\0");
        for short in 0..need {
            assert_eq!(fill_pw(&u, &mut buf[..short]), Err(Fail::Range));
        }
    }

    #[test]
    fn group_layout_and_erange() {
        let bytes = snap_bytes();
        let snap = Snapshot::parse(&bytes).unwrap();
        let g = snap.group_by_name(b"acme").unwrap().unwrap();
        let mut buf = vec![0u8; 200];
        let base = buf.as_ptr() as usize;
        let gr = fill_gr(&snap, &g, &mut buf, base).unwrap();
        assert_eq!((base + gr.mem) % std::mem::align_of::<usize>(), 0);
        let mut p = [0u8; 8];
        p.copy_from_slice(&buf[gr.mem..gr.mem + 8]);
        let first = usize::from_ne_bytes(p) - base;
        assert_eq!(&buf[first..first + 6], b"alice\0");
        // "acme\0*\0", padding to 8, two pointers, "alice\0": 30 bytes.
        for short in 0..30 {
            assert_eq!(fill_gr(&snap, &g, &mut buf[..short], base), Err(Fail::Range));
        }
    }

    #[test]
    fn virtual_groups_have_no_member_list() {
        let bytes = snap_bytes();
        let snap = Snapshot::parse(&bytes).unwrap();
        for name in [&b"gatehouse-users"[..], b"gatehouse-totp"] {
            let g = snap.group_by_name(name).unwrap().unwrap();
            assert_eq!(g.member_count(), 1, "the snapshot still holds alice");
            let mut buf = vec![0u8; 200];
            let base = buf.as_ptr() as usize;
            let gr = fill_gr(&snap, &g, &mut buf, base).unwrap();
            assert_eq!(&buf[gr.mem..gr.mem + 8], &[0u8; 8], "the member list is empty");
        }
    }
}
