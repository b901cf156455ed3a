//! Throughput of `Policy::decide` for a user with 50 rules (exact and wildcard keys mixed, paths
//! 3–6 components deep), printed next to a naive matcher for scale: a linear scan that, for every
//! ancestor of the path, splits it into a fresh `Vec` and tries every rule with a recursive glob.
//!
//! Run with `cargo bench -p gatehouse-policy --bench rules`. No harness, no criterion: one warm-up
//! pass, then a timed loop over a fixed mix of requests, `std::hint::black_box` around inputs and
//! results. The naive matcher must agree with the policy on every request of the mix, so the two
//! figures compare the same work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use gatehouse_policy::path;
use gatehouse_policy::rules::{GroupRules, Level, Mode, Op, PermSet, Policy, Request, Rule};

const DECISIONS: usize = 4_000_000;
const NAIVE_DECISIONS: usize = 400_000;

/// 50 keys: 30 exact, 20 patterns, at depths 0–4; 40 for the user, 10 from two groups.
fn rule_set() -> (Vec<Rule>, Vec<(String, Vec<Rule>)>) {
    let mut user: Vec<(String, Level)> = vec![("/".into(), Level::Read)];
    for i in 0..12 {
        user.push((format!("/projects/p{i}"), if i % 3 == 0 { Level::Read } else { Level::Write }));
    }
    for i in 0..8 {
        user.push((format!("/projects/p{i}/archive"), Level::Read));
    }
    for i in 0..5 {
        user.push((format!("/home/u{i}/private"), Level::None));
    }
    user.extend([
        ("/uploads".into(), Level::Write),
        ("/uploads/secret".into(), Level::None),
        ("/drop".into(), Level::Upload),
        ("/clients/*/in".into(), Level::Upload),
        ("/clients/*/out".into(), Level::Read),
        ("/clients/*/out/tmp*".into(), Level::Write),
        ("/home/*".into(), Level::Write),
        ("/home/*/.ssh".into(), Level::None),
        ("/logs/[0-9][0-9][0-9][0-9]".into(), Level::Read),
        ("/logs/*/debug?".into(), Level::None),
        ("/projects/*/build".into(), Level::Write),
        ("/projects/*/src/*.bak".into(), Level::None),
        ("/data/*/tmp*".into(), Level::Write),
        ("/data/*/in".into(), Level::Upload),
    ]);
    let group_a: Vec<(String, Level)> = vec![
        ("/shared".into(), Level::Read),
        ("/shared/*/inbox".into(), Level::Upload),
        ("/shared/[a-m]*".into(), Level::Write),
        ("/reports/????-q[1-4]".into(), Level::Read),
        ("/reports/*/drafts".into(), Level::Write),
    ];
    let group_b: Vec<(String, Level)> = vec![
        ("/shared".into(), Level::Upload),
        ("/team".into(), Level::Write),
        ("/team/*/minutes".into(), Level::Read),
        ("/team/hr".into(), Level::None),
        ("/team/[!h]*/scratch".into(), Level::Write),
    ];
    let mk = |v: Vec<(String, Level)>| -> Vec<Rule> { v.into_iter().map(|(k, l)| Rule::new(&k, l).unwrap()).collect() };
    let total = user.len() + group_a.len() + group_b.len();
    assert_eq!(total, 50, "the bench is specified for 50 rules");
    (mk(user), vec![("a".into(), mk(group_a)), ("b".into(), mk(group_b))])
}

/// A fixed mix of requests, 3–6 components deep, over every kind of key.
fn request_mix() -> Vec<(Op, String)> {
    let paths = [
        "/projects/p4/src/main.rs",
        "/projects/p3/archive/2023/old.tar",
        "/projects/p7/build/out/app.bin",
        "/projects/p5/src/lib.rs.bak",
        "/projects/p11/docs/readme.md",
        "/home/u2/private/diary.txt",
        "/home/u8/notes/todo.txt",
        "/home/alice/.ssh/authorized_keys",
        "/home/bob/music/a/b/song.mp3",
        "/uploads/batch/2024/06/file.csv",
        "/uploads/secret/key.pem",
        "/drop/incoming/x.zip",
        "/clients/acme/in/orders/o1.csv",
        "/clients/beta/out/invoices/i1.pdf",
        "/clients/beta/out/tmp-9/part.dat",
        "/clients/gamma/misc/notes.txt",
        "/logs/2024/app/app.log",
        "/logs/web/debug1/trace.log",
        "/logs/web/access/a/b.log",
        "/data/set1/tmp-a/chunk.bin",
        "/data/set2/in/upload.csv",
        "/data/set3/raw/x/y.parquet",
        "/shared/alpha/inbox/new.doc",
        "/shared/kappa/plans/q3.pdf",
        "/shared/zulu/plans/q3.pdf",
        "/reports/2024-q2/summary.pdf",
        "/reports/2024/drafts/d1.doc",
        "/team/ops/minutes/m1.txt",
        "/team/hr/salaries/2024.xlsx",
        "/team/dev/scratch/tmp/x.txt",
        "/misc/other/things/here.txt",
        "/a/b/c/d/e/f",
    ];
    let ops = [Op::Download, Op::Upload, Op::Stat, Op::List, Op::Overwrite, Op::Mkdir, Op::Delete, Op::Setstat];
    let mut mix = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        for (j, op) in ops.iter().enumerate() {
            if (i + j) % 2 == 0 {
                let target = if *op == Op::List { path::parent(p).to_owned() } else { (*p).to_owned() };
                mix.push((*op, target));
            }
        }
    }
    mix
}

