//! `gatehouse import csv`: users from a spreadsheet.
//!
//! The first row is a header naming the columns, in any order; only `name` is required, and a
//! column the importer does not know, or one given twice, is an error (a typo such as `emial`
//! would otherwise drop a field silently). An empty cell means "not set": the config's default
//! applies. The columns, with the field names of the user record:
//!
//! | column | value |
//! |---|---|
//! | `name` | login name |
//! | `password_hash` | an argon2, yescrypt `$y$`, SHA-crypt `$6$`/`$5$` or bcrypt hash (never a plain password) |
//! | `email`, `display_name` | profile |
//! | `root` | absolute folder |
//! | `mode` | `r` or `rw` |
//! | `delete_allowed`, `active`, `must_change_password` | `true`/`false`, `yes`/`no`, `1`/`0` |
//! | `allowed_ips`, `denied_ips` | CIDRs separated by spaces, `;` or `,` |
//! | `protocols` | `ssh;ftp`, or `"ssh,ftp"` in quotes |
//! | `expires_at` | `YYYY-MM-DD`, RFC 3339 or `@SECONDS` |
//! | `max_file_size` | bytes, optionally with `K`, `M`, `G`, `T` |
//! | `groups` | group names separated by `;` |
//! | `keys` | OpenSSH public key lines separated by `|` (keys contain spaces) |
//! | `rules` | `/path=level;/other=level` |
//! | `uid` | explicit uid (not 0) |
//!
//! Fields are trimmed; lines starting with `#` are comments; a UTF-8 byte-order mark is ignored.
//! Every row must have as many fields as the header. The whole file is validated before a plan
//! is returned; the first bad cell gives `FILE:LINE: FIELD: reason`.
use std::borrow::Cow;
use std::collections::HashMap;

use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::model::{
    parse_protocols, parse_size, parse_time, validate_display_name, validate_email, validate_id, validate_locale,
    validate_name, validate_root, validate_time_zone, ZONEINFO_DIR,
};
use gatehouse_policy::password::hash_kind;
use gatehouse_policy::rules::{Level, Mode, Rule};

use super::{parse_decimal, reason_of, referenced_groups, ImportError, ImportPlan, IsLocal, Skipped};
use crate::store::NewUser;

/// The columns a CSV import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    PasswordHash,
    Email,
    DisplayName,
    Root,
    Mode,
    DeleteAllowed,
    AllowedIps,
    DeniedIps,
    Protocols,
    ExpiresAt,
    MaxFileSize,
    Active,
    Groups,
    Keys,
    Rules,
    Uid,
    MustChangePassword,
    Id,
    Locale,
    TimeZone,
}

impl Column {
    const ALL: [Column; 21] = [
        Column::Name,
        Column::PasswordHash,
        Column::Email,
        Column::DisplayName,
        Column::Root,
        Column::Mode,
        Column::DeleteAllowed,
        Column::AllowedIps,
        Column::DeniedIps,
        Column::Protocols,
        Column::ExpiresAt,
        Column::MaxFileSize,
        Column::Active,
        Column::Groups,
        Column::Keys,
        Column::Rules,
        Column::Uid,
        Column::MustChangePassword,
        Column::Id,
        Column::Locale,
        Column::TimeZone,
    ];

    /// The header spelling, which is also the field name in messages.
    const fn as_str(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::PasswordHash => "password_hash",
            Column::Email => "email",
            Column::DisplayName => "display_name",
            Column::Root => "root",
            Column::Mode => "mode",
            Column::DeleteAllowed => "delete_allowed",
            Column::AllowedIps => "allowed_ips",
            Column::DeniedIps => "denied_ips",
            Column::Protocols => "protocols",
            Column::ExpiresAt => "expires_at",
            Column::MaxFileSize => "max_file_size",
            Column::Active => "active",
            Column::Groups => "groups",
            Column::Keys => "keys",
            Column::Rules => "rules",
            Column::Uid => "uid",
            Column::MustChangePassword => "must_change_password",
            Column::Id => "id",
            Column::Locale => "locale",
            Column::TimeZone => "time_zone",
        }
    }
}

fn bad(file: &str, line: usize, reason: impl Into<String>) -> ImportError {
    ImportError::Bad { file: file.to_owned(), line, reason: reason.into() }
}

