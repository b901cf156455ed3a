//! The filesystem layer of gatehouse-sftp (`sftp::fs`) against a real directory tree: every
//! operation on plain paths, symlink resolution inside the root, escapes (absolute targets, `..`
//! above the root, links to directories outside used as intermediate components), FIFOs that must
//! never block, and a race that swaps a directory for a symlink to outside while operations run.
//! Each test builds `<tmp>/root` (the user's root) next to `<tmp>/outside`, whose contents and
//! times must never change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_ssh::sftp::fs::{Create, FsError, OpenMode, Root, MAX_SYMLINKS};
use rustix::fs::{FileType, Mode, RenameFlags, CWD};
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    fs: Root,
}

/// `<tmp>/root` (opened as the root) and `<tmp>/outside` holding `keep` and `sub/inner`.
fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("keep"), b"outside data").unwrap();
    std::fs::write(outside.join("f"), b"outside f").unwrap();
    std::fs::write(outside.join("sub/inner"), b"inner").unwrap();
    std::fs::set_permissions(outside.join("keep"), std::fs::Permissions::from_mode(0o644)).unwrap();
    // Older times so that any later change shows.
    set_old_times(&outside);
    let fs = Root::open(&root).unwrap();
    Env { _tmp: tmp, root, outside, fs }
}

fn set_old_times(dir: &Path) {
    for entry in walk(dir) {
        let times = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec { tv_sec: 1_000_000, tv_nsec: 0 },
            last_modification: rustix::fs::Timespec { tv_sec: 1_000_000, tv_nsec: 0 },
        };
        rustix::fs::utimensat(CWD, &entry, &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
    }
}

/// `dir` and everything under it (not following links).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if std::fs::symlink_metadata(dir).unwrap().is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for name in names {
            out.extend(walk(&name));
        }
    }
    out
}

/// Everything observable about `dir`'s tree: names, types, modes, sizes, mtimes, contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, u64, i64, i64, Vec<u8>)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            let content = if m.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() };
            (p, (m.mode(), m.len(), m.mtime(), m.ctime(), content))
        })
        .collect()
}

fn errno<T>(r: Result<T, FsError>) -> Errno {
    match r {
        Err(FsError::Os(e)) => e,
        Err(other) => panic!("expected an errno, got {other:?}"),
        Ok(_) => panic!("expected an errno, got success"),
    }
}

fn assert_confined<T>(what: &str, r: Result<T, FsError>) {
    match r {
        Err(FsError::Escape | FsError::Loop) => {}
        Err(other) => panic!("{what}: expected Escape or Loop, got {other:?}"),
        Ok(_) => panic!("{what}: expected Escape or Loop, got success"),
    }
}

/// Refused without following a final link: `Loop`, or `ENOTDIR` (`O_DIRECTORY | O_NOFOLLOW`).
fn assert_not_followed<T>(what: &str, r: Result<T, FsError>) {
    match r {
        Err(FsError::Loop | FsError::Os(Errno::NOTDIR)) => {}
        Err(other) => panic!("{what}: expected Loop or ENOTDIR, got {other:?}"),
        Ok(_) => panic!("{what}: expected Loop or ENOTDIR, got success"),
    }
}

fn write_mode(create: Create) -> OpenMode {
    OpenMode { write: true, create, mode: 0o644, ..OpenMode::default() }
}

fn read_mode() -> OpenMode {
    OpenMode { read: true, ..OpenMode::default() }
}

fn read_all(fs: &Root, path: &str) -> Vec<u8> {
    let (fd, created) = fs.open_file(path, &read_mode()).unwrap();
    assert!(!created);
    let mut out = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut out).unwrap();
    out
}

fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn mtime_of(p: &Path) -> i64 {
    std::fs::symlink_metadata(p).unwrap().mtime()
}

