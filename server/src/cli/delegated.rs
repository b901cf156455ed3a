//! Delegated administration: what an admin who is not root may run, and within which scope.
//!
//! A delegated admin is a local Unix account holding a role (`gatehouse admin grant alice
//! [--group G]`, or through a `%unixgroup` role), or a gatehouse user with the `admin` flag
//! (`gatehouse user set bob --admin [--admin-group G]`). Either way the command goes to
//! gatehoused as words ([`run_remote`]; gatehouse-sftp sends the same request for `ssh bob@host
//! gatehouse …`), which finds the caller's [`Scope`] by `SO_PEERCRED`, parses the words with
//! this CLI's own definitions, asks [`authorize`], and runs the command through the same code
//! as root's CLI, with the caller named in the audit log.
//!
//! **The subset** ([`is_delegable`]): `user list|show|add|set|del`, `passwd NAME --stdin`,
//! `key add|list|del`, `rule add|list|del`, `group members`. Everything else (groups' own
//! settings, TOTP, invitations, app passwords, imports, export, roles) stays with root.
//!
//! **Rights, for every delegated admin:** nobody but root gives or takes admin rights (`user set
//! --admin/--no-admin`, `admin grant`), or picks a uid (`user add --uid`). A root must lie under
//! `home_base` or `root_prefixes` (the store's check), and `user del --remove-files` keeps its
//! refusal of shared roots and roots outside the prefixes.
//!
//! **A group admin** (every role it holds names a group) manages only *managed users*: members
//! of one of its groups who are not admins themselves. On top of the above it may not:
//! - touch anyone else (show, change, delete, keys, rules, password);
//! - list users except with `--group` naming one of its groups;
//! - create a user outside its groups (`user add` needs `--group`, all of them its own);
//! - change memberships through `user set --group/--no-groups` (it uses `group members`), add to
//!   its groups anyone it does not already manage, or remove a user from the last of its groups
//!   (a user cannot be moved out of its reach);
//! - set a root that is, contains or lies inside the root of a user it does not manage (it would
//!   reach their files).
use super::args::{Command, GroupCmd, KeyCmd, RuleCmd, UserCmd};
use crate::store::{Scope, Store, StoreError};
use gatehouse_policy::model::User;

/// True for the commands a delegated admin may send (see the module doc).
pub fn is_delegable(cmd: &Command) -> bool {
    matches!(cmd, Command::User(_) | Command::Passwd { .. } | Command::Key(_) | Command::Rule(_))
        || matches!(cmd, Command::Group(GroupCmd::Members { .. }))
}

/// The `gatehouse` CLI run by an account other than root: sends the words to gatehoused.
pub fn run_remote(argv: Vec<String>) -> i32 {
    gatehouse_wire::admin::run(gatehouse_policy::config::SOCKET_PATH, argv)
}

/// Decides whether an admin with `scope` may run `cmd`. The error is the one line to answer.
pub async fn authorize(store: &Store, scope: &Scope, cmd: &Command) -> Result<(), String> {
    if !is_delegable(cmd) {
        return Err("this command is for root only (delegated admins may use: user, passwd --stdin, key, rule, \
                    group members)"
            .into());
    }
    match cmd {
        Command::User(UserCmd::Set { admin: true, .. } | UserCmd::Set { no_admin: true, .. }) => {
            return Err("only root gives or takes admin rights".into())
        }
        Command::User(UserCmd::Add { uid: Some(_), .. }) => return Err("only root picks a uid (--uid)".into()),
        Command::Passwd { stdin: false, .. } => return Err("give the new password on standard input (--stdin)".into()),
        _ => {}
    }
    let Scope::Groups(mine) = scope else { return Ok(()) };
    let g = Groups { store, mine };
    match cmd {
        Command::User(UserCmd::List { group, .. }) => match group {
            Some(gr) => g.own_group(gr).await,
            None => Err(format!("list with --group naming one of your groups ({})", mine.join(", "))),
        },
        Command::User(UserCmd::Add { name, fields, .. }) => {
            if fields.group.is_empty() {
                return Err(format!("a new user needs --group naming one of your groups ({})", mine.join(", ")));
            }
            for gr in &fields.group {
                g.own_group(gr).await?;
            }
            // The default root (home_base/NAME) may be someone else's explicit root too.
            let root = fields.root.clone().unwrap_or_else(|| format!("{}/{name}", store.config().home_base));
            g.root_reaches_only_managed(Some(&root), "").await?;
            g.root_is_new_or_managed(Some(&root)).await
        }
        Command::User(UserCmd::Set { name, fields, no_groups, .. }) => {
            let u = g.managed(name).await?;
            if *no_groups || !fields.group.is_empty() {
                return Err("group admins change memberships with `gatehouse group members`".into());
            }
            g.root_reaches_only_managed(fields.root.as_deref(), &u.id).await?;
            g.root_is_new_or_managed(fields.root.as_deref()).await
        }
        Command::User(UserCmd::Show { name, .. } | UserCmd::Del { name, .. })
        | Command::Passwd { name, .. }
        | Command::Key(
            KeyCmd::Add { user: name, .. } | KeyCmd::List { user: name, .. } | KeyCmd::Del { user: name, .. },
        )
        | Command::Rule(
            RuleCmd::Add { user: name, .. } | RuleCmd::List { user: name, .. } | RuleCmd::Del { user: name, .. },
        ) => g.managed(name).await.map(drop),
        Command::Group(GroupCmd::Members { name, add, remove, .. }) => {
            let group = g.own_group(name).await.map(|()| name)?;
            let group = store.get_group(group).await.map_err(|e| e.to_string())?.name;
            for u in add {
                g.managed(u).await?;
            }
            for u in remove {
                let m = g.managed(u).await?;
                if !m.groups.iter().any(|x| x != &group && mine.contains(x)) {
                    return Err(format!(
                        "{} would leave the last of your groups; group admins cannot move users out of their groups",
                        m.name
                    ));
                }
            }
            Ok(())
        }
        _ => Err("this command is for root only".into()),
    }
}

