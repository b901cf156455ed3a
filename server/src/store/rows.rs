//! Decoding rows into policy records, in bulk.
//!
//! Ops may edit the database with plain SQL, so every column is parsed and validated here; a
//! malformed value names the record and the column, never a silent default. The CLI, asked about
//! particular records, gets an error; the serving paths ([`load_users_lenient`],
//! [`load_groups_lenient`]) leave the row out and go on, so one bad row never takes every other
//! user down with it. Whether a well-formed row may be served on this host is the next step,
//! [`gatehouse_policy::servable`].
use super::{Result, StoreError};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{format_time, parse_time, Group, PasswordSource, User};
use gatehouse_policy::rules::{Level, Mode, Rule};
use gatehouse_policy::servable::Unservable;
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

/// A row that is left out: which record, and why (the column and the reason). Loading goes on
/// with the other rows, so one bad row written with plain SQL never takes every user down with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// `user` or `group`.
    pub kind: &'static str,
    /// The record's name as stored (escaped when shown).
    pub name: String,
    /// The column and the reason.
    pub why: Unservable,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}, {}", self.kind, self.name, self.why)
    }
}

impl Rejected {
    /// The error a caller that asked for this one record gets.
    pub fn into_error(self) -> StoreError {
        StoreError::Corrupt(self.to_string())
    }
}

fn bad(col: &'static str, e: impl std::fmt::Display) -> Unservable {
    Unservable { column: col, why: e.to_string() }
}

/// One column, any value that does not decode (SQLite keeps whatever plain SQL wrote: text in
/// an integer column, NULL in a NOT NULL one after a schema edit) named by its column.
fn get<'r, T>(row: &'r AnyRow, col: &'static str) -> std::result::Result<T, Unservable>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| bad(col, e))
}

fn flag(row: &AnyRow, col: &'static str) -> std::result::Result<bool, Unservable> {
    Ok(get::<i64>(row, col)? != 0)
}

type Col<T> = std::result::Result<T, Unservable>;

/// Parses a comma-separated CIDR list column.
fn ip_list(col: &'static str, s: &str) -> Col<Vec<ipnet::IpNet>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| gatehouse_policy::ip::parse_net(col, x).map_err(|e| bad(col, e)))
        .collect()
}

