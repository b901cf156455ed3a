//! Writes a snapshot of N users (`u0`..) to a file and prints the build time, for benchmarks:
//! `cargo run --release -p nss_gatehouse --example make_snapshot -- 1000000 /tmp/nss.db`.
use gatehouse_policy::config::IdRange;
use gatehouse_policy::snapshot::{build, SnapGroup, SnapUser};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let out = args.get(2).cloned().unwrap_or_else(|| "nss.db".into());
    let users: Vec<SnapUser> = (0..n)
        .map(|i| SnapUser {
            name: format!("u{i}"),
            uid: 1_900_001_000 + i,
            gid: 1_900_001_000 + i,
            gecos: format!("User number {i}"),
            totp: i % 10 == 0,
        })
        .collect();
    let groups: Vec<SnapGroup> = (0..100u32)
        .map(|g| SnapGroup { name: format!("grp{g}"), gid: 1_900_000_002 + g, members: vec![format!("u{g}")] })
        .collect();
    let t = std::time::Instant::now();
    let bytes = build(1, &IdRange::default(), &users, &groups)?;
    println!("users={n} build={:.3}s bytes={}", t.elapsed().as_secs_f64(), bytes.len());
    std::fs::write(out, bytes)?;
    Ok(())
}
