//! The clap words ([`args::Command`]) as a typed [`Command`], with its values parsed: shared by
//! root's CLI and gatehoused's admin requests, so both accept exactly the same words.
use super::args::{self, AdminCmd, AppPassCmd, DbCmd, GroupCmd, GroupRuleCmd, ImportCmd, KeyCmd, RuleCmd, TotpCmd};
use super::args::{UserCmd, UserFields};
use crate::command::{self, AdminChange, Command, CommandError, ImportKind, KeysFrom, PasswordFrom};
use crate::store::{GroupChanges, UserChanges};
use gatehouse_policy::model::{parse_protocols, parse_size, parse_time};
use gatehouse_policy::rules::{Level, Mode};
use ipnet::IpNet;

type R<T> = Result<T, CommandError>;

/// A command and how its answer is to be shown.
#[derive(Debug)]
pub struct Parsed {
    /// The command.
    pub cmd: Command,
    /// `--json`: the answer as JSON (always for `export`).
    pub json: bool,
}

fn ips(field: &'static str, v: &[String]) -> R<Vec<IpNet>> {
    Ok(v.iter().map(|s| gatehouse_policy::ip::parse_net(field, s)).collect::<Result<_, _>>()?)
}

fn mode(s: Option<&str>) -> R<Option<Mode>> {
    Ok(s.map(str::parse).transpose()?)
}

fn size(s: Option<&str>) -> R<Option<u64>> {
    Ok(s.map(|v| parse_size("max_file_size", v)).transpose()?)
}

fn time(s: Option<&str>) -> R<Option<i64>> {
    Ok(s.map(|e| parse_time("expires", e)).transpose()?)
}

fn protocols(s: Option<&str>) -> R<Option<Vec<String>>> {
    Ok(s.map(parse_protocols).transpose()?)
}

fn level(s: &str) -> R<Level> {
    Ok(s.parse()?)
}

/// `Some(true)` / `Some(false)` for a pair of opposite flags, `None` for neither.
fn flag(yes: bool, no: bool) -> Option<bool> {
    if yes {
        Some(true)
    } else if no {
        Some(false)
    } else {
        None
    }
}

/// Converts the parsed words; a value that does not parse is the same one-line error as
/// before the command layer.
pub fn convert(cmd: args::Command) -> R<Parsed> {
    let (cmd, json) = match cmd {
        args::Command::User(c) => user(c)?,
        args::Command::Passwd { name, stdin } => {
            (Command::Passwd { name, from: if stdin { PasswordFrom::Stdin } else { PasswordFrom::Prompt } }, false)
        }
        args::Command::Key(KeyCmd::Add { user, key, file }) => {
            let keys = match (key, file) {
                (Some(k), _) => KeysFrom::Line(k),
                (None, Some(f)) => KeysFrom::File(f),
                (None, None) => return Err(CommandError::usage("give a key or --file")),
            };
            (Command::KeyAdd { user, keys }, false)
        }
        args::Command::Key(KeyCmd::List { user, json }) => (Command::KeyList { user }, json),
        args::Command::Key(KeyCmd::Del { user, key }) => (Command::KeyDel { user, key }, false),
        args::Command::Totp(TotpCmd::Enable { name, replace, json }) => (Command::TotpEnable { name, replace }, json),
        args::Command::Totp(TotpCmd::Disable { name }) => (Command::TotpDisable { name }, false),
        args::Command::Invite { name, expires_in, mail, json } => {
            let expires_in = gatehouse_policy::config::parse_duration("expires-in", &expires_in)?;
            (Command::Invite { name, expires_in, mail }, json)
        }
        args::Command::Apppass(AppPassCmd::Add { name, label, protocols: p, expires, json }) => {
            let protocols = protocols(p.as_deref())?.unwrap_or_default();
            (Command::AppPassAdd { name, label, protocols, expires_at: time(expires.as_deref())? }, json)
        }
        args::Command::Apppass(AppPassCmd::List { name, json }) => (Command::AppPassList { name }, json),
        args::Command::Apppass(AppPassCmd::Revoke { name, label }) => (Command::AppPassRevoke { name, label }, false),
        args::Command::Rule(RuleCmd::Add { user, path, level: l }) => {
            (Command::RuleAdd { user, path, level: level(&l)? }, false)
        }
        args::Command::Rule(RuleCmd::List { user, json }) => (Command::RuleList { user }, json),
        args::Command::Rule(RuleCmd::Del { user, path }) => (Command::RuleDel { user, path }, false),
        args::Command::Group(c) => group(c)?,
        args::Command::Check(a) => {
            let args::CheckArgs { name, ip, protocol, path, op, to, target_exists, json } = a;
            (Command::Check(command::CheckQuery { name, ip, protocol, path, op, to, target_exists }), json)
        }
        args::Command::Import(c) => {
            let (kind, file, dry_run) = match c {
                ImportCmd::Passwd { passwd, shadow, keep_uids, dry_run } => {
                    (ImportKind::Passwd { shadow, keep_uids }, passwd, dry_run)
                }
                ImportCmd::Csv { file, dry_run } => (ImportKind::Csv, file, dry_run),
                ImportCmd::Sftpgo { file, dry_run } => (ImportKind::Sftpgo, file, dry_run),
            };
            (Command::Import(command::Import { kind, file, dry_run }), false)
        }
        args::Command::Export { json: _ } => (Command::Export, true),
        args::Command::Unlock { name } => (Command::Unlock { name }, false),
        args::Command::Status { json } => (Command::Status, json),
        args::Command::Db(DbCmd::Migrate) => (Command::DbMigrate, false),
        args::Command::Db(DbCmd::Status { json }) => (Command::DbStatus, json),
        args::Command::Admin(AdminCmd::Grant { principal, group }) => (Command::AdminGrant { principal, group }, false),
        args::Command::Admin(AdminCmd::Revoke { principal, group }) => {
            (Command::AdminRevoke { principal, group }, false)
        }
        args::Command::Admin(AdminCmd::List { json }) => (Command::AdminList, json),
    };
    Ok(Parsed { cmd, json })
}

