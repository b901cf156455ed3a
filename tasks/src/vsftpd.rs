//! vsftpd's per-user files: `<vsftpd_user_config_dir>/<name>` with `local_root` and
//! `write_enable` (text from [`user_file`]), written as
//! [`super::rootfile`] says. A root outside the allowed prefixes ([`Config::check_root`]) is
//! refused, whatever gatehoused asks.
use super::{rootfile, Created, Removed, TaskError};
use gatehouse_policy::config::Config;
use gatehouse_policy::ftp::FtpServer;

/// Writes `name`'s file (root `root`, write allowed or not). [`Created::Existed`] when the file
/// already says exactly that (nothing is written).
pub fn write_user(cfg: &Config, name: &str, root: &str, write: bool) -> Result<Created, TaskError> {
    rootfile::checked_name(name, "vsftpd")?;
    cfg.check_root(root).map_err(|e| TaskError::Refused(e.to_string()))?;
    rootfile::write(&cfg.vsftpd_user_config_dir, &FtpServer::Vsftpd.user_file_name(name), &user_file(root, write))
}

/// Removes `name`'s file.
pub fn remove_user(cfg: &Config, name: &str) -> Result<Removed, TaskError> {
    rootfile::checked_name(name, "vsftpd")?;
    rootfile::remove(&cfg.vsftpd_user_config_dir, &FtpServer::Vsftpd.user_file_name(name))
}

/// The text of a user's vsftpd file: their root and whether they may write. Which users get one
/// is `gatehouse_policy::ftp::vsftpd_entry`.
pub fn user_file(root: &str, write: bool) -> String {
    format!(
        "# Written by gatehouse-tasks; changes are overwritten.\nlocal_root={root}\nwrite_enable={}\n",
        if write { "YES" } else { "NO" }
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn files() {
        let f = super::user_file("/srv/g/a b", true);
        assert!(f.contains("\nlocal_root=/srv/g/a b\nwrite_enable=YES\n"), "{f}");
        assert!(super::user_file("/x/y", false).ends_with("write_enable=NO\n"));
    }
}
