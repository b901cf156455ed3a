//! gatehouse-tasks: root creation and removal on real directories (temp dirs as the allowed
//! prefixes), symlink refusal, and the socket protocol. These tests run as root (chown).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use gatehouse_policy::config::Config;
use gatehouse_policy::wire::{read_frame, write_frame, MAX_FRAME};
use gatehouse_tasks::proto::{self, Request, Response};
use gatehouse_tasks::{ensure_root, remove_root, Created, Removed, TaskError};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

struct Env {
    _dir: tempfile::TempDir,
    /// `home_base`.
    home: String,
    /// A second prefix (`root_prefixes`).
    data: String,
    /// Outside every prefix.
    outside: String,
    cfg: Config,
}

fn env() -> Env {
    assert_eq!(nix::unistd::geteuid().as_raw(), 0, "these tests run as root");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap().to_string();
    let (home, data, outside) = (format!("{base}/home"), format!("{base}/data"), format!("{base}/outside"));
    for d in [&home, &data, &outside] {
        std::fs::create_dir(d).unwrap();
    }
    let cfg = Config::parse(&format!("home_base = \"{home}\"\nroot_prefixes = [\"{data}\"]")).unwrap();
    Env { _dir: dir, home, data, outside, cfg }
}

fn meta(p: &str) -> std::fs::Metadata {
    std::fs::symlink_metadata(p).unwrap()
}

fn refused<T: std::fmt::Debug>(r: Result<T, TaskError>, needle: &str) {
    match r {
        Err(TaskError::Refused(why)) => assert!(why.contains(needle), "{why:?} does not contain {needle:?}"),
        other => panic!("expected a refusal containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn creates_a_nested_root_with_the_owner_and_mode() {
    let e = env();
    let root = format!("{}/a/b/alice", e.data);
    assert_eq!(ensure_root(&e.cfg, &root, 12345, 12346).unwrap(), Created::Created);
    let m = meta(&root);
    assert!(m.is_dir());
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (12345, 12346, 0o750));
    for mid in [format!("{}/a", e.data), format!("{}/a/b", e.data)] {
        let m = meta(&mid);
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o755), "{mid}");
    }
    // A second call finds it and changes nothing.
    assert_eq!(ensure_root(&e.cfg, &root, 7777, 7777).unwrap(), Created::Existed);
    assert_eq!(meta(&root).uid(), 12345);
    // Directly under home_base too.
    assert_eq!(ensure_root(&e.cfg, &format!("{}/bob", e.home), 12347, 12347).unwrap(), Created::Created);
}

#[test]
fn an_existing_directory_is_used_as_it_is() {
    let e = env();
    let root = format!("{}/shared", e.data);
    std::fs::DirBuilder::new().mode(0o700).create(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o701)).unwrap();
    assert_eq!(ensure_root(&e.cfg, &root, 12345, 12345).unwrap(), Created::Existed);
    let m = meta(&root);
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o701));
}

#[test]
fn roots_outside_the_prefixes_are_refused() {
    let e = env();
    refused(ensure_root(&e.cfg, &format!("{}/x", e.outside), 12345, 12345), "must lie under");
    refused(ensure_root(&e.cfg, "/etc/gatehouse-test-x", 12345, 12345), "must lie under");
    refused(ensure_root(&e.cfg, &e.home, 12345, 12345), "must lie under");
    refused(ensure_root(&e.cfg, &format!("{}/../outside/x", e.home), 12345, 12345), "canonical");
    refused(ensure_root(&e.cfg, &format!("{}/x", e.home), 0, 0), "uid 0");
    assert!(!Path::new(&format!("{}/x", e.outside)).exists());
    assert!(!Path::new("/etc/gatehouse-test-x").exists());
    // The prefix itself must exist.
    std::fs::remove_dir(&e.data).unwrap();
    refused(ensure_root(&e.cfg, &format!("{}/x", e.data), 12345, 12345), "does not exist");
    assert!(!Path::new(&e.data).exists());
}