/// The options `user add` and `user set` share, parsed (`delete`/`no_delete` as a flag).
struct Fields {
    email: Option<String>,
    display_name: Option<String>,
    locale: Option<String>,
    time_zone: Option<String>,
    root: Option<String>,
    mode: Option<Mode>,
    delete_allowed: Option<bool>,
    allowed_ips: Vec<IpNet>,
    denied_ips: Vec<IpNet>,
    protocols: Option<Vec<String>>,
    expires_at: Option<i64>,
    groups: Vec<String>,
    max_file_size: Option<u64>,
    password_source: Option<gatehouse_policy::model::PasswordSource>,
    hosts: Option<Vec<String>>,
}

fn fields(f: UserFields) -> R<Fields> {
    let UserFields {
        email,
        display_name,
        locale,
        time_zone,
        root,
        mode: m,
        no_delete,
        delete,
        allow_ip,
        deny_ip,
        protocols: p,
        expires,
        group,
        max_file_size,
        password_source,
        scope,
    } = f;
    Ok(Fields {
        hosts: scope.list(),
        email,
        display_name,
        locale,
        time_zone,
        root,
        mode: mode(m.as_deref())?,
        delete_allowed: flag(delete && !no_delete, no_delete),
        allowed_ips: ips("allowed_ips", &allow_ip)?,
        denied_ips: ips("denied_ips", &deny_ip)?,
        protocols: protocols(p.as_deref())?,
        expires_at: time(expires.as_deref())?,
        groups: group,
        max_file_size: size(max_file_size.as_deref())?,
        password_source,
    })
}

