//! The real `gatehouse-keys` against the real `gatehoused` binary, both at their fixed paths
//! inside a private mount namespace (tmpfs on `/run` and `/var/lib`), over a SQLite database the
//! test fills through the store. Also checks that the daemon binary exports the snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_policy::config::Config;
use gatehouse_policy::keys::PublicKey;
use gatehouse_server::store::{NewUser, Store};
use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
const KEY_B64: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// A binary of the gatehouse-server package, built by a nested cargo (another package).
fn server_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "gatehouse-server", "--bin", name]).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env("CARGO_TARGET_DIR", dir.parent().unwrap());
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
    dir.join(name)
}

#[test]
fn keys_through_the_real_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let config = format!("database = \"sqlite://{d}/g.db\"\nhome_base = \"{d}/home\"\n");
    std::fs::write(dir.path().join("g.toml"), &config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let s = Store::open(Config::parse(&config).unwrap(), true).await.unwrap();
        s.migrate().await.unwrap();
        let k = vec![PublicKey::parse(KEY).unwrap()];
        let add = |name: &str, f: &dyn Fn(&mut NewUser)| {
            let mut u = NewUser { name: name.into(), keys: k.clone(), ..NewUser::default() };
            f(&mut u);
            u
        };
        s.add_user("t", add("alice", &|u| u.allowed_ips = vec!["10.0.0.0/8".parse().unwrap()])).await.unwrap();
        s.add_user("t", add("inactive", &|u| u.active = Some(false))).await.unwrap();
        s.add_user("t", add("ftponly", &|u| u.protocols = Some(vec!["ftp".into()]))).await.unwrap();
        s.add_user("t", add("expired", &|u| u.expires_at = Some(1_000_000_000))).await.unwrap();
        s.close().await;
    });
    let keys = env!("CARGO_BIN_EXE_gatehouse-keys");
    let script = format!(
        "set -e\nmount -t tmpfs -o mode=0755 tmpfs /run\nmount -t tmpfs -o mode=0755 tmpfs /var/lib\nmkdir -m 0755 /var/lib/gatehouse\n\
         GATEHOUSE_CONFIG={d}/g.toml {ghd} 2>{d}/daemon.log &\npid=$!\ntrap 'kill $pid; wait $pid || true' EXIT\n\
         for i in $(seq 200); do [ -S /run/gatehouse/socket ] && break; sleep 0.05; done\n\
         for i in $(seq 200); do [ -f /var/lib/gatehouse/nss.db ] && break; sleep 0.05; done\n\
         echo \"snapshot $(stat -c %a /var/lib/gatehouse/nss.db)\"\n\
         GATEHOUSE_CONFIG={d}/g.toml {cli} status > {d}/status.txt || true\n\
         for u in alice inactive ftponly expired nobodyhere; do echo \"== $u\"; {keys} $u 1 SHA256:x ssh-ed25519 {b64} || echo \"rc=$?\"; done\n\
         echo '== other key'; {keys} alice 1 SHA256:y ssh-ed25519 AAAAother\n\
         kill $pid; wait $pid || true; trap - EXIT\necho '== daemon down'; {keys} alice 1 SHA256:x ssh-ed25519 {b64} || echo \"rc=$?\"\n",
        ghd = server_bin("gatehoused").display(),
        cli = server_bin("gatehouse").display(),
        b64 = KEY_B64,
    );
    let out = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "script failed: {stdout}\n{}\ndaemon log:\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "snapshot 644\n== alice\nrestrict,from=\"10.0.0.0/8\" {KEY}\n== inactive\n== ftponly\n== expired\n== nobodyhere\n== other key\n== daemon down\nrc=1\n"
    );
    assert_eq!(stdout, want, "daemon log:\n{log}");
    assert!(log.contains("snapshot exported"), "{log}");
    // `gatehouse status` sees the running daemon and its snapshot (nsswitch and PAM are the
    // host's, unchanged here, so those lines say FAIL).
    let status = std::fs::read_to_string(dir.path().join("status.txt")).unwrap();
    assert!(
        status.contains("daemon     ok") && status.contains("gatehoused answers at /run/gatehouse/socket"),
        "{status}"
    );
    assert!(status.contains("snapshot   ok") && status.contains("4 users"), "{status}");
    assert!(status.contains("database   ok") && status.contains("4 users"), "{status}");
    assert!(status.contains("sync       ok") && status.contains("sqlite: connected since"), "{status}");
}
