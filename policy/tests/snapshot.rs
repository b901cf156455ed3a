//! The NSS snapshot: round trip, every lookup, and refusal of malformed files without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_policy::config::IdRange;
use gatehouse_policy::snapshot::{
    build, SnapGroup, SnapUser, Snapshot, SnapshotError, HEADER_LEN, REPLACED_OFFSET, VERSION,
};

const IDS: IdRange = IdRange { first: 1_900_000_000, last: 1_999_999_999 };

fn user(name: &str, uid: u32, gecos: &str, totp: bool) -> SnapUser {
    SnapUser { name: name.into(), uid, gid: uid, gecos: gecos.into(), totp }
}

fn sample() -> Vec<u8> {
    let users = vec![
        user("carol", 1_900_000_004, "", false),
        user("alice", 1_900_000_002, "Alice Liddell", true),
        user("bob", 1_900_000_003, "Bob", false),
        SnapUser { name: "dave".into(), uid: 1_900_000_010, gid: 1_900_000_005, gecos: "Dave".into(), totp: false },
    ];
    let groups = vec![
        SnapGroup {
            name: "acme".into(),
            gid: 1_900_000_005,
            members: vec!["alice".into(), "bob".into(), "ghost".into()],
        },
        SnapGroup { name: "empty".into(), gid: 1_900_000_006, members: vec![] },
    ];
    build(7, &IDS, &users, &groups).unwrap()
}

