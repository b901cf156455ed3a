//! `gatehouse import sftpgo`: users from an SFTPGo dump (`sftpgo dumpdata`, or a backup from the
//! WebAdmin), a JSON object with a `users` array and optional `groups`, `folders`, `admins`,
//! `version` and more; keys other than `users` and `groups` are ignored.
//!
//! The guiding rule is **never grant more than SFTPGo did**. Where gatehouse cannot express an
//! SFTPGo setting exactly, the importer picks the narrower reading and adds a note:
//!
//! * **Permissions.** Each path's SFTPGo list (`*`, `list`, `download`, `upload`, `overwrite`,
//!   `delete`, `rename`, `create_dirs`, ...) becomes the largest gatehouse level whose set is a
//!   subset of what SFTPGo granted: `*` or everything → `write`; `list`+`download` → `read`;
//!   `list`+`upload` → `upload`; `list` → `list`; otherwise `none`. When no path grants
//!   `delete`, the user is imported with `delete_allowed = false`, which lets a path that grants
//!   everything else still be `write` (gatehouse then refuses delete, overwrite and replacing
//!   renames everywhere). `create_symlinks`, `chmod`, `chown`, `chtimes` and `copy` map to
//!   nothing: gatehouse never allows symlinks, and attribute changes come with `overwrite`. A
//!   user without a `/` entry gets `/` → `none`, so nothing falls back to the default mode.
//! * **Groups.** SFTPGo copies settings from a user's primary and secondary groups into the user
//!   at login. The importer does the same for permissions, IP lists, denied protocols and login
//!   methods, the upload cap, the home directory and `expires_in` (with `%username%` and `%role%`
//!   replaced), so each user is imported with the access SFTPGo actually gave them; the gatehouse
//!   groups named in [`ImportPlan::groups`] are memberships only.
//! * **Protocols.** A user starts with `ssh` and `ftp`; `filters.denied_protocols` removes `SSH`
//!   and `FTP`. SFTPGo's `DAV` and `HTTP` have no gatehouse counterpart.
//! * **Passwords.** bcrypt, argon2, SHA-crypt and yescrypt hashes are imported; PBKDF2, MD5 and
//!   the unsalted digests cannot be verified, so those users come in without a password. A
//!   denied `password` login method drops the password, a denied `publickey` method the keys.
//! * **Not carried over** (with a note): TOTP secrets, file-name pattern filters, time-of-day
//!   restrictions, virtual folders, non-local storage backends, uid/gid.
//!
//! Errors name the record the way `jq` would (`users[2] "bob": filters.allowed_ip[1]: ...`).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse_policy::ip::parse_net;
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{validate_display_name, validate_email, validate_name, validate_root};
use gatehouse_policy::rules::{Level, PermSet, Rule};
use ipnet::IpNet;
use serde_json::{Map, Value};

use super::{classify_hash, referenced_groups, sanitize_text, HashVerdict, ImportError, ImportPlan, IsLocal, Skipped};
use crate::store::NewUser;

type Obj = Map<String, Value>;

/// Longest display name gatehouse stores; longer SFTPGo descriptions are cut, with a note.
const MAX_DISPLAY_NAME: usize = 128;

/// The JSON type of a value, for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Field accessors. A missing key and `null` both mean "not set" (Go writes nil slices and maps
/// as `null`); any other type than the expected one is an error naming `prefix` + `key`.
fn get_str<'a>(o: &'a Obj, prefix: &str, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("{prefix}{key}: expected a string, found {}", type_name(v))),
    }
}

fn get_int(o: &Obj, prefix: &str, key: &str) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| format!("{prefix}{key}: expected an integer, found {n}"))
        }
        Some(v) => Err(format!("{prefix}{key}: expected an integer, found {}", type_name(v))),
    }
}

fn get_bool(o: &Obj, prefix: &str, key: &str) -> Result<Option<bool>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!("{prefix}{key}: expected true or false, found {}", type_name(v))),
    }
}

fn get_obj<'a>(o: &'a Obj, prefix: &str, key: &str) -> Result<Option<&'a Obj>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(v) => Err(format!("{prefix}{key}: expected an object, found {}", type_name(v))),
    }
}

fn get_arr<'a>(o: &'a Obj, prefix: &str, key: &str) -> Result<&'a [Value], String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(format!("{prefix}{key}: expected an array, found {}", type_name(v))),
    }
}

fn str_items<'a>(items: &'a [Value], what: &str) -> Result<Vec<&'a str>, String> {
    items
        .iter()
        .enumerate()
        .map(|(j, v)| match v {
            Value::String(s) => Ok(s.as_str()),
            v => Err(format!("{what}[{j}]: expected a string, found {}", type_name(v))),
        })
        .collect()
}

fn get_str_list<'a>(o: &'a Obj, prefix: &str, key: &str) -> Result<Vec<&'a str>, String> {
    str_items(get_arr(o, prefix, key)?, &format!("{prefix}{key}"))
}

/// An SFTPGo protocol name in `denied_protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Proto {
    Ssh,
    Ftp,
    Dav,
    Http,
}

/// `filters` of a user, or `user_settings.filters` of a group, as far as the import uses them.
#[derive(Debug, Default, Clone)]
struct Filters<'a> {
    allowed_ip: Vec<IpNet>,
    denied_ip: Vec<IpNet>,
    denied_protocols: Vec<Proto>,
    denied_login_methods: Vec<&'a str>,
    /// Bytes; 0 = no cap.
    max_upload_file_size: i64,
    /// Number of `file_patterns` entries (not importable).
    file_patterns: usize,
    /// Number of `access_time` entries (not importable).
    access_time: usize,
    is_anonymous: bool,
    totp: bool,
}