#[test]
fn symlinks_below_the_prefix_are_refused() {
    let e = env();
    // prefix/link -> /etc: nothing may be created in /etc.
    std::os::unix::fs::symlink("/etc", format!("{}/etc", e.home)).unwrap();
    refused(ensure_root(&e.cfg, &format!("{}/etc/gatehouse-test-y", e.home), 12345, 12345), "is a symlink");
    assert!(!Path::new("/etc/gatehouse-test-y").exists());
    // prefix/link -> outside dir, deeper.
    std::os::unix::fs::symlink(&e.outside, format!("{}/out", e.home)).unwrap();
    refused(ensure_root(&e.cfg, &format!("{}/out/a/alice", e.home), 12345, 12345), "is a symlink");
    assert!(!Path::new(&format!("{}/a", e.outside)).exists());
    // The root itself is a symlink to an existing directory: never used, never chowned.
    refused(ensure_root(&e.cfg, &format!("{}/out", e.home), 12345, 12345), "is a symlink");
    assert_eq!(meta(&e.outside).uid(), 0);
    // A file in the way.
    std::fs::write(format!("{}/file", e.home), b"x").unwrap();
    refused(ensure_root(&e.cfg, &format!("{}/file/alice", e.home), 12345, 12345), "not a directory");
}

#[test]
fn remove_refuses_shared_symlinked_and_outside_roots() {
    let e = env();
    let root = format!("{}/alice", e.home);
    ensure_root(&e.cfg, &root, 12345, 12345).unwrap();
    refused(remove_root(&e.cfg, &root, &["bob".to_string()], 12345), "shared with bob");
    assert!(Path::new(&root).is_dir());
    refused(remove_root(&e.cfg, &format!("{}/x", e.outside), &[], 12345), "must lie under");
    std::fs::write(format!("{}/keep", e.outside), b"keep").unwrap();
    std::os::unix::fs::symlink(&e.outside, format!("{}/lnk", e.home)).unwrap();
    refused(remove_root(&e.cfg, &format!("{}/lnk", e.home), &[], 12345), "is a symlink");
    refused(remove_root(&e.cfg, &format!("{}/lnk/keep", e.home), &[], 12345), "is a symlink");
    assert_eq!(std::fs::read(format!("{}/keep", e.outside)).unwrap(), b"keep");
    // A prefix nested in another is never removed.
    let cfg = Config::parse(&format!("home_base = \"{}\"\nroot_prefixes = [\"{}/nested\"]", e.home, e.home)).unwrap();
    refused(remove_root(&cfg, &format!("{}/nested", e.home), &[], 12345), "allowed prefix");
    assert_eq!(remove_root(&e.cfg, &format!("{}/nobody", e.home), &[], 12345).unwrap(), Removed::Absent);
}

/// Issue 15, item 4: a root is removed only when it is a folder the deleted user owns, as
/// gatehouse-tasks makes every root; a folder that was there before (a former employee's, owned
/// by their uid, or root's) is refused and left whole.
#[test]
fn remove_takes_only_a_root_the_user_owns() {
    let e = env();
    let former = format!("{}/former-employee", e.home);
    ensure_root(&e.cfg, &former, 23456, 23456).unwrap();
    std::fs::write(format!("{former}/payroll.xlsx"), b"keep").unwrap();
    refused(remove_root(&e.cfg, &former, &[], 12345), "owned by uid 23456");
    let rm = Request::RemoveRoot { root: former.clone(), sharers: vec![], owner: 12345 };
    assert!(matches!(over_socket(&e.cfg, 0, None, &rm), Response::Refused { .. }));
    let by_hand = format!("{}/archive", e.home);
    std::fs::create_dir(&by_hand).unwrap();
    refused(remove_root(&e.cfg, &by_hand, &[], 12345), "owned by uid 0");
    assert_eq!(std::fs::read(format!("{former}/payroll.xlsx")).unwrap(), b"keep");
    assert!(Path::new(&by_hand).is_dir());
    assert_eq!(remove_root(&e.cfg, &former, &[], 23456).unwrap(), Removed::Removed);
}

