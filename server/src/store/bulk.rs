//! Creating users, one or a hundred thousand, through one code path.
//!
//! `user add` and every import call [`Store::insert_users`]: the checks a single add makes are
//! exactly the checks an import makes. It reads what it needs to decide once (names in use, ids
//! in use, groups, subordinate-id ranges), decides every user in memory, and then writes with
//! multi-row INSERTs, so an import of 100,000 users costs a few thousand statements, not a few
//! hundred thousand.
use super::ids::{next_id, range_end, set_next_id};
use super::rows::{ip_list_text, lookup_key, time_text};
use super::users::NewUser;
use super::{audit, b, now, Result, Store, StoreError};
use gatehouse_policy::model::format_time;
use gatehouse_policy::rules::Mode;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Reserved names: the system users of the daemon and of the keys helper, and the virtual groups.
pub(super) const RESERVED: [&str; 4] = ["gatehouse", "gatehouse-keys", "gatehouse-users", "gatehouse-totp"];

/// Bind parameters per multi-row INSERT. SQLite looks a `$N` parameter's name up by a linear
/// scan (`sqlite3_bind_parameter_name`), so binding costs grow with the square of the parameter
/// count; a few hundred keeps that negligible while still saving most statement round trips.
const PARAMS_PER_INSERT: usize = 256;

/// Rows per INSERT for a table of `cols` columns.
pub(super) const fn rows_per_insert(cols: usize) -> usize {
    let r = PARAMS_PER_INSERT / cols;
    if r == 0 {
        1
    } else {
        r
    }
}

/// One user's row, decided and ready to write.
struct Planned<'a> {
    id: String,
    uid: u32,
    root: String,
    u: &'a NewUser,
}

/// An error about one user of a batch.
pub(super) struct BatchError {
    /// The user the error is about.
    pub name: String,
    /// What was wrong.
    pub error: StoreError,
}

fn fail(name: &str, error: StoreError) -> BatchError {
    BatchError { name: name.to_string(), error }
}

impl From<sqlx::Error> for BatchError {
    fn from(e: sqlx::Error) -> Self {
        BatchError { name: String::new(), error: StoreError::from(e) }
    }
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        BatchError { name: String::new(), error: e }
    }
}

impl Store {
    /// Creates a user (and its keys, rules, memberships) in one transaction.
    pub async fn add_user(&self, actor: &str, u: NewUser) -> Result<gatehouse_policy::model::User> {
        let mut tx = self.begin_write().await?;
        self.insert_users(&mut tx, std::slice::from_ref(&u), self.local.as_ref()).await.map_err(|e| e.error)?;
        audit(&mut tx, actor, "user.add", &u.name, "").await?;
        let user = super::users::load_one(&mut tx, &u.name).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The checker of local names and ids an import uses (see [`super::LocalIds::for_import`]);
    /// pass the same one to the importer's "skip local names" check and to [`Store::import_users`].
    pub fn import_checker(&self) -> Box<dyn super::LocalIds + '_> {
        self.local.for_import().unwrap_or_else(|| Box::new(Borrowed(self.local.as_ref())))
    }

    /// Creates many users in one transaction: all or none. An error names the user it is about.
    /// With `dry_run`, every check runs and the transaction is rolled back.
    pub async fn import_users(
        &self,
        actor: &str,
        source: &str,
        users: &[NewUser],
        local: &dyn super::LocalIds,
        dry_run: bool,
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = self.insert_users(&mut tx, users, local).await {
            return Err(match e.error {
                StoreError::Db(_) | StoreError::Unreachable(_) if e.name.is_empty() => e.error,
                other => StoreError::Refused(format!("user {:?}: {other}; nothing was imported", e.name)),
            });
        }
        if dry_run {
            tx.rollback().await?;
            return Ok(users.len());
        }
        audit(&mut tx, actor, "import", source, &format!("{} users", users.len())).await?;
        tx.commit().await?;
        Ok(users.len())
    }

