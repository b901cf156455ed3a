//! End to end with vsftpd: Debian's vsftpd 3.0.3 with its stock `/etc/vsftpd.conf` (a copy in `tests/data`), the shipped
//! fragment (`packaging/ftp/vsftpd.conf.fragment`) and Debian's stock `/etc/pam.d/vsftpd`, the
//! real `gatehoused` and `gatehouse-tasks`, `pam_gatehouse.so` and `libnss_gatehouse.so.2` at
//! their installed paths, all inside private mount and PID namespaces
//! (`tests/data/ftp-world.sh`; the host's files are never touched and every process ends with
//! the namespace), driven by `lftp` and `curl` in passive mode on loopback.
//!
//! One namespace and one vsftpd serve every test: `tests/data/ftp-world.sh`, `vsftpd-setup.sh`
//! and `vsftpd-scenario.sh` run once (through `ftp::run`) and
//! reports each client run as a `RESULT` line plus what vsftpd logged meanwhile (`FTPLOG`); each
//! `#[test]` asserts on its own labels, and a failing assertion prints the client's output, what
//! vsftpd logged meanwhile and the daemons' logs. Needs root, vsftpd, lftp and curl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
#[path = "common/ftp.rs"]
mod ftp;

use ftp::scenario::Run;
use std::path::Path;
use std::sync::OnceLock;

/// Assertions only the vsftpd suite makes.
trait Vsftpd {
    fn refused(&self, label: &str, user: &str, reason: &str) -> &Self;
}

impl Vsftpd for Run {
    /// A login refused by vsftpd (530 Login incorrect), with gatehoused's deny line saying why.
    fn refused(&self, label: &str, user: &str, reason: &str) -> &Self {
        self.rc(label, 1).said(label, "530 Login incorrect").refused_on("vsftpd", label, user, reason)
    }
}

fn scenario() -> Result<Run, String> {
    if !Path::new("/usr/sbin/vsftpd").exists() {
        return Err("vsftpd is not installed (apt-get install vsftpd; .ci/run does)".into());
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fragment = manifest.join("../packaging/ftp/vsftpd.conf.fragment");
    let stock = manifest.join("tests/data/vsftpd.conf");
    let port = || ftp::free_port().to_string();
    ftp::run(
        "vsftpd",
        &[
            ("FRAGMENT", fragment.display().to_string()),
            ("VSFTPD_STOCK", stock.display().to_string()),
            ("PORT6", port()),
            ("PORTM", port()),
        ],
    )
}

/// The scenario, run once for every test of this file.
fn run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    ftp::scenario::once(&RUN, scenario)
}

#[test]
fn tasks_writes_root_owned_files_for_users_vsftpd_can_serve() {
    let r = run();
    r.rc("file-rwu", 0).said("file-rwu", "root root 644");
    r.said("file-rwu-text", "|local_root=/srv/gatehouse/rwu|write_enable=YES");
    r.said("file-ro-text", "|local_root=/srv/gatehouse/ro|write_enable=NO");
    // No file for a user without ftp, with rules or with no-delete; inactive and expired users
    // keep theirs (the account check refuses them).
    r.rc("files", 0).said("files", "expd|flip|gone|inact|ipu|locked|m4u|mustc|ro|rwu|totpu|v6u|xpu");
    r.not_said("files", "noftp").not_said("files", "ruled").not_said("files", "nodel");
    // A deleted user's file goes.
    r.rc("gone-file", 0)
        .said("gone-file", "expd|inact|ipu|locked|m4u|mustc|ro|rwu|totpu|v6u|xpu")
        .not_said("gone-file", "gone");
}

/// Issue 15, item 9: vsftpd's user directory created after gatehoused started. Before, a login
/// is refused with the reason in gatehoused's log (no file, so vsftpd would have chrooted the
/// user to the shared home); once created, every user's file is written within a second or so
/// (the daemon watches the directory; no restart, no database change) and the login passes.
#[test]
fn a_user_directory_created_after_the_daemon_started_gets_its_files_at_once() {
    let r = run();
    r.refused(
        "late-nodir",
        "rwu",
        "no vsftpd file for this user: /etc/vsftpd/gatehouse does not exist (create it as the README's FTP section says)",
    );
    let ms = r.number("LATE_DIR_MS");
    assert!(ms < 2000, "the files took {ms} ms after the directory appeared\n{}", r.logs());
    r.rc("late-rwu", 0);
}

#[test]
fn read_write_user_uploads_lists_downloads_and_changes_files() {
    let r = run();
    r.read_write_cases_pass();
}

#[test]
fn read_only_user_downloads_but_cannot_upload() {
    let r = run();
    r.rc("ro-get", 0).said("ro-get", "for reading");
    r.rc("ro-put", 25).said("ro-put", "550");
    r.said("ro-put-disk", "absent");
    r.rc("ro-mkdir", 1).said("ro-mkdir", "550");
}