#[test]
fn plain_operations() {
    let e = env();
    let fs = &e.fs;
    fs.mkdir("/a", 0o755).unwrap();
    assert_eq!(errno(fs.mkdir("/a", 0o755)), Errno::EXIST);
    assert_eq!(FileType::from_raw_mode(fs.lstat("/a").unwrap().st_mode), FileType::Directory);
    assert_eq!(errno(fs.lstat("/nothing")), Errno::NOENT);

    // Create, write, read back.
    let (fd, created) = fs.open_file("/a/f", &write_mode(Create::Exclusive)).unwrap();
    assert!(created);
    std::fs::File::from(fd).write_all(b"hello world").unwrap();
    assert_eq!(read_all(fs, "/a/f"), b"hello world");
    assert_eq!(std::fs::read(e.root.join("a/f")).unwrap(), b"hello world");
    assert_eq!(errno(fs.open_file("/a/f", &write_mode(Create::Exclusive))), Errno::EXIST);
    assert_eq!(errno(fs.open_file("/a/missing", &read_mode())), Errno::NOENT);
    assert_eq!(errno(fs.open_file("/missing/f", &write_mode(Create::IfMissing))), Errno::NOENT);

    // IfMissing reports `created` exactly.
    let (_, created) = fs.open_file("/a/g", &write_mode(Create::IfMissing)).unwrap();
    assert!(created);
    let (_, created) = fs.open_file("/a/g", &write_mode(Create::IfMissing)).unwrap();
    assert!(!created);

    // Append and truncate flags.
    let append = OpenMode { write: true, append: true, ..OpenMode::default() };
    std::fs::File::from(fs.open_file("/a/f", &append).unwrap().0).write_all(b"!").unwrap();
    assert_eq!(read_all(fs, "/a/f"), b"hello world!");
    let trunc = OpenMode { write: true, truncate: true, ..OpenMode::default() };
    std::fs::File::from(fs.open_file("/a/f", &trunc).unwrap().0).write_all(b"new").unwrap();
    assert_eq!(read_all(fs, "/a/f"), b"new");

    // The returned fd is blocking again.
    let (fd, _) = fs.open_file("/a/f", &read_mode()).unwrap();
    assert!(!rustix::fs::fcntl_getfl(&fd).unwrap().contains(rustix::fs::OFlags::NONBLOCK));

    // A directory is not a file.
    assert!(matches!(fs.open_file("/a", &read_mode()), Err(FsError::NotRegular)));
    assert!(matches!(fs.open_file("/", &read_mode()), Err(FsError::NotRegular)));

    // Rename with and without replace.
    fs.rename("/a/f", "/a/h", false).unwrap();
    assert!(!e.root.join("a/f").exists());
    assert_eq!(errno(fs.rename("/a/g", "/a/h", false)), Errno::EXIST);
    assert_eq!(read_all(fs, "/a/h"), b"new");
    fs.rename("/a/g", "/a/h", true).unwrap();
    assert_eq!(read_all(fs, "/a/h"), b"");
    fs.mkdir("/b", 0o700).unwrap();
    fs.rename("/a/h", "/b/h", false).unwrap();
    fs.rename("/b", "/a/b", false).unwrap();
    assert!(e.root.join("a/b/h").is_file());

    // truncate, extend.
    std::fs::write(e.root.join("t"), b"0123456789").unwrap();
    fs.truncate("/t", 3).unwrap();
    assert_eq!(std::fs::read(e.root.join("t")).unwrap(), b"012");
    fs.truncate("/t", 5).unwrap();
    assert_eq!(std::fs::read(e.root.join("t")).unwrap(), b"012\0\0");
    assert!(matches!(fs.truncate("/a", 0), Err(FsError::NotRegular)));
    assert_eq!(errno(fs.truncate("/nope", 0)), Errno::NOENT);

    // set_times.
    fs.set_times("/t", 1_000, 2_000).unwrap();
    let st = fs.lstat("/t").unwrap();
    assert_eq!((st.st_atime, st.st_mtime), (1_000, 2_000));
    fs.set_times("/a", 3_000, 4_000).unwrap();
    assert_eq!(mtime_of(&e.root.join("a")), 4_000);

    // chmod never sets setuid/setgid/sticky.
    fs.chmod("/t", 0o4755).unwrap();
    assert_eq!(mode_of(&e.root.join("t")), 0o755);
    fs.chmod("/t", 0o7777).unwrap();
    assert_eq!(mode_of(&e.root.join("t")), 0o777);
    fs.chmod("/a", 0o3750).unwrap();
    assert_eq!(mode_of(&e.root.join("a")), 0o750);
    std::fs::write(e.root.join("zero"), b"").unwrap();
    std::fs::set_permissions(e.root.join("zero"), std::fs::Permissions::from_mode(0o000)).unwrap();
    fs.chmod("/zero", 0o600).unwrap();
    assert_eq!(mode_of(&e.root.join("zero")), 0o600);
    // New files and directories never get them either (whatever the umask lets through).
    let how = OpenMode { write: true, create: Create::Exclusive, mode: 0o6777, ..Default::default() };
    assert!(fs.open_file("/suid", &how).unwrap().1);
    fs.mkdir("/sdir", 0o7777).unwrap();
    for p in ["suid", "sdir"] {
        let mode = mode_of(&e.root.join(p));
        assert_eq!(mode & 0o7000, 0, "{p}: {mode:o}");
        assert_eq!(mode & 0o700, 0o700, "{p}: {mode:o}");
    }

    // readlink.
    symlink("a/b/h", e.root.join("lnk")).unwrap();
    assert_eq!(fs.readlink("/lnk").unwrap(), b"a/b/h");
    assert_eq!(errno(fs.readlink("/t")), Errno::INVAL);
    assert_eq!(FileType::from_raw_mode(fs.lstat("/lnk").unwrap().st_mode), FileType::Symlink);

    // statvfs.
    let vfs = fs.statvfs("/a").unwrap();
    assert!(vfs.f_bsize > 0);
    assert_eq!(errno(fs.statvfs("/nope")), Errno::NOENT);

    // unlink never removes a directory; rmdir only removes empty ones.
    assert_eq!(errno(fs.unlink("/a")), Errno::ISDIR);
    assert_eq!(errno(fs.rmdir("/a")), Errno::NOTEMPTY);
    assert_eq!(errno(fs.rmdir("/t")), Errno::NOTDIR);
    assert_eq!(errno(fs.rmdir("/lnk")), Errno::NOTDIR);
    fs.unlink("/lnk").unwrap();
    assert!(e.root.join("a/b/h").exists());
    fs.unlink("/a/b/h").unwrap();
    fs.rmdir("/a/b").unwrap();
    assert!(!e.root.join("a/b").exists());
    assert_eq!(errno(fs.unlink("/a/b")), Errno::NOENT);
    assert_eq!(errno(fs.open_dir("/t")), Errno::NOTDIR);
}

