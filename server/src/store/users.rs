//! Users: add, change, delete, look up, list; their keys, rules and passwords.
//!
//! Each public function is one transaction. Validation happens before the first write, and the
//! transaction is dropped (rolled back) on any error, so a failed command changes nothing.
use super::bulk::RESERVED;
use super::rows::{ip_list_text, load_users, lookup_key, time_text, Filter};
use super::{audit, b, now, Result, Store, StoreError};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{
    format_time, validate_display_name, validate_email, validate_locale, validate_name, validate_time_zone,
    PasswordSource, User,
};
use gatehouse_policy::rules::{Mode, Rule};
use sqlx::Row;

/// A user to create. Optional fields fall back to the config's defaults.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Explicit id (imports of an export keep it); a new UUID when `None`.
    pub id: Option<String>,
    /// Explicit uid (imports); allocated when `None`.
    pub uid: Option<u32>,
    /// Profile.
    pub display_name: String,
    /// Profile; validated on syntax.
    pub email: String,
    /// Profile: a locale tag such as `en_GB`.
    pub locale: String,
    /// Profile: an IANA zone name in the system tz database.
    pub time_zone: String,
    /// A hash from `password::hash_password` or an imported crypt hash.
    pub password_hash: Option<String>,
    /// Where the password is checked; an `ldap` user has no local hash.
    pub password_source: PasswordSource,
    /// The user must set a new password at the next login.
    pub must_change_password: bool,
    /// Root folder; `home_base/NAME` when `None`.
    pub root: Option<String>,
    /// `rw` when `None`.
    pub mode: Option<Mode>,
    /// Default true.
    pub delete_allowed: Option<bool>,
    /// CIDR allow-list.
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// CIDR deny-list.
    pub denied_ips: Vec<ipnet::IpNet>,
    /// The config's `default_protocols` when `None`.
    pub protocols: Option<Vec<String>>,
    /// Groups to join (must exist).
    pub groups: Vec<String>,
    /// Hosts that serve the user (names, `@host-group`s); empty: as the groups say.
    pub hosts: Vec<String>,
    /// Default true.
    pub active: Option<bool>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Bytes.
    pub max_file_size: Option<u64>,
    /// Public keys.
    pub keys: Vec<PublicKey>,
    /// Rules.
    pub rules: Vec<Rule>,
}

/// Changes to an existing user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserChanges {
    /// A new login name (a rename: the id, uid, keys, rules, TOTP and root stay).
    pub name: Option<String>,
    /// Profile.
    pub display_name: Option<String>,
    /// Profile.
    pub email: Option<String>,
    /// Profile.
    pub locale: Option<String>,
    /// Profile.
    pub time_zone: Option<String>,
    /// Root folder (must lie under an allowed prefix).
    pub root: Option<String>,
    /// Mode cap.
    pub mode: Option<Mode>,
    /// Delete flag.
    pub delete_allowed: Option<bool>,
    /// Replaces the allow-list.
    pub allowed_ips: Option<Vec<ipnet::IpNet>>,
    /// Replaces the deny-list.
    pub denied_ips: Option<Vec<ipnet::IpNet>>,
    /// Replaces the protocol set.
    pub protocols: Option<Vec<String>>,
    /// Replaces the group memberships.
    pub groups: Option<Vec<String>>,
    /// Replaces the host scope (names, `@host-group`s; empty: as the groups say).
    pub hosts: Option<Vec<String>>,
    /// Active flag.
    pub active: Option<bool>,
    /// `Some(None)` removes the expiry.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub expires_at: Option<Option<i64>>,
    /// `Some(None)` removes the cap.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub max_file_size: Option<Option<u64>>,
    /// Admin flag.
    pub admin: Option<bool>,
    /// Where the password is checked. Switching to `ldap` removes the local hash and any unused
    /// invitation (both would set a local password).
    pub password_source: Option<PasswordSource>,
}

/// `Option<Option<T>>` as a field of a change set: absent is `None` (no change), `null` is
/// `Some(None)` (remove the value), a value is `Some(Some(v))`; plain serde would read `null`
/// as "no change".
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

