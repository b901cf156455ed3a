//! End to end with ProFTPD: ProFTPD 1.3.8 with Debian's stock `/etc/proftpd`, the shipped
//! fragment (`packaging/ftp/proftpd.conf.fragment`) and PAM file (Debian's stock
//! `/etc/pam.d/proftpd`), mod_auth_pam + NSS, the real `gatehoused` and `gatehouse-tasks`
//! writing the per-user files and reloading ProFTPD by SIGHUP, `pam_gatehouse.so` and
//! `libnss_gatehouse.so.2` at their installed paths, all inside private mount and PID namespaces
//! (`tests/data/ftp-world.sh`), driven by `lftp` and `curl` in passive mode on loopback.
//!
//! One namespace and one ProFTPD serve every test (`proftpd-setup.sh`, `proftpd-scenario.sh`,
//! through `ftp::run`). ProFTPD is the installed one or the copy .ci/run unpacks (Debian's
//! vsftpd and proftpd-core conflict).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
#[path = "common/ftp.rs"]
mod ftp;

use ftp::scenario::Run;
use std::path::Path;
use std::sync::OnceLock;

fn scenario() -> Result<Run, String> {
    let (bin, modules) = common::proftpd()
        .ok_or(format!("ProFTPD is not installed (.ci/run unpacks it to {})", common::PROFTPD_UNPACKED))?;
    let base = modules.parent().and_then(Path::parent).and_then(Path::parent).ok_or("odd module path")?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let packaging = manifest.join("../packaging/ftp");
    ftp::run(
        "proftpd",
        &[
            ("PROFTPD_BIN", bin.display().to_string()),
            ("PROFTPD_BASE", base.display().to_string().trim_end_matches('/').to_string()),
            ("FRAGMENT", packaging.join("proftpd.conf.fragment").display().to_string()),
            ("PAMFILE", packaging.join("proftpd.pam").display().to_string()),
            ("CONFORMANCE", manifest.join("../ssh/tests/data/conformance.py").display().to_string()),
            ("PORTM", ftp::free_port().to_string()),
        ],
    )
}

/// The scenario, run once for every test of this file.
fn run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    ftp::scenario::once(&RUN, scenario)
}

#[test]
fn tasks_writes_a_root_owned_file_per_user_proftpd_can_serve() {
    let r = run();
    r.rc("file-tree", 0).said("file-tree", "root root 644");
    r.rc("files", 0).said("files", "capped.conf|conf.conf|expd.conf|flip.conf|inact.conf|ipu.conf|locked.conf|m4u.conf|mustc.conf|nodel.conf|ro.conf|rwu.conf|totpu.conf|tree.conf|v6u.conf");
    r.not_said("files", "noftp").not_said("files", "wild");
}

#[test]
fn read_write_user_works_inside_the_root() {
    let r = run();
    r.read_write_cases_pass();
}

#[test]
fn mode_r_no_delete_and_the_size_cap() {
    let r = run();
    r.rc("ro-get", 0).said("ro-get", "for reading");
    r.failed("ro-put").said("ro-put", "550").said("ro-put-disk", "absent");
    r.rc("nodel-put", 0);
    r.failed("nodel-overwrite").said("nodel-overwrite", "550");
    r.failed("nodel-append").said("nodel-append", "550");
    r.failed("nodel-rm").said("nodel-rm", "550");
    r.said("nodel-disk", "hello over ftp");
    r.rc("capped-small", 0);
    r.failed("capped-big").said("capped-big", "552");
}

