//! Decoding rows into policy records, in bulk.
//!
//! Ops may edit the database with plain SQL, so every column is parsed and validated here; a
//! malformed value is an error that names the record and the column, never a silent default.
use super::{get_bool, Result, StoreError};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{format_time, parse_time, Group, PasswordSource, User};
use gatehouse_policy::rules::{Level, Mode, Rule};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// Which rows of `users` (or `groups`) to load.
#[derive(Debug, Clone)]
pub enum Filter<'a> {
    /// Every row.
    All,
    /// One row by name or by id (UUID): what every command accepts where it takes a user or a
    /// group (see [`lookup_key`]).
    NameOrId(&'a str),
    /// A page of rows ordered by name, after `after` (exclusive).
    Page { after: &'a str, limit: i64 },
    /// Users matching `user list` filters (users only).
    Query(&'a super::query::UserQuery),
}

impl Filter<'_> {
    /// The WHERE/ORDER/LIMIT clause for table alias `t`, with parameters starting at `$1`.
    fn clause(&self) -> String {
        match self {
            Filter::All => "ORDER BY t.name".into(),
            Filter::NameOrId(_) => "WHERE t.name = $1 OR t.id = $1".into(),
            Filter::Page { .. } => "WHERE t.name > $1 ORDER BY t.name LIMIT $2".into(),
            Filter::Query(q) => q.clause().0,
        }
    }

    fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Filter::All => q,
            Filter::NameOrId(n) => q.bind(lookup_key(n)),
            Filter::Page { after, limit } => q.bind(after.to_string()).bind(*limit),
            Filter::Query(query) => query.clause().1.into_iter().fold(q, |q, v| match v {
                super::query::Value::Text(t) => q.bind(t),
                super::query::Value::Int(n) => q.bind(n),
            }),
        }
    }
}

/// The one resolver of "NAME or id" arguments: an id may be typed in either case (UUIDs are
/// often shown upper-case elsewhere) and is stored lower-case; a name is taken as it is. Names
/// are at most 32 characters, so nothing that has the 36-character shape of an id is a name.
pub fn lookup_key(name_or_id: &str) -> String {
    let lower = name_or_id.to_ascii_lowercase();
    if gatehouse_policy::model::is_id(&lower) {
        lower
    } else {
        name_or_id.to_string()
    }
}

fn corrupt(what: &str, name: &str, col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {name:?}, column {col}: {e}"))
}

/// Parses a comma-separated CIDR list column.
pub fn parse_ip_list(what: &str, name: &str, col: &'static str, s: &str) -> Result<Vec<ipnet::IpNet>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| gatehouse_policy::ip::parse_net(col, x).map_err(|e| corrupt(what, name, col, e)))
        .collect()
}

