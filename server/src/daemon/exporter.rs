//! Keeps the NSS snapshot in step with the database.
//!
//! Changes come from anyone: the CLI, plain SQL, another host, the daemon itself. The exporter
//! hears of them
//! - on PostgreSQL, from the `LISTEN` connection of [`watch::listen`](super::watch::listen)
//!   (triggers on every table a host's view depends on send `NOTIFY`), with a cheap change stamp
//!   (counts and the newest `updated_at`) read every [`PG_SAFETY_POLL`] as a safety net;
//! - on SQLite, by polling the change counter `changes.n` every [`POLL`] (triggers on every
//!   table a host's view depends on count each row written, by anyone; the daemon's own
//!   login bookkeeping in `login_state` is not counted, so logins cause no export);
//! - from the daemon's own [`DaemonConfig::changed`](super::DaemonConfig) signal.
//!
//! A burst of changes is coalesced: after the first it waits [`SETTLE`] and exports once. So a
//! change reaches NSS within about `SETTLE + export time` on PostgreSQL.
use super::offline::Offline;
use super::othernss::OtherSources;
use super::watch::{self, Link};
use crate::export::{build_view, write_snapshot};
use crate::store::LocalFiles;
use crate::store::{Backend, Store};
use crate::tasks::hook::RootHook;
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the SQLite change stamp is read.
pub const POLL: Duration = Duration::from_millis(200);
/// How often the PostgreSQL change stamp is read, in case a notification was missed.
pub const PG_SAFETY_POLL: Duration = Duration::from_secs(30);
/// How long a burst of changes may continue before the export starts.
pub const SETTLE: Duration = Duration::from_millis(50);

/// What changed since the last export, as far as the stamp can tell.
async fn stamp<'c>(store: &Store, conn: impl sqlx::Executor<'c, Database = sqlx::Any>) -> Result<String, sqlx::Error> {
    let sql = match store.backend() {
        Backend::Sqlite => "SELECT n FROM changes WHERE id = 1",
        Backend::Postgres => {
            "SELECT CAST((SELECT COUNT(*) FROM users) AS TEXT) || '/' || COALESCE((SELECT MAX(updated_at) FROM users), '') \
             || '/' || CAST((SELECT COUNT(*) FROM groups) AS TEXT) || '/' || COALESCE((SELECT MAX(updated_at) FROM groups), '') \
             || '/' || CAST((SELECT COUNT(*) FROM memberships) AS TEXT)"
        }
    };
    let row = sqlx::query(sql).fetch_one(conn).await?;
    Ok(match store.backend() {
        Backend::Sqlite => row.try_get::<i64, _>(0)?.to_string(),
        Backend::Postgres => row.try_get::<String, _>(0)?,
    })
}

/// A generation number that grows across restarts: milliseconds since the epoch.
fn next_generation(last: u64) -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    now.max(last + 1)
}

/// Exports once, from the database or, while it is unreachable, from the offline cache. Errors
/// are logged; the previous snapshot stays in place (NSS keeps answering).
async fn export(db: &Offline, path: &Path, generation: u64, others: &mut OtherSources) -> bool {
    let t = std::time::Instant::now();
    // Re-read each time: an admin may add a local account (or an NSS source) while the daemon
    // runs.
    let mut local = LocalFiles::load();
    others.reload();
    let built = match db.read(|s| s.nss_view()).await {
        Ok(view) => {
            if !others.is_empty() {
                local.elsewhere = others.clashes(&view.0).await;
            }
            build_view(view, generation, &db.primary.config().ids, &local)
        }
        Err(e) => Err(e),
    };
    let bytes = match built {
        Ok((b, dropped)) => {
            for why in dropped {
                tracing::warn!("{why}");
            }
            b
        }
        Err(e) => {
            tracing::error!(error = %e, "snapshot export failed; keeping the previous snapshot");
            return false;
        }
    };
    let path2 = path.to_path_buf();
    let len = bytes.len();
    match tokio::task::spawn_blocking(move || write_snapshot(&path2, &bytes)).await {
        Ok(Ok(())) => {
            tracing::info!(generation, bytes = len, ms = t.elapsed().as_millis() as u64, "snapshot exported");
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, path = %path.display(), "cannot write the snapshot");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "snapshot writer failed");
            false
        }
    }
}

/// What runs beside the exporter, all optional.
#[derive(Default)]
pub struct Options {
    /// After each export, ask gatehouse-tasks to create missing roots (and keep the FTP
    /// servers' files, watching their directories, see [`RootHook::watch_ftp_dirs`]).
    pub roots: Option<RootHook>,
    /// The database with its offline cache and connection state, shared with the handlers.
    /// `None`: the store alone, no cache.
    pub db: Option<Arc<Offline>>,
}

/// The least time between two refreshes of the offline cache. A refresh copies every user
/// (about 1 s of CPU per 100k users), so a stream of changes is folded into one copy every
/// 10 s; the snapshot is exported at once regardless. With 2 s, three hosts sharing two cores
/// under 200 changes at 100k users spent enough time copying to push the snapshot's p99 from
/// under a second to 1.3 s (tests/bench/fleet.sh).
pub const CACHE_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// Refreshes the offline cache (first flushing queued login state) each time `wake` is
/// signalled, at most once per [`CACHE_MIN_INTERVAL`]. Runs until aborted.
async fn keep_cache(db: Arc<Offline>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        match db.refresh().await {
            Ok(()) => {}
            Err(e) => {
                db.failed_over(&e);
                tracing::warn!(error = %e, "cannot refresh the offline cache; it keeps its last state");
            }
        }
        tokio::time::sleep(CACHE_MIN_INTERVAL).await;
    }
}

