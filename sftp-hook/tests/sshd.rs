//! End to end with OpenSSH: Debian's stock `sshd` (its own port on loopback) with the shipped
//! drop-in, the real `gatehoused` and `gatehouse-tasks`, `pam_gatehouse.so`,
//! `libnss_gatehouse.so.2`, `gatehouse-keys` and `gatehouse-sftp` at their installed paths, all
//! inside private mount and PID namespaces (`tests/data/sshd-setup.sh`; the host's files are never
//! touched and every process ends with the namespace), driven by real clients: OpenSSH `ssh`,
//! `sftp` and `scp`, rsync, rclone and lftp for key logins and transfers, paramiko
//! (`tests/data/kbdint.py`) for keyboard-interactive conversations, OpenSSH with `SSH_ASKPASS` for
//! one password login.
//!
//! One namespace and one sshd serve every test: the scenario below runs once and reports each
//! client run as a `RESULT` line plus what sshd logged meanwhile (`SSHDLOG`); each `#[test]`
//! asserts on its own labels. Success is judged from sshd's own log ("Accepted publickey for
//! alice", "Starting session: forced-command (config) …") as well as from what the client saw. A
//! failing assertion prints the client's output, what sshd logged meanwhile, sshd's whole log and
//! gatehoused's log. Needs root, openssh-server, openssh-client, rsync, rclone, lftp and
//! python3-paramiko (for `/usr/bin/python3`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every gatehouse user's password.
const PASSWORD: &str = "correct horse battery staple";
/// The password bob chooses when he logs in with his invitation.
const BOB_NEW: &str = "bob chose this long passphrase";

/// The modules and binaries from other packages of the workspace, built once per run.
struct Built {
    pam_so: PathBuf,
    nss_so: PathBuf,
    gatehoused: PathBuf,
    tasks: PathBuf,
    cli: PathBuf,
}

