//! What the NSS snapshot needs, and nothing else: names, ids, display names, the TOTP flag,
//! groups and members — three plain queries, no keys, rules or hashes. The exporter runs this
//! after every change, so it must stay cheap at a million users. Users this host does not serve
//! (host scoping, [`gatehouse_policy::model::served_on`]) are left out, and out of member lists.
use super::{Result, Store, StoreError};
use gatehouse_policy::model::scope_names;
use gatehouse_policy::snapshot::{SnapGroup, SnapUser};
use sqlx::Row;
use std::collections::HashMap;

fn id(v: i64, what: &str, name: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {name:?}: {v} is not a valid id")))
}

impl Store {
    /// Users and groups as the snapshot writer takes them.
    pub async fn nss_view(&self) -> Result<(Vec<SnapUser>, Vec<SnapGroup>)> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT name, uid, gid, display_name, hosts, CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp FROM users",
        )
        .fetch_all(&mut *conn)
        .await?;
        let fleet = &self.cfg.fleet;
        let mut users = Vec::with_capacity(rows.len());
        // Users with a `hosts` list of their own, and whether it names this host.
        let mut own_scope: HashMap<String, bool> = HashMap::new();
        for r in &rows {
            let name: String = r.try_get("name")?;
            let hosts: String = r.try_get("hosts")?;
            if !hosts.is_empty() {
                let entries = super::rows::parse_hosts_col("user", &name, &hosts)?;
                own_scope.insert(name.clone(), scope_names(&entries, fleet));
            }
            users.push(SnapUser {
                uid: id(r.try_get("uid")?, "user", &name)?,
                gid: id(r.try_get("gid")?, "user", &name)?,
                gecos: r.try_get("display_name")?,
                totp: r.try_get::<i64, _>("totp")? != 0,
                name,
            });
        }
        drop(rows);
        let mut groups = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        // Groups with a `hosts` list, and whether it names this host.
        let mut group_scope: Vec<Option<bool>> = Vec::new();
        for r in sqlx::query("SELECT id, name, gid, hosts FROM groups").fetch_all(&mut *conn).await? {
            let name: String = r.try_get("name")?;
            let hosts: String = r.try_get("hosts")?;
            group_scope.push(if hosts.is_empty() {
                None
            } else {
                Some(scope_names(&super::rows::parse_hosts_col("group", &name, &hosts)?, fleet))
            });
            by_id.insert(r.try_get("id")?, groups.len());
            groups.push(SnapGroup { gid: id(r.try_get("gid")?, "group", &name)?, name, members: Vec::new() });
        }
        // For users without a list of their own: (in a scoped group, one of them names this host).
        let mut via_groups: HashMap<String, (bool, bool)> = HashMap::new();
        let sql = "SELECT m.group_id, u.name FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.name";
        for r in sqlx::query(sql).fetch_all(&mut *conn).await? {
            let gid: String = r.try_get("group_id")?;
            if let Some(&i) = by_id.get(&gid) {
                let name: String = r.try_get("name")?;
                if let Some(here) = group_scope[i] {
                    let e = via_groups.entry(name.clone()).or_default();
                    *e = (true, e.1 || here);
                }
                groups[i].members.push(name);
            }
        }
        if own_scope.is_empty() && via_groups.is_empty() {
            return Ok((users, groups));
        }
        let served = |name: &str| match own_scope.get(name) {
            Some(&here) => here,
            None => via_groups.get(name).is_none_or(|&(_, here)| here),
        };
        users.retain(|u| served(&u.name));
        for g in &mut groups {
            g.members.retain(|m| served(m));
        }
        Ok((users, groups))
    }
}
