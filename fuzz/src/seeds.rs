//! Writes a few valid snapshots into `corpus/snapshot/` as fuzzing seeds.
use gatehouse_policy::config::IdRange;
use gatehouse_policy::snapshot::{build, SnapGroup, SnapUser};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/snapshot");
    std::fs::create_dir_all(&dir)?;
    let ids = IdRange::default();
    for n in [0u32, 1, 3, 20] {
        let users: Vec<SnapUser> = (0..n)
            .map(|i| SnapUser {
                name: if i == 0 { "alice".into() } else { format!("u{i}") },
                uid: 1_900_000_002 + i,
                gid: 1_900_000_002 + i,
                gecos: format!("User {i}"),
                totp: i % 2 == 0,
            })
            .collect();
        let groups = vec![SnapGroup {
            name: "acme".into(),
            gid: 1_900_100_000,
            members: users.iter().map(|u| u.name.clone()).collect(),
        }];
        std::fs::write(dir.join(format!("users-{n}")), build(u64::from(n), &ids, &users, &groups)?)?;
    }
    Ok(())
}
