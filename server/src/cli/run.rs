//! One function per command: turn arguments into a store call, print the result.
use super::args::*;
use super::output;
use super::{load_config, CliError};
use crate::import;
use crate::store::{GroupChanges, NewGroup, NewUser, RuleOwner, Store, UserChanges, UserQuery};
use gatehouse_policy::access::{login_checks, policy_for, LoginRequest};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{parse_protocols, parse_size, parse_time, PasswordSource};
use gatehouse_policy::password::{hash_password, PasswordPolicy};
use gatehouse_policy::path::canonicalize;
use gatehouse_policy::rules::{Level, Mode, Op, Request, Rule};
use gatehouse_policy::secret::Secret;
use std::io::BufRead;

type R<T> = Result<T, CliError>;

/// Who is running the command, for the audit log.
fn actor() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

fn ip_list(field: &'static str, v: &[String]) -> R<Vec<ipnet::IpNet>> {
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        out.push(gatehouse_policy::ip::parse_net(field, s)?);
    }
    Ok(out)
}

fn parse_level(s: &str) -> R<Level> {
    Ok(s.parse::<Level>()?)
}

/// Reads one line of standard input (the caller's, in a console) as a secret (without its
/// newline).
fn read_stdin_secret() -> R<Secret> {
    let mut line = String::new();
    match super::console_input() {
        Some(input) => line.push_str(input.expose().lines().next().unwrap_or("")),
        None => {
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
        }
    }
    let trimmed_len = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed_len);
    if line.is_empty() {
        return Err(CliError("no password on standard input".into()));
    }
    Ok(Secret::new(line))
}

/// Prompts twice on the terminal, without echo.
fn prompt_secret(name: &str) -> R<Secret> {
    if super::in_console() {
        return Err(CliError("no terminal here: give the password on standard input with --stdin".into()));
    }
    let a = Secret::new(
        rpassword::prompt_password(format!("New password for {name}: "))
            .map_err(|e| CliError(format!("cannot prompt (no terminal? use --stdin): {e}")))?,
    );
    let b =
        Secret::new(rpassword::prompt_password("Retype it: ").map_err(|e| CliError(format!("cannot prompt: {e}")))?);
    if a != b {
        return Err(CliError("the passwords do not match; nothing was changed".into()));
    }
    Ok(a)
}

fn password_policy(store: &Store) -> R<PasswordPolicy> {
    let cfg = &store.config().password;
    let mut p = PasswordPolicy { min_length: cfg.min_length, ..PasswordPolicy::default() };
    if let Some(path) = &cfg.breached_list {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError(format!("cannot read password.breached_list {path}: {e}")))?;
        let set = text.lines().filter_map(PasswordPolicy::breached_entry).collect();
        p.breached = Some(std::sync::Arc::new(set));
    }
    Ok(p)
}

/// Checks the policy and hashes: the plain password never leaves this function.
fn hash_checked(store: &Store, name: &str, pw: &Secret) -> R<String> {
    password_policy(store)?.check(name, pw)?;
    Ok(hash_password(pw)?)
}

fn mode_of(s: &Option<String>) -> R<Option<Mode>> {
    s.as_deref().map(|m| m.parse::<Mode>().map_err(CliError::from)).transpose()
}

fn size_of(s: &Option<String>) -> R<Option<u64>> {
    s.as_deref().map(|v| parse_size("max_file_size", v).map_err(CliError::from)).transpose()
}

/// Prints `gatehouse status`; exit 0 when every part is ok.
fn print_status(parts: Vec<super::status::Part>, json: bool) -> R<i32> {
    if json {
        output::print_json(&parts)?;
    } else {
        for p in &parts {
            out!("{:<10} {}  {}", p.part, if p.ok { "ok  " } else { "FAIL" }, p.detail);
        }
    }
    Ok(if parts.iter().all(|p| p.ok) { 0 } else { 1 })
}

