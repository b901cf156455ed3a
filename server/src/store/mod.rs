//! The user database: one API over SQLite (the default) and PostgreSQL (fleets).
//!
//! Both backends run the same SQL through sqlx's `Any` driver, which is why the schema keeps to
//! types both share (TEXT, 64-bit integers; booleans as 0/1, times as `YYYY-MM-DDTHH:MM:SSZ`).
//! Every write is one transaction that first takes the database's write lock (an update of the
//! `meta` row), so concurrent writers serialise instead of failing half-way, and every admin
//! change appends to `audit_log` inside the same transaction.
mod admins;
mod apppass;
mod bulk;
pub mod cache;
mod credentials;
mod groups;
mod ids;
pub mod login;
mod nss;
mod query;
mod rows;
mod rules;
mod served;
mod users;

pub use admins::{AdminRole, Scope};
pub use apppass::{AppPassword, StoredAppPassword};
pub use credentials::Invitation;
pub use gatehouse_tasks::local::LocalFiles;
pub use groups::{GroupChanges, NewGroup};
pub use ids::{LocalIds, NoLocalIds, SystemIds};
pub use nss::NssView;
pub use query::UserQuery;
pub use rows::Rejected;
pub use rules::RuleOwner;
pub use served::Served;
pub use users::{NewUser, UserChanges};

use gatehouse_policy::config::Config;
use gatehouse_policy::model::format_time;
use gatehouse_policy::PolicyError;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::sync::Arc;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Everything that can go wrong in the store. Messages are written for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A field failed validation.
    #[error("{0}")]
    Invalid(#[from] PolicyError),
    /// No user or group by that name or id.
    #[error("no {kind} named {name:?}")]
    NotFound {
        /// `user`, `group`, `key`, `rule`.
        kind: &'static str,
        /// What was looked for.
        name: String,
    },
    /// A key, rule or membership to remove is not there.
    #[error("{0}")]
    Missing(String),
    /// The name (or key, or rule) is already present.
    #[error("{kind} {name:?} already exists")]
    Exists {
        /// `user`, `group`, `key`.
        kind: &'static str,
        /// The duplicate.
        name: String,
    },
    /// A name or id that another NSS source or a subordinate-id range already uses.
    #[error("{0}")]
    TakenLocally(String),
    /// The request is well-formed but not allowed in the current state.
    #[error("{0}")]
    Refused(String),
    /// The schema is older than this program; nothing was changed.
    #[error("the database schema is not current ({0}); run `gatehouse db migrate`")]
    NotMigrated(String),
    /// A row that plain SQL left malformed.
    #[error("bad data in the database: {0}")]
    Corrupt(String),
    /// A row this host must not serve (malformed, or outside what the config allows): it is left
    /// out of everything the host serves, as if it did not exist.
    #[error("{0}; this host serves nothing of it")]
    NotServed(Rejected),
    /// The database server cannot be reached (down, refused, timed out); nothing was changed.
    #[error("cannot reach the database ({0}); nothing was changed")]
    Unreachable(String),
    /// The database itself failed.
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Filesystem error around the database file.
    #[error("{0}")]
    Io(String),
}

impl From<sqlx::Error> for StoreError {
    /// Connection failures become [`StoreError::Unreachable`], so callers (the CLI's message, the
    /// daemon's switch to the offline cache) need not know sqlx's error kinds.
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unreachable(e.to_string())
            }
            e => StoreError::Db(e),
        }
    }
}

impl StoreError {
    /// True when the database could not be reached at all (as opposed to refusing a request).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Unreachable(_))
    }
}

/// Shorthand for store results.
pub type Result<T> = std::result::Result<T, StoreError>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A handle on the database plus the configuration its rules depend on (id range, prefixes).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    cfg: Arc<Config>,
    local: Arc<dyn LocalIds>,
}

/// What `gatehouse db status` shows.
#[derive(Debug, serde::Serialize)]
pub struct DbStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Migrations applied, by version.
    pub applied: Vec<i64>,
    /// Migrations this program knows and the database lacks.
    pub pending: Vec<i64>,
    /// Number of users (only when the schema is current).
    pub users: Option<i64>,
    /// Number of groups (only when the schema is current).
    pub groups: Option<i64>,
}

/// The PostgreSQL advisory lock key `gatehouse db migrate` holds ("gatehous" in ASCII).
pub const MIGRATE_LOCK: i64 = 0x6761_7465_686f_7573;