/// Formats an IP list for the column.
pub fn ip_list_text(v: &[ipnet::IpNet]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

fn protocols_col(s: &str) -> Col<Vec<String>> {
    gatehouse_policy::model::parse_protocols(s).map_err(|e| bad("protocols", e))
}

fn opt_time(row: &AnyRow, col: &'static str) -> Col<Option<i64>> {
    let v: Option<String> = get(row, col)?;
    v.map(|s| parse_time(col, &s).map_err(|e| bad(col, e))).transpose()
}

fn time(row: &AnyRow, col: &'static str) -> Col<i64> {
    parse_time(col, &get::<String>(row, col)?).map_err(|e| bad(col, e))
}

/// Formats an optional time for a column.
pub fn time_text(t: Option<i64>) -> Option<String> {
    t.map(format_time)
}

/// Parses a `hosts` column (comma-separated host names and `@host-groups`).
fn hosts_col(s: &str) -> Col<Vec<String>> {
    let entries: Vec<String> = s.split(',').map(str::to_string).collect();
    gatehouse_policy::model::parse_hosts("hosts", &entries).map_err(|e| bad("hosts", e))
}

fn id_u32(row: &AnyRow, col: &'static str) -> Col<u32> {
    let v: i64 = get(row, col)?;
    u32::try_from(v).map_err(|_| bad(col, format!("{v} is not a valid id")))
}

const USER_COLS: &str = "t.id, t.name, t.uid, t.gid, t.display_name, t.email, t.locale, t.time_zone, t.password_hash, \
     t.password_source, t.must_change_password, t.root, t.mode, t.delete_allowed, t.allowed_ips, t.denied_ips, \
     t.protocols, t.hosts, t.active, t.expires_at, t.max_file_size, t.admin, t.created_at, t.updated_at, \
     CAST(CASE WHEN t.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp_enabled, \
     ls.last_login_at, ls.last_login_ip, ls.failed_logins, ls.locked_until";

/// Decodes one user row; `name` and `id` were read already (a row whose name or id does not
/// decode cannot be named, and is reported by its position).
fn user_from_row(row: &AnyRow, id: String, name: String) -> Col<User> {
    let max_file_size: Option<i64> = get(row, "max_file_size")?;
    let max_file_size = match max_file_size {
        // 0 and NULL both mean "no cap" (the CLI stores NULL); a negative value is not a cap
        // anyone meant, and reading it as "none" would fail open.
        Some(v) if v < 0 => return Err(bad("max_file_size", format!("{v} is negative"))),
        Some(v) => Some(v as u64),
        None => None,
    };
    let failed: Option<i64> = get(row, "failed_logins")?;
    Ok(User {
        id,
        uid: id_u32(row, "uid")?,
        gid: id_u32(row, "gid")?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        locale: get(row, "locale")?,
        time_zone: get(row, "time_zone")?,
        password_hash: get(row, "password_hash")?,
        password_source: get::<String>(row, "password_source")?
            .parse::<PasswordSource>()
            .map_err(|e| bad("password_source", e))?,
        must_change_password: flag(row, "must_change_password")?,
        totp_enabled: flag(row, "totp_enabled")?,
        keys: Vec::new(),
        root: get(row, "root")?,
        mode: get::<String>(row, "mode")?.parse::<Mode>().map_err(|e| bad("mode", e))?,
        delete_allowed: flag(row, "delete_allowed")?,
        rules: Vec::new(),
        allowed_ips: ip_list("allowed_ips", &get::<String>(row, "allowed_ips")?)?,
        denied_ips: ip_list("denied_ips", &get::<String>(row, "denied_ips")?)?,
        protocols: protocols_col(&get::<String>(row, "protocols")?)?,
        groups: Vec::new(),
        hosts: hosts_col(&get::<String>(row, "hosts")?)?,
        active: flag(row, "active")?,
        expires_at: opt_time(row, "expires_at")?,
        max_file_size,
        admin: flag(row, "admin")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        last_login_at: opt_time(row, "last_login_at")?,
        last_login_ip: get(row, "last_login_ip")?,
        failed_logins: u32::try_from(failed.unwrap_or(0)).unwrap_or(0),
        locked_until: opt_time(row, "locked_until")?,
        name,
    })
}

fn rule_from_row(row: &AnyRow, table: &'static str) -> Col<Rule> {
    let path: String = get(row, "path")?;
    let level: Level = get::<String>(row, "level")?.parse().map_err(|e| bad(table, e))?;
    Rule::new(&path, level).map_err(|e| bad(table, e))
}

/// The name and id of a row, which every report needs; a row without them is named by its
/// position (`#3`), which only a schema edit can cause.
fn name_and_id(row: &AnyRow, i: usize) -> std::result::Result<(String, String), (String, Unservable)> {
    let name: String = get(row, "name").map_err(|e| (format!("#{i}"), e))?;
    let id: String = get(row, "id").map_err(|e| (name.clone(), e))?;
    Ok((name, id))
}

/// Rows decoded, and the ones left out. `slots[i]` is `Ok(record)` or `Err(index into rejected)`
/// while the related tables are read, so a bad rule row can still reject its owner.
struct Decoded<T> {
    slots: Vec<std::result::Result<T, usize>>,
    rejected: Vec<Rejected>,
    /// Record id → slot.
    index: HashMap<String, usize>,
}

impl<T> Decoded<T> {
    fn new(kind: &'static str, rows: &[AnyRow], decode: impl Fn(&AnyRow, String, String) -> Col<T>) -> Self {
        let mut d = Decoded { slots: Vec::with_capacity(rows.len()), rejected: Vec::new(), index: HashMap::new() };
        for (i, row) in rows.iter().enumerate() {
            match name_and_id(row, i) {
                Ok((name, id)) => {
                    d.index.insert(id.clone(), d.slots.len());
                    match decode(row, id, name.clone()) {
                        Ok(t) => d.slots.push(Ok(t)),
                        Err(why) => {
                            d.rejected.push(Rejected { kind, name, why });
                            d.slots.push(Err(d.rejected.len() - 1));
                        }
                    }
                }
                Err((name, why)) => d.rejected.push(Rejected { kind, name, why }),
            }
        }
        d
    }

    /// Applies `f` to the record with this id, if it is still in; an error rejects it.
    fn update(
        &mut self,
        kind: &'static str,
        id: &str,
        name_of: impl Fn(&T) -> String,
        f: impl FnOnce(&mut T) -> Col<()>,
    ) {
        let Some(&slot) = self.index.get(id) else { return };
        if let Ok(t) = &mut self.slots[slot] {
            if let Err(why) = f(t) {
                let name = name_of(t);
                self.rejected.push(Rejected { kind, name, why });
                self.slots[slot] = Err(self.rejected.len() - 1);
            }
        }
    }

    fn finish(self) -> (Vec<T>, Vec<Rejected>) {
        (self.slots.into_iter().filter_map(std::result::Result::ok).collect(), self.rejected)
    }
}

/// Loads users with their keys, rules, groups and login state, in three bulk queries. A row that
/// does not decode is an error naming the user and the column (for the CLI, which is asked about
/// the records it shows); the serving paths use [`load_users_lenient`].
pub async fn load_users(conn: &mut sqlx::AnyConnection, filter: &Filter<'_>) -> Result<Vec<User>> {
    let (users, rejected) = load_users_lenient(conn, filter, true).await?;
    match rejected.into_iter().next() {
        Some(r) => Err(r.into_error()),
        None => Ok(users),
    }
}

/// [`load_users`], going on past rows that do not decode: the users that do, and a [`Rejected`]
/// for each that does not (a bad key, rule or membership row rejects its user). `keys` stay
/// empty unless `with_keys` (they are most of the bytes, and passes over every user never need
/// them).
pub async fn load_users_lenient(
    conn: &mut sqlx::AnyConnection,
    filter: &Filter<'_>,
    with_keys: bool,
) -> Result<(Vec<User>, Vec<Rejected>)> {
    let sql =
        format!("SELECT {USER_COLS} FROM users t LEFT JOIN login_state ls ON ls.user_id = t.id {}", filter.clause());
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut users = Decoded::new("user", &rows, user_from_row);
    drop(rows);
    if users.slots.is_empty() {
        return Ok(users.finish());
    }
    let name_of = |u: &User| u.name.clone();
    // The subquery repeats the filter, so one page costs the same three queries as one user.
    let sub = format!("SELECT t.id FROM users t {}", filter.clause());

    let sql = format!("SELECT k.user_id, k.algorithm, k.base64, k.comment, k.fingerprint FROM user_keys k WHERE k.user_id IN ({sub}) ORDER BY k.id");
    let key_rows = if with_keys { filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? } else { Vec::new() };
    for row in key_rows {
        let owner: String = row.try_get("user_id")?;
        users.update("user", &owner, name_of, |u| {
            let line = format!(
                "{} {} {}",
                get::<String>(&row, "algorithm")?,
                get::<String>(&row, "base64")?,
                get::<String>(&row, "comment")?
            );
            u.keys.push(PublicKey::parse(&line).map_err(|e| bad("user_keys", e))?);
            Ok(())
        });
    }
    let sql = format!("SELECT r.user_id, r.path, r.level FROM user_rules r WHERE r.user_id IN ({sub}) ORDER BY r.path");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let owner: String = row.try_get("user_id")?;
        users.update("user", &owner, name_of, |u| {
            u.rules.push(rule_from_row(&row, "user_rules")?);
            Ok(())
        });
    }
    let sql = format!("SELECT m.user_id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id IN ({sub}) ORDER BY g.name");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let owner: String = row.try_get("user_id")?;
        users.update("user", &owner, name_of, |u| {
            u.groups.push(get(&row, "name").map_err(|e| bad("memberships", e.why))?);
            Ok(())
        });
    }
    Ok(users.finish())
}