pub(super) async fn run(cli: Cli) -> R<i32> {
    let cfg = load_config()?;
    // Only `db migrate` may create the database; anything else on a missing file is an error
    // that says what to run, and leaves nothing behind.
    let create = matches!(cli.command, Command::Db(DbCmd::Migrate));
    let store = match Store::open(cfg, create).await {
        // `status` still reports every other part when the database cannot be reached.
        Err(e) if e.is_unreachable() => match cli.command {
            Command::Status { json } => return print_status(super::status::run(Err(e.to_string())).await, json),
            _ => return Err(e.into()),
        },
        other => other?,
    };
    if !matches!(cli.command, Command::Db(_)) {
        store.ensure_current().await?;
    }
    let code = dispatch(&store, &actor(), cli.command).await;
    store.close().await;
    code
}

/// Runs one command for `who` (the audit log's actor). The daemon calls this too, for delegated
/// admins, after `super::delegated::authorize` allowed the command and inside a console
/// (`super::Console`) that holds the output and the caller's standard input.
pub(crate) async fn dispatch(store: &Store, who: &str, cmd: Command) -> R<i32> {
    match cmd {
        Command::Admin(c) => admin(store, who, c).await,
        Command::User(c) => user(store, who, c).await,
        Command::Passwd { name, stdin } => {
            let user = store.get_user(&name).await?;
            let pw = if stdin { read_stdin_secret()? } else { prompt_secret(&user.name)? };
            let hash = hash_checked(store, &user.name, &pw)?;
            store.set_password(who, &user.id, Some(hash), false).await?;
            out!("password of {} changed", user.name);
            Ok(0)
        }
        Command::Key(c) => key(store, who, c).await,
        Command::Apppass(c) => apppass(store, who, c).await,
        Command::Totp(TotpCmd::Enable { name, replace, json }) => {
            let (u, secret) = store.totp_enable(who, &name, replace).await?;
            let uri = gatehouse_policy::totp::uri(&u.name, secret.expose());
            if json {
                output::print_json(&serde_json::json!({ "user": u.name, "secret": secret.expose(), "uri": uri }))?;
            } else {
                out!("TOTP enabled for {}; this is shown once:", u.name);
                out!("secret: {}", secret.expose());
                out!("uri:    {uri}");
            }
            Ok(0)
        }
        Command::Totp(TotpCmd::Disable { name }) => {
            let u = store.totp_disable(who, &name).await?;
            out!("TOTP disabled for {}", u.name);
            Ok(0)
        }
        Command::Invite { name, expires_in, mail, json } => {
            let ttl = gatehouse_policy::config::parse_duration("expires-in", &expires_in)?;
            if ttl == 0 {
                return Err(CliError("--expires-in must be longer than 0s".into()));
            }
            if mail {
                return invite_by_mail(store, who, &name, ttl, json).await;
            }
            let inv = store.invite(who, &name, ttl).await?;
            let expires = gatehouse_policy::model::format_time(inv.expires_at);
            if json {
                output::print_json(
                    &serde_json::json!({ "user": inv.user, "code": inv.code.expose(), "expires_at": expires }),
                )?;
            } else {
                out!("invitation for {}: {} (valid until {expires}, once)", inv.user, inv.code.expose());
            }
            Ok(0)
        }
        Command::Status { json } => print_status(super::status::run(Ok(store)).await, json),
        Command::Unlock { name } => {
            store.unlock(who, &name).await?;
            out!("unlocked {name}");
            Ok(0)
        }
        Command::Rule(c) => rule(store, who, c).await,
        Command::Group(c) => group(store, who, c).await,
        Command::Check(a) => check(store, a).await,
        Command::Import(c) => import_cmd(store, who, c).await,
        Command::Export { json: _ } => {
            let users = store.list_users(None, None).await?;
            let groups = store.list_groups().await?;
            output::print_json(
                &serde_json::json!({ "format": "gatehouse-export", "version": 1, "users": users, "groups": groups }),
            )?;
            Ok(0)
        }
        Command::Db(DbCmd::Migrate) => {
            let applied = store.migrate().await?;
            if applied.is_empty() {
                out!("schema is current; nothing to do");
            } else {
                let v: Vec<String> = applied.iter().map(i64::to_string).collect();
                out!("applied migrations: {}", v.join(", "));
            }
            Ok(0)
        }
        Command::Db(DbCmd::Status { json }) => {
            let st = store.status().await?;
            if json {
                output::print_json(&st)?;
            } else {
                output::print_db_status(&st);
            }
            Ok(if st.pending.is_empty() { 0 } else { 1 })
        }
    }
}

