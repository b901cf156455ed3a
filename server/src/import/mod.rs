//! Importing users from elsewhere: another host's passwd/shadow files ([`passwd`]), a CSV sheet
//! ([`csv`]) and an SFTPGo dump ([`sftpgo`]).
//!
//! Every importer is a pure function from the file's text to an [`ImportPlan`]; the caller reads
//! the files, shows the plan and hands [`ImportPlan::users`] to `Store::import_users`, which
//! writes them in one transaction. An importer parses and validates the *whole* input before it
//! returns anything, and one malformed record makes it return an [`ImportError`] naming the file,
//! the line (or the JSON record) and the field, never a partial plan. All-or-nothing matters here:
//! a half-applied import leaves the operator to work out which users landed, and re-running the
//! corrected file would then trip over the ones that did. Records that are well-formed but should
//! not be imported (system accounts, names that exist locally) are not errors; they are listed in
//! [`ImportPlan::skipped`] with the reason, and anything imported with less than the source had
//! (a locked or unverifiable password, narrowed permissions) is listed in [`ImportPlan::notes`].
//!
//! The importers are strict and never panic on hostile input: fields are taken with slice
//! patterns and checked conversions, every value goes through the same `gatehouse-policy`
//! validators the CLI uses, and password values are never echoed in messages (a CSV column meant
//! for hashes sometimes holds a plain password).
pub mod csv;
pub mod passwd;
pub mod sftpgo;

use crate::store::NewUser;
use gatehouse_policy::password::{hash_kind, is_locked};
use gatehouse_policy::PolicyError;

/// Why an import was refused. Nothing of the input is imported when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line of a text file (passwd, shadow, CSV) is malformed; `reason` starts with the field.
    #[error("{file}:{line}: {reason}")]
    Bad {
        /// The file name as the operator gave it.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The field, then what is wrong with it.
        reason: String,
    },
    /// A record of a JSON file is malformed; `record` is a jq-style path such as `users[2]`.
    #[error("{file}: {record}: {reason}")]
    Record {
        /// The file name as the operator gave it.
        file: String,
        /// Which record: `users[2] "bob"` (0-based index, as `jq '.users[2]'` takes it).
        record: String,
        /// The field, then what is wrong with it.
        reason: String,
    },
    /// The input could not be read.
    #[error("{0}")]
    Io(String),
}

/// What an import will do: the users to create, and what was skipped, with why.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// Users to create, in input order. Every field has passed the policy validators; the store
    /// still checks what needs the database (root prefixes, existing names, uid ranges).
    pub users: Vec<NewUser>,
    /// Records deliberately not imported (system accounts, names that exist locally).
    pub skipped: Vec<Skipped>,
    /// Group names the users reference (sorted, deduplicated), so the caller can check or create
    /// them before the import. Empty for passwd imports.
    pub groups: Vec<String>,
    /// Things the operator should know about users that *are* imported: passwords that could
    /// not be carried over, permissions that were narrowed, settings gatehouse has no equivalent
    /// for. One line each, naming the user.
    pub notes: Vec<String>,
}

/// One record that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The record's login name.
    pub name: String,
    /// Why it was skipped (for a local name: the description the caller's check returned).
    pub reason: String,
}

/// Answers "does this name already exist on this host, outside gatehouse?" with a description
/// of the local entry (`Some("local user (uid 1000)")`) or `None`. The CLI backs it with NSS.
pub type IsLocal<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What to do with a stored password found in an import source.
#[derive(Debug, PartialEq, Eq)]
enum HashVerdict {
    /// A hash gatehouse verifies; import it.
    Usable,
    /// A locked entry (`!...`): the account had its password disabled.
    Locked,
    /// No password at all: empty, `*`, `x`, `*LK*` and similar placeholders.
    NoPassword,
    /// A real hash of a scheme gatehouse cannot verify (MD5-crypt, PBKDF2, DES, ...); the label
    /// names the scheme only.
    Unsupported(String),
    /// A hash of a supported scheme that does not parse; the reason never echoes the value.
    Malformed(String),
}

/// Scheme prefixes `gatehouse_policy::password::hash_kind` accepts. A value with one of these
/// that still fails to parse is a broken record, not an unsupported scheme.
const SUPPORTED_PREFIXES: [&str; 9] =
    ["$argon2id$", "$argon2i$", "$argon2d$", "$y$", "$6$", "$5$", "$2b$", "$2y$", "$2a$"];

/// Classifies a stored password value from an import source.
fn classify_hash(h: &str) -> HashVerdict {
    if h.is_empty() || h == "x" || h.starts_with('*') {
        return HashVerdict::NoPassword;
    }
    if is_locked(h) {
        return HashVerdict::Locked;
    }
    match hash_kind(h) {
        Ok(_) => HashVerdict::Usable,
        Err(e) if SUPPORTED_PREFIXES.iter().any(|p| h.starts_with(p)) => HashVerdict::Malformed(reason_of(&e)),
        Err(_) => HashVerdict::Unsupported(scheme_label(h)),
    }
}

