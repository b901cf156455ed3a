//! Building other packages of the workspace from an integration test (the modules, helper
//! binaries), into the test's own target dir and profile. Included with `#[path]` by the suites
//! that need parts of another crate (server/tests/common, tests/lib/built.rs).
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build ARGS` into this test's target dir, with its profile; returns the directory
/// the artifacts land in.
pub fn workspace_parts(args: &[&str]) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().and_then(Path::parent).ok_or("no target dir")?.to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", dir.parent().ok_or("no target dir")?);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("cargo build: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(dir)
}
