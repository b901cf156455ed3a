//! ProFTPD's per-user files: `<proftpd_config_dir>/<name>.conf` (a `DefaultRoot` and the
//! `<Directory>` blocks, see [`gatehouse_policy::proftpd`] for what they allow and why), rendered
//! here ([`render`]), written as [`super::rootfile`] says, and the reload that makes ProFTPD read
//! them.
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
use gatehouse_policy::model::{validate_name, validate_root};
use gatehouse_policy::proftpd::{plain, Cmd, ProftpdUser, INSIDE_STAR};

/// Commands no gatehouse user may use anywhere: mode changes (SITE CHMOD would set setuid and
/// setgid bits, which gatehouse-sftp strips, and ProFTPD cannot mask them), links, ownership,
/// server-side copies (mod_copy
/// would copy past the rules), the SITE variants of MKD/RMD, facts changes, and checksums (reads
/// of file content that RETR's rule would not see).
pub const ALWAYS_DENIED: &[&str] = &[
    "SITE_CHMOD",
    "SITE_SYMLINK",
    "SITE_CHGRP",
    "SITE_CPFR",
    "SITE_CPTO",
    "SITE_MKDIR",
    "SITE_RMDIR",
    "MFF",
    "HASH",
    "XCRC",
    "XMD5",
    "XSHA",
    "XSHA1",
    "XSHA256",
    "XSHA512",
];

/// Commands without a path that every block allows (moving up and printing the folder).
pub const ALWAYS_ALLOWED: &[&str] = &["CDUP", "XCUP", "PWD", "XPWD"];

/// The ProFTPD command names (as `<Limit>` spells them) in a group.
pub const fn commands(group: Cmd) -> &'static [&'static str] {
    match group {
        Cmd::List => &["CWD", "XCWD", "LIST", "NLST", "MLSD"],
        Cmd::Stat => &["MLST", "STAT", "SIZE", "MDTM"],
        Cmd::Retr => &["RETR"],
        Cmd::Stor => &["STOR", "STOU"],
        Cmd::Appe => &["APPE"],
        Cmd::Mkd => &["MKD", "XMKD"],
        Cmd::Rmd => &["RMD", "XRMD"],
        Cmd::Dele => &["DELE"],
        Cmd::Rnfr => &["RNFR"],
        Cmd::Rnto => &["RNTO"],
        Cmd::Setstat => &["MFMT", "SITE_UTIME"],
    }
}

