//! End to end for the two ways gatehouse users reach beyond gatehouse's own database (issue 9):
//!
//! - **LDAP passwords.** A real OpenLDAP `slapd` (`tests/data/slapd-setup.sh`: a generated
//!   slapd.conf in the temp dir, a test CA, StartTLS, loopback port) checks the passwords of
//!   users whose `password_source` is `ldap`; the user logs in over SFTP through the real sshd
//!   world of `sshd-setup.sh` (PAM, NSS, gatehoused) with the directory password. A wrong or
//!   empty password is refused (the empty one never reaches slapd); a directory that accepts
//!   connections but never answers (slapd stopped with SIGSTOP) fails the login closed at
//!   gatehoused's `[ldap] timeout` while a local-password user logs in meanwhile; a directory
//!   that is down fails closed at once.
//! - **Web logins through PAM.** Debian's nginx with `libnginx-mod-http-auth-pam`
//!   (`tests/data/nginx-setup.sh`), worker as www-data, PAM service `nginx` mapped to protocol
//!   `web`, `[callers] web = ["www-data"]`: a user with `web` gets 200 with basic auth, one
//!   without gets 401, a wrong password 401, and www-data asking for the `sshd` service
//!   (protocol ssh) is refused by gatehoused even for a user who has ssh.
//!
//! One namespace serves every test of this file (the `RESULT` harness of tests/lib/scenario.rs).
//! Needs root, slapd, ldap-utils (slappasswd), openssl, nginx, libnginx-mod-http-auth-pam, curl
//! and what sshd.rs needs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::net::TcpListener;
use std::path::Path;
use std::sync::OnceLock;

#[path = "../../tests/lib/built.rs"]
mod built;
#[path = "../../tests/lib/scenario.rs"]
mod scenario;
use scenario::Run;

/// Every local gatehouse password of the sshd world.
const PASSWORD: &str = "correct horse battery staple";
/// The password lana and nora have in the directory (and nowhere in gatehouse).
const LDAP_PASSWORD: &str = "the directory's own passphrase";
/// gatehoused's `[ldap] timeout`, in seconds.
const LDAP_TIMEOUT: u64 = 2;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The client runs, after sshd-setup.sh, slapd-setup.sh and nginx-setup.sh.
const SCENARIO: &str = r#"
trap 'for p in $NGINX $SLAPD; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; stop_all' EXIT
g user add lana --password-source ldap --protocols ssh,web >/dev/null
g user add nora --password-source ldap --protocols ssh >/dev/null
printf '%s\n' "$PW" | g user add wendy --password-stdin --protocols web >/dev/null
printf '%s\n' "$PW" | g user add wanda --password-stdin --protocols web --inactive >/dev/null
for _ in $(seq 100); do getent passwd lana >/dev/null && getent passwd wendy >/dev/null && break; sleep 0.05; done
waitroot lana
cmd show-lana g user show lana
cmd check-lana g check lana --protocol ssh
cmd passwd-lana sh -c "printf '%s\n' 'a local passphrase for lana' | $GATEHOUSE_CLI passwd lana --stdin"
printf 'hello from the directory user\n' > "$T/up.txt"

# ldapmark: the line count of slapd's log; ldapsince N: what slapd logged after line N.
ldapmark() { wc -l < "$T/ldap/slapd.log"; }
ldapsince() { tail -n +$(($1 + 1)) "$T/ldap/slapd.log" | sed -E 's/^[0-9a-f.]+ 0x[0-9a-f]+ //'; }

# SFTP with the directory password, then a wrong one, then an empty one.
M=$(ldapmark)
cmd ldap-sftp kbd lana --password "$LDAP_PW" --sftp "$T/up.txt"
echo "== slapd ldap-sftp"; ldapsince "$M"
cmd ldap-wrong kbd lana --password "not the directory password"
M=$(ldapmark)
cmd ldap-empty kbd lana --password ""
echo "== slapd ldap-empty"; ldapsince "$M"
echo "== end"
cmd lana-disk cat /srv/gatehouse/lana/up.txt

# Web: nginx's worker (www-data) asks PAM service nginx (protocol web).
web() {
    SRC=$((SRC + 1))
    curl -sS --interface "127.0.0.$SRC" -o /dev/null -w '%{http_code}' "$@"
}
SRC=20
URL="http://127.0.0.1:$WEB_PORT"
cmd web-wendy web -u "wendy:$PW" "$URL/"
cmd web-lana web -u "lana:$LDAP_PW" "$URL/"
cmd web-alice web -u "alice:$PW" "$URL/"
cmd web-wendy-wrong web -u "wendy:not her password" "$URL/"
cmd web-inactive web -u "wanda:$PW" "$URL/"
cmd web-anonymous web "$URL/"
cmd web-as-sshd web -u "alice:$PW" "$URL/as-sshd/"
cmd web-page curl -sS --interface 127.0.0.99 -u "wendy:$PW" "$URL/"
echo "== nginx users"
ps -o user=,args= -C nginx | sed -E 's/ +/ /g' | sort
echo "== end"

