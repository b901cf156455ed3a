//! Fleet propagation benchmark (not in CI): how long a change takes from its commit on
//! PostgreSQL to the NSS snapshot of every host.
//!
//! Starts its own PostgreSQL (as the tests do), imports USERS users (one reused password hash:
//! a real hash per user would take hours), and runs HOSTS exporters as gatehoused runs them:
//! each with its own `LISTEN` connection, its own snapshot file and its own offline cache,
//! refreshed after every export. Then makes CHANGES plain-SQL changes, one at a time (each
//! renames a user's display name), and for each waits until every host's snapshot shows it,
//! noting the delay per host. Prints p50, p99 and max over all (change, host) pairs, and how long
//! the import, the first export and a cache refresh took.
//!
//! The exporters share this process and the machine's cores with PostgreSQL, so the figures are
//! an upper bound for one host per machine.
//!
//! Usage: `cargo run --release --example fleet_bench -- USERS [CHANGES] [HOSTS] [RATE]`
//! (defaults: 10000 200 3 0). RATE 0 makes each change wait for the previous one to arrive
//! everywhere; RATE N makes N changes a second regardless (a write load) and measures each. With CHANGES 0 it stops after the first sync (time and peak RSS):
//! `fleet_bench 1000000 0 1` is the first sync of a host against a 1,000,000-user database. Needs root (initdb runs as `postgres`) and PostgreSQL installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/common/mod.rs"]
mod common;

use gatehouse_server::daemon::exporter;
use gatehouse_server::daemon::offline::Offline;
use gatehouse_server::daemon::watch::Link;
use gatehouse_server::store::{NewUser, Store};
use gatehouse_snapshot::IdRange;
use gatehouse_snapshot::Snapshot;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The gecos of `user` in the snapshot at `path`, if the file parses and has the user.
fn gecos(path: &Path, user: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let snap = Snapshot::parse(&bytes).ok()?;
    let u = snap.user_by_name(user.as_bytes()).ok()??;
    Some(String::from_utf8_lossy(u.gecos).into_owned())
}

