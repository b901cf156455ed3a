//! vsftpd's per-user files: `<vsftpd_user_config_dir>/<name>` with `local_root` and
//! `write_enable` (text from [`gatehouse_policy::ftp::vsftpd_user_file`]).
//!
//! vsftpd refuses a per-user file it does not own ("config file not owned by correct user"), so
//! the helper writes them: root-owned, 0644, replaced atomically (a temp file `.<name>.tmp`
//! created with `O_EXCL | O_NOFOLLOW`, synced, renamed over the old one), so vsftpd never reads
//! half a file. The directory belongs to gatehouse, but the admin creates it when setting vsftpd
//! up (`packaging/ftp/vsftpd.conf.fragment`): until then nothing is written, so installing
//! gatehouse on a host that merely has vsftpd installed leaves `/etc` as it was.
//!
//! Refused: a name that is not a valid gatehouse name or that is a local account in
//! `/etc/passwd` (a local user's vsftpd settings are not gatehouse's to change), and a root
//! outside the allowed prefixes ([`Config::check_root`]), whatever gatehoused asks.
use super::{Created, Removed, TaskError};
use crate::store::LocalFiles;
use gatehouse_policy::config::Config;
use gatehouse_policy::ftp::vsftpd_user_file;
use gatehouse_policy::model::validate_name;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn checked_path(cfg: &Config, name: &str) -> Result<PathBuf, TaskError> {
    validate_name("name", name).map_err(|e| TaskError::Refused(e.to_string()))?;
    if LocalFiles::load().users.contains_key(name) {
        return Err(TaskError::Refused(format!("{name} is a local account; its vsftpd file is not gatehouse's")));
    }
    Ok(Path::new(&cfg.vsftpd_user_config_dir).join(name))
}

/// Writes `name`'s file (root `root`, write allowed or not). [`Created::Existed`] when the file
/// already says exactly that (nothing is written).
pub fn write_user(cfg: &Config, name: &str, root: &str, write: bool) -> Result<Created, TaskError> {
    let path = checked_path(cfg, name)?;
    cfg.check_root(root).map_err(|e| TaskError::Refused(e.to_string()))?;
    let text = vsftpd_user_file(root, write);
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Ok(Created::Existed);
    }
    let dir = &cfg.vsftpd_user_config_dir;
    if !Path::new(dir).is_dir() {
        return Err(TaskError::Refused(format!("{dir} does not exist; create it (0755 root) to use vsftpd")));
    }
    let tmp = Path::new(dir).join(format!(".{name}.tmp"));
    let tmp_s = tmp.display().to_string();
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(TaskError::io("unlink", &tmp_s, e)),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&tmp)
        .map_err(|e| TaskError::io("create", &tmp_s, e))?;
    let done = f
        .write_all(text.as_bytes())
        .and_then(|()| f.set_permissions(std::fs::Permissions::from_mode(0o644)))
        .and_then(|()| std::os::unix::fs::fchown(&f, Some(0), Some(0)))
        .and_then(|()| f.sync_all());
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(TaskError::io("write", &tmp_s, e));
    }
    std::fs::rename(&tmp, &path).map_err(|e| TaskError::io("rename", &path.display().to_string(), e))?;
    Ok(Created::Created)
}

/// Removes `name`'s file (never what a symlink there points to).
pub fn remove_user(cfg: &Config, name: &str) -> Result<Removed, TaskError> {
    let path = checked_path(cfg, name)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Removed::Removed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removed::Absent),
        Err(e) => Err(TaskError::io("unlink", &path.display().to_string(), e)),
    }
}
