//! Debian's stock PAM stacks (`/etc/pam.d/sshd`, `vsftpd`, `su`, `passwd`) with the shipped
//! pam-auth-update profile, driven by `pamtester` through the real Linux-PAM (no pam_wrapper),
//! against the real `gatehoused` binary at its fixed socket. Everything happens inside a private
//! mount namespace (`tests/data/stacks-setup.sh`: overlays on `/etc`, `/var/lib`,
//! `/usr/share/pam-configs` and the multiarch lib directory, a tmpfs on `/run`), so the host's
//! files are never touched. Needs root, `pamtester`, `pam-auth-update`, perl, cargo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const PASSWORD: &str = "correct horse battery staple";

/// The timing assertions must not share the CPU with the other scenario's password hashing.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The modules and binaries from other packages of the workspace, built once per run.
struct Built {
    pam_so: PathBuf,
    nss_so: PathBuf,
    gatehoused: PathBuf,
    cli: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "pam_gatehouse", "-p", "nss_gatehouse", "-p", "gatehouse-server", "--lib"])
            .args(["--bin", "gatehoused", "--bin", "gatehouse"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        cmd.env("CARGO_TARGET_DIR", dir.parent().unwrap());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
        Built {
            pam_so: dir.join("libpam_gatehouse.so"),
            nss_so: dir.join("libnss_gatehouse.so"),
            gatehoused: dir.join("gatehoused"),
            cli: dir.join("gatehouse"),
        }
    })
}

/// One `pamtester` run as the namespace script reported it.
#[derive(Debug)]
struct Res {
    rc: i32,
    ms: u64,
    out: String,
}

/// What a scenario script printed: its `RESULT` lines by label, and everything else.
struct Run {
    results: Vec<(String, Res)>,
    text: String,
    daemon_log: String,
}

impl Run {
    fn get(&self, label: &str) -> &Res {
        self.results
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no result {label:?} in:\n{}", self.text))
    }

    /// The transaction succeeded (or failed) and its output contains `needle`.
    fn expect(&self, label: &str, ok: bool, needle: &str) -> u64 {
        let r = self.get(label);
        assert_eq!(r.rc == 0, ok, "{label}: expected {}, got {r:?}\ndaemon log:\n{}", ok_word(ok), self.daemon_log);
        assert!(r.out.contains(needle), "{label}: expected {needle:?} in {:?}", r.out);
        r.ms
    }
}

fn ok_word(ok: bool) -> &'static str {
    if ok {
        "success"
    } else {
        "failure"
    }
}

/// Runs the setup script, then `scenario`, in a private mount namespace.
fn run(scenario: &str) -> Run {
    let b = built();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let d = t.display();
    std::fs::write(t.join("g.toml"), format!("database = \"sqlite://{d}/g.db\"\nhome_base = \"{d}/home\"\n")).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/pam-configs/gatehouse");
    let script = format!(". {}/stacks-setup.sh\n{scenario}", data.display());
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("T", t)
        .env("DATA", &data)
        .env("GATEHOUSE_TESTLIB", concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/lib"))
        .env("PROFILE", &profile)
        .env("PAM_SO", &b.pam_so)
        .env("NSS_SO", &b.nss_so)
        .env("GATEHOUSED", &b.gatehoused)
        .env("GATEHOUSE_CLI", &b.cli)
        .env("PW", PASSWORD)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let daemon_log = std::fs::read_to_string(t.join("daemon.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "namespace script failed ({}):\nstdout:\n{text}\nstderr:\n{}\ndaemon log:\n{daemon_log}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let results = text
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| {
            let mut f = l.splitn(4, ' ');
            let label = f.next().unwrap().to_string();
            let rc = f.next().unwrap().parse().unwrap();
            let ms = f.next().unwrap().parse().unwrap();
            (label, Res { rc, ms, out: f.next().unwrap_or("").to_string() })
        })
        .collect();
    Run { results, text, daemon_log }
}

/// The stacks pam-auth-update wrote, as `== common-<type>` blocks (for the assertions).
const SHOW_STACKS: &str = "for f in auth account password session; do echo \"== common-$f\"; \
    grep -v '^#' /etc/pam.d/common-$f | grep . | tr -s ' \\t' ' '; done\n";

/// The lines of one `== common-<type>` block whose module is `module`, in order.
fn stack<'a>(text: &'a str, kind: &str) -> Vec<&'a str> {
    let head = format!("== common-{kind}");
    text.lines().skip_while(|l| *l != head).skip(1).take_while(|l| !l.starts_with("== ")).collect()
}

fn position(lines: &[&str], module: &str) -> usize {
    lines.iter().position(|l| l.contains(module)).unwrap_or_else(|| panic!("no {module} in {lines:#?}"))
}

