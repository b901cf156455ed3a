//! ProFTPD: the per-user config files gatehouse generates so that ProFTPD enforces a user's whole
//! rule set (their root, every level, the drop box, `none`, no-delete, mode `r`, the size cap).
//!
//! Two steps, both pure:
//! * [`proftpd_entry`] (gatehoused) turns a user into a [`ProftpdUser`]: their root and, for each
//!   *place* of their tree, the FTP command groups allowed there. Every answer comes from
//!   [`Policy::decide`] on a probe path, never from a second copy of the rule.
//! * `gatehouse_tasks::proftpd::render` (gatehouse-tasks, root) checks a [`ProftpdUser`] and
//!   writes its text. The helper renders the text itself from this structured form, so gatehoused
//!   can never make it write an arbitrary ProFTPD directive.
//!
//! **How ProFTPD picks a block** (checked in its source, `src/dirtree.c`, and against ProFTPD
//! 1.3.8): `<Directory X>` applies to X and, through an implicit `X/*`, to everything below it;
//! `<Directory X/*>` to everything below X but not X. Blocks nest by literal path prefix and the
//! deepest match wins. Its globs are `fnmatch` *without* `FNM_PATHNAME`: a `*` also matches `/`.
//! So for each place Q (`/`, every rule key, every folder on the way to a key) two blocks are
//! written: `<Directory ROOT/Q>` for requests on Q itself (list it, remove it, rename it) and
//! `<Directory ROOT/Q/*>` for requests on entries inside it (judged on Q as the parent, as the
//! permission rule says). A key whose only wildcard is a whole last component `*` (`/clients/*`)
//! is expressed the same way (what lies inside its children gets a `S/*/?*` block, see
//! [`INSIDE_STAR`]); any other pattern (`/clients/*/in`, `/a?c`, `/x*y`) would match
//! across `/` in ProFTPD, so a user with one is refused on ProFTPD ([`proftpd_limits`]).
//!
//! `<Limit>` precedence: ProFTPD takes a command's own `<Limit>` from the nearest enclosing block
//! before any group (`ALL`, `WRITE`), so every block names every command it governs, allowed or
//! denied; a bare `<Limit ALL> DenyAll` in a child would be overridden by a parent's
//! `<Limit CWD> AllowAll`.
//!
//! The root comes from `DefaultRoot ROOT NAME`, where NAME is the user's private group (every
//! gatehouse user has one, named like the user): directives inside `<IfUser>` are merged only
//! after login, too late for the chroot. The `<Directory>` blocks sit inside `<IfUser NAME>`.
use crate::access::{effective_protocols, policy_for};
use crate::model::{Group, User};
use crate::rules::{Op, Policy, Request};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A group of FTP commands that one decision governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmd {
    /// List a folder or enter it (`list` on the entry).
    List,
    /// Size, time and facts of an entry (`stat`: list in the parent, entry visible).
    Stat,
    /// Download (`download`).
    Retr,
    /// Create a new file (`upload`).
    Stor,
    /// Append (needs `upload` and `overwrite`: APPE creates or extends).
    Appe,
    /// Make a folder (`mkdir`).
    Mkd,
    /// Remove a folder (`rmdir`).
    Rmd,
    /// Remove a file (`delete`).
    Dele,
    /// Rename from here (`rename` of the entry to a sibling).
    Rnfr,
    /// Rename to here (`rename` of a sibling to the entry).
    Rnto,
    /// Change times (`setstat`; modes are never changed over FTP: gatehouse-tasks denies
    /// `SITE CHMOD` everywhere).
    Setstat,
}

impl Cmd {
    /// Every group, in a fixed order.
    pub const ALL: [Cmd; 11] = [
        Cmd::List,
        Cmd::Stat,
        Cmd::Retr,
        Cmd::Stor,
        Cmd::Appe,
        Cmd::Mkd,
        Cmd::Rmd,
        Cmd::Dele,
        Cmd::Rnfr,
        Cmd::Rnto,
        Cmd::Setstat,
    ];
}

