//! Groups: add, change, delete, look up, list; their rules and members.
use super::rows::{ip_list_text, load_groups, Filter};
use super::users::{access_columns, load_one, touch, update_columns, Bind};
use super::{audit, now, Result, Store, StoreError};
use gatehouse_policy::model::{format_time, Group};

/// A group to create.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// Group name (same syntax as user names).
    pub name: String,
    /// Free text.
    pub description: String,
    /// CIDR allow-list.
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// CIDR deny-list.
    pub denied_ips: Vec<ipnet::IpNet>,
    /// Protocols granted to members.
    pub protocols: Vec<String>,
    /// Hosts that serve the members (names, `@host-group`s); empty: every host.
    pub hosts: Vec<String>,
}

/// Changes to a group; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupChanges {
    /// A new name (a rename: the id, gid, rules and members stay).
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Replaces the allow-list.
    pub allowed_ips: Option<Vec<ipnet::IpNet>>,
    /// Replaces the deny-list.
    pub denied_ips: Option<Vec<ipnet::IpNet>>,
    /// Replaces the protocol set.
    pub protocols: Option<Vec<String>>,
    /// Replaces the host scope.
    pub hosts: Option<Vec<String>>,
}

impl Store {
    /// Creates a group.
    pub async fn add_group(&self, actor: &str, g: NewGroup) -> Result<Group> {
        gatehouse_policy::model::validate_display_name(&g.description).map_err(|_| {
            StoreError::Invalid(gatehouse_policy::PolicyError::invalid(
                "description",
                &g.description,
                "no ':' or control characters",
            ))
        })?;
        for p in &g.protocols {
            gatehouse_policy::model::validate_protocol(p)?;
        }
        let hosts = gatehouse_policy::model::parse_hosts("hosts", &g.hosts)?;
        let mut tx = self.begin_write().await?;
        self.check_new_name(&mut tx, "group", &g.name).await?;
        let gid = self.allocate_one(&mut tx).await?;
        let t = format_time(now());
        sqlx::query(
            "INSERT INTO groups (id, name, gid, description, allowed_ips, denied_ips, protocols, hosts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&g.name)
        .bind(i64::from(gid))
        .bind(&g.description)
        .bind(ip_list_text(&g.allowed_ips))
        .bind(ip_list_text(&g.denied_ips))
        .bind(g.protocols.join(","))
        .bind(hosts.join(","))
        .bind(&t)
        .bind(&t)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, actor, "group.add", &g.name, "").await?;
        let group = load_one_group(&mut tx, &g.name).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Applies changes to a group.
    pub async fn update_group(&self, actor: &str, name_or_id: &str, c: GroupChanges) -> Result<Group> {
        let mut sets = Vec::new();
        if let Some(v) = c.description {
            sets.push(("description", Bind::Text(Some(v))));
        }
        access_columns(&mut sets, c.allowed_ips, c.denied_ips, c.protocols, c.hosts)?;
        let mut tx = self.begin_write().await?;
        let g = load_one_group(&mut tx, name_or_id).await?;
        let renamed = self.rename_to(&mut tx, "group", &g.name, c.name).await?;
        if let Some(v) = &renamed {
            sets.push(("name", Bind::Text(Some(v.clone()))));
        }
        let detail = sets.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(",");
        update_columns(&mut tx, "groups", &g.id, sets).await?;
        if let Some(new) = &renamed {
            let detail = format!("renamed to {new} (id {})", g.id);
            audit(&mut tx, actor, "group.rename", &g.name, &detail).await?;
        }
        audit(&mut tx, actor, "group.set", renamed.as_deref().unwrap_or(&g.name), &detail).await?;
        let g = load_one_group(&mut tx, &g.id).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Deletes a group; members stay, losing the membership.
    pub async fn delete_group(&self, actor: &str, name_or_id: &str) -> Result<Group> {
        let mut tx = self.begin_write().await?;
        let g = load_one_group(&mut tx, name_or_id).await?;
        sqlx::query("DELETE FROM groups WHERE id = $1").bind(&g.id).execute(&mut *tx).await?;
        audit(&mut tx, actor, "group.del", &g.name, &format!("gid={}", g.gid)).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// One group by name or UUID.
    pub async fn get_group(&self, name_or_id: &str) -> Result<Group> {
        let mut conn = self.pool.acquire().await?;
        load_one_group(&mut conn, name_or_id).await
    }

    /// Every group, ordered by name.
    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        let mut conn = self.pool.acquire().await?;
        load_groups(&mut conn, &Filter::All).await
    }

    /// The groups of a user, with their rules and IP lists (for decisions).
    pub async fn groups_of(&self, user: &gatehouse_policy::model::User) -> Result<Vec<Group>> {
        let mut out = Vec::with_capacity(user.groups.len());
        for g in &user.groups {
            out.push(self.get_group(g).await?);
        }
        Ok(out)
    }

    /// Adds users to a group (already-members are fine).
    pub async fn add_members(&self, actor: &str, group: &str, users: &[String]) -> Result<()> {
        self.change_members(actor, group, users, true).await
    }

    /// Removes users from a group; a user who is not a member is an error.
    pub async fn remove_members(&self, actor: &str, group: &str, users: &[String]) -> Result<()> {
        self.change_members(actor, group, users, false).await
    }

    async fn change_members(&self, actor: &str, group: &str, users: &[String], add: bool) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let g = load_one_group(&mut tx, group).await?;
        for name in users {
            let u = load_one(&mut tx, name).await?;
            if add {
                sqlx::query("INSERT INTO memberships (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&u.id)
                    .bind(&g.id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                let n = sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND group_id = $2")
                    .bind(&u.id)
                    .bind(&g.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::Missing(format!("user {} is not a member of group {}", u.name, g.name)));
                }
            }
            touch(&mut tx, "users", &u.id).await?;
        }
        let action = if add { "group.members.add" } else { "group.members.del" };
        audit(&mut tx, actor, action, &g.name, &users.join(",")).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(super) async fn load_one_group(conn: &mut sqlx::AnyConnection, name_or_id: &str) -> Result<Group> {
    load_groups(conn, &Filter::NameOrId(name_or_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound { kind: "group", name: name_or_id.to_string() })
}