#[test]
fn the_root_itself() {
    let e = env();
    let fs = &e.fs;
    assert_eq!(FileType::from_raw_mode(fs.lstat("/").unwrap().st_mode), FileType::Directory);
    assert_eq!(errno(fs.mkdir("/", 0o755)), Errno::EXIST);
    assert_eq!(errno(fs.rmdir("/")), Errno::BUSY);
    assert_eq!(errno(fs.unlink("/")), Errno::BUSY);
    std::fs::write(e.root.join("x"), b"").unwrap();
    assert_eq!(errno(fs.rename("/", "/y", false)), Errno::BUSY);
    assert_eq!(errno(fs.rename("/x", "/", true)), Errno::BUSY);
    assert_eq!(errno(fs.readlink("/")), Errno::INVAL);
    assert_eq!(errno(fs.truncate("/", 0)), Errno::ISDIR);
    fs.chmod("/", 0o4711).unwrap();
    assert_eq!(mode_of(&e.root), 0o711);
    fs.set_times("/", 5, 6).unwrap();
    assert_eq!(mtime_of(&e.root), 6);
    assert!(fs.statvfs("/").unwrap().f_bsize > 0);
    assert_eq!(fs.resolve("/", true).unwrap(), "/");
    let mut dir = fs.open_dir("/").unwrap();
    let mut names = Vec::new();
    loop {
        let batch = dir.next_batch(10).unwrap();
        if batch.is_empty() {
            break;
        }
        names.extend(batch.into_iter().map(|(n, _)| n));
    }
    names.sort();
    assert_eq!(names, vec![b".".to_vec(), b"..".to_vec(), b"x".to_vec()]);
    // `..` of the root shows the root itself, never the directory above it.
    let mut dir = fs.open_dir("/").unwrap();
    let entries: BTreeMap<Vec<u8>, _> = dir.next_batch(10).unwrap().into_iter().collect();
    let root_ino = std::fs::metadata(&e.root).unwrap().ino();
    assert_eq!(entries[&b"..".to_vec()].unwrap().st_ino, root_ino);
    assert_eq!(entries[&b".".to_vec()].unwrap().st_ino, root_ino);
    assert_eq!(errno(fs.open_dir("/x")), Errno::NOTDIR);
}

