//! The host's own accounts as its `files` databases list them (`/etc/passwd`, `/etc/group`),
//! read directly. gatehouse-tasks refuses to write an FTP file for a local account's name
//! ([`crate::rootfile::checked_name`]); gatehoused's exporter and account check use the same
//! reader (the server's store re-exports it).

/// The `files` databases (`/etc/passwd`, `/etc/group`), read once: what the host itself
/// defines, for checks that cannot afford an NSS lookup per name or id.
#[derive(Debug, Default, Clone)]
pub struct LocalFiles {
    /// User names of `/etc/passwd`, with their uids.
    pub users: std::collections::HashMap<String, u32>,
    /// Group names of `/etc/group`, with their gids.
    pub groups: std::collections::HashMap<String, u32>,
    /// uids of `/etc/passwd` and gids of `/etc/group`, with who has them.
    pub ids: std::collections::HashMap<u32, String>,
    /// gatehouse user names another NSS source of the host answers for (by name or by id),
    /// with the reason (gatehoused fills it: `daemon::othernss`).
    pub elsewhere: std::collections::HashMap<String, String>,
}

impl LocalFiles {
    /// Reads `/etc/passwd` and `/etc/group`; a missing or unreadable file counts as empty.
    pub fn load() -> LocalFiles {
        Self::parse(
            &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
            &std::fs::read_to_string("/etc/group").unwrap_or_default(),
        )
    }

    /// Parses the texts of a passwd and a group file (malformed lines are skipped).
    pub fn parse(passwd: &str, group: &str) -> LocalFiles {
        let mut f = LocalFiles::default();
        for line in group.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let [name, _, gid, ..] = fields.as_slice() {
                if let Ok(gid) = gid.parse::<u32>() {
                    f.groups.insert((*name).to_string(), gid);
                    f.ids.entry(gid).or_insert_with(|| format!("id {gid} is already gid of local group {name:?}"));
                }
            }
        }
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let [name, _, uid, ..] = fields.as_slice() {
                if let Ok(uid) = uid.parse::<u32>() {
                    f.users.insert((*name).to_string(), uid);
                    f.ids.insert(uid, format!("id {uid} is already uid of local user {name:?}"));
                }
            }
        }
        f
    }

    /// Why a gatehouse user with this name and uid (and a private group of the same name and
    /// id) would clash with the host's own accounts, if it would.
    pub fn clash(&self, name: &str, uid: u32) -> Option<String> {
        if let Some(u) = self.users.get(name) {
            return Some(format!("name {name:?} is a local user (uid {u}) in /etc/passwd"));
        }
        if let Some(g) = self.groups.get(name) {
            return Some(format!("name {name:?} is a local group (gid {g}) in /etc/group"));
        }
        self.ids.get(&uid).or_else(|| self.elsewhere.get(name)).cloned()
    }
}
