//! An [`Output`] for people (aligned text) and for programs (`--json`): root's CLI prints it,
//! gatehoused answers a delegated admin with the same text.
use crate::command::{Files, Imported, Output};
use crate::store::DbStatus;
use gatehouse_policy::model::{format_time, Group, User};

/// A rendered answer: what goes to standard output and to standard error.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Every line, each ending in a newline.
    pub stdout: String,
    /// Lines for standard error (an import's skipped records and notes).
    pub stderr: String,
}

/// Collects lines.
#[derive(Default)]
struct Lines(String);

/// One line into [`Lines`], made [`super::terminal_safe`].
macro_rules! line {
    ($l:expr, $($t:tt)*) => {{ $l.push(&format!($($t)*)); }};
}

impl Lines {
    /// Appends one line, its control characters escaped (it may hold database text).
    fn push(&mut self, line: &str) {
        self.0.push_str(&super::terminal_safe(line));
        self.0.push('\n');
    }

    /// One aligned `key: value` line.
    fn kv(&mut self, k: &str, v: impl std::fmt::Display) {
        line!(self, "{:<17}{v}", format!("{k}:"));
    }
}

/// Renders `out` as text, or as JSON when `json` (`export` is always JSON).
pub fn render(out: &Output, json: bool) -> Result<Rendered, serde_json::Error> {
    if json || matches!(out, Output::Export { .. }) {
        if let Some(v) = json_of(out)? {
            return Ok(Rendered { stdout: format!("{v}\n"), stderr: String::new() });
        }
    }
    let mut o = Lines::default();
    let mut stderr = Lines::default();
    match out {
        Output::Done(msg) => line!(o, "{msg}"),
        Output::UserAdded(u) => line!(o, "added user {} (uid {}, root {})", u.name, u.uid, u.root),
        Output::UserUpdated { before, user: u } => {
            if &u.name != before {
                line!(
                    o,
                    "renamed user {} to {} (id {}, uid {}; root {} was not moved)",
                    before,
                    u.name,
                    u.id,
                    u.uid,
                    u.root
                );
            }
            line!(o, "updated user {}", u.name);
        }
        Output::UserDeleted { user: u, files } => match files {
            Files::Removed => line!(o, "deleted user {} and removed {}", u.name, u.root),
            Files::Absent => line!(o, "deleted user {} ({} did not exist)", u.name, u.root),
            Files::Kept => line!(o, "deleted user {} (files in {} kept)", u.name, u.root),
        },
        Output::User(u) => user(&mut o, u),
        Output::Users(us) => user_table(&mut o, us),
        Output::KeysAdded(keys) => {
            for k in keys {
                line!(o, "added {} {}", k.describe(), k.fingerprint);
            }
        }
        Output::Keys(keys) => {
            for k in keys {
                line!(o, "{} {} {}", k.describe(), k.fingerprint, k.comment);
            }
        }
        Output::Rules(rules) => {
            for r in rules {
                line!(o, "{:<30} {}", r.path, r.level);
            }
        }
        Output::TotpEnabled { user, secret, uri } => {
            line!(o, "TOTP enabled for {user}; this is shown once:");
            line!(o, "secret: {}", secret.expose());
            line!(o, "uri:    {}", uri.expose());
        }
        Output::Invited { user, code, expires_at } => {
            let expires = format_time(*expires_at);
            line!(o, "invitation for {user}: {} (valid until {expires}, once)", code.expose());
        }
        Output::InviteMailed { user, mailed_to, expires_at } => {
            let expires = format_time(*expires_at);
            line!(o, "invitation for {user} mailed to {mailed_to} (valid until {expires}, once)");
        }
        Output::AppPasswordAdded { user, app_password, token } => {
            line!(o, "app password {:?} for {user}; this is shown once:", app_password.label);
            line!(o, "{}", token.expose());
        }
        Output::AppPasswords(list) => app_passwords(&mut o, list),
        Output::GroupAdded(g) => line!(o, "added group {} (gid {})", g.name, g.gid),
        Output::Group(g) => group(&mut o, g),
        Output::Groups(gs) => {
            line!(o, "{:<24} {:>10} {:>8} {:>6} DESCRIPTION", "NAME", "GID", "MEMBERS", "RULES");
            for g in gs {
                line!(o, "{:<24} {:>10} {:>8} {:>6} {}", g.name, g.gid, g.members.len(), g.rules.len(), g.description);
            }
        }
        Output::Members(members) => {
            for m in members {
                line!(o, "{m}");
            }
        }
        Output::Check(report) => {
            for x in &report.decisions {
                line!(o, "{:<10} {}  {}", x.what, if x.allowed { "allow" } else { "DENY " }, x.reason);
            }
        }
        Output::Imported(i) => imported(&mut o, &mut stderr, i),
        // Always JSON (above); never reached.
        Output::Export { .. } => {}
        Output::Status(parts) => {
            for p in parts {
                line!(o, "{:<10} {}  {}", p.part, if p.ok { "ok  " } else { "FAIL" }, p.detail);
            }
        }
        Output::Migrated(applied) => {
            if applied.is_empty() {
                line!(o, "schema is current; nothing to do");
            } else {
                let v: Vec<String> = applied.iter().map(i64::to_string).collect();
                line!(o, "applied migrations: {}", v.join(", "));
            }
        }
        Output::DbStatus(st) => db_status(&mut o, st),
        Output::Granted(r) => {
            let what = r.group.as_ref().map_or("every user".into(), |g| format!("group {g}"));
            line!(o, "{} may now manage {what}", r.holder);
        }
        Output::AdminRoles(roles) => {
            line!(o, "{:<32} {:<24} SINCE", "HOLDER", "MANAGES");
            for r in roles {
                let group = r.group.as_deref().map_or("every user".to_string(), |g| format!("group {g}"));
                line!(o, "{:<32} {:<24} {}", r.holder, group, format_time(r.created_at));
            }
        }
    }
    Ok(Rendered { stdout: o.0, stderr: stderr.0 })
}