/// Builds a [`NewUser`] from `user add` arguments.
/// `gatehouse invite NAME --mail`: the code goes to the user's email through `[mail] sendmail`
/// and is never printed; a failed delivery stores nothing (see [`Store::invite_and`]).
async fn invite_by_mail(store: &Store, who: &str, name: &str, ttl: u64, json: bool) -> R<i32> {
    let cfg = store.config().mail.clone();
    let Some(program) = cfg.sendmail.clone() else {
        return Err(CliError("--mail needs [mail] sendmail = \"/usr/sbin/sendmail\" in gatehouse.toml".into()));
    };
    let user = store.get_user(name).await?;
    if user.email.is_empty() {
        return Err(CliError(format!(
            "{} has no email address (gatehouse user set {} --email ADDRESS)",
            user.name, user.name
        )));
    }
    let host = super::mail::host_name();
    let deliver = |u: &gatehouse_policy::model::User, inv: &crate::store::Invitation| {
        let expires = gatehouse_policy::model::format_time(inv.expires_at);
        let msg = super::mail::compose(&cfg, &u.email, &u.name, &host, inv.code.expose(), &expires);
        super::mail::send(&program, &u.email, msg.as_bytes())
            .map_err(|e| format!("the invitation was not mailed, nothing changed: {e}"))
    };
    let inv = store.invite_and(who, &user.id, ttl, &deliver).await?;
    let expires = gatehouse_policy::model::format_time(inv.expires_at);
    if json {
        output::print_json(&serde_json::json!({ "user": inv.user, "mailed_to": user.email, "expires_at": expires }))?;
    } else {
        out!("invitation for {} mailed to {} (valid until {expires}, once)", inv.user, user.email);
    }
    Ok(0)
}

fn new_user(
    store: &Store,
    name: String,
    password_stdin: bool,
    inactive: bool,
    uid: Option<u32>,
    f: UserFields,
) -> R<NewUser> {
    gatehouse_policy::model::validate_name("name", &name)?;
    let password_hash = if password_stdin {
        let pw = read_stdin_secret()?;
        Some(hash_checked(store, &name, &pw)?)
    } else {
        None
    };
    Ok(NewUser {
        uid,
        display_name: f.display_name.unwrap_or_default(),
        email: f.email.unwrap_or_default(),
        locale: f.locale.unwrap_or_default(),
        time_zone: f.time_zone.unwrap_or_default(),
        password_hash,
        root: f.root,
        mode: mode_of(&f.mode)?,
        delete_allowed: Some(!f.no_delete),
        allowed_ips: ip_list("allowed_ips", &f.allow_ip)?,
        denied_ips: ip_list("denied_ips", &f.deny_ip)?,
        protocols: f.protocols.as_deref().map(parse_protocols).transpose()?,
        groups: f.group,
        hosts: f.scope.list().unwrap_or_default(),
        active: Some(!inactive),
        expires_at: f.expires.as_deref().map(|e| parse_time("expires", e)).transpose()?,
        max_file_size: size_of(&f.max_file_size)?,
        password_source: f.password_source.unwrap_or_default(),
        name,
        ..NewUser::default()
    })
}

