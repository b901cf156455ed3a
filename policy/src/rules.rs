//! The permission rule (DESIGN, "The permission rule", steps 2–7 and 9): one function that every
//! enforcement point calls, never a copy.
//!
//! A user's rules are a map from rule keys (canonical paths, optionally with `*`, `?` and `[..]`
//! wildcards inside one component) to [`Level`]s, and a level is a *set* of permissions
//! ([`PermSet`]), not a rung on a ladder. [`Policy::new`] merges the user's keys with their
//! groups' keys (a user's key beats a group's key with the same spelling; the same key in several
//! groups takes the union of their sets), validates and compiles every key once, and buckets
//! them by component count so [`Policy::decide`] does no allocation and no string building: it
//! walks from the path up to `/`, and at each depth tries the exact keys (binary search) and then
//! the patterns in precedence order (fewest wildcards, most literal characters, lexicographic).
//! The first depth with a match decides; nothing merges across depths. Order is always
//! deterministic: no hash-map iteration anywhere.
//!
//! A [`Decision`] carries only indices and flags; [`Decision::explain`] renders the one-line
//! reason (the rule, group or setting that decided) on demand, for `gatehouse check` and logs.
//!
//! Choices this module makes where DESIGN leaves room (each is tested in `tests/rules_table.rs`):
//! - **The root is always visible and listable.** Even when `/` is governed by `none`, listing or
//!   stat-ing `/` and stat-ing an entry directly under `/` are judged as if `/` had `list`; the
//!   entries themselves are still filtered by their own rules ([`Policy::visible`]). Without this a
//!   user with `{"/": "none", "/uploads": "write"}` could not reach `/uploads` at all.
//! - **A hidden parent hides.** An operation judged on `rule(parent(E))` whose parent is invisible
//!   is answered as "no such file" ([`Decision::hidden`]), as a create in a missing folder would be.
//! - **"The rule F would have" compares the effective set** (step 5): moving `/a/x` (under
//!   `/a → write`) to `/b/x` (under `/b → write`) is allowed, since everything moved keeps the
//!   same permissions; moving into a folder whose rule grants a different set is refused. A later
//!   edit of `/b`'s rule applies to what was moved there, as it applies to what is uploaded there.
//! - **Keys inside a subtree**: a rename is refused when any key, user's or group's, lies strictly
//!   inside the source or the target subtree; a pattern key counts when the components it shares
//!   with the subtree's path match (it could match something inside). `rmdir` is refused on the
//!   same test. `delete` (of a file) is not, since a file has no inside.
//! - **Invalid keys fail closed.** [`Rule::new`] and deserialisation reject invalid keys; a [`Rule`]
//!   built by hand with an invalid key makes the whole [`Policy`] refuse everything (with the key
//!   named in [`Decision::explain`]) rather than silently ignoring, say, a `none` rule.
use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::PolicyError;
use crate::path;

/// Longest rule key accepted, in bytes (Linux `PATH_MAX`).
pub const MAX_KEY_LEN: usize = 4096;

// ------------------------------------------------------------------------------------------------
// Levels, modes and permission sets
// ------------------------------------------------------------------------------------------------

/// A named permission level, the value side of a rule (DESIGN step 3).
///
/// The variants are ordered only for stable sorting; a level is a set ([`Level::perms`]), and
/// `upload` is not "more" than `read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `{}`: the entry does not exist for the user.
    None,
    /// `{list}`: names only.
    List,
    /// `{list, download}`.
    Read,
    /// `{list, create}`: a drop box; new files only, no overwrite, no download.
    Upload,
    /// All seven permissions.
    Write,
}

impl Level {
    /// Every level, in declaration order.
    pub const ALL: [Level; 5] = [Level::None, Level::List, Level::Read, Level::Upload, Level::Write];

    /// The permission set this level stands for.
    pub const fn perms(self) -> PermSet {
        match self {
            Level::None => PermSet::EMPTY,
            Level::List => PermSet::LIST,
            Level::Read => PermSet::LIST.union(PermSet::DOWNLOAD),
            Level::Upload => PermSet::LIST.union(PermSet::CREATE),
            Level::Write => PermSet::ALL,
        }
    }

    /// The lowercase name used in JSON, the CLI and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::List => "list",
            Level::Read => "read",
            Level::Upload => "upload",
            Level::Write => "write",
        }
    }
}

impl FromStr for Level {
    type Err = PolicyError;

    /// Parses a lowercase level name. The error names the field `level` and lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| PolicyError::invalid("level", s, "expected one of none, list, read, upload, write"))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user's mode (DESIGN step 6): a cap over every rule, and the level used where no rule
/// matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Read-only: every set is intersected with `{list, download}`; no match means `read`.
    R,
    /// Read-write: no cap; no match means `write`.
    Rw,
}

impl Mode {
    /// The level that applies where no rule matches (r → read, rw → write).
    pub const fn default_level(self) -> Level {
        match self {
            Mode::R => Level::Read,
            Mode::Rw => Level::Write,
        }
    }

    /// The set every rule is intersected with.
    pub const fn cap(self) -> PermSet {
        match self {
            Mode::R => Level::Read.perms(),
            Mode::Rw => PermSet::ALL,
        }
    }

    /// `"r"` or `"rw"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::R => "r",
            Mode::Rw => "rw",
        }
    }
}

impl FromStr for Mode {
    type Err = PolicyError;

