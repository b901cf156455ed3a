//! Whether a stored user (or group) may be served on this host at all.
//!
//! Ops edit the database with plain SQL, and a fleet's database is written by every host, so a
//! row is input like any other: `UPDATE users SET root = '/', gid = 42` must not give a user the
//! host's files with the `shadow` group. The store decodes every column (a value that does not
//! parse is refused there, naming the column); this module then judges the decoded record against
//! *this host's* configuration with the same validators the CLI uses, so nothing that `gatehouse
//! user add` would refuse can reach NSS, PAM, gatehouse-keys, gatehouse-sftp or an FTP server's
//! per-user file through a side door.
//!
//! Every serving path calls [`check_user`]: the snapshot export, the daemon's answers, the offline
//! cache (which answers through the same daemon code), the roots and FTP files gatehouse-tasks is
//! asked for, `gatehouse check` and `gatehouse status`. A user that fails is left out of all of
//! them, as if it did not exist, with one log line naming the user, the column and why.
//!
//! A group that fails makes its members fail too: a group can carry a deny-list of addresses
//! or a `none` rule, and serving its members without it would serve them with *more* than the
//! database says.
use crate::config::{Config, IdRange};
use crate::model::{
    validate_display_name, validate_email, validate_locale, validate_name, validate_time_zone_syntax, Group, User,
};

/// Why a stored record cannot be served here: the column (as the schema names it) and the reason,
/// in the words the CLI would use for the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unservable {
    /// The column (`root`, `gid`, `display_name`, …) or, for a group's fault, `groups`.
    pub column: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl std::fmt::Display for Unservable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.why)
    }
}

fn unservable(column: &'static str, why: impl std::fmt::Display) -> Unservable {
    Unservable { column, why: why.to_string() }
}

/// Checks an id (uid or gid) against `[ids]` and the host's subordinate-id ranges (`first`,
/// `last`, inclusive, from `/etc/subuid` and `/etc/subgid`), as allocation does.
pub fn check_id(column: &'static str, id: u32, ids: &IdRange, subids: &[(u32, u32)]) -> Result<(), Unservable> {
    if !ids.allocatable(id) {
        return Err(unservable(
            column,
            format!(
                "{id} is outside the configured range {}..={} ([ids] first and last; the first two are gatehouse's groups)",
                ids.first_allocatable(),
                ids.last
            ),
        ));
    }
    if let Some(&(a, b)) = subids.iter().find(|&&(a, b)| (a..=b).contains(&id)) {
        return Err(unservable(
            column,
            format!("{id} lies in a subordinate-id range ({a}..={b}) of /etc/subuid or /etc/subgid"),
        ));
    }
    Ok(())
}

/// Checks a group row: name, gid, and (already decoded) rules, addresses and protocols.
pub fn check_group(g: &Group, cfg: &Config, subids: &[(u32, u32)]) -> Result<(), Unservable> {
    validate_name("group", &g.name).map_err(|e| unservable("name", e))?;
    check_id("gid", g.gid, &cfg.ids, subids)?;
    if g.description.chars().any(char::is_control) {
        return Err(unservable("description", "contains control characters"));
    }
    Ok(())
}

/// Checks a user row and the groups it is in. `group` finds one of the user's groups by name
/// among those that were loaded and passed [`check_group`] (`None`: missing or left out).
///
/// The primary group (`gid`) must be the user's own private group (equal to the uid, as the CLI
/// always sets it) or one of the user's gatehouse groups, so a row can never name a host group.
pub fn check_user<'g>(
    u: &User,
    group: impl Fn(&str) -> Option<&'g Group>,
    cfg: &Config,
    subids: &[(u32, u32)],
) -> Result<(), Unservable> {
    validate_name("user", &u.name).map_err(|e| unservable("name", e))?;
    check_id("uid", u.uid, &cfg.ids, subids)?;
    check_id("gid", u.gid, &cfg.ids, subids)?;
    if u.gid != u.uid && !u.groups.iter().any(|n| group(n).is_some_and(|g| g.gid == u.gid)) {
        return Err(unservable(
            "gid",
            format!("{} is neither the user's own group ({}) nor one of their gatehouse groups", u.gid, u.uid),
        ));
    }
    cfg.check_root(&u.root).map_err(|e| unservable("root", e))?;
    validate_display_name(&u.display_name).map_err(|e| unservable("display_name", e))?;
    validate_email(&u.email).map_err(|e| unservable("email", e))?;
    validate_locale(&u.locale).map_err(|e| unservable("locale", e))?;
    validate_time_zone_syntax(&u.time_zone).map_err(|e| unservable("time_zone", e))?;
    for name in &u.groups {
        if group(name).is_none() {
            return Err(unservable("groups", format!("group {name:?} is left out (see the log line about it)")));
        }
    }
    Ok(())
}

