//! Admin roles (`admin_roles`): who may manage users without root, and which users.
//!
//! A role is held by a local Unix account (`alice`), every member of a Unix group (`%staff`), or
//! a gatehouse user with the `admin` flag; it covers one gatehouse group or, with no group,
//! every user (a full admin). Grants and revocations are audited (`admin.grant`,
//! `admin.revoke`, `user.admin`). Only root changes roles: the daemon's admin requests never
//! reach these writers (see `crate::admin`).
use super::groups::load_one_group;
use super::users::{load_one, touch};
use super::{audit, b, now, Result, Store, StoreError};
use gatehouse_policy::model::{format_time, validate_name};
use sqlx::Row;

/// One role as `admin list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminRole {
    /// `alice`, `%staff`, or `gatehouse:NAME` for a gatehouse user.
    pub holder: String,
    /// The group managed; `None` = every user.
    pub group: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What a caller may manage, merged over every role it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every user (a role without a group).
    All,
    /// Members of these groups (names, sorted); never empty.
    Groups(Vec<String>),
}

/// Checks a Unix principal: an account name, or `%` and a group name (NSS names are not
/// limited to gatehouse's own syntax, but these must not carry spaces, `:` or control
/// characters).
pub fn validate_principal(p: &str) -> Result<()> {
    let name = p.strip_prefix('%').unwrap_or(p);
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Refused(format!(
            "{p:?} is not a local account name or %unixgroup (letters, digits, '_', '-', '.')"
        )))
    }
}

/// Merges the groups of several roles: any role without a group gives [`Scope::All`].
fn merge(groups: Vec<Option<String>>) -> Option<Scope> {
    if groups.is_empty() {
        return None;
    }
    if groups.iter().any(Option::is_none) {
        return Some(Scope::All);
    }
    let mut names: Vec<String> = groups.into_iter().flatten().collect();
    names.sort();
    names.dedup();
    Some(Scope::Groups(names))
}

const ROLE_GROUP: &str =
    "SELECT g.name AS group_name FROM admin_roles r LEFT JOIN groups g ON g.id = r.group_id WHERE ";