impl UserChanges {
    /// True if nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.display_name.is_none()
            && self.email.is_none()
            && self.locale.is_none()
            && self.time_zone.is_none()
            && self.root.is_none()
            && self.mode.is_none()
            && self.delete_allowed.is_none()
            && self.allowed_ips.is_none()
            && self.denied_ips.is_none()
            && self.protocols.is_none()
            && self.groups.is_none()
            && self.hosts.is_none()
            && self.active.is_none()
            && self.expires_at.is_none()
            && self.max_file_size.is_none()
            && self.admin.is_none()
            && self.password_source.is_none()
    }
}

fn max_size_i64(v: Option<u64>) -> Result<Option<i64>> {
    v.filter(|&s| s > 0)
        .map(|s| {
            i64::try_from(s).map_err(|_| {
                StoreError::Invalid(gatehouse_policy::PolicyError::invalid("max_file_size", s.to_string(), "too large"))
            })
        })
        .transpose()
}

impl Store {
    /// Validates a name for a new user or group: syntax, not reserved, not already a user or
    /// group name here (a user's private group carries the user's name), not local.
    /// `taken` says what already has the name in this database, if anything.
    pub(super) fn check_name(
        &self,
        local: &dyn super::LocalIds,
        field: &'static str,
        name: &str,
        taken: Option<&'static str>,
    ) -> Result<()> {
        validate_name(field, name)?;
        if RESERVED.contains(&name) {
            return Err(StoreError::Refused(format!(
                "{name:?} is reserved for gatehouse's own system users and groups"
            )));
        }
        if let Some(kind) = taken {
            return Err(StoreError::Exists { kind, name: name.to_string() });
        }
        if let Some(who) = local.name_taken(name) {
            return Err(StoreError::TakenLocally(who));
        }
        Ok(())
    }

    /// [`Store::check_name`], asking the database what has the name.
    pub(super) async fn check_new_name(
        &self,
        tx: &mut sqlx::AnyConnection,
        field: &'static str,
        name: &str,
    ) -> Result<()> {
        let row = sqlx::query(
            "SELECT 'user' FROM users WHERE name = $1 UNION ALL SELECT 'group' FROM groups WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let taken = match row {
            Some(r) => Some(if r.try_get::<String, _>(0)? == "user" { "user" } else { "group" }),
            None => None,
        };
        self.check_name(self.local.as_ref(), field, name, taken)
    }

    /// Validates a time zone against the system tz database.
    pub(super) fn check_time_zone(&self, tz: &str) -> Result<()> {
        Ok(validate_time_zone(tz, std::path::Path::new(gatehouse_policy::model::ZONEINFO_DIR))?)
    }

    /// Decides a rename: `None` when no new name is given or it is the current one; otherwise
    /// the new name, checked as a new user's or group's name is (syntax, reserved, free here and
    /// on the host). Everything else hangs on the row's id, so nothing else has to move.
    pub(super) async fn rename_to(
        &self,
        tx: &mut sqlx::AnyConnection,
        field: &'static str,
        current: &str,
        new: Option<String>,
    ) -> Result<Option<String>> {
        match new {
            Some(n) if n != current => {
                self.check_new_name(tx, field, &n).await?;
                Ok(Some(n))
            }
            _ => Ok(None),
        }
    }

    /// Checks a new user's fields other than the name and uid; returns the root to use.
    pub(super) fn check_new_user_fields(&self, u: &NewUser) -> Result<String> {
        validate_display_name(&u.display_name)?;
        validate_email(&u.email)?;
        validate_locale(&u.locale)?;
        self.check_time_zone(&u.time_zone)?;
        if let Some(id) = &u.id {
            gatehouse_policy::model::validate_id(id)?;
        }
        gatehouse_policy::model::parse_hosts("hosts", &u.hosts)?;
        if let Some(h) = &u.password_hash {
            gatehouse_policy::password::hash_kind(h)?;
        }
        if u.password_source == PasswordSource::Ldap && (u.password_hash.is_some() || u.must_change_password) {
            return Err(ldap_has_no_local_password(&u.name));
        }
        let root = match &u.root {
            Some(r) => r.clone(),
            None => format!("{}/{}", self.cfg.home_base, u.name),
        };
        self.cfg.check_root(&root)?;
        if let Some(p) = &u.protocols {
            for x in p {
                gatehouse_policy::model::validate_protocol(x)?;
            }
        }
        Ok(root)
    }

