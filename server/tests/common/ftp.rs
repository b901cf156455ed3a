//! What the FTP end-to-end suites (tests/vsftpd.rs, tests/proftpd.rs) share (each includes it
//! as `mod ftp` beside `mod common`: examples include common/mod.rs and lack the
//! `CARGO_BIN_EXE_*` variables used here): building the PAM
//! and NSS modules, and running one scenario in private mount and PID namespaces
//! (`tests/data/ftp-world.sh`, then the server's setup and scenario scripts), parsed into the
//! RESULT-line harness of `tests/lib/scenario.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../../../tests/lib/scenario.rs"]
pub mod scenario;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Every password of the scenarios (gatehouse users and the local user).
pub const PASSWORD: &str = "correct horse battery staple";

/// Builds the PAM and NSS modules and gatehouse-tasks (other packages of the workspace) into
/// this test's target dir.
pub fn modules() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let dir = crate::common::build_workspace_parts(&[
        "-p",
        "pam_gatehouse",
        "-p",
        "nss_gatehouse",
        "-p",
        "gatehouse-tasks",
        "--bin",
        "gatehouse-tasks",
    ])?;
    Ok((dir.join("libpam_gatehouse.so"), dir.join("libnss_gatehouse.so"), dir.join("gatehouse-tasks")))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `ftp-world.sh`, then `<server>-setup.sh` and `<server>-scenario.sh` in one shell in the
/// namespaces, with `env` added to what ftp-world.sh takes. The server's log is
/// `<temp dir>/<server>.log`.
pub fn run(server: &'static str, env: &[(&str, String)]) -> Result<scenario::Run, String> {
    let (pam_so, nss_so, tasks) = modules()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let t = dir.path();
    std::fs::write(t.join("g.toml"), format!("database = \"sqlite://{}/g.db\"\n", t.display()))
        .map_err(|e| e.to_string())?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = manifest.join("tests/data");
    let script = format!(". {0}/ftp-world.sh\n. {0}/{server}-setup.sh\n. {0}/{server}-scenario.sh\n", data.display());
    let mut cmd = scenario::in_namespaces(240, &script);
    cmd.env("T", t)
        .env("GATEHOUSE_TESTLIB", manifest.join("../tests/lib"))
        .env("PAMD", manifest.join("../pam/tests/data/pam.d"))
        .env("PROFILE", manifest.join("../packaging/pam-configs/gatehouse"))
        .env("PAM_SO", &pam_so)
        .env("NSS_SO", &nss_so)
        .env("GATEHOUSED", env!("CARGO_BIN_EXE_gatehoused"))
        .env("GATEHOUSE_TASKS", &tasks)
        .env("GATEHOUSE_CLI", env!("CARGO_BIN_EXE_gatehouse"))
        .env("PW", PASSWORD)
        .env("TOTP_PY", manifest.join("../ssh/tests/data/totp.py"))
        .env("PORT", free_port().to_string())
        .env("PASV", free_port().min(65_000).to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let server_log = format!("{server}.log");
    let logs = [(server, server_log.as_str()), ("gatehoused", "daemon.log"), ("gatehouse-tasks", "tasks.log")];
    scenario::from_output(&out, t, "FTPLOG", server, &logs)
}

/// Assertions both FTP suites make.
impl scenario::Run {
    /// `login_cases` (ftp-world.sh) over the PAM service `service`: TOTP appended works once,
    /// the password alone fails; must-change, a foreign allow-list and a lock refuse, each with
    /// its reason in gatehoused's log; and FTPS (explicit TLS) works.
    pub fn login_cases_pass(&self, service: &str) -> &Self {
        self.rc("totp-ok", 0);
        self.refused_on(service, "totp-replay", "totpu", "TOTP code already used");
        self.refused_on(service, "totp-none", "totpu", "password");
        self.refused_on(service, "mustc", "mustc", "must be changed before an FTP login; change it over SSH");
        self.refused_on(service, "ipu", "ipu", "ip:");
        self.refused_on(service, "locked-right", "locked", "lock");
        // FTPS with the test's certificate: TLS was negotiated and the listing came back.
        self.rc("ftps", 0).said("ftps", "< 234 ").said("ftps", "SSL connection using")
    }

    /// `rw_cases` (ftp-world.sh): the read-write user's upload, list, download, mkdir, rename
    /// and delete worked and showed on disk, and `..` did not leave the root.
    pub fn read_write_cases_pass(&self) -> &Self {
        self.rc("rw-put", 0).said("rw-put-disk", "rwu regular file|hello over ftp");
        self.rc("rw-ls", 0).said("rw-ls", "up.txt");
        self.rc("rw-get", 0).said("rw-get", "hello over ftp");
        self.rc("rw-mkdir", 0).said("rw-mkdir-disk", "rwu directory");
        self.rc("rw-mv", 0).said("rw-mv-disk", "rwu regular file|hello over ftp");
        self.rc("rw-rm", 0).said("rw-rm-disk", "absent");
        self.failed("rw-escape").said("rw-escape", "550").not_said("rw-escape", "passwd")
    }

    /// A login refused by the server (530), with gatehoused's account or authenticate line for
    /// `user` over `service` saying `reason`.
    pub fn refused_on(&self, service: &str, label: &str, user: &str, reason: &str) -> &Self {
        self.failed(label).said(label, "530");
        let who = format!("user=\"{user}\" service=\"{service}\"");
        if !self
            .log("gatehoused")
            .lines()
            .any(|l| l.contains(&who) && l.contains("answer=\"deny\"") && l.contains(reason))
        {
            self.fail(label, &format!("expected a deny line for {user} with {reason:?} in gatehoused's log"));
        }
        self
    }

    /// gatehoused's decision lines for `user` over `service` that gave `answer`.
    pub fn decisions(&self, user: &str, service: &str, answer: &str) -> Vec<&str> {
        let (who, ans) = (format!("user=\"{user}\" service=\"{service}\""), format!("answer=\"{answer}\""));
        self.log("gatehoused").lines().filter(|l| l.contains(&who) && l.contains(&ans)).collect()
    }

    /// The `mapped-*` cases: IPv4 clients of a listener on `::ffff:127.0.0.1`, which the server
    /// passes to PAM as `reported` (vsftpd: `::ffff:127.0.0.x`; ProFTPD un-maps it itself:
    /// `127.0.0.x`); the IP rule judges them as the IPv4 address (a 127.0.0.0/8 allow-list
    /// admits them, 10.9.9.9 and ::1 ones refuse them).
    pub fn mapped_cases_pass(&self, service: &str, reported: &str) -> &Self {
        self.rc("mapped-ok", 0);
        let rhost = format!("rhost=\"{reported}");
        if !self.decisions("m4u", service, "allow").iter().any(|l| l.contains(&rhost)) {
            self.fail("mapped-ok", &format!("expected an allow line for m4u with {rhost} in gatehoused's log"));
        }
        self.refused_on(service, "mapped-ipu", "ipu", "ip:");
        self.refused_on(service, "mapped-v6u", "v6u", "ip:")
    }
}
