//! Printing records for people (aligned text) and for programs (`--json`).
use super::CliError;
use crate::store::DbStatus;
use gatehouse_policy::model::{format_time, Group, User};
use gatehouse_policy::rules::Rule;

/// One decision of `gatehouse check`.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    /// What was asked (`active`, `ip`, `upload /x`, ...).
    pub what: String,
    /// The answer.
    pub allowed: bool,
    /// What decided it.
    pub reason: String,
}

/// Prints a value as pretty JSON with a trailing newline.
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v)?;
    super::emit_json(&s);
    Ok(())
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

/// One aligned `key: value` line.
fn kv(k: &str, v: impl std::fmt::Display) {
    out!("{:<17}{v}", format!("{k}:"));
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
pub fn print_user(u: &User) {
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
        kv(k, v);
    }
    kv("keys", u.keys.len());
    for k in &u.keys {
        out!("  {} {} {}", k.describe(), k.fingerprint, k.comment);
    }
    kv("rules", if u.rules.is_empty() { "none (mode applies everywhere)" } else { "" });
    for r in &u.rules {
        out!("  {:<30} {}", r.path, r.level);
    }
}

/// `user list` as a table.
pub fn print_user_table(users: &[User]) {
    out!("{:<20} {:>10} {:<4} {:<6} {:<10} {:<24} ROOT", "NAME", "UID", "MODE", "ACTIVE", "PROTOCOLS", "EXPIRES");
    for u in users {
        out!(
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

/// `rule list` / `group rule list`.
pub fn print_rules(rules: &[Rule], json: bool) -> Result<(), CliError> {
    if json {
        return print_json(rules);
    }
    for r in rules {
        out!("{:<30} {}", r.path, r.level);
    }
    Ok(())
}

/// `group show` as text.
pub fn print_group(g: &Group) {
    kv("name", &g.name);
    kv("id", &g.id);
    kv("gid", g.gid);
    kv("description", &g.description);
    kv("protocols", list_or(&g.protocols, "none (members keep their own)"));
    kv("allowed ips", nets(&g.allowed_ips, "none (does not widen members' lists)"));
    kv("denied ips", nets(&g.denied_ips, "none"));
    kv("hosts", list_or(&g.hosts, "all"));
    kv("members", list_or(&g.members, "none"));
    kv("rules", if g.rules.is_empty() { "none" } else { "" });
    for r in &g.rules {
        out!("  {:<30} {}", r.path, r.level);
    }
}

/// `apppass list` as a table.
pub fn print_app_passwords(list: &[crate::store::AppPassword]) {
    out!("{:<24} {:<16} {:<12} {:<21} {:<21} LAST USED", "LABEL", "ID", "PROTOCOLS", "CREATED", "EXPIRES");
    for a in list {
        out!(
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

/// `group list` as a table.
pub fn print_group_table(gs: &[Group]) {
    out!("{:<24} {:>10} {:>8} {:>6} DESCRIPTION", "NAME", "GID", "MEMBERS", "RULES");
    for g in gs {
        out!("{:<24} {:>10} {:>8} {:>6} {}", g.name, g.gid, g.members.len(), g.rules.len(), g.description);
    }
}

/// `db status` as text.
pub fn print_db_status(st: &DbStatus) {
    kv("backend", st.backend);
    kv("applied", st.applied.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
    if st.pending.is_empty() {
        out!("pending: none (schema is current)");
    } else {
        out!(
            "pending: {} (run gatehouse db migrate)",
            st.pending.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        );
    }
    if let (Some(u), Some(g)) = (st.users, st.groups) {
        out!("users: {u}");
        out!("groups: {g}");
    }
}
