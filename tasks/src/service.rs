//! What the `gatehouse` CLI, `gatehoused` and `gatehouse-tasks` share at start-up: finding and
//! reading the config file, and binding a Unix socket at a fixed path.
use gatehouse_policy::config::{Config, CONFIG_PATH};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
use std::path::Path;

/// The config file: `GATEHOUSE_CONFIG` if set (these programs are started by root or an admin,
/// who gains nothing from it; the modules and helpers never read it), else the fixed path.
pub fn config_path() -> String {
    std::env::var("GATEHOUSE_CONFIG").unwrap_or_else(|_| CONFIG_PATH.to_string())
}

/// Reads and validates the config at `path`; a missing file means the defaults. An empty
/// `[fleet] host` becomes the kernel's host name.
pub fn load_config(path: &str) -> Result<Config, String> {
    let mut cfg = match std::fs::read_to_string(path) {
        Ok(text) => Config::parse(&text).map_err(|e| format!("{path}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
        Err(e) => return Err(format!("cannot read {path}: {e}")),
    };
    if cfg.fleet.host.is_empty() {
        cfg.fleet.host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    }
    Ok(cfg)
}

/// Binds a listening socket at `path`: creates its directory (0755) if needed and replaces a
/// stale socket, but never another kind of file. The caller sets the socket's owner and mode.
pub fn bind_socket(path: &str) -> Result<tokio::net::UnixListener, String> {
    let p = Path::new(path);
    if let Some(dir) = p.parent() {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_socket() => {
            std::fs::remove_file(p).map_err(|e| format!("cannot remove the stale socket {path}: {e}"))?;
        }
        Ok(_) => return Err(format!("{path} exists and is not a socket; remove it")),
        Err(_) => {}
    }
    tokio::net::UnixListener::bind(p).map_err(|e| format!("cannot listen on {path}: {e}"))
}