/// Formats an IP list for the column.
pub fn ip_list_text(v: &[ipnet::IpNet]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

fn parse_protocols_col(what: &str, name: &str, s: &str) -> Result<Vec<String>> {
    gatehouse_policy::model::parse_protocols(s).map_err(|e| corrupt(what, name, "protocols", e))
}

fn opt_time(row: &AnyRow, col: &'static str, what: &str, name: &str) -> Result<Option<i64>> {
    let v: Option<String> = row.try_get(col)?;
    v.map(|s| parse_time(col, &s).map_err(|e| corrupt(what, name, col, e))).transpose()
}

/// Formats an optional time for a column.
pub fn time_text(t: Option<i64>) -> Option<String> {
    t.map(format_time)
}

/// Parses a `hosts` column (comma-separated host names and `@host-groups`).
pub fn parse_hosts_col(what: &str, name: &str, s: &str) -> Result<Vec<String>> {
    let entries: Vec<String> = s.split(',').map(str::to_string).collect();
    gatehouse_policy::model::parse_hosts("hosts", &entries).map_err(|e| corrupt(what, name, "hosts", e))
}

fn id_u32(row: &AnyRow, col: &str, what: &str, name: &str) -> Result<u32> {
    let v: i64 = row.try_get(col)?;
    u32::try_from(v).map_err(|_| corrupt(what, name, col, format!("{v} is not a valid id")))
}

const USER_COLS: &str = "t.id, t.name, t.uid, t.gid, t.display_name, t.email, t.locale, t.time_zone, t.password_hash, \
     t.password_source, t.must_change_password, t.root, t.mode, t.delete_allowed, t.allowed_ips, t.denied_ips, \
     t.protocols, t.hosts, t.active, t.expires_at, t.max_file_size, t.admin, t.created_at, t.updated_at, \
     CAST(CASE WHEN t.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp_enabled, \
     ls.last_login_at, ls.last_login_ip, ls.failed_logins, ls.locked_until";

fn user_from_row(row: &AnyRow) -> Result<User> {
    let name: String = row.try_get("name")?;
    let n = name.as_str();
    let w = "user";
    let mode: String = row.try_get("mode")?;
    let source: String = row.try_get("password_source")?;
    let created: String = row.try_get("created_at")?;
    let updated: String = row.try_get("updated_at")?;
    let max_file_size: Option<i64> = row.try_get("max_file_size")?;
    let failed: Option<i64> = row.try_get("failed_logins")?;
    Ok(User {
        id: row.try_get("id")?,
        uid: id_u32(row, "uid", w, n)?,
        gid: id_u32(row, "gid", w, n)?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        locale: row.try_get("locale")?,
        time_zone: row.try_get("time_zone")?,
        password_hash: row.try_get("password_hash")?,
        password_source: source.parse::<PasswordSource>().map_err(|e| corrupt(w, n, "password_source", e))?,
        must_change_password: get_bool(row, "must_change_password")?,
        totp_enabled: get_bool(row, "totp_enabled")?,
        keys: Vec::new(),
        root: row.try_get("root")?,
        mode: mode.parse::<Mode>().map_err(|e| corrupt(w, n, "mode", e))?,
        delete_allowed: get_bool(row, "delete_allowed")?,
        rules: Vec::new(),
        allowed_ips: parse_ip_list(w, n, "allowed_ips", &row.try_get::<String, _>("allowed_ips")?)?,
        denied_ips: parse_ip_list(w, n, "denied_ips", &row.try_get::<String, _>("denied_ips")?)?,
        protocols: parse_protocols_col(w, n, &row.try_get::<String, _>("protocols")?)?,
        groups: Vec::new(),
        hosts: parse_hosts_col(w, n, &row.try_get::<String, _>("hosts")?)?,
        active: get_bool(row, "active")?,
        expires_at: opt_time(row, "expires_at", w, n)?,
        max_file_size: max_file_size.map(|v| v.max(0) as u64),
        admin: get_bool(row, "admin")?,
        created_at: parse_time("created_at", &created).map_err(|e| corrupt(w, n, "created_at", e))?,
        updated_at: parse_time("updated_at", &updated).map_err(|e| corrupt(w, n, "updated_at", e))?,
        last_login_at: opt_time(row, "last_login_at", w, n)?,
        last_login_ip: row.try_get("last_login_ip")?,
        failed_logins: u32::try_from(failed.unwrap_or(0)).unwrap_or(0),
        locked_until: opt_time(row, "locked_until", w, n)?,
        name,
    })
}

fn rule_from_row(row: &AnyRow, what: &str, name: &str) -> Result<Rule> {
    let path: String = row.try_get("path")?;
    let level: String = row.try_get("level")?;
    let level: Level = level.parse().map_err(|e| corrupt(what, name, "level", e))?;
    Rule::new(&path, level).map_err(|e| corrupt(what, name, "path", e))
}

/// Loads users with their keys, rules, groups and login state, in three bulk queries.
pub async fn load_users(conn: &mut sqlx::AnyConnection, filter: &Filter<'_>) -> Result<Vec<User>> {
    load_users_with(conn, filter, true).await
}

/// [`load_users`], leaving `keys` empty unless `with_keys` (the keys are most of the bytes, and
/// gatehoused's pass over every user for roots and FTP files never needs them).
pub async fn load_users_with(
    conn: &mut sqlx::AnyConnection,
    filter: &Filter<'_>,
    with_keys: bool,
) -> Result<Vec<User>> {
    let sql =
        format!("SELECT {USER_COLS} FROM users t LEFT JOIN login_state ls ON ls.user_id = t.id {}", filter.clause());
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut users = rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?;
    if users.is_empty() {
        return Ok(users);
    }
    let index: HashMap<String, usize> = users.iter().enumerate().map(|(i, u)| (u.id.clone(), i)).collect();
    // The subquery repeats the filter, so one page costs the same three queries as one user.
    let sub = format!("SELECT t.id FROM users t {}", filter.clause());

    let sql = format!("SELECT k.user_id, k.algorithm, k.base64, k.comment, k.fingerprint FROM user_keys k WHERE k.user_id IN ({sub}) ORDER BY k.id");
    let key_rows = if with_keys { filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? } else { Vec::new() };
    for row in key_rows {
        let uid: String = row.try_get("user_id")?;
        if let Some(&i) = index.get(&uid) {
            let line = format!(
                "{} {} {}",
                row.try_get::<String, _>("algorithm")?,
                row.try_get::<String, _>("base64")?,
                row.try_get::<String, _>("comment")?
            );
            let key = PublicKey::parse(&line).map_err(|e| corrupt("user", &users[i].name, "user_keys", e))?;
            users[i].keys.push(key);
        }
    }
    let sql = format!("SELECT r.user_id, r.path, r.level FROM user_rules r WHERE r.user_id IN ({sub}) ORDER BY r.path");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let uid: String = row.try_get("user_id")?;
        if let Some(&i) = index.get(&uid) {
            let rule = rule_from_row(&row, "user", &users[i].name)?;
            users[i].rules.push(rule);
        }
    }
    let sql = format!("SELECT m.user_id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id IN ({sub}) ORDER BY g.name");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let uid: String = row.try_get("user_id")?;
        if let Some(&i) = index.get(&uid) {
            users[i].groups.push(row.try_get("name")?);
        }
    }
    Ok(users)
}