#[test]
fn remove_deletes_a_tree_without_following_links() {
    let e = env();
    let root = format!("{}/alice", e.data);
    ensure_root(&e.cfg, &root, 12345, 12345).unwrap();
    std::fs::create_dir_all(format!("{root}/d1/d2/d3")).unwrap();
    std::fs::write(format!("{root}/d1/d2/d3/f"), b"f").unwrap();
    std::fs::write(format!("{root}/top"), b"t").unwrap();
    std::fs::set_permissions(format!("{root}/d1/d2"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::write(format!("{}/secret", e.outside), b"outside").unwrap();
    std::fs::create_dir(format!("{}/dir", e.outside)).unwrap();
    std::fs::write(format!("{}/dir/inner", e.outside), b"inner").unwrap();
    std::os::unix::fs::symlink(format!("{}/secret", e.outside), format!("{root}/to-file")).unwrap();
    std::os::unix::fs::symlink(format!("{}/dir", e.outside), format!("{root}/d1/to-dir")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", format!("{root}/dangling")).unwrap();
    assert_eq!(remove_root(&e.cfg, &root, &[], 12345).unwrap(), Removed::Removed);
    assert!(std::fs::symlink_metadata(&root).is_err());
    assert_eq!(std::fs::read(format!("{}/secret", e.outside)).unwrap(), b"outside");
    assert_eq!(std::fs::read(format!("{}/dir/inner", e.outside)).unwrap(), b"inner");
    assert!(Path::new(&e.data).is_dir(), "the prefix stays");
}

/// Runs `serve_one` on one end of a socket pair as a caller with uid `peer`; returns the answer.
fn over_socket(cfg: &Config, peer: u32, gatehouse_uid: Option<u32>, req: &Request) -> Response {
    let (mut client, mut server) = UnixStream::pair().unwrap();
    let cfg = cfg.clone();
    let t = std::thread::spawn(move || proto::serve_one(&cfg, &mut server, peer, gatehouse_uid).unwrap());
    write_frame(&mut client, &proto::encode_request(req).unwrap(), MAX_FRAME).unwrap();
    let resp = proto::decode_response(&read_frame(&mut client, MAX_FRAME).unwrap()).unwrap();
    let (_, served) = t.join().unwrap();
    assert_eq!(served, resp);
    resp
}

#[test]
fn the_socket_answers_ensure_root_and_refuses_other_callers() {
    let e = env();
    let root = format!("{}/carol", e.home);
    let req = Request::EnsureRoot { root: root.clone(), uid: 12345, gid: 12345 };
    // Neither root nor the gatehouse user: refused, nothing created.
    let resp = over_socket(&e.cfg, 1000, Some(998), &req);
    assert!(matches!(resp, Response::Refused { ref reason } if reason.contains("uid 1000")), "{resp:?}");
    assert!(!Path::new(&root).exists());
    // The gatehouse user, then root.
    assert_eq!(over_socket(&e.cfg, 998, Some(998), &req), Response::Ok);
    assert_eq!(meta(&root).uid(), 12345);
    assert_eq!(over_socket(&e.cfg, 0, None, &req), Response::Existed);
    let outside = Request::EnsureRoot { root: format!("{}/x", e.outside), uid: 12345, gid: 12345 };
    assert!(matches!(over_socket(&e.cfg, 0, None, &outside), Response::Refused { .. }));
    let rm = Request::RemoveRoot { root: root.clone(), sharers: vec!["dave".into()], owner: 12345 };
    assert!(matches!(over_socket(&e.cfg, 0, None, &rm), Response::Refused { .. }));
    let rm = Request::RemoveRoot { root: root.clone(), sharers: vec![], owner: 12345 };
    assert_eq!(over_socket(&e.cfg, 0, None, &rm), Response::Ok);
    assert_eq!(over_socket(&e.cfg, 0, None, &rm), Response::Absent);
}

#[test]
fn the_client_talks_to_a_listening_socket() {
    let e = env();
    let sock = format!("{}/tasks.socket", e.outside);
    let listener = UnixListener::bind(&sock).unwrap();
    let cfg = e.cfg.clone();
    let t = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        proto::serve_one(&cfg, &mut s, 0, None).unwrap()
    });
    let root = format!("{}/dave", e.data);
    let req = Request::EnsureRoot { root: root.clone(), uid: 12345, gid: 12345 };
    assert_eq!(gatehouse_server::tasks::call(Path::new(&sock), &req, Duration::from_secs(5)).unwrap(), Response::Ok);
    t.join().unwrap();
    assert!(Path::new(&root).is_dir());
    // No helper: an I/O error (the daemon hook logs it once and carries on).
    std::fs::remove_file(&sock).unwrap();
    assert!(gatehouse_server::tasks::call(Path::new(&sock), &req, Duration::from_secs(1)).is_err());
}

/// gatehoused's hook: after an export, a user whose root is missing gets it from the helper (and
/// a user this host does not serve, sorted first, gets none); a missing helper does not stop
/// exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_asks_the_helper_for_missing_roots() {
    use gatehouse_server::store::NewUser;
    use std::sync::Arc;
    let (store, dir) = common::fresh_store(&common::Db::Sqlite, common::FakeLocal::default()).await;
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let alice = store.add_user("root", NewUser { name: "alice".into(), ..NewUser::default() }).await.unwrap();
    let elsewhere = NewUser { name: "aaron".into(), hosts: vec!["another-host".into()], ..NewUser::default() };
    let aaron = store.add_user("root", elsewhere).await.unwrap();
    let sock = dir.path().join("tasks.socket");
    let listener = UnixListener::bind(&sock).unwrap();
    let cfg = store.config().clone();
    let helper = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        proto::serve_one(&cfg, &mut s, 0, None).unwrap()
    });
    let (changed, stop) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
    let hook = gatehouse_server::tasks::hook::RootHook::new(&sock);
    let snapshot = dir.path().join("nss.db");
    let task = tokio::spawn(gatehouse_server::daemon::exporter::run_with(
        store.clone(),
        snapshot.clone(),
        changed.clone(),
        stop.clone(),
        gatehouse_server::daemon::exporter::Options { roots: Some(hook), ..Default::default() },
    ));
    let (req, resp) = tokio::task::spawn_blocking(move || helper.join().unwrap()).await.unwrap();
    assert_eq!(resp, Response::Ok);
    assert!(matches!(req, Some(Request::EnsureRoot { ref root, .. }) if *root == alice.root));
    let m = meta(&alice.root);
    assert_eq!((m.uid(), m.gid()), (alice.uid, alice.gid));

    // The helper is gone: a new user still reaches the snapshot; no root is made.
    let bob = store.add_user("root", NewUser { name: "bob".into(), ..NewUser::default() }).await.unwrap();
    changed.notify_one();
    let t = std::time::Instant::now();
    loop {
        let bytes = std::fs::read(&snapshot).unwrap();
        let snap = gatehouse_snapshot::Snapshot::parse(&bytes).unwrap();
        if snap.user_by_name(b"bob").ok().flatten().is_some() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "bob never reached the snapshot");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!Path::new(&bob.root).exists());
    assert!(!Path::new(&aaron.root).exists(), "a root was made for a user another host serves");
    stop.notify_one();
    task.await.unwrap();
}

