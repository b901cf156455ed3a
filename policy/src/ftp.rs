//! What an FTP server can enforce for a user, and which users get a per-user file (the files'
//! text is rendered by gatehouse-tasks: `gatehouse_tasks::vsftpd::user_file`).
//!
//! vsftpd can express a root (`local_root`), read-only (`write_enable=NO`) and full write, and
//! nothing finer: no per-path rules, no drop box, no no-delete (`cmds_denied=DELE` still lets
//! STOR overwrite) and no upload size cap. Nothing may be silently weaker over FTP than over SFTP,
//! so a user who needs more gets no vsftpd file and is refused at the PAM account check of the
//! `vsftpd` service. [`vsftpd_limits`] is that one decision; the daemon's account handler,
//! `gatehouse check` and the config generator all call it.
use crate::access::effective_protocols;
use crate::model::{Group, User};
use crate::rules::Mode;

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
    pub fn config_dir(self, cfg: &crate::config::Config) -> &str {
        match self {
            FtpServer::Vsftpd => &cfg.vsftpd_user_config_dir,
            FtpServer::Proftpd => &cfg.proftpd_config_dir,
        }
    }

    /// Can this server enforce everything the user's policy says? `Err` names what it cannot
    /// ([`vsftpd_limits`], [`crate::proftpd::proftpd_limits`]).
    pub fn limits(self, user: &User, groups: &[Group]) -> Result<(), String> {
        match self {
            FtpServer::Vsftpd => vsftpd_limits(user, groups),
            FtpServer::Proftpd => crate::proftpd::proftpd_limits(user, groups),
        }
    }

    /// What the server enforces for a user it can serve, for `gatehouse check`.
    pub fn enforces(self) -> &'static str {
        match self {
            FtpServer::Vsftpd => "vsftpd enforces this user's root and mode",
            FtpServer::Proftpd => "ProFTPD enforces this user's root and every rule",
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
/// ([`crate::config::Config::ftp_files`]). Decided again at every pass of gatehoused's hook and
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

/// Can vsftpd enforce everything this user's policy says? `Err` names what it cannot, in the
/// words the account log line and `gatehouse check` show.
///
/// Refused: any rule of the user or of one of their groups (even one that would be uniform: the
/// check stays simple and errs on the side of refusing), and, for mode `rw` only, no-delete
/// (`delete_allowed=false`) or an upload cap (`max_file_size`). A mode `r` user never writes, so
/// those two change nothing for them.
pub fn vsftpd_limits(user: &User, groups: &[Group]) -> Result<(), String> {
    let mut what = Vec::new();
    let ruled: Vec<String> = std::iter::once((!user.rules.is_empty()).then(|| "the user's".to_string()))
        .chain(groups.iter().map(|g| (!g.rules.is_empty()).then(|| format!("group {}'s", g.name))))
        .flatten()
        .collect();
    if !ruled.is_empty() {
        what.push(format!("per-folder rules ({})", ruled.join(", ")));
    }
    if user.mode == Mode::Rw && !user.delete_allowed {
        what.push("no-delete (delete_allowed=false)".to_string());
    }
    if let (Mode::Rw, Some(n)) = (user.mode, user.max_file_size) {
        what.push(format!("an upload size cap (max_file_size={n})"));
    }
    if what.is_empty() {
        Ok(())
    } else {
        Err(format!("vsftpd cannot enforce {}; use SFTP (or ProFTPD)", what.join(", ")))
    }
}

/// The vsftpd file a user should have: `Some((root, write))` for a user allowed `ftp` (their
/// own or through a group) whom vsftpd can serve ([`vsftpd_limits`]); `None` otherwise (no file,
/// and the account check refuses them on vsftpd).
pub fn vsftpd_entry<'a>(user: &'a User, groups: &[Group]) -> Option<(&'a str, bool)> {
    let ftp = effective_protocols(user, groups).iter().any(|p| p == "ftp");
    (ftp && vsftpd_limits(user, groups).is_ok()).then_some((user.root.as_str(), user.mode == Mode::Rw))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rules::{Level, Rule};
    use crate::testutil::{group, user};

    #[test]
    fn what_vsftpd_can_and_cannot_express() {
        let rule = || vec![Rule::new("/in", Level::Upload).unwrap()];
        /// (mode, delete_allowed, max_file_size, user rules, group rules, expressible, words)
        type Case = (Mode, bool, Option<u64>, bool, bool, bool, &'static str);
        let cases: &[Case] = &[
            (Mode::Rw, true, None, false, false, true, ""),
            (Mode::R, true, None, false, false, true, ""),
            (Mode::R, false, Some(5), false, false, true, ""),
            (Mode::Rw, false, None, false, false, false, "no-delete (delete_allowed=false)"),
            (Mode::Rw, true, Some(5), false, false, false, "an upload size cap (max_file_size=5)"),
            (Mode::Rw, true, None, true, false, false, "per-folder rules (the user's)"),
            (Mode::R, true, None, true, false, false, "per-folder rules (the user's)"),
            (Mode::Rw, true, None, false, true, false, "per-folder rules (group acme's)"),
        ];
        for &(mode, del, max, own, grp, ok, words) in cases {
            let u = user(mode, del, max, if own { rule() } else { vec![] });
            let g = [group("acme", if grp { rule() } else { vec![] }, &[])];
            let got = vsftpd_limits(&u, &g);
            assert_eq!(got.is_ok(), ok, "{mode:?} {del} {max:?} {own} {grp}: {got:?}");
            if let Err(e) = got {
                assert!(e.contains(words), "{e}");
                assert!(e.starts_with("vsftpd cannot enforce ") && e.ends_with("; use SFTP (or ProFTPD)"), "{e}");
            }
        }
        let all = vsftpd_limits(&user(Mode::Rw, false, Some(1), rule()), &[]).unwrap_err();
        assert_eq!(
            all,
            "vsftpd cannot enforce per-folder rules (the user's), no-delete (delete_allowed=false), \
             an upload size cap (max_file_size=1); use SFTP (or ProFTPD)"
        );
    }

    #[test]
    fn entries_and_files() {
        let u = user(Mode::R, true, None, vec![]);
        assert_eq!(vsftpd_entry(&u, &[]), Some(("/srv/gatehouse/alice", false)));
        let mut ssh_only = user(Mode::Rw, true, None, vec![]);
        ssh_only.protocols = vec!["ssh".into()];
        assert_eq!(vsftpd_entry(&ssh_only, &[]), None);
        assert_eq!(vsftpd_entry(&ssh_only, &[group("ftpers", vec![], &["ftp"])]), Some(("/srv/gatehouse/alice", true)));
        assert_eq!(vsftpd_entry(&user(Mode::Rw, false, None, vec![]), &[]), None);
        assert_eq!(FtpServer::for_service("vsftpd"), Some(FtpServer::Vsftpd));
        assert_eq!(FtpServer::for_service("ftp"), None);
    }
}
