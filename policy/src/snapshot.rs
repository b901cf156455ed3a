//! The NSS snapshot file (`/var/lib/gatehouse/nss.db`): a writer ([`build`]) for the daemon and a
//! validating reader ([`Snapshot`]) for `libnss_gatehouse.so.2`.
//!
//! The file holds public fields only (names, ids, display names, group memberships): it is 0644
//! and every process on the host maps it. Home directory, shell and password field are the same
//! for every user ([`crate::config::SHARED_HOME`], [`crate::config::LOGIN_SHELL`], `*`), so they
//! are not stored.
//!
//! # Layout (version 1; every integer little-endian)
//!
//! ```text
//! offset size  field
//!      0    8  magic  "GHNSSDB\0"
//!      8    4  version (1); a reader refuses any other value
//!     12    4  replaced: 0 while current; set to 1 in the OLD file after the new one is renamed
//!              into place. Read with an atomic load by the NSS module; never read by this parser
//!     16    8  generation
//!     24    8  file length (the whole file, header included)
//!     32    4  gid of gatehouse-users          36  4  gid of gatehouse-totp
//!     40    4  user count U                    44  4  group count G
//!     48    4  member count M                  52  4  user-group count L
//!     56    4  heap length H                   60  4  reserved, 0
//!     64   28  section offsets (u32 each): users, user name index, groups, group name index,
//!              members, user groups, heap
//!     92    4  reserved, 0
//!     96       users         U × 32: uid, gid, name (off, len), gecos (off, len), groups (start, count)
//!                            sorted by uid
//!              user names    U × 4: user index, sorted by name bytes
//!              groups        G × 20: gid, name (off, len), members (start, count); sorted by gid
//!              group names   G × 4: group index, sorted by name bytes
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
//! lookup. [`Snapshot::verify`] walks every record (tests, fuzzing, and the writer's self-check).
//! Lookups binary-search the sorted sections; a file whose indexes are not sorted answers
//! "not found" for some names, never a wrong record: every hit is compared with the key.
use crate::config::IdRange;
use crate::error::PolicyError;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"GHNSSDB\0";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Byte offset of the `replaced` word (a 4-aligned `u32`).
pub const REPLACED_OFFSET: usize = 12;
/// Size of the header.
pub const HEADER_LEN: usize = 96;
/// Size of one user record.
const USER_REC: usize = 32;
/// Size of one group record.
const GROUP_REC: usize = 20;
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
    #[error("snapshot format version {0} is not supported (this reader knows version 1)")]
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

/// A group while the writer assembles it.
struct WGroup<'a> {
    name: &'a str,
    gid: u32,
    /// Heap offset of the name, when it is shared with a user's name.
    name_at: Option<u32>,
    members: Vec<u32>,
}

