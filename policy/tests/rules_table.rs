//! The table-driven suite for the permission rule (DESIGN, "The permission rule").
//!
//! Each row gives a rule set (user keys and group keys), the user's mode and delete flag, a
//! request as a client would send it (canonicalised here with `path::canonicalize` against the
//! row's cwd, exactly as an enforcement point does), and the expected outcome: allow, deny,
//! hidden (deny answered as "no such file") or a canonicalisation error; some rows also pin a
//! substring of `Decision::explain`. A second table covers the IP decision of step 8.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_policy::ip::{decide_ip, parse_addr, parse_net, IpLists};
use gatehouse_policy::path::canonicalize;
use gatehouse_policy::rules::{GroupRules, Level, Mode, Op, PermSet, Policy, Request, Rule, Source};

type Keys = &'static [(&'static str, &'static str)];

/// A rule set: the user's keys and each group's keys.
struct Fx {
    user: Keys,
    groups: &'static [(&'static str, Keys)],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Allowed.
    A,
    /// Denied ("permission denied").
    D,
    /// Denied and hidden ("no such file").
    H,
    /// The path is rejected by canonicalisation.
    E,
}
use Want::{A, D, E, H};

struct Case {
    fx: &'static Fx,
    mode: &'static str,
    del: bool,
    cwd: &'static str,
    /// `op path [to] [exists]`
    req: &'static str,
    want: Want,
    explain: &'static str,
}

/// A row with cwd `/`.
fn c(fx: &'static Fx, mode: &'static str, del: bool, req: &'static str, want: Want, explain: &'static str) -> Case {
    Case { fx, mode, del, cwd: "/", req, want, explain }
}

impl Case {
    fn at(mut self, cwd: &'static str) -> Case {
        self.cwd = cwd;
        self
    }
}

fn rules(keys: Keys) -> Vec<Rule> {
    keys.iter().map(|(k, l)| Rule::new(k, l.parse::<Level>().unwrap()).unwrap()).collect()
}

fn policy(fx: &Fx, mode: &str, del: bool) -> Policy {
    let user = rules(fx.user);
    let group_rules: Vec<(&str, Vec<Rule>)> = fx.groups.iter().map(|(g, k)| (*g, rules(k))).collect();
    let groups: Vec<GroupRules<'_>> = group_rules.iter().map(|(g, r)| GroupRules { group: g, rules: r }).collect();
    Policy::new(&user, &groups, mode.parse::<Mode>().unwrap(), del)
}

// ------------------------------------------------------------------------------------------------
// Rule sets
// ------------------------------------------------------------------------------------------------

/// The DESIGN example plus a none folder and a top-level drop box.
static BASIC: Fx = Fx {
    user: &[
        ("/", "read"),
        ("/uploads", "write"),
        ("/uploads/secret", "none"),
        ("/drop", "upload"),
        ("/clients/*/in", "upload"),
    ],
    groups: &[],
};

/// Precedence among keys of one depth.
static PREC: Fx = Fx {
    user: &[
        ("/", "write"),
        ("/p/exact", "read"),
        ("/p/*", "write"),
        ("/p/e*", "upload"),
        ("/p/ex*", "list"),
        ("/p/?xa*", "none"),
        ("/q/*", "read"),
        ("/q/a?c?e", "write"),
        ("/t/a?", "write"),
        ("/t/?b", "read"),
    ],
    groups: &[],
};

/// Precedence across depths.
static DEPTH: Fx = Fx {
    user: &[
        ("/", "write"),
        ("/a", "read"),
        ("/a/b/*", "upload"),
        ("/x/y", "read"),
        ("/x/*/z", "write"),
        ("/m/*", "write"),
        ("/m/k/l", "read"),
    ],
    groups: &[],
};

/// `/*` captures every top-level entry.
static STAR: Fx = Fx { user: &[("/", "write"), ("/*", "read")], groups: &[] };

/// `*`, `?` and `[..]`.
static GLOB: Fx = Fx {
    user: &[
        ("/", "read"),
        ("/g/a*", "write"),
        ("/g/v?", "write"),
        ("/g/log[0-9]", "write"),
        ("/g/[!a-m]*", "upload"),
        ("/g/[^n-z]x", "none"),
        ("/k/*/c", "write"),
        ("/s*t", "write"),
    ],
    groups: &[],
};

/// The root itself is `none`.
static ROOT_NONE: Fx = Fx { user: &[("/", "none"), ("/uploads", "write")], groups: &[] };

/// A reachable folder inside a hidden one.
static NESTED: Fx = Fx { user: &[("/", "write"), ("/a", "none"), ("/a/b", "write")], groups: &[] };

/// Rules inside folders, for step 5.
static MOVES: Fx = Fx {
    user: &[
        ("/", "write"),
        ("/proj/locked", "none"),
        ("/proj/box", "upload"),
        ("/a", "write"),
        ("/b", "write"),
        ("/t/inner", "read"),
        ("/pub*", "write"),
    ],
    groups: &[],
};

/// A pattern key that could match inside any top-level folder.
static PAT_INSIDE: Fx = Fx { user: &[("/", "write"), ("/*/in", "upload")], groups: &[] };