    /// Accepts `r` and `rw`; the error names the field `mode`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "r" => Ok(Mode::R),
            "rw" => Ok(Mode::Rw),
            _ => Err(PolicyError::invalid("mode", s, "expected r or rw")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions: list, download, create, overwrite, mkdir, rename, delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PermSet(u8);

impl PermSet {
    /// No permission (the `none` level).
    pub const EMPTY: PermSet = PermSet(0);
    /// Read directory listings; also needed (in the parent) to stat an entry.
    pub const LIST: PermSet = PermSet(1);
    /// Open an existing file for reading; read a symlink.
    pub const DOWNLOAD: PermSet = PermSet(1 << 1);
    /// Create a new file.
    pub const CREATE: PermSet = PermSet(1 << 2);
    /// Write into or truncate an existing file; change its attributes.
    pub const OVERWRITE: PermSet = PermSet(1 << 3);
    /// Create a directory.
    pub const MKDIR: PermSet = PermSet(1 << 4);
    /// Rename or move an entry.
    pub const RENAME: PermSet = PermSet(1 << 5);
    /// Remove a file or an empty directory.
    pub const DELETE: PermSet = PermSet(1 << 6);
    /// All seven permissions (the `write` level).
    pub const ALL: PermSet = PermSet(0x7f);

    const NAMES: [(PermSet, &'static str); 7] = [
        (PermSet::LIST, "list"),
        (PermSet::DOWNLOAD, "download"),
        (PermSet::CREATE, "create"),
        (PermSet::OVERWRITE, "overwrite"),
        (PermSet::MKDIR, "mkdir"),
        (PermSet::RENAME, "rename"),
        (PermSet::DELETE, "delete"),
    ];

    /// True if every permission of `other` is in `self`.
    pub const fn contains(self, other: PermSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permissions in either set.
    pub const fn union(self, other: PermSet) -> PermSet {
        PermSet(self.0 | other.0)
    }

    /// The permissions in both sets.
    pub const fn intersect(self, other: PermSet) -> PermSet {
        PermSet(self.0 & other.0)
    }

    /// The permissions of `self` that are not in `other`.
    pub const fn without(self, other: PermSet) -> PermSet {
        PermSet(self.0 & !other.0)
    }

    /// True for the empty set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The named level whose set equals this one, if any.
    pub fn level_name(self) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.perms() == self)
    }

    /// The levels that grant every permission of `self`, smallest first, as prose
    /// (`"upload or write"`); used in explanations.
    fn granting_levels(self) -> &'static str {
        if self == PermSet::LIST {
            "list, read, upload or write"
        } else if self == PermSet::DOWNLOAD {
            "read or write"
        } else if self == PermSet::CREATE {
            "upload or write"
        } else {
            "write"
        }
    }
}

impl fmt::Display for PermSet {
    /// `{list, download}`; `{}` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        let mut first = true;
        for (p, name) in PermSet::NAMES {
            if self.contains(p) {
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str("}")
    }
}

/// Displays a set by its level name when it has one, else as a set.
struct SetName(PermSet);

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.level_name() {
            Some(l) => write!(f, "{l}"),
            None => write!(f, "{}", self.0),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Rule keys and the glob matcher
// ------------------------------------------------------------------------------------------------

/// One token of a pattern component.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// A run of literal characters.
    Lit(Box<str>),
    /// `*`: any run of characters (never `/`, which components cannot hold).
    Star,
    /// `?`: exactly one character.
    One,
    /// `[...]`: one character in (or, negated, not in) a set of inclusive ranges.
    Class { negated: bool, ranges: Box<[(char, char)]> },
}

/// One component of a rule key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Comp {
    /// Compared byte for byte.
    Lit(Box<str>),
    /// Matched by [`glob_match`].
    Glob(Box<[Tok]>),
}

impl Comp {
    fn matches(&self, s: &str) -> bool {
        match self {
            Comp::Lit(l) => **l == *s,
            Comp::Glob(toks) => glob_match(toks, s),
        }
    }
}

/// Matches one path component against a compiled pattern component.
///
/// The classic iterative algorithm: on a mismatch, retry from the most recent `*` with it
/// swallowing one more character. Linear in practice, never recursive, never allocates.
fn glob_match(toks: &[Tok], s: &str) -> bool {
    let mut ti = 0;
    let mut si = 0;
    // (token index after the last star, string index that star currently stops at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(ti) {
            let rest = &s[si..];
            let step = match tok {
                Tok::Star => {
                    star = Some((ti + 1, si));
                    ti += 1;
                    continue;
                }
                Tok::Lit(l) => rest.starts_with(&**l).then_some(l.len()),
                Tok::One => rest.chars().next().map(char::len_utf8),
                Tok::Class { negated, ranges } => rest.chars().next().and_then(|c| {
                    let hit = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                    (hit != *negated).then_some(c.len_utf8())
                }),
            };
            if let Some(n) = step {
                si += n;
                ti += 1;
                continue;
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last star take one more character, or fail.
        match star {
            Some((after, at)) => match s[at..].chars().next() {
                Some(c) => {
                    let next = at + c.len_utf8();
                    star = Some((after, next));
                    ti = after;
                    si = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// A parsed pattern component with its precedence counts.
struct ParsedComp {
    comp: Comp,
    wild: u32,
    lit: u32,
}

/// Parses one component of a rule key. `[` opens a class that must close within the component;
/// `!` or `^` right after `[` negates; a `]` first in the class is literal; `a-z` is a range
/// (`-` first or last is literal). `\` is literal, like everywhere in gatehouse paths.
fn parse_component(c: &str) -> Result<ParsedComp, String> {
    let cs: Vec<char> = c.chars().collect();
    let mut toks: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let (mut wild, mut lits) = (0u32, 0u32);
    let flush = |lit: &mut String, toks: &mut Vec<Tok>| {
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(lit).into_boxed_str()));
        }
    };
    let mut i = 0;
    while let Some(&ch) = cs.get(i) {
        match ch {
            '*' => {
                flush(&mut lit, &mut toks);
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
                wild += 1;
                i += 1;
            }
            '?' => {
                flush(&mut lit, &mut toks);
                toks.push(Tok::One);
                wild += 1;
                i += 1;
            }
            '[' => {
                flush(&mut lit, &mut toks);
                let mut j = i + 1;
                let negated = matches!(cs.get(j), Some('!') | Some('^'));
                if negated {
                    j += 1;
                }
                let start = j;
                let mut ranges = Vec::new();
                loop {
                    let Some(&a) = cs.get(j) else {
                        return Err(format!(
                            "unbalanced [ in component {c:?}: close it with ] (use [[] for a literal [)"
                        ));
                    };
                    if a == ']' && j > start {
                        break;
                    }
                    match (cs.get(j + 1), cs.get(j + 2)) {
                        (Some('-'), Some(&b)) if b != ']' => {
                            if b < a {
                                return Err(format!("range {a}-{b} in component {c:?} is reversed"));
                            }
                            ranges.push((a, b));
                            j += 3;
                        }
                        _ => {
                            ranges.push((a, a));
                            j += 1;
                        }
                    }
                }
                toks.push(Tok::Class { negated, ranges: ranges.into_boxed_slice() });
                wild += 1;
                i = j + 1;
            }
            _ => {
                lit.push(ch);
                lits += 1;
                i += 1;
            }
        }
    }
    if wild == 0 {
        return Ok(ParsedComp { comp: Comp::Lit(c.into()), wild: 0, lit: lits });
    }
    flush(&mut lit, &mut toks);
    Ok(ParsedComp { comp: Comp::Glob(toks.into_boxed_slice()), wild, lit: lits })
}

/// A validated, compiled rule key.
struct ParsedKey {
    depth: usize,
    /// `Some` if any component has a wildcard.
    comps: Option<Box<[Comp]>>,
    wild: u32,
    lit: u32,
}

/// Validates and compiles a rule key; errors name the field `path`.
fn parse_key(key: &str) -> Result<ParsedKey, PolicyError> {
    let bad = |reason: &str| PolicyError::invalid("path", key.replace('\0', "\\0"), reason);
    if key.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    // Keys are printed to root's terminal (`rule list`, `user show`, `check`): an ESC or a
    // newline in one would be a terminal escape or a forged line there.
    if key.chars().any(char::is_control) {
        return Err(bad("contains a control character (ESC, newline, ...)"));
    }
    if !key.starts_with('/') {
        return Err(bad("must be absolute (start with /); / is the user's root"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(bad("is longer than 4096 bytes"));
    }
    if key == "/" {
        return Ok(ParsedKey { depth: 0, comps: None, wild: 0, lit: 0 });
    }
    if key.ends_with('/') {
        return Err(bad("has a trailing slash; write it without"));
    }
    let mut comps = Vec::new();
    let (mut wild, mut lit, mut pattern) = (0, 0, false);
    for c in key[1..].split('/') {
        match c {
            "" => return Err(bad("contains //; write the canonical path")),
            "." | ".." => return Err(bad("contains a . or .. component; write the canonical path")),
            _ => {}
        }
        let p = parse_component(c).map_err(|r| bad(&r))?;
        pattern |= p.wild > 0;
        wild += p.wild;
        lit += p.lit;
        comps.push(p.comp);
    }
    Ok(ParsedKey { depth: comps.len(), comps: pattern.then(|| comps.into_boxed_slice()), wild, lit })
}

/// The literal head and tail of a pattern key (see `KeyEntry::lit_head`); empty for exact keys.
fn literal_ends(key: &str, comps: Option<&[Comp]>) -> (Box<str>, Box<str>) {
    let Some(comps) = comps else {
        return (Box::default(), Box::default());
    };
    let head = key.find(['*', '?', '[']).map_or(key, |i| &key[..i]);
    let tail = match comps.last() {
        Some(Comp::Lit(l)) => format!("/{l}"),
        Some(Comp::Glob(toks)) => match toks.last() {
            Some(Tok::Lit(l)) => l.to_string(),
            _ => String::new(),
        },
        None => String::new(),
    };
    (head.into(), tail.into_boxed_str())
}

/// One rule key and its level, as stored.
///
/// [`Rule::new`] and deserialisation validate the key: absolute, canonical (no `.`, `..`, `//` or
/// trailing slash except `/` itself), no NUL, every `[` closed by a `]` in the same component, no
/// reversed range, at most [`MAX_KEY_LEN`] bytes. Errors name the field `path`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    /// The key: a canonical path, possibly with `*`, `?` and `[..]` inside components.
    pub path: String,
    /// The level granted where this key decides.
    pub level: Level,
}

/// The unvalidated wire form of [`Rule`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    path: String,
    level: Level,
}

impl TryFrom<RawRule> for Rule {
    type Error = PolicyError;

    fn try_from(r: RawRule) -> Result<Rule, PolicyError> {
        Rule::new(&r.path, r.level)
    }
}

impl Rule {
    /// Validates `path` as a rule key and builds the rule.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`] with field `path`, saying what is wrong with the key.
    pub fn new(path: &str, level: Level) -> Result<Rule, PolicyError> {
        parse_key(path)?;
        Ok(Rule { path: path.to_owned(), level })
    }

    /// True if the key has a wildcard (`*`, `?` or `[..]`).
    pub fn is_pattern(&self) -> bool {
        self.path.contains(['*', '?', '['])
    }
}

/// The rules a group contributes to its members.
#[derive(Clone, Copy, Debug)]
pub struct GroupRules<'a> {
    /// The group's name, shown in explanations.
    pub group: &'a str,
    /// The group's rules.
    pub rules: &'a [Rule],
}

// ------------------------------------------------------------------------------------------------
// Operations and requests
// ------------------------------------------------------------------------------------------------

/// A file operation to decide (the `check --op` names), DESIGN step 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// List directory D: needs list in `rule(D)`.
    List,
    /// Open E for reading, or READLINK: needs download in `rule(parent(E))`.
    Download,
    /// Create a new file E: needs create in `rule(parent(E))`.
    Upload,
    /// Write into or truncate an existing file E (also SETSTAT size): needs overwrite in
    /// `rule(parent(E))`.
    Overwrite,
    /// Change E's mode or times: needs overwrite in `rule(parent(E))`.
    Setstat,
    /// Create directory E: needs mkdir in `rule(parent(E))`.
    Mkdir,
    /// Remove directory E: needs delete in `rule(parent(E))` and `rule(E)`, and no rule key inside.
    Rmdir,
    /// Remove file E: needs delete in `rule(parent(E))` and `rule(E)`.
    Delete,
    /// Rename E to F: needs rename in `rule(parent(E))`, `rule(E)` and `rule(parent(F))`, plus
    /// overwrite and delete when F exists, and must not change any rule (step 5).
    Rename,
    /// Create a symlink: always refused.
    Symlink,
    /// Create a hard link: always refused.
    Hardlink,
    /// STAT, LSTAT or REALPATH of E: needs list in `rule(parent(E))`.
    Stat,
}

impl Op {
    /// Every operation, in declaration order.
    pub const ALL: [Op; 12] = [
        Op::List,
        Op::Download,
        Op::Upload,
        Op::Overwrite,
        Op::Setstat,
        Op::Mkdir,
        Op::Rmdir,
        Op::Delete,
        Op::Rename,
        Op::Symlink,
        Op::Hardlink,
        Op::Stat,
    ];

