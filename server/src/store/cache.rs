//! The offline cache: a host's own copy of a PostgreSQL database, for when the server is down.
//!
//! The cache is simply another [`Store`]: a SQLite file (`/var/lib/gatehouse/cache.db`, 0600)
//! with the same migrations as every gatehouse database, so every read the daemon makes (a user,
//! their keys, rules and groups, the NSS view) runs unchanged against it. [`Store::copy_into`]
//! refreshes it from the primary: one consistent read (`REPEATABLE READ`) of every table a host
//! serves from, written in one SQLite transaction, so a reader of the cache never sees half a
//! refresh. Columns are taken from the cache's own schema (`PRAGMA table_info`), so a column a
//! later migration adds is copied without a change here.
//!
//! Login-state updates made while the primary is down go to the cache (so lockout keeps
//! working on this host) *and* into `pending_login`, a queue only the cache has; they are
//! replayed in order against the primary when it is back (see the daemon's `offline` module).
use super::bulk::{multi_insert, rows_per_insert};
use super::{Backend, Result, Store, SystemIds};
use futures_util::TryStreamExt;
use gatehouse_policy::config::Config;
use sqlx::Row;
use std::sync::Arc;

/// The tables copied, parents first.
pub const CACHED_TABLES: [&str; 9] = [
    "users",
    "groups",
    "user_keys",
    "user_rules",
    "group_rules",
    "memberships",
    "login_state",
    "invitations",
    "app_passwords",
];

/// One column value on its way from the primary to the cache.
enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Store {
    /// Opens the offline cache at `path` (created 0600 if missing, migrated), with `cfg`'s rules
    /// (host, id range) and its own queue table.
    pub async fn open_cache(cfg: &Config, path: &str) -> Result<Store> {
        let mut c = cfg.clone();
        c.database = format!("sqlite://{path}");
        let store = Store::open_with(c, Arc::new(SystemIds::default()), true).await?;
        store.migrate().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS pending_login (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
        )
        .execute(&store.pool)
        .await?;
        Ok(store)
    }

    /// Replaces the content of `cache` with this store's users, groups, keys, rules,
    /// memberships, login state, invitations and app passwords, and records `at` as the sync time. Returns the
    /// rows copied.
    pub async fn copy_into(&self, cache: &Store, at: i64) -> Result<u64> {
        let mut src = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *src).await?;
        }
        let mut dst = cache.pool.begin().await?;
        for t in CACHED_TABLES.iter().rev() {
            sqlx::query(&format!("DELETE FROM {t}")).execute(&mut *dst).await?;
        }
        let mut copied = 0u64;
        for t in CACHED_TABLES {
            let cols: Vec<(String, bool)> = sqlx::query(&format!("PRAGMA table_info({t})"))
                .fetch_all(&mut *dst)
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("type")?.contains("INT"))))
                .collect::<Result<_>>()?;
            let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
            let per = rows_per_insert(names.len());
            let select = format!("SELECT {} FROM {t}", names.join(", "));
            let mut rows = sqlx::query(&select).fetch(&mut *src);
            let mut batch: Vec<Val> = Vec::with_capacity(per * names.len());
            while let Some(r) = rows.try_next().await? {
                for (i, (_, int)) in cols.iter().enumerate() {
                    batch.push(if *int { Val::Int(r.try_get(i)?) } else { Val::Text(r.try_get(i)?) });
                }
                if batch.len() == per * names.len() {
                    copied += insert(&mut dst, t, &names, &mut batch).await?;
                }
            }
            drop(rows);
            copied += insert(&mut dst, t, &names, &mut batch).await?;
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('synced_at', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(at.to_string())
        .execute(&mut *dst)
        .await?;
        dst.commit().await?;
        src.rollback().await?;
        Ok(copied)
    }

    /// When this cache was last refreshed (Unix seconds), if ever.
    pub async fn synced_at(&self) -> Result<Option<i64>> {
        let v: Option<String> = sqlx::query("SELECT value FROM meta WHERE key = 'synced_at'")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Appends a login-state update to the cache's queue.
    pub async fn enqueue(&self, event: &str) -> Result<()> {
        sqlx::query("INSERT INTO pending_login (event) VALUES ($1)").bind(event).execute(&self.pool).await?;
        Ok(())
    }

    /// The queued updates, oldest first, with their sequence numbers.
    pub async fn queued(&self) -> Result<Vec<(i64, String)>> {
        sqlx::query("SELECT seq, event FROM pending_login ORDER BY seq")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// How many updates are queued.
    pub async fn queued_count(&self) -> Result<usize> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM pending_login").fetch_one(&self.pool).await?.try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Removes one update from the queue (it reached the primary, or never can).
    pub async fn dequeue(&self, seq: i64) -> Result<()> {
        sqlx::query("DELETE FROM pending_login WHERE seq = $1").bind(seq).execute(&self.pool).await?;
        Ok(())
    }
}

/// Writes the rows in `batch` (whole rows of `names`) to `t`, and empties it.
async fn insert(dst: &mut sqlx::AnyConnection, t: &str, names: &[&str], batch: &mut Vec<Val>) -> Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows = batch.len() / names.len();
    let sql = multi_insert(t, names, rows);
    let mut q = sqlx::query(&sql);
    for v in batch.drain(..) {
        q = match v {
            Val::Int(i) => q.bind(i),
            Val::Text(s) => q.bind(s),
        };
    }
    q.execute(dst).await?;
    Ok(rows as u64)
}