/// Loads groups with their rules and members; a row that does not decode is an error naming the
/// group and the column (see [`load_groups_lenient`]).
pub async fn load_groups(conn: &mut sqlx::AnyConnection, filter: &Filter<'_>) -> Result<Vec<Group>> {
    let (groups, rejected) = load_groups_lenient(conn, filter).await?;
    match rejected.into_iter().next() {
        Some(r) => Err(r.into_error()),
        None => Ok(groups),
    }
}

fn group_from_row(row: &AnyRow, id: String, name: String) -> Col<Group> {
    Ok(Group {
        id,
        gid: id_u32(row, "gid")?,
        description: get(row, "description")?,
        rules: Vec::new(),
        allowed_ips: ip_list("allowed_ips", &get::<String>(row, "allowed_ips")?)?,
        denied_ips: ip_list("denied_ips", &get::<String>(row, "denied_ips")?)?,
        protocols: protocols_col(&get::<String>(row, "protocols")?)?,
        hosts: hosts_col(&get::<String>(row, "hosts")?)?,
        members: Vec::new(),
        name,
    })
}

/// [`load_groups`], going on past rows that do not decode (a bad rule row rejects its group).
pub async fn load_groups_lenient(
    conn: &mut sqlx::AnyConnection,
    filter: &Filter<'_>,
) -> Result<(Vec<Group>, Vec<Rejected>)> {
    let sql = format!(
        "SELECT t.id, t.name, t.gid, t.description, t.allowed_ips, t.denied_ips, t.protocols, t.hosts FROM groups t {}",
        filter.clause()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut groups = Decoded::new("group", &rows, group_from_row);
    drop(rows);
    if groups.slots.is_empty() {
        return Ok(groups.finish());
    }
    let name_of = |g: &Group| g.name.clone();
    let sub = format!("SELECT t.id FROM groups t {}", filter.clause());
    let sql =
        format!("SELECT r.group_id, r.path, r.level FROM group_rules r WHERE r.group_id IN ({sub}) ORDER BY r.path");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let owner: String = row.try_get("group_id")?;
        groups.update("group", &owner, name_of, |g| {
            g.rules.push(rule_from_row(&row, "group_rules")?);
            Ok(())
        });
    }
    let sql = format!("SELECT m.group_id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({sub}) ORDER BY u.name");
    for row in filter.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let owner: String = row.try_get("group_id")?;
        groups.update("group", &owner, name_of, |g| {
            g.members.push(get(&row, "name").map_err(|e| bad("memberships", e.why))?);
            Ok(())
        });
    }
    Ok(groups.finish())
}