/// How long gatehoused waits for a PostgreSQL connection before it counts the server as down.
pub const DAEMON_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Store {
    /// Opens the database named by the config, with the host's real NSS and subordinate-id files
    /// deciding which names and ids are taken locally. A missing SQLite file is created (0600)
    /// only if `create` is true.
    pub async fn open(cfg: Config, create: bool) -> Result<Store> {
        Self::open_with(cfg, Arc::new(SystemIds::default()), create).await
    }

    /// Opens the database with an explicit source of local names and ids (tests).
    pub async fn open_with(cfg: Config, local: Arc<dyn LocalIds>, create: bool) -> Result<Store> {
        Self::open_inner(cfg, local, create, false).await
    }

    /// Opens the database for gatehoused: a PostgreSQL pool connects on first use (so the
    /// daemon starts, and serves from its offline cache, while the server is down) and gives up
    /// on a connection after [`DAEMON_ACQUIRE_TIMEOUT`], well inside PAM's 6 s.
    pub async fn open_for_daemon(cfg: Config) -> Result<Store> {
        Self::open_inner(cfg, Arc::new(SystemIds::default()), false, true).await
    }

    async fn open_inner(cfg: Config, local: Arc<dyn LocalIds>, create: bool, daemon: bool) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if cfg.database.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let url = match backend {
            Backend::Sqlite => sqlite_url(&cfg.database, create)?,
            Backend::Postgres => cfg.database_url(),
        };
        let timeout = if daemon { DAEMON_ACQUIRE_TIMEOUT } else { std::time::Duration::from_secs(5) };
        let opts = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { cfg.postgres.pool_size })
            .acquire_timeout(timeout);
        let opts = if backend == Backend::Sqlite {
            opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            })
        } else {
            opts
        };
        let pool = if daemon && backend == Backend::Postgres {
            opts.connect_lazy(&url)?
        } else {
            opts.connect(&url).await.map_err(|e| match StoreError::from(e) {
                StoreError::Unreachable(why) => StoreError::Unreachable(format!("{}: {why}", redact_url(&url))),
                other => other,
            })?
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Store { pool, backend, cfg: Arc::new(cfg), local })
    }

    /// The configuration this store enforces.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The raw pool, for tests and for plain-SQL edits in tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration. Returns the versions applied by this call.
    ///
    /// Safe when several hosts start at once against one PostgreSQL: the whole step runs under
    /// `pg_advisory_lock(`[`MIGRATE_LOCK`]`)` on a connection of its own, so the others wait and
    /// then find nothing left to apply, and the versions returned are the ones this call
    /// applied. (sqlx's migrator takes an advisory lock of its own too, but only around its own
    /// work, after our "what is pending" question.) The connection is closed afterwards, which
    /// releases the session-level locks even when a migration fails half-way. SQLite: the file's
    /// write lock serialises migrators.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        use sqlx::Connection;
        let mut conn = self.pool.acquire().await?.detach();
        let result = async {
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATE_LOCK).execute(&mut conn).await?;
            }
            let (_, pending) = self.migration_state(&mut conn).await?;
            // run_direct, not run: run(&mut conn) makes every future that may migrate (the CLI's
            // dispatch, which gatehoused runs for delegated admins) fail rustc's Send check.
            self.migrator().run_direct(&mut conn).await?;
            Ok(pending)
        }
        .await;
        let _ = conn.close().await;
        result
    }

    /// Applied and pending migration versions (no table scans: every command asks this).
    async fn migration_state(&self, conn: &mut sqlx::AnyConnection) -> Result<(Vec<i64>, Vec<i64>)> {
        let has_table: bool = match self.backend {
            Backend::Sqlite => sqlx::query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_optional(&mut *conn)
                .await?
                .is_some(),
            Backend::Postgres => sqlx::query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()")
                .fetch_optional(&mut *conn)
                .await?
                .is_some(),
        };
        let applied: Vec<i64> = if has_table {
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        let pending: Vec<i64> = self.migrator().iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
        Ok((applied, pending))
    }

    /// Applied and pending migrations, and counts when the schema is current.
    pub async fn status(&self) -> Result<DbStatus> {
        let (applied, pending) = self.migration_state(&mut *self.pool.acquire().await?).await?;
        let (users, groups) = if pending.is_empty() {
            let u: i64 = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?.try_get(0)?;
            let g: i64 = sqlx::query("SELECT COUNT(*) FROM groups").fetch_one(&self.pool).await?.try_get(0)?;
            (Some(u), Some(g))
        } else {
            (None, None)
        };
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        Ok(DbStatus { backend, applied, pending, users, groups })
    }

    /// Refuses to work on an outdated schema (nothing is changed), naming the fix.
    pub async fn ensure_current(&self) -> Result<()> {
        let (_, pending) = self.migration_state(&mut *self.pool.acquire().await?).await?;
        if pending.is_empty() {
            Ok(())
        } else {
            let v: Vec<String> = pending.iter().map(i64::to_string).collect();
            Err(StoreError::NotMigrated(format!("pending migrations: {}", v.join(", "))))
        }
    }

    /// Starts a write transaction holding the database's write lock.
    ///
    /// This is also what makes uid/gid allocation unique across a fleet: ids are read from and
    /// raised in `meta.next_id` only inside such a transaction, and on PostgreSQL the first
    /// statement takes that row's lock until commit, so allocations on different hosts queue
    /// (READ COMMITTED: the next statement sees the other host's committed mark). `users.uid`
    /// and `groups.gid` are UNIQUE as a second line.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await?;
        // Take the write lock first (SQLite: RESERVED; PostgreSQL: the meta row), so two writers
        // queue here instead of one failing after half its work.
        sqlx::query("UPDATE meta SET value = value WHERE key = 'next_id'").execute(&mut *tx).await?;
        Ok(tx)
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Appends one audit record inside the caller's transaction.
async fn audit(tx: &mut sqlx::AnyConnection, actor: &str, action: &str, target: &str, detail: &str) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(format_time(now()))
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(tx)
        .await?;
    Ok(())
}

/// Turns `sqlite:///abs/path` (or `sqlite:/abs/path`) into the sqlx URL. With `create`, a missing
/// file is created 0600 first, so the database is never world-readable, not even for an instant.
fn sqlite_url(db: &str, create: bool) -> Result<String> {
    let path = db.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if !path.starts_with('/') {
        return Err(StoreError::Invalid(PolicyError::invalid("database", db, "expected sqlite:///absolute/path")));
    }
    let p = std::path::Path::new(path);
    if !p.exists() {
        if !create {
            return Err(StoreError::NotMigrated(format!("the database {path} does not exist yet")));
        }
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(p)
            .map_err(|e| StoreError::Io(format!("cannot create database {path}: {e}")))?;
    }
    Ok(format!("sqlite://{path}?mode=rw"))
}

/// Reads a 0/1 column.
/// Converts a bool to the schema's 0/1.
fn b(v: bool) -> i64 {
    i64::from(v)
}