#[test]
fn non_canonical_paths_are_refused() {
    let e = env();
    let fs = &e.fs;
    std::fs::create_dir(e.root.join("a")).unwrap();
    for bad in ["", "a", "/a/", "//a", "/a//b", "/.", "/./a", "/a/.", "/..", "/a/..", "/a/../a", "/a\0b"] {
        assert_eq!(errno(fs.resolve(bad, true)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.lstat(bad)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.open_file(bad, &read_mode())), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.open_dir(bad)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.mkdir(bad, 0o755)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.rmdir(bad)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.unlink(bad)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.rename(bad, "/z", false)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.rename("/a", bad, false)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.readlink(bad)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.chmod(bad, 0o755)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.set_times(bad, 0, 0)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.truncate(bad, 0)), Errno::INVAL, "{bad:?}");
        assert_eq!(errno(fs.statvfs(bad)), Errno::INVAL, "{bad:?}");
    }
    assert!(e.root.join("a").is_dir());
}

#[test]
fn resolve_inside_the_root() {
    let e = env();
    let fs = &e.fs;
    let r = &e.root;
    std::fs::create_dir_all(r.join("d/sub")).unwrap();
    std::fs::write(r.join("d/file"), b"x").unwrap();
    symlink("d/file", r.join("fl")).unwrap(); // file link
    symlink("d", r.join("dl")).unwrap(); // dir link
    symlink("fl", r.join("chain")).unwrap(); // chain → fl → d/file
    symlink("../file", r.join("d/sub/up")).unwrap(); // `..` in a target
    symlink("../../dl/sub", r.join("d/sub/updl")).unwrap(); // `..` then a link
    symlink("./sub/.//up", r.join("d/dots")).unwrap(); // `.` and `//` in a target
    symlink("nothere", r.join("dangling")).unwrap();
    symlink("nothere/../d", r.join("lexdots")).unwrap();
    symlink("d/file/x", r.join("throughfile")).unwrap();

    let cases: &[(&str, bool, &str)] = &[
        ("/d/file", true, "/d/file"),
        ("/fl", true, "/d/file"),
        ("/fl", false, "/fl"),
        ("/dl", true, "/d"),
        ("/dl", false, "/dl"),
        ("/dl/file", false, "/d/file"),
        ("/dl/sub", true, "/d/sub"),
        ("/chain", true, "/d/file"),
        ("/chain", false, "/chain"),
        ("/d/sub/up", true, "/d/file"),
        ("/dl/sub/up", true, "/d/file"),
        ("/d/sub/updl", true, "/d/sub"),
        ("/d/sub/updl/up", false, "/d/sub/up"),
        ("/d/dots", true, "/d/file"),
        // Missing components are kept lexically, after the resolved prefix.
        ("/dl/new", true, "/d/new"),
        ("/dl/new/deeper/x", true, "/d/new/deeper/x"),
        ("/missing/dl", true, "/missing/dl"),
        ("/dangling", true, "/nothere"),
        ("/dangling", false, "/dangling"),
        ("/lexdots", true, "/d"),
        // Through a non-directory: kept lexically (the operation then fails with ENOTDIR).
        ("/d/file/x", true, "/d/file/x"),
        ("/fl/x", true, "/d/file/x"),
        ("/throughfile", true, "/d/file/x"),
    ];
    for (path, follow, want) in cases {
        assert_eq!(fs.resolve(path, *follow).unwrap(), *want, "resolve({path:?}, {follow})");
    }
    assert_eq!(errno(fs.lstat("/d/file/x")), Errno::NOTDIR);
    assert_confined("lstat through fl", fs.lstat("/fl/x"));

    // Operations never follow links, even inside the root.
    assert_confined("open through dl", fs.open_file("/dl/file", &read_mode()));
    assert_confined("open fl", fs.open_file("/fl", &read_mode()));
    assert_confined("lstat through dl", fs.lstat("/dl/file"));
    assert_not_followed("open_dir dl", fs.open_dir("/dl"));
    assert_confined("mkdir through dl", fs.mkdir("/dl/new", 0o755));
    assert!(!r.join("d/new").exists());
}