/// The settings SFTPGo merges from groups into users.
#[derive(Debug, Default, Clone)]
struct Settings<'a> {
    home_dir: Option<String>,
    /// Path → SFTPGo permission names, sorted by path.
    permissions: BTreeMap<String, Vec<&'a str>>,
    filters: Filters<'a>,
    /// Groups only: account lifetime in days from the user's creation.
    expires_in: i64,
    virtual_folders: usize,
    /// `filesystem.provider`; 0 is the local filesystem.
    provider: i64,
}

fn parse_nets(o: &Obj, prefix: &str, key: &str, field: &'static str) -> Result<Vec<IpNet>, String> {
    let list = get_str_list(o, prefix, key)?;
    list.iter().enumerate().map(|(j, s)| parse_net(field, s).map_err(|e| format!("{prefix}{key}[{j}]: {e}"))).collect()
}

fn parse_filters<'a>(o: &'a Obj, prefix: &str) -> Result<Filters<'a>, String> {
    let mut f = Filters {
        allowed_ip: parse_nets(o, prefix, "allowed_ip", "allowed_ips")?,
        denied_ip: parse_nets(o, prefix, "denied_ip", "denied_ips")?,
        denied_login_methods: get_str_list(o, prefix, "denied_login_methods")?,
        file_patterns: get_arr(o, prefix, "file_patterns")?.len(),
        access_time: get_arr(o, prefix, "access_time")?.len(),
        is_anonymous: get_bool(o, prefix, "is_anonymous")?.unwrap_or(false),
        ..Filters::default()
    };
    for (j, p) in get_str_list(o, prefix, "denied_protocols")?.into_iter().enumerate() {
        let proto = match p.to_ascii_uppercase().as_str() {
            "SSH" => Proto::Ssh,
            "FTP" => Proto::Ftp,
            "DAV" => Proto::Dav,
            "HTTP" => Proto::Http,
            _ => {
                return Err(format!(
                    "{prefix}denied_protocols[{j}]: unknown protocol {p:?} (SFTPGo knows SSH, FTP, DAV, HTTP)"
                ))
            }
        };
        f.denied_protocols.push(proto);
    }
    let max = get_int(o, prefix, "max_upload_file_size")?.unwrap_or(0);
    if max < 0 {
        return Err(format!("{prefix}max_upload_file_size: must not be negative, found {max}"));
    }
    f.max_upload_file_size = max;
    if let Some(totp) = get_obj(o, prefix, "totp_config")? {
        f.totp = get_bool(totp, &format!("{prefix}totp_config."), "enabled")?.unwrap_or(false);
    }
    Ok(f)
}

/// Parses the settings found in a user object, or in a group's `user_settings` (`prefix`
/// `user_settings.`); `outer` is the object that holds `virtual_folders`.
fn parse_settings<'a>(o: &'a Obj, prefix: &str, outer: &'a Obj) -> Result<Settings<'a>, String> {
    let mut s = Settings {
        home_dir: get_str(o, prefix, "home_dir")?.filter(|h| !h.is_empty()).map(str::to_owned),
        expires_in: get_int(o, prefix, "expires_in")?.unwrap_or(0),
        virtual_folders: get_arr(outer, "", "virtual_folders")?.len(),
        ..Settings::default()
    };
    if let Some(perms) = get_obj(o, prefix, "permissions")? {
        for (path, list) in perms {
            let what = format!("{prefix}permissions.{path:?}");
            let list = match list {
                Value::Null => Vec::new(),
                Value::Array(a) => str_items(a, &what)?,
                v => return Err(format!("{what}: expected an array of permission names, found {}", type_name(v))),
            };
            s.permissions.insert(path.clone(), list);
        }
    }
    if let Some(f) = get_obj(o, prefix, "filters")? {
        s.filters = parse_filters(f, &format!("{prefix}filters."))?;
    }
    if let Some(fs) = get_obj(o, prefix, "filesystem")? {
        s.provider = get_int(fs, &format!("{prefix}filesystem."), "provider")?.unwrap_or(0);
    }
    Ok(s)
}

/// Merges a group's settings into a user's the way SFTPGo does at login (`mergeWithPrimaryGroup`
/// and `mergeAdditiveProperties`). Returns the group's `expires_in` for a primary group.
fn merge_group<'a>(user: &mut Settings<'a>, group: &Settings<'a>, primary: bool, name: &str, role: &str) {
    let ph = |s: &str| s.replace("%username%", name).replace("%role%", role);
    if primary {
        if let Some(h) = &group.home_dir {
            user.home_dir = Some(ph(h));
        }
        if group.provider != 0 {
            user.provider = group.provider;
        }
        if user.filters.max_upload_file_size == 0 {
            user.filters.max_upload_file_size = group.filters.max_upload_file_size;
        }
        user.filters.is_anonymous |= group.filters.is_anonymous;
    }
    for (path, perms) in &group.permissions {
        if path == "/" {
            // Only a primary group's "/" applies, and it replaces the user's.
            if primary {
                user.permissions.insert(path.clone(), perms.clone());
            }
            continue;
        }
        user.permissions.entry(ph(path)).or_insert_with(|| perms.clone());
    }
    let (u, g) = (&mut user.filters, &group.filters);
    u.allowed_ip.extend(g.allowed_ip.iter().copied());
    u.denied_ip.extend(g.denied_ip.iter().copied());
    u.denied_protocols.extend(g.denied_protocols.iter().copied());
    u.denied_login_methods.extend(g.denied_login_methods.iter().copied());
    u.file_patterns += g.file_patterns;
    u.access_time += g.access_time;
    user.virtual_folders += group.virtual_folders;
}

