//! `gatehouse user list` filters, turned into one SQL condition.
//!
//! Each filter becomes a clause on the `users` row aliased `t`, written so it also works inside
//! the subqueries that load keys, rules and groups for the same page (no join aliases). Column
//! names come from a fixed table, never from input; values are bound parameters.
use super::rows::lookup_key;
use super::{Result, StoreError};
use gatehouse_policy::model::format_time;
use gatehouse_policy::PolicyError;

/// The fields `--filter FIELD=VALUE` accepts, with their columns.
const FIELDS: [(&str, &str); 8] = [
    ("name", "t.name"),
    ("email", "t.email"),
    ("display_name", "t.display_name"),
    ("locale", "t.locale"),
    ("time_zone", "t.time_zone"),
    ("root", "t.root"),
    ("mode", "t.mode"),
    ("password_source", "t.password_source"),
];

/// Which users `user list` shows. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// `FIELD=VALUE` conditions, checked with [`UserQuery::filter`].
    fields: Vec<(&'static str, String)>,
    /// Users allowed this protocol themselves (`protocol=ftp`; group grants are not counted).
    protocol: Option<String>,
    /// Only users with `active = 0`.
    pub inactive: bool,
    /// Only users whose `expires_at` has passed.
    pub expired: bool,
    /// Only users locked out now (`login_state.locked_until` in the future).
    pub locked: bool,
    /// Only members of this group (name or id).
    pub group: Option<String>,
    /// Start after this name (paging).
    pub after: Option<String>,
    /// At most this many users.
    pub limit: Option<i64>,
    /// The time `expired` and `locked` are judged at (Unix seconds).
    pub now: i64,
}

impl UserQuery {
    /// Adds a `FIELD=VALUE` condition. The value matches exactly; with `*` in it, it is a
    /// pattern (`*` any text) matched without regard to ASCII case, e.g. `email=*@acme.example`.
    /// `protocol=P` matches users whose own protocol list has P.
    pub fn filter(&mut self, spec: &str) -> Result<()> {
        let bad = |why: String| StoreError::Invalid(PolicyError::invalid("filter", spec, why));
        let Some((field, value)) = spec.split_once('=') else {
            return Err(bad("expected FIELD=VALUE, e.g. email=alice@example.com".into()));
        };
        if field == "protocol" {
            gatehouse_policy::model::validate_protocol(value)?;
            self.protocol = Some(value.to_string());
            return Ok(());
        }
        let Some((name, _)) = FIELDS.iter().find(|(f, _)| *f == field) else {
            let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).chain(["protocol"]).collect();
            return Err(bad(format!("unknown field {field:?}; one of {}", known.join(", "))));
        };
        self.fields.push((name, value.to_string()));
        Ok(())
    }

    /// The `WHERE … ORDER BY t.name [LIMIT]` clause, parameters from `$1`, and the values to
    /// bind in order.
    pub(super) fn clause(&self) -> (String, Vec<Value>) {
        let mut conds: Vec<String> = Vec::new();
        let mut binds: Vec<Value> = Vec::new();
        for (field, value) in &self.fields {
            let col = FIELDS.iter().find(|(f, _)| f == field).map_or("t.name", |(_, c)| *c);
            if value.contains('*') {
                let p = param(&mut binds, Value::Text(like_pattern(value)));
                conds.push(format!("lower({col}) LIKE lower({p}) ESCAPE '\\'"));
            } else {
                let p = param(&mut binds, Value::Text(value.clone()));
                conds.push(format!("{col} = {p}"));
            }
        }
        if let Some(proto) = &self.protocol {
            let p = param(&mut binds, Value::Text(format!("%,{proto},%")));
            conds.push(format!("(',' || t.protocols || ',') LIKE {p}"));
        }
        if self.inactive {
            conds.push("t.active = 0".into());
        }
        // Times are text in the schema's sortable forms (`YYYY-MM-DD[THH:MM:SSZ]`), so text
        // comparison orders them; a date alone sorts before every time of that day (midnight).
        if self.expired {
            let p = param(&mut binds, Value::Text(format_time(self.now)));
            conds.push(format!("(t.expires_at IS NOT NULL AND t.expires_at <= {p})"));
        }
        if self.locked {
            let p = param(&mut binds, Value::Text(format_time(self.now)));
            conds.push(format!("EXISTS (SELECT 1 FROM login_state l WHERE l.user_id = t.id AND l.locked_until > {p})"));
        }
        if let Some(g) = &self.group {
            let p = param(&mut binds, Value::Text(lookup_key(g)));
            conds.push(format!(
                "EXISTS (SELECT 1 FROM memberships m JOIN groups g ON g.id = m.group_id \
                 WHERE m.user_id = t.id AND (g.name = {p} OR g.id = {p}))"
            ));
        }
        if let Some(a) = &self.after {
            let p = param(&mut binds, Value::Text(a.clone()));
            conds.push(format!("t.name > {p}"));
        }
        let mut sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        sql.push_str(" ORDER BY t.name");
        if let Some(l) = self.limit {
            let p = param(&mut binds, Value::Int(l));
            sql.push_str(&format!(" LIMIT {p}"));
        }
        (sql, binds)
    }
}

/// Adds a bound value; returns its `$N`.
fn param(binds: &mut Vec<Value>, v: Value) -> String {
    binds.push(v);
    format!("${}", binds.len())
}

/// A bound value of a query clause.
#[derive(Debug, Clone)]
pub(super) enum Value {
    /// TEXT.
    Text(String),
    /// INTEGER.
    Int(i64),
}

/// `*` → `%`, with the pattern's own `%`, `_` and `\` escaped (ESCAPE '\').
fn like_pattern(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 4);
    for c in v.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filters_become_bound_conditions() {
        let mut q = UserQuery { inactive: true, limit: Some(5), ..UserQuery::default() };
        q.filter("email=*@acme_x.example").unwrap();
        q.filter("protocol=ftp").unwrap();
        let (sql, binds) = q.clause();
        assert!(sql.contains("lower(t.email) LIKE lower($1)") && sql.contains("t.active = 0"), "{sql}");
        assert!(sql.ends_with("ORDER BY t.name LIMIT $3"), "{sql}");
        assert!(matches!(&binds[0], Value::Text(p) if p == "%@acme\\_x.example"), "{binds:?}");
        for bad in ["email", "password_hash=x", "totp_secret=x", "protocol=FTP"] {
            assert!(UserQuery::default().filter(bad).is_err(), "{bad}");
        }
    }
}