    /// The lowercase name (`check --op`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Download => "download",
            Op::Upload => "upload",
            Op::Overwrite => "overwrite",
            Op::Setstat => "setstat",
            Op::Mkdir => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Delete => "delete",
            Op::Rename => "rename",
            Op::Symlink => "symlink",
            Op::Hardlink => "hardlink",
            Op::Stat => "stat",
        }
    }

    /// The one permission this operation needs (empty for the link operations, which are always
    /// refused).
    pub const fn needs(self) -> PermSet {
        match self {
            Op::List | Op::Stat => PermSet::LIST,
            Op::Download => PermSet::DOWNLOAD,
            Op::Upload => PermSet::CREATE,
            Op::Overwrite | Op::Setstat => PermSet::OVERWRITE,
            Op::Mkdir => PermSet::MKDIR,
            Op::Rmdir | Op::Delete => PermSet::DELETE,
            Op::Rename => PermSet::RENAME,
            Op::Symlink | Op::Hardlink => PermSet::EMPTY,
        }
    }
}

impl FromStr for Op {
    type Err = PolicyError;

    /// Parses an operation name; the error names the field `op` and lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Op::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| {
            PolicyError::invalid(
                "op",
                s,
                "expected one of list, download, upload, overwrite, setstat, mkdir, rmdir, delete, \
                 rename, symlink, hardlink, stat",
            )
        })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to decide. `path` and `to` must already be canonical ([`path::canonicalize`]) and,
