//! The typed command layer: every `gatehouse` command as a plain value ([`Command`]), run by one
//! function ([`run`]) that answers with a typed [`Output`] or a [`CommandError`].
//!
//! **Why it exists.** Three front ends run the same commands: root's `gatehouse` CLI, gatehoused
//! for a delegated admin (`daemon::admin`, also reached by `ssh bob@host gatehouse …` through
//! gatehouse-sftp), and later the HTTP API. Each front end parses its own syntax into a
//! [`Command`], reads what comes from outside the command into an [`Input`] (a password from
//! standard input or a prompt, key lines, an import file: [`Command::wants`] says what), asks
//! [`authorize`] when the caller is not root's own CLI, calls [`run`], and renders the
//! [`Output`] (`cli::render`: text, or the `--json` shape). This layer never reads standard
//! input, never prompts and never opens a file on a caller's behalf, and it keeps no ambient
//! state: what differs between front ends (removing a deleted user's root in process, or
//! through gatehouse-tasks' socket) is in the [`Actor`] passed in.
//!
//! **Values are parsed before they get here** where that is cheap and independent of the
//! database: modes, levels, networks, times, sizes, protocol lists and durations arrive typed
//! (`cli::convert` turns the words into them), so the authoriser and the store see the values
//! that will be stored. Names stay strings (they are looked up by the store, which answers
//! "not found"), rule paths are checked by `Rule::new` inside [`run`], and `check`'s inputs are
//! validated inside [`run`], because a row this host does not serve is the one answer `check`
//! gives, before its inputs are judged.
//!
//! **Adding a command** (or a field): add it to [`Command`] (or its struct); the compiler then
//! walks you through every place that must decide about it: [`authorize`] (which destructures
//! every field of every command, with no `..` and no catch-all, so nobody forgets to judge a
//! new option for delegated and group admins: error E0027 "pattern does not mention field"),
//! [`run`] and the area's function (which destructure their structs too), `cli::convert` (the
//! clap words), and, for a new [`Output`], `cli::render` (text and JSON, both exhaustive). Only
//! [`Command::wants`] has a catch-all: a command that needs input from outside adds its arm
//! there, and a front end that does not read it answers with a one-line usage error.
//!
//! **Errors** are [`CommandError`]s, each carrying the one line the user sees; [`exit_code`]
//! is the one place that maps a result to an exit status (0, `check` 1 on a deny, `status`
//! and `db status` 1 on a missing part, 2 on any error).
use crate::store::{AdminRole, AppPassword, DbStatus, GroupChanges, RuleOwner, Store, StoreError, UserChanges};
use gatehouse_policy::model::{Group, PasswordSource, User};
use gatehouse_policy::rules::{Level, Mode, Rule};
use gatehouse_policy::secret::Secret;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

mod admins;
pub mod authorize;
mod check;
mod credentials;
mod groups;
mod imports;
mod keys;
pub(crate) mod mail;
pub mod status;
mod users;

pub use authorize::{authorize, is_delegable, manages, Denied};
pub use check::{Answer, CheckReport};
pub use status::Part;