/// Checks a [`ProftpdUser`] (whoever sent it; gatehoused builds it with
/// `gatehouse_policy::proftpd::proftpd_entry`) and writes the text of its file: the user's
/// `DefaultRoot`, then their blocks inside `<IfUser>`. `Err` says what is wrong; nothing is
/// rendered then.
pub fn render(u: &ProftpdUser) -> Result<String, String> {
    validate_name("name", &u.name).map_err(|e| e.to_string())?;
    validate_root(&u.root).map_err(|e| e.to_string())?;
    if !plain(&u.root) {
        return Err(format!("root {:?}: not a plain path", u.root));
    }
    let mut out = format!(
        "# Written by gatehouse-tasks for gatehoused; changes are overwritten.\nDefaultRoot {} {}\n<IfUser {}>\n",
        u.root, u.name, u.name
    );
    for p in &u.places {
        let rel = p.path.strip_suffix(INSIDE_STAR).unwrap_or(&p.path);
        let rel = rel.strip_suffix("/*").unwrap_or(rel);
        if !(p.path.starts_with('/') && (rel == "/" || rel.is_empty() || plain(rel)) && !p.path.contains("//")) {
            return Err(format!("place {:?}: not a plain path", p.path));
        }
        let dir = if p.path == "/" { u.root.clone() } else { format!("{}{}", u.root, p.path) };
        let (yes, no): (Vec<Cmd>, Vec<Cmd>) = Cmd::ALL.iter().partition(|c| p.allow.contains(c));
        let names = |cs: &[Cmd]| cs.iter().flat_map(|c| commands(*c).iter().copied()).collect::<Vec<_>>();
        let mut denied = names(&no);
        denied.extend_from_slice(ALWAYS_DENIED);
        let mut allowed = names(&yes);
        allowed.extend_from_slice(ALWAYS_ALLOWED);
        let on = |b: bool| if b { "on" } else { "off" };
        // APPE and resumed uploads (REST + STOR) need AllowStoreRestart: both write into an
        // existing file, so only where appending is allowed.
        out.push_str(&format!(
            "  <Directory {dir}>\n    AllowOverwrite {}\n    AllowStoreRestart {}\n",
            on(p.overwrite),
            on(p.allow.contains(&Cmd::Appe))
        ));
        if let Some(n) = u.max_file_size {
            out.push_str(&format!("    MaxStoreFileSize {n} B\n"));
        }
        out.push_str(&format!("    <Limit {}>\n      DenyAll\n    </Limit>\n", denied.join(" ")));
        out.push_str(&format!("    <Limit {}>\n      AllowAll\n    </Limit>\n  </Directory>\n", allowed.join(" ")));
    }
    out.push_str("</IfUser>\n");
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gatehouse_policy::proftpd::Place;
    use std::collections::BTreeSet;

    /// What `proftpd_entry` makes of a drop box `/in` and a `/work` folder with write (the
    /// policy crate tests that step; this one starts from its output).
    fn user() -> ProftpdUser {
        let place = |path: &str, allow: &[Cmd], overwrite| Place {
            path: path.into(),
            allow: allow.iter().copied().collect(),
            overwrite,
        };
        ProftpdUser {
            name: "alice".into(),
            root: "/srv/gatehouse/alice".into(),
            max_file_size: Some(8),
            places: vec![
                place("/", &[Cmd::List, Cmd::Stat], false),
                place("/*", &[Cmd::List, Cmd::Stat], false),
                place("/in/*", &[Cmd::List, Cmd::Stat, Cmd::Stor], false),
                place("/work/*", &Cmd::ALL, true),
                place("/clients/*/?*", &[Cmd::List, Cmd::Stat, Cmd::Retr], false),
            ],
        }
    }

    #[test]
    fn render_names_every_command_in_every_block() {
        let u = user();
        let text = render(&u).unwrap();
        assert!(text.starts_with("# Written by gatehouse-tasks"), "{text}");
        assert!(text.contains("\nDefaultRoot /srv/gatehouse/alice alice\n<IfUser alice>\n"), "{text}");
        assert!(
            text.contains(
                "  <Directory /srv/gatehouse/alice/in/*>\n    AllowOverwrite off\n    AllowStoreRestart off\n"
            ),
            "{text}"
        );
        assert!(text
            .contains("  <Directory /srv/gatehouse/alice/work/*>\n    AllowOverwrite on\n    AllowStoreRestart on\n"));
        assert!(text.contains("  <Directory /srv/gatehouse/alice>\n"), "{text}");
        assert!(text.contains("  <Directory /srv/gatehouse/alice/clients/*/?*>\n"), "{text}");
        assert!(text.contains("MaxStoreFileSize 8 B"), "{text}");
        assert!(text.ends_with("</IfUser>\n"));
        // Each block: one deny and one allow list that together name every command.
        let all: BTreeSet<&str> = Cmd::ALL.iter().flat_map(|c| commands(*c).iter().copied()).collect();
        for block in text.split("<Directory ").skip(1) {
            let lists: Vec<BTreeSet<&str>> = block
                .lines()
                .filter_map(|l| l.trim().strip_prefix("<Limit ").and_then(|l| l.strip_suffix('>')))
                .map(|l| l.split(' ').collect())
                .collect();
            assert_eq!(lists.len(), 2, "{block}");
            assert!(lists[0].is_disjoint(&lists[1]), "{block}");
            let named: BTreeSet<&str> = lists[0].union(&lists[1]).copied().collect();
            assert!(named.is_superset(&all), "{block}");
            assert!(["SITE_CPFR", "SITE_SYMLINK", "SITE_CHMOD"].iter().all(|c| lists[0].contains(c)), "{block}");
        }
        // Whatever asks, the helper renders only plain paths and valid names.
        let mut bad = u.clone();
        bad.places[0].path = "/x>\nExecOnConnect /bin/sh".into();
        assert!(render(&bad).is_err());
        let mut bad = u.clone();
        bad.name = "Alice\n".into();
        assert!(render(&bad).is_err());
        let mut bad = u;
        bad.root = "/srv/a\"b".into();
        assert!(render(&bad).is_err());
    }
}
