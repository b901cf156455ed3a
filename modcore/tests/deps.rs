//! The crate boundaries where privilege changes, checked on cargo's own dependency tree
//! (`cargo tree -e normal`, so what is linked, not what tests use):
//!
//! - the NSS module runs inside every process on the host: it may link the snapshot reader,
//!   `libc`, `thiserror` and what those need, and nothing else;
//! - the PAM module runs inside sshd, su, sudo and the FTP servers: no database driver, async
//!   runtime, password hashing, LDAP, TLS or config parser (and not the policy core or the
//!   server, which bring them);
//! - gatehouse-tasks runs as root: no database driver, LDAP, TLS or CLI parser.
//!
//! It runs `cargo tree --offline --locked` on the workspace. It is skipped (with a message
//! saying so) only when cargo cannot be started at all; any other failure of cargo fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// What the NSS module may link besides [`ALWAYS`]'s dependencies.
const NSS_ALLOWED: &[&str] = &["nss_gatehouse", "gatehouse-modcore", "gatehouse-snapshot", "libc"];
/// Crates whose own dependencies the NSS module may link.
const ALWAYS: &[&str] = &["thiserror"];
/// Never in pam_gatehouse.so (name, or a name prefix ending in `-`).
const PAM_FORBIDDEN: &[&str] =
    &["sqlx", "sqlx-", "tokio", "argon2", "bcrypt", "ldap3", "rustls", "toml", "gatehouse-policy", "gatehouse-server"];
/// Never in gatehouse-tasks.
const TASKS_FORBIDDEN: &[&str] = &["sqlx", "sqlx-", "ldap3", "rustls", "tokio-postgres", "clap", "gatehouse-server"];

enum Tree {
    /// The names of every crate in the tree, the package itself included.
    Crates(BTreeSet<String>),
    /// Cargo could not be started (not installed): the test cannot run here.
    NoCargo(String),
}

/// `cargo tree -p PKG -e normal --prefix none`: the crate names, deduplicated.
fn tree(pkg: &str) -> Result<Tree, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(&cargo)
        .args(["tree", "--offline", "--locked", "-p", pkg, "-e", "normal", "--prefix", "none"])
        .current_dir(&workspace)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tree::NoCargo(format!("{cargo}: {e}"))),
        Err(e) => return Err(format!("cannot run {cargo} tree -p {pkg}: {e}")),
    };
    if !out.status.success() {
        return Err(format!("cargo tree -p {pkg} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let names: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    if !names.contains(pkg) {
        return Err(format!("cargo tree -p {pkg} does not list {pkg} itself: {names:?}"));
    }
    Ok(Tree::Crates(names))
}

fn forbidden<'a>(names: &'a BTreeSet<String>, list: &[&str]) -> Vec<&'a str> {
    names
        .iter()
        .map(String::as_str)
        .filter(|n| list.iter().any(|f| if f.ends_with('-') { n.starts_with(f) } else { n == f }))
        .collect()
}

#[test]
fn privileged_crates_link_only_what_they_need() {
    let mut trees = Vec::new();
    for pkg in ["nss_gatehouse", "pam_gatehouse", "gatehouse-tasks", "gatehouse-snapshot"]
        .into_iter()
        .chain(ALWAYS.iter().copied())
    {
        match tree(pkg) {
            Ok(Tree::Crates(names)) => trees.push((pkg, Ok(names))),
            Ok(Tree::NoCargo(why)) => {
                eprintln!("SKIPPED: cargo cannot be started ({why}); the crate boundaries were not checked");
                return;
            }
            Err(e) => trees.push((pkg, Err(e))),
        }
    }
    let get = |pkg: &str| trees.iter().find(|(p, _)| *p == pkg).map(|(_, t)| t.clone()).unwrap();
    let mut problems = Vec::new();
    let mut allowed: BTreeSet<String> = NSS_ALLOWED.iter().map(|s| s.to_string()).collect();
    for a in ALWAYS {
        match get(a) {
            Ok(t) => allowed.extend(t),
            Err(e) => problems.push(e),
        }
    }
    for (pkg, own) in [("nss_gatehouse", &["gatehouse-snapshot", "libc"][..]), ("gatehouse-snapshot", &[][..])] {
        match get(pkg) {
            Ok(names) => {
                let extra: Vec<&str> = names.iter().map(String::as_str).filter(|n| !allowed.contains(*n)).collect();
                if !extra.is_empty() {
                    problems.push(format!(
                        "{pkg} links {} crate(s) beyond the snapshot reader, libc and thiserror: {}",
                        extra.len(),
                        extra.join(" ")
                    ));
                }
                for o in own {
                    if !names.contains(*o) {
                        problems
                            .push(format!("{pkg} no longer links {o}: is this test still looking at the right tree?"));
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    for (pkg, list, own) in
        [("pam_gatehouse", PAM_FORBIDDEN, "gatehouse-wire"), ("gatehouse-tasks", TASKS_FORBIDDEN, "gatehouse-policy")]
    {
        match get(pkg) {
            Ok(names) => {
                let bad = forbidden(&names, list);
                if !bad.is_empty() {
                    problems.push(format!("{pkg} links what it must not: {}", bad.join(" ")));
                }
                if !names.contains(own) {
                    problems
                        .push(format!("{pkg} no longer links {own}: is this test still looking at the right tree?"));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "crate boundaries broken:\n- {}", problems.join("\n- "));
}

#[test]
fn forbidden_names_match_exactly_or_by_prefix() {
    let names: BTreeSet<String> = ["sqlx-core", "tokio", "tokio-util", "toml_edit", "clap"].map(String::from).into();
    assert_eq!(forbidden(&names, PAM_FORBIDDEN), ["sqlx-core", "tokio"]);
    assert_eq!(forbidden(&names, TASKS_FORBIDDEN), ["clap", "sqlx-core"]);
}