# The directory hangs (accepts connections, never answers): lana fails closed at the [ldap]
# timeout while alice (local password) logs in meanwhile.
kill -STOP "$SLAPD"
(
    set +e
    t0=$(date +%s%N)
    out=$(kbd nora --password "$LDAP_PW" 2>&1)
    rc=$?
    t1=$(date +%s%N)
    printf '%s %s %s\n' "$rc" $(( (t1 - t0) / 1000000 )) "$(printf '%s' "$out" | tr '\n' '|')" > "$T/hung.out"
) &
HUNG=$!
sleep 0.5
cmd local-during-hang kbd alice --password "$PW" --command id
echo "== hung login still waiting when alice was done"
kill -0 "$HUNG" 2>/dev/null && echo yes || echo no
wait "$HUNG" || true
echo "== hung login"
cat "$T/hung.out"
echo "== end"
kill -CONT "$SLAPD"

# The directory is down: refused at once, closed.
kill "$SLAPD"; wait "$SLAPD" 2>/dev/null || true
SLAPD=
cmd ldap-down kbd lana --password "$LDAP_PW"
cmd local-while-down kbd alice --password "$PW" --command id
cmd show-nora g user show nora
"#;

fn scenario() -> Result<Run, String> {
    for bin in ["/usr/sbin/slapd", "/usr/sbin/slappasswd", "/usr/sbin/nginx", "/usr/bin/openssl"] {
        if !Path::new(bin).exists() {
            return Err(format!(
                "{bin} is missing (apt-get install slapd ldap-utils nginx libnginx-mod-http-auth-pam; .ci/run does)"
            ));
        }
    }
    let b = built::built()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let t = dir.path();
    let ldap_port = free_port();
    let config = format!(
        "database = \"sqlite://{t}/g.db\"\n\
         [protocols]\nsshd = \"ssh\"\nnginx = \"web\"\n\
         [callers]\nweb = [\"www-data\"]\n\
         [ldap]\nurl = \"ldap://127.0.0.1:{ldap_port}\"\nbind_dn = \"uid={{user}},ou=people,dc=example,dc=org\"\n\
         starttls = true\nca_file = \"{t}/ldap/ca.pem\"\ntimeout = \"{LDAP_TIMEOUT}s\"\n",
        t = t.display()
    );
    std::fs::write(t.join("g.toml"), config).map_err(|e| e.to_string())?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = manifest.join("tests/data");
    // slapd first: gatehoused reads the CA file when it starts.
    let script = format!(". {0}/slapd-setup.sh\n. {0}/sshd-setup.sh\n. {0}/nginx-setup.sh\n{SCENARIO}", data.display());
    let out = built::sshd_world(&b, t, &script)
        .env("PW", PASSWORD)
        .env("LDAP_PW", LDAP_PASSWORD)
        .env("PORT", free_port().to_string())
        .env("LDAP_PORT", ldap_port.to_string())
        .env("WEB_PORT", free_port().to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let logs =
        [("sshd", "sshd.log"), ("gatehoused", "daemon.log"), ("slapd", "ldap/slapd.log"), ("nginx", "nginx/error.log")];
    scenario::from_output(&out, t, "SSHDLOG", "sshd", &logs)
}

/// The scenario, run once for every test of this file.
fn run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    match RUN.get_or_init(scenario) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// gatehoused's log lines about `user`.
fn daemon_lines<'a>(r: &'a Run, user: &str) -> Vec<&'a str> {
    let who = format!("user=\"{user}\"");
    r.log("gatehoused").lines().filter(|l| l.contains(&who)).collect()
}

#[test]
fn ldap_user_logs_in_over_sftp_with_the_directory_password() {
    let r = run();
    r.rc("ldap-sftp", 0)
        .said("ldap-sftp", "auth ok")
        .said("ldap-sftp", "sftp get same")
        .logged("ldap-sftp", "Accepted keyboard-interactive/pam for lana");
    r.rc("lana-disk", 0).said("lana-disk", "hello from the directory user");
    // slapd saw StartTLS (verified against the test CA), then lana's simple bind, accepted.
    let binds = r.block("slapd ldap-sftp").join("\n");
    assert!(binds.contains("STARTTLS"), "{binds}");
    assert!(binds.contains("TLS established"), "{binds}");
    assert!(binds.contains("BIND dn=\"uid=lana,ou=people,dc=example,dc=org\" mech=SIMPLE"), "{binds}");
    assert!(binds.contains("RESULT tag=97 err=0"), "{binds}");
}

#[test]
fn wrong_or_empty_directory_password_is_refused_and_an_empty_one_never_reaches_slapd() {
    let r = run();
    r.failed("ldap-wrong").said("ldap-wrong", "auth failed").no_session("ldap-wrong");
    r.failed("ldap-empty").said("ldap-empty", "auth failed").no_session("ldap-empty");
    let binds = r.block("slapd ldap-empty").join("\n");
    assert!(!binds.contains("BIND"), "an empty password was sent to the directory:\n{binds}");
    let lines = daemon_lines(r, "lana");
    assert!(lines.iter().any(|l| l.contains("wrong password; failure 1 of 5")), "{lines:#?}");
}

