//! The NSS snapshot file (`/var/lib/gatehouse/nss.db`): a writer ([`build`]) for the daemon and a
//! validating reader ([`Snapshot`]) for `libnss_gatehouse.so.2`.
//!
//! The file holds public fields only (names, ids, display names, group memberships): it is 0644
//! and every process on the host maps it. Home directory, shell and password field are the same
//! for every user ([`crate::config::SHARED_HOME`], [`crate::config::LOGIN_SHELL`], `*`), so they
//! are not stored.
//!
//! # Layout (version 2; every integer little-endian)
//!
//! ```text
//! offset size  field
//!      0    8  magic  "GHNSSDB\0"
//!      8    4  version (2); a reader refuses any other value
//!     12    4  replaced: 0 while current; set to 1 in the OLD file after the new one is renamed
//!              into place. Read with an atomic load by the NSS module; never read by this parser
//!     16    8  generation
//!     24    8  file length (the whole file, header included)
//!     32    4  gid of gatehouse-users          36  4  gid of gatehouse-totp
//!     40    4  user count U                    44  4  group count G
//!     48    4  member count M                  52  4  user-group count L
//!     56    4  heap length H                   60  4  last id of the range (`[ids] last`)
//!     64   28  section offsets (u32 each): users, user name index, groups, group name index,
//!              members, user groups, heap
//!     92    4  reserved, 0
//!     96       users         U × 32: uid, gid, name (off, len), gecos (off, len), groups (start, count)
//!                            sorted by uid
//!              user names    U × 12: name hash (u64), user index (u32); sorted by hash, then
//!                            by name bytes
//!              groups        G × 20: gid, name (off, len), members (start, count); sorted by gid
//!              group names   G × 12: name hash (u64), group index (u32); sorted like user names
//!              members       M × 4: user index (the member's name is the user's name)
//!              user groups   L × 4: supplementary gids of a user (for `initgroups_dyn`)
//!              heap          H bytes: strings, each followed by a NUL
//! ```
//!
//! Sections follow each other in that order with no gap, and the heap ends the file: the reader
//! requires exactly this layout, so a file has no bytes that mean nothing (trailing garbage is an
//! error). The groups are the real groups, the two virtual groups, and one private group per user
//! whose gid equals its uid (named like the user, with the user as its only member).
//!
//! # Reading
//!
//! [`Snapshot::parse`] checks the header and the section layout only (constant time), since the
//! NSS module parses the mapping on every call and a process that looks up one name must not pay
//! for validating a million. Every record access then checks what it touches: record bounds,
//! string bounds, the terminating NUL, the absence of an inner NUL, member and index bounds. So
//! no input makes a lookup panic or read out of bounds; a malformed record is an error for that
//! lookup.
//!
//! **Ids.** The header carries the id range (`[ids] first`, as the gid of `gatehouse-users`, and
//! `[ids] last`), and the reader never hands out an id outside it: a user record whose uid or gid
//! is not an allocatable id of the range (`first + 2 ..= last`), a group outside `first ..= last`
//! or a supplementary gid outside it is an error for that lookup, and a header whose range starts
//! below [`MIN_ID`] (system accounts, root) is refused whole. So whoever can write the file (the
//! `gatehouse` account) cannot mint a uid-0 user or hand out a system group such as `shadow`. [`Snapshot::verify`] walks every record (tests, fuzzing, and the writer's self-check).
//! Lookups search the sorted sections by interpolation (the keys are name hashes, see
//! [`name_hash`], and ids from a range: close to uniform), bisecting after a few guesses; a name
//! lookup touches only the compact name index until the last step, which reads the one record
//! and heap string to compare. A file whose indexes are not sorted answers "not found" for some
//! names, never a wrong record: every hit is compared with the key.
use crate::config::{IdRange, MIN_ID};
use crate::error::PolicyError;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"GHNSSDB\0";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 2;
/// Byte offset of the `replaced` word (a 4-aligned `u32`).
pub const REPLACED_OFFSET: usize = 12;
/// Size of the header.
pub const HEADER_LEN: usize = 96;
/// Size of one user record.
const USER_REC: usize = 32;
/// Size of one group record.
const GROUP_REC: usize = 20;
/// Size of one name index entry: the name's hash (u64) and a record index (u32).
const INDEX_REC: usize = 12;
/// Longest name the writer accepts (glibc's limit for login names is 256 bytes).
pub const MAX_NAME: usize = 256;
/// Longest display name the writer accepts.
pub const MAX_GECOS: usize = 1024;
/// Name of the virtual group every gatehouse user belongs to.
pub const USERS_GROUP: &str = "gatehouse-users";
/// Name of the virtual group of users with TOTP.
pub const TOTP_GROUP: &str = "gatehouse-totp";

