//! PAM password logins through the daemon (issue 4), beside raw `verify_password` on as many
//! threads as there are cores, in one process:
//! `cargo run --release -p gatehouse-server --example login_bench -- [USERS] [LOGINS] [C..]`.
//!
//! A migrated SQLite store in a temp dir gets `USERS` users (default 1000) sharing one argon2id
//! hash; `serve` runs on a temp Unix socket in a multi-thread tokio runtime; `C` client threads
//! (default 1, 2 and 50) send `LOGINS` successful `Authenticate` requests (default 300), one
//! connection per request as the PAM module does, each from its own `rhost` so the per-source
//! throttle never answers. Prints logins/s, p50/p99 latency and the peak RSS of the process
//! (`VmHWM`, the same figure as getrusage's `ru_maxrss`, reset before each run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_policy::config::Config;
use gatehouse_policy::password::{hash_password, verify_password};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::wire::{self, Request, Response};
use gatehouse_server::daemon::{serve, DaemonConfig};
// Nothing on this "host" is taken: the users are made without NSS lookups.
use gatehouse_server::store::{NewUser, NoLocalIds as NoLocal, Store};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery staple";

/// A `/proc/self/status` field in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// `rhost` number `i`: a distinct address per request.
fn rhost(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// One login on a fresh connection, as pam_gatehouse does it.
fn login(socket: &Path, user: String, i: usize) -> Response {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let req = Request::Authenticate {
        user,
        service: "sshd".into(),
        rhost: Some(rhost(i)),
        tty: Some("ssh".into()),
        password: Secret::new(PW.into()),
    };
    wire::write_request(&mut s, &req).unwrap();
    wire::read_response(&mut s, wire::MAX_FRAME).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let users: usize = args.first().map_or(1000, |a| a.parse().expect("USERS"));
    let logins: usize = args.get(1).map_or(300, |a| a.parse().expect("LOGINS"));
    let mut clients: Vec<usize> = args.iter().skip(2).map(|a| a.parse().expect("C")).collect();
    if clients.is_empty() {
        clients = vec![1, 2, 50];
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("socket");
    let mut cfg = Config::parse(&format!("home_base = \"{}/home\"\n", dir.path().display())).unwrap();
    cfg.database = format!("sqlite://{}/gatehouse.db", dir.path().display());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let hash = hash_password(&Secret::new(PW.into())).unwrap();

    // One verify, alone, for the latency targets (median of 9).
    let mut one: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            assert!(verify_password(&Secret::new(PW.into()), &hash).unwrap().ok);
            t.elapsed()
        })
        .collect();
    one.sort();
    let verify_ms = pct(&one, 0.5);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (store, dcfg, listener) = rt.block_on(async {
        let store = Store::open_with(cfg, Arc::new(NoLocal), true).await.unwrap();
        store.migrate().await.unwrap();
        let batch: Vec<NewUser> = (0..users)
            .map(|i| NewUser {
                name: format!("u{i}"),
                password_hash: Some(hash.clone()),
                protocols: Some(vec!["ssh".into()]),
                ..NewUser::default()
            })
            .collect();
        store.import_users("bench", "bench", &batch, &NoLocal, false).await.unwrap();
        let (dcfg, _) = DaemonConfig::from_config(store.config()).unwrap();
        (store, dcfg, tokio::net::UnixListener::bind(&socket).unwrap())
    });
    let daemon = rt.spawn(serve(store, dcfg, listener, async {
        let _ = stopped.await;
    }));
    println!(
        "== PAM password logins through gatehoused: {users} users, one argon2id hash, {cores} cores, \
         {logins} logins per run"
    );
    println!("   one verify_password, alone: {verify_ms:.1} ms (median of 9; fastest {:.1} ms)", pct(&one, 0.0));
    reset_peak();
    println!("   RSS after setup: {} MB (peak reset: {} MB)", status_kb("VmRSS:") / 1024, status_kb("VmHWM:") / 1024);

    // Raw verify_password on one thread per core: the ceiling. Measured again around every
    // daemon run, because a shared machine's load drifts.
    let raw = |n: usize| {
        let next = AtomicUsize::new(0);
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..cores {
                s.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        assert!(verify_password(&Secret::new(PW.into()), &hash).unwrap().ok);
                    }
                });
            }
        });
        n as f64 / t.elapsed().as_secs_f64()
    };
    let raw_n = (logins / 2).max(cores * 20);
    let raw_rate = raw(raw_n);
    println!(
        "   raw verify_password, {cores} threads: {raw_rate:.1} verifies/s (peak RSS {} MB)",
        status_kb("VmHWM:") / 1024
    );

    let mut bad = 0usize;
    for &c in &clients {
        let raw_before = raw(raw_n);
        reset_peak();
        let next = Arc::new(AtomicUsize::new(0));
        let lat = Arc::new(Mutex::new(Vec::with_capacity(logins)));
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..c {
                let (next, lat, socket) = (next.clone(), lat.clone(), &socket);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= logins {
                        break;
                    }
                    let t = Instant::now();
                    let r = login(socket, format!("u{}", i % users), i);
                    let d = t.elapsed();
                    lat.lock().unwrap().push((d, r == Response::Ok));
                });
            }
        });
        let secs = t.elapsed().as_secs_f64();
        let peak = status_kb("VmHWM:") / 1024;
        let raw_rate = (raw_before + raw(raw_n)) / 2.0;
        let got = std::mem::take(&mut *lat.lock().unwrap());
        bad += got.iter().filter(|(_, ok)| !ok).count();
        let mut d: Vec<Duration> = got.iter().map(|(d, _)| *d).collect();
        d.sort();
        let rate = logins as f64 / secs;
        let fifo = c as f64 * verify_ms / cores as f64;
        println!(
            "   C={c:<3} {rate:6.1} logins/s ({:3.0} % of raw {raw_rate:.1}/s, measured before and after) | p50 {:6.1} ms  p99 {:6.1} ms \
             (one verify {verify_ms:.1} ms; 2x = {:.1} ms; FIFO bound C*verify/cores = {fifo:.1} ms) | \
             peak RSS {peak} MB",
            100.0 * rate / raw_rate,
            pct(&d, 0.5),
            pct(&d, 0.99),
            2.0 * verify_ms,
        );
    }
    println!("   peer: pam_unix + yescrypt ~58 logins/s (issue 4)");
    if bad > 0 {
        println!("   WARNING: {bad} logins were not answered Ok");
    }
    let _ = stop.send(());
    rt.block_on(async {
        let _ = daemon.await;
    });
}