async fn user(store: &Store, who: &str, c: UserCmd) -> R<i32> {
    match c {
        UserCmd::Add { name, password_stdin, inactive, uid, fields } => {
            let nu = new_user(store, name, password_stdin, inactive, uid, fields)?;
            let u = store.add_user(who, nu).await?;
            out!("added user {} (uid {}, root {})", u.name, u.uid, u.root);
            Ok(0)
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
            let admin_change = if admin {
                Some(Some(admin_group))
            } else if no_admin {
                Some(None)
            } else {
                None
            };
            let ch = UserChanges {
                name: new_name,
                hosts: f.scope.list(),
                display_name: f.display_name,
                email: f.email,
                locale: f.locale,
                time_zone: f.time_zone,
                root: f.root,
                mode: mode_of(&f.mode)?,
                delete_allowed: if f.no_delete {
                    Some(false)
                } else if f.delete {
                    Some(true)
                } else {
                    None
                },
                allowed_ips: if clear_allow_ip {
                    Some(Vec::new())
                } else if f.allow_ip.is_empty() {
                    None
                } else {
                    Some(ip_list("allowed_ips", &f.allow_ip)?)
                },
                denied_ips: if clear_deny_ip {
                    Some(Vec::new())
                } else if f.deny_ip.is_empty() {
                    None
                } else {
                    Some(ip_list("denied_ips", &f.deny_ip)?)
                },
                protocols: f.protocols.as_deref().map(parse_protocols).transpose()?,
                groups: if no_groups {
                    Some(Vec::new())
                } else if f.group.is_empty() {
                    None
                } else {
                    Some(f.group)
                },
                active: if active {
                    Some(true)
                } else if inactive {
                    Some(false)
                } else {
                    None
                },
                expires_at: if no_expires {
                    Some(None)
                } else {
                    f.expires.as_deref().map(|e| parse_time("expires", e).map(Some)).transpose()?
                },
                max_file_size: size_of(&f.max_file_size)?.map(|s| if s == 0 { None } else { Some(s) }),
                admin: None,
                password_source: f.password_source,
            };
            if ch.is_empty() && admin_change.is_none() {
                return Err(CliError(
                    "nothing to change: give at least one option (see gatehouse user set --help)".into(),
                ));
            }
            let before = store.get_user(&name).await?;
            let u = if ch.is_empty() { before.clone() } else { store.update_user(who, &before.id, ch).await? };
            if let Some(groups) = admin_change {
                store.set_user_admin(who, &u.id, groups.as_deref()).await?;
            }
            if u.name != before.name {
                out!(
                    "renamed user {} to {} (id {}, uid {}; root {} was not moved)",
                    before.name,
                    u.name,
                    u.id,
                    u.uid,
                    u.root
                );
            }
            out!("updated user {}", u.name);
            Ok(0)
        }
        UserCmd::Show { name, json } => {
            let u = store.get_user(&name).await?;
            if json {
                output::print_json(&output::user_view(&u))?;
            } else {
                output::print_user(&u);
            }
            Ok(0)
        }
        UserCmd::List { json, limit, after, filter, inactive, expired, locked, group } => {
            let mut q = UserQuery::default();
            (q.inactive, q.expired, q.locked, q.group, q.after) = (inactive, expired, locked, group, after);
            (q.limit, q.now) = (limit.map(i64::from), crate::store::now());
            for f in &filter {
                q.filter(f)?;
            }
            let users = store.find_users(&q).await?;
            if json {
                let v: Vec<_> = users.iter().map(output::user_view).collect();
                output::print_json(&v)?;
            } else {
                output::print_user_table(&users);
            }
            Ok(0)
        }
        UserCmd::Del { name, remove_files } => {
            let u = store.get_user(&name).await?;
            if remove_files {
                let sharers = store.users_sharing_root(&u.root, &u.id).await?;
                // The same rules gatehouse-tasks applies, checked before anything changes.
                crate::tasks::check_remove(store.config(), &u.root, &sharers, u.uid)
                    .map_err(|e| CliError(format!("{e}; refusing --remove-files (nothing was changed)")))?;
            }
            let u = store.delete_user(who, &u.id).await?;
            if remove_files {
                match remove_root(store, &u.root, u.uid) {
                    Ok(crate::tasks::Removed::Removed) => out!("deleted user {} and removed {}", u.name, u.root),
                    Ok(crate::tasks::Removed::Absent) => out!("deleted user {} ({} did not exist)", u.name, u.root),
                    Err(e) => {
                        return Err(CliError(format!(
                            "deleted user {}, but removing {} failed: {}",
                            u.name, u.root, e.0
                        )))
                    }
                }
            } else {
                out!("deleted user {} (files in {} kept)", u.name, u.root);
            }
            Ok(0)
        }
    }
}

