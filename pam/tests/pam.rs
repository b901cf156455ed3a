//! The real `pam_gatehouse.so`, loaded by Linux-PAM through pam_wrapper and driven by
//! `pamtester`, against a real gatehoused (the `serve` library function on a temp socket, over
//! a real SQLite store). pamtester runs in a private mount namespace with a tmpfs on `/var/lib`
//! holding the exported snapshot, since the module reads the fixed path only; the host's files
//! are never touched. Needs root, `pamtester` and `libpam-wrapper` (CI installs them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_policy::config::Config;
use gatehouse_policy::password::hash_password;
use gatehouse_policy::secret::Secret;
use gatehouse_server::daemon::{serve, DaemonConfig};
use gatehouse_server::store::{NewUser, Store, UserChanges};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

/// The cdylib, built once per run (`cargo test` builds only the rlib).
fn cdylib() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-p", "pam_gatehouse", "--lib"]).current_dir(env!("CARGO_MANIFEST_DIR"));
            cmd.env("CARGO_TARGET_DIR", dir.parent().unwrap());
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
            dir.join("libpam_gatehouse.so")
        })
        .clone()
}

fn pam_wrapper() -> PathBuf {
    let p = PathBuf::from("/usr/lib/x86_64-linux-gnu/libpam_wrapper.so");
    assert!(p.exists(), "libpam_wrapper.so missing: apt-get install libpam-wrapper pamtester");
    p
}