    /// Decides every user of the batch, then writes them; the caller's transaction makes it
    /// all or nothing.
    pub(super) async fn insert_users(
        &self,
        tx: &mut sqlx::AnyConnection,
        users: &[NewUser],
        local: &dyn super::LocalIds,
    ) -> std::result::Result<(), BatchError> {
        // What is already taken, read once.
        let mut names: HashMap<String, &'static str> = HashMap::new();
        for row in sqlx::query("SELECT name, 'user' FROM users UNION ALL SELECT name, 'group' FROM groups")
            .fetch_all(&mut *tx)
            .await?
        {
            let kind: String = row.try_get(1)?;
            names.insert(row.try_get(0)?, if kind == "user" { "user" } else { "group" });
        }
        let mut groups: HashMap<String, String> = HashMap::new();
        for row in sqlx::query("SELECT id, name FROM groups").fetch_all(&mut *tx).await? {
            let id: String = row.try_get(0)?;
            groups.insert(row.try_get(1)?, id.clone());
            groups.insert(id.clone(), id);
        }
        // Ids given by the batch (an import of an export keeps them) must be new; read the ids in
        // use only when some are given.
        let mut ids_taken: HashSet<String> = HashSet::new();
        if users.iter().any(|u| u.id.is_some()) {
            for row in sqlx::query("SELECT id FROM users").fetch_all(&mut *tx).await? {
                ids_taken.insert(row.try_get(0)?);
            }
        }
        let mut used = used_ids(tx).await?;
        let range = self.cfg.ids;
        let subids = local.subid_ranges();
        let mut next = next_id(tx).await?.max(range.first_allocatable());

        let mut planned = Vec::with_capacity(users.len());
        for u in users {
            let name = u.name.as_str();
            self.check_name(local, "name", name, names.get(name).copied()).map_err(|e| fail(name, e))?;
            let root = self.check_new_user_fields(u).map_err(|e| fail(name, e))?;
            for g in &u.groups {
                if !groups.contains_key(&lookup_key(g)) {
                    return Err(fail(name, StoreError::NotFound { kind: "group", name: g.clone() }));
                }
            }
            let mut fingerprints = HashSet::new();
            for k in &u.keys {
                if !fingerprints.insert(k.fingerprint.as_str()) {
                    return Err(fail(
                        name,
                        StoreError::Exists { kind: "key", name: format!("{} (on user {name})", k.fingerprint) },
                    ));
                }
            }
            let uid = match u.uid {
                Some(id) => {
                    self.check_requested_id(local, &used, &subids, id).map_err(|e| fail(name, e))?;
                    id
                }
                None => {
                    let id = self.allocate_id(local, &used, &subids, next).map_err(|e| fail(name, e))?;
                    next = id.saturating_add(1);
                    id
                }
            };
            next = next.max(uid.saturating_add(1));
            used.insert(uid);
            names.insert(u.name.clone(), "user");
            let id = match &u.id {
                Some(id) if !ids_taken.insert(id.clone()) => {
                    return Err(fail(name, StoreError::Exists { kind: "user id", name: id.clone() }))
                }
                Some(id) => id.clone(),
                None => uuid::Uuid::new_v4().to_string(),
            };
            planned.push(Planned { id, uid, root, u });
        }
        set_next_id(tx, next).await?;
        write_users(tx, &self.cfg.default_protocols, &planned, &groups).await?;
        Ok(())
    }

    /// Allocates one id (for a group) inside the caller's transaction.
    pub(super) async fn allocate_one(&self, tx: &mut sqlx::AnyConnection) -> Result<u32> {
        let used = used_ids(tx).await?;
        let from = next_id(tx).await?;
        let id = self.allocate_id(self.local.as_ref(), &used, &self.local.subid_ranges(), from)?;
        set_next_id(tx, id.saturating_add(1)).await?;
        Ok(id)
    }

