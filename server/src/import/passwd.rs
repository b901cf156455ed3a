//! `gatehouse import passwd`: accounts from another host's passwd(5) and, optionally, shadow(5).
//!
//! Only ordinary accounts move: those with `min_uid <= uid <= max_uid` (Debian's login.defs
//! range, 1000–59999, by default). Everything else — root, daemons, `nobody` — is a system
//! account of the *other* host and is skipped, as is any name that already exists on this host
//! (local accounts are never shadowed). Home directories and shells are not carried over:
//! gatehouse users get a root under `home_base` and no shell.
//!
//! Passwords: the hash comes from shadow when a shadow file is given, otherwise from passwd's
//! second field if that holds a real hash. Hashes gatehouse verifies (yescrypt, SHA-crypt,
//! bcrypt, argon2) are imported as they are. A locked (`!…`), empty or placeholder entry, or a
//! hash of a scheme gatehouse cannot verify (MD5-crypt, DES), imports the user *without* a
//! password, with a note: such users can be given a password or a key later. An empty password
//! field never becomes a password-less login. Shadow's expiry date becomes `expires_at`, and a
//! last-change date of 0 ("must change at next login") becomes `must_change_password`.
use std::collections::HashMap;

use gatehouse_policy::model::{validate_display_name, validate_name};

use super::{classify_hash, parse_decimal, HashVerdict, ImportError, ImportPlan, IsLocal, Skipped};
use crate::store::NewUser;

/// Which accounts a passwd import takes, and whether it keeps their uids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswdOptions {
    /// Lowest uid imported (login.defs `UID_MIN`); default 1000. uid 0 is never imported.
    pub min_uid: u32,
    /// Highest uid imported (login.defs `UID_MAX`); default 59999, which leaves out `nobody`.
    pub max_uid: u32,
    /// Keep each account's uid instead of allocating one from gatehouse's range (the store
    /// still refuses uids in use or in a subordinate-id range). Default false.
    pub keep_uids: bool,
}

impl Default for PasswdOptions {
    fn default() -> Self {
        PasswdOptions { min_uid: 1000, max_uid: 59999, keep_uids: false }
    }
}

/// One shadow(5) entry, as far as an import needs it.
struct ShadowEntry<'a> {
    /// Line in the shadow file, for messages.
    line: usize,
    /// Field 2, the password hash (or `!`, `*`, empty).
    hash: &'a str,
    /// Field 3, days since the epoch of the last change; `Some(0)` forces a change.
    lastchg: Option<i64>,
    /// Field 8, days since the epoch after which the account is expired.
    expire: Option<i64>,
}

fn bad(file: &str, line: usize, reason: impl Into<String>) -> ImportError {
    ImportError::Bad { file: file.to_owned(), line, reason: reason.into() }
}

/// True for lines that carry no entry: blank lines and `#` comments.
fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// True for NIS compat entries (`+`, `+name`, `-name`, `+@netgroup`).
fn is_nis(line: &str) -> bool {
    line.starts_with('+') || line.starts_with('-')
}

/// A numeric shadow field: empty (unset), a decimal day count, or a negative number (libc's
/// "unset" spelling, treated as empty).
fn shadow_number(file: &str, line: usize, field: &str, s: &str) -> Result<Option<i64>, ImportError> {
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(neg) = s.strip_prefix('-') {
        return match parse_decimal::<i64>(neg) {
            Some(_) => Ok(None),
            None => Err(bad(file, line, format!("{field}: expected a number of days or nothing, found {s:?}"))),
        };
    }
    parse_decimal::<i64>(s)
        .map(Some)
        .ok_or_else(|| bad(file, line, format!("{field}: expected a number of days or nothing, found {s:?}")))
}