/// where symlinks exist, resolved inside the root (step 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The operation.
    pub op: Op,
    /// E (or D for [`Op::List`]).
    pub path: &'a str,
    /// F, the target of a rename; ignored by other operations.
    pub to: Option<&'a str>,
    /// For a rename: whether F exists (the rename would replace it).
    pub target_exists: bool,
}

impl<'a> Request<'a> {
    /// A single-path request.
    pub const fn new(op: Op, path: &'a str) -> Request<'a> {
        Request { op, path, to: None, target_exists: false }
    }

    /// A rename of `from` to `to`.
    pub const fn rename(from: &'a str, to: &'a str, target_exists: bool) -> Request<'a> {
        Request { op: Op::Rename, path: from, to: Some(to), target_exists }
    }
}

// ------------------------------------------------------------------------------------------------
// The compiled policy
// ------------------------------------------------------------------------------------------------

/// Where a merged key came from.
#[derive(Clone, Debug)]
enum Origin {
    /// The user's own key, with its level.
    User(Level),
    /// One or more groups' key; the set is the union of their levels. Names in the order the
    /// groups were given, without duplicates.
    Groups(Vec<String>),
}

/// A merged, compiled key.
#[derive(Clone, Debug)]
struct KeyEntry {
    path: String,
    depth: usize,
    /// `Some` for pattern keys.
    comps: Option<Box<[Comp]>>,
    wild: u32,
    lit: u32,
    /// For patterns: the key's text before its first wildcard, which any match starts with.
    lit_head: Box<str>,
    /// For patterns: literal text every match ends with (the last component if it is literal, or
    /// the last component's trailing literal run); may be empty.
    lit_tail: Box<str>,
    origin: Origin,
    /// The key's set before caps.
    raw: PermSet,
    /// The key's set after the mode and delete caps.
    perms: PermSet,
}

impl KeyEntry {
    /// True if this key matches the canonical `prefix`, whose depth equals `self.depth`.
    fn matches(&self, prefix: &str) -> bool {
        match &self.comps {
            None => self.path == prefix,
            Some(comps) => {
                // Cheap necessary conditions first: the literal text before the first wildcard and
                // after the last one must be there verbatim.
                if !prefix.starts_with(&*self.lit_head) || !prefix.ends_with(&*self.lit_tail) {
                    return false;
                }
                let mut parts = prefix.split('/').skip(1);
                comps.iter().all(|c| parts.next().is_some_and(|p| c.matches(p))) && parts.next().is_none()
            }
        }
    }

    /// True if this key lies strictly inside the subtree at canonical `dir` (of depth `depth`), or,
    /// for a pattern, could match something strictly inside it.
    fn strictly_inside(&self, dir: &str, depth: usize) -> bool {
        if self.depth <= depth {
            return false;
        }
        match &self.comps {
            None => path::is_within(&self.path, dir),
            Some(comps) => {
                let parts = dir.split('/').skip(1).filter(|p| !p.is_empty());
                comps.iter().zip(parts).all(|(c, p)| c.matches(p))
            }
        }
    }
}

impl fmt::Display for KeyEntry {
    /// `/uploads → write (user rule)`, `/clients/*/in → upload (group acme)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → ", self.path)?;
        match &self.origin {
            Origin::User(l) => write!(f, "{l} (user rule)"),
            Origin::Groups(g) => {
                let s = if g.len() == 1 { "group" } else { "groups" };
                write!(f, "{} ({s} {})", SetName(self.raw), g.join(", "))
            }
        }
    }
}

/// The keys of one depth.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Exact keys, sorted by path, with their index in `Policy::keys`.
    exact: Vec<(Box<str>, u32)>,
    /// Pattern keys' indices, in precedence order.
    patterns: Vec<u32>,
}

/// Which rule governs a path: a merged key, or the user's mode (no key matched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleRef {
    Key(u32),
    Mode,
}

/// The compiled policy of one user: their rules merged with their groups' rules, their mode and
/// their delete flag. Build it once per session (or per rule change) and ask it many times.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Merged keys, in lexicographic order of their path.
    keys: Vec<KeyEntry>,
    /// Keys by component count; `buckets[0]` can only hold `/`.
    buckets: Vec<Bucket>,
    mode: Mode,
    delete_allowed: bool,
    /// The mode's default level after caps.
    default_perms: PermSet,
    /// The first invalid key, if any: then everything is refused.
    broken: Option<PolicyError>,
}

/// The effective permission set governing one path, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    /// The set after the mode and delete caps.
    pub perms: PermSet,
    /// The key, group or setting it came from.
    pub source: Source,
}

/// Where an [`Effective`] set came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The user's own key decided.
    User {
        /// The key as written.
        key: String,
        /// The key's level (before caps).
        level: Level,
    },
    /// A key given by one or more groups decided.
    Group {
        /// The key as written.
        key: String,
        /// The groups that have this key, in the order given to [`Policy::new`].
        groups: Vec<String>,
        /// The union of their levels (before caps).
        perms: PermSet,
    },
    /// No key matched; the user's mode decided (r → read, rw → write).
    Mode(Mode),
    /// A rule key is invalid, so the policy refuses everything.
    Invalid {
        /// Why (names the key).
        reason: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::User { key, level } => write!(f, "{key} → {level} (user rule)"),
            Source::Group { key, groups, perms } => {
                let s = if groups.len() == 1 { "group" } else { "groups" };
                write!(f, "{key} → {} ({s} {})", SetName(*perms), groups.join(", "))
            }
            Source::Mode(m) => write!(f, "no matching rule: mode {m}"),
            Source::Invalid { reason } => write!(f, "{reason}; every request is refused until it is fixed"),
        }
    }
}

impl fmt::Display for Effective {
    /// The source, plus the capped set when a cap changed it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        let raw = match &self.source {
            Source::User { level, .. } => level.perms(),
            Source::Group { perms, .. } => *perms,
            Source::Mode(m) => m.default_level().perms(),
            Source::Invalid { .. } => PermSet::EMPTY,
        };
        if raw != self.perms {
            write!(f, ", capped to {}", self.perms)?;
        }
        Ok(())
    }
}

