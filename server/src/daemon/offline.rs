//! Serving from the offline cache while PostgreSQL is unreachable, and catching up afterwards.
//!
//! One decision point, [`Offline::reader`]: while the [`Link`] says the database answers, every
//! read goes to it; when it does not, reads go to the cache, as long as the cache is younger
//! than `[fleet] max_staleness`, and are refused as unavailable after that (a host must not
//! serve a user deleted a month ago). The cache is a [`Store`] with the same schema, so the
//! handlers run the same code against either.
//!
//! Login-state updates ([`LoginEvent`]: failures, cleared failures, last login, the TOTP replay
//! guard) always go to the database when it answers. When it does not, they are applied to the
//! cache (lockout keeps working on this host) and queued in it (persistent, so a restart loses
//! nothing); [`Offline::flush`] replays the queue in order, with the original times, as soon as
//! the database answers again, before the cache is next refreshed. Every other write (a
//! password change, redeeming an invitation) needs the database and is answered unavailable.
use super::watch::Link;
use super::Lockout;
use crate::store::login::FailureOutcome;
use crate::store::{now, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A login-state update, as queued while the database is unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoginEvent {
    /// A wrong password at `at`, counted under the lockout settings of the time.
    Failure {
        /// The user's UUID.
        user_id: String,
        /// Unix seconds.
        at: i64,
        /// `[lockout]` in seconds.
        window: u64,
        /// `[lockout] failures`.
        failures: u32,
        /// `[lockout] lock_for` in seconds.
        lock_for: u64,
    },
    /// A correct password: failures forgotten.
    Cleared {
        /// The user's UUID.
        user_id: String,
    },
    /// A granted login at `at` from `ip`.
    Success {
        /// The user's UUID.
        user_id: String,
        /// Unix seconds.
        at: i64,
        /// The client address, if known.
        ip: Option<String>,
    },
    /// A TOTP step accepted (the replay guard).
    TotpStep {
        /// The user's UUID.
        user_id: String,
        /// The accepted step.
        step: i64,
    },
}

/// What applying a [`LoginEvent`] said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A failure was counted.
    Failure(FailureOutcome),
    /// A TOTP step was (true) or was not (false: already used) accepted.
    Step(bool),
    /// Done.
    Done,
}

impl LoginEvent {
    /// A failure now, under `lockout`.
    pub fn failure(user_id: &str, lockout: &Lockout) -> LoginEvent {
        LoginEvent::Failure {
            user_id: user_id.to_string(),
            at: now(),
            window: lockout.window,
            failures: lockout.failures,
            lock_for: lockout.lock_for,
        }
    }

    /// Applies the update to `store`.
    pub async fn apply(&self, store: &Store) -> Result<Applied, StoreError> {
        Ok(match self {
            LoginEvent::Failure { user_id, at, window, failures, lock_for } => {
                Applied::Failure(store.record_failure(user_id, *at, *window, *failures, *lock_for).await?)
            }
            LoginEvent::Cleared { user_id } => {
                store.clear_failures(user_id).await?;
                Applied::Done
            }
            LoginEvent::Success { user_id, at, ip } => {
                store.record_success(user_id, *at, ip.as_deref()).await?;
                Applied::Done
            }
            LoginEvent::TotpStep { user_id, step } => Applied::Step(store.totp_accept_step(user_id, *step).await?),
        })
    }
}

/// What gatehoused publishes at [`SYNC_STATUS_PATH`](gatehouse_policy::config::SYNC_STATUS_PATH)
/// for `gatehouse status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Whether the database answers.
    pub online: bool,
    /// Since when (Unix seconds).
    pub since: i64,
    /// The last snapshot export from the database (Unix seconds), if any since start.
    pub last_sync: Option<i64>,
    /// The last refresh of the offline cache (Unix seconds), if there is a cache.
    pub cache_synced_at: Option<i64>,
    /// `[fleet] max_staleness` in seconds.
    pub max_staleness: u64,
    /// Login-state updates waiting for the database.
    pub queued: usize,
}