/// The gatehouse permission set an SFTPGo permission list grants, plus the names that map to
/// nothing because they were granted only in part, and unknown names.
fn sftpgo_perms<'a>(list: &[&'a str], partial: &mut Vec<&'static str>, unknown: &mut BTreeSet<&'a str>) -> PermSet {
    let mut s = PermSet::EMPTY;
    let (mut del_files, mut del_dirs, mut ren_files, mut ren_dirs) = (false, false, false, false);
    for &p in list {
        let add = match p {
            "*" => PermSet::ALL,
            "list" => PermSet::LIST,
            "download" => PermSet::DOWNLOAD,
            "upload" => PermSet::CREATE,
            "overwrite" => PermSet::OVERWRITE,
            "create_dirs" => PermSet::MKDIR,
            "rename" => PermSet::RENAME,
            "delete" => PermSet::DELETE,
            "delete_files" => {
                del_files = true;
                PermSet::EMPTY
            }
            "delete_dirs" => {
                del_dirs = true;
                PermSet::EMPTY
            }
            "rename_files" => {
                ren_files = true;
                PermSet::EMPTY
            }
            "rename_dirs" => {
                ren_dirs = true;
                PermSet::EMPTY
            }
            // No gatehouse counterpart: symlinks are always refused, attribute changes come with
            // overwrite, server-side copy is not offered.
            "create_symlinks" | "chmod" | "chown" | "chtimes" | "copy" => PermSet::EMPTY,
            other => {
                unknown.insert(other);
                PermSet::EMPTY
            }
        };
        s = s.union(add);
    }
    if del_files && del_dirs {
        s = s.union(PermSet::DELETE);
    } else if (del_files || del_dirs) && !s.contains(PermSet::DELETE) {
        partial.push(if del_files { "delete_files" } else { "delete_dirs" });
    }
    if ren_files && ren_dirs {
        s = s.union(PermSet::RENAME);
    } else if (ren_files || ren_dirs) && !s.contains(PermSet::RENAME) {
        partial.push(if ren_files { "rename_files" } else { "rename_dirs" });
    }
    s
}

/// The largest level whose permissions all lie in `granted`. Between `read` and `upload`, which
/// are not comparable, `read` wins: it is what both SFTPGo grants allow, and a drop box is the
/// special case.
fn best_level(granted: PermSet) -> Level {
    [Level::Write, Level::Read, Level::Upload, Level::List]
        .into_iter()
        .find(|l| granted.contains(l.perms()))
        .unwrap_or(Level::None)
}

/// Permission data of one user, mapped: the rules, `delete_allowed`, and notes.
fn map_permissions(
    perms: &BTreeMap<String, Vec<&str>>,
    user: &str,
    notes: &mut Vec<String>,
) -> Result<(Vec<Rule>, Option<bool>), String> {
    let mut unknown = BTreeSet::new();
    let mut mapped: Vec<(&str, PermSet, Vec<&'static str>)> = Vec::with_capacity(perms.len());
    for (path, list) in perms {
        let mut partial = Vec::new();
        let set = sftpgo_perms(list, &mut partial, &mut unknown);
        mapped.push((path.as_str(), set, partial));
    }
    // With no delete anywhere, delete_allowed = false costs nothing SFTPGo granted and lets
    // "everything but delete" become write.
    let no_delete = !mapped.iter().any(|(_, s, _)| s.contains(PermSet::DELETE));
    let relax = PermSet::DELETE.union(PermSet::OVERWRITE);
    let relaxed = no_delete && mapped.iter().any(|(_, s, _)| best_level(s.union(relax)) != best_level(*s));
    let mut rules = Vec::with_capacity(mapped.len() + 1);
    for (path, granted, partial) in &mapped {
        let level = if relaxed { best_level(granted.union(relax)) } else { best_level(*granted) };
        let effective = if relaxed { level.perms().without(relax) } else { level.perms() };
        let lost = granted.without(effective);
        if !lost.is_empty() || !partial.is_empty() {
            let mut what = Vec::new();
            if !lost.is_empty() {
                what.push(format!("{lost}"));
            }
            if !partial.is_empty() {
                what.push(format!("{} (granted without its other half)", partial.join(", ")));
            }
            notes.push(format!(
                "{user}: permissions {path:?}: SFTPGo grants {granted}; imported as {level}, narrowed by {}",
                what.join(" and ")
            ));
        }
        let rule = Rule::new(path, level).map_err(|e| format!("permissions.{path:?}: {e}"))?;
        if rule.is_pattern() {
            notes.push(format!(
                "{user}: permissions {path:?} has wildcard characters, which gatehouse reads as a pattern"
            ));
        }
        rules.push(rule);
    }
    if !perms.contains_key("/") {
        notes.push(format!("{user}: no permissions for \"/\"; imported with \"/\" → none"));
        rules.insert(0, Rule::new("/", Level::None).map_err(|e| e.to_string())?);
    }
    if relaxed {
        notes.push(format!(
            "{user}: no path grants delete; imported with delete_allowed = false, so write folders allow no delete, overwrite or replacing rename"
        ));
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.into_iter().collect();
        notes.push(format!("{user}: unknown SFTPGo permissions ignored: {}", names.join(", ")));
    }
    Ok((rules, relaxed.then_some(false)))
}

/// A user record being converted; errors carry its jq path.
struct Rec<'a> {
    file: &'a str,
    label: String,
}