impl Policy {
    /// Merges and compiles a user's rules with their groups' rules.
    ///
    /// Within one list a later duplicate key replaces an earlier one (as in a map); a user's key
    /// beats every group's key with the same spelling; the same key in several groups takes the
    /// union of their sets. An invalid key (possible only for a [`Rule`] built by hand) makes the
    /// policy refuse everything; see [`Policy::invalid_rule`].
    pub fn new(user_rules: &[Rule], groups: &[GroupRules<'_>], mode: Mode, delete_allowed: bool) -> Policy {
        enum M<'r> {
            User(Level),
            Groups(Vec<&'r str>, PermSet),
        }
        let mut merged: BTreeMap<&str, M<'_>> = BTreeMap::new();
        for r in user_rules {
            merged.insert(r.path.as_str(), M::User(r.level));
        }
        for g in groups {
            let mut own: BTreeMap<&str, Level> = BTreeMap::new();
            for r in g.rules {
                own.insert(r.path.as_str(), r.level);
            }
            for (k, level) in own {
                match merged.entry(k) {
                    Entry::Vacant(v) => {
                        v.insert(M::Groups(vec![g.group], level.perms()));
                    }
                    Entry::Occupied(mut o) => {
                        if let M::Groups(names, set) = o.get_mut() {
                            *set = set.union(level.perms());
                            if !names.contains(&g.group) {
                                names.push(g.group);
                            }
                        }
                    }
                }
            }
        }

        let mut cap = mode.cap();
        if !delete_allowed {
            cap = cap.without(PermSet::DELETE.union(PermSet::OVERWRITE));
        }
        let mut broken = None;
        let mut keys = Vec::with_capacity(merged.len());
        for (k, m) in merged {
            let parsed = match parse_key(k) {
                Ok(p) => p,
                Err(e) => {
                    broken.get_or_insert(e);
                    continue;
                }
            };
            let (origin, raw) = match m {
                M::User(l) => (Origin::User(l), l.perms()),
                M::Groups(names, set) => (Origin::Groups(names.into_iter().map(str::to_owned).collect()), set),
            };
            let (lit_head, lit_tail) = literal_ends(k, parsed.comps.as_deref());
            keys.push(KeyEntry {
                lit_head,
                lit_tail,
                path: k.to_owned(),
                depth: parsed.depth,
                comps: parsed.comps,
                wild: parsed.wild,
                lit: parsed.lit,
                origin,
                raw,
                perms: raw.intersect(cap),
            });
        }

        let max_depth = keys.iter().map(|k| k.depth).max().unwrap_or(0);
        let mut buckets = vec![Bucket::default(); if keys.is_empty() { 0 } else { max_depth + 1 }];
        for (i, k) in keys.iter().enumerate() {
            let b = &mut buckets[k.depth];
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if k.comps.is_some() {
                b.patterns.push(i);
            } else {
                b.exact.push((k.path.as_str().into(), i));
            }
        }
        for b in &mut buckets {
            // `keys` is in path order, so `exact` already is; patterns need precedence order.
            b.patterns.sort_by_key(|&i| {
                let k = &keys[i as usize];
                (k.wild, Reverse(k.lit), k.path.as_str())
            });
        }

        Policy {
            keys,
            buckets,
            mode,
            delete_allowed,
            default_perms: mode.default_level().perms().intersect(cap),
            broken,
        }
    }

    /// The user's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The user's delete flag.
    pub fn delete_allowed(&self) -> bool {
        self.delete_allowed
    }

    /// The first invalid rule key given to [`Policy::new`], if any. While there is one, every
    /// request is refused and nothing but `/` is visible.
    pub fn invalid_rule(&self) -> Option<&PolicyError> {
        self.broken.as_ref()
    }

    /// True if the user has no rule keys at all (their mode applies everywhere). Legacy `scp` and
    /// `rsync` are served only to such users.
    pub fn has_no_rules(&self) -> bool {
        self.keys.is_empty() && self.broken.is_none()
    }

    /// The effective permission set governing `path` itself (a canonical path): the lookup of
    /// step 2 over the merged keys of step 7, with the caps of step 6 applied, and where it came
    /// from. For `/` this is the real rule, even though `/` is always visible. Allocates the
    /// [`Source`]; on hot paths use [`Policy::visible`] and [`Policy::decide`].
    pub fn rule_of(&self, path: &str) -> Effective {
        if let Some(e) = &self.broken {
            return Effective { perms: PermSet::EMPTY, source: Source::Invalid { reason: e.to_string() } };
        }
        let r = self.resolve(path);
        Effective { perms: self.perms(r), source: self.source(r) }
    }

    /// False if `path` (canonical) is governed by an empty set: it does not exist for the user,
    /// so listings omit it and every request on it answers "no such file". `/` is always visible.
    pub fn visible(&self, path: &str) -> bool {
        if path == "/" {
            return true;
        }
        self.broken.is_none() && !self.perms(self.resolve(path)).is_empty()
    }

    /// Decides one request (DESIGN steps 4–7 and 9). Allocation-free; call
    /// [`Decision::explain`] for the reason.
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        match self.decide_inner(req) {
            Ok(d) | Err(d) => d,
        }
    }

