//! Writes a snapshot of N users (`u0`.., uids from 1900001000) to a file and prints the build
//! time and peak memory, for benchmarks:
//! `cargo run --release -p nss_gatehouse --example make_snapshot -- 1000000 /tmp/nss.db [GROUPS IN]`.
//!
//! With `GROUPS` (default 100), groups `grp0`.. get gids from 1950000000; group `g` holds
//! `u(g+1)`, and `u0` is in `IN` of them (default 1: `grp0`), spread evenly.
use gatehouse_snapshot::IdRange;
use gatehouse_snapshot::{build, SnapGroup, SnapUser};

/// Peak resident memory so far (`VmHWM` of /proc/self/status), in MB.
fn max_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let out = args.get(2).cloned().unwrap_or_else(|| "nss.db".into());
    let ngroups: u32 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let within: u32 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1).clamp(1, ngroups.max(1));
    let users: Vec<SnapUser> = (0..n)
        .map(|i| SnapUser {
            name: format!("u{i}"),
            uid: 1_900_001_000 + i,
            gid: 1_900_001_000 + i,
            gecos: format!("User number {i}"),
            totp: i % 10 == 0,
        })
        .collect();
    let every = (ngroups / within).max(1);
    let groups: Vec<SnapGroup> = (0..ngroups)
        .map(|g| {
            let mut members = vec![format!("u{}", (g + 1) % n.max(1))];
            if g % every == 0 && g / every < within {
                members.push("u0".into());
            }
            SnapGroup { name: format!("grp{g}"), gid: 1_950_000_000 + g, members }
        })
        .collect();
    let input = max_rss_mb();
    let t = std::time::Instant::now();
    let bytes = build(1, &IdRange::default(), &users, &groups)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "users={n} build={secs:.3}s bytes={} peak_rss={:.0}MB (input alone {input:.0}MB)",
        bytes.len(),
        max_rss_mb()
    );
    std::fs::write(out, bytes)?;
    Ok(())
}