/// One command, with its values parsed. Names (of users, groups, principals) are as given: a
/// name or an id, resolved by the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `user add`.
    UserAdd(UserAdd),
    /// `user set`.
    UserSet(UserSet),
    /// `user show`.
    UserShow {
        /// User name or id.
        name: String,
    },
    /// `user list`.
    UserList(UserList),
    /// `user del`.
    UserDel {
        /// User name or id.
        name: String,
        /// Also remove the user's root (refused if shared or outside the prefixes).
        remove_files: bool,
    },
    /// `passwd`: a new password, from [`Input::password`].
    Passwd {
        /// User name or id.
        name: String,
        /// Where the front end takes the password from.
        from: PasswordFrom,
    },
    /// `unlock`: clear the failed-login count and lock.
    Unlock {
        /// User name or id.
        name: String,
    },
    /// `key add`.
    KeyAdd {
        /// User name or id.
        user: String,
        /// The key line, or where the front end reads key lines from.
        keys: KeysFrom,
    },
    /// `key list`.
    KeyList {
        /// User name or id.
        user: String,
    },
    /// `key del`.
    KeyDel {
        /// User name or id.
        user: String,
        /// Fingerprint or comment.
        key: String,
    },
    /// `rule add` (user rules).
    RuleAdd {
        /// User name or id.
        user: String,
        /// The path as the user sees it (checked by `Rule::new`).
        path: String,
        /// The level.
        level: Level,
    },
    /// `rule list`.
    RuleList {
        /// User name or id.
        user: String,
    },
    /// `rule del`.
    RuleDel {
        /// User name or id.
        user: String,
        /// The rule's path, as listed.
        path: String,
    },
    /// `totp enable`.
    TotpEnable {
        /// User name or id.
        name: String,
        /// Replace an existing secret.
        replace: bool,
    },
    /// `totp disable`.
    TotpDisable {
        /// User name or id.
        name: String,
    },
    /// `invite`.
    Invite {
        /// User name or id.
        name: String,
        /// How long the code works, in seconds (more than 0).
        expires_in: u64,
        /// Mail the code through `[mail] sendmail` instead of answering it.
        mail: bool,
    },
    /// `apppass add`.
    AppPassAdd {
        /// User name or id.
        name: String,
        /// Unique per user.
        label: String,
        /// Protocols it is for (empty: every protocol the user has).
        protocols: Vec<String>,
        /// When it stops working.
        expires_at: Option<i64>,
    },
    /// `apppass list`.
    AppPassList {
        /// User name or id.
        name: String,
    },
    /// `apppass revoke`.
    AppPassRevoke {
        /// User name or id.
        name: String,
        /// The label given at `apppass add`.
        label: String,
    },
    /// `group add`.
    GroupAdd(GroupAdd),
    /// `group set`.
    GroupSet(GroupSet),
    /// `group list`.
    GroupList,
    /// `group show`.
    GroupShow {
        /// Group name or id.
        name: String,
    },
    /// `group del`.
    GroupDel {
        /// Group name or id.
        name: String,
    },
    /// `group members NAME`: the list.
    GroupMembers {
        /// Group name or id.
        name: String,
    },
    /// `group members NAME --add U…`.
    GroupMembersAdd {
        /// Group name or id.
        name: String,
        /// Users to add (names or ids).
        users: Vec<String>,
    },
    /// `group members NAME --remove U…`.
    GroupMembersRemove {
        /// Group name or id.
        name: String,
        /// Users to remove (names or ids).
        users: Vec<String>,
    },
    /// `group rule add`.
    GroupRuleAdd {
        /// Group name or id.
        group: String,
        /// The path as members see it (checked by `Rule::new`).
        path: String,
        /// The level.
        level: Level,
    },
    /// `group rule list`.
    GroupRuleList {
        /// Group name or id.
        group: String,
    },
    /// `group rule del`.
    GroupRuleDel {
        /// Group name or id.
        group: String,
        /// The rule's path.
        path: String,
    },
    /// `check`.
    Check(CheckQuery),
    /// `import passwd|csv|sftpgo`: the file's text comes in [`Input::text`].
    Import(Import),
    /// `export`: every user and group.
    Export,
    /// `status`: every part of the host's wiring.
    Status,
    /// `db migrate`.
    DbMigrate,
    /// `db status`.
    DbStatus,
    /// `admin grant`.
    AdminGrant {
        /// A local account, or `%unixgroup`.
        principal: String,
        /// The group the role manages (`None`: every user).
        group: Option<String>,
    },
    /// `admin revoke`.
    AdminRevoke {
        /// A local account, or `%unixgroup`.
        principal: String,
        /// The group of the role (`None`: the full-admin role).
        group: Option<String>,
    },
    /// `admin list`.
    AdminList,
}

