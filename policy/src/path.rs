//! Canonical client paths (DESIGN, the permission rule, step 1).
//!
//! Every enforcement point canonicalises a client's path exactly once, where the request enters,
//! and then both checks and uses that same string. Canonicalisation here is purely lexical: a
//! relative path is resolved against the session's (already canonical) working directory, `//`
//! collapses, `.` is dropped and `..` removes the previous component, clamped at `/` so no path can
//! climb above the user's root. A NUL byte is rejected (it would truncate the path in any C API),
//! and `\` is an ordinary character, not a separator. Symlinks are not resolved here; the server
//! resolves them inside the root before it asks the rule engine (step 9).
//!
//! A canonical path is absolute and is either `/` or `/a/b` with no empty, `.` or `..` component
//! and no trailing slash. [`parent`] and [`is_within`] rely on that form.
use crate::error::PolicyError;

/// Canonicalises a client path against the session's working directory.
///
/// `cwd` must itself be canonical and absolute (it is treated leniently: it goes through the same
/// lexical steps, so a sloppy `cwd` still yields a canonical result). A relative `path` resolves
/// against `cwd`; an empty `path` means `cwd`. `//` collapses, `.` and `..` apply lexically and
/// `..` is clamped at `/`. `\` is a literal character.
///
/// The result is `/` or `/a/b`, never with a trailing slash.
///
/// # Errors
/// [`PolicyError::Invalid`] with field `path` if `path` (or `cwd`) contains a NUL byte.
pub fn canonicalize(cwd: &str, path: &str) -> Result<String, PolicyError> {
    if path.contains('\0') {
        return Err(PolicyError::invalid("path", path.replace('\0', "\\0"), "contains a NUL byte"));
    }
    if cwd.contains('\0') {
        return Err(PolicyError::invalid("path", cwd.replace('\0', "\\0"), "working directory contains a NUL byte"));
    }
    let mut out = String::with_capacity(cwd.len() + path.len() + 1);
    if !path.starts_with('/') {
        push_components(&mut out, cwd);
    }
    push_components(&mut out, path);
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Applies the components of `p` to `out`, which holds `""` (the root) or `/a/b`.
fn push_components(out: &mut String, p: &str) {
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                // Clamped at the root: popping from "" leaves "".
                let cut = out.rfind('/').unwrap_or(0);
                out.truncate(cut);
            }
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
}

/// The parent of a canonical path; `parent("/") == "/"` and `parent("/a") == "/"`.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// True if the canonical `path` equals the canonical `dir` or lies strictly inside it.
///
/// This compares whole components: `/ab` is not within `/a`.
pub fn is_within(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(dir) {
        Some("") => true,
        Some(rest) => rest.starts_with('/'),
        None => false,
    }
}

/// The number of components of a canonical path: 0 for `/`, 2 for `/a/b`.
pub(crate) fn depth(path: &str) -> usize {
    if path == "/" {
        0
    } else {
        path.bytes().filter(|&b| b == b'/').count()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonicalize_table() {
        let cases: &[(&str, &str, &str)] = &[
            ("/", "", "/"),
            ("/", "/", "/"),
            ("/", "a", "/a"),
            ("/home", "a/b", "/home/a/b"),
            ("/home", "/a//b/", "/a/b"),
            ("/home", "./a/./b/.", "/home/a/b"),
            ("/home", "..", "/"),
            ("/home", "../../../x", "/x"),
            ("/", "/../..", "/"),
            ("/a/b", "../c", "/a/c"),
            ("/a/b", "", "/a/b"),
            ("/a/b", ".", "/a/b"),
            ("/", "a\\b", "/a\\b"),
            ("/", "..\\x", "/..\\x"),
            ("/", "...", "/..."),
            ("/", "/a/b/..", "/a"),
            ("/", "////", "/"),
        ];
        for &(cwd, p, want) in cases {
            assert_eq!(canonicalize(cwd, p).unwrap(), want, "cwd={cwd:?} path={p:?}");
        }
    }

    #[test]
    fn nul_rejected_naming_path() {
        let e = canonicalize("/", "a\0b").unwrap_err();
        assert_eq!(e.field(), "path");
        assert!(e.to_string().contains("NUL"), "{e}");
        assert_eq!(canonicalize("/a\0", "b").unwrap_err().field(), "path");
    }

    #[test]
    fn parent_and_within() {
        assert_eq!(parent("/"), "/");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b"), "/a");
        assert!(is_within("/a", "/a"));
        assert!(is_within("/a/b", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(!is_within("/a", "/a/b"));
        assert!(is_within("/a", "/"));
        assert!(is_within("/", "/"));
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/a"), 1);
        assert_eq!(depth("/a/b/c"), 3);
    }
}
