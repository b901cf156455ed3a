//! The SFTP conformance table (`tests/data/conformance.py`): every case through a real SFTP
//! session (paramiko) against the real handlers, run as an unprivileged uid, checked on disk
//! afterwards. Here the transport is a socket pair to `examples/sftp_local.rs` (no sshd), so the
//! table runs in seconds; `tests/sshd.rs` runs the same table through a real sshd.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::PathBuf;
use std::process::Command;

/// The local test server, built by a nested cargo (examples are not built for integration tests).
pub fn sftp_local() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "gatehouse-ssh", "--example", "sftp_local"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env("CARGO_TARGET_DIR", dir.parent().unwrap());
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
    dir.join("examples").join("sftp_local")
}

#[test]
fn conformance_table_over_a_real_sftp_session() {
    let server = sftp_local();
    let work = tempfile::tempdir().unwrap();
    // The unprivileged server must reach its root: the temp dir's parents are searchable.
    std::fs::set_permissions(work.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance.py");
    let out =
        Command::new("/usr/bin/python3").arg(&script).arg("local").arg(work.path()).arg(&server).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(work.path().join("server.log")).unwrap_or_default();
    let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(
        out.status.success(),
        "{stdout}\n{}\nserver log (last lines):\n{tail}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default();
    let cases: usize = summary.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(cases >= 60 && summary.ends_with("failed 0"), "{stdout}");
}

/// DESIGN's escape list: a directory swapped for a symlink to outside the root, in a loop, while
/// four sessions keep requests in flight (`tests/data/race.py`), for 60 s
/// (`GATEHOUSE_RACE_SECONDS` shortens it for local runs). Nothing outside may change and no read
/// may return the outside file.
#[test]
fn swapping_a_directory_for_a_symlink_never_escapes() {
    let server = sftp_local();
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(work.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let seconds = std::env::var("GATEHOUSE_RACE_SECONDS").unwrap_or_else(|_| "60".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/race.py");
    let out =
        Command::new("/usr/bin/python3").arg(&script).arg(work.path()).arg(&server).arg(&seconds).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let field = |name: &str| -> u64 {
        let words: Vec<&str> = stdout.split_whitespace().collect();
        words.iter().position(|w| *w == name).and_then(|i| words.get(i + 1)).and_then(|v| v.parse().ok()).unwrap()
    };
    assert_eq!((field("outside-changed"), field("leaked")), (0, 0), "{stdout}");
    // The race really ran: many requests, some of which landed inside while the real directory
    // was in place.
    assert!(field("requests") > 1000 && field("ok") > 10, "{stdout}");
}