fn csv_error(file: &str, e: &::csv::Error) -> ImportError {
    let line = e.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
    bad(file, line, format!("not valid CSV: {e}"))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Parses one cell into `user`. Errors are the reason only; the caller adds file, line and
/// field.
fn apply(user: &mut NewUser, col: Column, v: &str) -> Result<(), String> {
    let e = |x: gatehouse_policy::PolicyError| x.to_string();
    match col {
        Column::Name => {
            validate_name("name", v).map_err(e)?;
            user.name = v.to_owned();
        }
        Column::PasswordHash => {
            // The reason only: a plain password pasted here must not be echoed.
            hash_kind(v).map_err(|x| reason_of(&x))?;
            user.password_hash = Some(v.to_owned());
        }
        Column::Email => {
            validate_email(v).map_err(e)?;
            user.email = v.to_owned();
        }
        Column::DisplayName => {
            validate_display_name(v).map_err(e)?;
            user.display_name = v.to_owned();
        }
        Column::Id => {
            let id = v.to_ascii_lowercase();
            validate_id(&id).map_err(e)?;
            user.id = Some(id);
        }
        Column::Locale => {
            validate_locale(v).map_err(e)?;
            user.locale = v.to_owned();
        }
        Column::TimeZone => {
            validate_time_zone(v, std::path::Path::new(ZONEINFO_DIR)).map_err(e)?;
            user.time_zone = v.to_owned();
        }
        Column::Root => {
            validate_root(v).map_err(e)?;
            user.root = Some(v.to_owned());
        }
        Column::Mode => user.mode = Some(v.parse::<Mode>().map_err(e)?),
        Column::DeleteAllowed => user.delete_allowed = Some(bool_cell(v)?),
        Column::Active => user.active = Some(bool_cell(v)?),
        Column::MustChangePassword => user.must_change_password = bool_cell(v)?,
        Column::AllowedIps | Column::DeniedIps => {
            let field = if col == Column::AllowedIps { "allowed_ips" } else { "denied_ips" };
            let mut nets = Vec::new();
            for x in v.split([' ', ';', ',']).filter(|x| !x.is_empty()) {
                nets.push(gatehouse_policy::ip::parse_net(field, x).map_err(e)?);
            }
            if col == Column::AllowedIps {
                user.allowed_ips = nets;
            } else {
                user.denied_ips = nets;
            }
        }
        Column::Protocols => {
            let list: Cow<'_, str> = if v.contains(';') { Cow::Owned(v.replace(';', ",")) } else { Cow::Borrowed(v) };
            user.protocols = Some(parse_protocols(&list).map_err(e)?);
        }
        Column::ExpiresAt => user.expires_at = Some(parse_time("expires_at", v).map_err(e)?),
        Column::MaxFileSize => {
            let n = parse_size("max_file_size", v).map_err(e)?;
            user.max_file_size = (n > 0).then_some(n);
        }
        Column::Groups => {
            for g in v.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                validate_name("groups", g).map_err(e)?;
                if !user.groups.iter().any(|x| x == g) {
                    user.groups.push(g.to_owned());
                }
            }
        }
        Column::Keys => {
            for k in v.split('|').map(str::trim).filter(|k| !k.is_empty()) {
                user.keys.push(PublicKey::parse(k).map_err(e)?);
            }
        }
        Column::Rules => {
            for r in v.split(';').map(str::trim).filter(|r| !r.is_empty()) {
                let Some((path, level)) = r.rsplit_once('=') else {
                    return Err(format!("expected /path=level, found {r:?}"));
                };
                let (path, level) = (path.trim(), level.trim());
                let level: Level = level.parse().map_err(e)?;
                if user.rules.iter().any(|x| x.path == path) {
                    return Err(format!("path {path:?} is given twice"));
                }
                user.rules.push(Rule::new(path, level).map_err(e)?);
            }
        }
        Column::Uid => {
            let uid: u32 = parse_decimal(v).ok_or_else(|| format!("expected a number, found {v:?}"))?;
            if uid == 0 {
                return Err("uid 0 is root and cannot be given to a gatehouse user".to_owned());
            }
            user.uid = Some(uid);
        }
    }
    Ok(())
}

fn bool_cell(v: &str) -> Result<bool, String> {
    parse_bool(v).ok_or_else(|| format!("expected true/false, yes/no or 1/0, found {v:?}"))
}