fn built() -> Result<Built, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().and_then(Path::parent).ok_or("no target dir")?.to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "pam_gatehouse", "-p", "nss_gatehouse", "-p", "gatehouse-server", "--lib"])
        .args(["--bin", "gatehoused", "--bin", "gatehouse-tasks", "--bin", "gatehouse"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", dir.parent().ok_or("no target dir")?);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("cargo build: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(Built {
        pam_so: dir.join("libpam_gatehouse.so"),
        nss_so: dir.join("libnss_gatehouse.so"),
        gatehoused: dir.join("gatehoused"),
        tasks: dir.join("gatehouse-tasks"),
        cli: dir.join("gatehouse"),
    })
}

/// One client run as the namespace script reported it.
#[derive(Debug)]
struct Res {
    rc: i32,
    ms: u64,
    /// The client's output, lines joined by `|`.
    out: String,
    /// What sshd logged while the client ran, lines joined by `|`.
    log: String,
}

/// What the scenario printed: its `RESULT`/`SSHDLOG` pairs by label, everything else, and the
/// daemons' logs.
struct Run {
    results: Vec<(String, Res)>,
    text: String,
    sshd_log: String,
    daemon_log: String,
}

impl Run {
    fn get(&self, label: &str) -> &Res {
        self.results
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no result {label:?} in the scenario's output:\n{}\n{}", self.text, self.logs()))
    }

    fn logs(&self) -> String {
        format!("--- sshd log:\n{}\n--- gatehoused log:\n{}", self.sshd_log, self.daemon_log)
    }

    fn fail(&self, label: &str, what: &str) -> ! {
        let r = self.get(label);
        panic!(
            "{label}: {what}\n--- client (rc {}, {} ms):\n{}\n--- sshd meanwhile:\n{}\n{}",
            r.rc,
            r.ms,
            r.out.replace('|', "\n"),
            r.log.replace('|', "\n"),
            self.logs()
        )
    }

    /// The client exited with `rc`.
    fn rc(&self, label: &str, rc: i32) -> &Self {
        if self.get(label).rc != rc {
            self.fail(label, &format!("expected exit status {rc}"));
        }
        self
    }

    /// The client exited with a status other than 0.
    fn failed(&self, label: &str) -> &Self {
        if self.get(label).rc == 0 {
            self.fail(label, "expected the client to fail");
        }
        self
    }

    /// The client's output contains `needle`.
    fn said(&self, label: &str, needle: &str) -> &Self {
        if !self.get(label).out.contains(needle) {
            self.fail(label, &format!("expected {needle:?} in the client's output"));
        }
        self
    }

    /// The client's output does not contain `needle`.
    fn not_said(&self, label: &str, needle: &str) -> &Self {
        if self.get(label).out.contains(needle) {
            self.fail(label, &format!("did not expect {needle:?} in the client's output"));
        }
        self
    }

    /// sshd logged `needle` while the client ran.
    fn logged(&self, label: &str, needle: &str) -> &Self {
        if !self.get(label).log.contains(needle) {
            self.fail(label, &format!("expected sshd to log {needle:?}"));
        }
        self
    }

    /// sshd did not log `needle` while the client ran.
    fn not_logged(&self, label: &str, needle: &str) -> &Self {
        if self.get(label).log.contains(needle) {
            self.fail(label, &format!("did not expect sshd to log {needle:?}"));
        }
        self
    }

    /// sshd accepted no login and started no session while the client ran.
    fn no_login(&self, label: &str) -> &Self {
        self.not_logged(label, "Accepted publickey for")
            .not_logged(label, "Accepted keyboard-interactive")
            .not_logged(label, "Accepted password")
            .not_logged(label, "Starting session")
    }

    /// The lines of the `== NAME` block the scenario printed.
    fn block(&self, name: &str) -> Vec<&str> {
        let head = format!("== {name}");
        let lines: Vec<&str> =
            self.text.lines().skip_while(|l| *l != head).skip(1).take_while(|l| !l.starts_with("== ")).collect();
        assert!(self.text.contains(&head), "no block {name:?} in:\n{}", self.text);
        lines
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Settings sshd applies to a connection (`sshd -T -C`), for the drop-in checks.
const SHOW_SETTINGS: &str = "for u in alice carol localbob root; do \
    echo \"== sshd-T $u\"; \
    /usr/sbin/sshd -T -f /etc/ssh/sshd_config -C user=$u,addr=127.0.0.1,host=x,laddr=127.0.0.1,lport=22 | \
    grep -E '^(authorizedkeysfile|authorizedkeyscommand|authorizedkeyscommanduser|forcecommand|disableforwarding|\
permittty|permituserrc|permittunnel|kbdinteractiveauthentication|authenticationmethods) '; \
    done\n";

/// The client runs, in order (TOTP codes are accepted once each, so the order matters).
const SCENARIO: &str = r#"
# Key logins: a shell, commands, forwarding and a PTY all end in gatehouse-sftp or are refused.
cmd key-shell ssh_key alice ""
cmd key-id ssh_key alice "" id
cmd key-sh ssh_key alice "" sh -c "'echo pwned; id'"
cmd key-pty ssh_key alice "-tt" id
ssh $SSH_OPTS -o BatchMode=yes -o IdentitiesOnly=yes -i "$T/keys/alice" -N -o ExitOnForwardFailure=yes \
    -L $PORT2:127.0.0.1:$PORT alice@127.0.0.1 > "$T/fwd.out" 2>&1 &
FWD=$!
# The client listens on PORT2 once it has logged in.
for _ in $(seq 100); do
    /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT2), timeout=1)" 2>/dev/null && break
    sleep 0.05
done
cmd fwd-L /usr/bin/python3 -c "import socket; s = socket.create_connection(('127.0.0.1', $PORT2), timeout=5); s.settimeout(5); print('got', repr(s.recv(64)))"
kill $FWD; wait $FWD 2>/dev/null || true
cmd fwd-R timeout 20 ssh $SSH_OPTS -o BatchMode=yes -o IdentitiesOnly=yes -i "$T/keys/alice" -N -o ExitOnForwardFailure=yes \
    -R 127.0.0.1:0:127.0.0.1:$PORT alice@127.0.0.1
cmd fwd-agent ssh_key alice "-A -o ForwardX11=no" "echo via-agent"

# As alice with her key: OpenSSH sftp in batch mode, scp in both modes, rsync, rclone and lftp.
# An uploaded .ssh/rc lands in her root, not in the (shared, root-owned) home, and never runs.
mkdir -m 1777 /run/mark
printf 'hello from the client\n' > "$T/up.txt"
printf 'touch /run/mark/rc-ran\n' > "$T/rc"
cat > "$T/batch" <<EOB
mkdir d
put $T/up.txt d/a.txt
ls d
rename d/a.txt d/b.txt
get d/b.txt $T/down.txt
rm d/b.txt
rmdir d
mkdir .ssh
put $T/rc .ssh/rc
pwd
EOB
KEY_OPTS="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i $T/keys/alice"
cmd sftp-batch sftp -P "$PORT" $KEY_OPTS -b "$T/batch" alice@127.0.0.1
cmd sftp-roundtrip cmp "$T/up.txt" "$T/down.txt"
cmd rc-login ssh_key alice "" id
cmd scp-legacy scp -O -P "$PORT" $KEY_OPTS "$T/up.txt" alice@127.0.0.1:scp-legacy.txt
cmd scp-sftp scp -P "$PORT" $KEY_OPTS "$T/up.txt" alice@127.0.0.1:scp-sftp.txt
cmd rsync rsync -e "ssh -p $PORT $KEY_OPTS" "$T/up.txt" alice@127.0.0.1:rsynced.txt
RCLONE=":sftp,host=127.0.0.1,port=$PORT,user=alice,key_file=$T/keys/alice,shell_type=none:"
cmd rclone rclone --config /dev/null copyto "$T/up.txt" "${RCLONE}rclone.txt"
cmd rclone-lsf rclone --config /dev/null lsf "$RCLONE"
cmd lftp timeout 30 lftp -c "set sftp:connect-program 'ssh -a -x -p $PORT $KEY_OPTS'; \
    open -u alice, sftp://127.0.0.1; put $T/up.txt -o lftp.txt; cls -1"
echo "== alice root"
(cd /srv/gatehouse/alice && find . -mindepth 1 -printf '%U %p\n' | sed "s/^$(id -u alice) /alice /" | sort)
echo "== rc marks"
ls -A /run/mark
echo "== end"

# Passwords over keyboard-interactive: paramiko, and OpenSSH with SSH_ASKPASS.
cmd kbd-alice kbd alice --password "$PW" --command id
cmd kbd-alice-wrong kbd alice --password "not her password"
cp "$DATA/askpass.sh" "$T/askpass" && chmod 0755 "$T/askpass"
cmd askpass-alice env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ASK_PASSWORD="$PW" ASK_LOG="$T/ask.log" \
    ssh $SSH_OPTS -o BatchMode=no -o PreferredAuthentications=keyboard-interactive alice@127.0.0.1 id

# TOTP: password then code; a key alone is not enough; key + password + code; a wrong code.
# Each code is accepted once and only if its step is later than the last accepted one: the
# second login uses the next step's code (inside the +-1 step window), computed once so the
# replay repeats exactly the same code even if a step boundary passes meanwhile.
cmd totp-wrong-code kbd carol --password "$PW" --code "$(totp 5)"
cmd totp-key-only ssh_key carol "" id
cmd totp-kbd kbd carol --password "$PW" --code "$(totp 0)" --command id
NEXT_CODE=$(totp 1)
cmd totp-key-kbd kbd carol --key "$T/keys/carol" --password "$PW" --code "$NEXT_CODE" --command id
cmd totp-replay kbd carol --password "$PW" --code "$NEXT_CODE"

# An invitation: the code logs in once and the conversation asks for a new password.
cmd invite-login kbd bob --password "$INVITE" --new "$BOB_NEW" --command id
cmd invite-new-password kbd bob --password "$BOB_NEW" --command id
cmd invite-sftp kbd bob --password "$BOB_NEW" --sftp "$T/up.txt"
cmd invite-code-again kbd bob --password "$INVITE" --new "another passphrase for bob"

# Refused users: outside the allowed IPs, inactive, expired, FTP only.
cmd ip-key ssh_key dave "" id
cmd ip-password kbd dave --password "$PW"
cmd inactive-key ssh_key erin "" id
cmd inactive-password kbd erin --password "$PW"
cmd expired-key ssh_key frank "" id
cmd expired-password kbd frank --password "$PW"
cmd ftp-only-key ssh_key greg "" id
cmd ftp-only-password kbd greg --password "$PW"

# A local user: key login with a normal shell; no keyboard-interactive (the host's setting).
cmd local-key ssh_key localbob "" echo hi
cmd local-shell ssh_key localbob "" "echo \$SHELL; test -w /home/localbob && echo home-writable"
cmd local-kbd kbd localbob --password "$PW" --command "echo hi"

# The shared home: root-owned, not writable by a gatehouse user.
echo "== home"
stat -c '%U %a' /var/lib/gatehouse/home
ALICE_UID=$(getent passwd alice | cut -d: -f3)
ALICE_GID=$(getent passwd alice | cut -d: -f4)
getent passwd alice | cut -d: -f6,7
setpriv --reuid="$ALICE_UID" --regid="$ALICE_GID" --clear-groups sh -c 'mkdir /var/lib/gatehouse/home/.ssh 2>&1 || true; touch /var/lib/gatehouse/home/.pam_environment 2>&1 || true'
ls -A /var/lib/gatehouse/home | sed 's/^/entry /'
echo "== end"
"#;

fn scenario() -> Result<Run, String> {
    let b = built()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let t = dir.path();
    std::fs::write(t.join("g.toml"), format!("database = \"sqlite://{}/g.db\"\n", t.display()))
        .map_err(|e| e.to_string())?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = manifest.join("tests/data");
    let script = format!(". {}/sshd-setup.sh\n{SHOW_SETTINGS}{SCENARIO}", data.display());
    let out = Command::new("unshare")
        .args(["-m", "-p", "-f", "--mount-proc", "--propagation", "private", "sh", "-c", &script])
        .env("T", t)
        .env("DATA", &data)
        .env("PROFILE", manifest.join("../packaging/pam-configs/gatehouse"))
        .env("DROPIN", manifest.join("../packaging/sshd/gatehouse.conf"))
        .env("PAM_SO", &b.pam_so)
        .env("NSS_SO", &b.nss_so)
        .env("GATEHOUSED", &b.gatehoused)
        .env("GATEHOUSE_TASKS", &b.tasks)
        .env("GATEHOUSE_CLI", &b.cli)
        .env("KEYS_BIN", env!("CARGO_BIN_EXE_gatehouse-keys"))
        .env("SFTP_BIN", env!("CARGO_BIN_EXE_gatehouse-sftp"))
        .env("PW", PASSWORD)
        .env("BOB_NEW", BOB_NEW)
        .env("PORT", free_port().to_string())
        .env("PORT2", free_port().to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let read = |name: &str| std::fs::read_to_string(t.join(name)).unwrap_or_default();
    let (sshd_log, daemon_log) = (read("sshd.log"), read("daemon.log"));
    if !out.status.success() {
        return Err(format!(
            "namespace script failed ({}):\nstdout:\n{text}\nstderr:\n{}\n--- sshd log:\n{sshd_log}\n--- gatehoused log:\n{daemon_log}\n--- gatehouse-tasks log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            read("tasks.log"),
        ));
    }
    let mut results = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(rest) = l.strip_prefix("RESULT ") else { continue };
        let mut f = rest.splitn(4, ' ');
        let label = f.next().unwrap_or_default().to_string();
        let rc = f.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {l:?}"))?;
        let ms = f.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {l:?}"))?;
        let out = f.next().unwrap_or("").to_string();
        let log = lines
            .next_if(|n| n.starts_with(&format!("SSHDLOG {label}")))
            .map(|n| n.split_once(' ').map_or("", |x| x.1).split_once(' ').map_or("", |x| x.1).to_string())
            .unwrap_or_default();
        results.push((label, Res { rc, ms, out, log }));
    }
    Ok(Run { results, text, sshd_log, daemon_log })
}

/// The scenario, run once for every test of this file.
fn run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    match RUN.get_or_init(scenario) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn drop_in_applies_to_gatehouse_users_only() {
    let r = run();
    let alice = r.block("sshd-T alice");
    for want in [
        "authorizedkeysfile none",
        "authorizedkeyscommand /usr/sbin/gatehouse-keys %u %U %f %t %k",
        "authorizedkeyscommanduser gatehouse-keys",
        "forcecommand /usr/sbin/gatehouse-sftp",
        "disableforwarding yes",
        "permittty no",
        "permituserrc no",
        "permittunnel no",
        "kbdinteractiveauthentication yes",
        "authenticationmethods any",
    ] {
        assert!(alice.contains(&want), "alice lacks {want:?}: {alice:#?}");
    }
    let carol = r.block("sshd-T carol");
    let both = "authenticationmethods publickey,keyboard-interactive keyboard-interactive";
    assert!(carol.contains(&both), "carol (TOTP): {carol:#?}");
    assert!(carol.contains(&"forcecommand /usr/sbin/gatehouse-sftp"), "carol: {carol:#?}");
    // Local users and root keep Debian's settings: their own authorized_keys, no forced
    // command, forwarding and PTYs as the host allows, no keyboard-interactive.
    for user in ["localbob", "root"] {
        let local = r.block(&format!("sshd-T {user}"));
        for want in [
            "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2",
            "authorizedkeyscommand none",
            "disableforwarding no",
            "permittty yes",
            "permituserrc yes",
            "kbdinteractiveauthentication no",
            "authenticationmethods any",
        ] {
            assert!(local.contains(&want), "{user} lacks {want:?}: {local:#?}");
        }
        assert!(local.contains(&"forcecommand none"), "{user}: {local:#?}");
    }
}

/// What gatehouse-sftp's refusal of a shell or command leaves: exit status 1, and the command
/// never ran.
fn refused_command(r: &Run, label: &str) {
    r.rc(label, 1)
        .said(label, "This account is for file transfer only")
        .not_said(label, "uid=")
        .not_said(label, "pwned")
        .logged(label, "Accepted publickey for alice from 127.0.0.1")
        .logged(label, "Starting session: forced-command (config) '/usr/sbin/gatehouse-sftp' for alice");
}

#[test]
fn key_login_runs_only_gatehouse_sftp() {
    let r = run();
    for label in ["key-shell", "key-id", "key-sh"] {
        refused_command(r, label);
    }
}

#[test]
fn forwarding_and_pty_refused() {
    let r = run();
    // -tt: sshd refuses the PTY (PermitTTY no); the forced command still runs and refuses.
    r.said("key-pty", "PTY allocation request failed").failed("key-pty").not_said("key-pty", "uid=");
    r.logged("key-pty", "Starting session: forced-command (config) '/usr/sbin/gatehouse-sftp' for alice");
    // -L: the client listens, but sshd refuses the channel, so the connection carries nothing.
    r.said("fwd-L", "got b''").logged("fwd-L", "refused local port forward: originator 127.0.0.1");
    // -R: sshd refuses to listen.
    r.failed("fwd-R").said("fwd-R", "remote port forwarding failed");
    // -A: agent forwarding is off too (DisableForwarding), and the command is still refused.
    r.rc("fwd-agent", 1).not_said("fwd-agent", "via-agent");
}

#[test]
fn password_over_keyboard_interactive() {
    let r = run();
    r.rc("kbd-alice", 0)
        .said("kbd-alice", "prompt Password:")
        .said("kbd-alice", "auth ok")
        .said("kbd-alice", "exit 1")
        .said("kbd-alice", "This account is for file transfer only")
        .not_said("kbd-alice", "uid=")
        .logged("kbd-alice", "Accepted keyboard-interactive/pam for alice from 127.0.0.1");
    r.failed("kbd-alice-wrong")
        .said("kbd-alice-wrong", "auth failed")
        .no_login("kbd-alice-wrong")
        .logged("kbd-alice-wrong", "Failed keyboard-interactive/pam for alice");
    // OpenSSH's own client, answering through SSH_ASKPASS.
    r.rc("askpass-alice", 1)
        .not_said("askpass-alice", "uid=")
        .logged("askpass-alice", "Accepted keyboard-interactive/pam for alice from 127.0.0.1");
}

#[test]
fn totp_needs_password_and_code() {
    let r = run();
    r.rc("totp-kbd", 0)
        .said("totp-kbd", "prompt Password:|prompt Verification code:|auth ok")
        .logged("totp-kbd", "Accepted keyboard-interactive/pam for carol");
    // The key alone is a partial success; BatchMode has nothing to answer the rest with.
    r.failed("totp-key-only")
        .said("totp-key-only", "Permission denied")
        .logged("totp-key-only", "Partial publickey for carol")
        .no_login("totp-key-only");
    r.rc("totp-key-kbd", 0)
        .said("totp-key-kbd", "after key: keyboard-interactive")
        .said("totp-key-kbd", "prompt Password:|prompt Verification code:|auth ok")
        .logged("totp-key-kbd", "Partial publickey for carol")
        .logged("totp-key-kbd", "Accepted keyboard-interactive/pam for carol");
    r.failed("totp-wrong-code").said("totp-wrong-code", "auth failed").no_login("totp-wrong-code");
    // A code is accepted once.
    r.failed("totp-replay").no_login("totp-replay");
}

#[test]
fn invitation_forces_a_new_password() {
    let r = run();
    r.rc("invite-login", 0)
        .said("invite-login", "prompt Password:")
        .said("invite-login", "prompt New password:")
        .said("invite-login", "prompt Retype new password:")
        .said("invite-login", "auth ok")
        .logged("invite-login", "Accepted keyboard-interactive/pam for bob");
    r.rc("invite-new-password", 0).logged("invite-new-password", "Accepted keyboard-interactive/pam for bob");
    r.rc("invite-sftp", 0).said("invite-sftp", "sftp get same").said("invite-sftp", "sftp ls up.txt");
    r.failed("invite-code-again").no_login("invite-code-again");
}

#[test]
fn key_from_outside_the_allowed_ips_refused() {
    let r = run();
    r.failed("ip-key")
        .said("ip-key", "Permission denied")
        .logged("ip-key", "Authentication tried for dave with correct key but not from a permitted host")
        .no_login("ip-key");
    r.failed("ip-password").no_login("ip-password");
}

#[test]
fn inactive_expired_and_ftp_only_users_refused() {
    let r = run();
    for who in ["inactive", "expired", "ftp-only"] {
        let key = format!("{who}-key");
        r.failed(&key).said(&key, "Permission denied").no_login(&key);
        let pw = format!("{who}-password");
        r.failed(&pw).said(&pw, "auth failed").no_login(&pw);
    }
}

#[test]
fn local_user_untouched() {
    let r = run();
    r.rc("local-key", 0).said("local-key", "hi").logged("local-key", "Accepted publickey for localbob");
    r.not_logged("local-key", "forced-command");
    r.rc("local-shell", 0).said("local-shell", "/bin/sh|home-writable");
    // Keyboard-interactive is enabled for gatehouse users only; Debian's "no" still holds here.
    r.failed("local-kbd").said("local-kbd", "auth failed").no_login("local-kbd");
}

#[test]
fn shared_home_is_not_writable() {
    let r = run();
    let home = r.block("home");
    assert_eq!(home.first(), Some(&"root 755"), "{home:#?}");
    assert_eq!(home.get(1), Some(&"/var/lib/gatehouse/home:/usr/sbin/gatehouse-sftp"), "{home:#?}");
    assert!(home.iter().filter(|l| l.contains("Permission denied")).count() == 2, "{home:#?}");
    assert!(!home.iter().any(|l| l.starts_with("entry ")), "the home is not empty: {home:#?}");
}

#[test]
fn sftp_scp_and_rsync_sessions() {
    let r = run();
    r.rc("sftp-batch", 0)
        .not_said("sftp-batch", "Couldn't")
        .said("sftp-batch", "Remote working directory: /")
        .said("sftp-batch", "sftp> ls d|d/a.txt")
        .logged("sftp-batch", "Starting session: forced-command (config) '/usr/sbin/gatehouse-sftp' for alice");
    r.rc("sftp-roundtrip", 0);
    r.rc("scp-legacy", 0);
    r.rc("scp-sftp", 0);
    r.rc("rsync", 0);
    r.rc("rclone", 0);
    r.rc("rclone-lsf", 0).said("rclone-lsf", "rclone.txt|").said("rclone-lsf", "|scp-sftp.txt");
    r.rc("lftp", 0).said("lftp", "lftp.txt");
    // Everything landed in alice's root, owned by her; d/ and its file are gone again.
    let root = r.block("alice root");
    let want = [
        "alice ./.ssh",
        "alice ./.ssh/rc",
        "alice ./lftp.txt",
        "alice ./rclone.txt",
        "alice ./rsynced.txt",
        "alice ./scp-legacy.txt",
        "alice ./scp-sftp.txt",
    ];
    assert_eq!(root, want, "alice's root\n{}", r.logs());
}

#[test]
fn uploaded_ssh_rc_never_runs() {
    let r = run();
    // The upload went to the root (above); the login after it ran no rc file, and sshd says so.
    refused_command(r, "rc-login");
    r.not_logged("rc-login", ".ssh/rc");
    assert!(r.block("rc marks").is_empty(), "an rc file ran: {:?}", r.block("rc marks"));
    assert!(!r.block("home").iter().any(|l| l.starts_with("entry ")), "{:?}", r.block("home"));
}
