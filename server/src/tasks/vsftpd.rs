//! vsftpd's per-user files: `<vsftpd_user_config_dir>/<name>` with `local_root` and
//! `write_enable` (text from [`gatehouse_policy::ftp::vsftpd_user_file`]), written as
//! [`super::rootfile`] says. A root outside the allowed prefixes ([`Config::check_root`]) is
//! refused, whatever gatehoused asks.
use super::{rootfile, Created, Removed, TaskError};
use gatehouse_policy::config::Config;
use gatehouse_policy::ftp::{vsftpd_user_file, FtpServer};

/// Writes `name`'s file (root `root`, write allowed or not). [`Created::Existed`] when the file
/// already says exactly that (nothing is written).
pub fn write_user(cfg: &Config, name: &str, root: &str, write: bool) -> Result<Created, TaskError> {
    rootfile::checked_name(name, "vsftpd")?;
    cfg.check_root(root).map_err(|e| TaskError::Refused(e.to_string()))?;
    rootfile::write(
        &cfg.vsftpd_user_config_dir,
        &FtpServer::Vsftpd.user_file_name(name),
        &vsftpd_user_file(root, write),
    )
}

/// Removes `name`'s file.
pub fn remove_user(cfg: &Config, name: &str) -> Result<Removed, TaskError> {
    rootfile::checked_name(name, "vsftpd")?;
    rootfile::remove(&cfg.vsftpd_user_config_dir, &FtpServer::Vsftpd.user_file_name(name))
}