/// Parses a CSV file of users into an import plan.
///
/// `file` is used in messages only; `is_local` reports names that exist on this host, which are
/// skipped.
///
/// # Errors
/// [`ImportError::Bad`] naming the line and, for a cell, the column: no header, an unknown or
/// repeated column, no `name` column, a row with a different number of fields than the header,
/// a cell that fails validation, a name given twice.
pub fn parse(text: &str, file: &str, is_local: IsLocal<'_>) -> Result<ImportPlan, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut rec = ::csv::StringRecord::new();
    let mut lines = Lines { text: text.as_bytes(), at: 0, line: 1 };
    if !rdr.read_record(&mut rec).map_err(|e| csv_error(file, &e))? {
        return Err(bad(
            file,
            1,
            "the file is empty; the first row must be a header such as `name,email,password_hash`",
        ));
    }
    let header_line = lines.of(&rec);
    let mut cols: Vec<Column> = Vec::with_capacity(rec.len());
    for h in rec.iter() {
        let Some(c) = Column::ALL.into_iter().find(|c| c.as_str() == h) else {
            let known: Vec<&str> = Column::ALL.iter().map(|c| c.as_str()).collect();
            return Err(bad(
                file,
                header_line,
                format!("unknown column {h:?}; known columns are {}", known.join(", ")),
            ));
        };
        if cols.contains(&c) {
            return Err(bad(file, header_line, format!("column {h:?} is given twice")));
        }
        cols.push(c);
    }
    if !cols.contains(&Column::Name) {
        return Err(bad(file, header_line, "the header has no `name` column"));
    }

    let mut plan = ImportPlan::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    while rdr.read_record(&mut rec).map_err(|e| csv_error(file, &e))? {
        let line = lines.of(&rec);
        if rec.len() != cols.len() {
            return Err(bad(
                file,
                line,
                format!("expected {} fields (as in the header), found {}", cols.len(), rec.len()),
            ));
        }
        let mut user = NewUser::default();
        for (&col, v) in cols.iter().zip(rec.iter()) {
            if v.is_empty() {
                continue;
            }
            apply(&mut user, col, v).map_err(|r| bad(file, line, format!("{}: {r}", col.as_str())))?;
        }
        if user.name.is_empty() {
            return Err(bad(file, line, "name: required"));
        }
        if let Some(prev) = seen.get(&user.name) {
            return Err(bad(file, line, format!("name: {:?} already appears on line {prev}", user.name)));
        }
        seen.insert(user.name.clone(), line);
        if let Some(desc) = is_local(&user.name) {
            plan.skipped.push(Skipped { name: user.name, reason: desc });
            continue;
        }
        plan.users.push(user);
    }
    plan.groups = referenced_groups(&plan.users);
    Ok(plan)
}

/// Finds the line a record starts on. The csv crate reports the position where it *began
/// reading*, which is before any comment or blank lines it skipped; this skips them too and
/// counts newlines incrementally (offsets only move forward, so a whole file costs one pass).
struct Lines<'a> {
    text: &'a [u8],
    /// Byte offset up to which newlines have been counted.
    at: usize,
    /// 1-based line number at `at`.
    line: usize,
}