#[test]
fn refused_logins_say_why_in_the_daemon_log() {
    let r = run();
    r.refused("badpw", "rwu", "password");
    r.refused("inactive", "inact", "active: account is inactive");
    r.refused("expired", "expd", "expiry: account expired");
    r.refused("noftp", "noftp", "protocol: ftp is not among the user's protocols");
    r.refused("ruled", "ruled", "vsftpd cannot enforce per-folder rules (the user's); use SFTP (or ProFTPD)");
    r.refused("nodel", "nodel", "vsftpd cannot enforce no-delete (delete_allowed=false)");
}

#[test]
fn totp_must_change_ip_and_lockout_over_ftp() {
    run().login_cases_pass("vsftpd");
}

#[test]
fn check_gives_the_same_reason() {
    let r = run();
    r.rc("check-ruled", 1).said("check-ruled", "vsftpd     DENY   vsftpd cannot enforce per-folder rules");
    r.rc("check-nodel", 1).said("check-nodel", "vsftpd cannot enforce no-delete");
    r.rc("check-rwu", 0).said("check-rwu", "vsftpd     allow");
}

#[test]
fn local_user_still_logs_in_with_pam_unix() {
    let r = run();
    r.rc("local", 0).said("local", "local.txt");
    r.rc("local-badpw", 1).said("local-badpw", "530");
}

#[test]
fn cli_change_takes_effect_at_the_next_login_without_a_restart() {
    let r = run();
    r.rc("flip-put", 0);
    let ms = r.number("FLIP_MS");
    r.said("flip-file", "write_enable=NO");
    assert!(ms < 2000, "the file took {ms} ms to change\n{}", r.logs());
    r.rc("flip-put-after", 25).said("flip-put-after", "550");
    r.rc("flip-get-after", 0).said("flip-get-after", "hello over ftp");
    r.rc("flip-disk", 0).said("flip-disk", "before.txt").not_said("flip-disk", "after.txt");
    r.refused("flip-ruled", "flip", "vsftpd cannot enforce per-folder rules");
}

/// App passwords over real FTP (issue 9): with TOTP on, the password alone is refused, an
/// FTP-only app password logs in and uploads without a code (gatehoused logs the label, never
/// the secret), and after `apppass revoke` it is refused.
#[test]
fn app_password_logs_in_over_ftp_with_totp_on_until_revoked() {
    let r = run();
    r.refused("ap-pw", "apu", "wrong password");
    r.rc("ap-token", 0).said("ap-token-disk", "apu regular file|hello over ftp");
    let log = r.log("gatehoused");
    let who = "user=\"apu\" service=\"vsftpd\"";
    let accepted = |l: &&str| l.contains(who) && l.contains("answer=\"allow\"") && l.contains("app password \"lftp\"");
    assert!(log.lines().any(|l| accepted(&l)), "no accepted app-password line naming the label:\n{log}");
    let secret = r.text.lines().find_map(|l| l.strip_prefix("TOKEN_SECRET ")).unwrap_or_else(|| panic!("{}", r.text));
    assert!(secret.len() == 32 && !log.contains(secret), "gatehoused must never log the secret");
    r.refused("ap-revoked", "apu", "revoked");
}

/// IPv6 clients (a listener on ::1) and IPv4 clients of an IPv6 socket (a listener on
/// ::ffff:127.0.0.1, as a dual-stack server sees them): vsftpd passes the address as it sees it
/// (`::1`, `::ffff:127.0.0.x`) and the IP rule judges the mapped one as the IPv4 address.
#[test]
fn ipv6_and_ipv4_mapped_client_addresses() {
    let r = run();
    r.rc("v6-ok", 0);
    assert!(r.decisions("v6u", "vsftpd", "allow").iter().any(|l| l.contains("rhost=\"::1\"")), "{}", r.logs());
    r.refused_on("vsftpd", "v6-m4u", "m4u", "ip:");
    r.mapped_cases_pass("vsftpd", "::ffff:127.0.0.");
}

/// Failures count across protocols: three wrong passwords through Debian's sshd PAM stack and
/// two over FTP lock the user out of both; `gatehouse unlock` lets them back into both.
#[test]
fn lockout_counts_ssh_and_ftp_failures_together() {
    let r = run();
    for i in 1..=3 {
        r.failed(&format!("xp-ssh-bad-{i}"));
    }
    for i in 4..=5 {
        r.refused(&format!("xp-ftp-bad-{i}"), "xpu", "password");
    }
    r.refused("xp-ftp-locked", "xpu", "lock");
    r.failed("xp-ssh-locked");
    assert!(r.decisions("xpu", "sshd", "deny").iter().any(|l| l.contains("lock")), "no sshd lock line:\n{}", r.logs());
    r.rc("xp-ftp-unlocked", 0);
    r.rc("xp-ssh-unlocked", 0).said("xp-ssh-unlocked", "successfully authenticated");
}
