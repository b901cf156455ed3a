//! ProFTPD's per-user files: `<proftpd_config_dir>/<name>.conf` (a `DefaultRoot` and the
//! `<Directory>` blocks, see [`gatehouse_policy::proftpd`]), written as [`super::rootfile`] says,
//! and the reload that makes ProFTPD read them.
//!
//! The helper renders the text itself from the structured [`ProftpdUser`] gatehoused sends
//! ([`render`] checks every name and path), so gatehoused can never make it write a directive of
//! its choosing into root's FTP server config. The root must lie under the allowed prefixes.
//!
//! **Reload**: SIGHUP to the pid in `proftpd_pid_file`, which makes ProFTPD re-read its config
//! for new sessions (running sessions keep theirs). A signal needs nothing but CAP_KILL, works
//! the same with and without systemd (the tests have none), and does not need ProFTPD's control
//! socket (`ftpdctl`), which Debian ships disabled (`ControlsEngine off`). The pid is signalled
//! only if `/proc/PID/comm` says `proftpd`, so a stale pid file never hits another process.
use super::{rootfile, Created, Removed, TaskError};
use gatehouse_policy::config::Config;
use gatehouse_policy::ftp::FtpServer;
use gatehouse_policy::proftpd::{render, ProftpdUser};

/// The file name of `name`'s file ([`FtpServer::user_file_name`], which the account check reads
/// too).
pub fn file_name(name: &str) -> String {
    FtpServer::Proftpd.user_file_name(name)
}

/// Writes `user`'s file. [`Created::Existed`] when it already says exactly that.
pub fn write_user(cfg: &Config, user: &ProftpdUser) -> Result<Created, TaskError> {
    rootfile::checked_name(&user.name, "ProFTPD")?;
    cfg.check_root(&user.root).map_err(|e| TaskError::Refused(e.to_string()))?;
    let text = render(user).map_err(TaskError::Refused)?;
    rootfile::write(&cfg.proftpd_config_dir, &file_name(&user.name), &text)
}

/// Removes `name`'s file.
pub fn remove_user(cfg: &Config, name: &str) -> Result<Removed, TaskError> {
    rootfile::checked_name(name, "ProFTPD")?;
    rootfile::remove(&cfg.proftpd_config_dir, &file_name(name))
}

/// Sends ProFTPD SIGHUP. [`Removed::Absent`] when it is not running (no pid file, or its pid is
/// not a `proftpd` process): it reads the files when it starts.
pub fn reload(cfg: &Config) -> Result<Removed, TaskError> {
    let path = &cfg.proftpd_pid_file;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removed::Absent),
        Err(e) => return Err(TaskError::io("read", path, e)),
    };
    let pid: i32 = match text.trim().parse() {
        Ok(p) if p > 1 => p,
        _ => return Err(TaskError::Refused(format!("{path} does not hold a process id"))),
    };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim_end() != "proftpd" {
        return Ok(Removed::Absent);
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGHUP)
        .map_err(|e| TaskError::io("kill -HUP", &pid.to_string(), e))?;
    Ok(Removed::Removed)
}