// ------------------------------------------------------------------------------------------------
// The naive peer: what one writes first.
// ------------------------------------------------------------------------------------------------

struct NaiveRule {
    comps: Vec<String>,
    perms: PermSet,
    pattern: bool,
    wild: usize,
    lit: usize,
    key: String,
}

struct Naive {
    rules: Vec<NaiveRule>,
    default: PermSet,
}

/// Recursive glob over chars: `*`, `?`, `[...]` with `!`/`^` and ranges.
fn glob(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        Some('?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some('[') => {
            let Some(&c) = s.first() else { return false };
            let mut i = 1;
            let neg = matches!(p.get(i), Some('!') | Some('^'));
            if neg {
                i += 1;
            }
            let start = i;
            let mut hit = false;
            while i < p.len() && !(p[i] == ']' && i > start) {
                if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&b| b != ']') {
                    hit |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    hit |= p[i] == c;
                    i += 1;
                }
            }
            hit != neg && glob(&p[i + 1..], &s[1..])
        }
        Some(&l) => s.first() == Some(&l) && glob(&p[1..], &s[1..]),
    }
}

impl Naive {
    fn new(user: &[Rule], groups: &[(String, Vec<Rule>)], mode: Mode) -> Naive {
        let mut rules: Vec<NaiveRule> = Vec::new();
        let mut add = |r: &Rule, is_user: bool| {
            let comps: Vec<String> = r.path.split('/').filter(|c| !c.is_empty()).map(str::to_owned).collect();
            let wild = r.path.chars().filter(|&c| c == '*' || c == '?' || c == '[').count();
            let lit = r.path.chars().filter(|&c| c != '/').count() - wild;
            if let Some(existing) = rules.iter_mut().find(|x| x.key == r.path) {
                if !is_user {
                    existing.perms = existing.perms.union(r.level.perms());
                }
                return;
            }
            // For a class, count its content as neither literal nor extra wildcards.
            let lit = if r.path.contains('[') {
                let mut n = 0;
                let mut in_class = false;
                let mut prev = ' ';
                for c in r.path.chars() {
                    match c {
                        '[' if !in_class => in_class = true,
                        ']' if in_class && prev != '[' && prev != '!' && prev != '^' => in_class = false,
                        '*' | '?' | '/' => {}
                        _ if !in_class => n += 1,
                        _ => {}
                    }
                    prev = c;
                }
                n
            } else {
                lit
            };
            rules.push(NaiveRule {
                comps,
                perms: r.level.perms(),
                pattern: r.is_pattern(),
                wild,
                lit,
                key: r.path.clone(),
            });
        };
        for r in user {
            add(r, true);
        }
        for (_, rs) in groups {
            for r in rs {
                add(r, false);
            }
        }
        Naive { rules, default: mode.default_level().perms() }
    }

    fn rule(&self, p: &str) -> PermSet {
        let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
        for d in (0..=parts.len()).rev() {
            let anc: Vec<Vec<char>> = parts[..d].iter().map(|c| c.chars().collect()).collect();
            let mut best: Option<&NaiveRule> = None;
            for r in &self.rules {
                if r.comps.len() != d {
                    continue;
                }
                let hit = r.comps.iter().zip(&anc).all(|(rc, a)| glob(&rc.chars().collect::<Vec<_>>(), a));
                if !hit {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        (r.pattern, r.wild, std::cmp::Reverse(r.lit), &r.key)
                            < (b.pattern, b.wild, std::cmp::Reverse(b.lit), &b.key)
                    }
                };
                if better {
                    best = Some(r);
                }
            }
            if let Some(b) = best {
                return b.perms;
            }
        }
        self.default
    }

    fn allowed(&self, op: Op, p: &str) -> bool {
        let own = self.rule(p);
        if op == Op::List {
            return p == "/" || own.contains(PermSet::LIST);
        }
        if own.is_empty() {
            return false;
        }
        let par = path::parent(p);
        let parent = self.rule(par);
        if par != "/" && parent.is_empty() {
            return false;
        }
        match op {
            Op::Delete => parent.contains(PermSet::DELETE) && own.contains(PermSet::DELETE),
            _ => parent.contains(op.needs()),
        }
    }
}