    fn decide_inner(&self, req: &Request<'_>) -> Result<Decision, Decision> {
        let op = req.op;
        let e = req.path;
        if self.broken.is_some() {
            return Err(Decision::deny(Why::Broken));
        }
        if matches!(op, Op::Symlink | Op::Hardlink) {
            return Err(Decision::deny(Why::Link(op)));
        }
        if !e.starts_with('/') {
            return Err(Decision::deny(Why::NotCanonical));
        }
        let is_root = e == "/";
        if op == Op::List {
            if is_root {
                return Ok(Decision::allow(Why::RootListed));
            }
            let r = self.resolve(e);
            if self.perms(r).is_empty() {
                return Err(Decision::hidden(r, false));
            }
            self.need(op, PermSet::LIST, r)?;
            return Ok(Decision::allow(Why::Granted { op, need: PermSet::LIST, rule: r }));
        }
        if is_root && !matches!(op, Op::Stat | Op::Setstat | Op::Download) {
            return Err(Decision::deny(Why::RootEntry(op)));
        }

        // rule(E) and rule(parent(E)) in one walk.
        let (re, rp) = self.resolve_pair(e);
        if !is_root && self.perms(re).is_empty() {
            return Err(Decision::hidden(re, false));
        }
        let p = path::parent(e);
        if p != "/" && self.perms(rp).is_empty() {
            return Err(Decision::hidden(rp, true));
        }

        let need = op.needs();
        match op {
            Op::Stat => {
                if p == "/" && !self.perms(rp).contains(PermSet::LIST) {
                    return Ok(Decision::allow(Why::RootListed));
                }
                self.need(op, need, rp)?;
            }
            Op::Download | Op::Upload | Op::Overwrite | Op::Setstat | Op::Mkdir => {
                self.need(op, need, rp)?;
            }
            Op::Delete | Op::Rmdir => {
                self.need(op, need, rp)?;
                self.need(op, need, re)?;
                if op == Op::Rmdir {
                    if let Some(k) = self.key_strictly_inside(e) {
                        return Err(Decision::deny(Why::KeyInsideRemoved(op, k)));
                    }
                }
            }
            Op::Rename => {
                let Some(f) = req.to else {
                    return Err(Decision::deny(Why::NoTarget));
                };
                if !f.starts_with('/') {
                    return Err(Decision::deny(Why::NotCanonical));
                }
                if f == "/" {
                    return Err(Decision::deny(Why::RootEntry(op)));
                }
                if f != e && path::is_within(f, e) {
                    return Err(Decision::deny(Why::IntoItself));
                }
                let (rf, rpf) = self.resolve_pair(f);
                let pf = path::parent(f);
                if pf != "/" && self.perms(rpf).is_empty() {
                    return Err(Decision::hidden(rpf, true));
                }
                self.need(op, need, rp)?;
                self.need(op, need, re)?;
                self.need(op, need, rpf)?;
                if req.target_exists {
                    if !self.delete_allowed {
                        return Err(Decision::deny(Why::ReplacingRename));
                    }
                    self.need(op, PermSet::OVERWRITE, rpf)?;
                    self.need(op, PermSet::DELETE, rpf)?;
                    self.need(op, PermSet::DELETE, rf)?;
                }
                // The *effective set* must not change; which key grants it may (moving a file
                // between two `write` folders is an everyday operation).
                if self.perms(re) != self.perms(rf) {
                    let own = match re {
                        RuleRef::Key(k) => self.key(k).is_some_and(|k| k.comps.is_none() && k.path == e),
                        RuleRef::Mode => false,
                    };
                    return Err(Decision::deny(Why::MoveChangesRule { from: re, to: rf, own }));
                }
                if let Some(k) = self.key_strictly_inside(e) {
                    return Err(Decision::deny(Why::KeyInsideSource(k)));
                }
                if let Some(k) = self.key_strictly_inside(f) {
                    return Err(Decision::deny(Why::KeyInsideTarget(k)));
                }
            }
            Op::List | Op::Symlink | Op::Hardlink => {}
        }
        Ok(Decision::allow(Why::Granted { op, need, rule: rp }))
    }

    /// Ok if `rule` grants `need`; otherwise the denial, naming what removed it.
    fn need(&self, op: Op, need: PermSet, rule: RuleRef) -> Result<(), Decision> {
        if self.perms(rule).contains(need) {
            return Ok(());
        }
        let raw = self.raw(rule);
        let mode_removes = self.mode == Mode::R && !Mode::R.cap().contains(need);
        let cause = if mode_removes && (rule == RuleRef::Mode || raw.contains(need)) {
            Cause::ModeR
        } else if !raw.contains(need) {
            Cause::Level
        } else {
            Cause::NoDelete
        };
        Err(Decision::deny(Why::Lacks { op, need, rule, cause }))
    }

    fn key(&self, k: u32) -> Option<&KeyEntry> {
        self.keys.get(k as usize)
    }

    fn perms(&self, r: RuleRef) -> PermSet {
        match r {
            RuleRef::Key(k) => self.key(k).map_or(PermSet::EMPTY, |k| k.perms),
            RuleRef::Mode => self.default_perms,
        }
    }

    fn raw(&self, r: RuleRef) -> PermSet {
        match r {
            RuleRef::Key(k) => self.key(k).map_or(PermSet::EMPTY, |k| k.raw),
            RuleRef::Mode => self.mode.default_level().perms(),
        }
    }

    fn source(&self, r: RuleRef) -> Source {
        match r.key_in(self) {
            Some(k) => match &k.origin {
                Origin::User(level) => Source::User { key: k.path.clone(), level: *level },
                Origin::Groups(g) => Source::Group { key: k.path.clone(), groups: g.clone(), perms: k.raw },
            },
            None => Source::Mode(self.mode),
        }
    }

    /// The key matching exactly at `prefix` (of depth `depth`), if any: exact keys first, then
    /// patterns in precedence order.
    #[inline]
    fn lookup_at(&self, prefix: &str, depth: usize) -> Option<u32> {
        let b = self.buckets.get(depth)?;
        if !b.exact.is_empty() {
            if let Ok(i) = b.exact.binary_search_by(|(k, _)| (**k).cmp(prefix)) {
                return Some(b.exact[i].1);
            }
        }
        b.patterns.iter().copied().find(|&i| self.keys[i as usize].matches(prefix))
    }

    /// The rule governing the canonical `path` of depth `depth`: the first depth, walking up,
    /// with a matching key; else the mode.
    fn resolve_from(&self, mut path: &str, mut depth: usize) -> RuleRef {
        if self.buckets.is_empty() {
            return RuleRef::Mode;
        }
        loop {
            if depth < self.buckets.len() {
                if let Some(k) = self.lookup_at(path, depth) {
                    return RuleRef::Key(k);
                }
            }
            if depth == 0 {
                return RuleRef::Mode;
            }
            path = path::parent(path);
            depth -= 1;
        }
    }

    fn resolve(&self, path: &str) -> RuleRef {
        self.resolve_from(path, path::depth(path))
    }

    /// `(rule(path), rule(parent(path)))` in one walk.
    fn resolve_pair(&self, path: &str) -> (RuleRef, RuleRef) {
        let depth = path::depth(path);
        if depth == 0 {
            let r = self.resolve_from(path, 0);
            return (r, r);
        }
        let parent = self.resolve_from(path::parent(path), depth - 1);
        let own = if depth < self.buckets.len() { self.lookup_at(path, depth) } else { None };
        (own.map_or(parent, RuleRef::Key), parent)
    }