/// Parses a shadow file into name → entry. Entries for names absent from passwd are ignored by
/// the caller; duplicates are an error.
fn parse_shadow<'a>(text: &'a str, file: &str) -> Result<HashMap<&'a str, ShadowEntry<'a>>, ImportError> {
    let mut out: HashMap<&str, ShadowEntry<'_>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if is_blank(line) || is_nis(line) {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        // Nine fields; the reserved ninth is sometimes left off entirely.
        let (&[name, hash, lastchg, min, max, warn, inactive, expire, _]
        | &[name, hash, lastchg, min, max, warn, inactive, expire]) = fields.as_slice()
        else {
            return Err(bad(
                file,
                n,
                format!(
                    "expected 9 fields separated by ':' (name:password:lastchg:min:max:warn:inactive:expire:reserved), found {}",
                    fields.len()
                ),
            ));
        };
        if name.is_empty() {
            return Err(bad(file, n, "name: empty"));
        }
        let lastchg = shadow_number(file, n, "lastchg", lastchg)?;
        for (field, v) in [("min", min), ("max", max), ("warn", warn), ("inactive", inactive)] {
            shadow_number(file, n, field, v)?;
        }
        let expire = shadow_number(file, n, "expire", expire)?;
        if let Some(prev) = out.get(name) {
            return Err(bad(file, n, format!("name: {name:?} already appears on line {}", prev.line)));
        }
        out.insert(name, ShadowEntry { line: n, hash, lastchg, expire });
    }
    Ok(out)
}