/// Why a snapshot (or one of its records) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The file is shorter than its header, or than a record it points to.
    #[error("snapshot truncated at {0}")]
    Truncated(&'static str),
    /// The first bytes are not [`MAGIC`]: this is not a gatehouse snapshot.
    #[error("not a gatehouse snapshot (bad magic)")]
    BadMagic,
    /// A format version this reader does not know; the NSS module answers `UNAVAIL`.
    #[error("snapshot format version {0} is not supported (this reader knows version 2)")]
    UnsupportedVersion(u32),
    /// A header field disagrees with the file (length, section offset, reserved word).
    #[error("snapshot header field {0} is inconsistent with the file")]
    BadHeader(&'static str),
    /// A record points outside its section or the heap.
    #[error("snapshot record field {0} points out of bounds")]
    OutOfBounds(&'static str),
    /// A string is not NUL-terminated, or contains a NUL.
    #[error("snapshot string field {0} is malformed (missing terminator or inner NUL)")]
    BadString(&'static str),
    /// A name index entry's hash is not the hash of the name it points to
    /// ([`Snapshot::verify`] only).
    #[error("snapshot index {0} holds a hash that does not match its name")]
    BadHash(&'static str),
    /// A record's id lies outside the header's range (or the range starts below [`MIN_ID`]).
    #[error("snapshot record field {0} is outside the id range")]
    OutOfRange(&'static str),
    /// A section is not sorted or has duplicate keys ([`Snapshot::verify`] only).
    #[error("snapshot section {0} is not strictly sorted")]
    Unsorted(&'static str),
}

/// One user as the writer takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapUser {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id; when equal to `uid` the snapshot also serves a private group named like
    /// the user.
    pub gid: u32,
    /// GECOS field (the display name); no `:`, newline or NUL.
    pub gecos: String,
    /// The user has TOTP and is a member of `gatehouse-totp`.
    pub totp: bool,
}

/// One real group as the writer takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapGroup {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Member user names. Names of users not in the snapshot are left out (the caller decides
    /// which users to include).
    pub members: Vec<String>,
}

fn check_name(field: &'static str, s: &str) -> Result<(), PolicyError> {
    if s.is_empty() || s.len() > MAX_NAME {
        return Err(PolicyError::invalid(field, s, format!("must be 1 to {MAX_NAME} bytes")));
    }
    if let Some(c) = s.chars().find(|c| c.is_control() || c.is_whitespace() || matches!(c, ':' | ',')) {
        return Err(PolicyError::invalid(field, s, format!("character {c:?} cannot appear in an NSS name")));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PolicyError::invalid(field, s, "an all-numeric name would read as an id"));
    }
    Ok(())
}

fn check_gecos(s: &str) -> Result<(), PolicyError> {
    if s.len() > MAX_GECOS {
        return Err(PolicyError::invalid("display_name", s, format!("longer than {MAX_GECOS} bytes")));
    }
    if let Some(c) = s.chars().find(|c| c.is_control() || *c == ':') {
        return Err(PolicyError::invalid("display_name", s, format!("character {c:?} cannot appear in GECOS")));
    }
    Ok(())
}

fn too_big(what: &str) -> PolicyError {
    PolicyError::invalid("snapshot", what, "too large for the snapshot format (4 GiB)")
}

fn u32_of(n: usize, what: &str) -> Result<u32, PolicyError> {
    u32::try_from(n).map_err(|_| too_big(what))
}

/// The 64-bit hash the name indexes are sorted by: FNV-1a over the bytes, then the SplitMix64
/// finaliser so the high bits (which interpolation search reads) are well mixed. Part of the
/// format: a reader and the writer must agree on it.
pub fn name_hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Where a group's members come from while the writer assembles it.
#[derive(Clone, Copy)]
enum Members {
    /// Every user (`gatehouse-users`), in record order.
    All,
    /// `flat[start..start + len]`: record indexes (`gatehouse-totp` and the real groups).
    Flat(u32, u32),
}

/// A virtual or real group while the writer assembles it (private groups are not materialised:
/// they are the users whose gid equals their uid).
struct WGroup<'a> {
    name: &'a str,
    gid: u32,
    members: Members,
}

/// Sorts `(hash, record)` index entries by hash, then by name, and reports the first pair of
/// entries with the same name.
fn sort_index<'a>(idx: &mut [(u64, u32)], name: impl Fn(u32) -> &'a str) -> Option<&'a str> {
    idx.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| name(a.1).cmp(name(b.1))));
    idx.windows(2).find(|w| w[0].0 == w[1].0 && name(w[0].1) == name(w[1].1)).map(|w| name(w[0].1))
}