/// Builds the bytes of a snapshot. Errors name the offending user or group: a duplicate name or
/// id (among users, and among groups including the virtual and private ones), a name or display
/// name that cannot appear in a passwd or group line, or a file that would exceed 4 GiB.
pub fn build(generation: u64, ids: &IdRange, users: &[SnapUser], groups: &[SnapGroup]) -> Result<Vec<u8>, PolicyError> {
    for u in users {
        check_name("name", &u.name)?;
        check_gecos(&u.gecos)?;
    }
    // Users sorted by uid: the record order.
    let mut by_uid: Vec<u32> = (0..u32_of(users.len(), "users")?).collect();
    by_uid.sort_unstable_by_key(|&i| users[i as usize].uid);
    for w in by_uid.windows(2) {
        let (a, b) = (&users[w[0] as usize], &users[w[1] as usize]);
        if a.uid == b.uid {
            return Err(PolicyError::invalid("uid", a.uid.to_string(), format!("used by {} and {}", a.name, b.name)));
        }
    }
    // rank[input index] = record index.
    let mut rank = vec![0u32; users.len()];
    for (r, &i) in by_uid.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    // Record indexes sorted by name.
    let mut user_names: Vec<u32> = by_uid.iter().map(|&i| rank[i as usize]).collect();
    user_names.sort_unstable_by(|&a, &b| {
        users[by_uid[a as usize] as usize].name.cmp(&users[by_uid[b as usize] as usize].name)
    });
    for w in user_names.windows(2) {
        let a = &users[by_uid[w[0] as usize] as usize];
        if a.name == users[by_uid[w[1] as usize] as usize].name {
            return Err(PolicyError::invalid("name", &a.name, "two users have this name"));
        }
    }
    let find_user = |name: &str| {
        user_names
            .binary_search_by(|&r| users[by_uid[r as usize] as usize].name.as_str().cmp(name))
            .ok()
            .map(|k| user_names[k])
    };

    // Groups: virtual, real, private.
    let mut wgroups: Vec<WGroup<'_>> = Vec::with_capacity(groups.len() + users.len() + 2);
    wgroups.push(WGroup { name: USERS_GROUP, gid: ids.users_group(), name_at: None, members: user_names.clone() });
    let totp: Vec<u32> = user_names.iter().copied().filter(|&r| users[by_uid[r as usize] as usize].totp).collect();
    wgroups.push(WGroup { name: TOTP_GROUP, gid: ids.totp_group(), name_at: None, members: totp });
    for g in groups {
        check_name("group", &g.name)?;
        let members = g.members.iter().filter_map(|m| find_user(m)).collect();
        wgroups.push(WGroup { name: &g.name, gid: g.gid, name_at: None, members });
    }
    let real_end = wgroups.len();
    for &i in &by_uid {
        let u = &users[i as usize];
        if u.gid == u.uid {
            wgroups.push(WGroup { name: &u.name, gid: u.gid, name_at: None, members: vec![rank[i as usize]] });
        }
    }
    let mut gorder: Vec<u32> = (0..u32_of(wgroups.len(), "groups")?).collect();
    gorder.sort_unstable_by_key(|&i| wgroups[i as usize].gid);
    for w in gorder.windows(2) {
        let (a, b) = (&wgroups[w[0] as usize], &wgroups[w[1] as usize]);
        if a.gid == b.gid {
            return Err(PolicyError::invalid(
                "gid",
                a.gid.to_string(),
                format!("used by groups {} and {}", a.name, b.name),
            ));
        }
    }
    let mut grank = vec![0u32; wgroups.len()];
    for (r, &i) in gorder.iter().enumerate() {
        grank[i as usize] = r as u32;
    }
    let mut group_names: Vec<u32> = (0..u32_of(wgroups.len(), "groups")?).collect();
    group_names.sort_unstable_by(|&a, &b| {
        wgroups[gorder[a as usize] as usize].name.cmp(wgroups[gorder[b as usize] as usize].name)
    });
    for w in group_names.windows(2) {
        let a = wgroups[gorder[w[0] as usize] as usize].name;
        if a == wgroups[gorder[w[1] as usize] as usize].name {
            return Err(PolicyError::invalid(
                "group",
                a,
                "two groups (or a group and a user's private group) have this name",
            ));
        }
    }

    // Supplementary groups of each user (by record index): the virtual groups and the real groups.
    let mut ugroups: Vec<Vec<u32>> = vec![Vec::new(); users.len()];
    for g in &wgroups[..real_end] {
        for &m in &g.members {
            ugroups[m as usize].push(g.gid);
        }
    }

    // Sizes and offsets.
    let nu = users.len();
    let ng = wgroups.len();
    let nm: usize = wgroups.iter().map(|g| g.members.len()).sum();
    let nl: usize = ugroups.iter().map(Vec::len).sum();
    let off_users = HEADER_LEN;
    let off_unames = off_users + nu * USER_REC;
    let off_groups = off_unames + nu * 4;
    let off_gnames = off_groups + ng * GROUP_REC;
    let off_members = off_gnames + ng * 4;
    let off_ugroups = off_members + nm * 4;
    let off_heap = off_ugroups + nl * 4;
    let heap_guess: usize = users.iter().map(|u| u.name.len() + u.gecos.len() + 2).sum::<usize>()
        + groups.iter().map(|g| g.name.len() + 1).sum::<usize>()
        + 40;
    let mut out = vec![0u8; off_heap];
    out.reserve(heap_guess);
    let mut heap: Vec<u8> = Vec::with_capacity(heap_guess);
    let push_str = |heap: &mut Vec<u8>, s: &str| -> Result<(u32, u32), PolicyError> {
        let at = u32_of(heap.len(), "heap")?;
        heap.extend_from_slice(s.as_bytes());
        heap.push(0);
        Ok((at, u32_of(s.len(), "string")?))
    };
    let put = |out: &mut [u8], at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_le_bytes());

    // Users and the user-group lists.
    let mut name_at = vec![0u32; nu];
    let mut lpos = 0usize;
    for (r, &i) in by_uid.iter().enumerate() {
        let u = &users[i as usize];
        let (no, nl_) = push_str(&mut heap, &u.name)?;
        name_at[r] = no;
        let (go, gl) = push_str(&mut heap, &u.gecos)?;
        let list = &mut ugroups[r];
        list.sort_unstable();
        let at = off_users + r * USER_REC;
        for (k, v) in [u.uid, u.gid, no, nl_, go, gl, u32_of(lpos, "user groups")?, u32_of(list.len(), "user groups")?]
            .into_iter()
            .enumerate()
        {
            put(&mut out, at + 4 * k, v);
        }
        for (k, &gid) in list.iter().enumerate() {
            put(&mut out, off_ugroups + 4 * (lpos + k), gid);
        }
        lpos += list.len();
    }
    for (k, &r) in user_names.iter().enumerate() {
        put(&mut out, off_unames + 4 * k, r);
    }
    // Private groups share the user's name string.
    for g in &mut wgroups[real_end..] {
        g.name_at = g.members.first().map(|&r| name_at[r as usize]);
    }
    let mut mpos = 0usize;
    for (r, &i) in gorder.iter().enumerate() {
        let g = &wgroups[i as usize];
        let (no, nl_) = match g.name_at {
            Some(at) => (at, u32_of(g.name.len(), "string")?),
            None => push_str(&mut heap, g.name)?,
        };
        let at = off_groups + r * GROUP_REC;
        for (k, v) in
            [g.gid, no, nl_, u32_of(mpos, "members")?, u32_of(g.members.len(), "members")?].into_iter().enumerate()
        {
            put(&mut out, at + 4 * k, v);
        }
        for (k, &m) in g.members.iter().enumerate() {
            put(&mut out, off_members + 4 * (mpos + k), m);
        }
        mpos += g.members.len();
    }
    for (k, &g) in group_names.iter().enumerate() {
        put(&mut out, off_gnames + 4 * k, grank[gorder[g as usize] as usize]);
    }
    let total = off_heap + heap.len();
    u32_of(total, "file")?;
    out.extend_from_slice(&heap);

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
        heap.len() as u32,
        0,
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
        if w(60)? != 0 || w(92)? != 0 {
            return Err(SnapshotError::BadHeader("reserved"));
        }
        let n = |at: usize| w(at).map(|v| v as usize);
        let (users, groups, members, ugroups, heap) = (n(40)?, n(44)?, n(48)?, n(52)?, n(56)?);
        // The canonical layout; u64 arithmetic cannot overflow with u32 inputs.
        let mut at = HEADER_LEN as u64;
        let mut expect = [0usize; 7];
        for (k, size) in [
            users as u64 * USER_REC as u64,
            users as u64 * 4,
            groups as u64 * GROUP_REC as u64,
            groups as u64 * 4,
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
            users_gid: w(32)?,
            totp_gid: w(36)?,
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
        Ok(Some(UserEntry { name, uid: r(0)?, gid: r(1)?, gecos, groups }))
    }

    fn user_uid_at(&self, i: usize) -> Option<u32> {
        rd32(self.data, self.l.off_users + i * USER_REC)
    }

    fn user_name_at(&self, i: usize) -> Result<&'a [u8], SnapshotError> {
        let at = self.l.off_users + i * USER_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("user record"));
        self.heap_str("user name", r(2)?, r(3)?)
    }

    fn user_index_by_name(&self, name: &[u8]) -> Result<Option<usize>, SnapshotError> {
        let (mut lo, mut hi) = (0usize, self.l.users);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let idx =
                rd32(self.data, self.l.off_unames + 4 * mid).ok_or(SnapshotError::Truncated("user names"))? as usize;
            if idx >= self.l.users {
                return Err(SnapshotError::OutOfBounds("user name index"));
            }
            match self.user_name_at(idx)?.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(idx)),
            }
        }
        Ok(None)
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
        let (mut lo, mut hi) = (0usize, self.l.users);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let v = self.user_uid_at(mid).ok_or(SnapshotError::Truncated("users"))?;
            match v.cmp(&uid) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.user_at(mid),
            }
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
        Ok(Some(GroupEntry { name, gid: r(0)?, members, snap: *self }))
    }

    fn group_name_at(&self, i: usize) -> Result<&'a [u8], SnapshotError> {
        let at = self.l.off_groups + i * GROUP_REC;
        let r = |k: usize| rd32(self.data, at + 4 * k).ok_or(SnapshotError::Truncated("group record"));
        self.heap_str("group name", r(1)?, r(2)?)
    }

    /// The group named `name`.
    pub fn group_by_name(&self, name: &[u8]) -> Result<Option<GroupEntry<'a>>, SnapshotError> {
        let (mut lo, mut hi) = (0usize, self.l.groups);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let idx =
                rd32(self.data, self.l.off_gnames + 4 * mid).ok_or(SnapshotError::Truncated("group names"))? as usize;
            if idx >= self.l.groups {
                return Err(SnapshotError::OutOfBounds("group name index"));
            }
            match self.group_name_at(idx)?.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.group_at(idx),
            }
        }
        Ok(None)
    }

    /// The group with gid `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Result<Option<GroupEntry<'a>>, SnapshotError> {
        let (mut lo, mut hi) = (0usize, self.l.groups);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let v = rd32(self.data, self.l.off_groups + mid * GROUP_REC).ok_or(SnapshotError::Truncated("groups"))?;
            match v.cmp(&gid) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.group_at(mid),
            }
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
        let mut prev: Option<&[u8]> = None;
        for k in 0..self.l.users {
            let idx =
                rd32(self.data, self.l.off_unames + 4 * k).ok_or(SnapshotError::Truncated("user names"))? as usize;
            if idx >= self.l.users {
                return Err(SnapshotError::OutOfBounds("user name index"));
            }
            let name = self.user_name_at(idx)?;
            if prev.is_some_and(|p| p >= name) {
                return Err(SnapshotError::Unsorted("user names"));
            }
            prev = Some(name);
        }
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
        let mut prev: Option<&[u8]> = None;
        for k in 0..self.l.groups {
            let idx =
                rd32(self.data, self.l.off_gnames + 4 * k).ok_or(SnapshotError::Truncated("group names"))? as usize;
            if idx >= self.l.groups {
                return Err(SnapshotError::OutOfBounds("group name index"));
            }
            let name = self.group_name_at(idx)?;
            if prev.is_some_and(|p| p >= name) {
                return Err(SnapshotError::Unsorted("group names"));
            }
            prev = Some(name);
        }
        Ok(())
    }
}

impl<'a> UserEntry<'a> {
    /// The user's supplementary gids (`gatehouse-users`, `gatehouse-totp` if any, real groups),
    /// ascending. The private group is the primary group and is not listed.
    pub fn groups(&self) -> impl Iterator<Item = u32> + 'a {
        words(self.groups)
    }
}

impl<'a> GroupEntry<'a> {
    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len() / 4
    }

    /// Member names, in the order the writer stored them (by name for the virtual groups).
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