/// The `--json` text of an answer, pretty-printed; `None` for answers that have no JSON form
/// (changes answered by one line).
fn json_of(out: &Output) -> Result<Option<String>, serde_json::Error> {
    use serde_json::{json, to_string_pretty as pretty};
    let s = match out {
        Output::User(u) => pretty(&user_view(u))?,
        Output::Users(us) => pretty(&us.iter().map(user_view).collect::<Vec<_>>())?,
        Output::Keys(keys) => pretty(keys)?,
        Output::Rules(rules) => pretty(rules)?,
        Output::TotpEnabled { user, secret, uri } => {
            pretty(&json!({ "user": user, "secret": secret.expose(), "uri": uri.expose() }))?
        }
        Output::Invited { user, code, expires_at } => {
            pretty(&json!({ "user": user, "code": code.expose(), "expires_at": format_time(*expires_at) }))?
        }
        Output::InviteMailed { user, mailed_to, expires_at } => {
            pretty(&json!({ "user": user, "mailed_to": mailed_to, "expires_at": format_time(*expires_at) }))?
        }
        Output::AppPasswordAdded { user: _, app_password, token } => {
            pretty(&json!({ "app_password": app_password, "secret": token.expose() }))?
        }
        Output::AppPasswords(list) => pretty(list)?,
        Output::Group(g) => pretty(g)?,
        Output::Groups(gs) => pretty(gs)?,
        Output::Members(m) => pretty(m)?,
        Output::Check(r) => pretty(&json!({ "user": r.user, "allowed": r.allowed, "decisions": r.decisions }))?,
        Output::Export { users, groups } => {
            pretty(&json!({ "format": "gatehouse-export", "version": 1, "users": users, "groups": groups }))?
        }
        Output::Status(parts) => pretty(parts)?,
        Output::DbStatus(st) => pretty(st)?,
        Output::AdminRoles(roles) => pretty(roles)?,
        Output::Done(_)
        | Output::UserAdded(_)
        | Output::UserUpdated { .. }
        | Output::UserDeleted { .. }
        | Output::KeysAdded(_)
        | Output::GroupAdded(_)
        | Output::Imported(_)
        | Output::Migrated(_)
        | Output::Granted(_) => return Ok(None),
    };
    Ok(Some(s))
}

/// A user as `show --json` and `list --json` print it: the record without the password hash,
/// plus whether a password is set. (`export --json` keeps the hash, for backups.)
pub fn user_view(u: &User) -> serde_json::Value {
    let mut u2 = u.clone();
    let has_password = u2.password_hash.take().is_some();
    let mut v = serde_json::to_value(&u2).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("password_hash");
        obj.insert("password_set".into(), serde_json::Value::Bool(has_password));
    }
    v
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn list_or(v: &[String], empty: &str) -> String {
    if v.is_empty() {
        empty.to_string()
    } else {
        v.join(", ")
    }
}

fn nets(v: &[ipnet::IpNet], empty: &str) -> String {
    list_or(&v.iter().map(ToString::to_string).collect::<Vec<_>>(), empty)
}

fn when(t: Option<i64>, empty: &str) -> String {
    t.map_or_else(|| empty.to_string(), format_time)
}

