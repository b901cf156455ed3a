//! Hearing about changes made by others, and knowing whether the database is reachable.
//!
//! On PostgreSQL every table a host's view depends on has a statement-level trigger that sends
//! `NOTIFY gatehouse_changed` (migration 0003), so a change made anywhere (the CLI on another
//! host, plain SQL, another tool) reaches every gatehoused at once. [`listen`] keeps one
//! dedicated `LISTEN` connection (sqlx's `PgListener`, outside the pool, so a pool full of
//! logins never starves it) and turns each notification into a wake-up of the exporter.
//! Notifications sent while the connection is down are lost, so every (re)connection also
//! counts as a change: the exporter catches up at once. A lost connection is re-made with
//! exponential backoff ([`MIN_BACKOFF`] to [`MAX_BACKOFF`]).
//!
//! [`Link`] is what the daemon knows about the connection: up or down, since when, and when the
//! last full sync (snapshot and offline cache) finished. The handlers read it to decide whether to
//! ask the database or the offline cache; `gatehouse status` shows it.
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The channel the triggers notify.
pub const CHANNEL: &str = "gatehouse_changed";
/// First wait before re-connecting a lost `LISTEN` connection.
pub const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between re-connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The database connection as this daemon last saw it. Shared by the watcher and exporter (which
/// write it) and the handlers (which read it).
#[derive(Debug)]
pub struct Link {
    /// The last attempt to reach the database worked.
    online: AtomicBool,
    /// When `online` last changed (Unix seconds).
    since: AtomicI64,
    /// When the last full sync finished (Unix seconds; 0: never since start).
    last_sync: AtomicI64,
}

impl Default for Link {
    fn default() -> Self {
        Link { online: AtomicBool::new(true), since: AtomicI64::new(crate::store::now()), last_sync: AtomicI64::new(0) }
    }
}

impl Link {
    /// Whether the database answered last time anyone asked.
    pub fn online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    /// Records whether the database answered; logs the transitions. Returns true on a change.
    pub fn set_online(&self, up: bool) -> bool {
        let was = self.online.swap(up, Ordering::SeqCst);
        if was != up {
            self.since.store(crate::store::now(), Ordering::SeqCst);
            if up {
                tracing::info!("the database is reachable again");
            } else {
                tracing::warn!("the database is unreachable; serving from the offline cache");
            }
        }
        was != up
    }

    /// Since when the current state holds (Unix seconds).
    pub fn since(&self) -> i64 {
        self.since.load(Ordering::SeqCst)
    }

    /// Records a finished sync.
    pub fn synced(&self, at: i64) {
        self.last_sync.store(at, Ordering::SeqCst);
    }

    /// When the last sync finished (Unix seconds), if one has since start.
    pub fn last_sync(&self) -> Option<i64> {
        Some(self.last_sync.load(Ordering::SeqCst)).filter(|&t| t > 0)
    }
}

/// How often a database marked unreachable by a failed request is tried again.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Marks the database reachable again after a request (not the `LISTEN` connection, which marks
/// it itself) found it unreachable: a pool that was only busy for a moment, or a server that came
/// back while the `LISTEN` connection stayed up. While `link` says unreachable, tries `SELECT 1`
/// every [`PROBE_EVERY`]; on success marks it reachable and wakes `changed`, so the exporter
/// catches up and queued login state is flushed. Runs until aborted.
pub async fn probe(store: crate::store::Store, changed: Arc<Notify>, link: Arc<Link>) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        if !link.online() && sqlx::query("SELECT 1").execute(store.pool()).await.is_ok() && link.set_online(true) {
            changed.notify_one();
        }
    }
}

/// Subscribes a dedicated connection to [`CHANNEL`].
async fn subscribe(url: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let mut l = sqlx::postgres::PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// Listens on `url` until the task is aborted: every notification, and every (re)connection,
/// wakes `changed`. Connection state goes to `link`.
pub async fn listen(url: String, changed: Arc<Notify>, link: Arc<Link>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match subscribe(&url).await {
            Ok(mut l) => {
                backoff = MIN_BACKOFF;
                tracing::info!(channel = CHANNEL, "listening for changes");
                link.set_online(true);
                changed.notify_one();
                loop {
                    match l.try_recv().await {
                        Ok(Some(_)) => changed.notify_one(),
                        Ok(None) => {
                            tracing::warn!("the LISTEN connection was lost");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the LISTEN connection failed");
                            break;
                        }
                    }
                }
                link.set_online(false);
            }
            Err(e) => {
                link.set_online(false);
                tracing::debug!(error = %e, retry_ms = backoff.as_millis() as u64, "cannot LISTEN");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
