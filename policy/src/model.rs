//! The user and group records, and the validation of every field.
//!
//! Validation lives here, not in the CLI or the store, so that every way in (the CLI, imports, the
//! daemon's admin requests) rejects the same inputs with the same message. Each validator names
//! the field as the CLI and JSON spell it.
use crate::error::PolicyError;
pub use crate::fields::{
    root_under, validate_email, validate_name, validate_protocol, validate_root, MAX_EMAIL_LEN, MAX_NAME_LEN,
    MAX_ROOT_LEN,
};
use crate::keys::PublicKey;
use crate::rules::{Mode, Rule};
use serde::{Deserialize, Serialize};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 128;
/// Where a user's password is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordSource {
    /// The hash stored in the gatehouse database.
    #[default]
    Local,
    /// A simple bind against the configured LDAP directory.
    Ldap,
}

impl std::str::FromStr for PasswordSource {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        match s {
            "local" => Ok(PasswordSource::Local),
            "ldap" => Ok(PasswordSource::Ldap),
            _ => Err(PolicyError::invalid("password_source", s, "expected local or ldap")),
        }
    }
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordSource::Local => "local",
            PasswordSource::Ldap => "ldap",
        })
    }
}

/// One gatehouse user, as stored and as exported. Field names are the schema's and the JSON's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// UUID, stable across renames.
    pub id: String,
    /// Login name; see [`validate_name`].
    pub name: String,
    /// Allocated from the configured range, never reused.
    pub uid: u32,
    /// The user's primary group id (a per-user group with the same number as the uid).
    pub gid: u32,
    /// Free text; no `:` or control characters, since it is the passwd GECOS field.
    pub display_name: String,
    /// Empty or a syntactically valid address.
    pub email: String,
    /// Free-form locale tag (e.g. `en_GB`); empty for none.
    pub locale: String,
    /// IANA zone name; empty for none.
    pub time_zone: String,
    /// The stored password hash; `None` when no password is set (key-only or invited users).
    pub password_hash: Option<String>,
    /// Where the password is checked.
    pub password_source: PasswordSource,
    /// Set by invitations and resets; the user must pick a new password at the next login.
    pub must_change_password: bool,
    /// A TOTP secret is set (`gatehouse totp enable`): logins need a code too. The secret itself
    /// never leaves the store (not here, not in JSON, not in the export).
    #[serde(default)]
    pub totp_enabled: bool,
    /// OpenSSH public keys, in the order they were added.
    pub keys: Vec<PublicKey>,
    /// The folder the user sees as `/`; absolute and canonical.
    pub root: String,
    /// A cap over every rule: `r` keeps only list and download.
    pub mode: Mode,
    /// False: existing data cannot be destroyed (no delete, overwrite, truncate, replacing rename).
    pub delete_allowed: bool,
    /// Path → level, sorted by path. Empty means `mode` everywhere.
    pub rules: Vec<Rule>,
    /// CIDR allow-list; empty means any address (unless a group restricts).
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// CIDR deny-list, checked before any allow-list.
    pub denied_ips: Vec<ipnet::IpNet>,
    /// Protocols the user may use (`ssh`, `ftp`, `web`, ...), sorted.
    pub protocols: Vec<String>,
    /// Names of the groups the user belongs to, sorted.
    pub groups: Vec<String>,
    /// Hosts that serve this user (host names, and host groups as `@name`); empty: as the
    /// user's groups say (see [`served_on`]).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// False rejects every connection.
    pub active: bool,
    /// Unix seconds after which logins are refused.
    pub expires_at: Option<i64>,
    /// Upload cap in bytes, enforced by gatehouse-sftp and ProFTPD.
    pub max_file_size: Option<u64>,
    /// May manage users (delegated administration).
    pub admin: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; bumped by every change to the record.
    pub updated_at: i64,
    /// Unix seconds of the last successful login.
    pub last_login_at: Option<i64>,
    /// Client address of the last successful login.
    pub last_login_ip: Option<String>,
    /// Consecutive failed logins in the current window.
    pub failed_logins: u32,
    /// Unix seconds until which the account is locked.
    pub locked_until: Option<i64>,
}

/// A group: members, and rules, IPs and protocols that apply to every member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// UUID, stable across renames.
    pub id: String,
    /// Group name; same syntax as user names.
    pub name: String,
    /// Allocated from the configured range (shared with uids, never reused).
    pub gid: u32,
    /// Free text.
    pub description: String,
    /// Path → level, sorted by path.
    pub rules: Vec<Rule>,
    /// CIDR allow-list; empty does not widen a member's own list.
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// CIDR deny-list.
    pub denied_ips: Vec<ipnet::IpNet>,
    /// Protocols granted to members, in addition to their own.
    pub protocols: Vec<String>,
    /// Hosts that serve this group's members (host names, and host groups as `@name`); empty:
    /// every host (see [`served_on`]).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Member names, sorted.
    pub members: Vec<String>,
}

