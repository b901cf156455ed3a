//! The FTP server keys (`ftp_servers`, `vsftpd_user_config_dir`, `proftpd_config_dir`,
//! `proftpd_pid_file`), the servers gatehouse knows ([`FtpServer`]) and whether their per-user
//! files are kept ([`FtpFiles`]). What a server can enforce for a user is [`crate::ftp`]'s
//! decision (`FtpServer::limits`), made there.
use super::Config;

/// Default of `vsftpd_user_config_dir`.
pub const VSFTPD_USER_CONFIG_DIR: &str = "/etc/vsftpd/gatehouse";
/// Default of `proftpd_config_dir`.
pub const PROFTPD_CONFIG_DIR: &str = "/etc/proftpd/gatehouse";
/// Default of `proftpd_pid_file` (Debian's `PidFile`).
pub const PROFTPD_PID_FILE: &str = "/run/proftpd.pid";

/// The FTP servers gatehouse knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpServer {
    /// vsftpd: a root, read-only or full write (per-user files in `user_config_dir`).
    Vsftpd,
    /// ProFTPD: the full rule set, as far as its config can express it (`crate::proftpd`).
    Proftpd,
}

impl FtpServer {
    /// The server behind a PAM service name, for the names the servers use by default
    /// (`pam_service_name=vsftpd`, ProFTPD's `AuthPAMConfig proftpd`). `None` for any other
    /// service, `ftp` included: it says which protocol, not which server.
    pub fn for_service(service: &str) -> Option<FtpServer> {
        match service {
            "vsftpd" => Some(FtpServer::Vsftpd),
            "proftpd" => Some(FtpServer::Proftpd),
            _ => None,
        }
    }

    /// The name used in `ftp_servers` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            FtpServer::Vsftpd => "vsftpd",
            FtpServer::Proftpd => "proftpd",
        }
    }

    /// The directory gatehouse-tasks keeps this server's per-user files in.
    pub fn config_dir(self, cfg: &Config) -> &str {
        match self {
            FtpServer::Vsftpd => &cfg.vsftpd_user_config_dir,
            FtpServer::Proftpd => &cfg.proftpd_config_dir,
        }
    }

    /// Every server, in a fixed order.
    pub const ALL: [FtpServer; 2] = [FtpServer::Vsftpd, FtpServer::Proftpd];

    /// The binary whose presence means the server is installed (the `ftp_servers` default).
    pub fn binary(self) -> &'static str {
        match self {
            FtpServer::Vsftpd => "/usr/sbin/vsftpd",
            FtpServer::Proftpd => "/usr/sbin/proftpd",
        }
    }

    /// The name of a user's file in [`FtpServer::config_dir`]: vsftpd reads `<name>`
    /// (`user_config_dir`), ProFTPD includes `*.conf`.
    pub fn user_file_name(self, name: &str) -> String {
        match self {
            FtpServer::Vsftpd => name.to_string(),
            FtpServer::Proftpd => format!("{name}.conf"),
        }
    }
}

/// Whether gatehouse keeps a server's per-user files at this moment
/// ([`Config::ftp_files`]). Decided again at every pass of gatehoused's hook and
/// by its watch of the directories, because the server and its directory are usually set up
/// after gatehouse is installed (the README's order), and a user with no file would get the
/// server's default (for vsftpd: logged in, chrooted to the shared home).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpFiles {
    /// Not generated: the server is not installed and `ftp_servers` does not name it (or
    /// `ftp_servers` names others only).
    Off,
    /// Wanted, but the directory does not exist yet (the admin creates it with the server's
    /// config); nothing is written until it does.
    NoDir,
    /// Wanted and the directory exists: the files are kept in step with the database.
    Kept,
}

impl Config {
    /// Should configs for `server` be generated? Yes when `ftp_servers` names it, or when
    /// `ftp_servers` is empty and the server is `installed` (the caller looks for its binary).
    pub fn generates_for(&self, server: FtpServer, installed: bool) -> bool {
        if self.ftp_servers.is_empty() {
            installed
        } else {
            self.ftp_servers.iter().any(|s| s == server.name())
        }
    }

    /// Are `server`'s per-user files kept right now ([`FtpFiles`])? `installed`: its binary
    /// exists; `dir_present`: its [`FtpServer::config_dir`] exists. The one decision behind the
    /// hook's passes, its directory watch and the account check's denial reason.
    pub fn ftp_files(&self, server: FtpServer, installed: bool, dir_present: bool) -> FtpFiles {
        if !self.generates_for(server, installed) {
            FtpFiles::Off
        } else if !dir_present {
            FtpFiles::NoDir
        } else {
            FtpFiles::Kept
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ftp_servers_default_to_the_installed_ones() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.vsftpd_user_config_dir, "/etc/vsftpd/gatehouse");
        assert_eq!(
            (c.proftpd_config_dir.as_str(), c.proftpd_pid_file.as_str()),
            ("/etc/proftpd/gatehouse", "/run/proftpd.pid")
        );
        assert!(c.generates_for(FtpServer::Vsftpd, true));
        assert!(!c.generates_for(FtpServer::Vsftpd, false));
        let c = Config::parse("ftp_servers = [\"proftpd\"]").unwrap();
        assert!(!c.generates_for(FtpServer::Vsftpd, true));
        assert!(c.generates_for(FtpServer::Proftpd, false));
    }

    #[test]
    fn ftp_files_are_kept_only_when_wanted_and_the_directory_exists() {
        let auto = Config::parse("").unwrap();
        let named = Config::parse("ftp_servers = [\"vsftpd\"]").unwrap();
        // (config, installed, dir present, vsftpd, proftpd)
        let cases = [
            (&auto, false, false, FtpFiles::Off, FtpFiles::Off),
            (&auto, false, true, FtpFiles::Off, FtpFiles::Off),
            (&auto, true, false, FtpFiles::NoDir, FtpFiles::NoDir),
            (&auto, true, true, FtpFiles::Kept, FtpFiles::Kept),
            (&named, false, false, FtpFiles::NoDir, FtpFiles::Off),
            (&named, false, true, FtpFiles::Kept, FtpFiles::Off),
            (&named, true, true, FtpFiles::Kept, FtpFiles::Off),
        ];
        for (c, installed, dir, v, p) in cases {
            assert_eq!(c.ftp_files(FtpServer::Vsftpd, installed, dir), v, "{:?} {installed} {dir}", c.ftp_servers);
            assert_eq!(c.ftp_files(FtpServer::Proftpd, installed, dir), p, "{:?} {installed} {dir}", c.ftp_servers);
        }
    }
}