/// Refuses an id the reader would refuse (see the module docs, "Ids").
fn check_id(ids: &IdRange, field: &'static str, owner: &str, id: u32) -> Result<(), PolicyError> {
    if ids.first >= MIN_ID && ids.allocatable(id) {
        Ok(())
    } else {
        Err(PolicyError::invalid(field, id.to_string(), format!("of {owner} is outside the id range")))
    }
}

/// Builds the bytes of a snapshot. Errors name the offending user or group: a duplicate name or
/// id (among users, and among groups including the virtual and private ones), a name or display
/// name that cannot appear in a passwd or group line, or a file that would exceed 4 GiB.
///
/// Memory: besides the output (allocated once, at its final size) the writer keeps a few
/// integer arrays per user (about 40 bytes a user) and copies no string.
pub fn build(generation: u64, ids: &IdRange, users: &[SnapUser], groups: &[SnapGroup]) -> Result<Vec<u8>, PolicyError> {
    for u in users {
        check_name("name", &u.name)?;
        check_gecos(&u.gecos)?;
        for (field, id) in [("uid", u.uid), ("gid", u.gid)] {
            check_id(ids, field, &u.name, id)?;
        }
    }
    for g in groups {
        check_name("group", &g.name)?;
        check_id(ids, "gid", &g.name, g.gid)?;
    }
    let nu = users.len();
    // Users sorted by uid: the record order.
    let mut by_uid: Vec<u32> = (0..u32_of(nu, "users")?).collect();
    by_uid.sort_unstable_by_key(|&i| users[i as usize].uid);
    for w in by_uid.windows(2) {
        let (a, b) = (&users[w[0] as usize], &users[w[1] as usize]);
        if a.uid == b.uid {
            return Err(PolicyError::invalid("uid", a.uid.to_string(), format!("used by {} and {}", a.name, b.name)));
        }
    }
    let urec = |r: u32| &users[by_uid[r as usize] as usize];
    // The user name index: (hash, record index), sorted by hash then name.
    let mut uidx: Vec<(u64, u32)> = (0..nu as u32).map(|r| (name_hash(urec(r).name.as_bytes()), r)).collect();
    if let Some(dup) = sort_index(&mut uidx, |r| urec(r).name.as_str()) {
        return Err(PolicyError::invalid("name", dup, "two users have this name"));
    }
    let find_user = |name: &str| {
        let h = name_hash(name.as_bytes());
        let k = uidx.partition_point(|e| e.0 < h);
        uidx[k..].iter().take_while(|e| e.0 == h).find(|e| urec(e.1).name == name).map(|e| e.1)
    };

    // Virtual and real groups, sorted by gid; members of totp and real groups in `flat`.
    let mut flat: Vec<u32> = (0..nu as u32).filter(|&r| urec(r).totp).collect();
    let mut wgroups: Vec<WGroup<'_>> = Vec::with_capacity(groups.len() + 2);
    wgroups.push(WGroup { name: USERS_GROUP, gid: ids.users_group(), members: Members::All });
    wgroups.push(WGroup {
        name: TOTP_GROUP,
        gid: ids.totp_group(),
        members: Members::Flat(0, u32_of(flat.len(), "members")?),
    });
    for g in groups {
        let start = flat.len();
        flat.extend(g.members.iter().filter_map(|m| find_user(m)));
        let members = Members::Flat(u32_of(start, "members")?, u32_of(flat.len() - start, "members")?);
        wgroups.push(WGroup { name: &g.name, gid: g.gid, members });
    }
    wgroups.sort_by_key(|g| g.gid);
    let nr = wgroups.len();
    let members_of = |m: Members| -> &[u32] {
        match m {
            Members::All => &[],
            Members::Flat(start, len) => &flat[start as usize..start as usize + len as usize],
        }
    };
    // Group records: ids below `nr` are `wgroups`, the others private groups of user record
    // `id - nr`; merged in gid order (both lists are sorted).
    let ng = nr + (0..nu as u32).filter(|&r| urec(r).gid == urec(r).uid).count();
    let nr32 = u32_of(nr, "groups")?;
    let gid_of = |id: u32| if id < nr32 { wgroups[id as usize].gid } else { urec(id - nr32).uid };
    let gname = |id: u32| if id < nr32 { wgroups[id as usize].name } else { urec(id - nr32).name.as_str() };
    let mut gorder: Vec<u32> = Vec::with_capacity(ng);
    {
        let mut privates = (0..nu as u32).filter(|&r| urec(r).gid == urec(r).uid).map(|r| r + nr32).peekable();
        let mut reals = (0..nr32).peekable();
        loop {
            let next = match (reals.peek(), privates.peek()) {
                (Some(&a), Some(&b)) if gid_of(a) <= gid_of(b) => reals.next(),
                (Some(_), Some(_)) => privates.next(),
                (Some(_), None) => reals.next(),
                (None, Some(_)) => privates.next(),
                (None, None) => None,
            };
            match next {
                Some(id) => gorder.push(id),
                None => break,
            }
        }
    }
    u32_of(ng, "groups")?;
    for w in gorder.windows(2) {
        if gid_of(w[0]) == gid_of(w[1]) {
            return Err(PolicyError::invalid(
                "gid",
                gid_of(w[0]).to_string(),
                format!("used by groups {} and {}", gname(w[0]), gname(w[1])),
            ));
        }
    }
    let mut gidx: Vec<(u64, u32)> =
        gorder.iter().enumerate().map(|(rec, &id)| (name_hash(gname(id).as_bytes()), rec as u32)).collect();
    if let Some(dup) = sort_index(&mut gidx, |rec| gname(gorder[rec as usize])) {
        return Err(PolicyError::invalid(
            "group",
            dup,
            "two groups (or a group and a user's private group) have this name",
        ));
    }

    // Supplementary groups of each user: the virtual and real groups, in gid order (CSR).
    let mut ucount = vec![0u32; nu];
    let mut nm = ng - nr; // one member per private group
    for g in &wgroups {
        match g.members {
            Members::All => ucount.iter_mut().for_each(|c| *c += 1),
            m => members_of(m).iter().for_each(|&r| ucount[r as usize] += 1),
        }
        nm += match g.members {
            Members::All => nu,
            m => members_of(m).len(),
        };
    }
    let nl: usize = ucount.iter().map(|&c| c as usize).sum();

    // Sizes and offsets; the heap size is exact, so `out` is allocated once.
    let heap_len: usize = users.iter().map(|u| u.name.len() + u.gecos.len() + 2).sum::<usize>()
        + wgroups.iter().map(|g| g.name.len() + 1).sum::<usize>();
    let off_users = HEADER_LEN;
    let off_unames = off_users + nu * USER_REC;
    let off_groups = off_unames + nu * INDEX_REC;
    let off_gnames = off_groups + ng * GROUP_REC;
    let off_members = off_gnames + ng * INDEX_REC;
    let off_ugroups = off_members + nm * 4;
    let off_heap = off_ugroups + nl * 4;
    let total = off_heap + heap_len;
    u32_of(total, "file")?;
    let mut out = vec![0u8; total];
    let put = |out: &mut [u8], at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let mut hpos = 0usize;
    let mut push_str = |out: &mut [u8], s: &str| -> (u32, u32) {
        let at = hpos;
        out[off_heap + at..off_heap + at + s.len()].copy_from_slice(s.as_bytes());
        hpos += s.len() + 1;
        (at as u32, s.len() as u32)
    };

    // Users; `ucount` becomes each user's start in the user-group lists, `cursor` the fill point.
    let mut name_at = vec![0u32; nu];
    let mut lpos = 0u32;
    for r in 0..nu {
        let u = urec(r as u32);
        let (no, nlen) = push_str(&mut out, &u.name);
        name_at[r] = no;
        let (go, glen) = push_str(&mut out, &u.gecos);
        let at = off_users + r * USER_REC;
        for (k, v) in [u.uid, u.gid, no, nlen, go, glen, lpos, ucount[r]].into_iter().enumerate() {
            put(&mut out, at + 4 * k, v);
        }
        let c = ucount[r];
        ucount[r] = lpos;
        lpos += c;
    }
    let mut cursor = ucount;
    for g in &wgroups {
        let mut add = |out: &mut [u8], r: u32| {
            put(out, off_ugroups + 4 * cursor[r as usize] as usize, g.gid);
            cursor[r as usize] += 1;
        };
        match g.members {
            Members::All => (0..nu as u32).for_each(|r| add(&mut out, r)),
            m => members_of(m).iter().for_each(|&r| add(&mut out, r)),
        }
    }
    drop(cursor);
    for (k, &(h, r)) in uidx.iter().enumerate() {
        let at = off_unames + INDEX_REC * k;
        out[at..at + 8].copy_from_slice(&h.to_le_bytes());
        put(&mut out, at + 8, r);
    }
    drop(uidx);
    let mut wname_at = vec![0u32; nr];
    for (k, g) in wgroups.iter().enumerate() {
        wname_at[k] = push_str(&mut out, g.name).0;
    }
    let mut mpos = 0usize;
    for (rec, &id) in gorder.iter().enumerate() {
        let at = off_groups + rec * GROUP_REC;
        let (gid, no, nlen, count) = if id < nr32 {
            let g = &wgroups[id as usize];
            let count = match g.members {
                Members::All => {
                    (0..nu).for_each(|r| put(&mut out, off_members + 4 * (mpos + r), r as u32));
                    nu
                }
                m => {
                    let list = members_of(m);
                    for (k, &r) in list.iter().enumerate() {
                        put(&mut out, off_members + 4 * (mpos + k), r);
                    }
                    list.len()
                }
            };
            (g.gid, wname_at[id as usize], g.name.len() as u32, count)
        } else {
            let r = id - nr32;
            let u = urec(r);
            put(&mut out, off_members + 4 * mpos, r);
            (u.uid, name_at[r as usize], u.name.len() as u32, 1)
        };
        for (k, v) in [gid, no, nlen, mpos as u32, count as u32].into_iter().enumerate() {
            put(&mut out, at + 4 * k, v);
        }
        mpos += count;
    }
    for (k, &(h, rec)) in gidx.iter().enumerate() {
        let at = off_gnames + INDEX_REC * k;
        out[at..at + 8].copy_from_slice(&h.to_le_bytes());
        put(&mut out, at + 8, rec);
    }
    debug_assert_eq!(hpos, heap_len);
    debug_assert_eq!(mpos, nm);

    // Header.
    out[..8].copy_from_slice(&MAGIC);
    put(&mut out, 8, VERSION);
    out[16..24].copy_from_slice(&generation.to_le_bytes());
    out[24..32].copy_from_slice(&(total as u64).to_le_bytes());
    let words = [
        ids.users_group(),
        ids.totp_group(),
        nu as u32,
        ng as u32,
        nm as u32,
        nl as u32,
        heap_len as u32,
        ids.last,
        off_users as u32,
        off_unames as u32,
        off_groups as u32,
        off_gnames as u32,
        off_members as u32,
        off_ugroups as u32,
        off_heap as u32,
    ];
    for (k, v) in words.into_iter().enumerate() {
        put(&mut out, 32 + 4 * k, v);
    }
    Ok(out)
}