/// One `<Directory>` block: a place of the user's tree and what is allowed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The place as the client sees it: `/`, `/in` (the folder itself) or `/in/*` (everything
    /// inside it).
    pub path: String,
    /// The command groups allowed; every other one is denied.
    pub allow: BTreeSet<Cmd>,
    /// `AllowOverwrite`: an upload may replace an existing file (`overwrite`).
    pub overwrite: bool,
}

/// What gatehouse-tasks needs to write one user's ProFTPD file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProftpdUser {
    /// Login name (also the name of the user's private group, which `DefaultRoot` matches).
    pub name: String,
    /// The user's root (`DefaultRoot`).
    pub root: String,
    /// `MaxStoreFileSize`, in bytes.
    pub max_file_size: Option<u64>,
    /// The blocks, in path order.
    pub places: Vec<Place>,
}

/// The suffix of the block for what lies inside the children of a `S/*` key. Not `/*`: ProFTPD
/// nests blocks by their path with trailing `*` and `/` stripped, and `S/*/*` strips to the same
/// `S` as `S/*`, so the two would nest either way round; `S/*/?*` strips to `S/*/?`, nests below
/// `S/*`, and matches the same paths (a name is never empty).
pub const INSIDE_STAR: &str = "/?*";

/// The reason every refusal ends with.
const USE_SFTP: &str = "use SFTP";

/// Can ProFTPD enforce everything this user's policy says? `Err` names what it cannot, in the
/// words the account log line and `gatehouse check` show.
pub fn proftpd_limits(user: &User, groups: &[Group]) -> Result<(), String> {
    proftpd_entry(user, groups).map(|_| ())
}

/// The rule keys of a user and their groups, without duplicates, in path order.
fn keys(user: &User, groups: &[Group]) -> BTreeSet<String> {
    user.rules.iter().chain(groups.iter().flat_map(|g| g.rules.iter())).map(|r| r.path.clone()).collect()
}

/// True if `s` can go into a ProFTPD config line unquoted and means itself: letters, digits and
/// `/ . _ - + @ , : =` only (no space, quote, `%` variable, `~` home or glob character). The
/// renderer in gatehouse-tasks applies the same test to whatever it is sent.
pub fn plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+@,:=".contains(c))
}

/// A key ProFTPD can express: a plain path, or a plain path followed by a whole `/*` component.
fn expressible(key: &str) -> bool {
    plain(key.strip_suffix("/*").unwrap_or(key)) && (key.starts_with('/'))
}