/// A replacement list: cleared, replaced, or left alone when it is empty.
fn replace<T>(clear: bool, v: Vec<T>) -> Option<Vec<T>> {
    if clear {
        Some(Vec::new())
    } else if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

fn user(c: UserCmd) -> R<(Command, bool)> {
    Ok(match c {
        UserCmd::Add { name, password_stdin, inactive, uid, fields: f } => {
            gatehouse_policy::model::validate_name("name", &name)?;
            let f = fields(f)?;
            let add = command::UserAdd {
                uid,
                password_stdin,
                active: !inactive,
                display_name: f.display_name.unwrap_or_default(),
                email: f.email.unwrap_or_default(),
                locale: f.locale.unwrap_or_default(),
                time_zone: f.time_zone.unwrap_or_default(),
                root: f.root,
                mode: f.mode,
                delete_allowed: f.delete_allowed != Some(false),
                allowed_ips: f.allowed_ips,
                denied_ips: f.denied_ips,
                protocols: f.protocols,
                groups: f.groups,
                hosts: f.hosts.unwrap_or_default(),
                expires_at: f.expires_at,
                max_file_size: f.max_file_size,
                password_source: f.password_source.unwrap_or_default(),
                name,
            };
            (Command::UserAdd(add), false)
        }
        UserCmd::Set {
            name,
            new_name,
            active,
            inactive,
            clear_allow_ip,
            clear_deny_ip,
            no_expires,
            no_groups,
            admin,
            admin_group,
            no_admin,
            fields: f,
        } => {
            let f = fields(f)?;
            let changes = UserChanges {
                name: new_name,
                hosts: f.hosts,
                display_name: f.display_name,
                email: f.email,
                locale: f.locale,
                time_zone: f.time_zone,
                root: f.root,
                mode: f.mode,
                delete_allowed: f.delete_allowed,
                allowed_ips: replace(clear_allow_ip, f.allowed_ips),
                denied_ips: replace(clear_deny_ip, f.denied_ips),
                protocols: f.protocols,
                groups: replace(no_groups, f.groups),
                active: flag(active, inactive),
                expires_at: if no_expires { Some(None) } else { f.expires_at.map(Some) },
                max_file_size: f.max_file_size.map(|s| if s == 0 { None } else { Some(s) }),
                admin: None,
                password_source: f.password_source,
            };
            let admin = if admin {
                Some(AdminChange::Grant(admin_group))
            } else if no_admin {
                Some(AdminChange::Revoke)
            } else {
                None
            };
            (Command::UserSet(command::UserSet { name, changes, admin }), false)
        }
        UserCmd::Show { name, json } => (Command::UserShow { name }, json),
        UserCmd::List { json, filter, inactive, expired, locked, group, limit, after } => {
            (Command::UserList(command::UserList { filter, inactive, expired, locked, group, limit, after }), json)
        }
        UserCmd::Del { name, remove_files } => (Command::UserDel { name, remove_files }, false),
    })
}

fn group(c: GroupCmd) -> R<(Command, bool)> {
    Ok(match c {
        GroupCmd::Add { name, description, allow_ip, deny_ip, protocols: p, scope } => {
            let add = command::GroupAdd {
                name,
                description,
                allowed_ips: ips("allowed_ips", &allow_ip)?,
                denied_ips: ips("denied_ips", &deny_ip)?,
                protocols: parse_protocols(&p)?,
                hosts: scope.list().unwrap_or_default(),
            };
            (Command::GroupAdd(add), false)
        }
        GroupCmd::Set {
            name,
            new_name,
            description,
            allow_ip,
            clear_allow_ip,
            deny_ip,
            clear_deny_ip,
            protocols: p,
            scope,
        } => {
            let changes = GroupChanges {
                name: new_name,
                description,
                hosts: scope.list(),
                allowed_ips: replace(clear_allow_ip, ips("allowed_ips", &allow_ip)?),
                denied_ips: replace(clear_deny_ip, ips("denied_ips", &deny_ip)?),
                protocols: protocols(p.as_deref())?,
            };
            (Command::GroupSet(command::GroupSet { name, changes }), false)
        }
        GroupCmd::List { json } => (Command::GroupList, json),
        GroupCmd::Show { name, json } => (Command::GroupShow { name }, json),
        GroupCmd::Del { name } => (Command::GroupDel { name }, false),
        GroupCmd::Members { name, add, remove, json } => {
            if !add.is_empty() {
                (Command::GroupMembersAdd { name, users: add }, json)
            } else if !remove.is_empty() {
                (Command::GroupMembersRemove { name, users: remove }, json)
            } else {
                (Command::GroupMembers { name }, json)
            }
        }
        GroupCmd::Rule(GroupRuleCmd::Add { group, path, level: l }) => {
            (Command::GroupRuleAdd { group, path, level: level(&l)? }, false)
        }
        GroupCmd::Rule(GroupRuleCmd::List { group, json }) => (Command::GroupRuleList { group }, json),
        GroupCmd::Rule(GroupRuleCmd::Del { group, path }) => (Command::GroupRuleDel { group, path }, false),
    })
}