/// Removes a deleted user's root: in process when root runs the CLI (the walk never follows a
/// symlink), through gatehouse-tasks when gatehoused runs a delegated admin's command (it has
/// no right to other users' files; the helper applies the same checks again).
fn remove_root(store: &Store, root: &str, owner: u32) -> Result<crate::tasks::Removed, CliError> {
    if !super::in_console() {
        return Ok(crate::tasks::remove_root(store.config(), root, &[], owner)?);
    }
    let req = crate::tasks::proto::Request::RemoveRoot { root: root.to_string(), sharers: Vec::new(), owner };
    let socket = std::path::Path::new(gatehouse_policy::config::TASKS_SOCKET_PATH);
    match crate::tasks::proto::call(socket, &req, std::time::Duration::from_secs(30))? {
        crate::tasks::proto::Response::Ok => Ok(crate::tasks::Removed::Removed),
        crate::tasks::proto::Response::Absent => Ok(crate::tasks::Removed::Absent),
        other => Err(CliError(format!("gatehouse-tasks answered {other:?}"))),
    }
}

async fn admin(store: &Store, who: &str, c: AdminCmd) -> R<i32> {
    match c {
        AdminCmd::Grant { principal, group } => {
            let r = store.grant_admin(who, &principal, group.as_deref()).await?;
            out!("{} may now manage {}", r.holder, r.group.map_or("every user".into(), |g| format!("group {g}")));
            Ok(0)
        }
        AdminCmd::Revoke { principal, group } => {
            store.revoke_admin(who, &principal, group.as_deref()).await?;
            out!("revoked the role of {principal} for {}", group.map_or("every user".into(), |g| format!("group {g}")));
            Ok(0)
        }
        AdminCmd::List { json } => {
            let roles = store.list_admins().await?;
            if json {
                output::print_json(&roles)?;
            } else {
                out!("{:<32} {:<24} SINCE", "HOLDER", "MANAGES");
                for r in &roles {
                    let group = r.group.as_deref().map_or("every user".to_string(), |g| format!("group {g}"));
                    out!("{:<32} {:<24} {}", r.holder, group, gatehouse_policy::model::format_time(r.created_at));
                }
            }
            Ok(0)
        }
    }
}

async fn key(store: &Store, who: &str, c: KeyCmd) -> R<i32> {
    match c {
        KeyCmd::Add { user, key, file } => {
            let lines: Vec<String> = match (key, file) {
                (Some(k), _) => vec![k],
                (None, Some(f)) => {
                    let text = if f == "-" {
                        match super::console_input() {
                            Some(input) => input.expose().to_string(),
                            None => std::io::read_to_string(std::io::stdin())
                                .map_err(|e| CliError(format!("cannot read standard input: {e}")))?,
                        }
                    } else if super::in_console() {
                        // gatehoused must never read a file on a caller's behalf.
                        return Err(CliError("give the keys on standard input (--file -) or as an argument".into()));
                    } else {
                        std::fs::read_to_string(&f).map_err(|e| CliError(format!("cannot read {f}: {e}")))?
                    };
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from)
                        .collect()
                }
                (None, None) => return Err(CliError("give a key or --file".into())),
            };
            // Parse every key before storing any, so a bad line changes nothing.
            let keys = lines.iter().map(|l| PublicKey::parse(l)).collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(CliError("no key found".into()));
            }
            for k in store.add_keys(who, &user, &keys).await? {
                out!("added {} {}", k.describe(), k.fingerprint);
            }
            Ok(0)
        }
        KeyCmd::List { user, json } => {
            let u = store.get_user(&user).await?;
            if json {
                output::print_json(&u.keys)?;
            } else {
                for k in &u.keys {
                    out!("{} {} {}", k.describe(), k.fingerprint, k.comment);
                }
            }
            Ok(0)
        }
        KeyCmd::Del { user, key } => {
            let n = store.del_key(who, &user, &key).await?;
            out!("deleted {n} key(s)");
            Ok(0)
        }
    }
}

async fn rule(store: &Store, who: &str, c: RuleCmd) -> R<i32> {
    match c {
        RuleCmd::Add { user, path, level } => {
            let r = Rule::new(&path, parse_level(&level)?)?;
            store.add_rule(who, RuleOwner::User, &user, &r).await?;
            out!("rule {} → {} set for {user}", r.path, r.level);
            Ok(0)
        }
        RuleCmd::List { user, json } => {
            let u = store.get_user(&user).await?;
            output::print_rules(&u.rules, json)?;
            Ok(0)
        }
        RuleCmd::Del { user, path } => {
            store.del_rule(who, RuleOwner::User, &user, &path).await?;
            out!("rule {path} deleted for {user}");
            Ok(0)
        }
    }
}