/// The user's ProFTPD file contents, or why ProFTPD cannot enforce their policy.
pub fn proftpd_entry(user: &User, groups: &[Group]) -> Result<ProftpdUser, String> {
    let mut what = Vec::new();
    if !plain(&user.root) {
        what.push(format!(
            "the root {:?} (ProFTPD config paths may hold only letters, digits and /._-+@,:=)",
            user.root
        ));
    }
    let keys = keys(user, groups);
    let odd: Vec<&str> = keys.iter().map(String::as_str).filter(|k| !expressible(k)).collect();
    if !odd.is_empty() {
        what.push(format!(
            "the rule keys {} (ProFTPD's * also matches /: only exact paths and a whole last * are expressed)",
            odd.join(", ")
        ));
    }
    if !what.is_empty() {
        return Err(format!("ProFTPD cannot enforce {}; {USE_SFTP}", what.join(", ")));
    }
    let policy = policy_for(user, groups);
    if let Some(e) = policy.invalid_rule() {
        return Err(format!("ProFTPD cannot enforce an invalid rule ({e}); {USE_SFTP}"));
    }
    // Places: `/`, each exact key and every folder on the way to any key.
    let mut folders: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
    let mut stars: BTreeSet<String> = BTreeSet::new();
    for k in &keys {
        let base = match k.strip_suffix("/*") {
            Some(b) => {
                let s = if b.is_empty() { "/".to_string() } else { b.to_string() };
                folders.insert(s.clone());
                stars.insert(s);
                b
            }
            None => {
                folders.insert(k.clone());
                k.as_str()
            }
        };
        let mut p = base;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            folders.insert(if p.is_empty() { "/".to_string() } else { p.to_string() });
        }
    }
    let mut places = Vec::new();
    for q in &folders {
        places.push(place(&policy, q, q, &keys)?);
        if !stars.contains(q) {
            let child = probe_child(q, &keys);
            places.push(place(&policy, &join(q, "*"), &child, &keys)?);
        }
    }
    for s in &stars {
        // `S/*` covers every child of S (one probe stands for them all); `S/*/*` what is inside.
        let child = probe_child(s, &keys);
        places.push(place(&policy, &join(s, "*"), &child, &keys)?);
        let grandchild = probe_child(&child, &keys);
        places.push(place(&policy, &format!("{}{INSIDE_STAR}", join(s, "*")), &grandchild, &keys)?);
    }
    places.sort_by(|a, b| a.path.cmp(&b.path));
    places.dedup_by(|a, b| a.path == b.path);
    Ok(ProftpdUser { name: user.name.clone(), root: user.root.clone(), max_file_size: user.max_file_size, places })
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// A child of `dir` that is no rule key itself (so its rule is the one a plain entry there has).
fn probe_child(dir: &str, keys: &BTreeSet<String>) -> String {
    (0..)
        .map(|i| join(dir, &format!("gatehouse-probe-{i}")))
        .find(|p| !keys.contains(p))
        .unwrap_or_else(|| join(dir, "gatehouse-probe"))
}

/// The block for place `name`, decided on the probe entry `entry` (the place itself, or a plain
/// entry standing for everything the place covers).
fn place(policy: &Policy, name: &str, entry: &str, keys: &BTreeSet<String>) -> Result<Place, String> {
    let ok = |op: Op| policy.decide(&Request::new(op, entry)).allowed;
    let sibling = probe_child(parent(entry), &{
        let mut k = keys.clone();
        k.insert(entry.to_string());
        k
    });
    let sibling = if sibling == entry { join(parent(entry), "gatehouse-probe-x") } else { sibling };
    let mut allow = BTreeSet::new();
    let mut add = |c: Cmd, yes: bool| {
        if yes {
            allow.insert(c);
        }
    };
    add(Cmd::List, ok(Op::List));
    add(Cmd::Stat, ok(Op::Stat));
    add(Cmd::Retr, ok(Op::Download));
    add(Cmd::Stor, ok(Op::Upload));
    add(Cmd::Appe, ok(Op::Upload) && ok(Op::Overwrite));
    add(Cmd::Mkd, ok(Op::Mkdir));
    add(Cmd::Rmd, ok(Op::Rmdir));
    add(Cmd::Dele, ok(Op::Delete));
    add(Cmd::Rnfr, policy.decide(&Request::rename(entry, &sibling, false)).allowed);
    add(Cmd::Rnto, policy.decide(&Request::rename(&sibling, entry, false)).allowed);
    add(Cmd::Setstat, ok(Op::Setstat));
    Ok(Place { path: name.to_string(), allow, overwrite: ok(Op::Overwrite) })
}

/// The ProFTPD file a user should have: `Some` for a user allowed `ftp` (their own or through a
/// group) whom ProFTPD can serve ([`proftpd_limits`]); `None` otherwise (no file, and the account
/// check refuses them on the `proftpd` service).
pub fn proftpd_user(user: &User, groups: &[Group]) -> Option<ProftpdUser> {
    let ftp = effective_protocols(user, groups).iter().any(|p| p == "ftp");
    if ftp {
        proftpd_entry(user, groups).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
