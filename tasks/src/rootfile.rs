//! The FTP servers' per-user files: one root-owned 0644 file per gatehouse user in a directory
//! gatehouse owns (vsftpd's `user_config_dir`, ProFTPD's include directory).
//!
//! vsftpd refuses a per-user file it does not own, and ProFTPD's config is root's, so the helper
//! writes them: root-owned, 0644, replaced atomically (a temp file `.<file>.tmp` created with
//! `O_EXCL | O_NOFOLLOW`, synced, renamed over the old one), so a server never reads half a file.
//! The directory is created by the admin when setting the server up (the example fragments in
//! `packaging/ftp/`): until then nothing is written, so installing gatehouse on a host that
//! merely has an FTP server installed leaves `/etc` as it was.
//!
//! Refused whatever gatehoused asks: a name that is not a valid gatehouse name, or that is a
//! local account in `/etc/passwd` (a local user's FTP settings are not gatehouse's to change).
use super::{Created, Removed, TaskError};
use crate::local::LocalFiles;
use gatehouse_policy::model::validate_name;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Checks that `name` may have a generated file (`server` names the server in the refusal).
pub fn checked_name(name: &str, server: &str) -> Result<(), TaskError> {
    validate_name("name", name).map_err(|e| TaskError::Refused(e.to_string()))?;
    if LocalFiles::load().users.contains_key(name) {
        return Err(TaskError::Refused(format!("{name} is a local account; its {server} file is not gatehouse's")));
    }
    Ok(())
}

/// Writes `dir/file` with `text`. [`Created::Existed`] when the file already says exactly that
/// (nothing is written).
pub fn write(dir: &str, file: &str, text: &str) -> Result<Created, TaskError> {
    let path = Path::new(dir).join(file);
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Ok(Created::Existed);
    }
    if !Path::new(dir).is_dir() {
        return Err(TaskError::Refused(format!("{dir} does not exist; create it (0755 root) to use this FTP server")));
    }
    let tmp = Path::new(dir).join(format!(".{file}.tmp"));
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

/// Removes `dir/file` (never what a symlink there points to).
pub fn remove(dir: &str, file: &str) -> Result<Removed, TaskError> {
    let path = Path::new(dir).join(file);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Removed::Removed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removed::Absent),
        Err(e) => Err(TaskError::io("unlink", &path.display().to_string(), e)),
    }
}