#[test]
fn cli_shows_the_source_and_refuses_a_local_password() {
    let r = run();
    r.rc("show-lana", 0).said("show-lana", "ldap");
    r.rc("check-lana", 0)
        .said("check-lana", "ldap: a simple bind as uid=lana,ou=people,dc=example,dc=org at ldap://127.0.0.1:");
    r.said("check-lana", "with StartTLS");
    r.rc("passwd-lana", 2).said("passwd-lana", "password_source ldap");
}

#[test]
fn unreachable_directory_fails_closed_within_the_timeout_and_local_users_are_unaffected() {
    let r = run();
    // alice (local password) logged in while nora's login waited on the hung directory.
    r.rc("local-during-hang", 0).said("local-during-hang", "auth ok");
    assert_eq!(r.block("hung login still waiting when alice was done"), ["yes"], "{}", r.logs());
    let hung = r.block("hung login");
    let (rc, rest) = hung[0].split_once(' ').unwrap();
    let (ms, out) = rest.split_once(' ').unwrap();
    assert_ne!(rc, "0", "nora logged in with the directory hung: {out}");
    assert!(out.contains("auth failed"), "{out}");
    let ms: u64 = ms.parse().unwrap();
    let nora = daemon_lines(r, "nora");
    let unavailable = format!("gave no answer within {LDAP_TIMEOUT} s");
    assert!(nora.iter().any(|l| l.contains("answer=\"unavailable\"") && l.contains(&unavailable)), "{nora:#?}");
    // The daemon answered at the timeout, before pam_gatehouse's own 3 s deadline; with
    // pam_unix's fail delay (up to 2.5 s) and the ssh handshake the failed login stays under 6 s,
    // the bound every daemon failure is held to (as in pam/tests/stacks.rs).
    assert!(ms >= LDAP_TIMEOUT * 1000, "nora's login failed before the timeout ({ms} ms): not the hang path");
    assert!(ms < 6000, "nora's login against the hung directory took {ms} ms");
    // Not counted as a failed password: nora's record shows none.
    r.rc("show-nora", 0);
    assert!(
        r.get("show-nora").out.split('|').any(|l| l.starts_with("failed logins") && l.trim_end().ends_with(" 0")),
        "{}",
        r.get("show-nora").out
    );
    // Down: refused at once, closed; alice still logs in.
    r.failed("ldap-down").said("ldap-down", "auth failed").no_session("ldap-down");
    let lana = daemon_lines(r, "lana");
    assert!(lana.iter().any(|l| l.contains("answer=\"unavailable\"") && l.contains("cannot connect")), "{lana:#?}");
    r.rc("local-while-down", 0).said("local-while-down", "auth ok");
}

#[test]
fn nginx_auth_pam_lets_in_users_with_web_only() {
    let r = run();
    r.rc("web-wendy", 0).said("web-wendy", "200");
    r.rc("web-lana", 0).said("web-lana", "200");
    r.rc("web-page", 0).said("web-page", "portal page");
    // alice has ssh and ftp, not web.
    r.rc("web-alice", 0).said("web-alice", "401");
    let alice = daemon_lines(r, "alice");
    assert!(
        alice.iter().any(|l| l.contains("service=\"nginx\"") && l.contains("web is not among the user's protocols")),
        "{alice:#?}"
    );
    r.rc("web-wendy-wrong", 0).said("web-wendy-wrong", "401");
    r.rc("web-anonymous", 0).said("web-anonymous", "401");
    // nginx runs PAM's account phase too: an inactive user with the right password is refused.
    r.rc("web-inactive", 0).said("web-inactive", "401");
    let wanda = daemon_lines(r, "wanda");
    assert!(
        wanda.iter().any(|l| l.contains("kind=\"account\"") && l.contains("answer=\"deny\"") && l.contains("active:")),
        "{wanda:#?}"
    );
    // www-data may check web logins only: the sshd service (protocol ssh) is refused to it,
    // even for alice, who has ssh.
    r.rc("web-as-sshd", 0).said("web-as-sshd", "401");
    assert!(
        alice.iter().any(|l| l.contains("caller_uid=33") && l.contains("may not authenticate users for protocol ssh")),
        "{alice:#?}"
    );
    // The worker that called PAM runs as www-data.
    let users = r.block("nginx users");
    assert!(users.iter().any(|l| l.starts_with("www-data nginx: worker process")), "{users:#?}");
    assert!(users.iter().any(|l| l.starts_with("root nginx: master process")), "{users:#?}");
}

/// Assertions only this suite makes.
impl Run {
    /// sshd started no session while the client ran.
    fn no_session(&self, label: &str) -> &Self {
        self.not_logged(label, "Accepted keyboard-interactive").not_logged(label, "Starting session")
    }
}