/// Loads groups with their rules and members.
pub async fn load_groups(conn: &mut sqlx::AnyConnection, filter: &Filter<'_>) -> Result<Vec<Group>> {
    let sql = format!(
        "SELECT t.id, t.name, t.gid, t.description, t.allowed_ips, t.denied_ips, t.protocols, t.hosts FROM groups t {}",
        filter.clause()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut groups = Vec::with_capacity(rows.len());
    for row in &rows {
        let name: String = row.try_get("name")?;
        groups.push(Group {
            id: row.try_get("id")?,
            gid: id_u32(row, "gid", "group", &name)?,
            description: row.try_get("description")?,
            rules: Vec::new(),
            allowed_ips: parse_ip_list("group", &name, "allowed_ips", &row.try_get::<String, _>("allowed_ips")?)?,
            denied_ips: parse_ip_list("group", &name, "denied_ips", &row.try_get::<String, _>("denied_ips")?)?,
            protocols: parse_protocols_col("group", &name, &row.try_get::<String, _>("protocols")?)?,
            hosts: parse_hosts_col("group", &name, &row.try_get::<String, _>("hosts")?)?,
            members: Vec::new(),
            name,
        });
    }
    if groups.is_empty() {
        return Ok(groups);
    }
    let index: HashMap<String, usize> = groups.iter().enumerate().map(|(i, g)| (g.id.clone(), i)).collect();
    let sub = format!("SELECT t.id FROM groups t {}", filter.clause());
    let sql =
        format!("SELECT r.group_id, r.path, r.level FROM group_rules r WHERE r.group_id IN ({sub}) ORDER BY r.path");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let gid: String = row.try_get("group_id")?;
        if let Some(&i) = index.get(&gid) {
            let rule = rule_from_row(&row, "group", &groups[i].name)?;
            groups[i].rules.push(rule);
        }
    }
    let sql = format!("SELECT m.group_id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({sub}) ORDER BY u.name");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let gid: String = row.try_get("group_id")?;
        if let Some(&i) = index.get(&gid) {
            groups[i].members.push(row.try_get("name")?);
        }
    }
    Ok(groups)
}