/// The DESIGN `check` example: the drop boxes come from a group.
static ACME: Fx =
    Fx { user: &[("/", "read")], groups: &[("acme", &[("/clients/*/in", "upload"), ("/clients", "write")])] };

/// The same key in two groups.
static UNION: Fx =
    Fx { user: &[], groups: &[("g1", &[("/shared", "read"), ("/", "list")]), ("g2", &[("/shared", "upload")])] };

/// A user key beats a group key; a deeper group key still beats a shallower user key.
static USER_BEATS: Fx = Fx {
    user: &[("/shared", "read"), ("/", "write")],
    groups: &[("g1", &[("/shared", "write")]), ("g2", &[("/deep/x", "none")])],
};

/// No rules at all.
static EMPTY: Fx = Fx { user: &[], groups: &[] };

/// Rules, but no `/` key.
static NO_ROOT_KEY: Fx = Fx { user: &[("/uploads", "upload")], groups: &[] };

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        // --- the basic map: write folder, none folder inside it, drop boxes -------------------
        c(&BASIC, "rw", true, "download /readme.txt", A, "allow: / → read (user rule): download needs download"),
        c(&BASIC, "rw", true, "upload /new.txt", D, "deny: / → read (user rule): upload needs upload or write"),
        c(&BASIC, "rw", true, "upload /uploads/a.txt", A, "allow: /uploads → write (user rule): upload needs create"),
        c(&BASIC, "rw", true, "overwrite /uploads/a.txt", A, ""),
        c(&BASIC, "rw", true, "delete /uploads/a.txt", A, ""),
        c(&BASIC, "rw", true, "mkdir /uploads/sub", A, ""),
        c(&BASIC, "rw", true, "rmdir /uploads/sub", A, ""),
        c(&BASIC, "rw", true, "rename /uploads/a.txt /uploads/b.txt", A, ""),
        c(&BASIC, "rw", true, "rename /uploads/a.txt /uploads/sub/a.txt", A, ""),
        c(&BASIC, "rw", true, "list /uploads", A, ""),
        // none inside write: absent, every request on it answered as no-such-file
        c(&BASIC, "rw", true, "list /uploads/secret", H, "/uploads/secret → none (user rule): the entry does not exist"),
        c(&BASIC, "rw", true, "stat /uploads/secret", H, ""),
        c(&BASIC, "rw", true, "download /uploads/secret/x", H, ""),
        c(&BASIC, "rw", true, "upload /uploads/secret/x", H, "/uploads/secret → none (user rule): the entry does not exist"),
        c(&BASIC, "rw", true, "mkdir /uploads/secret", H, ""),
        c(&BASIC, "rw", true, "mkdir /uploads/secret/sub", H, ""),
        c(&BASIC, "rw", true, "rmdir /uploads/secret", H, ""),
        c(&BASIC, "rw", true, "delete /uploads/secret", H, ""),
        c(&BASIC, "rw", true, "setstat /uploads/secret", H, ""),
        c(&BASIC, "rw", true, "rename /uploads/secret /uploads/open", H, ""),
        c(&BASIC, "rw", true, "rename /uploads/a.txt /uploads/secret/a.txt", H, ""),
        c(&BASIC, "rw", true, "rename /uploads/a.txt /uploads/secret", D, "rename would move it out from under its rule"),
        c(&BASIC, "rw", true, "stat /uploads/other", A, "allow: /uploads → write (user rule): stat needs list"),
        // the top-level drop box: create yes, overwrite/download/delete no, list yes
        c(&BASIC, "rw", true, "upload /drop/report.pdf", A, "allow: /drop → upload (user rule): upload needs create"),
        c(&BASIC, "rw", true, "overwrite /drop/report.pdf", D, "deny: /drop → upload (user rule): overwrite needs write"),
        c(&BASIC, "rw", true, "download /drop/report.pdf", D, "download needs read or write"),
        c(&BASIC, "rw", true, "delete /drop/report.pdf", D, "delete needs write"),
        c(&BASIC, "rw", true, "setstat /drop/report.pdf", D, ""),
        c(&BASIC, "rw", true, "mkdir /drop/sub", D, ""),
        c(&BASIC, "rw", true, "rename /drop/a /drop/b", D, "rename needs write"),
        c(&BASIC, "rw", true, "list /drop", A, ""),
        c(&BASIC, "rw", true, "stat /drop/report.pdf", A, ""),
        c(&BASIC, "rw", true, "rmdir /drop", D, "deny: / → read (user rule): rmdir needs write"),
        // a pattern drop box governs its whole subtree
        c(&BASIC, "rw", true, "upload /clients/acme/in/f.csv", A, "allow: /clients/*/in → upload (user rule)"),
        c(&BASIC, "rw", true, "upload /clients/acme/in/sub/deep/f.csv", A, "/clients/*/in → upload"),
        c(&BASIC, "rw", true, "download /clients/acme/in/f.csv", D, ""),
        c(&BASIC, "rw", true, "upload /clients/acme/out/f.csv", D, "deny: / → read (user rule)"),
        // mode r over the same map: a drop box becomes list-only
        c(&BASIC, "r", true, "upload /drop/report.pdf", D, "deny: mode r: upload needs create"),
        c(&BASIC, "r", true, "list /drop", A, ""),
        c(&BASIC, "r", true, "stat /drop/report.pdf", A, ""),
        c(&BASIC, "r", true, "download /drop/report.pdf", D, "deny: /drop → upload (user rule): download needs read or write"),
        c(&BASIC, "r", true, "upload /uploads/a.txt", D, "deny: mode r: upload needs create"),
        c(&BASIC, "r", true, "download /uploads/a.txt", A, ""),
        c(&BASIC, "r", true, "delete /uploads/a.txt", D, "deny: mode r: delete needs delete"),
        c(&BASIC, "r", true, "list /uploads/secret", H, ""),
        // delete_allowed=false: nothing existing can be destroyed, new files still can be created
        c(&BASIC, "rw", false, "upload /uploads/new.txt", A, ""),
        c(&BASIC, "rw", false, "overwrite /uploads/a.txt", D, "deny: delete_allowed=false: overwrite needs overwrite"),
        c(&BASIC, "rw", false, "setstat /uploads/a.txt", D, "deny: delete_allowed=false: setstat needs overwrite"),
        c(&BASIC, "rw", false, "delete /uploads/a.txt", D, "deny: delete_allowed=false: delete needs delete"),
        c(&BASIC, "rw", false, "rmdir /uploads/sub", D, "delete_allowed=false"),
        c(&BASIC, "rw", false, "rename /uploads/a.txt /uploads/b.txt exists", D, "delete_allowed=false: a rename that replaces"),
        c(&BASIC, "rw", false, "rename /uploads/a.txt /uploads/b.txt", A, ""),
        c(&BASIC, "rw", false, "mkdir /uploads/sub", A, ""),
        c(&BASIC, "rw", false, "download /uploads/a.txt", A, ""),
        c(&BASIC, "rw", true, "rename /uploads/a.txt /uploads/b.txt exists", A, ""),
        // --- canonicalisation at the door ---------------------------------------------------
        c(&BASIC, "rw", true, "upload new.txt", A, "").at("/uploads"),
        c(&BASIC, "rw", true, "upload ./sub/../new.txt", A, "").at("/uploads"),
        c(&BASIC, "rw", true, "download report.pdf", D, "").at("/drop"),
        c(&BASIC, "rw", true, "upload ../../../../uploads/f", A, "").at("/drop"),
        c(&BASIC, "rw", true, "download ../secret/x", H, "").at("/uploads/sub"),
        c(&BASIC, "rw", true, "download ../../secret/x", A, "").at("/uploads/sub"),
        c(&BASIC, "rw", true, "download /../../uploads/secret/x", H, ""),
        c(&BASIC, "rw", true, "upload //uploads//new.txt", A, ""),
        c(&BASIC, "rw", true, "upload /uploads/./new.txt/", A, ""),
        c(&BASIC, "rw", true, "upload /uploads/a\0b", E, ""),
        c(&BASIC, "rw", true, "download /uploads/secret\\x", A, ""),
        c(&BASIC, "rw", true, "upload /drop\\..\\uploads\\f", D, "deny: / → read"),
        c(&BASIC, "rw", true, "list .", A, "").at("/uploads"),
        c(&BASIC, "rw", true, "list ..", A, "").at("/uploads/secret"),
        // --- precedence at one depth ---------------------------------------------------------
        c(&PREC, "rw", true, "download /p/exact/f", A, "/p/exact → read"),
        c(&PREC, "rw", true, "upload /p/exact/f", D, "deny: /p/exact → read (user rule): upload needs upload or write"),
        c(&PREC, "rw", true, "upload /p/exam/f", D, "deny: /p/ex* → list (user rule)"),
        c(&PREC, "rw", true, "list /p/exam", A, "/p/ex* → list"),
        c(&PREC, "rw", true, "upload /p/eggs/f", A, "/p/e* → upload"),
        c(&PREC, "rw", true, "download /p/eggs/f", D, ""),
        c(&PREC, "rw", true, "upload /p/other/f", A, "/p/* → write"),
        c(&PREC, "rw", true, "list /p/axam", A, "/p/* → write"),
        c(&PREC, "rw", true, "upload /q/abcde/f", D, "deny: /q/* → read"),
        c(&PREC, "rw", true, "upload /t/ab/f", D, "deny: /t/?b → read"),
        c(&PREC, "rw", true, "upload /t/ac/f", A, "/t/a? → write"),
        c(&PREC, "rw", true, "upload /t/xb/f", D, "/t/?b → read"),
        // --- precedence across depths --------------------------------------------------------
        c(&DEPTH, "rw", true, "upload /a/b/c/new", A, "allow: /a/b/* → upload (user rule): upload needs create"),
        c(&DEPTH, "rw", true, "download /a/b/c/f", D, "/a/b/* → upload"),
        c(&DEPTH, "rw", true, "upload /a/b/c/d/e/new", A, "/a/b/* → upload"),
        c(&DEPTH, "rw", true, "download /a/b/f", A, "allow: /a → read (user rule)"),
        c(&DEPTH, "rw", true, "upload /a/b/f", D, "deny: /a → read (user rule)"),
        c(&DEPTH, "rw", true, "upload /a/new", D, "/a → read"),
        c(&DEPTH, "rw", true, "upload /x/y/z/f", A, "/x/*/z → write"),
        c(&DEPTH, "rw", true, "upload /x/y/f", D, "/x/y → read"),
        c(&DEPTH, "rw", true, "upload /m/k/l/f", D, "/m/k/l → read"),
        c(&DEPTH, "rw", true, "upload /m/k/f", A, "/m/* → write"),
        c(&DEPTH, "rw", true, "upload /new", A, "/ → write"),
        // --- /* captures every top-level entry -------------------------------------------------
        c(&STAR, "rw", true, "upload /file", A, "/ → write"),
        c(&STAR, "rw", true, "upload /docs/f", D, "/* → read"),
        c(&STAR, "rw", true, "mkdir /docs/sub", D, ""),
        c(&STAR, "rw", true, "upload /docs/a/b/c/f", D, "/* → read"),
        c(&STAR, "rw", true, "download /docs/a/b/f", A, ""),
        c(&STAR, "rw", true, "rmdir /docs", D, "deny: /* → read (user rule): rmdir needs write"),
        c(&STAR, "rw", true, "delete /file", D, "/* → read"),
        // --- *, ? and [..], never across / ---------------------------------------------------
        c(&GLOB, "rw", true, "download /g/v1/f", A, "/g/v? → write"),
        c(&GLOB, "rw", true, "upload /g/v1/f", A, "/g/v? → write"),
        c(&GLOB, "rw", true, "download /g/v10/f", D, "/g/[!a-m]* → upload"),
        c(&GLOB, "rw", true, "upload /g/v/f", A, "/g/[!a-m]* → upload"),
        c(&GLOB, "rw", true, "upload /g/log5/f", A, "/g/log[0-9] → write"),
        c(&GLOB, "rw", true, "upload /g/logx/f", D, "deny: / → read"),
        c(&GLOB, "rw", true, "upload /g/abc/f", A, "/g/a* → write"),
        c(&GLOB, "rw", true, "list /g/ax", H, "/g/[^n-z]x → none"),
        c(&GLOB, "rw", true, "download /g/bx/f", H, ""),
        c(&GLOB, "rw", true, "upload /g/ox/f", A, "/g/[!a-m]* → upload"),
        c(&GLOB, "rw", true, "upload /k/b/c/f", A, "/k/*/c → write"),
        c(&GLOB, "rw", true, "upload /k/b/x/c/f", D, "deny: / → read"),
        c(&GLOB, "rw", true, "upload /s/t/f", D, "deny: / → read"),
        c(&GLOB, "rw", true, "upload /sxt/f", A, "/s*t → write"),
        c(&GLOB, "rw", true, "upload /st/f", A, "/s*t → write"),
        // --- a none root: / stays visible and listable, stat of a child needs nothing more -----
        c(&ROOT_NONE, "rw", true, "list /", A, "root folder is always visible"),
        c(&ROOT_NONE, "rw", true, "stat /", A, ""),
        c(&ROOT_NONE, "rw", true, "stat /uploads", A, ""),
        c(&ROOT_NONE, "rw", true, "stat /other", H, "/ → none (user rule)"),
        c(&ROOT_NONE, "rw", true, "list /other", H, ""),
        c(&ROOT_NONE, "rw", true, "upload /other", H, ""),
        c(&ROOT_NONE, "rw", true, "mkdir /newdir", H, ""),
        c(&ROOT_NONE, "rw", true, "download /other/f", H, ""),
        c(&ROOT_NONE, "rw", true, "upload /uploads/f", A, ""),
        c(&ROOT_NONE, "rw", true, "rename /uploads/f /f", D, "deny: / → none (user rule): rename needs write"),
        // --- stat needs list in the parent; a hidden parent hides ---------------------------
        c(&NESTED, "rw", true, "stat /a/b", H, "/a → none (user rule): its folder does not exist"),
        c(&NESTED, "rw", true, "list /a/b", A, ""),
        c(&NESTED, "rw", true, "upload /a/b/f", A, ""),
        c(&NESTED, "rw", true, "stat /a/b/f", A, "allow: /a/b → write (user rule): stat needs list"),
        c(&NESTED, "rw", true, "list /a", H, ""),
        c(&NESTED, "rw", true, "download /a/x", H, ""),
        c(&NESTED, "rw", true, "rmdir /a", H, ""),
        // --- step 5: moves and removals cannot change a rule ----------------------------------
        c(&MOVES, "rw", true, "rmdir /proj", D, "deny: rmdir would remove the folder holding the rule /proj/box → upload (user rule)"),
        c(&MOVES, "rw", true, "rename /proj /proj2", D, "rename would move entries out from under the rule /proj/box"),
        c(&MOVES, "rw", true, "rename /proj/box /proj/box2", D, "deny: /proj/box → upload (user rule): rename needs write"),
        c(&MOVES, "rw", true, "delete /proj/box/f", D, "/proj/box → upload"),
        c(&MOVES, "rw", true, "rename /proj/locked /proj/open", H, ""),
        c(&MOVES, "rw", true, "rmdir /proj/locked", H, ""),
        c(&MOVES, "rw", true, "rename /a/x /b/x", A, "allow: /a → write (user rule): rename needs rename"),
        c(&MOVES, "rw", true, "rename /a /c", A, "allow: / → write (user rule): rename needs rename"),
        c(&MOVES, "rw", true, "rename /a/x /a/y", A, ""),
        c(&MOVES, "rw", true, "rename /a/x /a/sub/x", A, ""),
        c(&MOVES, "rw", true, "rename /x /y", A, "allow: / → write (user rule): rename needs rename"),
        c(&MOVES, "rw", true, "rename /x /proj/x", A, ""),
        c(&MOVES, "rw", true, "rename /x /proj/locked", D, "the target would fall under /proj/locked → none"),
        c(&MOVES, "rw", true, "rename /x /t", D, "rename would put entries under the rule /t/inner → read (user rule) inside the target"),
        c(&MOVES, "rw", true, "rename /pub1 /pub2", A, ""),
        c(&MOVES, "rw", true, "rename /pub1 /other", A, ""),
        c(&MOVES, "rw", true, "rename /a/x /a/x/y", D, "inside itself"),
        c(&MOVES, "rw", true, "rename /a/x", D, "rename needs a target path"),
        c(&MOVES, "rw", true, "rename / /x", D, "rename of the root folder"),
        c(&MOVES, "rw", true, "rename /x /", D, "rename of the root folder"),
        c(&MOVES, "rw", true, "rmdir /", D, "rmdir of the root folder"),
        c(&MOVES, "rw", true, "mkdir /", D, ""),
        c(&MOVES, "rw", true, "rmdir /a/sub", A, ""),
        c(&PAT_INSIDE, "rw", true, "rmdir /acme", D, "rule /*/in → upload"),
        c(&PAT_INSIDE, "rw", true, "rename /acme /beta", D, "out from under the rule /*/in"),
        c(&PAT_INSIDE, "rw", true, "delete /file.txt", A, ""),
        c(&PAT_INSIDE, "rw", true, "rmdir /acme/sub", A, ""),
        c(&PAT_INSIDE, "rw", true, "rmdir /acme/in", D, "/*/in → upload (user rule): rmdir needs write"),
        // --- groups ------------------------------------------------------------------------
        c(&ACME, "rw", true, "delete /clients/acme/in/f.csv", D, "deny: /clients/*/in → upload (group acme): delete needs write"),
        c(&ACME, "rw", true, "upload /clients/acme/in/f.csv", A, "(group acme)"),
        c(&ACME, "rw", true, "upload /clients/acme/f.csv", A, "allow: /clients → write (group acme)"),
        c(&ACME, "rw", true, "rmdir /clients/acme", D, "would remove the folder holding the rule /clients/*/in"),
        c(&ACME, "r", true, "upload /clients/acme/f.csv", D, "deny: mode r: upload needs create"),
        c(&UNION, "rw", true, "download /shared/f", A, "/shared → {list, download, create} (groups g1, g2)"),
        c(&UNION, "rw", true, "upload /shared/f", A, ""),
        c(&UNION, "rw", true, "overwrite /shared/f", D, "needs write"),
        c(&UNION, "rw", true, "upload /other", D, "deny: / → list (group g1): upload needs upload or write"),
        c(&UNION, "rw", true, "download /other", D, ""),
        c(&USER_BEATS, "rw", true, "upload /shared/f", D, "deny: /shared → read (user rule)"),
        c(&USER_BEATS, "rw", true, "download /shared/f", A, ""),
        c(&USER_BEATS, "rw", true, "list /deep/x", H, "/deep/x → none (group g2)"),
        c(&USER_BEATS, "rw", true, "upload /deep/f", A, "/ → write (user rule)"),
        c(&USER_BEATS, "r", true, "upload /deep/f", D, "deny: mode r: upload needs create"),
        // --- no rules: the mode everywhere; no / key: the mode where nothing matches ----------
        c(&EMPTY, "rw", true, "upload /a/b/c/f", A, "allow: no matching rule: mode rw: upload needs create"),
        c(&EMPTY, "rw", true, "rmdir /a", A, ""),
        c(&EMPTY, "rw", true, "rename /a /b exists", A, ""),
        c(&EMPTY, "rw", true, "setstat /a", A, ""),
        c(&EMPTY, "r", true, "upload /a/f", D, "deny: mode r: upload needs create"),
        c(&EMPTY, "r", true, "mkdir /a", D, "deny: mode r: mkdir needs mkdir"),
        c(&EMPTY, "r", true, "download /a/f", A, "allow: no matching rule: mode r: download needs download"),
        c(&EMPTY, "r", true, "list /a", A, ""),
        c(&EMPTY, "rw", false, "overwrite /a/f", D, "deny: delete_allowed=false: overwrite needs overwrite"),
        c(&EMPTY, "rw", false, "upload /a/f", A, ""),
        c(&NO_ROOT_KEY, "rw", true, "upload /other/f", A, "no matching rule: mode rw"),
        c(&NO_ROOT_KEY, "rw", true, "overwrite /other/f", A, ""),
        c(&NO_ROOT_KEY, "rw", true, "download /uploads/f", D, "/uploads → upload"),
        c(&NO_ROOT_KEY, "r", true, "upload /other/f", D, "deny: mode r"),
        c(&NO_ROOT_KEY, "r", true, "download /other/f", A, ""),
        // --- links are never allowed ----------------------------------------------------------
        c(&EMPTY, "rw", true, "symlink /a/link", D, "deny: symlinks are never allowed"),
        c(&EMPTY, "rw", true, "hardlink /a/link", D, "deny: hardlinks are never allowed"),
        c(&BASIC, "rw", true, "symlink /uploads/link", D, "symlinks are never allowed"),
    ]
}

