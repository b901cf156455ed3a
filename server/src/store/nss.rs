//! What the NSS snapshot needs: names, ids, display names, the TOTP flag, groups and members of
//! the users this host serves. Every row is judged first ([`Store::served`]): a row that does not
//! decode or that this host must not serve (a root outside the prefixes, an id outside `[ids]`, …)
//! is left out and reported, so it can never reach `getpwnam`. Users this host does not serve
//! (host scoping, [`gatehouse_policy::model::served_on`]) are left out, and out of member lists.
use super::rows::Rejected;
use super::{Result, Store};
use gatehouse_policy::model::{served_on, Group};
use gatehouse_snapshot::{SnapGroup, SnapUser};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// The snapshot's users and groups, and the rows left out (for the log and `gatehouse status`).
pub type NssView = (Vec<SnapUser>, Vec<SnapGroup>, Vec<Rejected>);

impl Store {
    /// Users and groups as the snapshot writer takes them.
    pub async fn nss_view(&self) -> Result<NssView> {
        let served = self.served().await?;
        // The TOTP flag: whether a secret is set (the secret itself never leaves the store).
        let totp: HashSet<String> = sqlx::query("SELECT name FROM users WHERE totp_secret IS NOT NULL")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<std::result::Result<_, _>>()?;
        let fleet = &self.cfg.fleet;
        let by_name: HashMap<&str, &Group> = served.groups.iter().map(|g| (g.name.as_str(), g)).collect();
        let users: Vec<SnapUser> = served
            .users
            .iter()
            .filter(|u| served_on(u, u.groups.iter().filter_map(|n| by_name.get(n.as_str()).copied()), fleet))
            .map(|u| SnapUser {
                name: u.name.clone(),
                uid: u.uid,
                gid: u.gid,
                gecos: u.display_name.clone(),
                totp: totp.contains(&u.name),
            })
            .collect();
        let here: HashSet<&str> = users.iter().map(|u| u.name.as_str()).collect();
        let groups = served
            .groups
            .iter()
            .map(|g| SnapGroup {
                gid: g.gid,
                name: g.name.clone(),
                members: g.members.iter().filter(|m| here.contains(m.as_str())).cloned().collect(),
            })
            .collect();
        Ok((users, groups, served.rejected))
    }
}