/// `user add`: the new user's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAdd {
    /// The login name (validated).
    pub name: String,
    /// A password comes in [`Input::password`] (`--password-stdin`).
    pub password_stdin: bool,
    /// Active from the start (not `--inactive`).
    pub active: bool,
    /// A chosen uid (root only).
    pub uid: Option<u32>,
    /// Profile.
    pub display_name: String,
    /// Profile.
    pub email: String,
    /// Profile.
    pub locale: String,
    /// Profile.
    pub time_zone: String,
    /// The root (default: `home_base/NAME`).
    pub root: Option<String>,
    /// Mode cap (default: the config's).
    pub mode: Option<Mode>,
    /// Delete allowed (not `--no-delete`).
    pub delete_allowed: bool,
    /// Allowed client networks.
    pub allowed_ips: Vec<IpNet>,
    /// Denied client networks.
    pub denied_ips: Vec<IpNet>,
    /// Protocols (default: the config's).
    pub protocols: Option<Vec<String>>,
    /// Group memberships.
    pub groups: Vec<String>,
    /// Host scope (fleets).
    pub hosts: Vec<String>,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Upload cap in bytes.
    pub max_file_size: Option<u64>,
    /// Where the password is checked.
    pub password_source: PasswordSource,
}

/// `user set`: the store's change set, and a change of admin rights.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserSet {
    /// User name or id.
    pub name: String,
    /// The fields that change (`changes.admin` is the bare flag; the CLI leaves it `None` and
    /// gives `admin`).
    pub changes: UserChanges,
    /// The admin flag and roles (root only).
    pub admin: Option<AdminChange>,
}

/// A change of a gatehouse user's admin rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminChange {
    /// Admin of every user (no groups) or of these groups.
    Grant(Vec<String>),
    /// The flag and every role taken away.
    Revoke,
}

/// `user list`: filters, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserList {
    /// `FIELD=VALUE` filters (checked by the store's query builder).
    pub filter: Vec<String>,
    /// Only disabled accounts.
    pub inactive: bool,
    /// Only expired accounts.
    pub expired: bool,
    /// Only locked accounts.
    pub locked: bool,
    /// Only members of this group.
    pub group: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Start after this name.
    pub after: Option<String>,
}

/// `group add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupAdd {
    /// Group name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Allowed networks for members.
    pub allowed_ips: Vec<IpNet>,
    /// Denied networks for members.
    pub denied_ips: Vec<IpNet>,
    /// Protocols granted to members.
    pub protocols: Vec<String>,
    /// Host scope.
    pub hosts: Vec<String>,
}

/// `group set`: the store's change set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupSet {
    /// Group name or id.
    pub name: String,
    /// The fields that change.
    pub changes: GroupChanges,
}

/// `check`: the questions, as given (validated inside [`run`], after the user's row).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckQuery {
    /// User name or id.
    pub name: String,
    /// Client address.
    pub ip: Option<String>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Path the client sees (with `op`).
    pub path: Option<String>,
    /// Operation (with `path`).
    pub op: Option<String>,
    /// Rename target.
    pub to: Option<String>,
    /// The rename target exists.
    pub target_exists: bool,
}

/// `import …`: which format, and the names of its files (the front end reads them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The format.
    pub kind: ImportKind,
    /// The file's name, as the operator gave it (named in errors and in the audit log).
    pub file: String,
    /// Check everything, change nothing.
    pub dry_run: bool,
}

/// An import format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    /// A passwd file, with its shadow file's name if one is given ([`Input::shadow`]).
    Passwd {
        /// The shadow file's name.
        shadow: Option<String>,
        /// Keep the file's uids.
        keep_uids: bool,
    },
    /// CSV with a header row.
    Csv,
    /// An SFTPGo dump.
    Sftpgo,
}

/// Where `passwd` takes the new password from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordFrom {
    /// One line of standard input (`--stdin`).
    Stdin,
    /// Typed twice at a prompt on the terminal.
    Prompt,
}