/// [`check_user`] with the user's groups as loaded for one login (each checked here too).
pub fn check_user_with(u: &User, groups: &[Group], cfg: &Config, subids: &[(u32, u32)]) -> Result<(), Unservable> {
    for g in groups {
        check_group(g, cfg, subids).map_err(|e| unservable("groups", format!("group {:?}: {e}", g.name)))?;
    }
    check_user(u, |n| groups.iter().find(|g| g.name == n), cfg, subids)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::fixtures as testing;

    fn cfg() -> Config {
        Config::default()
    }

    fn good() -> User {
        let mut u = testing::user("alice");
        u.uid = 1_900_000_010;
        u.gid = 1_900_000_010;
        u.root = "/srv/gatehouse/alice".into();
        u
    }

    #[test]
    fn a_user_the_cli_would_make_is_servable() {
        assert_eq!(check_user_with(&good(), &[], &cfg(), &[]), Ok(()));
    }

    #[test]
    fn every_column_a_database_writer_could_abuse_is_refused() {
        type Breaker = Box<dyn Fn(&mut User)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("root", Box::new(|u| u.root = "/".into())),
            ("root", Box::new(|u| u.root = "/etc".into())),
            ("root", Box::new(|u| u.root = "/srv/gatehouse/../../etc".into())),
            ("root", Box::new(|u| u.root = "/srv/gatehouse".into())),
            ("gid", Box::new(|u| u.gid = 42)),
            ("gid", Box::new(|u| u.gid = 1_900_000_011)),
            ("uid", Box::new(|u| u.uid = 0)),
            ("uid", Box::new(|u| u.uid = 1000)),
            ("uid", Box::new(|u| u.uid = 1_900_000_001)),
            ("name", Box::new(|u| u.name = "Root".into())),
            ("name", Box::new(|u| u.name = "a:b".into())),
            ("display_name", Box::new(|u| u.display_name = "x\x1b[2Jy".into())),
            ("display_name", Box::new(|u| u.display_name = "a:0:0".into())),
            ("email", Box::new(|u| u.email = "a@b\r\nBcc: c@d".into())),
            ("locale", Box::new(|u| u.locale = "en\n".into())),
            ("time_zone", Box::new(|u| u.time_zone = "../../etc/shadow".into())),
            ("groups", Box::new(|u| u.groups = vec!["ghost".into()])),
        ];
        for (column, break_it) in cases {
            let mut u = good();
            break_it(&mut u);
            let e = check_user_with(&u, &[], &cfg(), &[]).unwrap_err();
            assert_eq!(e.column, column, "{u:?}: {e}");
        }
    }

    #[test]
    fn subordinate_ranges_and_group_faults_are_refused() {
        let e = check_user_with(&good(), &[], &cfg(), &[(1_900_000_000, 1_900_065_535)]).unwrap_err();
        assert_eq!(e.column, "uid");
        assert!(e.why.contains("subordinate"), "{e}");

        let mut g = testing::group("staff");
        g.gid = 1_900_000_020;
        let mut u = good();
        u.groups = vec!["staff".into()];
        assert_eq!(check_user_with(&u, std::slice::from_ref(&g), &cfg(), &[]), Ok(()));
        // The primary group may be one of the user's gatehouse groups.
        u.gid = g.gid;
        assert_eq!(check_user_with(&u, std::slice::from_ref(&g), &cfg(), &[]), Ok(()));
        // A broken group takes its members with it.
        g.gid = 4;
        let e = check_user_with(&u, &[g], &cfg(), &[]).unwrap_err();
        assert_eq!(e.column, "groups");
        assert!(e.why.contains("staff") && e.why.contains("gid"), "{e}");
    }
}