fn s(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

#[test]
fn round_trip() {
    let bytes = sample();
    let snap = Snapshot::parse(&bytes).unwrap();
    snap.verify().unwrap();
    assert_eq!(snap.generation(), 7);
    assert_eq!(snap.user_count(), 4);
    // acme, empty, two virtual, three private groups (dave's gid is acme's).
    assert_eq!(snap.group_count(), 7);

    let a = snap.user_by_name(b"alice").unwrap().unwrap();
    assert_eq!((s(a.name), a.uid, a.gid, s(a.gecos)), ("alice", 1_900_000_002, 1_900_000_002, "Alice Liddell"));
    assert_eq!(a.groups().unwrap().collect::<Vec<_>>(), vec![1_900_000_000, 1_900_000_001, 1_900_000_005]);
    let c = snap.user_by_uid(1_900_000_004).unwrap().unwrap();
    assert_eq!((s(c.name), s(c.gecos)), ("carol", ""));
    assert_eq!(c.groups().unwrap().collect::<Vec<_>>(), vec![1_900_000_000]);
    assert!(snap.user_by_name(b"ghost").unwrap().is_none());
    assert!(snap.user_by_name(b"").unwrap().is_none());
    assert!(snap.user_by_uid(0).unwrap().is_none());
    assert!(snap.user_by_uid(u32::MAX).unwrap().is_none());

    let members = |name: &str| -> Vec<String> {
        let g = snap.group_by_name(name.as_bytes()).unwrap().unwrap();
        g.members().map(|m| s(m.unwrap()).to_string()).collect()
    };
    assert_eq!(members("acme"), ["alice", "bob"]);
    assert_eq!(members("empty"), Vec::<String>::new());
    assert_eq!(members("gatehouse-users"), ["alice", "bob", "carol", "dave"]);
    assert_eq!(members("gatehouse-totp"), ["alice"]);
    assert_eq!(members("alice"), ["alice"]);
    assert!(snap.group_by_name(b"dave").unwrap().is_none(), "dave's gid is not his uid: no private group");
    let g = snap.group_by_gid(1_900_000_003).unwrap().unwrap();
    assert_eq!((s(g.name), g.member_count()), ("bob", 1));
    assert_eq!(s(snap.group_by_gid(1_900_000_000).unwrap().unwrap().name), "gatehouse-users");
    assert!(snap.group_by_gid(42).unwrap().is_none());

    let uids: Vec<u32> = snap.users().map(|u| u.unwrap().uid).collect();
    assert_eq!(uids, [1_900_000_002, 1_900_000_003, 1_900_000_004, 1_900_000_010]);
    assert_eq!(snap.groups().count(), 7);
    assert!(snap.user_at(4).unwrap().is_none());
}

#[test]
fn empty_snapshot() {
    let bytes = build(0, &IDS, &[], &[]).unwrap();
    let snap = Snapshot::parse(&bytes).unwrap();
    snap.verify().unwrap();
    assert_eq!((snap.user_count(), snap.group_count()), (0, 2));
    assert!(snap.user_by_name(b"x").unwrap().is_none());
}

#[test]
fn writer_refuses_bad_input() {
    let dup_name = [user("a", 1_900_000_002, "", false), user("a", 1_900_000_003, "", false)];
    assert!(build(1, &IDS, &dup_name, &[]).unwrap_err().to_string().contains("two users"));
    let dup_uid = [user("a", 1_900_000_002, "", false), user("b", 1_900_000_002, "", false)];
    assert!(build(1, &IDS, &dup_uid, &[]).is_err());
    assert!(build(1, &IDS, &[user("a:b", 1_900_000_002, "", false)], &[]).is_err());
    assert!(build(1, &IDS, &[user("123", 1_900_000_002, "", false)], &[]).is_err());
    assert!(build(1, &IDS, &[user("a", 1_900_000_002, "x:y", false)], &[]).is_err());
    assert!(build(1, &IDS, &[user("a", 1_900_000_002, "x\ny", false)], &[]).is_err());
    assert!(build(1, &IDS, &[user("a", 1_900_000_002, "x\0y", false)], &[]).is_err());
    // A group named like a user collides with the private group.
    let g = [SnapGroup { name: "a".into(), gid: 1_900_000_009, members: vec![] }];
    assert!(build(1, &IDS, &[user("a", 1_900_000_002, "", false)], &g).is_err());
    // A group on a virtual gid, and a user named like a virtual group.
    let g = [SnapGroup { name: "x".into(), gid: IDS.users_group(), members: vec![] }];
    assert!(build(1, &IDS, &[], &g).is_err());
    assert!(build(1, &IDS, &[user("gatehouse-totp", 1_900_000_002, "", false)], &[]).is_err());
}

#[test]
fn unknown_version_and_magic() {
    let mut bytes = sample();
    bytes[8] = (VERSION + 1) as u8;
    assert_eq!(Snapshot::parse(&bytes).unwrap_err(), SnapshotError::UnsupportedVersion(VERSION + 1));
    let mut bytes = sample();
    bytes[0] ^= 1;
    assert_eq!(Snapshot::parse(&bytes).unwrap_err(), SnapshotError::BadMagic);
}

#[test]
fn replaced_word_is_ignored_by_the_parser() {
    let mut bytes = sample();
    bytes[REPLACED_OFFSET] = 1;
    Snapshot::parse(&bytes).unwrap().verify().unwrap();
}

#[test]
fn truncation_and_trailing_bytes_are_refused() {
    let bytes = sample();
    for n in 0..bytes.len() {
        assert!(Snapshot::parse(&bytes[..n]).is_err(), "prefix of {n} bytes accepted");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(Snapshot::parse(&long).is_err());
}

#[test]
fn inner_nul_and_missing_terminator_are_refused() {
    let bytes = sample();
    // The heap is the last section; alice's name is the first string in it.
    let heap_at = bytes.windows(6).rposition(|w| w == b"alice\0").unwrap();
    let mut b = bytes.clone();
    b[heap_at + 2] = 0;
    let snap = Snapshot::parse(&b).unwrap();
    assert!(matches!(snap.user_by_uid(1_900_000_002), Err(SnapshotError::BadString(_))));
    assert!(snap.verify().is_err());
    let mut b = bytes.clone();
    b[heap_at + 5] = b'x';
    let snap = Snapshot::parse(&b).unwrap();
    assert!(snap.verify().is_err());
}

/// Every single-byte change and every changed header word: no panic, and whatever parses
/// answers lookups without panicking.
#[test]
fn corruption_never_panics() {
    let bytes = sample();
    let probe = |b: &[u8]| {
        if let Ok(snap) = Snapshot::parse(b) {
            let _ = snap.verify();
            for name in [&b"alice"[..], b"bob", b"zzz", b"acme", b"gatehouse-users"] {
                let _ = snap.user_by_name(name);
                if let Ok(Some(g)) = snap.group_by_name(name) {
                    let _ = g.members().count();
                }
            }
            for id in [1_900_000_000u32, 1_900_000_002, 1_900_000_005, 0, u32::MAX] {
                let _ = snap.user_by_uid(id).map(|u| u.map(|u| u.groups().map(Iterator::count)));
                let _ = snap.group_by_gid(id);
            }
            let _ = snap.users().count();
            let _ = snap.groups().count();
        }
    };
    for i in 0..bytes.len() {
        for v in [0u8, 1, 0x7f, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            probe(&b);
        }
    }
    for w in (32..HEADER_LEN).step_by(4) {
        for v in [0u32, 1, 3, 96, u32::MAX, u32::MAX / 4, bytes.len() as u32] {
            let mut b = bytes.clone();
            b[w..w + 4].copy_from_slice(&v.to_le_bytes());
            probe(&b);
        }
    }
}

#[test]
fn many_users() {
    let users: Vec<SnapUser> = (0..10_000u32)
        .map(|i| user(&format!("u{i}"), 1_900_000_100 + i * 3, &format!("User {i}"), i % 7 == 0))
        .collect();
    let groups: Vec<SnapGroup> = (0..50u32)
        .map(|g| SnapGroup {
            name: format!("g{g}"),
            gid: 1_900_000_002 + g,
            members: (0..10_000u32).filter(|i| i % 50 == g).map(|i| format!("u{i}")).collect(),
        })
        .collect();
    let bytes = build(3, &IDS, &users, &groups).unwrap();
    let snap = Snapshot::parse(&bytes).unwrap();
    snap.verify().unwrap();
    for i in (0..10_000u32).step_by(97) {
        let u = snap.user_by_name(format!("u{i}").as_bytes()).unwrap().unwrap();
        assert_eq!(u.uid, 1_900_000_100 + i * 3);
        assert_eq!(snap.user_by_uid(u.uid).unwrap().unwrap().name, u.name);
        let gids: Vec<u32> = u.groups().unwrap().collect();
        let mut want = vec![1_900_000_000, 1_900_000_002 + i % 50];
        if i % 7 == 0 {
            want.insert(1, 1_900_000_001);
        }
        assert_eq!(gids, want);
    }
    assert_eq!(snap.group_by_name(b"g3").unwrap().unwrap().member_count(), 200);
    assert_eq!(snap.group_by_name(b"gatehouse-users").unwrap().unwrap().member_count(), 10_000);
}

/// Ids far from uniform (clusters and outliers) and names sharing long prefixes: every user and
/// group is found by name and id, every neighbouring id and name misses.
#[test]
fn irregular_ids_and_long_common_prefixes() {
    let uid = |i: u32| match i % 3 {
        0 => 1_900_000_010 + i,
        1 => 1_950_000_000 + i * 1000,
        _ => 1_999_000_000 + i * i / 10,
    };
    let users: Vec<SnapUser> =
        (0..3_000u32).map(|i| user(&format!("customer-account-{i:08}"), uid(i), "", i % 2 == 0)).collect();
    let groups =
        [SnapGroup { name: "g".into(), gid: 1_900_000_002, members: vec!["customer-account-00000007".into()] }];
    let bytes = build(1, &IDS, &users, &groups).unwrap();
    let snap = Snapshot::parse(&bytes).unwrap();
    snap.verify().unwrap();
    for u in &users {
        let e = snap.user_by_name(u.name.as_bytes()).unwrap().unwrap();
        assert_eq!(e.uid, u.uid);
        assert_eq!(snap.user_by_uid(u.uid).unwrap().unwrap().name, u.name.as_bytes());
        assert_eq!(snap.group_by_gid(u.uid).unwrap().unwrap().name, u.name.as_bytes());
        assert_eq!(snap.group_by_name(u.name.as_bytes()).unwrap().unwrap().gid, u.uid);
        assert!(snap.user_by_uid(u.uid + 1).unwrap().is_none_or(|n| n.uid == u.uid + 1));
        assert!(snap.user_by_name(format!("{}x", u.name).as_bytes()).unwrap().is_none());
    }
    assert_eq!(snap.group_by_name(b"g").unwrap().unwrap().member_count(), 1);
}

#[test]
fn verify_checks_index_hashes_and_order() {
    let bytes = sample();
    // The user name index follows the 4 user records.
    let index = HEADER_LEN + 4 * 32;
    let mut b = bytes.clone();
    b[index] ^= 1;
    assert!(matches!(Snapshot::parse(&b).unwrap().verify(), Err(SnapshotError::BadHash(_))));
    // Swapping two entries breaks the order; lookups of the moved names may miss, never mislead.
    let mut b = bytes.clone();
    let (x, y) = b[index..index + 24].split_at_mut(12);
    x.swap_with_slice(y);
    let snap = Snapshot::parse(&b).unwrap();
    assert!(matches!(snap.verify(), Err(SnapshotError::Unsorted(_))));
    for name in ["alice", "bob", "carol", "dave"] {
        if let Some(u) = snap.user_by_name(name.as_bytes()).unwrap() {
            assert_eq!(u.name, name.as_bytes());
        }
    }
}

/// Issue 15, item 3: whoever writes the file (the `gatehouse` account) cannot have the reader
/// answer an id outside the header's range: a record patched to uid 0, to a uid below `[ids]
/// first`, or to the gid of a system group is an error for its lookup, never an answer; a header
/// whose range starts below 1000 is refused whole; and the writer refuses such ids itself.
#[test]
fn ids_outside_the_range_are_never_answered() {
    let users = [user("alice", 1_900_000_002, "", false), user("bob", 1_900_000_003, "", false)];
    let good = build(1, &IDS, &users, &[]).unwrap();
    // The users section starts right after the header; records are 32 bytes in uid order.
    let patched = |at: usize, v: u32| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        b
    };
    let alice = HEADER_LEN;
    for (what, bytes) in [
        ("uid 0", patched(alice, 0)),
        ("uid below first", patched(alice, IDS.first - 5)),
        ("uid of a virtual group", patched(alice, IDS.first)),
        ("uid above last", patched(alice, IDS.last + 1)),
        ("gid of shadow", patched(alice + 4, 42)),
        ("gid 0", patched(alice + 4, 0)),
    ] {
        let snap = Snapshot::parse(&bytes).unwrap();
        let by_name = snap.user_by_name(b"alice");
        assert!(matches!(by_name, Err(SnapshotError::OutOfRange(_))), "{what}: {by_name:?}");
        assert!(!matches!(snap.user_by_uid(0), Ok(Some(_))), "{what}: uid 0 answered");
        assert!(snap.users().any(|u| u.is_err()), "{what}: enumeration answers it");
        // Bob, untouched, is still answered.
        assert_eq!(snap.user_by_name(b"bob").unwrap().unwrap().uid, 1_900_000_003, "{what}");
    }
    // A header claiming a range from 0 (or from a system id) is refused whole.
    for first in [0u32, 42, 999] {
        let mut b = good.clone();
        b[32..36].copy_from_slice(&first.to_le_bytes());
        b[36..40].copy_from_slice(&(first + 1).to_le_bytes());
        assert_eq!(Snapshot::parse(&b).unwrap_err(), SnapshotError::OutOfRange("header id range"), "first {first}");
    }
    // A group record moved onto a system gid.
    let g = [SnapGroup { name: "staff".into(), gid: 1_900_000_009, members: vec!["alice".into()] }];
    let bytes = build(1, &IDS, &users, &g).unwrap();
    let snap = Snapshot::parse(&bytes).unwrap();
    let gid_at = (0..snap.group_count())
        .map(|i| {
            let at = HEADER_LEN + 32 * snap.user_count() + 12 * snap.user_count() + 20 * i;
            (at, u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()))
        })
        .find(|&(_, gid)| gid == 1_900_000_009)
        .unwrap()
        .0;
    let mut b = bytes.clone();
    b[gid_at..gid_at + 4].copy_from_slice(&42u32.to_le_bytes());
    let snap = Snapshot::parse(&b).unwrap();
    assert!(matches!(snap.group_by_name(b"staff"), Err(SnapshotError::OutOfRange("gid"))));
    // A supplementary gid of alice moved onto a system gid: her passwd entry is still answered,
    // her group list is an error as a whole (initgroups gives her none of them).
    let ugroups = u32::from_le_bytes(bytes[84..88].try_into().unwrap()) as usize;
    let words = |b: &[u8], i: usize| u32::from_le_bytes(b[ugroups + 4 * i..ugroups + 4 * i + 4].try_into().unwrap());
    let at = (0..).find(|&i| words(&bytes, i) == 1_900_000_009).unwrap();
    let mut b = bytes.clone();
    b[ugroups + 4 * at..ugroups + 4 * at + 4].copy_from_slice(&42u32.to_le_bytes());
    let snap = Snapshot::parse(&b).unwrap();
    let alice = snap.user_by_name(b"alice").unwrap().unwrap();
    assert!(matches!(alice.groups().map(|g| g.count()), Err(SnapshotError::OutOfRange("user groups"))));
    let good_alice = Snapshot::parse(&bytes).unwrap().user_by_name(b"alice").unwrap().unwrap();
    assert!(good_alice.groups().unwrap().any(|g| g == 1_900_000_009));
    // The writer refuses them in the first place.
    for bad in [0, 42, IDS.first, IDS.last + 1] {
        assert!(build(1, &IDS, &[user("eve", bad, "", false)], &[]).is_err(), "uid {bad}");
    }
    let g = [SnapGroup { name: "shadowish".into(), gid: 42, members: vec![] }];
    assert!(build(1, &IDS, &[], &g).is_err());
    let low = IdRange { first: 0, last: 100 };
    assert!(build(1, &low, &[user("root", 2, "", false)], &[]).is_err());
}