    /// The first key (in path order) lying strictly inside the subtree at `dir`, if any.
    fn key_strictly_inside(&self, dir: &str) -> Option<u32> {
        let depth = path::depth(dir);
        self.keys.iter().position(|k| k.strictly_inside(dir, depth)).map(|i| u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// `"/uploads → write (user rule)"` or `"no matching rule: mode rw"`.
    fn rule_display(&self, r: RuleRef) -> String {
        match r.key_in(self) {
            Some(k) => k.to_string(),
            None => format!("no matching rule: mode {}", self.mode),
        }
    }
}

impl RuleRef {
    fn key_in(self, p: &Policy) -> Option<&KeyEntry> {
        match self {
            RuleRef::Key(k) => p.key(k),
            RuleRef::Mode => None,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Decisions
// ------------------------------------------------------------------------------------------------

/// What removed a needed permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// The level (or the union of levels) never had it.
    Level,
    /// Mode `r` capped it away.
    ModeR,
    /// `delete_allowed=false` removed it.
    NoDelete,
}

/// Why a decision came out as it did; rendered by [`Decision::explain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Granted { op: Op, need: PermSet, rule: RuleRef },
    RootListed,
    Link(Op),
    RootEntry(Op),
    NoTarget,
    NotCanonical,
    IntoItself,
    Broken,
    Hidden { rule: RuleRef, parent: bool },
    Lacks { op: Op, need: PermSet, rule: RuleRef, cause: Cause },
    ReplacingRename,
    MoveChangesRule { from: RuleRef, to: RuleRef, own: bool },
    KeyInsideSource(u32),
    KeyInsideTarget(u32),
    KeyInsideRemoved(Op, u32),
}

/// The decision on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// True if the request may proceed.
    pub allowed: bool,
    /// True if the request touches an entry that does not exist for the user: answer it as
    /// "no such file" (`NO_SUCH_FILE`, `ENOENT`, FTP 550), never as "permission denied".
    /// Always false when `allowed`.
    pub hidden: bool,
    why: Why,
}

impl Decision {
    const fn allow(why: Why) -> Decision {
        Decision { allowed: true, hidden: false, why }
    }

    const fn deny(why: Why) -> Decision {
        Decision { allowed: false, hidden: false, why }
    }

    const fn hidden(rule: RuleRef, parent: bool) -> Decision {
        Decision { allowed: false, hidden: true, why: Why::Hidden { rule, parent } }
    }

    /// One line naming the rule, group or setting that decided, for example
    /// `deny: /clients/*/in → upload (group acme): delete needs write` (a level lacks the
    /// permission: the levels that would grant it are named),
    /// `allow: /uploads → write (user rule): upload needs create`,
    /// `deny: mode r: upload needs create`,
    /// `deny: delete_allowed=false: overwrite needs overwrite`,
    /// `deny: symlinks are never allowed`, or
    /// `deny: rename would move /secret out from under its rule (…)`.
    ///
    /// `policy` must be the policy that made this decision (the decision holds indices into it).
    pub fn explain(&self, policy: &Policy) -> String {
        let rd = |r: RuleRef| policy.rule_display(r);
        let key = |k: u32| policy.key(k).map_or_else(|| "?".to_owned(), ToString::to_string);
        match self.why {
            Why::Granted { op, need, rule } => format!("allow: {}: {op} needs {}", rd(rule), bare(need)),
            Why::RootListed => {
                "allow: the root folder is always visible and listable (entries are filtered by their rules)".to_owned()
            }
            Why::Link(Op::Hardlink) => "deny: hardlinks are never allowed".to_owned(),
            Why::Link(_) => "deny: symlinks are never allowed".to_owned(),
            Why::RootEntry(op) => format!("deny: {op} of the root folder is never allowed"),
            Why::NoTarget => "deny: rename needs a target path".to_owned(),
            Why::NotCanonical => "deny: the path is not canonical (canonicalise it first)".to_owned(),
            Why::IntoItself => "deny: rename would move a folder inside itself".to_owned(),
            Why::Broken => match policy.invalid_rule() {
                Some(e) => format!("deny: {e}; every request is refused until it is fixed"),
                None => "deny: invalid rule".to_owned(),
            },
            Why::Hidden { rule, parent: false } => {
                format!("deny: {}: the entry does not exist for this user (hidden)", rd(rule))
            }
            Why::Hidden { rule, parent: true } => {
                format!("deny: {}: its folder does not exist for this user (hidden)", rd(rule))
            }
            Why::Lacks { op, need, rule, cause } => {
                let perm = bare(need);
                match cause {
                    Cause::Level => format!("deny: {}: {op} needs {}", rd(rule), need.granting_levels()),
                    Cause::ModeR => format!("deny: mode r: {op} needs {perm}"),
                    Cause::NoDelete => format!("deny: delete_allowed=false: {op} needs {perm}"),
                }
            }
            Why::ReplacingRename => {
                "deny: delete_allowed=false: a rename that replaces an existing file needs overwrite and delete"
                    .to_owned()
            }
            Why::MoveChangesRule { from, to, own } => {
                let what = match from.key_in(policy) {
                    Some(k) if own => k.path.clone(),
                    _ => "it".to_owned(),
                };
                format!(
                    "deny: rename would move {what} out from under its rule ({}; the target would fall under {})",
                    rd(from),
                    rd(to)
                )
            }
            Why::KeyInsideSource(k) => {
                format!("deny: rename would move entries out from under the rule {} inside the source", key(k))
            }
            Why::KeyInsideTarget(k) => {
                format!("deny: rename would put entries under the rule {} inside the target", key(k))
            }
            Why::KeyInsideRemoved(op, k) => {
                format!("deny: {op} would remove the folder holding the rule {}", key(k))
            }
        }
    }
}

/// A set's names without the braces: `create`, `list, download`.
fn bare(p: PermSet) -> String {
    let s = p.to_string();
    s.trim_start_matches('{').trim_end_matches('}').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn glob(p: &str, s: &str) -> bool {
        match parse_component(p).unwrap().comp {
            Comp::Lit(l) => *l == *s,
            Comp::Glob(t) => glob_match(&t, s),
        }
    }

    #[test]
    fn glob_matcher() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "abc", true),
            ("a*", "abc", true),
            ("a*", "bac", false),
            ("*c", "abc", true),
            ("*b*", "abc", true),
            ("*b*", "ac", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("a**c", "ac", true),
            ("*ab", "aab", true),
            ("*aab", "aaab", true),
            ("?", "a", true),
            ("?", "", false),
            ("?", "é", true),
            ("??", "é", false),
            ("a?c", "abc", true),
            ("[abc]", "b", true),
            ("[abc]", "d", false),
            ("[!abc]", "d", true),
            ("[^abc]", "a", false),
            ("[a-z]x", "qx", true),
            ("[a-z]x", "Qx", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("[-a]", "-", true),
            ("x[0-9][0-9]", "x42", true),
            ("x[0-9][0-9]", "x4", false),
            ("report-*.pdf", "report-2024.pdf", true),
            ("report-*.pdf", "report-2024.pdfx", false),
            ("a\\b", "a\\b", true),
            ("]", "]", true),
        ];
        for &(p, s, want) in cases {
            assert_eq!(glob(p, s), want, "pattern {p:?} on {s:?}");
        }
    }

    #[test]
    fn pattern_counts() {
        let k = parse_key("/clients/*/in").unwrap();
        assert_eq!((k.depth, k.wild, k.lit, k.comps.is_some()), (3, 1, 9, true));
        let k = parse_key("/a/[abc]?x").unwrap();
        assert_eq!((k.depth, k.wild, k.lit), (2, 2, 2));
        let k = parse_key("/a/b").unwrap();
        assert!(k.comps.is_none());
        assert_eq!(parse_key("/").unwrap().depth, 0);
    }

    #[test]
    fn rule_new_rejections() {
        let bad: &[(&str, &str)] = &[
            ("", "absolute"),
            ("uploads", "absolute"),
            ("./uploads", "absolute"),
            ("/a/../b", ". or .."),
            ("/a/./b", ". or .."),
            ("/..", ". or .."),
            ("/a//b", "//"),
            ("//", "trailing slash"),
            ("/a/", "trailing slash"),
            ("/a\0b", "NUL"),
            ("/a/[bc", "unbalanced ["),
            ("/a/[", "unbalanced ["),
            ("/a/[]", "unbalanced ["),
            ("/a/[b/c]", "unbalanced ["),
            ("/a/[z-a]", "reversed"),
        ];
        for &(k, why) in bad {
            let e = Rule::new(k, Level::Read).unwrap_err();
            assert_eq!(e.field(), "path", "{k:?}");
            assert!(e.to_string().contains(why), "{k:?}: {e}");
        }
        let long = format!("/{}", "a".repeat(MAX_KEY_LEN));
        assert!(Rule::new(&long, Level::Read).is_err());
        for ok in ["/", "/a", "/a/b", "/*", "/a/*/c", "/a/[]]", "/a\\b", "/a]", "/[!x]?", "/..."] {
            assert!(Rule::new(ok, Level::Read).is_ok(), "{ok:?}");
        }
        assert!(Rule::new("/a/*", Level::Read).unwrap().is_pattern());
        assert!(!Rule::new("/a]", Level::Read).unwrap().is_pattern());
    }

    #[test]
    fn rule_deserialize_validates() {
        let r: Rule = serde_json_like(r#"/x"#);
        assert_eq!(r, Rule { path: "/x".into(), level: Level::Write });
    }

    /// serde_json is not a dependency; drive the derived impl through serde's value deserializer.
    fn serde_json_like(path: &str) -> Rule {
        use serde::de::value::{Error, MapDeserializer};
        use serde::Deserialize;
        let entries = vec![("path", path), ("level", "write")];
        Rule::deserialize(MapDeserializer::<_, Error>::new(entries.into_iter())).unwrap()
    }

    #[test]
    fn rule_deserialize_rejects() {
        use serde::de::value::{Error, MapDeserializer};
        use serde::Deserialize;
        let entries = vec![("path", "relative"), ("level", "write")];
        let e = Rule::deserialize(MapDeserializer::<_, Error>::new(entries.into_iter())).unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
    }

    #[test]
    fn level_parse_and_display() {
        for l in Level::ALL {
            assert_eq!(l.to_string().parse::<Level>().unwrap(), l);
        }
        let e = "Write".parse::<Level>().unwrap_err();
        assert_eq!(e.field(), "level");
        assert!(e.to_string().contains("none, list, read, upload, write"), "{e}");
        assert!("".parse::<Level>().is_err());
        assert_eq!(Level::Upload.perms(), PermSet::LIST.union(PermSet::CREATE));
        assert_eq!(Level::Read.perms().level_name(), Some(Level::Read));
        assert_eq!(PermSet::LIST.union(PermSet::DOWNLOAD).union(PermSet::CREATE).level_name(), None);
    }

    #[test]
    fn mode_parse_and_display() {
        assert_eq!("r".parse::<Mode>().unwrap(), Mode::R);
        assert_eq!("rw".parse::<Mode>().unwrap(), Mode::Rw);
        assert_eq!(Mode::Rw.to_string(), "rw");
        for bad in ["", "w", "RW", "read"] {
            let e = bad.parse::<Mode>().unwrap_err();
            assert_eq!(e.field(), "mode");
            assert!(e.to_string().contains("r or rw"), "{e}");
        }
    }

    #[test]
    fn op_parse_and_display() {
        for o in Op::ALL {
            assert_eq!(o.to_string().parse::<Op>().unwrap(), o);
        }
        let e = "chmod".parse::<Op>().unwrap_err();
        assert_eq!(e.field(), "op");
        assert!(e.to_string().contains("setstat"), "{e}");
    }

    #[test]
    fn permset_display_and_ops() {
        assert_eq!(PermSet::EMPTY.to_string(), "{}");
        assert_eq!(Level::Read.perms().to_string(), "{list, download}");
        assert_eq!(PermSet::ALL.to_string(), "{list, download, create, overwrite, mkdir, rename, delete}");
        assert!(PermSet::ALL.contains(PermSet::DELETE));
        assert!(!Level::Upload.perms().contains(PermSet::DOWNLOAD));
        assert_eq!(PermSet::ALL.without(PermSet::ALL), PermSet::EMPTY);
        assert_eq!(PermSet::ALL.intersect(PermSet::LIST), PermSet::LIST);
        assert_eq!(PermSet::default(), PermSet::EMPTY);
    }

    #[test]
    fn invalid_hand_built_rule_fails_closed() {
        let rules = [Rule { path: "/a/".into(), level: Level::None }, Rule { path: "/".into(), level: Level::Write }];
        let p = Policy::new(&rules, &[], Mode::Rw, true);
        assert!(p.invalid_rule().is_some());
        let d = p.decide(&Request::new(Op::Upload, "/x"));
        assert!(!d.allowed);
        assert!(d.explain(&p).contains("trailing slash"), "{}", d.explain(&p));
        assert!(p.visible("/"));
        assert!(!p.visible("/x"));
        assert_eq!(p.rule_of("/x").perms, PermSet::EMPTY);
    }

    #[test]
    fn effective_display() {
        let rules = [Rule::new("/up", Level::Write).unwrap()];
        let p = Policy::new(&rules, &[], Mode::R, true);
        assert_eq!(p.rule_of("/up/x").to_string(), "/up → write (user rule), capped to {list, download}");
        assert_eq!(p.rule_of("/other").to_string(), "no matching rule: mode r");
        assert!(!p.has_no_rules());
    }
}