    /// Checks an explicitly requested id: inside the range, unused here, not local.
    fn check_requested_id(
        &self,
        local: &dyn super::LocalIds,
        used: &HashSet<u32>,
        subids: &[(u32, u32)],
        id: u32,
    ) -> Result<()> {
        let range = &self.cfg.ids;
        if !range.allocatable(id) {
            return Err(StoreError::Refused(format!(
                "uid {id} is outside the configured range {}..={} (ids.first and ids.last; the first two are gatehouse's groups)",
                range.first_allocatable(),
                range.last
            )));
        }
        if used.contains(&id) {
            return Err(StoreError::Exists { kind: "uid", name: id.to_string() });
        }
        if let Some(end) = range_end(subids, id) {
            return Err(StoreError::TakenLocally(format!(
                "uid {id} lies in a subordinate-id range (ending at {end}) in /etc/subuid or /etc/subgid"
            )));
        }
        if let Some(who) = local.id_taken(id) {
            return Err(StoreError::TakenLocally(who));
        }
        Ok(())
    }

    /// The first free id at or above `from`: not used here, not in a subordinate range, not
    /// known to another NSS source.
    fn allocate_id(
        &self,
        local: &dyn super::LocalIds,
        used: &HashSet<u32>,
        subids: &[(u32, u32)],
        from: u32,
    ) -> Result<u32> {
        let range = &self.cfg.ids;
        let mut id = from.max(range.first_allocatable());
        loop {
            if id > range.last || id < range.first_allocatable() {
                return Err(StoreError::Refused(format!(
                    "the id range {}..={} is used up; widen [ids] in gatehouse.toml",
                    range.first_allocatable(),
                    range.last
                )));
            }
            if let Some(end) = range_end(subids, id) {
                id = end.saturating_add(1);
            } else if used.contains(&id) || local.id_taken(id).is_some() {
                id = id.saturating_add(1);
            } else {
                return Ok(id);
            }
        }
    }
}

/// Every uid and gid the database holds (ids plain SQL may have set included).
async fn used_ids(tx: &mut sqlx::AnyConnection) -> Result<HashSet<u32>> {
    let mut used = HashSet::new();
    for row in sqlx::query("SELECT uid FROM users UNION SELECT gid FROM users UNION SELECT gid FROM groups")
        .fetch_all(&mut *tx)
        .await?
    {
        let v: i64 = row.try_get(0)?;
        if let Ok(v) = u32::try_from(v) {
            used.insert(v);
        }
    }
    Ok(used)
}

/// A borrowed checker as a boxed one.
struct Borrowed<'a>(&'a dyn super::LocalIds);

impl super::LocalIds for Borrowed<'_> {
    fn name_taken(&self, name: &str) -> Option<String> {
        self.0.name_taken(name)
    }
    fn id_taken(&self, id: u32) -> Option<String> {
        self.0.id_taken(id)
    }
    fn subid_ranges(&self) -> Vec<(u32, u32)> {
        self.0.subid_ranges()
    }
    fn prefetch(&self, names: &[String]) {
        self.0.prefetch(names);
    }
}

/// Builds `INSERT INTO table (cols) VALUES ($1, …), ($n, …)` for `rows` rows.
pub(super) fn multi_insert(table: &str, cols: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut p = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${p}"));
            p += 1;
        }
        sql.push(')');
    }
    sql
}

const USER_COLS: [&str; 23] = [
    "id",
    "name",
    "uid",
    "gid",
    "display_name",
    "email",
    "locale",
    "time_zone",
    "password_hash",
    "password_source",
    "must_change_password",
    "root",
    "mode",
    "delete_allowed",
    "allowed_ips",
    "denied_ips",
    "protocols",
    "hosts",
    "active",
    "expires_at",
    "max_file_size",
    "created_at",
    "updated_at",
];

