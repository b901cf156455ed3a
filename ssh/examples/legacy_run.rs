//! Test helper for `tests/legacy.rs`, in two roles.
//!
//! * `legacy_run confine <sftp|legacy> <root> <outside-dir>`: confines itself and reports, one
//!   line per probe, what it can still open (`probe <what> ok|denied`).
//! * Otherwise it stands in for ssh (rsync's `-e`, scp's `-S`): it skips ssh options and the
//!   host, joins the rest into the command as sshd would hand it over in
//!   `SSH_ORIGINAL_COMMAND`, and serves it the way gatehouse-sftp does, for the user described
//!   by `LEGACY_ROOT` and `LEGACY_FLAGS` (comma-separated: `ro`, `nodelete`, `rules`, `max=N`, and
//!   `unfenced-ok` for `legacy_without_landlock = true`).
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_ssh::command::{classify, Command};
use gatehouse_ssh::confine::{confine, Fence};
use gatehouse_ssh::legacy::{plan_rsync, plan_scp, run, LegacyUser, RunError};
use rustix::fs::{open, Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

fn open_dir(p: &Path) -> OwnedFd {
    open(p, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap()
}

fn probe(what: &str, ok: bool) {
    println!("probe {what} {}", if ok { "ok" } else { "denied" });
}

fn confine_check(fence: &str, root: &Path, outside: &Path) {
    let fd = open_dir(root);
    let fence = if fence == "sftp" { Fence::Sftp } else { Fence::Legacy };
    let c = confine(fd.as_fd(), fence).unwrap();
    println!("confined {:?} abi {} nnp {}", c.enforcement, c.kernel_abi, c.no_new_privs);
    probe("read-etc-hostname", std::fs::read("/etc/hostname").is_ok());
    probe("read-etc-passwd", std::fs::read("/etc/passwd").is_ok());
    probe("write-outside", std::fs::write(outside.join("x"), b"x").is_ok());
    probe("read-outside", std::fs::read(outside.join("existing")).is_ok());
    probe("write-root", std::fs::write(root.join("new"), b"n").is_ok());
    probe("read-root", std::fs::read(root.join("new")).is_ok());
    probe("mkdir-root", std::fs::create_dir(root.join("d")).is_ok());
    probe("read-usr", std::fs::read("/usr/bin/rsync").is_ok());
    probe("write-dev-null", std::fs::write("/dev/null", b"x").is_ok());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("confine") {
        confine_check(&args[1], Path::new(&args[2]), Path::new(&args[3]));
        return;
    }
    // ssh stand-in: [-x] [-oFoo] [-l user] [--] host command...
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--" => {
                i += 1;
                break;
            }
            "-l" | "-p" | "-o" => i += 2,
            s if s.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let cmd = args[i + 1..].join(" ");
    let root = PathBuf::from(std::env::var("LEGACY_ROOT").unwrap());
    let flags = std::env::var("LEGACY_FLAGS").unwrap_or_default();
    let has = |f: &str| flags.split(',').any(|x| x == f);
    let max = flags.split(',').find_map(|x| x.strip_prefix("max=")).map(|n| n.parse().unwrap());
    let user = LegacyUser {
        root: &root,
        read_only: has("ro"),
        delete_allowed: !has("nodelete"),
        has_rules: has("rules"),
        max_file_size: max,
    };
    let plan = match classify(&["-c".to_string(), cmd.clone()], Some(&cmd)) {
        Command::Rsync(w) => plan_rsync(&w, &user),
        Command::Scp(w) => plan_scp(&w, &user),
        Command::Sftp => Err("sftp is not served by this helper".into()),
        Command::Refused(m) => Err(m),
        Command::Admin(_) => Err("admin commands are not served by this helper".into()),
    };
    let plan = match plan {
        Ok(p) => p,
        Err(m) => {
            eprintln!("{m}");
            std::process::exit(1);
        }
    };
    if let Ok(log) = std::env::var("LEGACY_LOG") {
        std::fs::write(log, format!("{:?}\n", plan.args)).unwrap();
    }
    let fd = open_dir(&root);
    match run(&plan, fd.as_fd(), &root, has("unfenced-ok")) {
        RunError::Refused { user, reason } => eprintln!("{user} ({reason})"),
        RunError::Failed(e) => eprintln!("exec failed: {e}"),
    }
    std::process::exit(1);
}