/// Whether this host serves `user` (host scoping in a fleet):
/// - a user with a `hosts` list of their own is served on the hosts it names (by host name, or
///   by a host group as `@name`), whatever their groups say;
/// - otherwise, if any of their groups has a `hosts` list, on the hosts any of those name;
/// - otherwise everywhere.
pub fn served_on<'g>(
    user: &User,
    groups: impl IntoIterator<Item = &'g Group>,
    fleet: &crate::config::FleetConfig,
) -> bool {
    if !user.hosts.is_empty() {
        return scope_names(&user.hosts, fleet);
    }
    let mut scoped = groups.into_iter().filter(|g| !g.hosts.is_empty()).peekable();
    scoped.peek().is_none() || scoped.any(|g| scope_names(&g.hosts, fleet))
}

/// True if one of `entries` is this host's name or `@` one of its host groups.
pub fn scope_names(entries: &[String], fleet: &crate::config::FleetConfig) -> bool {
    entries.iter().any(|e| match e.strip_prefix('@') {
        Some(g) => fleet.host_groups.iter().any(|h| h == g),
        None => *e == fleet.host,
    })
}

/// Validates and sorts a `hosts` list: each entry a host name or `@` and a host-group name.
pub fn parse_hosts(field: &'static str, entries: &[String]) -> Result<Vec<String>, PolicyError> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        crate::config::validate_host_name(field, e.strip_prefix('@').unwrap_or(e))?;
        out.push(e.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Validates a display name: at most 128 characters, no `:` (the passwd field separator), no
/// newline or other control character.
pub fn validate_display_name(s: &str) -> Result<(), PolicyError> {
    if s.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(PolicyError::invalid("display_name", s, format!("longer than {MAX_DISPLAY_NAME_LEN} characters")));
    }
    if s.contains(':') {
        return Err(PolicyError::invalid("display_name", s, "must not contain ':'"));
    }
    if s.chars().any(char::is_control) {
        return Err(PolicyError::invalid("display_name", s, "must not contain newlines or control characters"));
    }
    Ok(())
}

/// Validates a locale tag such as `en`, `en_GB` or `de_DE.UTF-8`; empty means none.
pub fn validate_locale(s: &str) -> Result<(), PolicyError> {
    let ok = s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid("locale", s, "expected a tag such as en_GB or de_DE.UTF-8"))
    }
}

/// The system time zone database that `time_zone` values must name a file in.
pub const ZONEINFO_DIR: &str = "/usr/share/zoneinfo";

/// The syntax half of [`validate_time_zone`], without the file check: what every stored row is
/// held to when it is served (a million file opens per export would be too many, and the syntax
/// alone keeps the value from naming anything outside the zone database).
pub fn validate_time_zone_syntax(s: &str) -> Result<(), PolicyError> {
    let syntax_ok = s.is_empty()
        || (s.len() <= 64
            && s.split('/').all(|c| {
                c.chars().next().is_some_and(|f| f.is_ascii_alphabetic())
                    && c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '+'))
            }));
    if syntax_ok {
        Ok(())
    } else {
        Err(PolicyError::invalid("time_zone", s, "expected a zone name such as Europe/Berlin or UTC"))
    }
}

/// Validates a time zone: empty (none), or an IANA name such as `Europe/Berlin` or `UTC` that
/// names a zone file under `zoneinfo` (normally [`ZONEINFO_DIR`]). The name is checked on syntax
/// first — components of letters, digits, `_`, `-` and `+`, starting with a letter, no `.`/`..`,
/// no leading `/` — so it can never point outside the database; then the file must exist and be
/// a TZif file (not a directory such as `Europe`, nor `zone.tab`).
pub fn validate_time_zone(s: &str, zoneinfo: &std::path::Path) -> Result<(), PolicyError> {
    if s.is_empty() {
        return Ok(());
    }
    validate_time_zone_syntax(s)?;
    let bad = |why: &str| Err(PolicyError::invalid("time_zone", s, why));
    let mut magic = [0u8; 4];
    let is_tzif =
        std::fs::File::open(zoneinfo.join(s)).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic)).is_ok()
            && &magic == b"TZif";
    if is_tzif {
        Ok(())
    } else {
        bad("not a zone in the system time zone database (see /usr/share/zoneinfo, e.g. Europe/Berlin)")
    }
}