async fn write_users(
    tx: &mut sqlx::AnyConnection,
    default_protocols: &[String],
    planned: &[Planned<'_>],
    groups: &HashMap<String, String>,
) -> std::result::Result<(), BatchError> {
    let t = format_time(now());
    for chunk in planned.chunks(rows_per_insert(USER_COLS.len())) {
        let sql = multi_insert("users", &USER_COLS, chunk.len());
        let mut q = sqlx::query(&sql);
        for p in chunk {
            let u = p.u;
            let max_size = match u.max_file_size.filter(|&s| s > 0) {
                Some(s) => Some(i64::try_from(s).map_err(|_| {
                    fail(
                        &u.name,
                        StoreError::Invalid(gatehouse_policy::PolicyError::invalid(
                            "max_file_size",
                            s.to_string(),
                            "too large",
                        )),
                    )
                })?),
                None => None,
            };
            let protocols = u.protocols.as_deref().unwrap_or(default_protocols).join(",");
            q = q
                .bind(p.id.clone())
                .bind(u.name.clone())
                .bind(i64::from(p.uid))
                .bind(i64::from(p.uid))
                .bind(u.display_name.clone())
                .bind(u.email.clone())
                .bind(u.locale.clone())
                .bind(u.time_zone.clone())
                .bind(u.password_hash.clone())
                .bind(u.password_source.to_string())
                .bind(b(u.must_change_password))
                .bind(p.root.clone())
                .bind(u.mode.unwrap_or(Mode::Rw).to_string())
                .bind(b(u.delete_allowed.unwrap_or(true)))
                .bind(ip_list_text(&u.allowed_ips))
                .bind(ip_list_text(&u.denied_ips))
                .bind(protocols)
                .bind(u.hosts.join(","))
                .bind(b(u.active.unwrap_or(true)))
                .bind(time_text(u.expires_at))
                .bind(max_size)
                .bind(t.clone())
                .bind(t.clone());
        }
        q.execute(&mut *tx).await?;
    }

    let keys: Vec<(&str, &gatehouse_policy::keys::PublicKey)> =
        planned.iter().flat_map(|p| p.u.keys.iter().map(move |k| (p.id.as_str(), k))).collect();
    for chunk in keys.chunks(rows_per_insert(6)) {
        let sql = multi_insert(
            "user_keys",
            &["user_id", "algorithm", "base64", "comment", "fingerprint", "created_at"],
            chunk.len(),
        );
        let mut q = sqlx::query(&sql);
        for (id, k) in chunk {
            q = q
                .bind(id.to_string())
                .bind(k.algorithm.clone())
                .bind(k.base64.clone())
                .bind(k.comment.clone())
                .bind(k.fingerprint.clone())
                .bind(t.clone());
        }
        q.execute(&mut *tx).await?;
    }

    // A later rule for the same path replaces an earlier one, as `rule add` does.
    let rules: Vec<(&str, String, String)> = planned
        .iter()
        .flat_map(|p| {
            let m: BTreeMap<&str, String> = p.u.rules.iter().map(|r| (r.path.as_str(), r.level.to_string())).collect();
            m.into_iter().map(move |(path, level)| (p.id.as_str(), path.to_string(), level))
        })
        .collect();
    for chunk in rules.chunks(rows_per_insert(3)) {
        let sql = multi_insert("user_rules", &["user_id", "path", "level"], chunk.len());
        let mut q = sqlx::query(&sql);
        for (id, path, level) in chunk {
            q = q.bind(id.to_string()).bind(path.clone()).bind(level.clone());
        }
        q.execute(&mut *tx).await?;
    }

    let members: Vec<(&str, &str)> = planned
        .iter()
        .flat_map(|p| {
            let set: std::collections::BTreeSet<&str> =
                p.u.groups.iter().filter_map(|g| groups.get(&lookup_key(g)).map(String::as_str)).collect();
            set.into_iter().map(move |g| (p.id.as_str(), g))
        })
        .collect();
    for chunk in members.chunks(rows_per_insert(2)) {
        let sql = multi_insert("memberships", &["user_id", "group_id"], chunk.len());
        let mut q = sqlx::query(&sql);
        for (uid, gid) in chunk {
            q = q.bind(uid.to_string()).bind(gid.to_string());
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::multi_insert;
    #[test]
    fn multi_row_sql() {
        assert_eq!(multi_insert("t", &["a", "b"], 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