async fn group(store: &Store, who: &str, c: GroupCmd) -> R<i32> {
    match c {
        GroupCmd::Add { name, description, allow_ip, deny_ip, protocols, scope } => {
            let g = NewGroup {
                name,
                description,
                allowed_ips: ip_list("allowed_ips", &allow_ip)?,
                denied_ips: ip_list("denied_ips", &deny_ip)?,
                protocols: parse_protocols(&protocols)?,
                hosts: scope.list().unwrap_or_default(),
            };
            let g = store.add_group(who, g).await?;
            out!("added group {} (gid {})", g.name, g.gid);
            Ok(0)
        }
        GroupCmd::Set {
            name,
            new_name,
            description,
            allow_ip,
            clear_allow_ip,
            deny_ip,
            clear_deny_ip,
            protocols,
            scope,
        } => {
            let ch = GroupChanges {
                name: new_name,
                description,
                hosts: scope.list(),
                allowed_ips: if clear_allow_ip {
                    Some(Vec::new())
                } else if allow_ip.is_empty() {
                    None
                } else {
                    Some(ip_list("allowed_ips", &allow_ip)?)
                },
                denied_ips: if clear_deny_ip {
                    Some(Vec::new())
                } else if deny_ip.is_empty() {
                    None
                } else {
                    Some(ip_list("denied_ips", &deny_ip)?)
                },
                protocols: protocols.as_deref().map(parse_protocols).transpose()?,
            };
            if ch.name.is_none()
                && ch.description.is_none()
                && ch.allowed_ips.is_none()
                && ch.denied_ips.is_none()
                && ch.protocols.is_none()
            {
                return Err(CliError(
                    "nothing to change: give at least one option (see gatehouse group set --help)".into(),
                ));
            }
            let g = store.update_group(who, &name, ch).await?;
            out!("updated group {}", g.name);
            Ok(0)
        }
        GroupCmd::List { json } => {
            let gs = store.list_groups().await?;
            if json {
                output::print_json(&gs)?;
            } else {
                output::print_group_table(&gs);
            }
            Ok(0)
        }
        GroupCmd::Show { name, json } => {
            let g = store.get_group(&name).await?;
            if json {
                output::print_json(&g)?;
            } else {
                output::print_group(&g);
            }
            Ok(0)
        }
        GroupCmd::Del { name } => {
            let g = store.delete_group(who, &name).await?;
            out!("deleted group {} ({} members kept as users)", g.name, g.members.len());
            Ok(0)
        }
        GroupCmd::Members { name, add, remove, json } => {
            if !add.is_empty() {
                store.add_members(who, &name, &add).await?;
                out!("added {} to {name}", add.join(", "));
            } else if !remove.is_empty() {
                store.remove_members(who, &name, &remove).await?;
                out!("removed {} from {name}", remove.join(", "));
            } else {
                let g = store.get_group(&name).await?;
                if json {
                    output::print_json(&g.members)?;
                } else {
                    for m in &g.members {
                        out!("{m}");
                    }
                }
            }
            Ok(0)
        }
        GroupCmd::Rule(GroupRuleCmd::Add { group, path, level }) => {
            let r = Rule::new(&path, parse_level(&level)?)?;
            store.add_rule(who, RuleOwner::Group, &group, &r).await?;
            out!("rule {} → {} set for group {group}", r.path, r.level);
            Ok(0)
        }
        GroupCmd::Rule(GroupRuleCmd::List { group, json }) => {
            let g = store.get_group(&group).await?;
            output::print_rules(&g.rules, json)?;
            Ok(0)
        }
        GroupCmd::Rule(GroupRuleCmd::Del { group, path }) => {
            store.del_rule(who, RuleOwner::Group, &group, &path).await?;
            out!("rule {path} deleted for group {group}");
            Ok(0)
        }
    }
}

