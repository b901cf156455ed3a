//! The modules and binaries from other packages of the workspace, built once per run, for the
//! end-to-end suites of ssh/ (sshd.rs, ldap_web.rs; included with `#[path]`).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build.rs"]
mod build;

/// The modules and binaries from other packages of the workspace, built once per run.
pub struct Built {
    pub pam_so: PathBuf,
    pub nss_so: PathBuf,
    pub gatehoused: PathBuf,
    pub tasks: PathBuf,
    pub cli: PathBuf,
}

pub fn built() -> Result<Built, String> {
    let dir = build::workspace_parts(&[
        "-p",
        "pam_gatehouse",
        "-p",
        "nss_gatehouse",
        "-p",
        "gatehouse-server",
        "-p",
        "gatehouse-tasks",
        "--lib",
        "--bin",
        "gatehoused",
        "--bin",
        "gatehouse-tasks",
        "--bin",
        "gatehouse",
    ])?;
    Ok(Built {
        pam_so: dir.join("libpam_gatehouse.so"),
        nss_so: dir.join("libnss_gatehouse.so"),
        gatehoused: dir.join("gatehoused"),
        tasks: dir.join("gatehouse-tasks"),
        cli: dir.join("gatehouse"),
    })
}

/// `unshare -m -p -f --mount-proc --propagation private sh -c SCRIPT` with the environment
/// `sshd-setup.sh` reads besides the passwords and ports (T, DATA, the test library, the
/// packaged profile and drop-in, the modules and every binary). Both includers are tests of the
/// ssh package (gatehouse-ssh), whose binaries `CARGO_BIN_EXE_*` names.
pub fn sshd_world(b: &Built, t: &Path, script: &str) -> Command {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-p", "-f", "--mount-proc", "--propagation", "private", "sh", "-c", script])
        .env("T", t)
        .env("DATA", manifest.join("tests/data"))
        .env("GATEHOUSE_TESTLIB", manifest.join("../tests/lib"))
        .env("PROFILE", manifest.join("../packaging/pam-configs/gatehouse"))
        .env("DROPIN", manifest.join("../packaging/sshd/gatehouse.conf"))
        .env("PAM_SO", &b.pam_so)
        .env("NSS_SO", &b.nss_so)
        .env("GATEHOUSED", &b.gatehoused)
        .env("GATEHOUSE_TASKS", &b.tasks)
        .env("GATEHOUSE_CLI", &b.cli)
        .env("KEYS_BIN", env!("CARGO_BIN_EXE_gatehouse-keys"))
        .env("SFTP_BIN", env!("CARGO_BIN_EXE_gatehouse-sftp"));
    cmd
}