/// Where `key add` takes its keys from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeysFrom {
    /// One key line, given in the command.
    Line(String),
    /// Key lines in a file the front end reads (`-`: standard input) into [`Input::text`].
    File(String),
}

/// What a command needs from outside itself, read by the front end into an [`Input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants<'a> {
    /// Nothing.
    Nothing,
    /// A password: the first line of standard input.
    PasswordLine,
    /// A new password for this user, typed twice at a prompt.
    PasswordPrompt {
        /// User name or id, as given.
        user: &'a str,
    },
    /// Key lines from this file (`-`: standard input).
    KeyFile {
        /// The path as given.
        path: &'a str,
    },
    /// An import's file and, for passwd, its shadow file.
    ImportFiles {
        /// The main file.
        file: &'a str,
        /// The shadow file.
        shadow: Option<&'a str>,
    },
}

impl Command {
    /// What the front end must read for this command.
    pub fn wants(&self) -> Wants<'_> {
        match self {
            Command::UserAdd(UserAdd { password_stdin: true, .. }) => Wants::PasswordLine,
            Command::Passwd { from: PasswordFrom::Stdin, .. } => Wants::PasswordLine,
            Command::Passwd { name, from: PasswordFrom::Prompt } => Wants::PasswordPrompt { user: name },
            Command::KeyAdd { keys: KeysFrom::File(path), .. } => Wants::KeyFile { path },
            Command::Import(Import { kind, file, .. }) => Wants::ImportFiles {
                file,
                shadow: match kind {
                    ImportKind::Passwd { shadow, .. } => shadow.as_deref(),
                    ImportKind::Csv | ImportKind::Sftpgo => None,
                },
            },
            _ => Wants::Nothing,
        }
    }
}

/// What comes from outside the command, read by the front end as [`Command::wants`] asks.
#[derive(Debug, Default)]
pub struct Input {
    /// A password (standard input's first line, or the prompt's answer).
    pub password: Option<Secret>,
    /// Key lines (`key add --file`), or the import file's text.
    pub text: Option<String>,
    /// `import passwd`'s shadow file's text.
    pub shadow: Option<String>,
}

/// Who runs a command and how this front end reaches what the store does not hold.
pub struct Actor<'a> {
    /// Named in the audit log (`root`, `alice`, `gatehouse:bob`).
    pub name: String,
    /// Removes a deleted user's root (`user del --remove-files`).
    pub roots: &'a dyn RemoveRoot,
}

/// How a deleted user's root is removed: in process when root runs the CLI ([`InProcess`]), or
/// through gatehouse-tasks when gatehoused runs a delegated admin's command
/// ([`ThroughTasks`]: the daemon has no right to users' files).
pub trait RemoveRoot: Sync {
    /// Removes `root` (owned by `owner`); the error is the one-line reason.
    fn remove_root(&self, store: &Store, root: &str, owner: u32) -> Result<gatehouse_tasks::Removed, String>;
}

/// Removes roots in this process (root's CLI; the walk never follows a symlink).
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl RemoveRoot for InProcess {
    fn remove_root(&self, store: &Store, root: &str, owner: u32) -> Result<gatehouse_tasks::Removed, String> {
        gatehouse_tasks::remove_root(store.config(), root, &[], owner).map_err(|e| e.to_string())
    }
}

/// Asks gatehouse-tasks at its socket (gatehoused; the helper applies the same checks again).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThroughTasks;

impl RemoveRoot for ThroughTasks {
    fn remove_root(&self, _store: &Store, root: &str, owner: u32) -> Result<gatehouse_tasks::Removed, String> {
        use crate::tasks::call;
        use gatehouse_tasks::proto::{Request, Response};
        let req = Request::RemoveRoot { root: root.to_string(), sharers: Vec::new(), owner };
        let socket = std::path::Path::new(gatehouse_policy::config::TASKS_SOCKET_PATH);
        match call(socket, &req, std::time::Duration::from_secs(30)).map_err(|e| e.to_string())? {
            Response::Ok => Ok(gatehouse_tasks::Removed::Removed),
            Response::Absent => Ok(gatehouse_tasks::Removed::Absent),
            other => Err(format!("gatehouse-tasks answered {other:?}")),
        }
    }
}