#[test]
fn loops() {
    let e = env();
    let fs = &e.fs;
    symlink("b", e.root.join("a")).unwrap();
    symlink("a", e.root.join("b")).unwrap();
    symlink("self", e.root.join("self")).unwrap();
    assert!(matches!(fs.resolve("/a", true), Err(FsError::Loop)));
    assert!(matches!(fs.resolve("/a/x", false), Err(FsError::Loop)));
    assert!(matches!(fs.resolve("/self", true), Err(FsError::Loop)));
    assert_eq!(fs.resolve("/a", false).unwrap(), "/a");
    // A chain of exactly MAX_SYMLINKS resolves; one more is a loop.
    std::fs::write(e.root.join("l0"), b"end").unwrap();
    for i in 1..=MAX_SYMLINKS + 1 {
        symlink(format!("l{}", i - 1), e.root.join(format!("l{i}"))).unwrap();
    }
    assert_eq!(fs.resolve(&format!("/l{MAX_SYMLINKS}"), true).unwrap(), "/l0");
    assert!(matches!(fs.resolve(&format!("/l{}", MAX_SYMLINKS + 1), true), Err(FsError::Loop)));
}

#[test]
fn non_utf8_link_target() {
    use std::os::unix::ffi::OsStrExt;
    let e = env();
    symlink(std::ffi::OsStr::from_bytes(b"\xff\xfe"), e.root.join("bad")).unwrap();
    assert_eq!(errno(e.fs.resolve("/bad", true)), Errno::ILSEQ);
    assert_eq!(e.fs.resolve("/bad", false).unwrap(), "/bad");
    assert_eq!(e.fs.readlink("/bad").unwrap(), b"\xff\xfe");
}