/// The checks of a group admin whose groups are `mine`.
struct Groups<'a> {
    store: &'a Store,
    mine: &'a [String],
}

impl Groups<'_> {
    /// `name_or_id` is one of the admin's groups.
    async fn own_group(&self, name_or_id: &str) -> Result<(), String> {
        let g = self.store.get_group(name_or_id).await.map_err(|e| e.to_string())?;
        if self.mine.contains(&g.name) {
            Ok(())
        } else {
            Err(format!("group {} is not one of yours ({})", g.name, self.mine.join(", ")))
        }
    }

    /// The user, if the admin manages them: a member of one of its groups, not an admin.
    /// Unknown users and users out of reach get the same answer.
    async fn managed(&self, name_or_id: &str) -> Result<User, String> {
        let not_yours =
            || format!("no user {name_or_id:?} among the members of your groups ({})", self.mine.join(", "));
        match self.store.get_user(name_or_id).await {
            Ok(u) if manages(self.mine, u.admin, &u.groups) => Ok(u),
            Ok(_) | Err(StoreError::NotFound { .. }) => Err(not_yours()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A root the admin sets must not reach the files of a user it does not manage.
    async fn root_reaches_only_managed(&self, root: Option<&str>, except_id: &str) -> Result<(), String> {
        let Some(root) = root else { return Ok(()) };
        let sharers = self.store.users_sharing_root(root, except_id).await.map_err(|e| e.to_string())?;
        for name in sharers {
            if self.managed(&name).await.is_err() {
                return Err(format!("root {root} is, contains or lies inside the root of a user you do not manage"));
            }
        }
        Ok(())
    }
}

impl Groups<'_> {
    /// A root a group admin gives must be a folder gatehouse-tasks will create (nothing there
    /// yet), or already the root of a user the admin manages. An existing folder under a prefix
    /// (a former employee's, a shared archive) would otherwise be handed over, to be read or to
    /// be removed with `user del --remove-files`. What cannot be checked is refused.
    async fn root_is_new_or_managed(&self, root: Option<&str>) -> Result<(), String> {
        let Some(root) = root else { return Ok(()) };
        match std::fs::symlink_metadata(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("root {root}: cannot tell whether it exists ({e}); refused")),
            Ok(_) => {}
        }
        let owners = self.store.users_with_root(root).await.map_err(|e| e.to_string())?;
        for name in &owners {
            if self.managed(name).await.is_ok() {
                return Ok(());
            }
        }
        Err(format!(
            "root {root} already exists and is not the root of a user you manage; group admins give new folders \
             (gatehouse-tasks creates them) or a managed user's root"
        ))
    }
}

/// True if a group admin of `mine` manages a user with this admin flag and these groups: a
/// member of one of them, not an admin.
pub fn manages(mine: &[String], admin: bool, groups: &[String]) -> bool {
    !admin && groups.iter().any(|g| mine.contains(g))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    fn cmd(words: &str) -> Command {
        super::super::Cli::try_parse_from(std::iter::once("gatehouse").chain(words.split(' '))).unwrap().command
    }

    #[test]
    fn subset() {
        for ok in
            ["user list", "user add bob", "passwd bob --stdin", "key list bob", "rule del bob /x", "group members acme"]
        {
            assert!(is_delegable(&cmd(ok)), "{ok}");
        }
        for no in [
            "group add x",
            "group set acme --protocols ssh",
            "totp enable bob",
            "invite bob",
            "export --json",
            "admin list",
            "apppass list bob",
            "import csv x",
            "db migrate",
            "unlock bob",
            "check bob",
            "status",
            "group rule add acme / read",
            "group del acme",
        ] {
            assert!(!is_delegable(&cmd(no)), "{no}");
        }
    }

    #[test]
    fn managed_users() {
        let groups = ["acme".to_string(), "beta".to_string()];
        let mine = ["acme".to_string()];
        assert!(manages(&mine, false, &groups));
        assert!(!manages(&["gamma".to_string()], false, &groups));
        assert!(!manages(&mine, false, &[]));
        assert!(!manages(&mine, true, &groups), "an admin is never managed by a group admin");
    }
}