/// True if `s` has the shape of a record id: a UUID in its lowercase 8-4-4-4-12 hex form. Names
/// can never have it (they are at most 32 characters), so one argument can carry either.
pub fn is_id(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// Validates a record id given from outside (an import): see [`is_id`].
pub fn validate_id(s: &str) -> Result<(), PolicyError> {
    if is_id(s) {
        Ok(())
    } else {
        Err(PolicyError::invalid("id", s, "expected a UUID such as 3f2c8a1e-5b7d-4c2a-9e0f-1a2b3c4d5e6f"))
    }
}

/// Parses a comma-separated protocol list (`ssh,ftp`) into a sorted, deduplicated list.
/// An empty string gives an empty list (no protocol allowed).
pub fn parse_protocols(s: &str) -> Result<Vec<String>, PolicyError> {
    let mut out = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        validate_protocol(p)?;
        out.push(p.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses a size with an optional binary suffix (`500`, `10K`, `20M`, `1G`, `2T`). `0` means no cap.
pub fn parse_size(field: &'static str, s: &str) -> Result<u64, PolicyError> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(PolicyError::invalid(field, s, "unknown suffix (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| PolicyError::invalid(field, s, "expected a number of bytes, optionally with K, M, G or T"))?;
    n.checked_mul(mult).ok_or_else(|| PolicyError::invalid(field, s, "too large"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses a time as the CLI and the schema accept it: `YYYY-MM-DD` (midnight UTC),
/// `YYYY-MM-DDTHH:MM[:SS]` with an optional `Z` or `±HH:MM` offset (UTC when absent; a space may
/// stand for `T`), or `@SECONDS` since the epoch. Returns Unix seconds.
pub fn parse_time(field: &'static str, s: &str) -> Result<i64, PolicyError> {
    let bad = || PolicyError::invalid(field, s, "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    let t = s.trim();
    if let Some(secs) = t.strip_prefix('@') {
        return secs.parse::<i64>().map_err(|_| bad());
    }
    let num = |a: &str| -> Result<i64, PolicyError> {
        if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        a.parse::<i64>().map_err(|_| bad())
    };
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(PolicyError::invalid(field, s, "no such date"));
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(rest) = rest {
        let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, o) = rest.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').ok_or_else(bad)?;
            let (oh, om) = (num(oh)?, num(om)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            (c, sign * (oh * 3600 + om * 60))
        } else {
            (rest, 0)
        };
        let fields: Vec<&str> = clock.split(':').collect();
        let (h, mi, se) = match fields.as_slice() {
            [h, mi] => (num(h)?, num(mi)?, 0),
            [h, mi, se] => (num(h)?, num(mi)?, num(se)?),
            _ => return Err(bad()),
        };
        if h > 23 || mi > 59 || se > 60 {
            return Err(PolicyError::invalid(field, s, "no such time of day"));
        }
        secs += h * 3600 + mi * 60 + se - offset;
    }
    Ok(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (what the schema stores and JSON shows).
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Records for tests: a plain active user and an empty group.
#[cfg(test)]
pub(crate) mod fixtures {
    #![allow(clippy::unwrap_used)]
    use super::{Group, User};

    /// An active `rw` user with no rules, keys, groups or host list.
    pub fn user(name: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": "u", "name": name, "uid": 1900000002, "gid": 1900000002, "display_name": "",
            "email": "", "locale": "", "time_zone": "", "password_hash": null, "password_source": "local",
            "must_change_password": false, "keys": [], "root": "/srv/gatehouse/alice", "mode": "rw",
            "delete_allowed": true, "rules": [], "allowed_ips": [], "denied_ips": [], "protocols": [],
            "groups": [], "active": true, "expires_at": null, "max_file_size": null, "admin": false,
            "created_at": 0, "updated_at": 0, "last_login_at": null, "last_login_ip": null,
            "failed_logins": 0, "locked_until": null
        }))
        .unwrap()
    }

    /// A group with one member, `alice`, and nothing else.
    pub fn group(name: &str) -> Group {
        serde_json::from_value(serde_json::json!({
            "id": "g", "name": name, "gid": 1900000003, "description": "", "rules": [], "allowed_ips": [],
            "denied_ips": [], "protocols": [], "members": ["alice"]
        }))
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn host_scoping() {
        let fleet = |host: &str, groups: &[&str]| crate::config::FleetConfig {
            host: host.into(),
            host_groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut u = fixtures::user("alice");
        let mut web = fixtures::group("web");
        let plain = fixtures::group("staff");
        let (a, b_eu, c) = (fleet("a", &[]), fleet("b", &["eu"]), fleet("c", &["us"]));
        // No list anywhere: every host.
        assert!(served_on(&u, std::slice::from_ref(&plain), &a));
        // A group's list decides for members without their own; unscoped groups add nothing.
        web.hosts = list(&["a", "@eu"]);
        let groups = [web.clone(), plain.clone()];
        assert!(served_on(&u, &groups, &a) && served_on(&u, &groups, &b_eu) && !served_on(&u, &groups, &c));
        // The user's own list wins over the groups'.
        u.hosts = list(&["c"]);
        assert!(!served_on(&u, &groups, &a) && served_on(&u, &groups, &c));
        assert_eq!(parse_hosts("hosts", &list(&["b", " @eu", "", "b"])).unwrap(), list(&["@eu", "b"]));
        for bad in ["a b", "@", "x/y", "@a,b"] {
            assert!(parse_hosts("hosts", &list(&[bad])).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        for ok in ["alice", "_svc", "a", "bob-smith", "x.y", "a1234567890123456789012345678901"] {
            validate_name("name", ok).unwrap();
        }
        for bad in ["", "Alice", "1abc", "-a", "a b", "a:b", "a/b", "tom.", "a12345678901234567890123456789012", "é"] {
            assert!(validate_name("name", bad).is_err(), "{bad}");
        }
        let e = validate_name("name", "Bob").unwrap_err().to_string();
        assert!(e.contains("name") && e.contains("lowercase"), "{e}");
    }

    #[test]
    fn emails_and_display_names() {
        for ok in ["", "a@b.co", "first.last+tag@sub.example.org"] {
            validate_email(ok).unwrap();
        }
        for bad in ["a", "a@b", "@b.com", "a@@b.com", "a b@c.com", "a@-b.com", "a@b..com", ".a@b.com", "a@b.com\n"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        validate_display_name("Ada Lovelace (ops)").unwrap();
        assert!(validate_display_name("a:b").is_err());
        assert!(validate_display_name("a\nb").is_err());
    }

    #[test]
    fn time_zones_and_ids() {
        let tz = std::path::Path::new(ZONEINFO_DIR);
        for ok in ["", "UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"] {
            validate_time_zone(ok, tz).unwrap();
        }
        let bad = [
            "Europe/Nowhere",
            "Europe",
            "/etc/passwd",
            "../../../etc/passwd",
            "Europe/../UTC",
            "./UTC",
            "Europe//Berlin",
            "zone.tab",
            "UTC\n",
            "",
        ];
        for bad in bad.iter().filter(|b| !b.is_empty()) {
            assert!(validate_time_zone(bad, tz).is_err(), "{bad}");
        }
        assert!(is_id("3f2c8a1e-5b7d-4c2a-9e0f-1a2b3c4d5e6f"));
        for bad in ["3F2C8A1E-5B7D-4C2A-9E0F-1A2B3C4D5E6F", "3f2c8a1e5b7d4c2a9e0f1a2b3c4d5e6f", "alice", ""] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roots() {
        validate_root("/srv/gatehouse/alice").unwrap();
        for bad in ["srv", "/", "/srv/", "/srv//a", "/srv/./a", "/srv/../etc", "/srv/a\n"] {
            assert!(validate_root(bad).is_err(), "{bad}");
        }
        assert!(root_under("/srv/g/a", "/srv/g"));
        assert!(root_under("/srv/g", "/srv/g/"));
        assert!(!root_under("/srv/gx", "/srv/g"));
    }

    #[test]
    fn protocols_and_sizes() {
        assert_eq!(parse_protocols("ftp, ssh,ftp").unwrap(), vec!["ftp", "ssh"]);
        assert!(parse_protocols("SSH").is_err());
        assert_eq!(parse_size("s", "10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("s", "512").unwrap(), 512);
        assert!(parse_size("s", "10X").is_err());
        assert!(parse_size("s", "-1").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("t", "1970-01-01").unwrap(), 0);
        assert_eq!(parse_time("t", "2026-11-23T10:00:00Z").unwrap(), 1_795_428_000);
        assert_eq!(parse_time("t", "2026-11-23T12:00:00+02:00").unwrap(), 1_795_428_000);
        assert_eq!(parse_time("t", "@5").unwrap(), 5);
        assert_eq!(format_time(1_795_428_000), "2026-11-23T10:00:00Z");
        for s in [0i64, 951_782_400, 4_102_444_800, -86_400] {
            assert_eq!(parse_time("t", &format_time(s)).unwrap(), s);
        }
        for bad in ["2026-02-30", "2026-13-01", "26-01-01", "2026-01-01T25:00", "tomorrow", ""] {
            assert!(parse_time("t", bad).is_err(), "{bad}");
        }
    }
}