#[test]
fn escapes_are_refused_and_touch_nothing_outside() {
    let e = env();
    let fs = &e.fs;
    let r = &e.root;
    let before = snapshot(&e.outside);
    std::fs::create_dir(r.join("d")).unwrap();
    std::fs::write(r.join("inside"), b"inside").unwrap();
    symlink("/etc", r.join("etc")).unwrap();
    symlink("/etc/passwd", r.join("passwd")).unwrap();
    symlink(&e.outside, r.join("absout")).unwrap();
    symlink(e.outside.join("keep"), r.join("absfile")).unwrap();
    symlink("../outside", r.join("relout")).unwrap();
    symlink("../../outside/keep", r.join("d/relfile")).unwrap();
    symlink("../../..", r.join("up")).unwrap();
    symlink("d/../..", r.join("up2")).unwrap();
    symlink("nothere/../../x", r.join("lexup")).unwrap();

    for link in ["/etc", "/passwd", "/absout", "/absfile", "/relout", "/d/relfile", "/up", "/up2", "/lexup"] {
        assert!(matches!(fs.resolve(link, true), Err(FsError::Escape)), "{link}");
        assert_eq!(fs.resolve(link, false).unwrap(), link);
        let below = format!("{link}/keep");
        assert!(matches!(fs.resolve(&below, true), Err(FsError::Escape)), "{below}");
        assert!(matches!(fs.resolve(&below, false), Err(FsError::Escape)), "{below}");
    }

    // Every operation through a link to a directory outside (an intermediate component).
    for dir in ["/etc", "/absout", "/relout", "/up"] {
        let keep = format!("{dir}/keep");
        let new = format!("{dir}/new");
        let sub = format!("{dir}/sub");
        assert_confined("lstat", fs.lstat(&keep));
        assert_confined("open read", fs.open_file(&keep, &read_mode()));
        assert_confined(
            "open trunc",
            fs.open_file(&keep, &OpenMode { write: true, truncate: true, ..Default::default() }),
        );
        for create in [Create::No, Create::IfMissing, Create::Exclusive] {
            assert_confined("open create", fs.open_file(&new, &write_mode(create)));
        }
        assert_confined("open_dir", fs.open_dir(&sub));
        // A link is not a directory: refused without following it.
        assert_not_followed("open_dir link", fs.open_dir(dir));
        assert_confined("mkdir", fs.mkdir(&new, 0o777));
        assert_confined("rmdir", fs.rmdir(&sub));
        assert_confined("unlink", fs.unlink(&keep));
        assert_confined("rename out", fs.rename(&keep, "/stolen", true));
        assert_confined("rename in", fs.rename("/inside", &new, true));
        assert_confined("rename in replace", fs.rename("/inside", &keep, true));
        assert_confined("readlink", fs.readlink(&keep));
        assert_confined("chmod", fs.chmod(&keep, 0o777));
        assert_confined("chmod sub", fs.chmod(&sub, 0o777));
        assert_confined("set_times", fs.set_times(&keep, 1, 2));
        assert_confined("truncate", fs.truncate(&keep, 0));
        assert_confined("statvfs", fs.statvfs(&keep));
        assert_confined("resolve", fs.resolve(&keep, true));
    }

    // Operations on a link to outside act on the link itself, never on its target.
    for link in ["/absfile", "/d/relfile", "/passwd", "/absout"] {
        assert_confined("open", fs.open_file(link, &read_mode()));
        assert_confined("open create", fs.open_file(link, &write_mode(Create::IfMissing)));
        assert_eq!(errno(fs.open_file(link, &write_mode(Create::Exclusive))), Errno::EXIST);
        assert_confined("truncate", fs.truncate(link, 0));
        assert_eq!(errno(fs.chmod(link, 0o777)), Errno::OPNOTSUPP);
        assert_eq!(errno(fs.mkdir(link, 0o777)), Errno::EXIST);
        assert_not_followed("open_dir", fs.open_dir(link));
        assert_eq!(FileType::from_raw_mode(fs.lstat(link).unwrap().st_mode), FileType::Symlink);
        fs.set_times(link, 7, 8).unwrap();
        assert_eq!(mtime_of(&r.join(&link[1..])), 8);
        fs.statvfs(link).unwrap();
    }
    fs.rename("/absfile", "/moved", false).unwrap();
    fs.unlink("/moved").unwrap();
    fs.unlink("/d/relfile").unwrap();
    fs.unlink("/absout").unwrap();

    assert_eq!(snapshot(&e.outside), before, "the outside directory changed");
    assert!(std::fs::read("/etc/passwd").is_ok());
}