impl Store {
    /// Grants a role to a local account or `%unixgroup`: `group` `None` = every user.
    pub async fn grant_admin(&self, actor: &str, principal: &str, group: Option<&str>) -> Result<AdminRole> {
        validate_principal(principal)?;
        if super::bulk::RESERVED.contains(&principal.trim_start_matches('%')) {
            return Err(StoreError::Refused(format!(
                "{principal} is one of gatehouse's own names; grant roles to local accounts and groups"
            )));
        }
        let mut tx = self.begin_write().await?;
        if let Some(name) = principal.strip_prefix('%').is_none().then_some(principal) {
            if validate_name("name", name).is_ok() && load_one(&mut tx, name).await.is_ok() {
                return Err(StoreError::Refused(format!(
                    "{name} is a gatehouse user: give it the admin flag (gatehouse user set {name} --admin)"
                )));
            }
        }
        let g = match group {
            Some(g) => Some(load_one_group(&mut tx, g).await?),
            None => None,
        };
        let dup =
            sqlx::query("SELECT 1 FROM admin_roles WHERE principal = $1 AND COALESCE(group_id, '') = COALESCE($2, '')")
                .bind(principal)
                .bind(g.as_ref().map(|g| g.id.clone()))
                .fetch_optional(&mut *tx)
                .await?;
        let scope = g.as_ref().map_or_else(|| "every user".to_string(), |g| format!("group {}", g.name));
        if dup.is_some() {
            return Err(StoreError::Exists { kind: "admin role", name: format!("{principal} for {scope}") });
        }
        let at = now();
        sqlx::query("INSERT INTO admin_roles (principal, group_id, created_at) VALUES ($1, $2, $3)")
            .bind(principal)
            .bind(g.as_ref().map(|g| g.id.clone()))
            .bind(format_time(at))
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, "admin.grant", principal, &scope).await?;
        tx.commit().await?;
        Ok(AdminRole { holder: principal.to_string(), group: g.map(|g| g.name), created_at: at })
    }

    /// Revokes a local account's or `%unixgroup`'s role for `group` (`None`: the full-admin
    /// role). Returns an error if there was none.
    pub async fn revoke_admin(&self, actor: &str, principal: &str, group: Option<&str>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let gid = match group {
            Some(g) => Some(load_one_group(&mut tx, g).await?.id),
            None => None,
        };
        let n =
            sqlx::query("DELETE FROM admin_roles WHERE principal = $1 AND COALESCE(group_id, '') = COALESCE($2, '')")
                .bind(principal)
                .bind(gid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let scope = group.map_or_else(|| "every user".to_string(), |g| format!("group {g}"));
        if n == 0 {
            return Err(StoreError::Missing(format!("{principal} holds no admin role for {scope}")));
        }
        audit(&mut tx, actor, "admin.revoke", principal, &scope).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every role, Unix holders first, by holder then group.
    pub async fn list_admins(&self) -> Result<Vec<AdminRole>> {
        let rows = sqlx::query(
            "SELECT COALESCE(r.principal, 'gatehouse:' || u.name) AS holder, g.name AS group_name, r.created_at \
             FROM admin_roles r LEFT JOIN users u ON u.id = r.user_id LEFT JOIN groups g ON g.id = r.group_id \
             ORDER BY r.principal IS NULL, holder, group_name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let created: String = r.try_get("created_at")?;
            out.push(AdminRole {
                holder: r.try_get("holder")?,
                group: r.try_get("group_name")?,
                created_at: gatehouse_policy::model::parse_time("created_at", &created).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// What the Unix principals (an account name and `%group` names) may manage together.
    pub async fn scope_of_principals(&self, principals: &[String]) -> Result<Option<Scope>> {
        let mut groups = Vec::new();
        for p in principals {
            let rows = sqlx::query(&format!("{ROLE_GROUP}r.principal = $1")).bind(p).fetch_all(&self.pool).await?;
            for r in &rows {
                groups.push(r.try_get::<Option<String>, _>("group_name")?);
            }
        }
        Ok(merge(groups))
    }

    /// What a gatehouse user may manage: nothing unless the `admin` flag is set and a role
    /// exists (a flag whose roles went with their groups grants nothing).
    pub async fn scope_of_user(&self, user_id: &str) -> Result<Option<Scope>> {
        let flag =
            sqlx::query("SELECT admin FROM users WHERE id = $1").bind(user_id).fetch_optional(&self.pool).await?;
        if flag.map(|r| r.try_get::<i64, _>("admin")).transpose()? != Some(1) {
            return Ok(None);
        }
        let rows = sqlx::query(&format!("{ROLE_GROUP}r.user_id = $1")).bind(user_id).fetch_all(&self.pool).await?;
        let groups =
            rows.iter().map(|r| r.try_get::<Option<String>, _>("group_name")).collect::<std::result::Result<_, _>>()?;
        Ok(merge(groups))
    }

    /// Records a delegated admin's command that was refused (`admin.refused`, the command line
    /// as target, the reason as detail), so refusals sit in the audit log beside the changes.
    pub async fn audit_refused(&self, actor: &str, command: &str, reason: &str) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        audit(&mut conn, actor, "admin.refused", command, reason).await
    }

    /// Sets a gatehouse user's admin flag and roles: `Some(groups)` makes them an admin of those
    /// groups (empty: of every user), `None` takes the flag and every role away.
    pub async fn set_user_admin(&self, actor: &str, name_or_id: &str, groups: Option<&[String]>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let u = load_one(&mut tx, name_or_id).await?;
        let mut ids: Vec<(String, String)> = Vec::new();
        for g in groups.unwrap_or_default() {
            let g = load_one_group(&mut tx, g).await?;
            ids.push((g.id, g.name));
        }
        sqlx::query("DELETE FROM admin_roles WHERE user_id = $1").bind(&u.id).execute(&mut *tx).await?;
        sqlx::query("UPDATE users SET admin = $2 WHERE id = $1")
            .bind(&u.id)
            .bind(b(groups.is_some()))
            .execute(&mut *tx)
            .await?;
        let at = format_time(now());
        let group_ids: Vec<Option<String>> = match groups {
            None => Vec::new(),
            Some(_) if ids.is_empty() => vec![None],
            Some(_) => ids.iter().map(|(id, _)| Some(id.clone())).collect(),
        };
        for gid in group_ids {
            sqlx::query("INSERT INTO admin_roles (user_id, group_id, created_at) VALUES ($1, $2, $3)")
                .bind(&u.id)
                .bind(gid)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        }
        touch(&mut tx, "users", &u.id).await?;
        let detail = match groups {
            None => "admin=false".to_string(),
            Some(_) if ids.is_empty() => "admin=true, every user".to_string(),
            Some(_) => {
                let names: Vec<&str> = ids.iter().map(|(_, n)| n.as_str()).collect();
                format!("admin=true, groups {}", names.join(","))
            }
        };
        audit(&mut tx, actor, "user.admin", &u.name, &detail).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn principals() {
        for ok in ["alice", "%staff", "svc-backup", "%domain.users", "x$"] {
            assert!(validate_principal(ok).is_ok(), "{ok}");
        }
        for bad in ["", "%", "-x", "a b", "a:b", "%a\n", &"a".repeat(65)] {
            assert!(validate_principal(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn merged_scope() {
        assert_eq!(merge(vec![]), None);
        assert_eq!(merge(vec![Some("b".into()), None]), Some(Scope::All));
        assert_eq!(
            merge(vec![Some("b".into()), Some("a".into()), Some("b".into())]),
            Some(Scope::Groups(vec!["a".into(), "b".into()]))
        );
    }
}