    /// Applies changes to a user in one transaction.
    pub async fn update_user(&self, actor: &str, name_or_id: &str, c: UserChanges) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let before = load_one(&mut tx, name_or_id).await?;
        if let Some(v) = &c.display_name {
            validate_display_name(v)?;
        }
        if let Some(v) = &c.email {
            validate_email(v)?;
        }
        if let Some(v) = &c.locale {
            validate_locale(v)?;
        }
        if let Some(v) = &c.time_zone {
            self.check_time_zone(v)?;
        }
        if let Some(v) = &c.root {
            self.cfg.check_root(v)?;
        }
        let mut sets: Vec<(&str, Bind)> = Vec::new();
        let renamed = self.rename_to(&mut tx, "user", &before.name, c.name).await?;
        if let Some(v) = &renamed {
            sets.push(("name", Bind::Text(Some(v.clone()))));
        }
        if let Some(v) = c.display_name {
            sets.push(("display_name", Bind::Text(Some(v))));
        }
        if let Some(v) = c.email {
            sets.push(("email", Bind::Text(Some(v))));
        }
        if let Some(v) = c.locale {
            sets.push(("locale", Bind::Text(Some(v))));
        }
        if let Some(v) = c.time_zone {
            sets.push(("time_zone", Bind::Text(Some(v))));
        }
        if let Some(v) = c.root {
            sets.push(("root", Bind::Text(Some(v))));
        }
        if let Some(v) = c.mode {
            sets.push(("mode", Bind::Text(Some(v.to_string()))));
        }
        if let Some(v) = c.delete_allowed {
            sets.push(("delete_allowed", Bind::Int(Some(b(v)))));
        }
        access_columns(&mut sets, c.allowed_ips, c.denied_ips, c.protocols, c.hosts)?;
        if let Some(v) = c.active {
            sets.push(("active", Bind::Int(Some(b(v)))));
        }
        if let Some(v) = c.expires_at {
            sets.push(("expires_at", Bind::Text(time_text(v))));
        }
        if let Some(v) = c.max_file_size {
            sets.push(("max_file_size", Bind::Int(max_size_i64(v)?)));
        }
        if let Some(v) = c.admin {
            sets.push(("admin", Bind::Int(Some(b(v)))));
        }
        if let Some(v) = c.password_source {
            sets.push(("password_source", Bind::Text(Some(v.to_string()))));
            if v == PasswordSource::Ldap {
                sets.push(("password_hash", Bind::Text(None)));
                sets.push(("must_change_password", Bind::Int(Some(0))));
                sqlx::query("DELETE FROM invitations WHERE user_id = $1 AND used_at IS NULL")
                    .bind(&before.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(groups) = &c.groups {
            set_memberships(&mut tx, &before.id, groups).await?;
        }
        let detail =
            sets.iter().map(|(k, _)| *k).chain(c.groups.as_ref().map(|_| "groups")).collect::<Vec<_>>().join(",");
        update_columns(&mut tx, "users", &before.id, sets).await?;
        if let Some(new) = &renamed {
            audit(&mut tx, actor, "user.rename", &before.name, &rename_detail(new, &before.id)).await?;
        }
        audit(&mut tx, actor, "user.set", renamed.as_deref().unwrap_or(&before.name), &detail).await?;
        let user = load_one(&mut tx, &before.id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes a user (keys, rules, memberships and login state go with it). The uid is never
    /// reused. Returns the deleted record so the caller can remove files if asked.
    pub async fn delete_user(&self, actor: &str, name_or_id: &str) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        sqlx::query("DELETE FROM users WHERE id = $1").bind(&user.id).execute(&mut *tx).await?;
        audit(&mut tx, actor, "user.del", &user.name, &format!("uid={}", user.uid)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// One user by name or UUID.
    pub async fn get_user(&self, name_or_id: &str) -> Result<User> {
        let mut conn = self.pool.acquire().await?;
        load_one(&mut conn, name_or_id).await
    }

    /// The name of the user with this uid, if any (gatehouse-sftp's session request names no
    /// user: the daemon finds it by the caller's uid).
    pub async fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>> {
        let row = sqlx::query("SELECT name FROM users WHERE uid = $1")
            .bind(i64::from(uid))
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("name")?),
            None => None,
        })
    }

    /// Users ordered by name, a page at a time.
    pub async fn list_users(&self, after: Option<&str>, limit: Option<i64>) -> Result<Vec<User>> {
        let mut conn = self.pool.acquire().await?;
        let filter = match (after, limit) {
            (None, None) => Filter::All,
            (a, l) => Filter::Page { after: a.unwrap_or(""), limit: l.unwrap_or(i64::MAX) },
        };
        load_users(&mut conn, &filter).await
    }

    /// Users matching `user list` filters, ordered by name.
    pub async fn find_users(&self, q: &super::UserQuery) -> Result<Vec<User>> {
        let mut conn = self.pool.acquire().await?;
        load_users(&mut conn, &Filter::Query(q)).await
    }

    /// Other users whose root is `root`, lies inside it or contains it: removing `root` would
    /// touch their files. Reads names and roots only, so it stays cheap at a million users.
    pub async fn users_sharing_root(&self, root: &str, except_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name, root FROM users WHERE id <> $1 ORDER BY name")
            .bind(except_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let other: String = r.try_get("root")?;
            if gatehouse_policy::model::root_under(&other, root) || gatehouse_policy::model::root_under(root, &other) {
                out.push(r.try_get("name")?);
            }
        }
        Ok(out)
    }

    /// The users whose root is exactly `root`.
    pub async fn users_with_root(&self, root: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM users WHERE root = $1 ORDER BY name")
            .bind(root)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get("name").map_err(Into::into)).collect()
    }

    /// Sets (or clears) the password hash.
    pub async fn set_password(
        &self,
        actor: &str,
        name_or_id: &str,
        hash: Option<String>,
        must_change: bool,
    ) -> Result<()> {
        if let Some(h) = &hash {
            gatehouse_policy::password::hash_kind(h)?;
        }
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        if hash.is_some() && user.password_source == PasswordSource::Ldap {
            return Err(ldap_has_no_local_password(&user.name));
        }
        update_columns(
            &mut tx,
            "users",
            &user.id,
            vec![("password_hash", Bind::Text(hash)), ("must_change_password", Bind::Int(Some(b(must_change))))],
        )
        .await?;
        audit(&mut tx, actor, "user.passwd", &user.name, "").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds public keys in one transaction; a key already on this user, or given twice, is
    /// refused and nothing is added. Returns the keys added.
    pub async fn add_keys(&self, actor: &str, name_or_id: &str, keys: &[PublicKey]) -> Result<Vec<PublicKey>> {
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        let mut seen = std::collections::HashSet::new();
        if let Some(k) = keys.iter().find(|k| !seen.insert(k.fingerprint.as_str())) {
            return Err(StoreError::Refused(format!("key {} is given twice; nothing was added", k.fingerprint)));
        }
        for k in keys {
            insert_key(&mut tx, &user.id, &user.name, k).await?;
            audit(&mut tx, actor, "key.add", &user.name, &k.fingerprint).await?;
        }
        touch(&mut tx, "users", &user.id).await?;
        tx.commit().await?;
        Ok(keys.to_vec())
    }

    /// Deletes keys matching a fingerprint (`SHA256:…`) or a comment. Returns how many.
    pub async fn del_key(&self, actor: &str, name_or_id: &str, which: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        let n = sqlx::query("DELETE FROM user_keys WHERE user_id = $1 AND (fingerprint = $2 OR comment = $2)")
            .bind(&user.id)
            .bind(which)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Missing(format!(
                "user {} has no key with fingerprint or comment {which:?}",
                user.name
            )));
        }
        touch(&mut tx, "users", &user.id).await?;
        audit(&mut tx, actor, "key.del", &user.name, which).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// The audit detail of a rename.
/// The refusal for setting a local password (or an invitation) on an LDAP-sourced user.
pub(super) fn ldap_has_no_local_password(name: &str) -> StoreError {
    StoreError::Refused(format!(
        "user {name} has password_source ldap: the password is the directory's (set --password-source local first)"
    ))
}

pub(super) fn rename_detail(new: &str, id: &str) -> String {
    format!("renamed to {new} (id {id}; the root folder was not moved)")
}

/// Loads exactly one user by name or id inside a transaction or connection.
pub(super) async fn load_one(conn: &mut sqlx::AnyConnection, name_or_id: &str) -> Result<User> {
    load_users(conn, &Filter::NameOrId(name_or_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound { kind: "user", name: name_or_id.to_string() })
}

pub(super) async fn insert_key(tx: &mut sqlx::AnyConnection, user_id: &str, user: &str, k: &PublicKey) -> Result<()> {
    let dup = sqlx::query("SELECT 1 FROM user_keys WHERE user_id = $1 AND fingerprint = $2")
        .bind(user_id)
        .bind(&k.fingerprint)
        .fetch_optional(&mut *tx)
        .await?;
    if dup.is_some() {
        return Err(StoreError::Exists { kind: "key", name: format!("{} (on user {user})", k.fingerprint) });
    }
    sqlx::query("INSERT INTO user_keys (user_id, algorithm, base64, comment, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(user_id)
        .bind(&k.algorithm)
        .bind(&k.base64)
        .bind(&k.comment)
        .bind(&k.fingerprint)
        .bind(format_time(now()))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn set_memberships(tx: &mut sqlx::AnyConnection, user_id: &str, groups: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM memberships WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    for g in groups {
        let row = sqlx::query("SELECT id FROM groups WHERE name = $1 OR id = $1")
            .bind(lookup_key(g))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound { kind: "group", name: g.clone() });
        };
        let gid: String = row.try_get(0)?;
        sqlx::query("INSERT INTO memberships (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(gid)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The access columns users and groups share (`allowed_ips`, `denied_ips`, `protocols`), for a
/// dynamic UPDATE; `None` leaves a column as it is. Protocol names are validated here.
pub(super) fn access_columns(
    sets: &mut Vec<(&str, Bind)>,
    allowed: Option<Vec<ipnet::IpNet>>,
    denied: Option<Vec<ipnet::IpNet>>,
    protocols: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
) -> Result<()> {
    if let Some(v) = hosts {
        let v = gatehouse_policy::model::parse_hosts("hosts", &v)?;
        sets.push(("hosts", Bind::Text(Some(v.join(",")))));
    }
    if let Some(v) = allowed {
        sets.push(("allowed_ips", Bind::Text(Some(ip_list_text(&v)))));
    }
    if let Some(v) = denied {
        sets.push(("denied_ips", Bind::Text(Some(ip_list_text(&v)))));
    }
    if let Some(v) = protocols {
        for p in &v {
            gatehouse_policy::model::validate_protocol(p)?;
        }
        sets.push(("protocols", Bind::Text(Some(v.join(",")))));
    }
    Ok(())
}

/// A value for a dynamic UPDATE.
pub(super) enum Bind {
    /// TEXT or NULL.
    Text(Option<String>),
    /// INTEGER or NULL.
    Int(Option<i64>),
}

/// `UPDATE table SET col = $n, …, updated_at = now WHERE id = $1`; column names come from code,
/// never from input.
pub(super) async fn update_columns(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    id: &str,
    sets: Vec<(&str, Bind)>,
) -> Result<()> {
    let mut sql = format!("UPDATE {table} SET updated_at = $2");
    for (i, (col, _)) in sets.iter().enumerate() {
        sql.push_str(&format!(", {col} = ${}", i + 3));
    }
    sql.push_str(" WHERE id = $1");
    let mut q = sqlx::query(&sql).bind(id.to_string()).bind(format_time(now()));
    for (_, v) in sets {
        q = match v {
            Bind::Text(t) => q.bind(t),
            Bind::Int(n) => q.bind(n),
        };
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Bumps `updated_at` (a key or rule changed, the record did not).
pub(super) async fn touch(tx: &mut sqlx::AnyConnection, table: &str, id: &str) -> Result<()> {
    update_columns(tx, table, id, Vec::new()).await
}