#[test]
fn links_inside_the_root_are_never_followed_by_operations() {
    let e = env();
    let fs = &e.fs;
    let r = &e.root;
    std::fs::write(r.join("target"), b"0123456789").unwrap();
    std::fs::set_permissions(r.join("target"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir(r.join("tdir")).unwrap();
    std::fs::set_permissions(r.join("tdir"), std::fs::Permissions::from_mode(0o700)).unwrap();
    set_old_times(r);
    symlink("target", r.join("link")).unwrap();
    symlink("tdir", r.join("dlink")).unwrap();
    for link in ["/link", "/dlink"] {
        assert_eq!(errno(fs.chmod(link, 0o777)), Errno::OPNOTSUPP);
        assert_confined("truncate", fs.truncate(link, 0));
        fs.set_times(link, 5, 5).unwrap();
    }
    assert_eq!(mode_of(&r.join("target")), 0o600);
    assert_eq!(mode_of(&r.join("tdir")), 0o700);
    assert_eq!(std::fs::read(r.join("target")).unwrap(), b"0123456789");
    assert_eq!(mtime_of(&r.join("target")), 1_000_000);
    assert_eq!(mtime_of(&r.join("tdir")), 1_000_000);
    assert_eq!(mtime_of(&r.join("link")), 5);
    assert_eq!(errno(fs.unlink("/dlink/..")), Errno::INVAL);
    assert_eq!(errno(fs.rmdir("/dlink")), Errno::NOTDIR);
    fs.unlink("/dlink").unwrap();
    assert!(r.join("tdir").is_dir());
}

/// Runs `f` on another thread; fails if it does not finish within 5 s.
fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("blocked on a FIFO")
}

#[test]
fn fifos_never_block() {
    let e = env();
    rustix::fs::mknodat(CWD, e.root.join("p"), FileType::Fifo, Mode::from_raw_mode(0o666), 0).unwrap();
    let fs = Arc::new(e.fs);
    let modes = [
        read_mode(),
        write_mode(Create::No),
        write_mode(Create::IfMissing),
        OpenMode { read: true, write: true, ..Default::default() },
        OpenMode { write: true, truncate: true, ..Default::default() },
    ];
    for how in modes {
        let fs2 = Arc::clone(&fs);
        let r = within_5s(move || fs2.open_file("/p", &how).map(|(_, c)| c));
        assert!(matches!(r, Err(FsError::NotRegular) | Err(FsError::Os(Errno::NXIO))), "{how:?}: {r:?}");
    }
    let fs2 = Arc::clone(&fs);
    let r = within_5s(move || fs2.open_file("/p", &write_mode(Create::Exclusive)).map(|(_, c)| c));
    assert_eq!(errno(r), Errno::EXIST);
    let fs2 = Arc::clone(&fs);
    let r = within_5s(move || fs2.truncate("/p", 0));
    assert!(matches!(r, Err(FsError::NotRegular)), "{r:?}");
    let fs2 = Arc::clone(&fs);
    within_5s(move || fs2.chmod("/p", 0o4600)).unwrap();
    assert_eq!(mode_of(&e.root.join("p")), 0o600);
    let fs2 = Arc::clone(&fs);
    within_5s(move || fs2.lstat("/p")).unwrap();
    // Even a FIFO reached by a link inside the root.
    symlink("p", e.root.join("pl")).unwrap();
    assert_eq!(fs.resolve("/pl", true).unwrap(), "/p");
}

/// A regular file swapped for a FIFO again and again while it is opened: never blocks, and an fd
/// returned is always of a regular file.
#[test]
fn fifo_swapped_in_never_blocks() {
    let e = env();
    std::fs::write(e.root.join("x"), b"data").unwrap();
    rustix::fs::mknodat(CWD, e.root.join("fifo"), FileType::Fifo, Mode::from_raw_mode(0o666), 0).unwrap();
    let fs = Arc::new(e.fs);
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let root_dir = std::fs::File::open(&e.root).unwrap();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(&root_dir, "x", &root_dir, "fifo", RenameFlags::EXCHANGE).unwrap();
            }
        })
    };
    let fs2 = Arc::clone(&fs);
    let (opened, refused) = within_5s(move || {
        let (mut opened, mut refused) = (0usize, 0usize);
        let deadline = Instant::now() + Duration::from_secs(2);
        let modes = [
            read_mode(),
            OpenMode { write: true, ..Default::default() },
            OpenMode { read: true, write: true, ..Default::default() },
            write_mode(Create::IfMissing),
        ];
        while Instant::now() < deadline {
            for how in &modes {
                match fs2.open_file("/x", how) {
                    Ok((fd, created)) => {
                        assert!(!created);
                        let st = rustix::fs::fstat(&fd).unwrap();
                        assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::RegularFile);
                        opened += 1;
                    }
                    Err(FsError::NotRegular | FsError::Os(Errno::NXIO)) => refused += 1,
                    Err(other) => panic!("{how:?}: {other:?}"),
                }
            }
        }
        (opened, refused)
    });
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(opened > 0 && refused > 0, "opened {opened}, refused {refused}");
}