/// What a command answers. Secrets shown once (TOTP secret, invitation code, app password) are
/// [`Secret`]s: only a renderer exposes them, on purpose.
#[derive(Debug)]
pub enum Output {
    /// A change done; the line says what.
    Done(String),
    /// `user add`.
    UserAdded(User),
    /// `user set`: the user as it was called before, and as it is now.
    UserUpdated {
        /// The name before a rename.
        before: String,
        /// The user now.
        user: User,
    },
    /// `user del`.
    UserDeleted {
        /// The deleted user.
        user: User,
        /// What happened to the root.
        files: Files,
    },
    /// `user show`.
    User(Box<User>),
    /// `user list`.
    Users(Vec<User>),
    /// `key add`: the keys added.
    KeysAdded(Vec<gatehouse_policy::keys::PublicKey>),
    /// `key list`.
    Keys(Vec<gatehouse_policy::keys::PublicKey>),
    /// `rule list`, `group rule list`.
    Rules(Vec<Rule>),
    /// `totp enable`.
    TotpEnabled {
        /// The user's name.
        user: String,
        /// The new secret (shown once).
        secret: Secret,
        /// The otpauth:// URI (it holds the secret).
        uri: Secret,
    },
    /// `invite`: the code (shown once).
    Invited {
        /// The user's name.
        user: String,
        /// The one-time code.
        code: Secret,
        /// When it stops working.
        expires_at: i64,
    },
    /// `invite --mail`.
    InviteMailed {
        /// The user's name.
        user: String,
        /// The address it went to.
        mailed_to: String,
        /// When it stops working.
        expires_at: i64,
    },
    /// `apppass add`.
    AppPasswordAdded {
        /// The user as named in the command.
        user: String,
        /// The record.
        app_password: AppPassword,
        /// The token (shown once).
        token: Secret,
    },
    /// `apppass list`.
    AppPasswords(Vec<AppPassword>),
    /// `group add`.
    GroupAdded(Group),
    /// `group show`.
    Group(Group),
    /// `group list`.
    Groups(Vec<Group>),
    /// `group members`.
    Members(Vec<String>),
    /// `check`.
    Check(CheckReport),
    /// `import`.
    Imported(Imported),
    /// `export`.
    Export {
        /// Every user (with password hashes: a backup).
        users: Vec<User>,
        /// Every group.
        groups: Vec<Group>,
    },
    /// `status`.
    Status(Vec<Part>),
    /// `db migrate`: the versions applied.
    Migrated(Vec<i64>),
    /// `db status`.
    DbStatus(DbStatus),
    /// `admin grant`.
    Granted(AdminRole),
    /// `admin list`.
    AdminRoles(Vec<AdminRole>),
}

/// What `user del` did with the user's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Files {
    /// Kept (no `--remove-files`).
    Kept,
    /// Removed.
    Removed,
    /// There was nothing to remove.
    Absent,
}

/// What an import did (or would do, in a dry run).
#[derive(Debug)]
pub struct Imported {
    /// Nothing was changed.
    pub dry_run: bool,
    /// The users imported (or that would be), in input order.
    pub names: Vec<String>,
    /// How many the store took.
    pub count: usize,
    /// Users skipped, with why.
    pub skipped: Vec<(String, String)>,
    /// Notes about the input.
    pub notes: Vec<String>,
}