impl Rec<'_> {
    fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Record { file: self.file.to_owned(), record: self.label.clone(), reason: reason.into() }
    }
}

/// The group definitions of the dump, by name.
fn parse_groups<'a>(top: &'a Obj, file: &str) -> Result<HashMap<&'a str, Settings<'a>>, ImportError> {
    let groups = get_arr(top, "", "groups").map_err(|r| ImportError::Record {
        file: file.to_owned(),
        record: "groups".to_owned(),
        reason: r,
    })?;
    let mut out = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let mut rec = Rec { file, label: format!("groups[{i}]") };
        let Value::Object(o) = g else {
            return Err(rec.err(format!("expected an object, found {}", type_name(g))));
        };
        let name = get_str(o, "", "name").map_err(|r| rec.err(r))?.unwrap_or_default();
        if name.is_empty() {
            return Err(rec.err("name: required"));
        }
        rec.label = format!("groups[{i}] {name:?}");
        let settings = match get_obj(o, "", "user_settings").map_err(|r| rec.err(r))? {
            Some(us) => parse_settings(us, "user_settings.", o).map_err(|r| rec.err(r))?,
            None => Settings {
                virtual_folders: get_arr(o, "", "virtual_folders").map_err(|r| rec.err(r))?.len(),
                ..Settings::default()
            },
        };
        if out.insert(name, settings).is_some() {
            return Err(rec.err(format!("name: group {name:?} is defined twice")));
        }
    }
    Ok(out)
}