/// Waits until the snapshot at each of `paths` gives `user` the display name `want`; returns,
/// per path, when it did (from the call), or `None` after `limit`. Checks a file only when it
/// was replaced (a new inode), so a big snapshot is parsed once per export.
fn wait_all(paths: &[PathBuf], user: &str, want: &str, limit: Duration) -> Vec<Option<Duration>> {
    let t = Instant::now();
    let mut seen = vec![0; paths.len()];
    let mut done: Vec<Option<Duration>> = vec![None; paths.len()];
    while t.elapsed() < limit && done.iter().any(Option::is_none) {
        for (i, path) in paths.iter().enumerate() {
            let ino = std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
            if done[i].is_none() && ino != seen[i] {
                seen[i] = ino;
                if gecos(path, user).as_deref() == Some(want) {
                    done[i] = Some(t.elapsed());
                }
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    done
}

/// A user's name and the display name change `i` gives them.
fn change(i: usize, users: usize) -> (String, String) {
    (format!("u{}", (i * 7919) % users), format!("changed {i}"))
}

async fn commit_change(store: &Store, user: &str, want: &str) {
    sqlx::query("UPDATE users SET display_name = $1 WHERE name = $2")
        .bind(want)
        .bind(user)
        .execute(store.pool())
        .await
        .unwrap();
}

/// Each change waits until every host has the previous one. Returns the delays and the misses.
async fn one_at_a_time(store: &Store, snaps: &[PathBuf], users: usize, changes: usize) -> (Vec<Duration>, usize) {
    let (mut delays, mut missed) = (Vec::new(), 0);
    for i in 0..changes {
        let (user, want) = change(i, users);
        commit_change(store, &user, &want).await;
        let paths = snaps.to_vec();
        let seen =
            tokio::task::spawn_blocking(move || wait_all(&paths, &user, &want, Duration::from_secs(30))).await.unwrap();
        for d in seen {
            match d {
                Some(d) => delays.push(d),
                None => missed += 1,
            }
        }
    }
    (delays, missed)
}

/// `rate` changes a second, whatever the hosts do; a watcher parses each new snapshot of each
/// host and notes which changes it shows for the first time. Returns the delays and the misses.
async fn at_rate(
    store: &Store,
    snaps: &[PathBuf],
    users: usize,
    changes: usize,
    rate: usize,
) -> (Vec<Duration>, usize) {
    let committed: Arc<std::sync::Mutex<Vec<Option<Instant>>>> = Arc::new(std::sync::Mutex::new(vec![None; changes]));
    let (paths, seen_by) = (snaps.to_vec(), committed.clone());
    let watcher = tokio::task::spawn_blocking(move || {
        let mut arrived: Vec<Vec<Option<Duration>>> = vec![vec![None; changes]; paths.len()];
        let mut inodes = vec![0; paths.len()];
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) && arrived.iter().flatten().any(Option::is_none) {
            for (h, path) in paths.iter().enumerate() {
                let ino = std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
                if ino == inodes[h] {
                    continue;
                }
                inodes[h] = ino;
                let Ok(bytes) = std::fs::read(path) else { continue };
                let Ok(snap) = Snapshot::parse(&bytes) else { continue };
                let at = seen_by.lock().unwrap().clone();
                for (i, committed) in at.iter().enumerate() {
                    let (Some(c), None) = (committed, arrived[h][i]) else { continue };
                    let (user, want) = change(i, users);
                    let shows =
                        snap.user_by_name(user.as_bytes()).ok().flatten().is_some_and(|u| u.gecos == want.as_bytes());
                    if shows {
                        arrived[h][i] = Some(c.elapsed());
                    }
                }
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        arrived
    });
    let start = Instant::now();
    for i in 0..changes {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (user, want) = change(i, users);
        // Noted before the commit, so the watcher never sees a change it does not know yet
        // (the delay then includes the commit itself, a few ms).
        committed.lock().unwrap()[i] = Some(Instant::now());
        commit_change(store, &user, &want).await;
    }
    let arrived = watcher.await.unwrap();
    let delays: Vec<Duration> = arrived.iter().flatten().flatten().copied().collect();
    let missed = arrived.iter().flatten().filter(|d| d.is_none()).count();
    (delays, missed)
}

/// `field` (`VmRSS:`, `VmHWM:`) of this process's status, in MB.
fn rss_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let users = args.first().copied().unwrap_or(10_000);
    let changes = args.get(1).copied().unwrap_or(200);
    let hosts = args.get(2).copied().unwrap_or(3);
    let rate = args.get(3).copied().unwrap_or(0);

    let pg = common::PgServer::start();
    let url = pg.fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::test_config(url, &dir.path().join("home"));
    cfg.ids = IdRange { first: 1_900_000_000, last: 1_999_999_999 };
    let store = Store::open_with(cfg.clone(), Arc::new(common::FakeLocal::default()), false).await.unwrap();
    store.migrate().await.unwrap();

    let hash = gatehouse_policy::password::hash_password(&gatehouse_policy::secret::Secret::new(
        "benchmark password 1234567".into(),
    ))
    .unwrap();
    let t = Instant::now();
    for chunk in (0..users).collect::<Vec<_>>().chunks(50_000) {
        let batch: Vec<NewUser> = chunk
            .iter()
            .map(|i| NewUser { name: format!("u{i}"), password_hash: Some(hash.clone()), ..NewUser::default() })
            .collect();
        let local = store.import_checker();
        store.import_users("bench", "bench", &batch, local.as_ref(), false).await.unwrap();
    }
    println!("import of {users} users: {:.1} s", t.elapsed().as_secs_f64());
    // From here on, the peak RSS is the sync's (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    println!("RSS of this process after the import (the floor of the peak below): {} MB", rss_mb("VmRSS:"));

    let stop = Arc::new(tokio::sync::Notify::new());
    let mut snaps: Vec<PathBuf> = Vec::new();
    let mut tasks = Vec::new();
    let mut dbs = Vec::new();
    for h in 0..hosts {
        let primary = Store::open_for_daemon(cfg.clone()).await.unwrap();
        let cache_path = dir.path().join(format!("cache{h}.db"));
        let cache = Store::open_cache(&cfg, cache_path.to_str().unwrap()).await.unwrap();
        let db = Arc::new(Offline::with_cache(primary.clone(), cache, Arc::new(Link::default()), 86_400).await);
        let snap = dir.path().join(format!("nss{h}.db"));
        snaps.push(snap.clone());
        dbs.push(db.clone());
        let opts = exporter::Options { roots: None, db: Some(db) };
        let changed = Arc::new(tokio::sync::Notify::new());
        tasks.push(tokio::spawn(exporter::run_with(primary, snap, changed, stop.clone(), opts)));
    }
    let t = Instant::now();
    let paths = snaps.clone();
    let first =
        tokio::task::spawn_blocking(move || wait_all(&paths, "u0", "", Duration::from_secs(600))).await.unwrap();
    assert!(first.iter().all(Option::is_some), "every host exports at start");
    println!("first export on {hosts} hosts: {:.2} s", t.elapsed().as_secs_f64());
    while dbs.iter().any(|d| d.cache_synced_at().is_none()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("first sync (export and offline-cache copy) on {hosts} hosts: {:.2} s", t.elapsed().as_secs_f64());
    println!("peak RSS of this process during the first sync (exports and cache copies): {} MB", rss_mb("VmHWM:"));
    if changes == 0 {
        return;
    }

    let (mut delays, missed) = if rate == 0 {
        one_at_a_time(&store, &snaps, users, changes).await
    } else {
        at_rate(&store, &snaps, users, changes, rate).await
    };
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "propagation, {users} users, {changes} changes ({}) x {hosts} hosts: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, missed (>30 s) {missed}",
        if rate == 0 { "one at a time".to_string() } else { format!("{rate}/s") },
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap_or(&Duration::ZERO)),
    );
    stop.notify_waiters();
    for t in tasks {
        t.abort();
    }
}
