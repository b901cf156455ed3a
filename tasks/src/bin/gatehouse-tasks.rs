//! gatehouse-tasks: the root helper that creates users' roots (and removes them) and writes
//! vsftpd's per-user files, on gatehoused's request.
//!
//! Runs as root and refuses to start otherwise. Reads `GATEHOUSE_CONFIG` or
//! `/etc/gatehouse/gatehouse.toml` once, for the allowed prefixes (`home_base`,
//! `root_prefixes`). Binds `/run/gatehouse/tasks.socket`: 0660 root:gatehouse when the group
//! `gatehouse` exists, else 0600 root:root. Whatever the mode, every connection's caller is
//! checked with `SO_PEERCRED`: only root and the `gatehouse` user may ask. One request per
//! connection; one log line per request (stderr, so the journal). SIGTERM or SIGINT stops it.
//!
//! It needs only CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE (and CAP_KILL for the FTP reloads to
//! come) and no network: the systemd unit (packaging issue) sets `CapabilityBoundingSet=`,
//! `RestrictAddressFamilies=AF_UNIX` and friends. Nothing here depends on more.
#![forbid(unsafe_code)]

use gatehouse_policy::config::{Config, DAEMON_USER, TASKS_SOCKET_PATH};
use gatehouse_tasks::proto::{serve_one, Request, Response};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// How long a caller may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests carried out at once; further connections wait for a slot.
const MAX_BUSY: usize = 4;

fn load_config() -> Result<Config, String> {
    gatehouse_tasks::service::load_config(&gatehouse_tasks::service::config_path())
}

/// Binds the socket, replacing a stale socket (never another kind of file), and sets its owner
/// and mode.
fn bind_socket(path: &str) -> Result<tokio::net::UnixListener, String> {
    let p = Path::new(path);
    let listener = gatehouse_tasks::service::bind_socket(path)?;
    let group = nix::unistd::Group::from_name(DAEMON_USER).ok().flatten().map(|g| g.gid.as_raw());
    let mode = match group {
        Some(gid) => {
            std::os::unix::fs::chown(p, Some(0), Some(gid)).map_err(|e| format!("cannot chown {path}: {e}"))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {path}: {e}"))?;
    Ok(listener)
}

/// The log line for one request.
fn log(peer: u32, req: Option<&Request>, resp: &Response) {
    let (op, root) = req.map_or(("-", "-"), Request::describe);
    match resp {
        Response::Refused { reason } => tracing::warn!(caller_uid = peer, op, root, reason = %reason, "refused"),
        Response::Failed { reason } => tracing::error!(caller_uid = peer, op, root, reason = %reason, "failed"),
        other => tracing::info!(caller_uid = peer, op, root, result = ?other, "done"),
    }
}

async fn connection(cfg: Arc<Config>, stream: tokio::net::UnixStream, gatehouse_uid: Option<u32>) {
    let peer = match stream.peer_cred() {
        Ok(c) => c.uid(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the caller's credentials; closing");
            return;
        }
    };
    let mut std_stream = match stream.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take over the connection");
            return;
        }
    };
    let setup = std_stream
        .set_nonblocking(false)
        .and_then(|()| std_stream.set_read_timeout(Some(IO_TIMEOUT)))
        .and_then(|()| std_stream.set_write_timeout(Some(IO_TIMEOUT)));
    if let Err(e) = setup {
        tracing::warn!(error = %e, "cannot configure the connection");
        return;
    }
    let job = tokio::task::spawn_blocking(move || serve_one(&cfg, &mut std_stream, peer, gatehouse_uid));
    match job.await {
        Ok(Ok((req, resp))) => log(peer, req.as_ref(), &resp),
        Ok(Err(e)) => tracing::warn!(caller_uid = peer, error = %e, "bad connection"),
        Err(e) => tracing::error!(caller_uid = peer, error = %e, "request handler failed"),
    }
}

async fn run() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("gatehouse-tasks must run as root".into());
    }
    let cfg = Arc::new(load_config()?);
    let gatehouse_uid = nix::unistd::User::from_name(DAEMON_USER).ok().flatten().map(|u| u.uid.as_raw());
    if gatehouse_uid.is_none() {
        tracing::warn!(user = DAEMON_USER, "the daemon user does not exist; only root may send requests");
    }
    let listener = bind_socket(TASKS_SOCKET_PATH)?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let busy = Arc::new(tokio::sync::Semaphore::new(MAX_BUSY));
    let prefixes: Vec<&str> = cfg.prefixes().collect();
    tracing::info!(socket = TASKS_SOCKET_PATH, prefixes = %prefixes.join(","), "ready");
    // Type=notify: systemd starts gatehoused (ordered after this unit) only once the socket is
    // there. Without systemd (no NOTIFY_SOCKET) this does nothing.
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let Ok(permit) = busy.clone().acquire_owned().await else { break };
                    let cfg = cfg.clone();
                    tokio::spawn(async move {
                        connection(cfg, stream, gatehouse_uid).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    tracing::info!("stopping");
    let _ = std::fs::remove_file(TASKS_SOCKET_PATH);
    Ok(())
}

fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_target(false).init();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehouse-tasks: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run()) {
        tracing::error!("{e}");
        std::process::exit(1);
    }
}
