//! uid/gid allocation and the check against names and ids the host already uses.
//!
//! Ids come from the configured range and are never reused: `meta.next_id` is a high-water mark
//! that only grows. An id is skipped if it lies in a subordinate-id range (`/etc/subuid`,
//! `/etc/subgid`, where rootless containers map their users) or already resolves through NSS; a
//! name is refused if NSS already has it. Entries served by gatehouse's own NSS module (shared
//! home and login shell) are ours, not another source's, and do not count.
use super::{Result, StoreError};
use gatehouse_policy::config::{IdRange, LOGIN_SHELL, SHARED_HOME};
use sqlx::Row;

/// Who else on this host uses a name or id.
pub trait LocalIds: Send + Sync {
    /// Describes the local user or group that already has `name`, if any.
    fn name_taken(&self, name: &str) -> Option<String>;
    /// Describes the local user or group that already has id `id` (as uid or gid), if any.
    fn id_taken(&self, id: u32) -> Option<String>;
    /// If `id` lies in a subordinate-id range, the last id of that range.
    fn subid_range_end(&self, id: u32) -> Option<u32>;
}

/// The host's real view: NSS (`getpwnam`, `getgrgid`, ...) and `/etc/subuid`, `/etc/subgid`.
#[derive(Debug, Clone)]
pub struct SystemIds {
    /// Subordinate-id range files, normally `/etc/subuid` and `/etc/subgid`.
    pub subid_files: Vec<std::path::PathBuf>,
}

impl Default for SystemIds {
    fn default() -> Self {
        SystemIds { subid_files: vec!["/etc/subuid".into(), "/etc/subgid".into()] }
    }
}

fn is_ours(dir: &std::path::Path, shell: &std::path::Path) -> bool {
    dir == std::path::Path::new(SHARED_HOME) && shell == std::path::Path::new(LOGIN_SHELL)
}

impl LocalIds for SystemIds {
    fn name_taken(&self, name: &str) -> Option<String> {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            if !is_ours(&u.dir, &u.shell) {
                return Some(format!("name {name:?} is already a local user (uid {})", u.uid));
            }
            return None;
        }
        if let Ok(Some(g)) = nix::unistd::Group::from_name(name) {
            // A gatehouse user's private group resolves too; it has the user's id.
            let ours = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(g.gid.as_raw()))
                .ok()
                .flatten()
                .is_some_and(|u| is_ours(&u.dir, &u.shell));
            if !ours {
                return Some(format!("name {name:?} is already a local group (gid {})", g.gid));
            }
        }
        None
    }

    fn id_taken(&self, id: u32) -> Option<String> {
        if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(id)) {
            if !is_ours(&u.dir, &u.shell) {
                return Some(format!("id {id} is already uid of local user {:?}", u.name));
            }
        }
        if let Ok(Some(g)) = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(id)) {
            let ours = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(id))
                .ok()
                .flatten()
                .is_some_and(|u| is_ours(&u.dir, &u.shell));
            if !ours {
                return Some(format!("id {id} is already gid of local group {:?}", g.name));
            }
        }
        None
    }

    fn subid_range_end(&self, id: u32) -> Option<u32> {
        self.subid_files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).find_map(|text| subid_range_end(&text, id))
    }
}

/// Finds the range of a `name:start:count` file that contains `id`; returns its last id.
pub fn subid_range_end(text: &str, id: u32) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (_, start, count) = (f.next()?, f.next()?.parse::<u64>().ok()?, f.next()?.parse::<u64>().ok()?);
        let end = start + count.checked_sub(1)?;
        (u64::from(id) >= start && u64::from(id) <= end).then(|| u32::try_from(end).unwrap_or(u32::MAX))
    })
}

/// Checks an explicitly requested id: inside the range, unused in the database, not local.
pub(super) async fn check_requested_id(tx: &mut sqlx::AnyConnection, range: &IdRange, local: &dyn LocalIds, id: u32) -> Result<()> {
    if !range.allocatable(id) {
        return Err(StoreError::Refused(format!(
            "uid {id} is outside the configured range {}..={} (ids.first and ids.last; the first two are gatehouse's groups)",
            range.first_allocatable(),
            range.last
        )));
    }
    if id_in_db(tx, id).await? {
        return Err(StoreError::Exists { kind: "uid", name: id.to_string() });
    }
    if let Some(end) = local.subid_range_end(id) {
        return Err(StoreError::TakenLocally(format!("uid {id} lies in a subordinate-id range (ending at {end}) in /etc/subuid or /etc/subgid")));
    }
    if let Some(who) = local.id_taken(id) {
        return Err(StoreError::TakenLocally(who));
    }
    let next = next_id(tx).await?;
    if id >= next {
        set_next_id(tx, id + 1).await?;
    }
    Ok(())
}

async fn id_in_db(tx: &mut sqlx::AnyConnection, id: u32) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM users WHERE uid = $1 OR gid = $1 UNION ALL SELECT 1 FROM groups WHERE gid = $1")
        .bind(i64::from(id))
        .fetch_optional(&mut *tx)
        .await?;
    Ok(row.is_some())
}

async fn next_id(tx: &mut sqlx::AnyConnection) -> Result<u32> {
    let v: String = sqlx::query("SELECT value FROM meta WHERE key = 'next_id'").fetch_one(&mut *tx).await?.try_get(0)?;
    v.parse().map_err(|_| StoreError::Corrupt(format!("meta.next_id is {v:?}, not a number")))
}

async fn set_next_id(tx: &mut sqlx::AnyConnection, v: u32) -> Result<()> {
    sqlx::query("UPDATE meta SET value = $1 WHERE key = 'next_id'").bind(v.to_string()).execute(&mut *tx).await?;
    Ok(())
}

/// Allocates the next free id: at or above the high-water mark, skipping subordinate-id ranges,
/// ids another NSS source has, and ids plain SQL may have put in the database.
pub(super) async fn allocate(tx: &mut sqlx::AnyConnection, range: &IdRange, local: &dyn LocalIds) -> Result<u32> {
    let mut id = next_id(tx).await?.max(range.first_allocatable());
    loop {
        if id > range.last || id < range.first_allocatable() {
            return Err(StoreError::Refused(format!(
                "the id range {}..={} is used up; widen [ids] in gatehouse.toml",
                range.first_allocatable(),
                range.last
            )));
        }
        if let Some(end) = local.subid_range_end(id) {
            id = end.saturating_add(1);
            continue;
        }
        if local.id_taken(id).is_some() || id_in_db(tx, id).await? {
            id = id.saturating_add(1);
            continue;
        }
        break;
    }
    set_next_id(tx, id.saturating_add(1)).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn subid_ranges() {
        let t = "alice:100000:65536\nbob:165536:65536\nbad line\n";
        assert_eq!(subid_range_end(t, 100000), Some(165535));
        assert_eq!(subid_range_end(t, 165536), Some(231071));
        assert_eq!(subid_range_end(t, 99999), None);
        assert_eq!(subid_range_end(t, 231072), None);
    }
}
