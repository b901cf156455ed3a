//! Field validators that both the config file and the user and group records apply: names,
//! roots, protocols, email addresses. Their own module so that [`crate::config`] and
//! [`crate::model`] both use them without importing each other; `model` re-exports them.
use crate::error::PolicyError;

/// Longest login or group name (POSIX-portable and what `useradd` accepts by default).
pub const MAX_NAME_LEN: usize = 32;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest root folder path, in bytes (Linux `PATH_MAX` less room for the user's own paths).
pub const MAX_ROOT_LEN: usize = 1024;

/// Validates a login or group name: POSIX-portable, lowercase, 1–32 characters, starting with a
/// letter or `_`, then letters, digits, `_`, `-` or `.`; not all-numeric (it would read as an id).
pub fn validate_name(field: &'static str, name: &str) -> Result<(), PolicyError> {
    if name.is_empty() {
        return Err(PolicyError::invalid(field, name, "must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(PolicyError::invalid(field, name, format!("longer than {MAX_NAME_LEN} characters")));
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('-');
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(PolicyError::invalid(field, name, "must start with a lowercase letter or '_'"));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))) {
        return Err(PolicyError::invalid(
            field,
            name,
            format!("character {bad:?} not allowed (use a-z, 0-9, '_', '-', '.')"),
        ));
    }
    if name.ends_with('.') {
        return Err(PolicyError::invalid(field, name, "must not end with '.'"));
    }
    Ok(())
}

/// Validates an email address on syntax: `local@domain`, one `@`, no spaces or control
/// characters, a domain of dot-separated labels of letters, digits and `-`, with at least one dot.
/// Empty is accepted and means "no email".
pub fn validate_email(s: &str) -> Result<(), PolicyError> {
    if s.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| Err(PolicyError::invalid("email", s, why));
    if s.len() > MAX_EMAIL_LEN {
        return bad("longer than 254 characters");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return bad("expected local@domain");
    };
    if local.is_empty() || local.len() > 64 {
        return bad("the part before '@' must have 1 to 64 characters");
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | ':' | '<' | '>' | ',' | ';' | '"' | '\\'))
    {
        return bad("the part before '@' has a character not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("the part before '@' has a misplaced '.'");
    }
    if !domain.contains('.') {
        return bad("the domain needs a dot (e.g. example.com)");
    }
    for label in domain.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return bad("the domain must be labels of letters, digits and '-', separated by dots");
        }
    }
    Ok(())
}

/// Validates a root folder: absolute, canonical (no `.`, `..`, `//` or trailing `/`), not `/`
/// itself, no control characters, at most 1024 bytes.
pub fn validate_root(s: &str) -> Result<(), PolicyError> {
    let bad = |why: &str| Err(PolicyError::invalid("root", s, why));
    if !s.starts_with('/') {
        return bad("must be an absolute path");
    }
    if s == "/" {
        return bad("must not be / itself");
    }
    if s.len() > MAX_ROOT_LEN {
        return bad("longer than 1024 bytes");
    }
    if s.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if s.ends_with('/') {
        return bad("must not end with '/'");
    }
    if s[1..].split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return bad("must be canonical (no '.', '..' or '//')");
    }
    Ok(())
}

/// True if `root` equals `prefix` or lies below it. Both must be canonical.
pub fn root_under(root: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    root == prefix || (root.starts_with(prefix) && root.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// Validates a protocol name: 1–32 characters of `a-z`, `0-9`, `-`, starting with a letter.
pub fn validate_protocol(s: &str) -> Result<(), PolicyError> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            "protocols",
            s,
            "a protocol name is lowercase letters, digits and '-' (e.g. ssh, ftp, web)",
        ))
    }
}
