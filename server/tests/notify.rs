//! `Type=notify` readiness of both units, with the real binaries: gatehouse-tasks and gatehoused
//! each send `READY=1` to `$NOTIFY_SOCKET` (a datagram socket this test binds, as systemd does).
//! Both send it after binding their socket (see their `main`), so systemd starts what is ordered
//! after them (gatehoused after gatehouse-tasks, sshd after both) once they answer. Each runs in a private mount
//! namespace (tmpfs on /run and /var/lib: the socket and snapshot paths are fixed) and is
//! stopped by its pid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "../../tests/lib/build.rs"]
mod build;

/// Runs `bin` in a private mount namespace with `NOTIFY_SOCKET` set; `unshare` execs the
/// shell, which execs the binary, so the child's pid is the binary's.
fn start(bin: &str, notify: &std::path::Path, config: &std::path::Path) -> Child {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/lib && mkdir /var/lib/gatehouse && exec \"$0\"")
        .arg(bin)
        .env("NOTIFY_SOCKET", notify)
        .env("GATEHOUSE_CONFIG", config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits for one datagram and checks it says ready; the child is stopped either way.
fn expect_ready(mut child: Child, sock: &UnixDatagram, what: &str) {
    let mut buf = [0u8; 256];
    let got = sock.recv(&mut buf);
    let _ = child.kill();
    let _ = child.wait();
    let n = got.unwrap_or_else(|e| panic!("{what} sent no readiness within 30 s: {e}"));
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.lines().any(|l| l == "READY=1"), "{what} sent {text:?}");
}

#[test]
fn both_daemons_tell_systemd_they_are_ready() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gatehouse.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"sqlite://{}/g.db\"\nhome_base = \"{}/home\"\n",
            dir.path().display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let migrate = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["db", "migrate"])
        .env("GATEHOUSE_CONFIG", &config)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    // gatehouse-tasks is another package of the workspace: built into this test's target dir.
    let tasks = build::workspace_parts(&["-p", "gatehouse-tasks", "--bin", "gatehouse-tasks"]).unwrap();
    let tasks = tasks.join("gatehouse-tasks");
    for (what, bin) in [("gatehouse-tasks", tasks.to_str().unwrap()), ("gatehoused", env!("CARGO_BIN_EXE_gatehoused"))]
    {
        let path = dir.path().join(format!("{what}.notify"));
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        expect_ready(start(bin, &path, &config), &sock, what);
    }
}