/// A minimal standalone ProFTPD config for `proftpd -t` and a short-lived daemon: loopback,
/// unprivileged, every state file under `dir`, the generated files included from `include`.
fn proftpd_conf(dir: &Path, modules: &Path, include: &str, port: u16) -> std::path::PathBuf {
    let d = dir.display();
    let text = format!(
        "ModulePath {}\nLoadModule mod_ifsession.c\nServerType standalone\nDefaultServer on\nPort {port}\n\
         DefaultAddress 127.0.0.1\nUseIPv6 off\nUser nobody\nGroup nogroup\nPidFile {d}/proftpd.pid\n\
         ScoreboardFile {d}/proftpd.score\nDelayTable none\nWtmpLog off\nSystemLog {d}/proftpd.log\n\
         Include {include}/*.conf\n",
        modules.display()
    );
    let path = dir.join("proftpd.conf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn proftpd_files_are_root_owned_valid_config_and_a_reload_signals_proftpd() {
    use gatehouse_policy::proftpd::{Cmd, Place, ProftpdUser};
    let Some((bin, modules)) = common::proftpd() else {
        panic!("ProFTPD is not installed (.ci/run unpacks it to {})", common::PROFTPD_UNPACKED)
    };
    let e = env();
    let base = Path::new(&e.home).parent().unwrap();
    let inc = base.join("proftpd.d");
    let mut cfg = e.cfg.clone();
    cfg.proftpd_config_dir = inc.display().to_string();
    cfg.proftpd_pid_file = base.join("proftpd.pid").display().to_string();
    let user = ProftpdUser {
        name: "alice".into(),
        root: format!("{}/alice", e.home),
        max_file_size: Some(1000),
        places: vec![
            Place { path: "/".into(), allow: [Cmd::List].into(), overwrite: false },
            Place { path: "/in/*".into(), allow: [Cmd::List, Cmd::Stor].into(), overwrite: false },
            Place { path: "/clients/*/?*".into(), allow: [Cmd::Retr].into(), overwrite: true },
        ],
    };
    // Not set up yet: refused, nothing written.
    refused(gatehouse_tasks::proftpd::write_user(&cfg, &user), "does not exist");
    std::fs::create_dir(&inc).unwrap();
    assert!(matches!(gatehouse_tasks::proftpd::write_user(&cfg, &user), Ok(Created::Created)));
    assert!(matches!(gatehouse_tasks::proftpd::write_user(&cfg, &user), Ok(Created::Existed)));
    let m = meta(&format!("{}/alice.conf", inc.display()));
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o644));
    // Roots outside the prefixes, local accounts and odd paths are refused whatever is asked.
    let outside = ProftpdUser { root: format!("{}/x", e.outside), ..user.clone() };
    refused(gatehouse_tasks::proftpd::write_user(&cfg, &outside), "must lie under");
    refused(
        gatehouse_tasks::proftpd::write_user(&cfg, &ProftpdUser { name: "root".into(), ..user.clone() }),
        "local account",
    );
    let mut odd = user.clone();
    odd.places[1].path = "/in>\nExecOnConnect /bin/sh".into();
    refused(gatehouse_tasks::proftpd::write_user(&cfg, &odd), "not a plain path");

    // ProFTPD itself accepts what was written.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = proftpd_conf(base, &modules, &inc.display().to_string(), port);
    let t = std::process::Command::new(&bin).arg("-t").arg("-c").arg(&conf).output().unwrap();
    let said = String::from_utf8_lossy(&t.stderr).into_owned() + &String::from_utf8_lossy(&t.stdout);
    assert!(t.status.success() && !said.contains("fatal"), "proftpd -t:\n{said}");

    // Reload: not running → nothing to do; running → SIGHUP, which it logs and survives.
    assert!(matches!(gatehouse_tasks::proftpd::reload(&cfg), Ok(Removed::Absent)));
    let mut daemon = std::process::Command::new(&bin).arg("-n").arg("-q").arg("-c").arg(&conf).spawn().unwrap();
    let pid_file = Path::new(&cfg.proftpd_pid_file);
    let log = base.join("proftpd.log");
    let wait_for = |what: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !what() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        what()
    };
    let started = wait_for(&|| std::fs::read_to_string(pid_file).is_ok_and(|p| p.trim() == daemon.id().to_string()));
    let signalled = started && matches!(gatehouse_tasks::proftpd::reload(&cfg), Ok(Removed::Removed));
    let logged = signalled && wait_for(&|| std::fs::read_to_string(&log).unwrap_or_default().contains("SIGHUP"));
    let alive = daemon.try_wait().unwrap().is_none();
    let _ = daemon.kill();
    let _ = daemon.wait();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        started && signalled && logged && alive,
        "started {started} signalled {signalled} logged {logged} alive {alive}\n{log_text}"
    );
    // A pid file naming another process is left alone.
    std::fs::write(pid_file, std::process::id().to_string()).unwrap();
    assert!(matches!(gatehouse_tasks::proftpd::reload(&cfg), Ok(Removed::Absent)));
    assert!(matches!(gatehouse_tasks::proftpd::remove_user(&cfg, "alice"), Ok(Removed::Removed)));
}