/// How often gatehoused rewrites the status file (only when something changed).
pub const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes `db`'s [`SyncStatus`] to `path` (0644, replaced atomically) whenever it changes.
/// Runs until aborted.
pub async fn publish_status(db: Arc<Offline>, path: std::path::PathBuf) {
    let mut last = None;
    loop {
        let st = db.status().await;
        if last.as_ref() != Some(&st) {
            match serde_json::to_vec(&st) {
                Ok(bytes) => {
                    let p = path.clone();
                    let written = tokio::task::spawn_blocking(move || write_atomically(&p, &bytes)).await;
                    if let Ok(Err(e)) = written {
                        tracing::debug!(error = %e, path = %path.display(), "cannot write the status file");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot encode the status"),
            }
            last = Some(st);
        }
        tokio::time::sleep(STATUS_EVERY).await;
    }
}

/// Writes `bytes` to a temp file beside `path` (0644) and renames it over `path`.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(&tmp)?;
    f.write_all(bytes)?;
    std::fs::rename(&tmp, path)
}

/// The primary database, the cache beside it (PostgreSQL hosts only), and the connection state.
pub struct Offline {
    /// The database every host shares.
    pub primary: Store,
    /// This host's copy, if the backend is PostgreSQL.
    pub cache: Option<Store>,
    /// Whether the primary answers (kept by the watcher, the exporter and the handlers).
    pub link: Arc<Link>,
    /// `[fleet] max_staleness` in seconds.
    pub max_staleness: u64,
    /// When the cache was last refreshed (Unix seconds; 0: never).
    synced_at: AtomicI64,
}

impl std::fmt::Debug for Offline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offline")
            .field("cache", &self.cache.is_some())
            .field("online", &self.link.online())
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

impl Offline {
    /// Without a cache (SQLite, tests): every read and write goes to `primary`.
    pub fn direct(primary: Store) -> Offline {
        Offline { primary, cache: None, link: Arc::default(), max_staleness: 0, synced_at: AtomicI64::new(0) }
    }

    /// With the cache at `cache` (already opened); reads its last sync time.
    pub async fn with_cache(primary: Store, cache: Store, link: Arc<Link>, max_staleness: u64) -> Offline {
        let synced = cache.synced_at().await.ok().flatten().unwrap_or(0);
        Offline { primary, cache: Some(cache), link, max_staleness, synced_at: AtomicI64::new(synced) }
    }

    /// The state `gatehouse status` shows.
    pub async fn status(&self) -> SyncStatus {
        let queued = match &self.cache {
            Some(c) => c.queued_count().await.unwrap_or(0),
            None => 0,
        };
        SyncStatus {
            backend: match self.primary.backend() {
                crate::store::Backend::Sqlite => "sqlite".into(),
                crate::store::Backend::Postgres => "postgres".into(),
            },
            online: self.link.online(),
            since: self.link.since(),
            last_sync: self.link.last_sync(),
            cache_synced_at: self.cache_synced_at(),
            max_staleness: self.max_staleness,
            queued,
        }
    }

    /// When the cache was last refreshed, if ever.
    pub fn cache_synced_at(&self) -> Option<i64> {
        Some(self.synced_at.load(Ordering::SeqCst)).filter(|&t| t > 0)
    }

    /// The store to read from now, or why there is none.
    pub fn reader(&self) -> Result<&Store, StoreError> {
        match &self.cache {
            Some(cache) if !self.link.online() => {
                let age = self.cache_synced_at().map(|t| now().saturating_sub(t));
                match age {
                    Some(a) if a <= i64::try_from(self.max_staleness).unwrap_or(i64::MAX) => Ok(cache),
                    Some(a) => Err(StoreError::Unreachable(format!(
                        "the database is unreachable and the offline cache is {a}s old, older than \
                         [fleet] max_staleness ({}s)",
                        self.max_staleness
                    ))),
                    None => Err(StoreError::Unreachable(
                        "the database is unreachable and there is no offline cache yet".into(),
                    )),
                }
            }
            _ => Ok(&self.primary),
        }
    }

    /// True if `e` says the primary is down and a cache could take over: marks the link down.
    pub fn failed_over(&self, e: &StoreError) -> bool {
        if e.is_unreachable() && self.cache.is_some() && self.link.online() {
            self.link.set_online(false);
            true
        } else {
            false
        }
    }

    /// Runs a read against [`Offline::reader`], once more against the cache if the primary
    /// turns out to be down.
    pub async fn read<'a, T, F, Fut>(&'a self, f: F) -> Result<T, StoreError>
    where
        F: Fn(&'a Store) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + 'a,
    {
        match f(self.reader()?).await {
            Err(e) if self.failed_over(&e) => f(self.reader()?).await,
            other => other,
        }
    }

    /// Writes a login-state update: to the primary when it answers, else to the cache and its
    /// queue.
    pub async fn record(&self, ev: LoginEvent) -> Result<Applied, StoreError> {
        if self.cache.is_none() || self.link.online() {
            match ev.apply(&self.primary).await {
                Err(e) if self.failed_over(&e) => {}
                other => return other,
            }
        }
        let Some(cache) = &self.cache else {
            return Err(StoreError::Unreachable("the database is unreachable".into()));
        };
        let applied = ev.apply(cache).await?;
        let text = serde_json::to_string(&ev).map_err(|e| StoreError::Io(e.to_string()))?;
        cache.enqueue(&text).await?;
        Ok(applied)
    }

    /// Replays the queued updates against the primary, oldest first. Stops at the first one
    /// the primary cannot take because it is down (the rest stay queued); an update the primary
    /// refuses for good (its user was deleted meanwhile) is logged and dropped. Returns how
    /// many reached the primary.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let Some(cache) = &self.cache else { return Ok(0) };
        let mut done = 0;
        for (seq, text) in cache.queued().await? {
            match serde_json::from_str::<LoginEvent>(&text) {
                Ok(ev) => match ev.apply(&self.primary).await {
                    Ok(_) => done += 1,
                    Err(e) if e.is_unreachable() => return Err(e),
                    Err(e) => {
                        tracing::warn!(event = %text, error = %e, "queued login state dropped: the database refuses it")
                    }
                },
                Err(e) => tracing::warn!(event = %text, error = %e, "queued login state dropped: unreadable"),
            }
            cache.dequeue(seq).await?;
        }
        if done > 0 {
            tracing::info!(updates = done, "queued login state written to the database");
        }
        Ok(done)
    }

    /// Flushes the queue, then copies the primary into the cache. Logs the outcome.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let Some(cache) = &self.cache else { return Ok(()) };
        self.flush().await?;
        let t = std::time::Instant::now();
        let at = now();
        let rows = self.primary.copy_into(cache, at).await?;
        self.synced_at.store(at, Ordering::SeqCst);
        tracing::debug!(rows, ms = t.elapsed().as_millis() as u64, "offline cache refreshed");
        Ok(())
    }
}
