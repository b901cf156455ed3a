//! A fleet: three hosts on one PostgreSQL. The test starts a real PostgreSQL (initdb + pg_ctl on a
//! temp dir, loopback), and three hosts, each a private mount namespace
//! (`tests/data/fleet-host.sh`: overlays on `/etc`, `/var/lib` and the lib directory, tmpfs on
//! `/run` and `/var/lib/gatehouse`) with its own config (`[fleet] host`), its own real
//! `gatehoused` at the fixed socket and snapshot paths, `libnss_gatehouse.so.2` and
//! `pam_gatehouse.so` where glibc and Linux-PAM look, and `gatehouse-keys`. Each host is a shell
//! that runs the commands the test sends it (`getent`, `pamtester`, the CLI) and answers with
//! their output and exit status, so the test can interleave hosts and stop PostgreSQL between
//! steps. Needs root, PostgreSQL, pamtester.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const KEY_B64: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// The modules and gatehouse-keys (other packages of the workspace), built once.
struct Parts {
    nss: PathBuf,
    pam: PathBuf,
    keys: PathBuf,
}

fn parts() -> Parts {
    let dir = common::build_workspace_parts(&["-p", "pam_gatehouse", "-p", "nss_gatehouse"]).unwrap();
    common::build_workspace_parts(&["-p", "gatehouse-ssh", "--bin", "gatehouse-keys"]).unwrap();
    Parts {
        nss: dir.join("libnss_gatehouse.so"),
        pam: dir.join("libpam_gatehouse.so"),
        keys: dir.join("gatehouse-keys"),
    }
}

/// One host: a shell inside its own mount namespace, reading commands.
struct Host {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
}