/// Parses `op path [to] [exists]` and canonicalises both paths against `cwd`.
fn run(case: &Case) -> Result<(Policy, gatehouse_policy::rules::Decision), String> {
    let mut words = case.req.split(' ');
    let op: Op = words.next().unwrap().parse().unwrap();
    let path = canonicalize(case.cwd, words.next().unwrap()).map_err(|e| e.to_string())?;
    let mut to = None;
    let mut exists = false;
    for w in words {
        if w == "exists" {
            exists = true;
        } else {
            to = Some(canonicalize(case.cwd, w).map_err(|e| e.to_string())?);
        }
    }
    let p = policy(case.fx, case.mode, case.del);
    let req = Request { op, path: &path, to: to.as_deref(), target_exists: exists };
    let d = p.decide(&req);
    Ok((p, d))
}

#[test]
fn permission_table() {
    let cases = cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let label = format!("#{i} [{} del={} cwd={}] {:?}", case.mode, case.del, case.cwd, case.req);
        match run(case) {
            Err(e) => {
                if case.want != E {
                    failures.push(format!("{label}: unexpected canonicalisation error {e}"));
                } else if !e.contains("path") {
                    failures.push(format!("{label}: error does not name the field: {e}"));
                }
            }
            Ok((p, d)) => {
                let got = match (d.allowed, d.hidden) {
                    (true, false) => A,
                    (false, false) => D,
                    (false, true) => H,
                    (true, true) => {
                        failures.push(format!("{label}: allowed and hidden at once"));
                        continue;
                    }
                };
                let text = d.explain(&p);
                if got != case.want {
                    failures.push(format!("{label}: want {:?}, got {got:?} ({text})", case.want));
                } else if !text.contains(case.explain) {
                    failures.push(format!("{label}: explain {text:?} lacks {:?}", case.explain));
                } else if !text.starts_with(if d.allowed { "allow: " } else { "deny: " }) {
                    failures.push(format!("{label}: explain {text:?} has the wrong prefix"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn visibility_and_rule_of() {
    let p = policy(&BASIC, "rw", true);
    assert!(p.visible("/"));
    assert!(p.visible("/uploads"));
    assert!(!p.visible("/uploads/secret"));
    assert!(!p.visible("/uploads/secret/deep/x"));
    assert!(p.visible("/uploads/secrets"));

    let e = p.rule_of("/uploads/secret/x");
    assert_eq!(e.perms, PermSet::EMPTY);
    assert_eq!(e.source, Source::User { key: "/uploads/secret".into(), level: Level::None });
    let e = p.rule_of("/clients/acme/in/x");
    assert_eq!(e.perms, Level::Upload.perms());
    assert_eq!(e.to_string(), "/clients/*/in → upload (user rule)");

    let p = policy(&ROOT_NONE, "rw", true);
    assert!(p.visible("/"));
    assert!(!p.visible("/x"));
    assert_eq!(p.rule_of("/").perms, PermSet::EMPTY);

    let p = policy(&EMPTY, "r", false);
    let e = p.rule_of("/anything");
    assert_eq!(e.source, Source::Mode(Mode::R));
    assert_eq!(e.perms, Level::Read.perms());
    assert_eq!(e.to_string(), "no matching rule: mode r");
    assert!(p.has_no_rules());

    let p = policy(&UNION, "rw", false);
    let e = p.rule_of("/shared");
    assert_eq!(
        e.source,
        Source::Group {
            key: "/shared".into(),
            groups: vec!["g1".into(), "g2".into()],
            perms: Level::Read.perms().union(Level::Upload.perms()),
        }
    );
    assert_eq!(e.perms, Level::Read.perms().union(Level::Upload.perms()));

    // The mode cap applies to group rules too.
    let p = policy(&ACME, "r", true);
    assert_eq!(p.rule_of("/clients/x").perms, Level::Read.perms());
    assert_eq!(p.rule_of("/clients/x").to_string(), "/clients → write (group acme), capped to {list, download}");
}

/// The listing filter a server applies: entries of a visible folder, minus the invisible ones.
#[test]
fn listing_filter() {
    let p = policy(&BASIC, "rw", true);
    let entries = ["a.txt", "secret", "secret2", "sub"];
    let shown: Vec<&str> = entries.iter().copied().filter(|n| p.visible(&format!("/uploads/{n}"))).collect();
    assert_eq!(shown, ["a.txt", "secret2", "sub"]);
}

#[test]
fn canonicalize_table() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("/", "/a/../../b", Some("/b")),
        ("/x/y", "../../../..", Some("/")),
        ("/x", "a//b///c", Some("/x/a/b/c")),
        ("/x", "./.", Some("/x")),
        ("/x", "", Some("/x")),
        ("/x", "/", Some("/")),
        ("/x", "a\\..\\b", Some("/x/a\\..\\b")),
        ("/x", "a/\0", None),
    ];
    for &(cwd, p, want) in cases {
        assert_eq!(canonicalize(cwd, p).ok().as_deref(), want, "cwd={cwd:?} path={p:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// IP decisions (step 8)
// ------------------------------------------------------------------------------------------------

struct IpCase {
    user_allow: &'static [&'static str],
    user_deny: &'static [&'static str],
    /// (group, allow, deny)
    groups: &'static [(&'static str, &'static [&'static str], &'static [&'static str])],
    rhost: &'static str,
    allowed: bool,
    reason: &'static str,
}

fn nets(field: &'static str, v: &[&str]) -> Vec<ipnet::IpNet> {
    v.iter().map(|s| parse_net(field, s).unwrap()).collect()
}

#[rustfmt::skip]
const IP_CASES: &[IpCase] = &[
    IpCase { user_allow: &[], user_deny: &[], groups: &[], rhost: "192.0.2.7", allowed: true, reason: "no allowed_ips restrict" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[], rhost: "192.0.2.7", allowed: true, reason: "allowed: 192.0.2.7 is in allowed_ips 192.0.2.0/24 of user" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[], rhost: "198.51.100.1", allowed: false, reason: "denied: 198.51.100.1 is not in the allowed_ips of user" },
    IpCase { user_allow: &["192.0.2.7"], user_deny: &[], groups: &[], rhost: "192.0.2.7", allowed: true, reason: "192.0.2.7/32" },
    IpCase { user_allow: &["192.0.2.7"], user_deny: &[], groups: &[], rhost: "192.0.2.8", allowed: false, reason: "" },
    IpCase { user_allow: &["2001:db8::/32"], user_deny: &[], groups: &[], rhost: "2001:db8::5", allowed: true, reason: "2001:db8::/32" },
    IpCase { user_allow: &["2001:db8::/32"], user_deny: &[], groups: &[], rhost: "2001:db9::1", allowed: false, reason: "" },
    IpCase { user_allow: &["2001:db8::1"], user_deny: &[], groups: &[], rhost: "[2001:db8::1]", allowed: true, reason: "2001:db8::1/128" },
    IpCase { user_allow: &["fe80::/10"], user_deny: &[], groups: &[], rhost: "fe80::1%eth0", allowed: true, reason: "" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[], rhost: "::ffff:192.0.2.7", allowed: true, reason: "192.0.2.7 is in allowed_ips" },
    IpCase { user_allow: &["::ffff:192.0.2.0/120"], user_deny: &[], groups: &[], rhost: "192.0.2.9", allowed: true, reason: "192.0.2.0/24" },
    IpCase { user_allow: &["2001:db8::/32"], user_deny: &[], groups: &[], rhost: "192.0.2.7", allowed: false, reason: "" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &["192.0.2.7"], groups: &[], rhost: "192.0.2.7", allowed: false, reason: "denied: 192.0.2.7 is in denied_ips 192.0.2.7/32 of user" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &["192.0.2.7"], groups: &[], rhost: "192.0.2.8", allowed: true, reason: "" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[("g", &[], &["192.0.2.0/25"])], rhost: "192.0.2.7", allowed: false, reason: "denied_ips 192.0.2.0/25 of group g" },
    IpCase { user_allow: &[], user_deny: &["::ffff:192.0.2.0/120"], groups: &[], rhost: "::ffff:192.0.2.7", allowed: false, reason: "denied_ips 192.0.2.0/24" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[("g", &["198.51.100.0/24"], &[])], rhost: "198.51.100.5", allowed: true, reason: "allowed_ips 198.51.100.0/24 of group g" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[("g", &["198.51.100.0/24"], &[])], rhost: "203.0.113.1", allowed: false, reason: "not in the allowed_ips of user, group g" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[("open", &[], &[])], rhost: "203.0.113.1", allowed: false, reason: "not in the allowed_ips of user" },
    IpCase { user_allow: &[], user_deny: &[], groups: &[("g", &["192.0.2.0/24"], &[])], rhost: "203.0.113.1", allowed: false, reason: "of group g" },
    IpCase { user_allow: &[], user_deny: &["198.51.100.0/24"], groups: &[], rhost: "192.0.2.1", allowed: true, reason: "" },
    IpCase { user_allow: &["192.0.2.0/24"], user_deny: &[], groups: &[], rhost: "client.example.com", allowed: false, reason: "host name" },
    IpCase { user_allow: &[], user_deny: &["198.51.100.0/24"], groups: &[], rhost: "client.example.com", allowed: false, reason: "fail closed" },
    IpCase { user_allow: &[], user_deny: &[], groups: &[("g", &["192.0.2.0/24"], &[])], rhost: "localhost", allowed: false, reason: "group g has IP rules" },
    IpCase { user_allow: &[], user_deny: &[], groups: &[("g", &[], &[])], rhost: "client.example.com", allowed: true, reason: "no IP rules" },
];

#[test]
fn ip_table() {
    let mut failures = Vec::new();
    for (i, case) in IP_CASES.iter().enumerate() {
        let ua = nets("allowed_ips", case.user_allow);
        let ud = nets("denied_ips", case.user_deny);
        let gs: Vec<(String, Vec<ipnet::IpNet>, Vec<ipnet::IpNet>)> = case
            .groups
            .iter()
            .map(|(g, a, d)| (format!("group {g}"), nets("allowed_ips", a), nets("denied_ips", d)))
            .collect();
        let mut lists = vec![IpLists { owner: "user", allow: &ua, deny: &ud }];
        lists.extend(gs.iter().map(|(o, a, d)| IpLists { owner: o, allow: a, deny: d }));
        let d = decide_ip(parse_addr(case.rhost), &lists);
        if d.allowed != case.allowed || !d.reason.contains(case.reason) {
            failures.push(format!(
                "ip #{i} {}: want {} / {:?}, got {} / {:?}",
                case.rhost, case.allowed, case.reason, d.allowed, d.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------------------------------------
// Cross-check of the lookup (step 2) against a slow, independent reference on random rule sets
// ------------------------------------------------------------------------------------------------

/// Pattern tokens with their (wildcard, literal) counts, so the reference does not reuse the
/// crate's parser.
const TOKS: &[(&str, u32, u32)] = &[("a", 0, 1), ("b", 0, 1), ("*", 1, 0), ("?", 1, 0), ("[ab]", 1, 0), ("[!a]", 1, 0)];
const NAMES: &[&str] = &["a", "b", "ab", "ba", "aa", "bab"];

struct RefKey {
    comps: Vec<Vec<&'static str>>,
    wild: u32,
    lit: u32,
    key: String,
    level: Level,
}

fn ref_glob(toks: &[&str], s: &[char]) -> bool {
    match toks.first() {
        None => s.is_empty(),
        Some(&"*") => ref_glob(&toks[1..], s) || (!s.is_empty() && ref_glob(toks, &s[1..])),
        Some(&"?") => !s.is_empty() && ref_glob(&toks[1..], &s[1..]),
        Some(&"[ab]") => matches!(s.first(), Some('a') | Some('b')) && ref_glob(&toks[1..], &s[1..]),
        Some(&"[!a]") => s.first().is_some_and(|&c| c != 'a') && ref_glob(&toks[1..], &s[1..]),
        Some(lit) => {
            let l: Vec<char> = lit.chars().collect();
            s.starts_with(&l) && ref_glob(&toks[1..], &s[l.len()..])
        }
    }
}

fn ref_lookup(keys: &[RefKey], path: &str, default: Level) -> Level {
    let parts: Vec<Vec<char>> = path.split('/').filter(|p| !p.is_empty()).map(|p| p.chars().collect()).collect();
    for d in (0..=parts.len()).rev() {
        let best = keys
            .iter()
            .filter(|k| k.comps.len() == d && k.comps.iter().zip(&parts).all(|(c, p)| ref_glob(c, p)))
            .min_by(|x, y| {
                (x.wild > 0, x.wild, std::cmp::Reverse(x.lit), &x.key).cmp(&(
                    y.wild > 0,
                    y.wild,
                    std::cmp::Reverse(y.lit),
                    &y.key,
                ))
            });
        if let Some(k) = best {
            return k.level;
        }
    }
    default
}

#[test]
fn lookup_matches_reference_on_random_rule_sets() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let (mut checked, mut by_pattern) = (0, 0);
    for _round in 0..300 {
        let mut keys: Vec<RefKey> = Vec::new();
        for _ in 0..rnd(12) + 1 {
            let depth = rnd(4);
            let mut comps = Vec::new();
            let (mut wild, mut lit) = (0, 0);
            for _ in 0..depth {
                let mut comp = Vec::new();
                for _ in 0..rnd(3) + 1 {
                    let (t, w, l) = TOKS[rnd(TOKS.len())];
                    comp.push(t);
                    wild += w;
                    lit += l;
                }
                comps.push(comp);
            }
            let key = if comps.is_empty() {
                "/".to_owned()
            } else {
                comps.iter().map(|c| format!("/{}", c.concat())).collect()
            };
            if keys.iter().any(|k| k.key == key) {
                continue;
            }
            keys.push(RefKey { comps, wild, lit, key, level: Level::ALL[rnd(5)] });
        }
        let user: Vec<Rule> = keys.iter().map(|k| Rule::new(&k.key, k.level).unwrap()).collect();
        let p = Policy::new(&user, &[], Mode::Rw, true);
        for _ in 0..40 {
            let path: String = (0..rnd(5)).map(|_| format!("/{}", NAMES[rnd(NAMES.len())])).collect();
            let path = if path.is_empty() { "/".to_owned() } else { path };
            let want = ref_lookup(&keys, &path, Level::Write).perms();
            let got = p.rule_of(&path);
            assert_eq!(
                got.perms,
                want,
                "path {path} keys {:?}: got {got}",
                keys.iter().map(|k| (&k.key, k.level)).collect::<Vec<_>>()
            );
            assert_eq!(p.visible(&path), path == "/" || !want.is_empty());
            checked += 1;
            by_pattern += usize::from(got.source.to_string().contains(['*', '?', '[']));
        }
    }
    assert_eq!(checked, 300 * 40);
    assert!(by_pattern > checked / 10, "only {by_pattern} of {checked} lookups were decided by a pattern");
}