#[test]
fn the_rule_tree_holds_over_ftp() {
    let r = run();
    // `none` is left out of the listing and answered as absent.
    r.rc("tree-ls", 0).said("tree-ls", "/in/").not_said("tree-ls", "secret");
    r.failed("tree-secret-ls").said("tree-secret-ls", "No such file");
    r.failed("tree-secret-get").not_said("tree-secret-get", "secret!");
    // The drop box: new files only.
    r.rc("tree-in-put", 0).said("tree-in-disk", "hello over ftp");
    r.failed("tree-in-overwrite").said("tree-in-overwrite", "550");
    r.failed("tree-in-get").not_said("tree-in-get", "dropped");
    r.failed("tree-in-rm").failed("tree-in-mkdir");
    r.rc("tree-in-ls", 0).said("tree-in-ls", "existing.txt");
    // read, list-only root, write.
    r.rc("tree-pub-get", 0).said("tree-pub-get", "public");
    r.failed("tree-pub-put").failed("tree-root-put").failed("tree-root-get");
    r.rc("tree-work-put", 0).said("tree-work-disk", "w.txt").not_said("tree-work-disk", "new.txt");
    // The rule key's folder cannot be removed or moved, nor files moved into another rule.
    r.failed("tree-work-rmdir").failed("tree-work-mv").failed("tree-work-to-pub");
    // A whole-component wildcard.
    r.rc("tree-clients-get", 0).said("tree-clients-get", "report");
    r.failed("tree-clients-put").failed("tree-clients-mv");
    // mod_copy cannot copy past the rules.
    r.failed("tree-copy").said("tree-copy-disk", "absent");
}

/// The SFTP conformance table (ssh/tests/data/conformance.py), every case FTP can express,
/// through ProFTPD with curl: same rule sets (the tree without its `/clients/*/in` key), same
/// expected results, same check that nothing else on disk changed.
#[test]
fn conformance_table_through_proftpd() {
    let r = run();
    let lines = r.block("conformance");
    let text = lines.join("\n");
    let summary = lines.iter().rev().find(|l| l.starts_with("cases ")).copied().unwrap_or_default();
    let cases: usize = summary.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(cases >= 60 && summary.ends_with("failed 0"), "{text}");
}

#[test]
fn refused_logins_say_why() {
    let r = run();
    r.refused_on("proftpd", "badpw", "rwu", "password");
    r.refused_on("proftpd", "inactive", "inact", "active: account is inactive");
    r.refused_on("proftpd", "expired", "expd", "expiry: account expired");
    r.refused_on("proftpd", "noftp", "noftp", "protocol: ftp is not among the user's protocols");
    r.refused_on("proftpd", "wild", "wild", "ProFTPD cannot enforce the rule keys /clients/*/in");
    r.rc("check-wild", 1).said("check-wild", "proftpd    DENY   ProFTPD cannot enforce the rule keys /clients/*/in");
    r.rc("check-tree", 0).said("check-tree", "proftpd    allow  ProFTPD enforces this user's root and every rule");
    r.rc("local", 0).said("local", "local.txt");
}

#[test]
fn totp_must_change_ip_and_lockout_over_ftp() {
    let r = run();
    r.login_cases_pass("proftpd");
    // IPv6 client addresses reach the IP rule as they are.
    r.rc("v6-ok", 0);
    r.refused_on("proftpd", "v6-v4", "v6u", "ip:");
    r.refused_on("proftpd", "v6-ipu", "ipu", "ip:");
    r.mapped_cases_pass("proftpd", "127.0.0.");
}

#[test]
fn cli_change_takes_effect_at_the_next_login_without_a_restart() {
    let r = run();
    r.rc("flip-put", 0);
    let ms = r.number("FLIP_MS");
    r.failed("flip-put-after").said("flip-put-after", "550");
    r.rc("flip-get-after", 0).said("flip-get-after", "hello over ftp");
    r.rc("flip-pid", 0).said("flip-pid", "same proftpd");
    r.refused_on("proftpd", "flip-wild", "flip", "ProFTPD cannot enforce the rule keys /x/*/y");
    r.not_said("flip-file", "flip.conf");
    let log = r.block("proftpd.log").join("\n");
    assert!(ms < 4000, "ProFTPD took {ms} ms to re-read the change\n{log}\n{}", r.logs());
}