/// The header fields the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    users: usize,
    groups: usize,
    members: usize,
    ugroups: usize,
    heap: usize,
    off_users: usize,
    off_unames: usize,
    off_groups: usize,
    off_gnames: usize,
    off_members: usize,
    off_ugroups: usize,
    off_heap: usize,
}

/// A validated view of a snapshot's bytes. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    data: &'a [u8],
    generation: u64,
    users_gid: u32,
    totp_gid: u32,
    /// `[ids] last`; `users_gid` is `[ids] first`.
    last_id: u32,
    l: Layout,
}

/// A user record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserEntry<'a> {
    /// Login name (no NUL).
    pub name: &'a [u8],
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// GECOS (display name).
    pub gecos: &'a [u8],
    groups: &'a [u8],
    /// The header's id range, for [`UserEntry::groups`].
    range: (u32, u32),
}

/// A group record.
#[derive(Debug, Clone, Copy)]
pub struct GroupEntry<'a> {
    /// Group name (no NUL).
    pub name: &'a [u8],
    /// Group id.
    pub gid: u32,
    members: &'a [u8],
    snap: Snapshot<'a>,
}

fn rd32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn rd64(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// The first index in `0..n` whose key is `>= t`, for keys sorted ascending (`n` if none).
/// Interpolation search, since both kinds of key are close to uniform (name hashes, and uids
/// and gids allocated from a range): a few probes at a million entries instead of twenty. After
/// eight guesses it bisects, so a crafted file costs at most `8 + log2(n)` probes. On a file
/// whose keys are not sorted the answer is some index, never an out-of-bounds one; callers
/// compare the key they find.
fn lower_bound(n: usize, t: u64, key: impl Fn(usize) -> Result<u64, SnapshotError>) -> Result<usize, SnapshotError> {
    if n == 0 {
        return Ok(0);
    }
    let first = key(0)?;
    if t <= first {
        return Ok(0);
    }
    let last = key(n - 1)?;
    if t > last {
        return Ok(n);
    }
    // key(lo) < t <= key(hi), so the answer is in (lo, hi] and vhi > vlo.
    let (mut lo, mut hi, mut vlo, mut vhi) = (0usize, n - 1, first, last);
    let mut guesses = 0;
    while hi - lo > 1 {
        let mid = if guesses < 8 {
            guesses += 1;
            let step = u128::from(t - vlo) * (hi - lo) as u128 / u128::from(vhi - vlo);
            (lo + step as usize).clamp(lo + 1, hi - 1)
        } else {
            lo + (hi - lo) / 2
        };
        let v = key(mid)?;
        if v < t {
            (lo, vlo) = (mid, v);
        } else {
            (hi, vhi) = (mid, v);
        }
    }
    Ok(hi)
}

/// `n` little-endian u32 values packed in `b`.
fn words(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl<'a> Snapshot<'a> {
    /// Checks the header and the section layout (constant time; see the module docs).
    pub fn parse(data: &'a [u8]) -> Result<Snapshot<'a>, SnapshotError> {
        let head = data.get(..HEADER_LEN).ok_or(SnapshotError::Truncated("header"))?;
        if head[..8] != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let w = |at: usize| rd32(head, at).ok_or(SnapshotError::Truncated("header"));
        let version = w(8)?;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let generation = rd64(head, 16).ok_or(SnapshotError::Truncated("header"))?;
        let file_len = rd64(head, 24).ok_or(SnapshotError::Truncated("header"))?;
        if file_len != data.len() as u64 {
            return Err(if file_len > data.len() as u64 {
                SnapshotError::Truncated("file length")
            } else {
                SnapshotError::BadHeader("file length")
            });
        }
        if w(92)? != 0 {
            return Err(SnapshotError::BadHeader("reserved"));
        }
        let (first, last) = (w(32)?, w(60)?);
        if first < MIN_ID || w(36)? != first.saturating_add(1) || first.saturating_add(2) > last {
            return Err(SnapshotError::OutOfRange("header id range"));
        }
        let n = |at: usize| w(at).map(|v| v as usize);
        let (users, groups, members, ugroups, heap) = (n(40)?, n(44)?, n(48)?, n(52)?, n(56)?);
        // The canonical layout; u64 arithmetic cannot overflow with u32 inputs.
        let mut at = HEADER_LEN as u64;
        let mut expect = [0usize; 7];
        for (k, size) in [
            users as u64 * USER_REC as u64,
            users as u64 * INDEX_REC as u64,
            groups as u64 * GROUP_REC as u64,
            groups as u64 * INDEX_REC as u64,
            members as u64 * 4,
            ugroups as u64 * 4,
            heap as u64,
        ]
        .into_iter()
        .enumerate()
        {
            if at > data.len() as u64 {
                return Err(SnapshotError::Truncated("section"));
            }
            expect[k] = at as usize;
            at += size;
        }
        if at != data.len() as u64 {
            return Err(SnapshotError::BadHeader("section sizes"));
        }
        const NAMES: [&str; 7] = [
            "users offset",
            "user names offset",
            "groups offset",
            "group names offset",
            "members offset",
            "user groups offset",
            "heap offset",
        ];
        for (k, &e) in expect.iter().enumerate() {
            if n(64 + 4 * k)? != e {
                return Err(SnapshotError::BadHeader(NAMES[k]));
            }
        }
        Ok(Snapshot {
            data,
            generation,
            users_gid: first,
            totp_gid: w(36)?,
            last_id: last,
            l: Layout {
                users,
                groups,
                members,
                ugroups,
                heap,
                off_users: expect[0],
                off_unames: expect[1],
                off_groups: expect[2],
                off_gnames: expect[3],
                off_members: expect[4],
                off_ugroups: expect[5],
                off_heap: expect[6],
            },
        })
    }

    /// The generation the daemon wrote.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// gids of `gatehouse-users` and `gatehouse-totp`.
    pub fn virtual_gids(&self) -> (u32, u32) {
        (self.users_gid, self.totp_gid)
    }

    /// The id range the header declares, `([ids] first, [ids] last)`.
    pub fn id_range(&self) -> (u32, u32) {
        (self.users_gid, self.last_id)
    }

    /// An id a user or a real group may have: `first + 2 ..= last`.
    fn allocatable(&self, id: u32) -> bool {
        id >= self.users_gid.saturating_add(2) && id <= self.last_id
    }

    /// Any gatehouse gid, the two virtual groups included: `first ..= last`.
    fn in_range(&self, id: u32) -> bool {
        id >= self.users_gid && id <= self.last_id
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.l.users
    }

    /// Number of groups (real, virtual and private).
    pub fn group_count(&self) -> usize {
        self.l.groups
    }

    fn heap_str(&self, field: &'static str, off: u32, len: u32) -> Result<&'a [u8], SnapshotError> {
        let heap = self.data.get(self.l.off_heap..).ok_or(SnapshotError::OutOfBounds(field))?;
        let (off, len) = (off as usize, len as usize);
        let end = off.checked_add(len).ok_or(SnapshotError::OutOfBounds(field))?;
        let s = heap.get(off..end).ok_or(SnapshotError::OutOfBounds(field))?;
        if heap.get(end) != Some(&0) || s.contains(&0) {
            return Err(SnapshotError::BadString(field));
        }
        Ok(s)
    }

    fn section(
        &self,
        field: &'static str,
        off: usize,
        start: u32,
        count: u32,
        limit: usize,
    ) -> Result<&'a [u8], SnapshotError> {
        let end = (start as usize).checked_add(count as usize).ok_or(SnapshotError::OutOfBounds(field))?;
        if end > limit {
            return Err(SnapshotError::OutOfBounds(field));
        }
        self.data.get(off + start as usize * 4..off + end * 4).ok_or(SnapshotError::OutOfBounds(field))
    }

    /// The user record at index `i` (uid order), or `None` past the end. Enumeration uses this.
    pub fn user_at(&self, i: usize) -> Result<Option<UserEntry<'a>>, SnapshotError> {
        if i >= self.l.users {
            return Ok(None);
        }
        let at = self.l.off_users + i * USER_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("user record"));
        let name = self.heap_str("user name", r(2)?, r(3)?)?;
        let gecos = self.heap_str("user gecos", r(4)?, r(5)?)?;
        let groups = self.section("user groups", self.l.off_ugroups, r(6)?, r(7)?, self.l.ugroups)?;
        let (uid, gid) = (r(0)?, r(1)?);
        if !self.allocatable(uid) {
            return Err(SnapshotError::OutOfRange("uid"));
        }
        if !self.allocatable(gid) {
            return Err(SnapshotError::OutOfRange("gid"));
        }
        // The supplementary gids are checked where they are read ([`UserEntry::groups`]): a
        // passwd lookup does not read them, and a user may be in a thousand groups.
        Ok(Some(UserEntry { name, uid, gid, gecos, groups, range: (self.users_gid, self.last_id) }))
    }

    fn user_uid_at(&self, i: usize) -> Option<u32> {
        rd32(self.data, self.l.off_users + i * USER_REC)
    }

    fn user_name_at(&self, i: usize) -> Result<&'a [u8], SnapshotError> {
        let at = self.l.off_users + i * USER_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("user record"));
        self.heap_str("user name", r(2)?, r(3)?)
    }

    /// Looks `name` up in a name index (at `off`, `n` entries pointing to records `< n`): finds
    /// the first entry with the name's hash, then compares the names (read by `name_at`) of the
    /// entries with that hash. Only the last step touches records and heap.
    fn index_find(
        &self,
        what: &'static str,
        off: usize,
        n: usize,
        name: &[u8],
        name_at: impl Fn(usize) -> Result<&'a [u8], SnapshotError>,
    ) -> Result<Option<usize>, SnapshotError> {
        let hash_at = |k: usize| rd64(self.data, off + INDEX_REC * k).ok_or(SnapshotError::Truncated(what));
        let h = name_hash(name);
        let mut k = lower_bound(n, h, hash_at)?;
        while k < n && hash_at(k)? == h {
            let idx = rd32(self.data, off + INDEX_REC * k + 8).ok_or(SnapshotError::Truncated(what))? as usize;
            if idx >= n {
                return Err(SnapshotError::OutOfBounds(what));
            }
            if name_at(idx)? == name {
                return Ok(Some(idx));
            }
            k += 1;
        }
        Ok(None)
    }

    /// Checks a name index: every entry in bounds, its hash the hash of the name it points to,
    /// and entries strictly ascending by (hash, name), so every record is found.
    fn verify_index(
        &self,
        what: &'static str,
        off: usize,
        n: usize,
        name_at: impl Fn(usize) -> Result<&'a [u8], SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let mut prev: Option<(u64, &[u8])> = None;
        for k in 0..n {
            let h = rd64(self.data, off + INDEX_REC * k).ok_or(SnapshotError::Truncated(what))?;
            let idx = rd32(self.data, off + INDEX_REC * k + 8).ok_or(SnapshotError::Truncated(what))? as usize;
            if idx >= n {
                return Err(SnapshotError::OutOfBounds(what));
            }
            let name = name_at(idx)?;
            if name_hash(name) != h {
                return Err(SnapshotError::BadHash(what));
            }
            if prev.is_some_and(|p| p >= (h, name)) {
                return Err(SnapshotError::Unsorted(what));
            }
            prev = Some((h, name));
        }
        Ok(())
    }

    fn user_index_by_name(&self, name: &[u8]) -> Result<Option<usize>, SnapshotError> {
        self.index_find("user names", self.l.off_unames, self.l.users, name, |i| self.user_name_at(i))
    }

    /// The user named `name` (bytes, without NUL).
    pub fn user_by_name(&self, name: &[u8]) -> Result<Option<UserEntry<'a>>, SnapshotError> {
        match self.user_index_by_name(name)? {
            Some(i) => self.user_at(i),
            None => Ok(None),
        }
    }

    /// The user with uid `uid`.
    pub fn user_by_uid(&self, uid: u32) -> Result<Option<UserEntry<'a>>, SnapshotError> {
        let key = |i: usize| self.user_uid_at(i).map(u64::from).ok_or(SnapshotError::Truncated("users"));
        let i = lower_bound(self.l.users, u64::from(uid), key)?;
        if i < self.l.users && key(i)? == u64::from(uid) {
            return self.user_at(i);
        }
        Ok(None)
    }

    /// The group record at index `i` (gid order), or `None` past the end.
    pub fn group_at(&self, i: usize) -> Result<Option<GroupEntry<'a>>, SnapshotError> {
        if i >= self.l.groups {
            return Ok(None);
        }
        let at = self.l.off_groups + i * GROUP_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("group record"));
        let name = self.heap_str("group name", r(1)?, r(2)?)?;
        let members = self.section("group members", self.l.off_members, r(3)?, r(4)?, self.l.members)?;
        let gid = r(0)?;
        if !self.in_range(gid) {
            return Err(SnapshotError::OutOfRange("gid"));
        }
        Ok(Some(GroupEntry { name, gid, members, snap: *self }))
    }

    fn group_name_at(&self, i: usize) -> Result<&'a [u8], SnapshotError> {
        let at = self.l.off_groups + i * GROUP_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("group record"));
        self.heap_str("group name", r(1)?, r(2)?)
    }

    /// The group named `name`.
    pub fn group_by_name(&self, name: &[u8]) -> Result<Option<GroupEntry<'a>>, SnapshotError> {
        match self.index_find("group names", self.l.off_gnames, self.l.groups, name, |i| self.group_name_at(i))? {
            Some(i) => self.group_at(i),
            None => Ok(None),
        }
    }

    /// The group with gid `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Result<Option<GroupEntry<'a>>, SnapshotError> {
        let key = |i: usize| {
            rd32(self.data, self.l.off_groups + i * GROUP_REC).map(u64::from).ok_or(SnapshotError::Truncated("groups"))
        };
        let i = lower_bound(self.l.groups, u64::from(gid), key)?;
        if i < self.l.groups && key(i)? == u64::from(gid) {
            return self.group_at(i);
        }
        Ok(None)
    }

    /// Every user, in uid order.
    pub fn users(&self) -> impl Iterator<Item = Result<UserEntry<'a>, SnapshotError>> + '_ {
        (0..self.l.users).filter_map(|i| self.user_at(i).transpose())
    }

    /// Every group, in gid order.
    pub fn groups(&self) -> impl Iterator<Item = Result<GroupEntry<'a>, SnapshotError>> + '_ {
        (0..self.l.groups).filter_map(|i| self.group_at(i).transpose())
    }

    /// Walks every record and index: every string, member and index in bounds, indexes strictly
    /// sorted, and every index entry a permutation (so lookups find every record).
    pub fn verify(&self) -> Result<(), SnapshotError> {
        let mut prev: Option<u32> = None;
        for u in self.users() {
            let u = u?;
            if prev.is_some_and(|p| p >= u.uid) {
                return Err(SnapshotError::Unsorted("users"));
            }
            prev = Some(u.uid);
        }
        self.verify_index("user names", self.l.off_unames, self.l.users, |i| self.user_name_at(i))?;
        let mut prev: Option<u32> = None;
        for g in self.groups() {
            let g = g?;
            if prev.is_some_and(|p| p >= g.gid) {
                return Err(SnapshotError::Unsorted("groups"));
            }
            prev = Some(g.gid);
            for m in g.members() {
                m?;
            }
        }
        self.verify_index("group names", self.l.off_gnames, self.l.groups, |i| self.group_name_at(i))?;
        Ok(())
    }
}

impl<'a> UserEntry<'a> {
    /// The user's supplementary gids (`gatehouse-users`, `gatehouse-totp` if any, real groups),
    /// ascending. The private group is the primary group and is not listed. A gid outside the
    /// header's id range (a system group such as `shadow`) makes the whole list an error: the
    /// user gets none of them rather than a partial list.
    pub fn groups(&self) -> Result<impl Iterator<Item = u32> + 'a, SnapshotError> {
        let (first, last) = self.range;
        if words(self.groups).all(|g| (first..=last).contains(&g)) {
            Ok(words(self.groups))
        } else {
            Err(SnapshotError::OutOfRange("user groups"))
        }
    }
}

impl<'a> GroupEntry<'a> {
    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len() / 4
    }

    /// Member names, in the order the writer stored them (uid order for the virtual groups, the input order for real groups).
    pub fn members(&self) -> impl Iterator<Item = Result<&'a [u8], SnapshotError>> + 'a {
        let snap = self.snap;
        words(self.members).map(move |idx| {
            let idx = idx as usize;
            if idx >= snap.l.users {
                return Err(SnapshotError::OutOfBounds("member"));
            }
            snap.user_name_at(idx)
        })
    }
}