#[test]
fn stock_stacks_with_the_profile() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let new_local = "new local passphrase one";
    let newer_local = "newer local passphrase two";
    let new_alice = "alice new passphrase one";
    let r = run(&format!(
        "{SHOW_STACKS}start_daemon\n\
         pam sshd-alice sshd alice 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam sshd-alice-wrong sshd alice authenticate 'not her password\\n'\n\
         pam sshd-localbob sshd localbob 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam sshd-root sshd root 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam sshd-frank sshd frank 'authenticate acct_mgmt' \"$PW\\n\"\n\
         mkdir -p /etc/vsftpd/gatehouse && touch /etc/vsftpd/gatehouse/frank /etc/vsftpd/gatehouse/alice\n\
         pam vsftpd-frank vsftpd frank 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam vsftpd-alice vsftpd alice 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam vsftpd-localbob vsftpd localbob 'authenticate acct_mgmt' \"$PW\\n\"\n\
         pam vsftpd-root vsftpd root authenticate \"$PW\\n\"\n\
         pam su-localbob su localbob 'authenticate acct_mgmt' ''\n\
         pam su-alice su alice 'authenticate acct_mgmt' ''\n\
         pam passwd-localbob passwd localbob chauthtok '{new_local}\\n{new_local}\\n'\n\
         pam sshd-localbob-new sshd localbob authenticate '{new_local}\\n'\n\
         cmd passwd-as-localbob '{new_local}\\n{newer_local}\\n{newer_local}\\n' runuser -u localbob -- passwd\n\
         pam sshd-localbob-newer sshd localbob authenticate '{newer_local}\\n'\n\
         pam passwd-alice passwd alice chauthtok '{new_alice}\\n{new_alice}\\n'\n\
         pam sshd-chauthtok-alice sshd alice chauthtok '{new_alice}\\n{new_alice}\\n'\n\
         pam sshd-alice-new sshd alice 'authenticate acct_mgmt' '{new_alice}\\n'\n\
         pam sshd-alice-old sshd alice authenticate \"$PW\\n\"\n\
         pam sshd-localbob-after sshd localbob authenticate '{newer_local}\\n'\n\
         echo \"shadow-alice $(grep -c '^alice:' /etc/shadow || true)\"\n"
    ));
    // pam-auth-update put the profile where DESIGN says: pam_unix first (it rewrites `end`
    // into a jump over the rest of the primary block), gatehouse's account line Additional.
    let auth = stack(&r.text, "auth");
    assert!(position(&auth, "pam_unix") < position(&auth, "pam_gatehouse"), "common-auth: {auth:#?}");
    assert!(position(&auth, "pam_gatehouse") < position(&auth, "pam_deny"), "common-auth: {auth:#?}");
    assert!(auth[position(&auth, "pam_unix")].contains("[success=2 default=ignore]"), "common-auth: {auth:#?}");
    let gh = auth[position(&auth, "pam_gatehouse")];
    assert!(gh.contains("[success=1 user_unknown=ignore default=die] pam_gatehouse.so try_first_pass"), "{gh}");
    let account = stack(&r.text, "account");
    assert!(position(&account, "pam_permit") < position(&account, "pam_gatehouse"), "common-account: {account:#?}");
    let password = stack(&r.text, "password");
    assert!(position(&password, "pam_unix") < position(&password, "pam_gatehouse"), "common-password: {password:#?}");
    assert!(!password[position(&password, "pam_unix")].contains("use_authtok"), "common-password: {password:#?}");
    let session = stack(&r.text, "session");
    assert!(session[position(&session, "pam_gatehouse")].contains("optional"), "common-session: {session:#?}");

    let (ok, denied, failure) = ("successfully authenticated", "Permission denied", "Authentication failure");
    // sshd: a gatehouse user (pam_unix prompts and fails on `*`, gatehouse takes the token),
    // a local user, root; a wrong password; an FTP-only user is refused in account.
    r.expect("sshd-alice", true, "account management done");
    r.expect("sshd-alice-wrong", false, failure);
    r.expect("sshd-localbob", true, "account management done");
    r.expect("sshd-root", true, "account management done");
    r.expect("sshd-frank", false, denied);
    // vsftpd: Debian's pam_listfile (/etc/ftpusers) still refuses root; pam_shells accepts
    // gatehouse-sftp from /etc/shells.
    r.expect("vsftpd-frank", true, "account management done");
    r.expect("vsftpd-alice", true, "account management done");
    r.expect("vsftpd-localbob", true, "account management done");
    r.expect("vsftpd-root", false, failure);
    // su (as root: pam_rootok): fine to a local user, refused to a gatehouse user (no protocol).
    r.expect("su-localbob", true, "account management done");
    r.expect("su-alice", false, denied);
    // passwd for a local user: as root through PAM, then as the user with the real passwd.
    r.expect("passwd-localbob", true, "altered successfully");
    r.expect("sshd-localbob-new", true, ok);
    r.expect("passwd-as-localbob", true, "password updated successfully");
    r.expect("sshd-localbob-newer", true, ok);
    r.expect("sshd-localbob-after", true, ok);
    // A gatehouse user's password is changed by gatehouse: by root with `passwd` (a password
    // change is not a login, so the unmapped `passwd` service is fine for root), and through
    // sshd's stack as a forced change would do it.
    r.expect("passwd-alice", true, "altered successfully");
    r.expect("sshd-chauthtok-alice", true, "altered successfully");
    r.expect("sshd-alice-new", true, "account management done");
    r.expect("sshd-alice-old", false, failure);
    assert!(r.daemon_log.contains("password changed"), "daemon log:\n{}", r.daemon_log);
    assert!(r.text.contains("shadow-alice 0\n"), "pam_unix wrote alice into /etc/shadow:\n{}", r.text);
}

