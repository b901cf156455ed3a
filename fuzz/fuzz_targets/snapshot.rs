//! `Snapshot::parse` and every lookup on whatever parses: no panic, no out-of-bounds read.
#![no_main]
use gatehouse_policy::snapshot::Snapshot;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::parse(data) {
        let _ = s.verify();
        let _ = s.users().count();
        for g in s.groups().flatten() {
            let _ = g.members().count();
        }
        let _ = s.user_by_name(b"alice").map(|u| u.map(|u| u.groups().map(Iterator::count)));
        let _ = s.user_by_uid(1_900_000_002);
        let _ = s.group_by_name(b"gatehouse-users");
        let _ = s.group_by_gid(1_900_000_000);
    }
});