/// Parses an SFTPGo dump into an import plan.
///
/// `file` is used in messages only; `is_local` reports names that exist on this host, which are
/// skipped.
///
/// # Errors
/// [`ImportError::Bad`] if the text is not JSON or not an object with a `users` array;
/// [`ImportError::Record`] naming `users[i]` (or `groups[i]`) and the field for a value of the
/// wrong type, a name, address, key, path or hash that does not validate, or a name given twice.
pub fn parse(text: &str, file: &str, is_local: IsLocal<'_>) -> Result<ImportPlan, ImportError> {
    let top: Value = serde_json::from_str(text).map_err(|e| ImportError::Bad {
        file: file.to_owned(),
        line: e.line(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let bad_top = |reason: &str| ImportError::Bad { file: file.to_owned(), line: 1, reason: reason.to_owned() };
    let Value::Object(top) = &top else {
        return Err(bad_top("expected a JSON object with a `users` array (the output of `sftpgo dumpdata`)"));
    };
    let users = match top.get("users") {
        None => return Err(bad_top("no `users` key: is this an SFTPGo dump (`sftpgo dumpdata`)?")),
        Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(v) => return Err(bad_top(&format!("users: expected an array, found {}", type_name(v)))),
    };
    let groups = parse_groups(top, file)?;

    let mut plan = ImportPlan::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, v) in users.iter().enumerate() {
        let mut rec = Rec { file, label: format!("users[{i}]") };
        let Value::Object(o) = v else {
            return Err(rec.err(format!("expected an object, found {}", type_name(v))));
        };
        let name = get_str(o, "", "username").map_err(|r| rec.err(r))?.unwrap_or_default();
        if name.is_empty() {
            return Err(rec.err("username: required"));
        }
        rec.label = format!("users[{i}] {name:?}");
        validate_name("name", name).map_err(|e| rec.err(format!("username: {e}")))?;
        if let Some(prev) = seen.insert(name, i) {
            return Err(rec.err(format!("username: {name:?} already appears as users[{prev}]")));
        }
        let mut notes = Vec::new();
        let user = convert_user(o, name, &groups, &mut notes).map_err(|r| rec.err(r))?;
        if let Some(desc) = is_local(name) {
            plan.skipped.push(Skipped { name: name.to_owned(), reason: desc });
            continue;
        }
        plan.notes.append(&mut notes);
        plan.users.push(user);
    }
    if !groups.is_empty() {
        plan.notes.push(
            "SFTPGo group settings were merged into each member as SFTPGo applies them; the gatehouse groups are memberships only"
                .to_owned(),
        );
    }
    let admins = get_arr(top, "", "admins").map_or(0, <[Value]>::len);
    if admins > 0 {
        plan.notes.push(format!(
            "{admins} SFTPGo admin account(s) not imported; gatehouse admins are users with the admin flag"
        ));
    }
    plan.groups = referenced_groups(&plan.users);
    Ok(plan)
}

/// Converts one user object (after its name was checked). Errors are `field: reason`.
fn convert_user<'a>(
    o: &'a Obj,
    name: &str,
    groups: &HashMap<&str, Settings<'a>>,
    notes: &mut Vec<String>,
) -> Result<NewUser, String> {
    let mut user = NewUser { name: name.to_owned(), ..NewUser::default() };
    let mut settings = parse_settings(o, "", o)?;
    let role = get_str(o, "", "role")?.unwrap_or_default();

    // Group memberships, and the settings SFTPGo merges from them: primary first, then the
    // secondary groups in order; membership-only groups contribute nothing.
    let mut mappings = Vec::new();
    for (j, g) in get_arr(o, "", "groups")?.iter().enumerate() {
        let Value::Object(m) = g else {
            return Err(format!("groups[{j}]: expected an object {{name, type}}, found {}", type_name(g)));
        };
        let prefix = format!("groups[{j}].");
        let gname = get_str(m, &prefix, "name")?.unwrap_or_default();
        validate_name("groups", gname).map_err(|e| format!("groups[{j}].name: {e}"))?;
        let kind = get_int(m, &prefix, "type")?.unwrap_or(0);
        if !(1..=3).contains(&kind) {
            return Err(format!(
                "groups[{j}].type: expected 1 (primary), 2 (secondary) or 3 (membership), found {kind}"
            ));
        }
        if kind == 1 && mappings.iter().any(|&(_, k)| k == 1) {
            return Err(format!("groups[{j}].type: a user has at most one primary group"));
        }
        if !user.groups.iter().any(|x| x == gname) {
            user.groups.push(gname.to_owned());
        }
        mappings.push((gname, kind));
    }
    let mut group_expires_in = 0;
    for primary in [true, false] {
        for &(gname, kind) in &mappings {
            if (kind == 1) != primary || kind == 3 {
                continue;
            }
            if let Some(g) = groups.get(gname) {
                merge_group(&mut settings, g, primary, name, role);
                if primary {
                    group_expires_in = g.expires_in;
                }
            } else {
                notes.push(format!(
                    "{name}: group {gname:?} is not defined in the dump; any settings SFTPGo applied from it are not imported"
                ));
            }
        }
    }

    // Status: SFTPGo reads a missing status as 0, disabled.
    user.active = match get_int(o, "", "status")? {
        Some(1) => Some(true),
        Some(0) => Some(false),
        None => {
            notes.push(format!("{name}: no status in the dump; imported disabled, as SFTPGo would treat it"));
            Some(false)
        }
        Some(s) => return Err(format!("status: expected 1 (enabled) or 0 (disabled), found {s}")),
    };

    let mut expiry_ms = get_int(o, "", "expiration_date")?.unwrap_or(0);
    if expiry_ms < 0 {
        return Err(format!("expiration_date: must not be negative, found {expiry_ms}"));
    }
    if expiry_ms == 0 && group_expires_in > 0 {
        let created = get_int(o, "", "created_at")?.unwrap_or(0);
        expiry_ms = group_expires_in.saturating_mul(86_400_000).saturating_add(created);
    }
    if expiry_ms > 0 {
        user.expires_at = Some(expiry_ms / 1000);
    }

    if let Some(email) = get_str(o, "", "email")? {
        validate_email(email).map_err(|e| format!("email: {e}"))?;
        user.email = email.to_owned();
    }
    if let Some(desc) = get_str(o, "", "description")? {
        let mut d = sanitize_text(desc);
        if d.chars().count() > MAX_DISPLAY_NAME {
            d = d.chars().take(MAX_DISPLAY_NAME).collect::<String>().trim_end().to_owned();
            notes.push(format!("{name}: description cut to {MAX_DISPLAY_NAME} characters for the display name"));
        }
        validate_display_name(&d).map_err(|e| format!("description: {e}"))?;
        user.display_name = d;
    }
    if let Some(home) = &settings.home_dir {
        validate_root(home).map_err(|e| format!("home_dir: {e}"))?;
        user.root = Some(home.clone());
    }

    // Credentials.
    let denied_methods = &settings.filters.denied_login_methods;
    let denies = |m: &str| denied_methods.contains(&m);
    let mut keys = Vec::new();
    for (j, k) in get_str_list(o, "", "public_keys")?.into_iter().enumerate() {
        keys.push(PublicKey::parse(k).map_err(|e| format!("public_keys[{j}]: {e}"))?);
    }
    if denies("publickey") && !keys.is_empty() {
        notes.push(format!("{name}: public key logins are denied in SFTPGo; keys not imported"));
        keys.clear();
    }
    user.keys = keys;
    let password = get_str(o, "", "password")?.unwrap_or_default();
    match classify_hash(password) {
        HashVerdict::Usable => user.password_hash = Some(password.to_owned()),
        HashVerdict::NoPassword if password.is_empty() => {}
        HashVerdict::NoPassword | HashVerdict::Locked => {
            notes.push(format!("{name}: the password is a placeholder or locked; imported without a password"));
        }
        HashVerdict::Unsupported(kind) => notes.push(format!(
            "{name}: password hash kind {kind} cannot be verified; imported without a password, set a new one"
        )),
        HashVerdict::Malformed(reason) => return Err(format!("password: {reason}")),
    }
    if user.password_hash.is_some() && (denies("password") || denies("password-over-SSH")) {
        notes.push(format!(
            "{name}: password logins are denied in SFTPGo (for some or all protocols); password not imported"
        ));
        user.password_hash = None;
    }
    let other_methods: Vec<&str> = denied_methods
        .iter()
        .copied()
        .filter(|m| !matches!(*m, "password" | "password-over-SSH" | "publickey"))
        .collect();
    if !other_methods.is_empty() {
        notes.push(format!("{name}: denied login methods {} have no gatehouse counterpart", other_methods.join(", ")));
    }
    if user.password_hash.is_none() && user.keys.is_empty() {
        notes.push(format!("{name}: no password and no key; the user cannot log in until given one"));
    }

    // Access.
    let (rules, delete_allowed) = map_permissions(&settings.permissions, name, notes)?;
    user.rules = rules;
    user.delete_allowed = delete_allowed;
    let f = &settings.filters;
    user.allowed_ips = dedup(&f.allowed_ip);
    user.denied_ips = dedup(&f.denied_ip);
    let mut protocols = vec!["ftp".to_owned(), "ssh".to_owned()];
    if f.denied_protocols.contains(&Proto::Ssh) {
        protocols.retain(|p| p != "ssh");
    }
    if f.denied_protocols.contains(&Proto::Ftp) {
        protocols.retain(|p| p != "ftp");
    }
    if f.denied_protocols.iter().any(|p| matches!(p, Proto::Dav | Proto::Http)) {
        notes.push(format!("{name}: denied protocols DAV/HTTP ignored; gatehouse grants only ssh and ftp here"));
    }
    if protocols.is_empty() {
        notes.push(format!("{name}: both SSH and FTP are denied in SFTPGo; imported with no protocol"));
    }
    user.protocols = Some(protocols);
    if f.max_upload_file_size > 0 {
        user.max_file_size = u64::try_from(f.max_upload_file_size).ok();
    }

    // What cannot be carried over.
    if f.totp {
        notes.push(format!("{name}: TOTP was enabled in SFTPGo; secrets cannot be moved, enrol again with `gatehouse totp enable {name}`"));
    }
    if f.file_patterns > 0 {
        notes.push(format!(
            "{name}: file name pattern filters are not imported (gatehouse has none); review this user's rules"
        ));
    }
    if f.access_time > 0 {
        notes.push(format!("{name}: time-of-day access restrictions are not imported"));
    }
    if f.is_anonymous {
        notes.push(format!("{name}: anonymous in SFTPGo; imported as an ordinary user"));
    }
    if settings.virtual_folders > 0 {
        notes.push(format!(
            "{name}: {} virtual folder(s) not imported; their paths are plain folders inside the root",
            settings.virtual_folders
        ));
    }
    if settings.provider != 0 {
        notes.push(format!(
            "{name}: SFTPGo stored this user's files on a non-local backend (provider {}); they are not on this host",
            settings.provider
        ));
    }
    let uid = get_int(o, "", "uid")?.unwrap_or(0);
    let gid = get_int(o, "", "gid")?.unwrap_or(0);
    if uid != 0 || gid != 0 {
        notes.push(format!("{name}: SFTPGo uid/gid {uid}/{gid} ignored; gatehouse allocates its own"));
    }
    Ok(user)
}

/// Removes repeated networks, keeping the first occurrence.
fn dedup(nets: &[IpNet]) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = Vec::with_capacity(nets.len());
    for n in nets {
        if !out.contains(n) {
            out.push(*n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    // Tests report failures by panicking.
    #![allow(clippy::panic)]
    use super::*;

    const DUMP: &str = include_str!("../../tests/data/import/sftpgo-dump.json");

    fn none(_: &str) -> Option<String> {
        None
    }

    fn err(text: &str) -> String {
        match parse(text, "dump.json", &none) {
            Ok(p) => panic!("expected an error, got {} users", p.users.len()),
            Err(e) => e.to_string(),
        }
    }

    /// A dump with one user whose fields are `extra` (a JSON object body, may be empty).
    fn one(extra: &str) -> String {
        let sep = if extra.is_empty() { "" } else { ", " };
        format!(
            r#"{{"version": 16, "users": [{{"username": "ann", "status": 1, "permissions": {{"/": ["*"]}}{sep}{extra}}}]}}"#
        )
    }

    fn rules(u: &NewUser) -> Vec<(&str, Level)> {
        u.rules.iter().map(|r| (r.path.as_str(), r.level)).collect()
    }

    fn nets(n: &[IpNet]) -> Vec<String> {
        n.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn fixture() {
        let plan = parse(DUMP, "dump.json", &none).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = plan.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(plan.groups, ["acme", "auditors"]);
        let note = |s: &str| plan.notes.iter().any(|n| n.contains(s));

        // alice: full access on /, mixed sub-paths, an argon2id hash, keys, an IP allow-list.
        let a = &plan.users[0];
        assert_eq!(a.display_name, "Alice Liddell  Ops");
        assert_eq!(a.email, "alice@example.com");
        assert_eq!(a.root.as_deref(), Some("/srv/sftpgo/data/alice"));
        assert!(a.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
        assert_eq!(a.keys.len(), 1);
        assert_eq!(a.active, Some(true));
        assert_eq!(a.expires_at, None);
        assert_eq!(a.delete_allowed, None);
        assert_eq!(
            rules(a),
            [
                ("/", Level::Write),
                ("/archive", Level::Read),
                ("/drop", Level::Upload),
                ("/names", Level::List),
                ("/partial", Level::Upload),
                ("/secret", Level::None),
            ]
        );
        assert!(note(
            r#"alice: permissions "/partial": SFTPGo grants {list, create, overwrite}; imported as upload, narrowed by {overwrite}"#
        ));
        assert_eq!(nets(&a.allowed_ips), ["192.0.2.0/24", "2001:db8::/32"]);
        assert_eq!(nets(&a.denied_ips), ["192.0.2.66/32"]);
        assert_eq!(a.protocols.as_deref(), Some(&["ftp".to_owned(), "ssh".to_owned()][..]));
        assert_eq!(a.max_file_size, Some(104_857_600));
        assert_eq!(a.groups, ["acme"]);

        // bob: disabled, expires, FTP denied, no delete anywhere, a bcrypt hash; acme (secondary)
        // adds its /shared permissions and a denied network.
        let b = &plan.users[1];
        assert_eq!(b.active, Some(false));
        assert_eq!(b.expires_at, Some(1_767_225_600));
        assert_eq!(b.protocols.as_deref(), Some(&["ssh".to_owned()][..]));
        assert!(b.password_hash.as_deref().is_some_and(|h| h.starts_with("$2a$")));
        assert_eq!(b.delete_allowed, Some(false));
        assert_eq!(rules(b), [("/", Level::Write), ("/reports", Level::Read), ("/shared", Level::Read)]);
        assert!(note("bob: no path grants delete; imported with delete_allowed = false"));
        assert_eq!(nets(&b.denied_ips), ["203.0.113.0/24", "198.51.100.0/24"]);
        assert!(note("bob: denied protocols DAV/HTTP ignored"));
        assert_eq!(b.groups, ["acme", "auditors"]);
        assert!(note("bob: SFTPGo uid/gid 1001/1001 ignored"));

        // carol: pbkdf2 hash → no password; SSH denied; primary group gives home and "/".
        let c = &plan.users[2];
        assert_eq!(c.password_hash, None);
        assert!(note("carol: password hash kind $pbkdf2-sha256$ (PBKDF2) cannot be verified; imported without a password, set a new one"));
        assert_eq!(c.protocols.as_deref(), Some(&["ftp".to_owned()][..]));
        assert_eq!(c.root.as_deref(), Some("/srv/sftpgo/auditors/carol"));
        assert_eq!(rules(c), [("/", Level::Read), ("/carol-notes", Level::Write)]);
        assert_eq!(c.expires_at, Some((1_700_000_000_000 + 30 * 86_400_000) / 1000));
        assert!(note("carol: TOTP was enabled"));
        assert!(note("carol: file name pattern filters are not imported"));
        assert!(note("1 SFTPGo admin account(s) not imported"));
    }

    #[test]
    fn permission_mapping() {
        let map = |list: &[&str]| {
            let (mut p, mut u) = (Vec::new(), BTreeSet::new());
            best_level(sftpgo_perms(list, &mut p, &mut u))
        };
        assert_eq!(map(&["*"]), Level::Write);
        assert_eq!(map(&["list", "download", "upload", "overwrite", "delete", "rename", "create_dirs"]), Level::Write);
        assert_eq!(
            map(&[
                "list",
                "download",
                "upload",
                "overwrite",
                "delete_files",
                "delete_dirs",
                "rename_files",
                "rename_dirs",
                "create_dirs"
            ]),
            Level::Write
        );
        assert_eq!(
            map(&["list", "download", "upload", "overwrite", "delete_files", "rename", "create_dirs"]),
            Level::Read
        );
        assert_eq!(map(&["list", "download"]), Level::Read);
        assert_eq!(map(&["list", "download", "upload"]), Level::Read);
        assert_eq!(map(&["list", "upload"]), Level::Upload);
        assert_eq!(map(&["list", "upload", "overwrite", "create_dirs"]), Level::Upload);
        assert_eq!(map(&["list"]), Level::List);
        assert_eq!(map(&["download"]), Level::None);
        assert_eq!(map(&["upload", "create_dirs"]), Level::None);
        assert_eq!(map(&[]), Level::None);
        assert_eq!(map(&["create_symlinks", "chmod", "chown", "chtimes"]), Level::None);
    }

    #[test]
    fn missing_root_permission_is_none() {
        let t = r#"{"users": [{"username": "ann", "status": 1, "permissions": {"/in": ["list", "upload"]}}]}"#;
        let plan = parse(t, "d.json", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules(&plan.users[0]), [("/", Level::None), ("/in", Level::Upload)]);
        let t = r#"{"users": [{"username": "ann", "status": 1}]}"#;
        let plan = parse(t, "d.json", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules(&plan.users[0]), [("/", Level::None)]);
    }

    #[test]
    fn login_methods_and_local_names() {
        let y = "$y$j9T$crHDQeyD9tSO.GTC0wp8l1$qJG9s7D4RE/zVXxhATCqHQUbIlsRwywpGqfo3.vYXEB";
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0xMRcDSj+OLGI4xkxPr6ktUhUpdQJYR1sG/k+tkGKQ a@b";
        let t = one(&format!(
            r#""password": "{y}", "public_keys": ["{key}"], "filters": {{"denied_login_methods": ["password", "publickey", "keyboard-interactive"]}}"#
        ));
        let plan = parse(&t, "d.json", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.users[0].password_hash, None);
        assert!(plan.users[0].keys.is_empty());
        assert!(plan.notes.iter().any(|n| n.contains("keyboard-interactive have no gatehouse counterpart")));
        let local = |n: &str| (n == "ann").then(|| "local user ann".to_owned());
        let plan = parse(&t, "d.json", &local).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.users.is_empty());
        assert_eq!(plan.skipped, [Skipped { name: "ann".into(), reason: "local user ann".into() }]);
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(err("{\"users\": [").starts_with("dump.json:1: not valid JSON: "));
        assert!(err("{\n\"users\": [\n}").starts_with("dump.json:3: not valid JSON: "));
        assert_eq!(
            err("[]"),
            "dump.json:1: expected a JSON object with a `users` array (the output of `sftpgo dumpdata`)"
        );
        assert_eq!(err("{\"admins\": []}"), "dump.json:1: no `users` key: is this an SFTPGo dump (`sftpgo dumpdata`)?");
        assert_eq!(err("{\"users\": {}}"), "dump.json:1: users: expected an array, found an object");
        assert_eq!(err("{\"users\": [42]}"), "dump.json: users[0]: expected an object, found a number");
        assert_eq!(err("{\"users\": [{}]}"), "dump.json: users[0]: username: required");
        assert_eq!(
            err("{\"users\": [{\"username\": 7}]}"),
            "dump.json: users[0]: username: expected a string, found a number"
        );
        assert!(err("{\"users\": [{\"username\": \"Ann\"}]}")
            .starts_with("dump.json: users[0] \"Ann\": username: invalid name \"Ann\""));
        let dup = r#"{"users": [{"username": "ann", "status": 1}, {"username": "bob", "status": 1}, {"username": "ann", "status": 1}]}"#;
        assert_eq!(err(dup), "dump.json: users[2] \"ann\": username: \"ann\" already appears as users[0]");
        // Wrong types.
        assert_eq!(
            err(&one(r#""status": "1""#)),
            r#"dump.json: users[0] "ann": status: expected an integer, found a string"#
        );
        assert_eq!(
            err(&one(r#""status": 2"#)),
            r#"dump.json: users[0] "ann": status: expected 1 (enabled) or 0 (disabled), found 2"#
        );
        assert_eq!(
            err(&one(r#""expiration_date": 1.5"#)),
            r#"dump.json: users[0] "ann": expiration_date: expected an integer, found 1.5"#
        );
        assert_eq!(
            err(&one(r#""expiration_date": -1"#)),
            r#"dump.json: users[0] "ann": expiration_date: must not be negative, found -1"#
        );
        assert_eq!(
            err(&one(r#""public_keys": "ssh-ed25519 AAAA""#)),
            r#"dump.json: users[0] "ann": public_keys: expected an array, found a string"#
        );
        assert_eq!(
            err(&one(r#""public_keys": [1]"#)),
            r#"dump.json: users[0] "ann": public_keys[0]: expected a string, found a number"#
        );
        assert_eq!(
            err(r#"{"users": [{"username": "ann", "status": 1, "permissions": {"/": "*"}}]}"#),
            r#"dump.json: users[0] "ann": permissions."/": expected an array of permission names, found a string"#
        );
        assert_eq!(
            err(r#"{"users": [{"username": "ann", "status": 1, "permissions": ["/"]}]}"#),
            r#"dump.json: users[0] "ann": permissions: expected an object, found an array"#
        );
        assert_eq!(
            err(&one(r#""filters": []"#)),
            r#"dump.json: users[0] "ann": filters: expected an object, found an array"#
        );
        assert_eq!(
            err(&one(r#""filters": {"allowed_ip": "10.0.0.0/8"}"#)),
            r#"dump.json: users[0] "ann": filters.allowed_ip: expected an array, found a string"#
        );
        assert_eq!(
            err(&one(r#""groups": ["acme"]"#)),
            r#"dump.json: users[0] "ann": groups[0]: expected an object {name, type}, found a string"#
        );
        assert_eq!(
            err(&one(r#""groups": [{"name": "acme", "type": 9}]"#)),
            r#"dump.json: users[0] "ann": groups[0].type: expected 1 (primary), 2 (secondary) or 3 (membership), found 9"#
        );
        // Bad values.
        assert!(err(&one(r#""filters": {"allowed_ip": ["10.0.0.0/8", "10.0.0.300/8"]}"#))
            .starts_with(r#"dump.json: users[0] "ann": filters.allowed_ip[1]: invalid allowed_ips "10.0.0.300/8""#));
        assert!(err(&one(r#""filters": {"denied_ip": ["192.0.2.1/24"]}"#)).starts_with(
            r#"dump.json: users[0] "ann": filters.denied_ip[0]: invalid denied_ips "192.0.2.1/24": host bits"#
        ));
        assert_eq!(
            err(&one(r#""filters": {"denied_protocols": ["SMB"]}"#)),
            r#"dump.json: users[0] "ann": filters.denied_protocols[0]: unknown protocol "SMB" (SFTPGo knows SSH, FTP, DAV, HTTP)"#
        );
        assert!(err(r#"{"users": [{"username": "ann", "status": 1, "permissions": {"/a/../b": ["list"]}}]}"#)
            .starts_with(r#"dump.json: users[0] "ann": permissions."/a/../b": invalid path"#));
        assert!(
            err(&one(r#""home_dir": "data/ann""#)).starts_with(r#"dump.json: users[0] "ann": home_dir: invalid root"#)
        );
        assert!(err(&one(r#""email": "ann""#)).starts_with(r#"dump.json: users[0] "ann": email: invalid email"#));
        assert!(err(&one(r#""public_keys": ["ssh-rsa AAAA"]"#))
            .starts_with(r#"dump.json: users[0] "ann": public_keys[0]: invalid key"#));
        assert!(err(&one(r#""groups": [{"name": "Acme", "type": 2}]"#))
            .starts_with(r#"dump.json: users[0] "ann": groups[0].name: invalid groups"#));
        let e = err(&one(r#""password": "$2a$10$secretsecret""#));
        assert!(e.starts_with(r#"dump.json: users[0] "ann": password: "#), "{e}");
        assert!(!e.contains("secretsecret"), "{e}");
        // Group definitions are checked too.
        assert_eq!(
            err(r#"{"users": [], "groups": [{"name": "g", "user_settings": {"home_dir": 5}}]}"#),
            r#"dump.json: groups[0] "g": user_settings.home_dir: expected a string, found a number"#
        );
        assert_eq!(
            err(r#"{"users": [], "groups": [{"name": "g"}, {"name": "g"}]}"#),
            r#"dump.json: groups[1] "g": name: group "g" is defined twice"#
        );
    }

    #[test]
    fn plaintext_password_is_not_echoed() {
        let plan = parse(&one(r#""password": "Winter2024!""#), "d.json", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.users[0].password_hash, None);
        assert!(plan.notes.iter().all(|n| !n.contains("Winter2024")), "{:?}", plan.notes);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for s in [
            "",
            "null",
            "{\"users\": null}",
            "{\"users\": [null]}",
            &deep,
            "{\"users\": [{\"username\": \"a\", \"permissions\": {\"\": null}}]}",
        ] {
            let _ = parse(s, "d.json", &none);
        }
        let plan = parse("{\"users\": null}", "d.json", &none).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.users.is_empty());
    }
}
