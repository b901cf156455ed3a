//! What the NSS snapshot needs, and nothing else: names, ids, display names, the TOTP flag,
//! groups and members — three plain queries, no keys, rules or hashes. The exporter runs this
//! after every change, so it must stay cheap at a million users.
use super::{Result, Store, StoreError};
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
            "SELECT name, uid, gid, display_name, CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp FROM users",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut users = Vec::with_capacity(rows.len());
        for r in &rows {
            let name: String = r.try_get("name")?;
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
        for r in sqlx::query("SELECT id, name, gid FROM groups").fetch_all(&mut *conn).await? {
            let name: String = r.try_get("name")?;
            by_id.insert(r.try_get("id")?, groups.len());
            groups.push(SnapGroup { gid: id(r.try_get("gid")?, "group", &name)?, name, members: Vec::new() });
        }
        let sql = "SELECT m.group_id, u.name FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.name";
        for r in sqlx::query(sql).fetch_all(&mut *conn).await? {
            let gid: String = r.try_get("group_id")?;
            if let Some(&i) = by_id.get(&gid) {
                groups[i].members.push(r.try_get("name")?);
            }
        }
        Ok((users, groups))
    }
}