fn rate(n: usize, secs: f64) -> String {
    let r = n as f64 / secs;
    if r >= 1e6 {
        format!("{:.2} M decisions/s", r / 1e6)
    } else {
        format!("{:.0} k decisions/s", r / 1e3)
    }
}

fn main() {
    let (user, groups) = rule_set();
    let grefs: Vec<GroupRules<'_>> = groups.iter().map(|(g, r)| GroupRules { group: g, rules: r }).collect();
    let policy = Policy::new(&user, &grefs, Mode::Rw, true);
    let naive = Naive::new(&user, &groups, Mode::Rw);
    let mix = request_mix();
    let reqs: Vec<Request<'_>> = mix.iter().map(|(op, p)| Request::new(*op, p)).collect();

    // The two must agree, or the comparison is meaningless.
    let mut allowed_in_mix = 0;
    for r in &reqs {
        let d = policy.decide(r);
        assert_eq!(d.allowed, naive.allowed(r.op, r.path), "disagree on {:?} {}: {}", r.op, r.path, d.explain(&policy));
        allowed_in_mix += usize::from(d.allowed);
    }
    // `cargo test --all-targets` runs this binary without `--bench`: check agreement, skip timing.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "rules bench: engine and naive matcher agree on {} requests (timing runs under cargo bench)",
            reqs.len()
        );
        return;
    }

    // Renames exercise step 5 (three lookups plus scans for keys inside each subtree).
    let renames: Vec<Request<'_>> = vec![
        Request::rename("/uploads/batch/2024/06/a.csv", "/uploads/batch/2024/06/b.csv", false),
        Request::rename("/projects/p4/src/main.rs", "/projects/p4/src/old/main.rs", false),
        Request::rename("/home/bob/music/a/b/song.mp3", "/home/bob/music/song.mp3", true),
        Request::rename("/projects/p4/src/main.rs", "/projects/p5/src/main.rs", false),
        Request::rename("/data/set1/tmp-a/chunk.bin", "/data/set1/tmp-b/chunk.bin", false),
        Request::rename("/team/dev/scratch/tmp/x.txt", "/team/dev/scratch/x.txt", false),
    ];

    for r in reqs.iter().chain(&renames) {
        black_box(policy.decide(black_box(r)));
    }

    let t = Instant::now();
    let mut allowed = 0usize;
    for i in 0..DECISIONS {
        let r = &reqs[i % reqs.len()];
        allowed += usize::from(black_box(policy.decide(black_box(r))).allowed);
    }
    let policy_secs = t.elapsed().as_secs_f64();
    black_box(allowed);

    let t = Instant::now();
    let mut allowed = 0usize;
    let n_ren = DECISIONS / 4;
    for i in 0..n_ren {
        let r = &renames[i % renames.len()];
        allowed += usize::from(black_box(policy.decide(black_box(r))).allowed);
    }
    let rename_secs = t.elapsed().as_secs_f64();
    black_box(allowed);

    let t = Instant::now();
    let mut allowed = 0usize;
    for i in 0..NAIVE_DECISIONS {
        let r = &reqs[i % reqs.len()];
        allowed += usize::from(naive.allowed(black_box(r.op), black_box(r.path)));
    }
    let naive_secs = t.elapsed().as_secs_f64();
    black_box(allowed);

    println!(
        "rules bench: 50 rules (30 exact, 20 patterns; 40 user, 10 from 2 groups), {} requests in the mix ({} allowed), paths 3-6 deep",
        reqs.len(),
        allowed_in_mix
    );
    println!(
        "  Policy::decide, mixed ops   {DECISIONS:>9} decisions  {:>8.3} s  {}",
        policy_secs,
        rate(DECISIONS, policy_secs)
    );
    println!(
        "  Policy::decide, renames     {n_ren:>9} decisions  {:>8.3} s  {}",
        rename_secs,
        rate(n_ren, rename_secs)
    );
    println!(
        "  naive linear scan (peer)    {NAIVE_DECISIONS:>9} decisions  {:>8.3} s  {}",
        naive_secs,
        rate(NAIVE_DECISIONS, naive_secs)
    );
    println!(
        "  speed-up over the naive scan: {:.1}x",
        (DECISIONS as f64 / policy_secs) / (NAIVE_DECISIONS as f64 / naive_secs)
    );
}