/// How the exporter hears of changes made by others (see the module docs).
enum Watch {
    /// A connection kept open for reading the change counter, and the last value read.
    Sqlite(sqlx::AnyConnection, Option<String>),
    /// The `LISTEN` task (kept only to be aborted on drop) and the last stamp read.
    Postgres { _listen: AbortOnDrop, last: Option<String> },
}

/// A background task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Watch {
    async fn start(store: &Store, changed: &Arc<Notify>, link: &Arc<Link>) -> Result<Watch, sqlx::Error> {
        Ok(match store.backend() {
            Backend::Sqlite => {
                let mut conn = store.pool().acquire().await?.detach();
                let last = stamp(store, &mut conn).await.ok();
                Watch::Sqlite(conn, last)
            }
            Backend::Postgres => {
                let task = tokio::spawn(watch::listen(store.config().database_url(), changed.clone(), link.clone()));
                Watch::Postgres { _listen: AbortOnDrop(task), last: stamp(store, store.pool()).await.ok() }
            }
        })
    }

    fn poll_every(&self) -> Duration {
        match self {
            Watch::Sqlite(..) => POLL,
            Watch::Postgres { .. } => PG_SAFETY_POLL,
        }
    }

    /// Reads the stamp; true if it moved since the last read. A database that does not answer
    /// is reported to `db` (which may switch to the offline cache).
    async fn moved(&mut self, store: &Store, db: &Offline) -> bool {
        let (now, last) = match self {
            Watch::Sqlite(conn, last) => (stamp(store, conn).await, last),
            Watch::Postgres { last, .. } => (stamp(store, store.pool()).await, last),
        };
        match now {
            Ok(s) if Some(&s) != last.as_ref() => {
                *last = Some(s);
                true
            }
            Ok(_) => false,
            Err(e) => {
                db.failed_over(&e.into());
                tracing::debug!("cannot read the change stamp");
                false
            }
        }
    }
}

/// Runs until `stop` is notified: exports at start, then after every change.
pub async fn run(store: Store, path: PathBuf, changed: Arc<Notify>, stop: Arc<Notify>) {
    run_with(store, path, changed, stop, Options::default()).await;
}

/// [`run`], with [`Options`]. The root hook works in the background and never delays an export.
pub async fn run_with(store: Store, path: PathBuf, changed: Arc<Notify>, stop: Arc<Notify>, opts: Options) {
    let Options { roots, db } = opts;
    let db = db.unwrap_or_else(|| Arc::new(Offline::direct(store.clone())));
    let link = db.link.clone();
    let wake_cache = Arc::new(Notify::new());
    let _cache_tasks = db.cache.is_some().then(|| {
        (
            AbortOnDrop(tokio::spawn(keep_cache(db.clone(), wake_cache.clone()))),
            AbortOnDrop(tokio::spawn(watch::probe(db.primary.clone(), changed.clone(), link.clone()))),
        )
    });
    // The FTP servers' directories are watched beside the exporter, so files follow a directory
    // created while gatehoused runs (ends with the exporter).
    let _ftp_watch = roots.clone().map(|hook| AbortOnDrop(tokio::spawn(hook.watch_ftp_dirs(store.clone()))));
    // What the host's other NSS sources answered, kept across exports (exports run one at a
    // time; the lock is never contended).
    let others = Arc::new(tokio::sync::Mutex::new(OtherSources::default()));
    let export_once = |store: &Store, path: &Path, generation: u64| {
        let (store, path, roots, db, wake, others) =
            (store.clone(), path.to_path_buf(), roots.clone(), db.clone(), wake_cache.clone(), others.clone());
        async move {
            let ok = export(&db, &path, generation, &mut *others.lock().await).await;
            if ok && db.link.online() {
                db.link.synced(crate::store::now());
                wake.notify_one();
                if let Some(hook) = &roots {
                    hook.after_export(&store);
                }
            }
            ok
        }
    };
    let mut generation = next_generation(0);
    let mut watch = loop {
        match Watch::start(&store, &changed, &link).await {
            Ok(w) => break w,
            Err(e) => {
                tracing::error!(error = %e, "snapshot exporter cannot reach the database; retrying");
                tokio::select! {
                    _ = stop.notified() => return,
                    _ = tokio::time::sleep(watch::MAX_BACKOFF) => {}
                }
            }
        }
    };
    let mut dirty = !export_once(&store, &path, generation).await;
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            _ = changed.notified() => dirty = true,
            _ = tokio::time::sleep(watch.poll_every()) => {}
        }
        if watch.moved(&store, &db).await {
            dirty = true;
        }
        if dirty {
            tokio::time::sleep(SETTLE).await;
            // Changes during the pause are in this export; take their wake-up and read the stamp
            // again so they do not trigger a second one.
            tokio::select! {
                biased;
                _ = changed.notified() => {}
                () = std::future::ready(()) => {}
            }
            watch.moved(&store, &db).await;
            generation = next_generation(generation);
            dirty = !export_once(&store, &path, generation).await;
        }
    }
}