impl Output {
    /// The exit status of an answer: `check` 1 when a decision denies, `status` and `db
    /// status` 1 when a part is missing; 0 otherwise.
    pub fn status(&self) -> i32 {
        let failed = match self {
            Output::Check(r) => !r.allowed,
            Output::Status(parts) => !parts.iter().all(|p| p.ok),
            Output::DbStatus(st) => !st.pending.is_empty(),
            _ => false,
        };
        i32::from(failed)
    }
}

/// Why a command failed. Each message is the one line the user sees.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The database said no or failed: not found, already exists, unreachable, a store rule.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value broke a rule of the policy (a name, path, level, network, password policy, an
    /// import file's line).
    #[error("{0}")]
    Policy(String),
    /// The command was used wrongly: nothing to change, input missing, options that do not go
    /// together.
    #[error("{0}")]
    Usage(String),
    /// The caller's admin role does not allow the command (see [`authorize`]).
    #[error("{0}")]
    Denied(#[from] Denied),
    /// Something outside the database failed: the sendmail program, removing files,
    /// gatehouse-tasks, reading the breached-password list.
    #[error("{0}")]
    Io(String),
}

impl From<gatehouse_policy::PolicyError> for CommandError {
    fn from(e: gatehouse_policy::PolicyError) -> Self {
        CommandError::Policy(e.to_string())
    }
}

impl From<crate::import::ImportError> for CommandError {
    fn from(e: crate::import::ImportError) -> Self {
        CommandError::Policy(e.to_string())
    }
}

impl CommandError {
    /// A usage error with this text.
    pub fn usage(msg: impl Into<String>) -> Self {
        CommandError::Usage(msg.into())
    }
}

/// The exit status of a command's result, for every front end: the answer's own
/// ([`Output::status`]), or 2 for any error.
pub fn exit_code(result: Result<&Output, &CommandError>) -> i32 {
    match result {
        Ok(out) => out.status(),
        Err(_) => 2,
    }
}

