//! The modules and binaries from other packages of the workspace, built once per run, for the
//! end-to-end suites of sftp-hook (sshd.rs, ldap_web.rs; included with `#[path]`).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

/// The modules and binaries from other packages of the workspace, built once per run.
pub struct Built {
    pub pam_so: PathBuf,
    pub nss_so: PathBuf,
    pub gatehoused: PathBuf,
    pub tasks: PathBuf,
    pub cli: PathBuf,
}

pub fn built() -> Result<Built, String> {
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