/// `gatehouse check`: every decision asked for, each with what decided it.
async fn check(store: &Store, a: CheckArgs) -> R<i32> {
    let (user, groups) = match store.served_user(&a.name).await {
        Ok(x) => x,
        // A row this host leaves out: that is the one decision there is.
        Err(crate::store::StoreError::NotServed(r)) => {
            let answer = output::Answer {
                what: "row".into(),
                allowed: false,
                reason: format!(
                    "{}: this host serves nothing of this user (fix the column, e.g. with gatehouse user set)",
                    r.why
                ),
            };
            if a.json {
                output::print_json(&serde_json::json!({ "user": r.name, "allowed": false, "decisions": [answer] }))?;
            } else {
                out!("{:<10} DENY   {}", answer.what, answer.reason);
            }
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(p) = &a.protocol {
        gatehouse_policy::model::validate_protocol(p)?;
    }
    if let Some(ip) = &a.ip {
        if gatehouse_policy::ip::parse_addr(ip).is_none() {
            return Err(CliError(format!("invalid --ip {ip:?}: expected an IPv4 or IPv6 address")));
        }
    }
    let req = LoginRequest { now: crate::store::now(), protocol: a.protocol.as_deref(), rhost: a.ip.as_deref() };
    let mut answers: Vec<output::Answer> = login_checks(&user, &groups, &req)
        .into_iter()
        .map(|c| output::Answer { what: c.what.to_string(), allowed: c.allowed, reason: c.reason })
        .collect();
    answers.push(password_answer(&user, &store.config().ldap));
    // FTP: what the generated files of a server cannot express is refused there at login; say so.
    for server in gatehouse_policy::ftp::FtpServer::ALL {
        if a.protocol.as_deref() != Some("ftp")
            || !store.config().generates_for(server, std::path::Path::new(server.binary()).exists())
        {
            continue;
        }
        // The same two refusals as the account check: what the server cannot enforce, then a
        // per-user file that is not there (yet).
        let (allowed, reason) = match server.limits(&user, &groups) {
            Ok(()) => match crate::tasks::hook::missing_ftp_file(store.config(), server, &user.name) {
                None => (true, server.enforces().to_string()),
                Some((_, why)) => (false, why),
            },
            Err(why) => (false, why),
        };
        answers.push(output::Answer { what: server.name().into(), allowed, reason });
    }
    if let (Some(path), Some(op)) = (&a.path, &a.op) {
        let op: Op = op.parse()?;
        let path = canonicalize("/", path)?;
        let to = a.to.as_deref().map(|t| canonicalize("/", t)).transpose()?;
        if op == Op::Rename && to.is_none() {
            return Err(CliError("--op rename needs --to PATH".into()));
        }
        if op != Op::Rename && (to.is_some() || a.target_exists) {
            return Err(CliError("--to and --target-exists go with --op rename only".into()));
        }
        let policy = policy_for(&user, &groups);
        let d = policy.decide(&Request { op, path: &path, to: to.as_deref(), target_exists: a.target_exists });
        let what = match &to {
            Some(t) => format!("{op} {path} → {t}"),
            None => format!("{op} {path}"),
        };
        answers.push(output::Answer { what, allowed: d.allowed, reason: d.explain(&policy) });
    }
    let all = answers.iter().all(|x| x.allowed);
    if a.json {
        output::print_json(&serde_json::json!({ "user": user.name, "allowed": all, "decisions": answers }))?;
    } else {
        for x in &answers {
            out!("{:<10} {}  {}", x.what, if x.allowed { "allow" } else { "DENY " }, x.reason);
        }
    }
    Ok(if all { 0 } else { 1 })
}

/// Where `gatehouse check` says a user's password is checked (`password_source`). An LDAP user
/// with no `[ldap]` directory configured cannot log in by password: a deny.
fn password_answer(u: &gatehouse_policy::model::User, ldap: &gatehouse_policy::ldap::LdapConfig) -> output::Answer {
    let (allowed, reason) = match (u.password_source, &u.password_hash) {
        (PasswordSource::Local, Some(h)) => {
            (true, format!("local: checked against the stored {} hash", h.split('$').nth(1).unwrap_or("?")))
        }
        (PasswordSource::Local, None) => (true, "local: no password set (keys, invitations, app passwords)".into()),
        (PasswordSource::Ldap, _) if ldap.is_configured() => {
            let tls = if ldap.starttls { " with StartTLS" } else { "" };
            (true, format!("ldap: a simple bind as {} at {}{tls}", ldap.bind_dn_for(&u.name), ldap.url))
        }
        (PasswordSource::Ldap, _) => (false, "ldap, but no [ldap] url is configured: password logins fail".into()),
    };
    output::Answer { what: "password".into(), allowed, reason }
}

/// Parses an import twice: first to learn the names, which are then looked up through NSS in
/// parallel, then for real, with "is this name local?" answered from those lookups. Parsing is
/// cheap next to NSS lookups (a 100,000-user CSV parses in half a second).
fn parse_prefetched(
    checker: &dyn crate::store::LocalIds,
    parse: impl Fn(import::IsLocal<'_>) -> Result<import::ImportPlan, import::ImportError>,
    local: import::IsLocal<'_>,
) -> R<import::ImportPlan> {
    let names: Vec<String> = parse(&|_| None)?.users.into_iter().map(|u| u.name).collect();
    checker.prefetch(&names);
    Ok(parse(local)?)
}

async fn import_cmd(store: &Store, who: &str, c: ImportCmd) -> R<i32> {
    let read = |f: &str| std::fs::read_to_string(f).map_err(|e| CliError(format!("cannot read {f}: {e}")));
    let checker = store.import_checker();
    let local = |name: &str| -> Option<String> { checker.name_taken(name) };
    let (plan, source, dry_run) = match c {
        ImportCmd::Passwd { passwd, shadow, keep_uids, dry_run } => {
            let ptext = read(&passwd)?;
            let stext = shadow.as_deref().map(read).transpose()?;
            let opts = import::passwd::PasswdOptions { keep_uids, ..Default::default() };
            let sh = match (&shadow, &stext) {
                (Some(n), Some(t)) => Some((t.as_str(), n.as_str())),
                _ => None,
            };
            let parse = |is_local: import::IsLocal<'_>| import::passwd::parse(&ptext, &passwd, sh, is_local, &opts);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("passwd:{passwd}"), dry_run)
        }
        ImportCmd::Csv { file, dry_run } => {
            let text = read(&file)?;
            let parse = |is_local: import::IsLocal<'_>| import::csv::parse(&text, &file, is_local);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("csv:{file}"), dry_run)
        }
        ImportCmd::Sftpgo { file, dry_run } => {
            let text = read(&file)?;
            let parse = |is_local: import::IsLocal<'_>| import::sftpgo::parse(&text, &file, is_local);
            (parse_prefetched(checker.as_ref(), parse, &local)?, format!("sftpgo:{file}"), dry_run)
        }
    };
    for s in &plan.skipped {
        eprintln!("skipped {}: {}", s.name, s.reason);
    }
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    // A dry run goes through every check the real import makes, then rolls back.
    let n = store.import_users(who, &source, &plan.users, checker.as_ref(), dry_run).await?;
    if dry_run {
        for u in &plan.users {
            out!("would import {}", u.name);
        }
        out!("{n} users would be imported, {} skipped (dry run, nothing changed)", plan.skipped.len());
    } else {
        out!("imported {n} users, skipped {}", plan.skipped.len());
    }
    Ok(0)
}

async fn apppass(store: &Store, who: &str, c: AppPassCmd) -> R<i32> {
    match c {
        AppPassCmd::Add { name, label, protocols, expires, json } => {
            let protocols = protocols.as_deref().map(parse_protocols).transpose()?.unwrap_or_default();
            let expires = expires.as_deref().map(|e| parse_time("expires", e)).transpose()?;
            let (ap, token) = store.add_app_password(who, &name, &label, protocols, expires).await?;
            if json {
                output::print_json(&serde_json::json!({ "app_password": ap, "secret": token.expose() }))?;
            } else {
                out!("app password {:?} for {name}; this is shown once:", ap.label);
                out!("{}", token.expose());
            }
            Ok(0)
        }
        AppPassCmd::List { name, json } => {
            let list = store.list_app_passwords(&name).await?;
            if json {
                output::print_json(&list)?;
            } else {
                output::print_app_passwords(&list);
            }
            Ok(0)
        }
        AppPassCmd::Revoke { name, label } => {
            store.revoke_app_password(who, &name, &label).await?;
            out!("revoked app password {label:?} of {name}");
            Ok(0)
        }
    }
}
