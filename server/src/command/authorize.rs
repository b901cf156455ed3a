//! Delegated administration: what an admin who is not root may run, and within which scope.
//!
//! A delegated admin is a local Unix account holding a role (`gatehouse admin grant alice
//! [--group G]`, or through a `%unixgroup` role), or a gatehouse user with the `admin` flag
//! (`gatehouse user set bob --admin [--admin-group G]`). Either way the command goes to
//! gatehoused as words (`cli::delegated::run_remote`; gatehouse-sftp sends the same request for
//! `ssh bob@host gatehouse …`), which finds the caller's [`Scope`] by `SO_PEERCRED`, parses the
//! words with the CLI's own definitions into a [`Command`], asks [`authorize`], and runs it with
//! [`super::run`], the caller named in the audit log.
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
//!
//! **Fails closed by construction.** [`reach`] destructures every field of every [`Command`]
//! with no `..` and no catch-all arm, so a new command or a new field does not compile until
//! someone writes down here what it means for delegated and group admins. A pattern that leaves
//! out a field is refused by the compiler:
//!
//! ```compile_fail,E0027
//! use gatehouse_server::command::{Command, UserSet};
//! use gatehouse_server::store::UserChanges;
//! // The judgement of `user set` as it would read had `password_source` been added to
//! // `UserChanges` without anyone judging it: error[E0027]: pattern does not mention field
//! // `password_source`.
//! fn root_only(cmd: &Command) -> bool {
//!     match cmd {
//!         Command::UserSet(UserSet {
//!             name: _,
//!             admin,
//!             changes:
//!                 UserChanges {
//!                     admin: flag,
//!                     groups: _,
//!                     root: _,
//!                     name: _,
//!                     display_name: _,
//!                     email: _,
//!                     locale: _,
//!                     time_zone: _,
//!                     mode: _,
//!                     delete_allowed: _,
//!                     allowed_ips: _,
//!                     denied_ips: _,
//!                     protocols: _,
//!                     hosts: _,
//!                     active: _,
//!                     expires_at: _,
//!                     max_file_size: _,
//!                 },
//!         }) => admin.is_some() || flag.is_some(),
//!         _ => false,
//!     }
//! }
//! ```
use super::{CheckQuery, Command, GroupAdd, GroupSet, Import, KeysFrom, PasswordFrom, UserAdd, UserList, UserSet};
use crate::store::{GroupChanges, Scope, Store, StoreError, UserChanges};
use gatehouse_policy::model::User;

/// Why a delegated admin may not run a command: the one line to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

fn deny<T>(why: impl Into<String>) -> Result<T, Denied> {
    Err(Denied(why.into()))
}