impl Lines<'_> {
    /// The 1-based line a record starts on (offsets only move forward).
    fn of(&mut self, rec: &::csv::StringRecord) -> usize {
        let mut end = rec.position().map_or(self.at, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        end = end.min(self.text.len());
        // Skip what csv-core skips before a record: empty lines and `#` comment lines.
        while let Some(rest) = self.text.get(end..) {
            match rest.first() {
                Some(b'\n' | b'\r') => end += 1,
                Some(b'#') => end += rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1),
                _ => break,
            }
        }
        if end > self.at {
            self.line += self.text.get(self.at..end).map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
            self.at = end;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    // Tests report failures by panicking.
    #![allow(clippy::panic)]
    use super::*;
    use std::fmt::Write as _;

    const CSV: &str = include_str!("../../tests/data/import/users.csv");
    const ARGON: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0MTIzNA$uf/3+xHOceRKCIwLZtvlbkTqq37iXMFTXxIrlYs8EMA";

    fn none(_: &str) -> Option<String> {
        None
    }

    fn err(text: &str) -> String {
        match parse(text, "u.csv", &none) {
            Ok(p) => panic!("expected an error, got {} users", p.users.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn fixture() {
        let local = |n: &str| (n == "mallory").then(|| "local user mallory (uid 1000)".to_owned());
        let plan = parse(CSV, "users.csv", &local).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = plan.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave"]);
        assert_eq!(plan.skipped, [Skipped { name: "mallory".into(), reason: "local user mallory (uid 1000)".into() }]);
        assert_eq!(plan.groups, ["acme", "editors"]);

        let a = &plan.users[0];
        assert_eq!(a.password_hash.as_deref(), Some(ARGON));
        assert_eq!(a.email, "alice@example.com");
        assert_eq!(a.display_name, "Alice Liddell, Ops");
        assert_eq!(a.root.as_deref(), Some("/srv/gatehouse/alice"));
        assert_eq!(a.mode, Some(Mode::Rw));
        assert_eq!(a.delete_allowed, Some(false));
        let nets: Vec<String> = a.allowed_ips.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.1.0/24"]);
        let nets: Vec<String> = a.denied_ips.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.66/32"]);
        assert_eq!(a.protocols.as_deref(), Some(&["ftp".to_owned(), "ssh".to_owned()][..]));
        assert_eq!(a.expires_at, Some(1_798_761_600)); // 2027-01-01
        assert_eq!(a.max_file_size, Some(10 << 20));
        assert_eq!(a.active, Some(true));
        assert_eq!(a.groups, ["editors", "acme"]);
        assert_eq!(a.keys.len(), 2);
        assert_eq!(a.keys[0].comment, "alice@laptop");
        let rules: Vec<(&str, Level)> = a.rules.iter().map(|r| (r.path.as_str(), r.level)).collect();
        assert_eq!(rules, [("/", Level::Read), ("/uploads", Level::Write), ("/clients/*/in", Level::Upload)]);
        assert_eq!(a.uid, None);

        let b = &plan.users[1];
        assert_eq!(b.password_hash.as_deref().map(|h| &h[..3]), Some("$y$"));
        assert_eq!(b.mode, Some(Mode::R));
        assert_eq!(b.protocols.as_deref(), Some(&["ssh".to_owned()][..]));
        assert_eq!(b.active, Some(false));
        assert_eq!(b.uid, Some(1_900_000_100));
        assert!(b.must_change_password);

        // Empty cells leave defaults.
        let c = &plan.users[2];
        assert_eq!(c.password_hash, None);
        assert_eq!(c.mode, None);
        assert_eq!(c.protocols, None);
        assert!(c.keys.is_empty() && c.rules.is_empty() && c.groups.is_empty());
        assert_eq!(c.max_file_size, None);
        assert_eq!(plan.users[3].expires_at, Some(1_767_225_600 + 12 * 3600));
    }

    #[test]
    fn any_column_order_and_subset() {
        let plan =
            parse("\u{feff}email , name\nx@example.org,xavier\n", "u.csv", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.users[0].name, "xavier");
        assert_eq!(plan.users[0].email, "x@example.org");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            err(""),
            "u.csv:1: the file is empty; the first row must be a header such as `name,email,password_hash`"
        );
        assert!(err("name,emial\n")
            .starts_with("u.csv:1: unknown column \"emial\"; known columns are name, password_hash,"));
        assert_eq!(err("name,email,name\n"), "u.csv:1: column \"name\" is given twice");
        assert_eq!(err("email\na@b.cd\n"), "u.csv:1: the header has no `name` column");
        // Truncated row, and a row with too many fields.
        assert_eq!(err("name,email\nann,a@b.cd\nbob\n"), "u.csv:3: expected 2 fields (as in the header), found 1");
        assert_eq!(err("name,email\nann,a@b.cd,extra\n"), "u.csv:2: expected 2 fields (as in the header), found 3");
        assert_eq!(err("name,email\n,a@b.cd\n"), "u.csv:2: name: required");
        assert!(err("name\nAnn\n").starts_with("u.csv:2: name: invalid name \"Ann\": "));
        assert_eq!(err("name\nann\nbob\nann\n"), "u.csv:4: name: \"ann\" already appears on line 2");
        assert!(err("name,allowed_ips\nann,10.0.0.0/33\n")
            .starts_with("u.csv:2: allowed_ips: invalid allowed_ips \"10.0.0.0/33\""));
        assert!(err("name,denied_ips\nann,10.1.2.3/8\n")
            .starts_with("u.csv:2: denied_ips: invalid denied_ips \"10.1.2.3/8\": host bits"));
        assert!(err("name,rules\nann,/x=admin\n").starts_with("u.csv:2: rules: invalid level \"admin\""));
        assert_eq!(err("name,rules\nann,/x\n"), "u.csv:2: rules: expected /path=level, found \"/x\"");
        assert_eq!(err("name,rules\nann,/x=read;/x=write\n"), "u.csv:2: rules: path \"/x\" is given twice");
        assert!(err("name,rules\nann,x/../y=read\n").starts_with("u.csv:2: rules: invalid path"));
        assert!(err("name,mode\nann,rwx\n").starts_with("u.csv:2: mode: invalid mode \"rwx\""));
        assert_eq!(
            err("name,active\nann,maybe\n"),
            "u.csv:2: active: expected true/false, yes/no or 1/0, found \"maybe\""
        );
        assert!(err("name,expires_at\nann,31/12/2026\n").starts_with("u.csv:2: expires_at: invalid expires_at"));
        assert!(err("name,max_file_size\nann,10Q\n").starts_with("u.csv:2: max_file_size: invalid max_file_size"));
        assert!(err("name,protocols\nann,SSH\n").starts_with("u.csv:2: protocols: invalid protocols \"SSH\""));
        assert!(err("name,groups\nann,Staff\n").starts_with("u.csv:2: groups: invalid groups \"Staff\""));
        assert!(err("name,keys\nann,ssh-ed25519 AAAA\n").starts_with("u.csv:2: keys: invalid key"));
        assert!(err("name,email\nann,not-an-email\n").starts_with("u.csv:2: email: invalid email"));
        assert!(err("name,root\nann,relative/dir\n").starts_with("u.csv:2: root: invalid root"));
        assert_eq!(err("name,uid\nann,0\n"), "u.csv:2: uid: uid 0 is root and cannot be given to a gatehouse user");
        assert_eq!(err("name,uid\nann,-5\n"), "u.csv:2: uid: expected a number, found \"-5\"");
        assert!(err("name,display_name\nann,\"a\nb\"\n").starts_with("u.csv:2: display_name: invalid display_name"));
        // A plain password in the hash column is refused and not echoed.
        let e = err("name,password_hash\nann,Winter2024!\n");
        assert!(e.starts_with("u.csv:2: password_hash: "), "{e}");
        assert!(!e.contains("Winter2024"), "{e}");
        // Line numbers count physical lines, including comments and quoted newlines.
        assert_eq!(
            err("name,rules\n# comment\nann,\"/a=read;\n/b=list\"\nbob,x,y\n"),
            "u.csv:5: expected 2 fields (as in the header), found 3"
        );
        assert_eq!(err("name\n# one\n# two\n\nAnn\n").split(": name").next(), Some("u.csv:5"));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for s in ["\"", "name\n\"unterminated", "name\n\0", ",,,,\n,,,", "name\n\u{feff}", "name,rules\na,=;=;==\n"] {
            let _ = parse(s, "u.csv", &none);
        }
    }

    /// 100,000 rows with pre-hashed passwords. Prints the time; run it in release mode with
    /// `cargo test --release -p gatehouse-server --lib import::csv -- --ignored --nocapture`.
    #[test]
    #[ignore = "performance measurement; run in release mode"]
    fn perf_100k_rows() {
        let mut text = String::from("name,password_hash,email,display_name,allowed_ips,groups,rules,protocols\n");
        for i in 0..100_000 {
            let _ = writeln!(
                text,
                "user{i},\"{ARGON}\",user{i}@example.com,User Number {i},10.{}.0.0/16;192.0.2.7,editors;g{},/=read;/in=upload,ssh;ftp",
                i % 256,
                i % 50
            );
        }
        let start = std::time::Instant::now();
        let plan = parse(&text, "perf.csv", &none).unwrap_or_else(|e| panic!("{e}"));
        let took = start.elapsed();
        assert_eq!(plan.users.len(), 100_000);
        println!("parsed 100,000 CSV rows in {took:?}");
    }
}