#[test]
fn read_directories_in_batches() {
    let e = env();
    let fs = &e.fs;
    std::fs::create_dir(e.root.join("d")).unwrap();
    for i in 0..25 {
        std::fs::write(e.root.join(format!("d/f{i:02}")), vec![b'x'; i]).unwrap();
    }
    symlink(&e.outside, e.root.join("d/out")).unwrap();
    let mut dir = fs.open_dir("/d").unwrap();
    let mut all = BTreeMap::new();
    loop {
        let batch = dir.next_batch(4).unwrap();
        assert!(batch.len() <= 4);
        if batch.is_empty() {
            break;
        }
        for (name, st) in batch {
            assert!(all.insert(String::from_utf8(name).unwrap(), st.unwrap()).is_none());
        }
    }
    assert!(dir.next_batch(4).unwrap().is_empty());
    assert_eq!(all.len(), 25 + 3);
    assert_eq!(all["f07"].st_size, 7);
    assert_eq!(FileType::from_raw_mode(all["out"].st_mode), FileType::Symlink);
    assert_eq!(FileType::from_raw_mode(all["."].st_mode), FileType::Directory);
    assert!(all.contains_key(".."));
}

/// Swaps `/d` (a real directory) with a symlink to outside, again and again, while another
/// thread resolves `/d/f` and acts on the result: nothing outside may ever change.
fn race(link_target: &Path) {
    let e = env();
    let r = &e.root;
    std::fs::create_dir(r.join("d")).unwrap();
    std::fs::write(r.join("d/f"), b"inside").unwrap();
    symlink(link_target, r.join("spare")).unwrap();
    let before = snapshot(&e.outside);
    let fs = Arc::new(e.fs);
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));

    let swapper = {
        let root_dir = std::fs::File::open(r).unwrap();
        let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(&root_dir, "d", &root_dir, "spare", RenameFlags::EXCHANGE).unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let (mut inside, mut escaped, mut acted) = (0usize, 0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match fs.resolve("/d/f", true) {
            Ok(p) => {
                assert_eq!(p, "/d/f");
                inside += 1;
                let ops: [bool; 9] = [
                    fs.open_file(&p, &write_mode(Create::IfMissing)).is_ok(),
                    fs.open_file(&p, &OpenMode { write: true, truncate: true, ..Default::default() }).is_ok(),
                    fs.chmod(&p, 0o600).is_ok(),
                    fs.set_times(&p, 1, 1).is_ok(),
                    fs.truncate(&p, 0).is_ok(),
                    fs.rename(&p, "/d/g", true).is_ok(),
                    fs.unlink("/d/g").is_ok() || fs.unlink(&p).is_ok(),
                    fs.mkdir("/d/newdir", 0o777).is_ok(),
                    fs.rmdir("/d/newdir").is_ok() || fs.rmdir("/d/sub").is_ok(),
                ];
                acted += ops.iter().filter(|ok| **ok).count();
                let _ = fs.open_file("/d/f", &write_mode(Create::Exclusive));
                let _ = fs.open_dir("/d");
                let _ = fs.lstat("/d/keep");
                let _ = fs.unlink("/d/keep");
            }
            Err(FsError::Escape) => escaped += 1,
            Err(FsError::Loop) | Err(FsError::Os(Errno::NOENT)) => {}
            Err(other) => panic!("resolve: {other:?}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    eprintln!(
        "race via {link_target:?}: {} swaps, resolved inside {inside}, escape {escaped}, {acted} ops done",
        swaps.load(Ordering::Relaxed)
    );
    assert!(swaps.load(Ordering::Relaxed) > 100, "the swapper barely ran");
    assert!(inside > 0 && escaped > 0, "the race never hit both states: inside {inside}, escaped {escaped}");
    assert!(acted > 0, "no operation ever succeeded inside");
    assert_eq!(snapshot(&e.outside), before, "the outside directory changed");
}

#[test]
fn race_with_an_absolute_link_to_outside() {
    let tmp = tempfile::tempdir().unwrap();
    // The same layout as env(), but the link target must be known before env() runs, so aim
    // at a directory whose contents are checked the same way.
    let outside = tmp.path().join("outside-dir");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("f"), b"outside f").unwrap();
    std::fs::write(outside.join("keep"), b"keep").unwrap();
    set_old_times(&outside);
    let before = snapshot(&outside);
    race(&outside);
    assert_eq!(snapshot(&outside), before, "the outside directory changed");
}

#[test]
fn race_with_a_relative_link_to_outside() {
    race(Path::new("../outside"));
}
