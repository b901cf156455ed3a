//! Keeps the NSS snapshot in step with the database.
//!
//! Changes come from anyone: the CLI, plain SQL, the daemon itself. The exporter notices them
//! by polling a cheap change stamp every [`POLL`] (SQLite: `PRAGMA data_version` on a connection
//! it keeps, which changes whenever another connection commits; PostgreSQL: counts and the
//! newest `updated_at` of users and groups, until the fleet issue adds `LISTEN/NOTIFY`
//! triggers) and by the daemon's own [`DaemonConfig::changed`](super::DaemonConfig) signal.
//! A burst of changes is coalesced: after the first it waits [`SETTLE`] and exports once.
//! So a change reaches NSS within about `POLL + SETTLE + export time`.
use crate::export::{build_checked, write_snapshot};
use crate::store::LocalFiles;
use crate::store::{Backend, Store};
use crate::tasks::hook::RootHook;
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the change stamp is read.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a burst of changes may continue before the export starts.
pub const SETTLE: Duration = Duration::from_millis(50);

/// What changed since the last export, as far as the stamp can tell.
async fn stamp(store: &Store, conn: &mut sqlx::AnyConnection) -> Result<String, sqlx::Error> {
    let sql = match store.backend() {
        Backend::Sqlite => "PRAGMA data_version",
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

/// Exports once. Errors are logged; the previous snapshot stays in place (NSS keeps answering).
async fn export(store: &Store, path: &Path, generation: u64) -> bool {
    let t = std::time::Instant::now();
    // Re-read each time: an admin may add a local account while the daemon runs.
    let local = LocalFiles::load();
    let bytes = match build_checked(store, generation, &local).await {
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

/// Runs until `stop` is notified: exports at start, then after every change.
pub async fn run(store: Store, path: PathBuf, changed: Arc<Notify>, stop: Arc<Notify>) {
    run_with_roots(store, path, changed, stop, None).await;
}

/// [`run`], and after each successful export asks gatehouse-tasks (through `roots`) to create
/// the roots that do not exist yet. The hook works in the background and never delays an export.
pub async fn run_with_roots(
    store: Store,
    path: PathBuf,
    changed: Arc<Notify>,
    stop: Arc<Notify>,
    roots: Option<RootHook>,
) {
    let export_once = |store: &Store, path: &Path, generation: u64| {
        let (store, path, roots) = (store.clone(), path.to_path_buf(), roots.clone());
        async move {
            let ok = export(&store, &path, generation).await;
            if let (true, Some(hook)) = (ok, &roots) {
                hook.after_export(&store);
            }
            ok
        }
    };
    let mut generation = next_generation(0);
    let mut conn = match store.pool().acquire().await {
        Ok(c) => c.detach(),
        Err(e) => {
            tracing::error!(error = %e, "snapshot exporter cannot get a database connection");
            return;
        }
    };
    let mut last = stamp(&store, &mut conn).await.ok();
    let mut dirty = !export_once(&store, &path, generation).await;
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            _ = changed.notified() => dirty = true,
            _ = tokio::time::sleep(POLL) => {}
        }
        match stamp(&store, &mut conn).await {
            Ok(s) if Some(&s) != last.as_ref() => {
                last = Some(s);
                dirty = true;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the change stamp"),
        }
        if dirty {
            tokio::time::sleep(SETTLE).await;
            // Changes during the pause are in this export; read the stamp again so they do not
            // trigger a second one.
            if let Ok(s) = stamp(&store, &mut conn).await {
                last = Some(s);
            }
            generation = next_generation(generation);
            dirty = !export_once(&store, &path, generation).await;
        }
    }
}