/// Parses passwd(5) lines from another host, with that host's shadow(5) lines if given, into an
/// import plan.
///
/// `passwd_name` and the second element of `shadow` (`(text, file name)`) are used in messages
/// only. `is_local` reports names that exist on this host; those are skipped.
///
/// # Errors
/// [`ImportError::Bad`] for the first malformed line of either file: a wrong number of fields, a
/// non-numeric uid, gid or day count, an invalid name or GECOS, a name listed twice, or a
/// malformed hash of a supported scheme. Lines of system accounts are checked only for shape.
pub fn parse(
    passwd: &str,
    passwd_name: &str,
    shadow: Option<(&str, &str)>,
    is_local: IsLocal<'_>,
    opts: &PasswdOptions,
) -> Result<ImportPlan, ImportError> {
    let shadow_map = match shadow {
        Some((text, name)) => Some((parse_shadow(text, name)?, name)),
        None => None,
    };
    let file = passwd_name;
    let mut plan = ImportPlan::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, line) in passwd.lines().enumerate() {
        let n = i + 1;
        if is_blank(line) {
            continue;
        }
        if is_nis(line) {
            plan.notes.push(format!(
                "{file}:{n}: NIS entry {:?} skipped; import NIS accounts from their source",
                line.chars().take(40).collect::<String>()
            ));
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let &[name, pw, uid, gid, gecos, _home, _shell] = fields.as_slice() else {
            return Err(bad(
                file,
                n,
                format!(
                    "expected 7 fields separated by ':' (name:password:uid:gid:gecos:home:shell), found {}",
                    fields.len()
                ),
            ));
        };
        if name.is_empty() {
            return Err(bad(file, n, "name: empty"));
        }
        if let Some(prev) = seen.insert(name, n) {
            return Err(bad(file, n, format!("name: {name:?} already appears on line {prev}")));
        }
        let uid: u32 =
            parse_decimal(uid).ok_or_else(|| bad(file, n, format!("uid: expected a number, found {uid:?}")))?;
        parse_decimal::<u32>(gid).ok_or_else(|| bad(file, n, format!("gid: expected a number, found {gid:?}")))?;
        if uid == 0 || uid < opts.min_uid || uid > opts.max_uid {
            plan.skipped.push(Skipped {
                name: name.to_owned(),
                reason: format!("system account (uid {uid} is outside {}-{})", opts.min_uid, opts.max_uid),
            });
            continue;
        }
        validate_name("name", name).map_err(|e| bad(file, n, format!("name: {e}")))?;
        let display = gecos.split(',').next().unwrap_or_default().trim();
        if display.chars().any(char::is_control) {
            return Err(bad(file, n, "gecos: contains a control character"));
        }
        validate_display_name(display).map_err(|e| bad(file, n, format!("gecos: {e}")))?;

        // Notes about this user; dropped if the user is skipped in the end.
        let mut notes: Vec<String> = Vec::new();
        let mut user = NewUser {
            name: name.to_owned(),
            uid: opts.keep_uids.then_some(uid),
            display_name: display.to_owned(),
            ..NewUser::default()
        };

        // Where the password comes from, and the file and line to blame if it is broken.
        let source = match &shadow_map {
            Some((map, shadow_file)) => match map.get(name) {
                Some(entry) => {
                    if entry.lastchg == Some(0) {
                        user.must_change_password = true;
                        notes.push(format!("{name}: must change the password at the next login (shadow lastchg is 0)"));
                    }
                    if let Some(days) = entry.expire {
                        let secs = days
                            .checked_mul(86_400)
                            .ok_or_else(|| bad(shadow_file, entry.line, format!("expire: {days} days is too large")))?;
                        user.expires_at = Some(secs);
                    }
                    Some((entry.hash, *shadow_file, entry.line))
                }
                None => {
                    notes.push(format!("{name}: no entry in {shadow_file}; imported without a password"));
                    None
                }
            },
            None if pw == "x" => {
                notes.push(format!(
                    "{name}: the password is in shadow, which was not given; imported without a password"
                ));
                None
            }
            None => Some((pw, file, n)),
        };
        if let Some((hash, hfile, hline)) = source {
            match classify_hash(hash) {
                HashVerdict::Usable => user.password_hash = Some(hash.to_owned()),
                HashVerdict::Locked => notes.push(format!(
                    "{name}: the password is locked on the source host; imported active without a password (add a key or set one)"
                )),
                HashVerdict::NoPassword => notes.push(format!(
                    "{name}: has no password on the source host; imported without a password (add a key or set one)"
                )),
                HashVerdict::Unsupported(kind) => notes.push(format!(
                    "{name}: password hash kind {kind} cannot be verified; imported without a password, set a new one"
                )),
                HashVerdict::Malformed(reason) => {
                    return Err(bad(hfile, hline, format!("password: {reason}")));
                }
            }
        }
        if user.expires_at == Some(0) {
            notes
                .push(format!("{name}: shadow expire is 0, which the source host treats as expired; imported expired"));
        }
        if let Some(desc) = is_local(name) {
            plan.skipped.push(Skipped { name: name.to_owned(), reason: desc });
            continue;
        }
        plan.notes.append(&mut notes);
        plan.users.push(user);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    // Tests report failures by panicking.
    #![allow(clippy::panic)]
    use super::*;

    const PASSWD: &str = include_str!("../../tests/data/import/passwd");
    const SHADOW: &str = include_str!("../../tests/data/import/shadow");

    fn none(_: &str) -> Option<String> {
        None
    }

    fn run(passwd: &str, shadow: Option<&str>) -> Result<ImportPlan, ImportError> {
        parse(passwd, "passwd", shadow.map(|s| (s, "shadow")), &none, &PasswdOptions::default())
    }

    fn err(passwd: &str, shadow: Option<&str>) -> String {
        match run(passwd, shadow) {
            Ok(p) => panic!("expected an error, got {} users", p.users.len()),
            Err(e) => e.to_string(),
        }
    }

    fn user<'a>(plan: &'a ImportPlan, name: &str) -> &'a NewUser {
        plan.users.iter().find(|u| u.name == name).unwrap_or_else(|| panic!("{name} not in the plan"))
    }

    #[test]
    fn fixture_pair() {
        let local = |n: &str| (n == "frank").then(|| "local user frank (uid 1005)".to_owned());
        let plan = parse(PASSWD, "passwd", Some((SHADOW, "shadow")), &local, &PasswdOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = plan.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave", "erin", "grace", "heidi"]);

        let skipped: Vec<(&str, &str)> = plan.skipped.iter().map(|s| (s.name.as_str(), s.reason.as_str())).collect();
        for sys in ["root", "daemon", "bin", "_apt", "sshd", "systemd-network", "nobody"] {
            let r = skipped.iter().find(|(n, _)| *n == sys).unwrap_or_else(|| panic!("{sys} not skipped"));
            assert!(r.1.starts_with("system account"), "{r:?}");
        }
        assert!(skipped.contains(&("frank", "local user frank (uid 1005)")));

        let alice = user(&plan, "alice");
        assert_eq!(alice.display_name, "Alice Liddell");
        assert!(alice.password_hash.as_deref().is_some_and(|h| h.starts_with("$y$")));
        assert_eq!(alice.uid, None);
        assert_eq!(alice.root, None);
        assert_eq!(alice.expires_at, None);
        assert!(!alice.must_change_password);

        let bob = user(&plan, "bob");
        assert!(bob.password_hash.as_deref().is_some_and(|h| h.starts_with("$6$")));

        let carol = user(&plan, "carol");
        assert_eq!(carol.password_hash, None);
        assert_eq!(carol.active, None);
        assert!(plan.notes.iter().any(|n| n.starts_with("carol: the password is locked")), "{:?}", plan.notes);

        let dave = user(&plan, "dave");
        assert_eq!(dave.expires_at, Some(19_000 * 86_400));
        assert!(dave.password_hash.as_deref().is_some_and(|h| h.starts_with("$5$")));

        // In passwd, not in shadow.
        assert_eq!(user(&plan, "erin").password_hash, None);
        assert!(plan.notes.iter().any(|n| n == "erin: no entry in shadow; imported without a password"));

        let grace = user(&plan, "grace");
        assert!(grace.must_change_password);
        assert!(grace.password_hash.as_deref().is_some_and(|h| h.starts_with("$2b$")));

        // MD5-crypt: imported without a password.
        assert_eq!(user(&plan, "heidi").password_hash, None);
        assert!(plan
            .notes
            .iter()
            .any(|n| n.starts_with("heidi: password hash kind $1$ (MD5-crypt) cannot be verified")));

        // NIS line noted; the skipped local user has no notes; the shadow-only user is ignored.
        assert!(plan.notes.iter().any(|n| n.contains("NIS entry")));
        assert!(!plan.notes.iter().any(|n| n.starts_with("frank:")));
        assert!(!plan.users.iter().any(|u| u.name == "ghost"));
        assert!(plan.groups.is_empty());
    }

    #[test]
    fn keep_uids_and_range() {
        let opts = PasswdOptions { min_uid: 1001, max_uid: 1003, keep_uids: true };
        let plan = parse(PASSWD, "passwd", Some((SHADOW, "shadow")), &none, &opts).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, Option<u32>)> = plan.users.iter().map(|u| (u.name.as_str(), u.uid)).collect();
        assert_eq!(got, [("bob", Some(1001)), ("carol", Some(1002)), ("dave", Some(1003))]);
        // uid 0 never comes in, whatever the range says.
        let opts = PasswdOptions { min_uid: 0, max_uid: 70000, keep_uids: true };
        let plan = parse("root:x:0:0::/root:/bin/sh\n", "passwd", None, &none, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.users.is_empty());
    }

    #[test]
    fn passwd_without_shadow() {
        let y = "$y$j9T$crHDQeyD9tSO.GTC0wp8l1$qJG9s7D4RE/zVXxhATCqHQUbIlsRwywpGqfo3.vYXEB";
        let text = format!("a1:{y}:1000:1000::/h:/bin/sh\na2:x:1001:1001::/h:/bin/sh\na3::1002:1002::/h:/bin/sh\na4:*:1003:1003::/h:/bin/sh\n");
        let plan = run(&text, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(user(&plan, "a1").password_hash.as_deref(), Some(y));
        for n in ["a2", "a3", "a4"] {
            assert_eq!(user(&plan, n).password_hash, None, "{n}");
        }
        assert!(plan.notes.iter().any(|n| n.starts_with("a2: the password is in shadow")));
        // An empty password field is never a password-less login.
        assert!(plan.notes.iter().any(|n| n.starts_with("a3: has no password")));
    }

    #[test]
    fn crlf_and_comments() {
        let plan = run("# comment\r\n\r\nann:x:1000:1000:Ann:/h:/bin/sh\r\n", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.users.len(), 1);
        assert_eq!(plan.users[0].display_name, "Ann");
    }

    #[test]
    fn rejects_malformed_passwd() {
        let ok = "alice:x:1000:1000::/home/alice:/bin/bash\n";
        // Truncated line (6 fields).
        assert_eq!(
            err(&format!("{ok}bob:x:1001:1001::/home/bob\n"), None),
            "passwd:2: expected 7 fields separated by ':' (name:password:uid:gid:gecos:home:shell), found 6"
        );
        // Too many fields.
        assert!(err("bob:x:1001:1001::/home/bob:/bin/sh:extra\n", None).starts_with("passwd:1: expected 7 fields"));
        assert_eq!(err("bob:x:10x1:1001::/h:/bin/sh\n", None), "passwd:1: uid: expected a number, found \"10x1\"");
        assert_eq!(err("bob:x:-1:1001::/h:/bin/sh\n", None), "passwd:1: uid: expected a number, found \"-1\"");
        assert_eq!(
            err("bob:x:99999999999:1::/h:/bin/sh\n", None),
            "passwd:1: uid: expected a number, found \"99999999999\""
        );
        assert_eq!(err("bob:x:1001:g::/h:/bin/sh\n", None), "passwd:1: gid: expected a number, found \"g\"");
        assert!(err("Bob:x:1001:1001::/h:/bin/sh\n", None).starts_with("passwd:1: name: invalid name \"Bob\""));
        assert_eq!(err(":x:1001:1001::/h:/bin/sh\n", None), "passwd:1: name: empty");
        assert_eq!(err(&format!("{ok}{ok}"), None), "passwd:2: name: \"alice\" already appears on line 1");
        assert!(err("bob:x:1001:1001:B\u{7}ob:/h:/bin/sh\n", None)
            .starts_with("passwd:1: gecos: contains a control character"));
        // A broken hash of a supported scheme is an error naming the line; its value is not echoed.
        let e = err("bob:$6$abc:1001:1001::/h:/bin/sh\n", None);
        assert!(e.starts_with("passwd:1: password: "), "{e}");
        assert!(!e.contains("$6$abc"), "{e}");
    }

    #[test]
    fn rejects_malformed_shadow() {
        let pw = "alice:x:1000:1000::/home/alice:/bin/bash\n";
        assert_eq!(
            err(pw, Some("alice:!:19000:0:99999\n")),
            "shadow:1: expected 9 fields separated by ':' (name:password:lastchg:min:max:warn:inactive:expire:reserved), found 5"
        );
        // Eight fields (no reserved field) are accepted.
        assert!(run(pw, Some("alice:!:19000:0:99999:7::\n")).is_ok());
        assert_eq!(
            err(pw, Some("alice:!:19000:0:99999:7::soon:\n")),
            "shadow:1: expire: expected a number of days or nothing, found \"soon\""
        );
        assert_eq!(
            err(pw, Some("alice:!:x:0:99999:7:::\n")),
            "shadow:1: lastchg: expected a number of days or nothing, found \"x\""
        );
        assert_eq!(
            err(pw, Some("alice:!:1:0:99999:7:::\nalice:!:1:0:99999:7:::\n")),
            "shadow:2: name: \"alice\" already appears on line 1"
        );
        let e = err(pw, Some("alice:$y$j9T$broken:19000:0:99999:7:::\n"));
        assert!(e.starts_with("shadow:1: password: "), "{e}");
        assert!(err(pw, Some("alice:!:1:0:99999:7::999999999999999999:\n")).starts_with("shadow:1: expire: "));
        // Negative numbers are libc's "unset".
        let plan = run(pw, Some("alice:!:-1:0:99999:7::-1:\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.users[0].expires_at, None);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for s in ["::::::", ":::::::::::::", "\0:\0:\0:\0:\0:\0:\0", "a:b", "é:x:1000:1000:\u{202e}:/:/", "+", "-", "#"]
        {
            let _ = run(s, Some(s));
            let _ = run(s, None);
        }
    }
}
