//! uid/gid allocation and the check against names and ids the host already uses.
//!
//! Ids come from the configured range and are never reused: `meta.next_id` is a high-water mark
//! that only grows. An id is skipped if it lies in a subordinate-id range (`/etc/subuid`,
//! `/etc/subgid`, where rootless containers map their users) or already resolves through NSS; a
//! name is refused if NSS already has it. Entries served by gatehouse's own NSS module (shared
//! home and login shell) are ours, not another source's, and do not count.
use super::{LocalFiles, Result, StoreError};
use gatehouse_policy::config::{LOGIN_SHELL, SHARED_HOME};
use sqlx::Row;

/// Who else on this host uses a name or id.
pub trait LocalIds: Send + Sync {
    /// Describes the local user or group that already has `name`, if any.
    fn name_taken(&self, name: &str) -> Option<String>;
    /// Describes the local user or group that already has id `id` (as uid or gid), if any.
    fn id_taken(&self, id: u32) -> Option<String>;
    /// The subordinate-id ranges (`first`, `last`, inclusive) of `/etc/subuid` and `/etc/subgid`.
    fn subid_ranges(&self) -> Vec<(u32, u32)>;
    /// The checker imports use; `None` means this one.
    ///
    /// [`SystemIds`] makes four NSS lookups per user, and a lookup costs 50–130 µs on Debian 12
    /// (libnss_systemd probes six userdb directories per miss), so a 100,000-user import would
    /// take a minute. Its import checker looks each *user name* up through NSS once (every
    /// source; the answer is remembered, since the importer asks first to skip local names and
    /// the store asks again), and checks group names and ids against the `files` databases, read
    /// once. Sources that cannot enumerate rarely hand out names or ids in gatehouse's range; the
    /// daemon re-checks every user against NSS when it exports the snapshot and drops (and logs)
    /// any that resolve elsewhere.
    fn for_import(&self) -> Option<Box<dyn LocalIds + '_>> {
        None
    }
    /// Looks many names up ahead of [`LocalIds::name_taken`], in parallel where that helps.
    fn prefetch(&self, _names: &[String]) {}
}

/// If `id` lies in one of `ranges`, the last id of that range.
pub fn range_end(ranges: &[(u32, u32)], id: u32) -> Option<u32> {
    ranges.iter().find(|(a, b)| id >= *a && id <= *b).map(|&(_, b)| b)
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

/// A host on which nothing is taken: users are made without NSS lookups (tests, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLocalIds;

impl LocalIds for NoLocalIds {
    fn name_taken(&self, _: &str) -> Option<String> {
        None
    }
    fn id_taken(&self, _: u32) -> Option<String> {
        None
    }
    fn subid_ranges(&self) -> Vec<(u32, u32)> {
        Vec::new()
    }
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

    fn for_import(&self) -> Option<Box<dyn LocalIds + '_>> {
        Some(Box::new(BatchIds::load(self)))
    }

    fn subid_ranges(&self) -> Vec<(u32, u32)> {
        self.subid_files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).flat_map(|t| parse_subid(&t)).collect()
    }
}

/// The import checker (see [`LocalIds::for_import`]).
struct BatchIds<'a> {
    system: &'a SystemIds,
    /// Answers of user-name lookups already made.
    asked: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
    /// The host's files databases.
    files: LocalFiles,
}

impl<'a> BatchIds<'a> {
    fn load(system: &'a SystemIds) -> Self {
        BatchIds { system, asked: std::sync::Mutex::default(), files: LocalFiles::load() }
    }
}

/// One NSS user-name lookup; `Some` describes a local user that is not gatehouse's own.
fn user_lookup(name: &str) -> Option<String> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) if !is_ours(&u.dir, &u.shell) => {
            Some(format!("name {name:?} is already a local user (uid {})", u.uid))
        }
        _ => None,
    }
}

/// Threads for [`LocalIds::prefetch`]: one per core, at most four. (Measured on 2 cores with
/// 100,000 names: 1 thread 10.2 s for the whole import, 2 threads 7.7 s, 4 threads 8.9 s; the
/// extra threads only contend in the kernel.)
fn prefetch_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

impl LocalIds for BatchIds<'_> {
    fn prefetch(&self, names: &[String]) {
        let per = names.len().div_ceil(prefetch_threads()).max(1);
        let answers: Vec<(String, Option<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .chunks(per)
                .map(|chunk| scope.spawn(move || chunk.iter().map(|n| (n.clone(), user_lookup(n))).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).flatten().collect()
        });
        if let Ok(mut asked) = self.asked.lock() {
            asked.extend(answers);
        }
    }

    fn name_taken(&self, name: &str) -> Option<String> {
        let user = match self.asked.lock() {
            Ok(mut asked) => asked.entry(name.to_string()).or_insert_with(|| user_lookup(name)).clone(),
            Err(_) => user_lookup(name),
        };
        user.or_else(|| {
            self.files.groups.get(name).map(|gid| format!("name {name:?} is already a local group (gid {gid})"))
        })
    }

    fn id_taken(&self, id: u32) -> Option<String> {
        self.files.ids.get(&id).cloned()
    }

    fn subid_ranges(&self) -> Vec<(u32, u32)> {
        self.system.subid_ranges()
    }
}

/// Parses the `name:start:count` lines of a subordinate-id file; malformed lines are skipped,
/// as `newuidmap` skips them.
pub fn parse_subid(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.trim().split(':');
            let (_, start, count) = (f.next()?, f.next()?.parse::<u64>().ok()?, f.next()?.parse::<u64>().ok()?);
            let end = start.checked_add(count.checked_sub(1)?)?;
            Some((u32::try_from(start).ok()?, u32::try_from(end).unwrap_or(u32::MAX)))
        })
        .collect()
}

/// The uid/gid high-water mark.
pub(super) async fn next_id(tx: &mut sqlx::AnyConnection) -> Result<u32> {
    let v: String =
        sqlx::query("SELECT value FROM meta WHERE key = 'next_id'").fetch_one(&mut *tx).await?.try_get(0)?;
    v.parse().map_err(|_| StoreError::Corrupt(format!("meta.next_id is {v:?}, not a number")))
}

/// Raises the high-water mark.
pub(super) async fn set_next_id(tx: &mut sqlx::AnyConnection, v: u32) -> Result<()> {
    sqlx::query("UPDATE meta SET value = $1 WHERE key = 'next_id'").bind(v.to_string()).execute(&mut *tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn subid_ranges() {
        let r = parse_subid("alice:100000:65536\nbob:165536:65536\nbad line\nzero:5:0\n");
        assert_eq!(r, vec![(100000, 165535), (165536, 231071)]);
        assert_eq!(range_end(&r, 100000), Some(165535));
        assert_eq!(range_end(&r, 165536), Some(231071));
        assert_eq!(range_end(&r, 99999), None);
        assert_eq!(range_end(&r, 231072), None);
    }
}
