//! gatehoused: the daemon behind pam_gatehouse.so and gatehouse-keys.
//!
//! Reads `GATEHOUSE_CONFIG` or `/etc/gatehouse/gatehouse.toml`, opens the database (refusing a
//! schema that is not current), binds the fixed socket `/run/gatehouse/socket` (directory 0755,
//! socket 0666: who may ask what is decided per request by `SO_PEERCRED`, not by file modes),
//! tells systemd it is ready (`Type=notify`), and serves until SIGTERM or SIGINT. SIGHUP
//! re-reads and checks the config and logs the result; settings take effect at the next start.
//! Logs go to stderr, which systemd sends to the journal.
#![forbid(unsafe_code)]

use gatehouse_policy::config::{CACHE_PATH, SOCKET_PATH, SYNC_STATUS_PATH, TASKS_SOCKET_PATH};
use gatehouse_server::daemon::offline::{self, Offline};
use gatehouse_server::daemon::watch::Link;
use gatehouse_server::daemon::{exporter, serve_with, DaemonConfig};
use gatehouse_server::store::{Backend, Store, StoreError};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// Binds the fixed socket path: creates its directory (0755) if needed, replaces a stale socket
/// (never another kind of file), and makes the socket 0666.
fn bind_socket(path: &str) -> Result<tokio::net::UnixListener, String> {
    let listener = gatehouse_server::service::bind_socket(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| format!("cannot chmod {path}: {e}"))?;
    Ok(listener)
}

/// Opens the database, refusing a schema that is not current. On PostgreSQL also opens the
/// offline cache ([`CACHE_PATH`]); if the server is unreachable at start, the daemon starts
/// from the cache alone (as long as there is one) and catches up once the server answers.
async fn open_database(cfg: gatehouse_policy::config::Config) -> Result<Arc<Offline>, String> {
    let max_staleness = gatehouse_policy::config::parse_duration("fleet.max_staleness", &cfg.fleet.max_staleness)
        .map_err(|e| e.to_string())?;
    let store = match Store::open_for_daemon(cfg.clone()).await {
        Ok(s) => s,
        Err(StoreError::NotMigrated(why)) => {
            return Err(format!("the database is not ready ({why}); run `gatehouse db migrate` first"))
        }
        Err(e) => return Err(format!("cannot open the database: {e}")),
    };
    if store.backend() == Backend::Sqlite {
        store.ensure_current().await.map_err(|e| format!("refusing to start: {e}"))?;
        return Ok(Arc::new(Offline::direct(store)));
    }
    let cache = Store::open_cache(&cfg, CACHE_PATH)
        .await
        .map_err(|e| format!("cannot open the offline cache {CACHE_PATH}: {e}"))?;
    let link = Arc::new(Link::default());
    let db = Offline::with_cache(store.clone(), cache, link.clone(), max_staleness).await;
    match store.ensure_current().await {
        Ok(()) => {}
        Err(e) if e.is_unreachable() && db.cache_synced_at().is_some() => {
            tracing::warn!(error = %e, "starting from the offline cache");
            link.set_online(false);
        }
        Err(e) => return Err(format!("refusing to start: {e}")),
    }
    Ok(Arc::new(db))
}

async fn run() -> Result<(), String> {
    let path = gatehouse_server::service::config_path();
    let cfg = gatehouse_server::service::load_config(&path)?;
    let (dcfg, warnings) = DaemonConfig::from_config(&cfg)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let db = open_database(cfg).await?;
    let store = db.primary.clone();
    let listener = bind_socket(SOCKET_PATH)?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("cannot handle SIGHUP: {e}"))?;
    let shutdown = async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => match gatehouse_server::service::load_config(&path).and_then(|c| DaemonConfig::from_config(&c).map(|_| ())) {
                    Ok(()) => tracing::info!(config = %path, "SIGHUP: the config is valid; restart gatehoused to apply changes"),
                    Err(e) => tracing::error!(config = %path, error = %e, "SIGHUP: the config is invalid"),
                },
            }
        }
        tracing::info!("stopping");
    };
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }
    tracing::info!(socket = SOCKET_PATH, "ready");
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let snapshot = std::path::PathBuf::from(gatehouse_policy::config::SNAPSHOT_PATH);
    // The FTP servers' per-user files: decided at every pass and watched while running
    // (`ftp_servers` or the installed servers, and their directory present), not only now.
    let roots = gatehouse_server::tasks::hook::RootHook::new(TASKS_SOCKET_PATH).with_ftp_servers(store.config());
    let exporter = tokio::spawn(exporter::run_with(
        store.clone(),
        snapshot,
        dcfg.changed.clone(),
        stop.clone(),
        exporter::Options { roots: Some(roots), db: Some(db.clone()) },
    ));
    let status = tokio::spawn(offline::publish_status(db.clone(), SYNC_STATUS_PATH.into()));
    serve_with(db, dcfg, listener, shutdown).await;
    status.abort();
    let _ = std::fs::remove_file(SYNC_STATUS_PATH);
    stop.notify_one();
    let _ = exporter.await;
    let _ = std::fs::remove_file(SOCKET_PATH);
    store.close().await;
    Ok(())
}

fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_target(false).init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehoused: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run()) {
        tracing::error!("{e}");
        std::process::exit(1);
    }
}