/// A short name for the scheme of a hash gatehouse does not support, built only from the scheme
/// marker so that a plain-text password in the wrong column is never repeated.
fn scheme_label(h: &str) -> String {
    let marker = if let Some(rest) = h.strip_prefix('$') {
        rest.split('$').next().map(|s| format!("${s}$"))
    } else if h.starts_with('{') {
        h.split_inclusive('}').next().map(str::to_owned)
    } else {
        None
    };
    match marker {
        Some(m) if m.len() <= 32 && m.bytes().all(|b| b.is_ascii_graphic()) && m.len() > 2 => {
            let known = match m.as_str() {
                "$1$" => " (MD5-crypt)",
                "$apr1$" => " (Apache MD5)",
                "$2x$" => " (old buggy bcrypt)",
                "$7$" => " (scrypt)",
                "$md5$" | "{MD5}" => " (MD5)",
                "$pbkdf2-sha1$" | "$pbkdf2-sha256$" | "$pbkdf2-sha512$" | "$pbkdf2-b64salt-sha256$" => " (PBKDF2)",
                "{SHA256}" | "{SHA512}" => " (unsalted SHA)",
                _ => "",
            };
            format!("{m}{known}")
        }
        _ => "without a scheme marker (DES crypt, or not a hash at all)".to_owned(),
    }
}

/// The reason part of a policy error, without the echoed value (used where the value may be a
/// secret).
fn reason_of(e: &PolicyError) -> String {
    match e {
        PolicyError::Invalid { reason, .. } | PolicyError::InvalidSecret { reason, .. } => reason.clone(),
    }
}

/// The group names `users` reference, sorted and deduplicated (for [`ImportPlan::groups`]).
fn referenced_groups(users: &[NewUser]) -> Vec<String> {
    let set: std::collections::BTreeSet<&str> =
        users.iter().flat_map(|u| u.groups.iter().map(String::as_str)).collect();
    set.into_iter().map(str::to_owned).collect()
}

/// Parses a decimal number strictly: ASCII digits only (no sign, no spaces, no `+`).
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Replaces `:` and control characters (which a display name may not hold) with spaces and trims.
fn sanitize_text(s: &str) -> String {
    s.chars().map(|c| if c == ':' || c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    // Tests report failures by panicking.
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn classifies_hashes() {
        assert_eq!(classify_hash(""), HashVerdict::NoPassword);
        assert_eq!(classify_hash("*"), HashVerdict::NoPassword);
        assert_eq!(classify_hash("x"), HashVerdict::NoPassword);
        assert_eq!(classify_hash("*LK*"), HashVerdict::NoPassword);
        assert_eq!(classify_hash("!"), HashVerdict::Locked);
        assert_eq!(classify_hash("!$6$abc$def"), HashVerdict::Locked);
        assert_eq!(
            classify_hash("$6$jQj8sjE4YLGU.nc4$XCZZrpSR0MKIBvkkrmrQ49ut/6dwKjfITsX2qVEBl92iR.ZBRrEeLlTWQ.lJeomQvHDNOpqOrY2RfJR8g/9g./"),
            HashVerdict::Usable
        );
        assert!(matches!(classify_hash("$6$short"), HashVerdict::Malformed(_)));
        assert_eq!(
            classify_hash("$1$gcF19aH7$n6YsmFRHXvh9IeEL30JEM0"),
            HashVerdict::Unsupported("$1$ (MD5-crypt)".into())
        );
        assert_eq!(classify_hash("{SHA256}abc"), HashVerdict::Unsupported("{SHA256} (unsalted SHA)".into()));
        // A plain password is never repeated in the label.
        let HashVerdict::Unsupported(label) = classify_hash("hunter2") else { panic!("expected unsupported") };
        assert!(!label.contains("hunter2"));
    }

    #[test]
    fn malformed_reason_does_not_echo() {
        let HashVerdict::Malformed(r) = classify_hash("$2b$05$secretsecret") else { panic!("expected malformed") };
        assert!(!r.contains("secretsecret"), "{r}");
    }

    #[test]
    fn decimal_is_strict() {
        assert_eq!(parse_decimal::<u32>("1000"), Some(1000));
        assert_eq!(parse_decimal::<u32>("+1000"), None);
        assert_eq!(parse_decimal::<u32>(" 1"), None);
        assert_eq!(parse_decimal::<u32>(""), None);
        assert_eq!(parse_decimal::<u32>("99999999999"), None);
    }

    #[test]
    fn sanitizes() {
        assert_eq!(sanitize_text(" a:b\tc\n "), "a b c");
    }
}