/// What a delegable command reaches, for the group-admin checks; what every delegated admin is
/// refused has been refused before one of these is made.
#[derive(Debug)]
enum Reach<'a> {
    /// A command for root only.
    RootOnly,
    /// One existing user, who must be managed.
    User(&'a str),
    /// `user list`, with the group it names.
    UserList(Option<&'a str>),
    /// `user add`: its name, groups and root.
    NewUser { name: &'a str, groups: &'a [String], root: Option<&'a str> },
    /// `user set`: the user, whether memberships change, the new root.
    ChangeUser { name: &'a str, memberships: bool, root: Option<&'a str> },
    /// `group members G`: the list.
    Members(&'a str),
    /// `group members G --add U…`.
    AddMembers { group: &'a str, users: &'a [String] },
    /// `group members G --remove U…`.
    RemoveMembers { group: &'a str, users: &'a [String] },
}

/// Judges every field of `cmd` for any delegated admin: root-only commands, root-only options,
/// and what is left for the group-admin checks.
fn reach(cmd: &Command) -> Result<Reach<'_>, Denied> {
    Ok(match cmd {
        Command::UserAdd(UserAdd {
            name,
            groups,
            root,
            uid,
            // Any delegated admin may set these for a user it creates.
            password_stdin: _,
            active: _,
            display_name: _,
            email: _,
            locale: _,
            time_zone: _,
            mode: _,
            delete_allowed: _,
            allowed_ips: _,
            denied_ips: _,
            protocols: _,
            hosts: _,
            expires_at: _,
            max_file_size: _,
            password_source: _,
        }) => {
            if uid.is_some() {
                return deny("only root picks a uid (--uid)");
            }
            Reach::NewUser { name, groups, root: root.as_deref() }
        }
        Command::UserSet(UserSet {
            name,
            admin,
            changes:
                UserChanges {
                    groups,
                    root,
                    admin: admin_flag,
                    // Any delegated admin may change these of a user it manages.
                    name: _,
                    display_name: _,
                    email: _,
                    locale: _,
                    time_zone: _,
                    mode: _,
                    delete_allowed: _,
                    allowed_ips: _,
                    denied_ips: _,
                    protocols: _,
                    hosts: _,
                    active: _,
                    expires_at: _,
                    max_file_size: _,
                    password_source: _,
                },
        }) => {
            if admin.is_some() || admin_flag.is_some() {
                return deny("only root gives or takes admin rights");
            }
            Reach::ChangeUser { name, memberships: groups.is_some(), root: root.as_deref() }
        }
        Command::UserList(UserList { group, filter: _, inactive: _, expired: _, locked: _, limit: _, after: _ }) => {
            Reach::UserList(group.as_deref())
        }
        // --remove-files keeps the store's and gatehouse-tasks' refusals.
        Command::UserShow { name } | Command::UserDel { name, remove_files: _ } => Reach::User(name),
        Command::Passwd { name, from } => match from {
            PasswordFrom::Stdin => Reach::User(name),
            PasswordFrom::Prompt => return deny("give the new password on standard input (--stdin)"),
        },
        // A key file is read by the front end (gatehoused reads standard input only).
        Command::KeyAdd { user, keys: KeysFrom::Line(_) | KeysFrom::File(_) }
        | Command::KeyList { user }
        | Command::KeyDel { user, key: _ }
        | Command::RuleAdd { user, path: _, level: _ }
        | Command::RuleList { user }
        | Command::RuleDel { user, path: _ } => Reach::User(user),
        Command::GroupMembers { name } => Reach::Members(name),
        Command::GroupMembersAdd { name, users } => Reach::AddMembers { group: name, users },
        Command::GroupMembersRemove { name, users } => Reach::RemoveMembers { group: name, users },
        // Root's: credentials other than passwords, groups' own settings, the host, roles.
        Command::Unlock { name: _ }
        | Command::TotpEnable { name: _, replace: _ }
        | Command::TotpDisable { name: _ }
        | Command::Invite { name: _, expires_in: _, mail: _ }
        | Command::AppPassAdd { name: _, label: _, protocols: _, expires_at: _ }
        | Command::AppPassList { name: _ }
        | Command::AppPassRevoke { name: _, label: _ }
        | Command::GroupAdd(GroupAdd {
            name: _,
            description: _,
            allowed_ips: _,
            denied_ips: _,
            protocols: _,
            hosts: _,
        })
        | Command::GroupSet(GroupSet {
            name: _,
            changes: GroupChanges { name: _, description: _, allowed_ips: _, denied_ips: _, protocols: _, hosts: _ },
        })
        | Command::GroupList
        | Command::GroupShow { name: _ }
        | Command::GroupDel { name: _ }
        | Command::GroupRuleAdd { group: _, path: _, level: _ }
        | Command::GroupRuleList { group: _ }
        | Command::GroupRuleDel { group: _, path: _ }
        | Command::Check(CheckQuery { name: _, ip: _, protocol: _, path: _, op: _, to: _, target_exists: _ })
        | Command::Import(Import { kind: _, file: _, dry_run: _ })
        | Command::Export
        | Command::Status
        | Command::DbMigrate
        | Command::DbStatus
        | Command::AdminGrant { principal: _, group: _ }
        | Command::AdminRevoke { principal: _, group: _ }
        | Command::AdminList => Reach::RootOnly,
    })
}

/// True for the commands a delegated admin may send (see the module doc).
pub fn is_delegable(cmd: &Command) -> bool {
    !matches!(reach(cmd), Ok(Reach::RootOnly))
}

/// Decides whether an admin with `scope` may run `cmd`. The error is the one line to answer.
pub async fn authorize(store: &Store, scope: &Scope, cmd: &Command) -> Result<(), Denied> {
    let reach = reach(cmd)?;
    if let Reach::RootOnly = reach {
        return deny(
            "this command is for root only (delegated admins may use: user, passwd --stdin, key, rule, group members)",
        );
    }
    let Scope::Groups(mine) = scope else { return Ok(()) };
    let g = Groups { store, mine };
    match reach {
        Reach::RootOnly => deny("this command is for root only"),
        Reach::User(name) => g.managed(name).await.map(drop),
        Reach::UserList(Some(group)) => g.own_group(group).await,
        Reach::UserList(None) => deny(format!("list with --group naming one of your groups ({})", mine.join(", "))),
        Reach::NewUser { name, groups, root } => {
            if groups.is_empty() {
                return deny(format!("a new user needs --group naming one of your groups ({})", mine.join(", ")));
            }
            for gr in groups {
                g.own_group(gr).await?;
            }
            // The default root (home_base/NAME) may be someone else's explicit root too.
            let root = root.map_or_else(|| format!("{}/{name}", store.config().home_base), str::to_string);
            g.root_reaches_only_managed(Some(&root), "").await?;
            g.root_is_new_or_managed(Some(&root)).await
        }
        Reach::ChangeUser { name, memberships, root } => {
            let u = g.managed(name).await?;
            if memberships {
                return deny("group admins change memberships with `gatehouse group members`");
            }
            g.root_reaches_only_managed(root, &u.id).await?;
            g.root_is_new_or_managed(root).await
        }
        Reach::Members(group) => g.own_group(group).await,
        Reach::AddMembers { group, users } => {
            g.own_group(group).await?;
            for u in users {
                g.managed(u).await?;
            }
            Ok(())
        }
        Reach::RemoveMembers { group, users } => {
            g.own_group(group).await?;
            let group = store.get_group(group).await.map_err(denied)?.name;
            for u in users {
                let m = g.managed(u).await?;
                if !m.groups.iter().any(|x| x != &group && mine.contains(x)) {
                    return deny(format!(
                        "{} would leave the last of your groups; group admins cannot move users out of their groups",
                        m.name
                    ));
                }
            }
            Ok(())
        }
    }
}

fn denied(e: StoreError) -> Denied {
    Denied(e.to_string())
}

/// The checks of a group admin whose groups are `mine`.
struct Groups<'a> {
    store: &'a Store,
    mine: &'a [String],
}

impl Groups<'_> {
    /// `name_or_id` is one of the admin's groups.
    async fn own_group(&self, name_or_id: &str) -> Result<(), Denied> {
        let g = self.store.get_group(name_or_id).await.map_err(denied)?;
        if self.mine.contains(&g.name) {
            Ok(())
        } else {
            deny(format!("group {} is not one of yours ({})", g.name, self.mine.join(", ")))
        }
    }

    /// The user, if the admin manages them: a member of one of its groups, not an admin.
    /// Unknown users and users out of reach get the same answer.
    async fn managed(&self, name_or_id: &str) -> Result<User, Denied> {
        let not_yours =
            || format!("no user {name_or_id:?} among the members of your groups ({})", self.mine.join(", "));
        match self.store.get_user(name_or_id).await {
            Ok(u) if manages(self.mine, u.admin, &u.groups) => Ok(u),
            Ok(_) | Err(StoreError::NotFound { .. }) => deny(not_yours()),
            Err(e) => Err(denied(e)),
        }
    }

    /// A root the admin sets must not reach the files of a user it does not manage.
    async fn root_reaches_only_managed(&self, root: Option<&str>, except_id: &str) -> Result<(), Denied> {
        let Some(root) = root else { return Ok(()) };
        let sharers = self.store.users_sharing_root(root, except_id).await.map_err(denied)?;
        for name in sharers {
            if self.managed(&name).await.is_err() {
                return deny(format!("root {root} is, contains or lies inside the root of a user you do not manage"));
            }
        }
        Ok(())
    }

    /// A root a group admin gives must be a folder gatehouse-tasks will create (nothing there
    /// yet), or already the root of a user the admin manages. An existing folder under a prefix
    /// (a former employee's, a shared archive) would otherwise be handed over, to be read or to
    /// be removed with `user del --remove-files`. What cannot be checked is refused.
    async fn root_is_new_or_managed(&self, root: Option<&str>) -> Result<(), Denied> {
        let Some(root) = root else { return Ok(()) };
        match std::fs::symlink_metadata(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return deny(format!("root {root}: cannot tell whether it exists ({e}); refused")),
            Ok(_) => {}
        }
        let owners = self.store.users_with_root(root).await.map_err(denied)?;
        for name in &owners {
            if self.managed(name).await.is_ok() {
                return Ok(());
            }
        }
        deny(format!(
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
    //! (role, words) → allowed or the refusal, against a real SQLite store. The roles are
    //! granted in the store and found by `scope_of_principals`, as gatehoused finds them; the
    //! words go through the CLI's clap definitions and conversion, as gatehoused parses them.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::store::{NewGroup, NewUser, NoLocalIds};
    use clap::Parser;
    use std::sync::Arc;

    /// Who asks: the principal whose roles the store holds (`None`: root, uid 0, a full admin).
    #[derive(Clone, Copy, Debug)]
    enum Role {
        /// Root through gatehoused (uid 0): `Scope::All`.
        Root,
        /// `admin grant boss`.
        Full,
        /// `admin grant helper --group acme`.
        Acme,
        /// `admin grant %helpdesk --group acme` and `--group beta`.
        AcmeBeta,
        /// An account that holds no role.
        Nobody,
    }

    /// Groups acme and beta; alice (acme), bob (acme, beta), carol (beta), dave (no group),
    /// eve (acme, an admin herself). Roles for boss, helper and %helpdesk.
    async fn fixture() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = gatehouse_policy::config::Config::parse(&format!(
            "home_base = \"{}/home\"\n[ids]\nfirst = 5000000\nlast = 5001000\n",
            dir.path().display()
        ))
        .unwrap();
        cfg.database = format!("sqlite://{}/gatehouse.db", dir.path().display());
        let store = Store::open_with(cfg, Arc::new(NoLocalIds), true).await.unwrap();
        store.migrate().await.unwrap();
        for g in ["acme", "beta"] {
            store.add_group("t", NewGroup { name: g.into(), ..NewGroup::default() }).await.unwrap();
        }
        for (name, groups) in [
            ("alice", &["acme"][..]),
            ("bob", &["acme", "beta"]),
            ("carol", &["beta"]),
            ("dave", &[]),
            ("eve", &["acme"]),
        ] {
            let groups = groups.iter().map(ToString::to_string).collect();
            store.add_user("t", NewUser { name: name.into(), groups, ..NewUser::default() }).await.unwrap();
        }
        store.set_user_admin("t", "eve", Some(&[])).await.unwrap();
        store.grant_admin("t", "boss", None).await.unwrap();
        store.grant_admin("t", "helper", Some("acme")).await.unwrap();
        store.grant_admin("t", "%helpdesk", Some("acme")).await.unwrap();
        store.grant_admin("t", "%helpdesk", Some("beta")).await.unwrap();
        (store, dir)
    }

    async fn scope(store: &Store, role: Role) -> Option<Scope> {
        let principals: &[&str] = match role {
            Role::Root => return Some(Scope::All),
            Role::Full => &["boss"],
            Role::Acme => &["helper"],
            Role::AcmeBeta => &["someone", "%helpdesk"],
            Role::Nobody => &["zed", "%staff"],
        };
        let principals: Vec<String> = principals.iter().map(ToString::to_string).collect();
        store.scope_of_principals(&principals).await.unwrap()
    }

    /// The decision for `role` running `words`: `Ok` or the refusal's text.
    async fn decide(store: &Store, role: Role, words: &str) -> Result<(), String> {
        let Some(scope) = scope(store, role).await else { return Err("holds no gatehouse admin role".into()) };
        let cli = crate::cli::Cli::try_parse_from(std::iter::once("gatehouse").chain(words.split(' ')))
            .unwrap_or_else(|e| panic!("{words}: {e}"));
        let parsed = crate::cli::convert::convert(cli.command).unwrap_or_else(|e| panic!("{words}: {e}"));
        authorize(store, &scope, &parsed.cmd).await.map_err(|d| d.0)
    }

    const ROOT_ONLY: &str = "this command is for root only";
    const NOT_YOURS: &str = "among the members of your groups";

    #[tokio::test]
    async fn roles_and_commands() {
        use Role::*;
        let (store, dir) = fixture().await;
        let home = format!("{}/home", dir.path().display());
        let carol_root = format!("user add newbie --group acme --root {home}/carol");
        let alice_root = format!("user add newbie --group acme --root {home}/alice");
        let set_carol_root = format!("user set alice --root {home}/carol");
        // (role, words, None = allowed / Some(part of the refusal))
        let table: Vec<(Role, &str, Option<&str>)> = vec![
            // A full admin: the delegable subset, none of root's flags.
            (Full, "user list", None),
            (Full, "user show carol", None),
            (Full, "user add newbie", None),
            (Full, "user add newbie --password-stdin --mode r --protocols ssh", None),
            (Full, "user add newbie --uid 5000500", Some("only root picks a uid")),
            (Full, "user set dave --mode r --name david", None),
            (Full, "user set dave --group acme", None),
            (Full, "user set dave --admin", Some("only root gives or takes admin rights")),
            (Full, "user set dave --admin --admin-group acme", Some("only root gives or takes admin rights")),
            (Full, "user set eve --no-admin", Some("only root gives or takes admin rights")),
            (Full, "passwd dave --stdin", None),
            (Full, "passwd dave", Some("give the new password on standard input (--stdin)")),
            (Full, "user del carol --remove-files", None),
            (Full, "key add dave ssh-ed25519", None),
            (Full, "key add dave --file -", None),
            (Full, "rule add eve /x read", None),
            (Full, "group members beta --remove carol", None),
            (Full, "group add x", Some(ROOT_ONLY)),
            (Full, "group set acme --protocols ssh", Some(ROOT_ONLY)),
            (Full, "group del acme", Some(ROOT_ONLY)),
            (Full, "group rule add acme / read", Some(ROOT_ONLY)),
            (Full, "group show acme", Some(ROOT_ONLY)),
            (Full, "totp enable alice", Some(ROOT_ONLY)),
            (Full, "invite alice", Some(ROOT_ONLY)),
            (Full, "apppass list alice", Some(ROOT_ONLY)),
            (Full, "unlock alice", Some(ROOT_ONLY)),
            (Full, "admin grant zed", Some(ROOT_ONLY)),
            (Full, "admin list", Some(ROOT_ONLY)),
            (Full, "export --json", Some(ROOT_ONLY)),
            (Full, "import csv x.csv", Some(ROOT_ONLY)),
            (Full, "check alice", Some(ROOT_ONLY)),
            (Full, "status", Some(ROOT_ONLY)),
            (Full, "db migrate", Some(ROOT_ONLY)),
            // Root through gatehoused is a full admin: the same subset and flags.
            (Root, "user show carol", None),
            (Root, "user set dave --admin", Some("only root gives or takes admin rights")),
            (Root, "group del acme", Some(ROOT_ONLY)),
            // A group admin of acme: managed users only.
            (Acme, "user list", Some("list with --group naming one of your groups (acme)")),
            (Acme, "user list --group acme --inactive", None),
            (Acme, "user list --group beta", Some("group beta is not one of yours")),
            (Acme, "user show alice", None),
            (Acme, "user show bob", None),
            (Acme, "user show carol", Some(NOT_YOURS)),
            (Acme, "user show dave", Some(NOT_YOURS)),
            (Acme, "user show eve", Some(NOT_YOURS)),
            (Acme, "user show ghost", Some(NOT_YOURS)),
            (Acme, "user add newbie --group acme", None),
            (Acme, "user add newbie", Some("a new user needs --group naming one of your groups")),
            (Acme, "user add newbie --group beta", Some("group beta is not one of yours")),
            (Acme, "user add newbie --group acme --group beta", Some("group beta is not one of yours")),
            (Acme, &carol_root, Some("the root of a user you do not manage")),
            (Acme, &alice_root, None),
            (Acme, "user add newbie --group acme --uid 5000500", Some("only root picks a uid")),
            (Acme, "user set alice --mode r --protocols ssh --allow-ip 10.0.0.0/8", None),
            (Acme, "user set alice --group beta", Some("group admins change memberships")),
            (Acme, "user set alice --no-groups", Some("group admins change memberships")),
            (Acme, "user set alice --admin", Some("only root gives or takes admin rights")),
            (Acme, "user set carol --mode r", Some(NOT_YOURS)),
            (Acme, &set_carol_root, Some("the root of a user you do not manage")),
            (Acme, "passwd alice --stdin", None),
            (Acme, "passwd carol --stdin", Some(NOT_YOURS)),
            (Acme, "key add alice ssh-ed25519", None),
            (Acme, "key list carol", Some(NOT_YOURS)),
            (Acme, "key del alice SHA256:x", None),
            (Acme, "rule add alice /in write", None),
            (Acme, "rule list dave", Some(NOT_YOURS)),
            (Acme, "rule del alice /in", None),
            (Acme, "user del alice", None),
            (Acme, "user del eve", Some(NOT_YOURS)),
            (Acme, "group members acme", None),
            (Acme, "group members beta", Some("group beta is not one of yours")),
            (Acme, "group members acme --add bob", None),
            (Acme, "group members acme --add carol", Some(NOT_YOURS)),
            (Acme, "group members acme --remove alice", Some("alice would leave the last of your groups")),
            (Acme, "group members acme --remove bob", Some("bob would leave the last of your groups")),
            (Acme, "group add x", Some(ROOT_ONLY)),
            (Acme, "admin list", Some(ROOT_ONLY)),
            // A group admin of acme and beta (through a Unix group).
            (AcmeBeta, "user show carol", None),
            (AcmeBeta, "group members acme --remove bob", None),
            (AcmeBeta, "group members beta --remove carol", Some("carol would leave the last of your groups")),
            (AcmeBeta, "user show dave", Some(NOT_YOURS)),
            // No role: nothing.
            (Nobody, "user list", Some("no gatehouse admin role")),
            (Nobody, "user show alice", Some("no gatehouse admin role")),
        ];
        assert!(table.len() >= 40);
        let mut wrong = Vec::new();
        for (role, words, expect) in &table {
            let got = decide(&store, *role, words).await;
            let ok = match (expect, &got) {
                (None, Ok(())) => true,
                (Some(part), Err(why)) => why.contains(part),
                _ => false,
            };
            if !ok {
                wrong.push(format!("{role:?} `{words}`: expected {expect:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{} of {} rows wrong:\n{}", wrong.len(), table.len(), wrong.join("\n"));
    }

    /// Every command the words can express is judged; the delegable subset is exactly the
    /// documented one.
    #[test]
    fn the_subset_is_the_documented_one() {
        let delegable = |w: &str| {
            let cli = crate::cli::Cli::try_parse_from(std::iter::once("gatehouse").chain(w.split(' '))).unwrap();
            is_delegable(&crate::cli::convert::convert(cli.command).unwrap().cmd)
        };
        for w in ["user list", "user show a", "user add a", "user set a --mode r", "user del a", "passwd a --stdin"] {
            assert!(delegable(w), "{w}");
        }
        for w in ["key add a k", "key list a", "key del a k", "rule add a / read", "rule list a", "rule del a /"] {
            assert!(delegable(w), "{w}");
        }
        for w in ["group members g", "group members g --add a", "group members g --remove a"] {
            assert!(delegable(w), "{w}");
        }
        for w in ["group list", "group rule list g", "group rule del g /", "apppass add a --label l", "totp disable a"]
        {
            assert!(!delegable(w), "{w}");
        }
    }
}