/// Transactions that never involve the daemon (root, a local user, su), timed three times each.
const LOCAL: &str = "for i in 1 2 3; do \
    pam sshd-root-$P-$i sshd root authenticate \"$PW\\n\"; \
    pam sshd-localbob-$P-$i sshd localbob 'authenticate acct_mgmt' \"$PW\\n\"; \
    pam vsftpd-localbob-$P-$i vsftpd localbob 'authenticate acct_mgmt' \"$PW\\n\"; \
    pam su-localbob-$P-$i su localbob 'authenticate acct_mgmt' ''; \
    pam su-root-$P-$i su root 'authenticate acct_mgmt' ''; \
    done\n";

#[test]
fn daemon_stopped_or_hung() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(&format!(
        "start_daemon\nP=up\n{LOCAL}\
         stop_daemon\nP=down\n{LOCAL}\
         pam sshd-alice-down sshd alice authenticate \"$PW\\n\"\n\
         pam sshd-alice-acct-down sshd alice acct_mgmt ''\n\
         pam vsftpd-frank-down vsftpd frank authenticate \"$PW\\n\"\n\
         start_hung\nP=hung\n{LOCAL}\
         pam sshd-alice-hung sshd alice authenticate \"$PW\\n\"\n\
         pam sshd-alice-acct-hung sshd alice acct_mgmt ''\n\
         pam vsftpd-frank-hung vsftpd frank authenticate \"$PW\\n\"\n\
         stop_hung\n"
    ));
    // Gatehouse users: AUTHINFO_UNAVAIL within 6 s, the bound. A failed password
    // authentication also waits for pam_unix's fail delay (2 s +-25 %, set when pam_unix refused
    // the `*` password and applied by libpam at the end), which is why the module's deadline is
    // 3 s (modcore::client::DEADLINE): 3 s + at most 2.5 s stays under 6 s.
    let unavail = "cannot retrieve authentication info";
    for state in ["down", "hung"] {
        for label in [format!("sshd-alice-{state}"), format!("vsftpd-frank-{state}")] {
            let ms = r.expect(&label, false, unavail);
            assert!(ms < 6000, "{label}: {ms} ms (deadline 3 s + fail delay up to {FAIL_DELAY_MAX_MS} ms)");
        }
        let label = format!("sshd-alice-acct-{state}");
        let ms = r.expect(&label, false, unavail);
        assert!(ms < 6000, "{label}: {ms} ms");
    }
    // Root, a local user and su never wait for the daemon. Each figure is the best of three and
    // includes starting pamtester and, for password logins, pam_unix's yescrypt verification
    // (about 40 ms here), none of it gatehouse's. Under 100 ms; on a machine so slow that even
    // the daemon-up baseline is not, the daemon's state must not add more than 25 ms.
    let best = |label: &str, state: &str| {
        (1..=3).map(|i| r.expect(&format!("{label}-{state}-{i}"), true, "successfully authenticated")).min().unwrap()
    };
    for label in ["sshd-root", "sshd-localbob", "vsftpd-localbob", "su-localbob", "su-root"] {
        let base = best(label, "up");
        for state in ["down", "hung"] {
            let ms = best(label, state);
            assert!(ms < 100 || ms <= base + 25, "{label} with the daemon {state}: {ms} ms (daemon up: {base} ms)");
        }
    }
}

/// Linux-PAM's randomised fail delay for pam_unix's 2 s: at most 2.5 s.
const FAIL_DELAY_MAX_MS: u64 = 2500;
