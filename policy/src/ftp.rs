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

pub use crate::config::{FtpFiles, FtpServer};

/// What each server can enforce: the decisions below, behind the server's name.
impl FtpServer {
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