/// Runs one command for `actor` on an open store, with what the front end read for it. Root's
/// CLI calls this directly; gatehoused calls [`authorize`] first.
pub async fn run(store: &Store, actor: &Actor<'_>, cmd: Command, input: Input) -> Result<Output, CommandError> {
    let who = actor.name.as_str();
    match cmd {
        Command::UserAdd(a) => users::add(store, who, a, input).await,
        Command::UserSet(s) => users::set(store, who, s).await,
        Command::UserShow { name } => Ok(Output::User(Box::new(store.get_user(&name).await?))),
        Command::UserList(q) => users::list(store, q).await,
        Command::UserDel { name, remove_files } => users::delete(store, actor, &name, remove_files).await,
        Command::Passwd { name, from: _ } => credentials::passwd(store, who, &name, input).await,
        Command::Unlock { name } => {
            store.unlock(who, &name).await?;
            Ok(Output::Done(format!("unlocked {name}")))
        }
        Command::KeyAdd { user, keys } => keys::add(store, who, &user, keys, input).await,
        Command::KeyList { user } => Ok(Output::Keys(store.get_user(&user).await?.keys)),
        Command::KeyDel { user, key } => {
            let n = store.del_key(who, &user, &key).await?;
            Ok(Output::Done(format!("deleted {n} key(s)")))
        }
        Command::RuleAdd { user, path, level } => {
            keys::add_rule(store, who, RuleOwner::User, &user, &path, level).await
        }
        Command::RuleList { user } => Ok(Output::Rules(store.get_user(&user).await?.rules)),
        Command::RuleDel { user, path } => keys::del_rule(store, who, RuleOwner::User, &user, &path).await,
        Command::TotpEnable { name, replace } => credentials::totp_enable(store, who, &name, replace).await,
        Command::TotpDisable { name } => {
            let u = store.totp_disable(who, &name).await?;
            Ok(Output::Done(format!("TOTP disabled for {}", u.name)))
        }
        Command::Invite { name, expires_in, mail } => credentials::invite(store, who, &name, expires_in, mail).await,
        Command::AppPassAdd { name, label, protocols, expires_at } => {
            let (app_password, token) = store.add_app_password(who, &name, &label, protocols, expires_at).await?;
            Ok(Output::AppPasswordAdded { user: name, app_password, token })
        }
        Command::AppPassList { name } => Ok(Output::AppPasswords(store.list_app_passwords(&name).await?)),
        Command::AppPassRevoke { name, label } => {
            store.revoke_app_password(who, &name, &label).await?;
            Ok(Output::Done(format!("revoked app password {label:?} of {name}")))
        }
        Command::GroupAdd(g) => groups::add(store, who, g).await,
        Command::GroupSet(s) => groups::set(store, who, s).await,
        Command::GroupList => Ok(Output::Groups(store.list_groups().await?)),
        Command::GroupShow { name } => Ok(Output::Group(store.get_group(&name).await?)),
        Command::GroupDel { name } => {
            let g = store.delete_group(who, &name).await?;
            Ok(Output::Done(format!("deleted group {} ({} members kept as users)", g.name, g.members.len())))
        }
        Command::GroupMembers { name } => Ok(Output::Members(store.get_group(&name).await?.members)),
        Command::GroupMembersAdd { name, users } => {
            store.add_members(who, &name, &users).await?;
            Ok(Output::Done(format!("added {} to {name}", users.join(", "))))
        }
        Command::GroupMembersRemove { name, users } => {
            store.remove_members(who, &name, &users).await?;
            Ok(Output::Done(format!("removed {} from {name}", users.join(", "))))
        }
        Command::GroupRuleAdd { group, path, level } => {
            keys::add_rule(store, who, RuleOwner::Group, &group, &path, level).await
        }
        Command::GroupRuleList { group } => Ok(Output::Rules(store.get_group(&group).await?.rules)),
        Command::GroupRuleDel { group, path } => keys::del_rule(store, who, RuleOwner::Group, &group, &path).await,
        Command::Check(q) => check::run(store, q).await,
        Command::Import(i) => imports::import(store, who, i, input).await,
        Command::Export => {
            Ok(Output::Export { users: store.list_users(None, None).await?, groups: store.list_groups().await? })
        }
        Command::Status => Ok(Output::Status(status::run(Ok(store)).await)),
        Command::DbMigrate => Ok(Output::Migrated(store.migrate().await?)),
        Command::DbStatus => Ok(Output::DbStatus(store.status().await?)),
        Command::AdminGrant { principal, group } => admins::grant(store, who, &principal, group.as_deref()).await,
        Command::AdminRevoke { principal, group } => admins::revoke(store, who, &principal, group).await,
        Command::AdminList => Ok(Output::AdminRoles(store.list_admins().await?)),
    }
}

/// `status` when the database cannot be reached: every other part is still reported.
pub async fn status_without_store(why: String) -> Output {
    Output::Status(status::run(Err(why)).await)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Commands travel as JSON (the HTTP API's requests) and come back the same, including a
    /// change that removes a value (`Some(None)`) next to one that leaves it (`None`).
    #[test]
    fn commands_round_trip_through_json() {
        let changes = UserChanges { expires_at: Some(None), mode: Some(Mode::R), ..UserChanges::default() };
        let cmds = [
            Command::UserSet(UserSet { name: "alice".into(), changes, admin: Some(AdminChange::Revoke) }),
            Command::UserSet(UserSet {
                name: "bob".into(),
                changes: UserChanges { max_file_size: Some(Some(5)), ..UserChanges::default() },
                admin: None,
            }),
            Command::KeyAdd { user: "alice".into(), keys: KeysFrom::File("-".into()) },
            Command::RuleAdd { user: "alice".into(), path: "/in".into(), level: Level::Upload },
            Command::Passwd { name: "alice".into(), from: PasswordFrom::Stdin },
            Command::GroupList,
        ];
        for cmd in cmds {
            let text = serde_json::to_string(&cmd).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), cmd, "{text}");
        }
    }
}