/// One test's world: a store, a daemon on a temp socket, PAM service files, a snapshot.
struct World {
    dir: tempfile::TempDir,
    store: Store,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl World {
    fn new() -> World {
        World::with_config("")
    }

    /// A world whose gatehouse.toml ends with `extra` (whole sections).
    fn with_config(extra: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let cfg = Config::parse(&format!(
            "database = \"sqlite://{d}/g.db\"\nhome_base = \"{d}/home\"\nftp_servers = [\"vsftpd\"]\n\
             vsftpd_user_config_dir = \"{d}/vsftpd\"\n[lockout]\nfailures = 3\n{extra}",
            d = dir.path().display()
        ))
        .unwrap();
        let store = rt.block_on(async {
            let s = Store::open(cfg.clone(), true).await.unwrap();
            s.migrate().await.unwrap();
            s
        });
        // vsftpd logins need the user's per-user file (gatehoused refuses them without it);
        // `pamtester` writes it, as gatehouse-tasks would, before each vsftpd call.
        std::fs::create_dir(dir.path().join("vsftpd")).unwrap();
        let mut w = World { dir, store, rt, stop: None };
        w.start_daemon(&cfg);
        let so = cdylib();
        let services = w.dir.path().join("pam.d");
        std::fs::create_dir(&services).unwrap();
        let sock = w.socket();
        for (service, arg) in [("sshd", ""), ("vsftpd", ""), ("su", ""), ("portal", " protocol=web")] {
            let m = format!("{} socket={}{arg}", so.display(), sock.display());
            std::fs::write(
                services.join(service),
                format!("auth required {m}\naccount required {m}\npassword required {m}\nsession required {m}\n"),
            )
            .unwrap();
        }
        w
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn start_daemon(&mut self, cfg: &Config) {
        let (dcfg, _) = DaemonConfig::from_config(cfg).unwrap();
        let listener = self.rt.block_on(async { tokio::net::UnixListener::bind(self.socket()).unwrap() });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let store = self.store.clone();
        self.rt.spawn(serve(store, dcfg, listener, async move {
            let _ = rx.await;
        }));
        self.stop = Some(tx);
    }

    fn stop_daemon(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        std::thread::sleep(Duration::from_millis(200));
        let _ = std::fs::remove_file(self.socket());
    }

    fn add(&self, name: &str, f: impl FnOnce(&mut NewUser)) {
        let mut u = NewUser {
            name: name.into(),
            password_hash: Some(hash_password(&Secret::new(PASSWORD.into())).unwrap()),
            ..NewUser::default()
        };
        f(&mut u);
        self.rt.block_on(self.store.add_user("test", u)).unwrap();
    }

    fn set(&self, name: &str, c: UserChanges) {
        self.rt.block_on(self.store.update_user("test", name, c)).unwrap();
    }

    /// Writes the snapshot of the current database where the namespace script picks it up.
    fn export(&self) -> PathBuf {
        let bytes = self.rt.block_on(gatehouse_server::export::build_from_store(&self.store, 1)).unwrap();
        let p = self.dir.path().join("nss.db");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Runs pamtester in a private mount namespace; returns (success, output, elapsed).
    fn pamtester(&self, service: &str, user: &str, rhost: &str, ops: &[&str], input: &str) -> (bool, String, Duration) {
        if service == "vsftpd" {
            std::fs::write(self.dir.path().join("vsftpd").join(user), "local_root=/x\n").unwrap();
        }
        let snap = self.export();
        let script = format!(
            "set -e\nmount -t tmpfs -o mode=0755 tmpfs /var/lib\nmkdir -m 0755 /var/lib/gatehouse\n\
             cp {snap} /var/lib/gatehouse/nss.db\nchmod 0644 /var/lib/gatehouse/nss.db\n\
             exec env LD_PRELOAD={wrapper} PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR={services} \
             pamtester -v -I rhost={rhost} {service} {user} {ops}",
            snap = snap.display(),
            wrapper = pam_wrapper().display(),
            services = self.dir.path().join("pam.d").display(),
            ops = ops.join(" "),
        );
        let t = Instant::now();
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text, t.elapsed())
    }

    // One call per scenario reads better than a builder in a test table.
    #[allow(clippy::too_many_arguments)]
    fn expect(
        &self,
        service: &str,
        user: &str,
        rhost: &str,
        ops: &[&str],
        input: &str,
        ok: bool,
        needle: &str,
    ) -> Duration {
        let (success, text, took) = self.pamtester(service, user, rhost, ops, input);
        assert_eq!(success, ok, "{service} {user} {ops:?} from {rhost}: {text}");
        assert!(text.contains(needle), "{service} {user} {ops:?}: expected {needle:?} in:\n{text}");
        took
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop_daemon();
    }
}

fn pw(p: &str) -> String {
    format!("{p}\n")
}

#[test]
fn logins_through_the_real_module() {
    let w = World::new();
    w.add("alice", |_| {});
    w.add("ipuser", |u| u.allowed_ips = vec!["10.0.0.0/8".parse().unwrap()]);
    w.add("ftponly", |u| u.protocols = Some(vec!["ftp".into()]));
    w.add("webuser", |u| u.protocols = Some(vec!["web".into()]));
    let ok = "successfully";
    w.expect("sshd", "alice", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, ok);
    w.expect("sshd", "alice", "127.0.0.1", &["authenticate"], &pw("wrong password!"), false, "Authentication failure");
    // Not a gatehouse user: unknown at once (the stack's user_unknown=ignore moves on).
    w.expect("sshd", "nosuchuser", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "User not known");
    w.expect("sshd", "root", "127.0.0.1", &["acct_mgmt"], "", false, "User not known");
    // IP rules: inside, outside, a hostname (fails closed), a mapped IPv4 address.
    w.expect("sshd", "ipuser", "10.1.2.3", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, ok);
    w.expect("sshd", "ipuser", "192.0.2.1", &["acct_mgmt"], "", false, "Permission denied");
    w.expect("sshd", "ipuser", "client.example.com", &["acct_mgmt"], "", false, "Permission denied");
    w.expect("sshd", "ipuser", "::ffff:10.9.9.9", &["acct_mgmt"], "", true, "account management done");
    // Protocols: ftp-only over ssh, over vsftpd; an unmapped service; protocol= argument.
    w.expect("sshd", "ftponly", "127.0.0.1", &["acct_mgmt"], "", false, "Permission denied");
    w.expect("vsftpd", "ftponly", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, ok);
    w.expect("su", "alice", "127.0.0.1", &["acct_mgmt"], "", false, "Permission denied");
    w.expect("portal", "webuser", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, ok);
    w.expect("portal", "alice", "127.0.0.1", &["acct_mgmt"], "", false, "Permission denied");
    // Inactive and expired.
    w.set("alice", UserChanges { active: Some(false), ..Default::default() });
    w.expect("sshd", "alice", "127.0.0.1", &["acct_mgmt"], "", false, "Permission denied");
    w.set("alice", UserChanges { active: Some(true), expires_at: Some(Some(1_000_000_000)), ..Default::default() });
    w.expect("sshd", "alice", "127.0.0.1", &["acct_mgmt"], "", false, "Permission denied");
}

/// A password for a name that no source has costs a verify in the daemon, as a gatehouse name's
/// does, so timing tells nothing; it also counts against the source like a wrong password. The
/// throttle is how this test sees that the daemon was asked: ten such attempts (the default
/// burst) leave a real user's right password refused from that address, while attempts at a
/// name the host's files have (root) are answered at once and leave the throttle alone.
#[test]
fn a_name_no_source_has_costs_a_verify_and_counts_against_the_source() {
    // The burst of 10 refills over an hour, not the default 10 s: on a loaded machine each
    // pamtester run takes a second or more, and the bucket must not refill during the test.
    let w = World::with_config("[throttle]\nburst = 10\nper = \"1h\"\n");
    w.add("alice", |_| {});
    for _ in 0..10 {
        w.expect("sshd", "root", "198.51.100.8", &["authenticate"], &pw("guess"), false, "User not known");
    }
    w.expect("sshd", "alice", "198.51.100.8", &["authenticate"], &pw(PASSWORD), true, "successfully");
    for i in 0..10 {
        let name = format!("nosuch{i}");
        w.expect("sshd", &name, "198.51.100.7", &["authenticate"], &pw("guess"), false, "User not known");
    }
    w.expect("vsftpd", "alice", "198.51.100.7", &["authenticate"], &pw(PASSWORD), false, "Authentication failure");
    w.expect("sshd", "alice", "198.51.100.9", &["authenticate"], &pw(PASSWORD), true, "successfully");
}

#[test]
fn lockout_then_unlock() {
    let w = World::new();
    w.add("bob", |_| {});
    for _ in 0..3 {
        w.expect(
            "sshd",
            "bob",
            "127.0.0.1",
            &["authenticate"],
            &pw("not the password"),
            false,
            "Authentication failure",
        );
    }
    // Locked: even the right password is refused now.
    w.expect("sshd", "bob", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "Authentication failure");
    w.rt.block_on(w.store.unlock("test", "bob")).unwrap();
    w.expect("sshd", "bob", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, "successfully");
}

#[test]
fn forced_password_change() {
    let w = World::new();
    w.add("carol", |u| u.must_change_password = true);
    w.expect("sshd", "carol", "127.0.0.1", &["authenticate"], &pw(PASSWORD), true, "successfully");
    w.expect("sshd", "carol", "127.0.0.1", &["acct_mgmt"], "", false, "new one required");
    // Too short: the daemon's policy refuses it (PAM asks for the new password twice).
    w.expect(
        "sshd",
        "carol",
        "127.0.0.1",
        &["chauthtok"],
        "short\nshort\n",
        false,
        "Authentication token manipulation error",
    );
    let new = "a much longer new passphrase";
    w.expect("sshd", "carol", "127.0.0.1", &["chauthtok"], &format!("{new}\n{new}\n"), true, "successfully");
    w.expect("sshd", "carol", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(new), true, "successfully");
    w.expect("sshd", "carol", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "Authentication failure");
}

#[test]
fn daemon_down_or_hung_is_unavailable_and_local_users_stay_fast() {
    let mut w = World::new();
    w.add("dave", |_| {});
    w.stop_daemon();
    let took =
        w.expect("sshd", "dave", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "retrieve authentication info");
    assert!(took < Duration::from_secs(3), "daemon down: {took:?}");
    // Hung: a socket that accepts into its backlog and never answers.
    let _hung = std::os::unix::net::UnixListener::bind(w.socket()).unwrap();
    let took =
        w.expect("sshd", "dave", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "retrieve authentication info");
    assert!(took < Duration::from_secs(7), "daemon hung: {took:?}");
    // root and local users never wait for the daemon. The figure includes starting a mount
    // namespace and pamtester, so the bound is loose; the module's own share is microseconds.
    let took = w.expect("sshd", "root", "127.0.0.1", &["authenticate"], &pw("x"), false, "User not known");
    assert!(took < Duration::from_millis(1500), "root with the daemon hung: {took:?}");
}

#[test]
fn module_dependencies_and_symbols() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "pam_gatehouse", "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && tree.contains("pam_gatehouse"), "{tree}");
    for bad in ["tokio", "sqlx", "rayon", "async-", "futures", "threadpool", "crossbeam"] {
        assert!(!tree.contains(bad), "pam_gatehouse depends on {bad}:\n{tree}");
    }
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(cdylib()).output().unwrap();
    let mut syms: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .collect();
    syms.sort();
    assert_eq!(
        syms,
        [
            "pam_sm_acct_mgmt",
            "pam_sm_authenticate",
            "pam_sm_chauthtok",
            "pam_sm_close_session",
            "pam_sm_open_session",
            "pam_sm_setcred"
        ],
        "exported symbols"
    );
}

/// A code for the secret at `now + offset` seconds (the daemon accepts ±1 step).
fn totp_code(secret: &Secret, offset: i64) -> String {
    gatehouse_policy::totp::code_at(secret.expose(), gatehouse_server::store::now() + offset).unwrap()
}

#[test]
fn totp_right_wrong_replayed_and_appended_for_ftp() {
    let w = World::new();
    w.add("tina", |_| {});
    let (_, secret) = w.rt.block_on(w.store.totp_enable("test", "tina", false)).unwrap();
    let ok = "successfully";
    let fail = "Authentication failure";
    let code = totp_code(&secret, 0);
    // Right: password, then the code at the "Verification code: " prompt.
    let input = format!("{PASSWORD}\n{code}\n");
    w.expect("sshd", "tina", "127.0.0.1", &["authenticate", "acct_mgmt"], &input, true, ok);
    // Replayed: the same code again is refused.
    w.expect("sshd", "tina", "127.0.0.1", &["authenticate"], &input, false, fail);
    // Wrong: a code valid at no step of the window.
    let window: Vec<String> = (-2..=2).map(|k| totp_code(&secret, k * 30)).collect();
    let wrong = (0..1000).map(|n| format!("{:06}", 123_457 + n)).find(|c| !window.contains(c)).unwrap();
    w.expect("sshd", "tina", "127.0.0.1", &["authenticate"], &format!("{PASSWORD}\n{wrong}\n"), false, fail);
    // The right password with no code answer at all is not a login.
    w.expect("sshd", "tina", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "");
    // FTP: the code appended to the password (the next step's, since this one is used).
    let next = totp_code(&secret, 30);
    let ftp = pw(&format!("{PASSWORD}{next}"));
    w.expect("vsftpd", "tina", "127.0.0.1", &["authenticate", "acct_mgmt"], &ftp, true, ok);
    w.expect("vsftpd", "tina", "127.0.0.1", &["authenticate"], &ftp, false, fail);
    w.expect("vsftpd", "tina", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, fail);
    // The snapshot puts TOTP users in gatehouse-totp; disabling TOTP makes the password enough.
    w.rt.block_on(w.store.totp_disable("test", "tina")).unwrap();
    w.rt.block_on(w.store.unlock("test", "tina")).unwrap();
    w.expect("vsftpd", "tina", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, ok);
}

#[test]
fn invitation_forces_a_new_password_once() {
    let w = World::new();
    w.add("ivan", |u| u.password_hash = None);
    let inv = w.rt.block_on(w.store.invite("test", "ivan", 3600)).unwrap();
    let code = inv.code.expose().to_string();
    // The code logs in; the account phase then requires a new password.
    w.expect("sshd", "ivan", "127.0.0.1", &["authenticate"], &pw(&code), true, "successfully");
    w.expect("sshd", "ivan", "127.0.0.1", &["acct_mgmt"], "", false, "new one required");
    // The policy refuses a short one; a good one is set.
    w.expect(
        "sshd",
        "ivan",
        "127.0.0.1",
        &["chauthtok"],
        "short\nshort\n",
        false,
        "Authentication token manipulation error",
    );
    let new = "a much longer new passphrase";
    w.expect("sshd", "ivan", "127.0.0.1", &["chauthtok"], &format!("{new}\n{new}\n"), true, "successfully");
    w.expect("sshd", "ivan", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(new), true, "successfully");
    // The code works once.
    w.expect("sshd", "ivan", "127.0.0.1", &["authenticate"], &pw(&code), false, "Authentication failure");
    // Not over FTP (which cannot change a password): a fresh code is refused there and survives.
    let again = w.rt.block_on(w.store.invite("test", "ivan", 3600)).unwrap();
    let again = again.code.expose().to_string();
    w.expect("vsftpd", "ivan", "127.0.0.1", &["authenticate"], &pw(&again), false, "Authentication failure");
    w.expect("sshd", "ivan", "127.0.0.1", &["authenticate"], &pw(&again), true, "successfully");
}

/// Issue 15, item 7: an invitation code stands in for a TOTP user's password, never for the
/// code: without the right TOTP code it logs nobody in and sets no password; with it, the new
/// password is required as for any invitation.
#[test]
fn invitation_of_a_totp_user_still_asks_for_the_code() {
    let w = World::new();
    w.add("tia", |u| u.password_hash = None);
    let (_, secret) = w.rt.block_on(w.store.totp_enable("test", "tia", false)).unwrap();
    let fail = "Authentication failure";
    let window: Vec<String> = (-2..=2).map(|k| totp_code(&secret, k * 30)).collect();
    let wrong = (0..1000).map(|n| format!("{:06}", 123_457 + n)).find(|c| !window.contains(c)).unwrap();
    let code = w.rt.block_on(w.store.invite("test", "tia", 3600)).unwrap().code.expose().to_string();
    // The code alone (no answer at the code prompt), or with a wrong TOTP code: no login.
    w.expect("sshd", "tia", "127.0.0.1", &["authenticate"], &pw(&code), false, "");
    let code = w.rt.block_on(w.store.invite("test", "tia", 3600)).unwrap().code.expose().to_string();
    w.expect("sshd", "tia", "127.0.0.1", &["authenticate"], &format!("{code}\n{wrong}\n"), false, fail);
    // With the right TOTP code: logged in, and a new password is required and set.
    w.rt.block_on(w.store.unlock("test", "tia")).unwrap();
    let code = w.rt.block_on(w.store.invite("test", "tia", 3600)).unwrap().code.expose().to_string();
    let totp = totp_code(&secret, 0);
    w.expect("sshd", "tia", "127.0.0.1", &["authenticate"], &format!("{code}\n{totp}\n"), true, "successfully");
    w.expect("sshd", "tia", "127.0.0.1", &["acct_mgmt"], "", false, "new one required");
    let new = "a much longer new passphrase";
    w.expect("sshd", "tia", "127.0.0.1", &["chauthtok"], &format!("{new}\n{new}\n"), true, "successfully");
}

/// App passwords (issue 9) through the real module: with TOTP on, an FTP-only app password logs
/// in over vsftpd (protocol ftp) without a code, is refused over sshd, and is refused after
/// revocation; another is refused once expired.
#[test]
fn app_password_over_ftp_with_totp_refused_for_ssh_revoked_and_expired() {
    let w = World::new();
    w.add("tom", |u| u.protocols = Some(vec!["ftp".into(), "ssh".into()]));
    w.rt.block_on(w.store.totp_enable("test", "tom", false)).unwrap();
    let add = |label: &str, expires: Option<i64>| {
        let (_, token) =
            w.rt.block_on(w.store.add_app_password("test", "tom", label, vec!["ftp".into()], expires)).unwrap();
        token.expose().to_string()
    };
    let token = add("filezilla", None);
    let (ok, fail) = ("successfully", "Authentication failure");
    // The password alone is not enough over FTP (the code would have to be appended).
    w.expect("vsftpd", "tom", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, fail);
    w.expect("vsftpd", "tom", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(&token), true, ok);
    w.expect("sshd", "tom", "127.0.0.1", &["authenticate"], &pw(&token), false, fail);
    w.rt.block_on(w.store.revoke_app_password("test", "tom", "filezilla")).unwrap();
    w.expect("vsftpd", "tom", "127.0.0.1", &["authenticate"], &pw(&token), false, fail);
    // Expiry (that it works until then is the daemon suite's): one second ahead, then past.
    let expires = gatehouse_server::store::now() + 1;
    let short = add("script", Some(expires));
    while gatehouse_server::store::now() <= expires {
        std::thread::sleep(Duration::from_millis(200));
    }
    w.expect("vsftpd", "tom", "127.0.0.1", &["authenticate"], &pw(&short), false, fail);
}

/// A renamed user (issue 9) logs in under the new name through the module (the snapshot's name
/// index has it), with the same password; the old name is no longer a gatehouse user.
#[test]
fn renamed_user_logs_in_under_the_new_name() {
    let w = World::new();
    w.add("rita", |_| {});
    w.set("rita", UserChanges { name: Some("rita.new".into()), ..Default::default() });
    w.expect("sshd", "rita.new", "127.0.0.1", &["authenticate", "acct_mgmt"], &pw(PASSWORD), true, "successfully");
    w.expect("sshd", "rita", "127.0.0.1", &["authenticate"], &pw(PASSWORD), false, "User not known");
}