impl Host {
    fn start(name: &'static str, host_groups: &str, db: &str, local_users: &str, p: &Parts) -> Host {
        let dir = tempfile::Builder::new().prefix(&format!("gatehouse-fleet-{name}-")).tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fleet-host.sh");
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh"])
            .arg(&script)
            .env("T", dir.path())
            .env("NAME", name)
            .env("HOST_GROUPS", host_groups)
            .env("DB", db)
            .env("LOCAL_USERS", local_users)
            .env("NSS_SO", &p.nss)
            .env("PAM_SO", &p.pam)
            .env("KEYS", &p.keys)
            .env("GATEHOUSED", env!("CARGO_BIN_EXE_gatehoused"))
            .env("CLI", env!("CARGO_BIN_EXE_gatehouse"))
            .env("PW", PASSWORD)
            .env("GATEHOUSE_TESTLIB", concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/lib"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut h = Host { name, child, stdin, out, dir };
        let mut line = String::new();
        h.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "@@READY", "host {name} did not come up: {}", h.stderr());
        h
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// The host's gatehoused log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Runs one command line on the host: (exit status, output).
    fn sh(&mut self, cmd: &str) -> (i32, String) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).unwrap();
            assert!(n > 0, "host {} ended during {cmd:?}:\n{text}\n{}", self.name, self.stderr());
            if let Some(rc) = line.trim_end().strip_prefix("@@END ") {
                // The agent puts a newline before the marker.
                text.pop();
                return (rc.parse().unwrap(), text);
            }
            text.push_str(&line);
        }
    }

    /// Runs `cmd`, which must succeed; returns its output.
    fn ok(&mut self, cmd: &str) -> String {
        let (rc, out) = self.sh(cmd);
        assert_eq!(rc, 0, "host {}: {cmd:?} failed:\n{out}\n--- daemon log:\n{}", self.name, self.log());
        out
    }

    /// Runs `cmd` until `pred(rc, output)` holds, for at most `limit`; returns the wait.
    fn wait_for(&mut self, cmd: &str, limit: Duration, pred: impl Fn(i32, &str) -> bool) -> Duration {
        let t = Instant::now();
        loop {
            let (rc, out) = self.sh(cmd);
            if pred(rc, &out) {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < limit,
                "host {}: {cmd:?} still says (rc {rc}) {out:?} after {limit:?}\n--- daemon log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PAM login (auth + account) through Linux-PAM's `sshd` service: (exit status, output).
    fn login(&mut self, user: &str, password: &str) -> (i32, String) {
        self.sh(&format!(
            "printf '%s\\n' '{password}' | timeout 30 pamtester -v -I rhost=127.0.0.1 sshd {user} authenticate acct_mgmt"
        ))
    }

    /// What gatehoused publishes for `gatehouse status`, as JSON.
    fn sync_status(&mut self) -> serde_json::Value {
        let (_, out) = self.sh("cat /run/gatehouse/sync.json");
        serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `f` on every host at once.
fn at_once<T: Send>(hosts: &mut [Host], f: impl Fn(&mut Host) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts.iter_mut().map(|h| s.spawn(|| f(h))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// One plain-SQL statement against the shared database; returns the first column of each row
/// as text.
fn sql(rt: &tokio::runtime::Runtime, db: &str, q: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(db).await.unwrap();
        let rows = sqlx::query(q).fetch_all(&mut c).await.unwrap();
        rows.iter().map(|r| r.try_get::<Option<String>, _>(0).unwrap().unwrap_or_default()).collect()
    })
}

fn getent(user: &str) -> String {
    format!("getent passwd {user}")
}

fn keys(user: &str) -> String {
    format!("\"$KEYS\" {user} 0 SHA256:x ssh-ed25519 {KEY_B64}")
}

#[test]
fn three_hosts_on_one_postgresql() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = common::PgServer::start();
    let db = rt.block_on(pg.fresh_db());
    let p = parts();
    let mut hosts = [
        Host::start("a", "eu", &db, "", &p),
        Host::start("b", "eu", &db, "carol", &p),
        Host::start("c", "us", &db, "", &p),
    ];

    // Three hosts migrate an empty database at once: one applies, the others wait and find
    // nothing to do.
    let outs = at_once(&mut hosts, |h| h.ok("\"$CLI\" db migrate"));
    let applied = outs.iter().filter(|o| o.contains("applied migrations")).count();
    assert_eq!(applied, 1, "exactly one host applies the migrations: {outs:?}");
    assert!(outs.iter().filter(|o| o.contains("nothing to do")).count() == 2, "{outs:?}");
    let dup = sql(&rt, &db, "SELECT CAST(version AS TEXT) FROM _sqlx_migrations GROUP BY version HAVING COUNT(*) > 1");
    assert!(dup.is_empty(), "migrations recorded twice: {dup:?}");

    // Three hosts add users at once: no uid is handed out twice.
    at_once(&mut hosts, |h| {
        let name = h.name;
        h.ok(&format!("for i in 1 2 3 4 5 6; do \"$CLI\" user add {name}user$i >/dev/null || exit 1; done"))
    });
    let counts = sql(&rt, &db, "SELECT CAST(COUNT(*) AS TEXT) || '/' || CAST(COUNT(DISTINCT uid) AS TEXT) FROM users");
    assert_eq!(counts, ["18/18"], "users/distinct uids");

    // The users of the scenario, made on host a.
    let a = &mut hosts[0];
    a.ok("printf '%s\\n' \"$PW\" | \"$CLI\" user add alice --password-stdin --display-name Alice");
    a.ok(&format!("\"$CLI\" key add alice 'ssh-ed25519 {KEY_B64} alice@laptop'"));
    a.ok("printf '%s\\n' \"$PW\" | \"$CLI\" user add bob --password-stdin");
    a.ok("\"$CLI\" user add carol");
    a.ok("printf '%s\\n' \"$PW\" | \"$CLI\" user add erin --password-stdin --hosts a");
    let shown = a.ok("\"$CLI\" user show erin");
    assert!(shown.lines().any(|l| l.starts_with("hosts") && l.contains('a')), "{shown}");
    at_once(&mut hosts, |h| h.ok("start_daemon"));

    // Everyone sees alice; carol is served on a and c but dropped on b, where she is local.
    for h in hosts.iter_mut() {
        let out = h.ok(&getent("alice"));
        assert!(out.contains(":Alice:") && out.contains("/usr/sbin/gatehouse-sftp"), "host {}: {out}", h.name);
        assert_eq!(h.login("alice", PASSWORD).0, 0, "alice logs in on host {}", h.name);
    }
    assert!(hosts[0].ok(&getent("carol")).contains("/usr/sbin/gatehouse-sftp"));
    assert!(hosts[1].ok(&getent("carol")).contains("/bin/bash"), "b's own carol wins");
    let log_b = hosts[1].log();
    assert!(
        log_b.contains("user \"carol\"") && log_b.contains("left out of the snapshot") && log_b.contains("/etc/passwd"),
        "b logs why carol is left out:\n{log_b}"
    );

    // erin is scoped to host a: she resolves, logs in and has keys there, and is unknown on b.
    assert!(hosts[0].ok(&getent("erin")).contains("erin:"));
    assert_eq!(hosts[0].login("erin", PASSWORD).0, 0, "erin logs in on a");
    let (rc, out) = hosts[1].sh(&getent("erin"));
    assert_eq!(rc, 2, "erin is unknown on b: {out}");
    let (rc, out) = hosts[1].login("erin", PASSWORD);
    assert_ne!(rc, 0, "erin cannot log in on b: {out}");
    let (rc, out) = hosts[2].sh(&getent("erin"));
    assert_eq!(rc, 2, "erin is unknown on c: {out}");

    // A change made on a, and one made by plain SQL, reach b and c (NSS and PAM).
    hosts[0].ok("\"$CLI\" user add dave");
    for h in hosts[1..].iter_mut() {
        let waited = h.wait_for(&getent("dave"), Duration::from_secs(10), |rc, _| rc == 0);
        eprintln!("dave reached host {} after {waited:?}", h.name);
    }
    sql(&rt, &db, "UPDATE users SET display_name = 'Alice Liddell' WHERE name = 'alice'");
    for h in hosts.iter_mut() {
        h.wait_for(&getent("alice"), Duration::from_secs(10), |_, out| out.contains(":Alice Liddell:"));
    }
    hosts[0].ok("\"$CLI\" user set bob --inactive");
    hosts[2].wait_for(
        "printf '%s\\n' \"$PW\" | timeout 30 pamtester -I rhost=127.0.0.1 sshd bob authenticate acct_mgmt",
        Duration::from_secs(10),
        |rc, _| rc != 0,
    );
    hosts[0].ok("\"$CLI\" user set bob --active");

    // Every host's offline cache holds the state above before the database goes away: a refresh
    // that starts a second after the last change has it (a statement that changes no row still
    // fires the NOTIFY trigger, so every host refreshes once more).
    std::thread::sleep(Duration::from_millis(1100));
    let settled = now();
    sql(&rt, &db, "UPDATE users SET name = name WHERE 1 = 0");
    for h in hosts.iter_mut() {
        let t = Instant::now();
        loop {
            let st = h.sync_status();
            if st["cache_synced_at"].as_i64().is_some_and(|s| s >= settled) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(40), "host {}: cache not refreshed: {st}\n{}", h.name, h.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // PostgreSQL stops: logins, keys and NSS keep working on every host, from the cache; a CLI
    // write fails with a clear message.
    pg.stop();
    let stopped = now();
    for h in hosts.iter_mut() {
        let (rc, out) = h.login("alice", PASSWORD);
        assert_eq!(rc, 0, "host {}: alice logs in while PostgreSQL is down: {out}\n{}", h.name, h.log());
        let out = h.ok(&keys("alice"));
        assert!(out.starts_with("restrict ") && out.contains(KEY_B64), "host {}: keys: {out}", h.name);
        assert!(h.ok(&getent("alice")).contains(":Alice Liddell:"));
    }
    assert_eq!(hosts[0].login("erin", PASSWORD).0, 0, "erin still logs in on a");
    assert_ne!(hosts[1].login("erin", PASSWORD).0, 0, "erin is still unknown on b");
    let (rc, out) = hosts[1].login("bob", "wrong password");
    assert_ne!(rc, 0, "{out}");
    let (rc, out) = hosts[0].sh("\"$CLI\" user add zed");
    assert_ne!(rc, 0, "a write fails while the database is down: {out}");
    assert!(out.contains("cannot reach the database") && out.contains("nothing was changed"), "{out}");
    let (_, status) = hosts[0].sh("\"$CLI\" status");
    assert!(status.contains("UNREACHABLE") && status.contains("offline cache refreshed"), "{status}");
    // A daemon restarted while the database is down starts from its cache.
    hosts[2].ok("stop_daemon && start_daemon");
    let (rc, out) = hosts[2].login("alice", PASSWORD);
    assert_eq!(rc, 0, "alice logs in on c after its daemon restarted offline: {out}\n{}", hosts[2].log());
    assert!(hosts[2].log().contains("starting from the offline cache"), "{}", hosts[2].log());
    assert!(hosts[1].sync_status()["queued"].as_u64().unwrap_or(0) >= 1, "b queued bob's failure");

    // PostgreSQL is back: every host reconnects, flushes its queue, and follows changes again.
    pg.start_again();
    for h in hosts.iter_mut() {
        let t = Instant::now();
        loop {
            let st = h.sync_status();
            if st["online"] == serde_json::Value::Bool(true) && st["queued"].as_u64() == Some(0) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "host {}: not caught up: {st}\n{}", h.name, h.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let failed = sql(
        &rt,
        &db,
        "SELECT CAST(ls.failed_logins AS TEXT) FROM login_state ls JOIN users u ON u.id = ls.user_id WHERE u.name = 'bob'",
    );
    assert_eq!(failed, ["1"], "bob's failure on b while the database was down arrived");
    let last = sql(
        &rt,
        &db,
        "SELECT ls.last_login_at FROM login_state ls JOIN users u ON u.id = ls.user_id WHERE u.name = 'alice'",
    );
    let at = gatehouse_policy::model::parse_time("last_login_at", &last[0]).unwrap();
    assert!(at >= stopped, "alice's logins while the database was down arrived: {last:?}");
    hosts[2].ok("\"$CLI\" user add frank");
    for h in hosts[..2].iter_mut() {
        h.wait_for(&getent("frank"), Duration::from_secs(15), |rc, _| rc == 0);
    }
    let (_, status) = hosts[0].sh("\"$CLI\" status");
    assert!(status.lines().any(|l| l.starts_with("sync") && l.contains("postgres: connected")), "{status}");
}

fn now() -> i64 {
    gatehouse_server::store::now()
}
