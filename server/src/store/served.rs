//! What this host serves: the users and groups whose rows decode ([`super::rows`]) and pass
//! [`gatehouse_policy::servable`] against this host's configuration and subordinate-id ranges.
//!
//! Every serving path reads users through here: the snapshot export ([`Store::nss_view`]), the
//! daemon's answers to PAM, gatehouse-keys and gatehouse-sftp ([`Store::served_user`], also when
//! they come from the offline cache, which is a `Store` too), the roots and FTP files asked of
//! gatehouse-tasks, `gatehouse check` and `gatehouse status`. A row left out is reported, with the
//! column and the reason, to the caller, which logs it.
use super::rows::{load_groups_lenient, load_users_lenient, Filter, Rejected};
use super::{Result, Store, StoreError};
use gatehouse_policy::model::{Group, User};
use gatehouse_policy::servable::{check_group, check_user, check_user_with, Unservable};
use std::collections::HashMap;

/// Every user (without keys) and group this host may serve, and every row left out.
#[derive(Debug, Default)]
pub struct Served {
    /// Users whose rows decode and pass the checks, with their rules and group names.
    pub users: Vec<User>,
    /// Groups likewise.
    pub groups: Vec<Group>,
    /// The rows left out, each with its column and reason.
    pub rejected: Vec<Rejected>,
}

impl Store {
    /// The host's subordinate-id ranges, read afresh (an admin may add one while the daemon runs).
    pub fn subid_ranges(&self) -> Vec<(u32, u32)> {
        self.local.subid_ranges()
    }

    /// Reads every user and group, leaving out (and listing) the rows this host must not serve.
    pub async fn served(&self) -> Result<Served> {
        let mut conn = self.pool.acquire().await?;
        let (users, mut rejected) = load_users_lenient(&mut conn, &Filter::All, false).await?;
        let (groups, bad_groups) = load_groups_lenient(&mut conn, &Filter::All).await?;
        drop(conn);
        rejected.extend(bad_groups);
        let subids = self.subid_ranges();
        let cfg = &self.cfg;
        let groups: Vec<Group> = groups
            .into_iter()
            .filter(|g| match check_group(g, cfg, &subids) {
                Ok(()) => true,
                Err(why) => {
                    rejected.push(Rejected { kind: "group", name: g.name.clone(), why });
                    false
                }
            })
            .collect();
        let by_name: HashMap<&str, &Group> = groups.iter().map(|g| (g.name.as_str(), g)).collect();
        let mut kept = Vec::with_capacity(users.len());
        for u in users {
            match check_user(&u, |n| by_name.get(n).copied(), cfg, &subids) {
                Ok(()) => kept.push(u),
                Err(why) => rejected.push(Rejected { kind: "user", name: u.name.clone(), why }),
            }
        }
        drop(by_name);
        // Members that were left out are not listed in their groups either.
        let names: std::collections::HashSet<&str> = kept.iter().map(|u| u.name.as_str()).collect();
        let groups = groups
            .into_iter()
            .map(|mut g| {
                g.members.retain(|m| names.contains(m.as_str()));
                g
            })
            .collect();
        Ok(Served { users: kept, groups, rejected })
    }

    /// One user (with keys) and their groups, if this host may serve them: `NotFound` for no such
    /// user, [`StoreError::NotServed`] with the column and reason for a row that is left out.
    pub async fn served_user(&self, name_or_id: &str) -> Result<(User, Vec<Group>)> {
        let mut conn = self.pool.acquire().await?;
        let (users, rejected) = load_users_lenient(&mut conn, &Filter::NameOrId(name_or_id), true).await?;
        if let Some(r) = rejected.into_iter().next() {
            return Err(StoreError::NotServed(r));
        }
        let user = users
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound { kind: "user", name: name_or_id.to_string() })?;
        let mut groups = Vec::with_capacity(user.groups.len());
        for g in &user.groups {
            let (found, bad) = load_groups_lenient(&mut conn, &Filter::NameOrId(g)).await?;
            if let Some(r) = bad.into_iter().next() {
                let why = Unservable { column: "groups", why: format!("group {:?}: {}", r.name, r.why) };
                return Err(StoreError::NotServed(Rejected { kind: "user", name: user.name.clone(), why }));
            }
            groups.extend(found);
        }
        drop(conn);
        if let Err(why) = check_user_with(&user, &groups, &self.cfg, &self.subid_ranges()) {
            return Err(StoreError::NotServed(Rejected { kind: "user", name: user.name.clone(), why }));
        }
        Ok((user, groups))
    }
}
