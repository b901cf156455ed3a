//! Writing the NSS snapshot (`/var/lib/gatehouse/nss.db`) from the store.
//!
//! [`build_from_store`] reads every user and group and lays them out with
//! [`gatehouse_snapshot::build`]; [`write_snapshot`] puts the bytes in place atomically:
//! a temp file in the same directory, written and fsynced, made 0644, renamed over the old file,
//! the directory fsynced, and only *then* the old file's `replaced` word set to 1 (through an fd
//! opened before the rename), so a process that sees the mark always finds the new file at the
//! path. If the writer dies between rename and mark, readers still notice within a second
//! (they re-check the path's identity).
use crate::store::{LocalFiles, NssView, Store, StoreError};
use gatehouse_snapshot::{build, SnapUser, REPLACED_OFFSET};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Replaces the snapshot at `path` with `bytes` (see the module docs for the sequence).
pub fn write_snapshot(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("snapshot path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        f.sync_all()?;
        // Opened before the rename: afterwards the path names the new file.
        let old = match OpenOptions::new().write(true).open(path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()?;
        if let Some(old) = old {
            old.write_all_at(&1u32.to_le_bytes(), REPLACED_OFFSET as u64)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Builds the snapshot bytes from every user and group in the store.
///
/// Every user is included, inactive ones too (PAM decides access). The caller drops users whose
/// name or id another NSS source has before calling, if it wants to (DESIGN, "Ids").
/// Users with a TOTP secret carry the TOTP flag, which puts them in `gatehouse-totp` (the sshd
/// drop-in's `Match Group` that requires the code after a key too); the secret is not exported.
pub async fn build_from_store(store: &Store, generation: u64) -> Result<Vec<u8>, StoreError> {
    Ok(build_checked(store, generation, &LocalFiles::load()).await?.0)
}

/// Builds the snapshot, leaving out every user whose name or id the host's own `/etc/passwd` or
/// `/etc/group` already has (a fleet database may hold a name that is local on this host; the
/// local account wins and is never shadowed). Returns the bytes and, for the log, why each
/// left-out user was dropped.
pub async fn build_checked(
    store: &Store,
    generation: u64,
    local: &LocalFiles,
) -> Result<(Vec<u8>, Vec<String>), StoreError> {
    build_view(store.nss_view().await?, generation, &store.config().ids, local)
}

/// [`build_checked`] on a view already read (gatehoused reads it, asks the other NSS sources
/// about it, then builds): the users that clash with `local` are left out and listed.
/// Rows the store left out (see [`crate::store::Store::served`]) come first in the list.
pub fn build_view(
    (users, groups, rejected): NssView,
    generation: u64,
    ids: &gatehouse_snapshot::IdRange,
    local: &LocalFiles,
) -> Result<(Vec<u8>, Vec<String>), StoreError> {
    let mut why: Vec<String> =
        rejected.iter().map(|r| format!("{r}: left out of everything this host serves")).collect();
    let (users, dropped) = drop_local(users, local);
    why.extend(dropped);
    Ok((build(generation, ids, &users, &groups).map_err(gatehouse_policy::PolicyError::from)?, why))
}

/// Splits off the users that clash with local accounts.
pub fn drop_local(users: Vec<SnapUser>, local: &LocalFiles) -> (Vec<SnapUser>, Vec<String>) {
    let mut dropped = Vec::new();
    let kept = users
        .into_iter()
        .filter(|u| match local.clash(&u.name, u.uid) {
            Some(why) => {
                dropped.push(format!("user {:?} (uid {}) left out of the snapshot: {why}", u.name, u.uid));
                false
            }
            None => true,
        })
        .collect();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    #[test]
    fn local_accounts_win() {
        let local =
            LocalFiles::parse("root:x:0:0::/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n", "staff:x:50:\n");
        let u = |name: &str, uid: u32| SnapUser { name: name.into(), uid, gid: uid, gecos: String::new(), totp: false };
        let (kept, dropped) = drop_local(
            vec![u("alice", 1_900_000_002), u("bob", 1_900_000_003), u("staff", 1_900_000_004), u("carol", 1000)],
            &local,
        );
        assert_eq!(kept.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["alice"]);
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(dropped[0].contains("bob") && dropped[0].contains("/etc/passwd"), "{dropped:?}");
    }

    use super::*;
    use gatehouse_snapshot::IdRange;
    use gatehouse_snapshot::Snapshot;

    fn snap(generation: u64) -> Vec<u8> {
        build(generation, &IdRange::default(), &[], &[]).unwrap()
    }

    #[test]
    fn replaces_atomically_and_marks_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nss.db");
        write_snapshot(&path, &snap(1)).unwrap();
        let first = File::open(&path).unwrap();
        write_snapshot(&path, &snap(2)).unwrap();
        let mut word = [0u8; 4];
        first.read_exact_at(&mut word, REPLACED_OFFSET as u64).unwrap();
        assert_eq!(u32::from_le_bytes(word), 1, "old file marked replaced");
        let now = std::fs::read(&path).unwrap();
        assert_eq!(Snapshot::parse(&now).unwrap().generation(), 2);
        assert_eq!(&now[REPLACED_OFFSET..REPLACED_OFFSET + 4], &[0, 0, 0, 0]);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
    }
}
