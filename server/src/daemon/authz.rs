//! Who may ask what: the `SO_PEERCRED` rule of DESIGN's "Wire protocol", as one pure function.
//!
//! - Authentication, account and password-change requests: root, and the uids `[callers]` names
//!   for the request's protocol, for that protocol only (a web server calling PAM as `www-data`
//!   may check `web` logins, never `ssh` ones).
//! - Key lookups: root and the keys user `gatehouse-keys` (sshd's `AuthorizedKeysCommandUser`).
//! - `Ping`: anyone; it reveals nothing.
//!
//! Caller names are resolved to uids through NSS once, at start-up ([`CallerMap::resolve`]), so
//! a request never waits on NSS.
use gatehouse_policy::config::Config;
use std::collections::{BTreeMap, BTreeSet};

/// The user sshd runs `AuthorizedKeysCommand` as (DESIGN: `AuthorizedKeysCommandUser`).
pub const KEYS_USER: &str = "gatehouse-keys";

/// What a request asks for, as far as authorisation is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// Authenticate, account or password change for a service mapped to this protocol.
    Login {
        /// `authenticate users`, `check accounts`, `change passwords`: for the denial message.
        what: &'static str,
        /// The protocol the service maps to.
        protocol: &'a str,
    },
    /// A key lookup.
    Keys,
    /// A liveness check.
    Ping,
}

/// Non-root uids allowed to call, resolved at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerMap {
    /// Protocol → uids that may make login requests for it (`[callers]`).
    pub by_protocol: BTreeMap<String, BTreeSet<u32>>,
    /// The uid of [`KEYS_USER`], if that user exists; otherwise only root may look keys up.
    pub keys_uid: Option<u32>,
}

impl CallerMap {
    /// Resolves `[callers]` names (or numeric uids) and the keys user through NSS. Names that do
    /// not resolve are left out and reported, one message each, for the start-up log.
    pub fn resolve(cfg: &Config) -> (CallerMap, Vec<String>) {
        let mut map = CallerMap::default();
        let mut warnings = Vec::new();
        for (protocol, names) in &cfg.callers {
            let set = map.by_protocol.entry(protocol.clone()).or_default();
            for name in names {
                match lookup_uid(name) {
                    Some(uid) => {
                        set.insert(uid);
                    }
                    None => warnings.push(format!(
                        "[callers] {protocol}: no user {name:?} on this host; it is ignored until the next start"
                    )),
                }
            }
        }
        map.keys_uid = lookup_uid(KEYS_USER);
        if map.keys_uid.is_none() {
            warnings.push(format!("no user {KEYS_USER:?} on this host; only root may look keys up"));
        }
        (map, warnings)
    }

    /// True for the daemon's own clients: root (PAM), the keys user and every uid `[callers]`
    /// names. They get connection slots no other local account can take ([`super::conns`]).
    pub fn is_privileged(&self, uid: u32) -> bool {
        uid == 0 || self.keys_uid == Some(uid) || self.by_protocol.values().any(|uids| uids.contains(&uid))
    }
}

/// A user name (or a numeric uid) to a uid, through NSS.
fn lookup_uid(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse::<u32>() {
        return Some(uid);
    }
    nix::unistd::User::from_name(name).ok().flatten().map(|u| u.uid.as_raw())
}

/// Decides whether `caller_uid` may make a request of kind `access`. The error is the reason to
/// answer (`Denied`) and log.
pub fn authorize(access: Access<'_>, caller_uid: u32, map: &CallerMap) -> Result<(), String> {
    if caller_uid == 0 {
        return Ok(());
    }
    match access {
        Access::Ping => Ok(()),
        Access::Keys => {
            if map.keys_uid == Some(caller_uid) {
                Ok(())
            } else {
                Err(format!("caller uid {caller_uid} may not look keys up (only root and {KEYS_USER})"))
            }
        }
        Access::Login { what, protocol } => {
            if map.by_protocol.get(protocol).is_some_and(|s| s.contains(&caller_uid)) {
                Ok(())
            } else {
                Err(format!(
                    "caller uid {caller_uid} may not {what} for protocol {protocol} (only root and [callers] {protocol})"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn map() -> CallerMap {
        let mut by_protocol = BTreeMap::new();
        by_protocol.insert("web".to_string(), BTreeSet::from([33u32]));
        by_protocol.insert("ftp".to_string(), BTreeSet::from([21u32, 22]));
        CallerMap { by_protocol, keys_uid: Some(999) }
    }

    #[test]
    fn table() {
        let login = |p| Access::Login { what: "authenticate users", protocol: p };
        let cases: &[(Access<'_>, u32, bool)] = &[
            (login("ssh"), 0, true),
            (login("web"), 0, true),
            (Access::Keys, 0, true),
            (Access::Ping, 0, true),
            (login("web"), 33, true),
            (login("ssh"), 33, false),
            (login("ftp"), 33, false),
            (login("ftp"), 21, true),
            (login("ftp"), 22, true),
            (login("web"), 21, false),
            (login("ssh"), 1000, false),
            (Access::Keys, 999, true),
            (Access::Keys, 33, false),
            (Access::Keys, 1000, false),
            (login("ssh"), 999, false),
            (Access::Ping, 1000, true),
        ];
        let m = map();
        for (i, &(access, uid, want)) in cases.iter().enumerate() {
            assert_eq!(authorize(access, uid, &m).is_ok(), want, "case {i}: {access:?} uid {uid}");
        }
    }

    #[test]
    fn denial_names_uid_and_protocol() {
        let e = authorize(Access::Login { what: "check accounts", protocol: "ssh" }, 33, &map()).unwrap_err();
        assert_eq!(e, "caller uid 33 may not check accounts for protocol ssh (only root and [callers] ssh)");
        let e = authorize(Access::Keys, 5, &CallerMap::default()).unwrap_err();
        assert!(e.starts_with("caller uid 5 may not look keys up"), "{e}");
    }

    #[test]
    fn privileged_are_root_the_keys_user_and_callers() {
        let m = map();
        for uid in [0, 999, 33, 21, 22] {
            assert!(m.is_privileged(uid), "{uid}");
        }
        for uid in [1, 1000, 65534] {
            assert!(!m.is_privileged(uid), "{uid}");
        }
        assert!(!CallerMap::default().is_privileged(999));
    }

    #[test]
    fn no_keys_user_means_root_only() {
        let m = CallerMap::default();
        assert!(authorize(Access::Keys, 0, &m).is_ok());
        assert!(authorize(Access::Keys, 65534, &m).is_err());
    }

    #[test]
    fn resolve_reports_unknown_names() {
        let cfg = Config::parse("[callers]\nweb = [\"root\", \"no-such-user-gatehouse-test\", \"4242\"]\n")
            .unwrap_or_default();
        let (m, warnings) = CallerMap::resolve(&cfg);
        assert_eq!(m.by_protocol.get("web"), Some(&BTreeSet::from([0u32, 4242])));
        assert!(warnings.iter().any(|w| w.contains("no-such-user-gatehouse-test")), "{warnings:?}");
    }
}