/// `user show` as text.
fn user(o: &mut Lines, u: &User) {
    let password = match (&u.password_hash, u.must_change_password) {
        (Some(h), false) => format!("set ({})", h.split('$').nth(1).unwrap_or("?")),
        (Some(_), true) => "set, must be changed at next login".to_string(),
        (None, true) => "none, must be set at next login".to_string(),
        (None, false) => "none".to_string(),
    };
    let rows = [
        ("name", u.name.clone()),
        ("id", u.id.clone()),
        ("uid/gid", format!("{}/{}", u.uid, u.gid)),
        ("display name", u.display_name.clone()),
        ("email", u.email.clone()),
        ("locale", u.locale.clone()),
        ("time zone", u.time_zone.clone()),
        ("root", u.root.clone()),
        ("mode", u.mode.to_string()),
        ("delete allowed", yes(u.delete_allowed).to_string()),
        ("protocols", list_or(&u.protocols, "none")),
        ("allowed ips", nets(&u.allowed_ips, "any")),
        ("denied ips", nets(&u.denied_ips, "none")),
        ("groups", list_or(&u.groups, "none")),
        ("hosts", list_or(&u.hosts, "all (unless a group limits them)")),
        ("active", yes(u.active).to_string()),
        ("expires", when(u.expires_at, "never")),
        ("max file size", u.max_file_size.map_or_else(|| "no limit".to_string(), |s| format!("{s} bytes"))),
        ("admin", yes(u.admin).to_string()),
        ("password", password),
        ("password source", u.password_source.to_string()),
        ("totp", if u.totp_enabled { "enabled" } else { "disabled" }.to_string()),
        ("created", format_time(u.created_at)),
        ("updated", format_time(u.updated_at)),
        (
            "last login",
            match (&u.last_login_at, &u.last_login_ip) {
                (Some(t), Some(ip)) => format!("{} from {ip}", format_time(*t)),
                (Some(t), None) => format_time(*t),
                _ => "never".to_string(),
            },
        ),
        ("failed logins", u.failed_logins.to_string()),
        ("locked until", when(u.locked_until, "not locked")),
    ];
    for (k, v) in rows {
        o.kv(k, v);
    }
    o.kv("keys", u.keys.len());
    for k in &u.keys {
        line!(o, "  {} {} {}", k.describe(), k.fingerprint, k.comment);
    }
    o.kv("rules", if u.rules.is_empty() { "none (mode applies everywhere)" } else { "" });
    for r in &u.rules {
        line!(o, "  {:<30} {}", r.path, r.level);
    }
}

/// `user list` as a table.
fn user_table(o: &mut Lines, users: &[User]) {
    line!(o, "{:<20} {:>10} {:<4} {:<6} {:<10} {:<24} ROOT", "NAME", "UID", "MODE", "ACTIVE", "PROTOCOLS", "EXPIRES");
    for u in users {
        line!(
            o,
            "{:<20} {:>10} {:<4} {:<6} {:<10} {:<24} {}",
            u.name,
            u.uid,
            u.mode.to_string(),
            yes(u.active),
            u.protocols.join(","),
            when(u.expires_at, "never"),
            u.root
        );
    }
}

/// `group show` as text.
fn group(o: &mut Lines, g: &Group) {
    o.kv("name", &g.name);
    o.kv("id", &g.id);
    o.kv("gid", g.gid);
    o.kv("description", &g.description);
    o.kv("protocols", list_or(&g.protocols, "none (members keep their own)"));
    o.kv("allowed ips", nets(&g.allowed_ips, "none (does not widen members' lists)"));
    o.kv("denied ips", nets(&g.denied_ips, "none"));
    o.kv("hosts", list_or(&g.hosts, "all"));
    o.kv("members", list_or(&g.members, "none"));
    o.kv("rules", if g.rules.is_empty() { "none" } else { "" });
    for r in &g.rules {
        line!(o, "  {:<30} {}", r.path, r.level);
    }
}

/// `apppass list` as a table.
fn app_passwords(o: &mut Lines, list: &[crate::store::AppPassword]) {
    line!(o, "{:<24} {:<16} {:<12} {:<21} {:<21} LAST USED", "LABEL", "ID", "PROTOCOLS", "CREATED", "EXPIRES");
    for a in list {
        line!(
            o,
            "{:<24} ghap_{:<11} {:<12} {:<21} {:<21} {}",
            a.label,
            a.id,
            list_or(&a.protocols, "all"),
            format_time(a.created_at),
            when(a.expires_at, "never"),
            when(a.last_used_at, "never")
        );
    }
}

/// `import`: the users on stdout, what was skipped and the notes on stderr.
fn imported(o: &mut Lines, stderr: &mut Lines, i: &Imported) {
    for (name, reason) in &i.skipped {
        line!(stderr, "skipped {name}: {reason}");
    }
    for n in &i.notes {
        line!(stderr, "note: {n}");
    }
    if i.dry_run {
        for name in &i.names {
            line!(o, "would import {name}");
        }
        line!(o, "{} users would be imported, {} skipped (dry run, nothing changed)", i.count, i.skipped.len());
    } else {
        line!(o, "imported {} users, skipped {}", i.count, i.skipped.len());
    }
}

/// `db status` as text.
fn db_status(o: &mut Lines, st: &DbStatus) {
    o.kv("backend", st.backend);
    o.kv("applied", st.applied.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
    if st.pending.is_empty() {
        line!(o, "pending: none (schema is current)");
    } else {
        line!(
            o,
            "pending: {} (run gatehouse db migrate)",
            st.pending.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        );
    }
    if let (Some(u), Some(g)) = (st.users, st.groups) {
        line!(o, "users: {u}");
        line!(o, "groups: {g}");
    }
}
