//! The legacy paths of gatehouse-sftp: request classification (`command`), scp/rsync argument
//! checking and re-rooting (`legacy`), the Landlock fence (`confine`, in a child process since
//! Landlock binds the calling thread and the test harness is multi-threaded), and real `rsync`
//! and `scp -O` clients talking to the real programs through `legacy::run`, with the example
//! `legacy_run` standing in for ssh + sshd + gatehouse-sftp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_ssh::command::{classify, Command, NO_SHELL};
use gatehouse_ssh::legacy::{plan_rsync, plan_scp, LegacyUser, Plan};
use std::path::{Path, PathBuf};
use std::process::Command as Proc;
use std::sync::OnceLock;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn c(args: &[&str]) -> Vec<String> {
    s(args)
}

// Kept in sync with what the real clients sent (rsync 3.5.0, OpenSSH 9.2 scp -O), captured with
// `rsync -e 'sh -c "echo $@ >&2; exit 1" --'` and `scp -O -S <script>`:
//   rsync -a src/ host:dst/        -> rsync --server -logDtpre.iLsfxCIvu . dst/
//   rsync -av host:src/ dl/        -> rsync --server --sender -vlogDtpre.iLsfxCIvu . src/
//   rsync -rt --delete src/ "host:d st/it's" -> rsync --server -tre.iLsfxCIvu --delete . d\ st/it\'s
//   scp -O -r -p src host:         -> scp -r -p -t .
//   scp -O "host:a b" x            -> scp -f a b   (scp -O does not quote)

#[test]
fn classify_table() {
    let dash_c = c(&["-c", "ignored"]);
    let sftp = Command::Sftp;
    let cases: Vec<(&str, Command)> = vec![
        ("/usr/lib/openssh/sftp-server", sftp.clone()),
        ("/usr/lib/openssh/sftp-server -l INFO -f AUTH", sftp.clone()),
        ("internal-sftp", sftp.clone()),
        ("sftp-server", sftp.clone()),
        ("  /usr/lib/openssh/sftp-server  ", sftp.clone()),
        ("scp -t dst/", Command::Scp(s(&["scp", "-t", "dst/"]))),
        ("scp -r -p -t .", Command::Scp(s(&["scp", "-r", "-p", "-t", "."]))),
        ("scp -f a b", Command::Scp(s(&["scp", "-f", "a", "b"]))),
        ("scp -f 'a b'", Command::Scp(s(&["scp", "-f", "a b"]))),
        ("scp -f \"a b\"", Command::Scp(s(&["scp", "-f", "a b"]))),
        ("scp -f a\\ b", Command::Scp(s(&["scp", "-f", "a b"]))),
        ("scp -f -- -x", Command::Scp(s(&["scp", "-f", "--", "-x"]))),
        ("scp -f '*.txt'", Command::Scp(s(&["scp", "-f", "*.txt"]))),
        ("scp -f *.txt", Command::Scp(s(&["scp", "-f", "*.txt"]))),
        ("scp -f 'x;y'", Command::Scp(s(&["scp", "-f", "x;y"]))),
        ("scp -f \"it's\"", Command::Scp(s(&["scp", "-f", "it's"]))),
        ("scp -f \"a\\$b\"", Command::Scp(s(&["scp", "-f", "a$b"]))),
        ("scp -f a#b", Command::Scp(s(&["scp", "-f", "a#b"]))),
        (
            "rsync --server -logDtpre.iLsfxCIvu . dst/",
            Command::Rsync(s(&["rsync", "--server", "-logDtpre.iLsfxCIvu", ".", "dst/"])),
        ),
        (
            "rsync --server -tre.iLsfxCIvu --delete . d\\ st/it\\'s",
            Command::Rsync(s(&["rsync", "--server", "-tre.iLsfxCIvu", "--delete", ".", "d st/it's"])),
        ),
        (
            "rsync --server --sender -vlogDtpre.iLsfxCIvu . ''",
            Command::Rsync(s(&["rsync", "--server", "--sender", "-vlogDtpre.iLsfxCIvu", ".", ""])),
        ),
        // Admin commands: words for gatehoused, never executed.
        ("gatehouse user list --group acme", Command::Admin(s(&["user", "list", "--group", "acme"]))),
        (
            "/usr/sbin/gatehouse user set bob --display-name 'Bob B'",
            Command::Admin(s(&["user", "set", "bob", "--display-name", "Bob B"])),
        ),
        ("gatehouse", Command::Admin(vec![])),
    ];
    for (orig, want) in &cases {
        assert_eq!(&classify(&dash_c, Some(orig)), want, "{orig}");
        assert_eq!(&classify(&[], Some(orig)), want, "{orig} (no args)");
    }
    // Refused, with the reason in the message.
    let refused: &[(&[&str], Option<&str>, &str)] = &[
        (&["-c", "x"], None, NO_SHELL),
        (&["-c", ""], Some(""), NO_SHELL),
        (&[], Some("  \t "), NO_SHELL),
        (&["-c", "bash"], Some("bash"), "`bash` is not available"),
        (&["-c", "x"], Some("/bin/sh -c id"), "`/bin/sh` is not available"),
        (&["-c", "x"], Some("scp file"), "`scp` is not available"),
        (&["-c", "x"], Some("scp -r file"), "`scp` is not available"),
        (&["-c", "x"], Some("rsync file"), "`rsync` is not available"),
        (&["-c", "x"], Some("rsync -a --server . x"), "`rsync` is not available"),
        (&["-c", "x"], Some("scp -t x; id"), "`;` is not allowed"),
        (&["-c", "x"], Some("gatehouse user list; id"), "`;` is not allowed"),
        (&["-c", "x"], Some("gatehouse user show $(id)"), "`$` is not allowed"),
        (&["-c", "x"], Some("scp -t x|id"), "`|` is not allowed"),
        (&["-c", "x"], Some("scp -t x && id"), "`&` is not allowed"),
        (&["-c", "x"], Some("scp -t $HOME"), "`$` is not allowed"),
        (&["-c", "x"], Some("scp -t `id`"), "``` is not allowed"),
        (&["-c", "x"], Some("scp -t \"$(id)\""), "`$` is not allowed"),
        (&["-c", "x"], Some("scp -t x > y"), "`>` is not allowed"),
        (&["-c", "x"], Some("scp -t <x"), "`<` is not allowed"),
        (&["-c", "x"], Some("scp -t (x)"), "`(` is not allowed"),
        (&["-c", "x"], Some("scp -t x\nid"), "`\\n` is not allowed"),
        (&["-c", "x"], Some("scp -t 'x"), "is not closed"),
        (&["-c", "x"], Some("scp -t \"x"), "is not closed"),
        (&["-c", "x"], Some("scp -t x\\"), "backslash ends"),
        (&["-c", "x"], Some("scp -f a #comment"), "`#` is not allowed"),
        (&["-c", "x"], Some("sftp-server\u{1b}[31m x"), "`sftp-server\\u{1b}[31m` is not available"),
        (&["-x"], Some("internal-sftp"), "run by sshd only"),
        (&["-c"], Some("internal-sftp"), "run by sshd only"),
        (&["-c", "a", "b"], Some("internal-sftp"), "run by sshd only"),
    ];
    for (args, orig, want) in refused {
        match classify(&c(args), *orig) {
            Command::Refused(m) => {
                assert!(m.contains(want), "{orig:?}: {m}");
                assert!(!m.contains('\n'), "{m}");
            }
            other => panic!("{orig:?}: {other:?}"),
        }
    }
    assert!(cases.len() + refused.len() >= 25);
}

const ROOT: &str = "/srv/gh/alice";

fn user(flags: &str) -> LegacyUser<'static> {
    let has = |f: &str| flags.split(',').any(|x| x == f);
    LegacyUser {
        root: Path::new(ROOT),
        read_only: has("ro"),
        delete_allowed: !has("nodelete"),
        has_rules: has("rules"),
        max_file_size: flags.split(',').find_map(|x| x.strip_prefix("max=")).map(|n| n.parse().unwrap()),
    }
}

/// `(request, user flags, Ok(args) | Err(part of the message))`.
type Case = (&'static str, &'static str, Result<&'static [&'static str], &'static str>);

fn check(cases: &[Case], plan: fn(&[String], &LegacyUser<'_>) -> Result<Plan, String>, program: &str) {
    for (req, flags, want) in cases {
        let words = match classify(&[], Some(req)) {
            Command::Scp(w) | Command::Rsync(w) => w,
            other => panic!("{req}: {other:?}"),
        };
        match (plan(&words, &user(flags)), want) {
            (Ok(p), Ok(args)) => {
                assert_eq!(p.program, PathBuf::from(program), "{req}");
                assert_eq!(p.args, s(args), "{req} [{flags}]");
            }
            (Err(m), Err(part)) => {
                assert!(m.contains(part), "{req} [{flags}]: {m}");
                assert!(!m.contains('\n') && !m.contains(ROOT), "{m}");
            }
            (got, _) => panic!("{req} [{flags}]: got {got:?}, want {want:?}"),
        }
    }
}

const RULES: &str = "per-folder rules; use sftp";

#[test]
fn plan_scp_table() {
    let cases: &[Case] = &[
        ("scp -t dst/", "", Ok(&["-t", "--", "./dst/"])),
        ("scp -t .", "", Ok(&["-t", "--", "."])),
        ("scp -r -p -t .", "", Ok(&["-t", "-r", "--", "."])),
        ("scp -v -d -t /up/x", "", Ok(&["-t", "-v", "-d", "--", "./up/x"])),
        ("scp -p -t x", "", Ok(&["-t", "--", "./x"])),
        ("scp -t ../../etc", "", Ok(&["-t", "--", "./etc"])),
        ("scp -t /", "", Ok(&["-t", "--", "./"])),
        ("scp -t -- -rf", "", Ok(&["-t", "--", "./-rf"])),
        ("scp -f a b", "", Ok(&["-f", "--", "./a", "./b"])),
        ("scp -f /a/../../b", "ro", Ok(&["-f", "--", "./b"])),
        ("scp -r -f 'dir with space'", "ro,nodelete", Ok(&["-f", "-r", "--", "./dir with space"])),
        ("scp -pr -f x", "max=10", Ok(&["-f", "-p", "-r", "--", "./x"])),
        ("scp -f a", "rules", Err(RULES)),
        ("scp -t a", "rules", Err(RULES)),
        ("scp -t a", "ro", Err("read-only")),
        ("scp -t a", "nodelete", Err("use sftp to upload")),
        ("scp -t a", "max=100", Err("size limit")),
        ("scp -t a b", "", Err("exactly one target")),
        ("scp -t", "", Err("exactly one target")),
        ("scp -f", "", Err("at least one source")),
        ("scp -t -f a", "", Err("either -t or -f")),
        ("scp -3 -t a", "", Err("option -3")),
        ("scp -S -f a", "", Err("option -S")),
        ("scp -oProxyCommand=x -f a", "", Err("option -o")),
    ];
    check(cases, plan_scp, "/usr/bin/scp");
}

#[test]
fn plan_rsync_table() {
    let cases: &[Case] = &[
        // Uploads.
        (
            "rsync --server -tre.iLsfxCIvu . dst/",
            "",
            Ok(&[
                "--server",
                "-tre.iLsfxCIvu",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--",
                ".",
                "./dst/",
            ]),
        ),
        (
            "rsync --server -tre.iLsfxCIvu --delete . d\\ st/it\\'s",
            "",
            Ok(&[
                "--server",
                "-tre.iLsfxCIvu",
                "--delete",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--",
                ".",
                "./d st/it's",
            ]),
        ),
        (
            "rsync --server -vrtpe.iLsfxCIvu --max-size=10 --inplace --partial-dir=.p . /",
            "max=5,nodelete",
            Ok(&[
                "--server",
                "-vrtpe.iLsfxCIvu",
                "--max-size=10",
                "--inplace",
                "--partial-dir=.p",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--max-size=5",
                "--ignore-existing",
                "--",
                ".",
                "./",
            ]),
        ),
        (
            "rsync --server -rte.iLsfxCIvu . ../../../etc",
            "",
            Ok(&[
                "--server",
                "-rte.iLsfxCIvu",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--",
                ".",
                "./etc",
            ]),
        ),
        (
            "rsync --server -rt -B1024 --files-from=- --from0 . x",
            "",
            Ok(&[
                "--server",
                "-rt",
                "-B1024",
                "--files-from=-",
                "--from0",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--",
                ".",
                "./x",
            ]),
        ),
        (
            "rsync --server -rte.iLsfxCIvu .",
            "",
            Ok(&[
                "--server",
                "-rte.iLsfxCIvu",
                "--numeric-ids",
                "--no-links",
                "--no-devices",
                "--no-specials",
                "--chmod=a-st",
                "--",
                ".",
                ".",
            ]),
        ),
        ("rsync --server -logDtpre.iLsfxCIvu . dst/", "", Err("option -l is not allowed for uploads")),
        ("rsync --server -rtHe.iLsfxCIvu . dst/", "", Err("option -H")),
        ("rsync --server -rtDe.iLsfxCIvu . dst/", "", Err("option -D")),
        ("rsync --server -rtLe.iLsfxCIvu . dst/", "", Err("option -L")),
        ("rsync --server -rtke.iLsfxCIvu . dst/", "", Err("option -k")),
        ("rsync --server -rtKe.iLsfxCIvu . dst/", "", Err("option -K")),
        ("rsync --server -rtse.iLsfxCIvu . dst/", "", Err("option -s")),
        ("rsync --server -rtbe.iLsfxCIvu . dst/", "nodelete", Err("backups")),
        ("rsync --server -rt --links . dst/", "", Err("--links is not allowed")),
        ("rsync --server -rt --specials . dst/", "", Err("--specials")),
        ("rsync --server -rt --copy-links . dst/", "", Err("--copy-links")),
        ("rsync --server -rt --delete . dst/", "nodelete", Err("may not delete")),
        ("rsync --server -rt --remove-source-files . dst/", "nodelete", Err("may not delete")),
        ("rsync --server -rt --temp-dir=/tmp . dst/", "", Err("--temp-dir")),
        ("rsync --server -rt --log-file=/tmp/x . dst/", "", Err("--log-file")),
        ("rsync --server -rt --partial-dir=/tmp/p . dst/", "", Err("relative name")),
        ("rsync --server -rt --partial-dir=../p . dst/", "", Err("relative name")),
        ("rsync --server -rt --files-from=/etc/passwd . dst/", "", Err("files-from")),
        ("rsync --server -rt --link-dest=/x . dst/", "", Err("--link-dest")),
        ("rsync --server -rt --rsh=sh . dst/", "", Err("--rsh")),
        ("rsync --server -rt --daemon . dst/", "", Err("--daemon")),
        ("rsync --server -rte.x/y . dst/", "", Err("malformed")),
        ("rsync --server -rtez . dst/", "", Err("malformed")),
        ("rsync --server -rt x . dst/", "", Err("unexpected argument")),
        ("rsync --server -rt --delete", "", Err("no `.`")),
        ("rsync --server -rte.iLsfxCIvu . dst/", "ro", Err("read-only")),
        ("rsync --server -rte.iLsfxCIvu . dst/", "rules", Err(RULES)),
        // Downloads.
        (
            "rsync --server --sender -vlogDtpre.iLsfxCIvu . src/",
            "ro",
            Ok(&["--server", "--sender", "-vlogDtpre.iLsfxCIvu", "--numeric-ids", "--", ".", "./src/"]),
        ),
        (
            "rsync --server --sender -logDtpre.iLsfxCIvu . a\\ b c /../x",
            "nodelete,max=3",
            Ok(&["--server", "--sender", "-logDtpre.iLsfxCIvu", "--numeric-ids", "--", ".", "./a b", "./c", "./x"]),
        ),
        (
            "rsync --server --sender -rtHe.iLsfxCIvu --links . /",
            "",
            Ok(&["--server", "--sender", "-rtHe.iLsfxCIvu", "--links", "--numeric-ids", "--", ".", "./"]),
        ),
        (
            "rsync --server --sender -rte.iLsfxCIvu --remove-source-files . x",
            "",
            Ok(&["--server", "--sender", "-rte.iLsfxCIvu", "--remove-source-files", "--numeric-ids", "--", ".", "./x"]),
        ),
        ("rsync --server --sender -rte.iLsfxCIvu --remove-source-files . x", "ro", Err("may not delete")),
        ("rsync --server --sender -rtLe.iLsfxCIvu . x", "ro", Err("option -L")),
        ("rsync --server --sender -rte.iLsfxCIvu . x", "rules", Err(RULES)),
        ("rsync --server --sender -rt --copy-dirlinks . x", "", Err("--copy-dirlinks")),
        ("rsync --server --sender -rt x . y", "", Err("unexpected argument")),
    ];
    check(cases, plan_rsync, "/usr/bin/rsync");
}

/// The example binary, built once by a nested cargo in this test binary's target directory.
fn helper() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Proc::new(cargo);
        cmd.args(["build", "-p", "gatehouse-ssh", "--example", "legacy_run"]).current_dir(env!("CARGO_MANIFEST_DIR"));
        cmd.env("CARGO_TARGET_DIR", dir.parent().unwrap());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
        dir.join("examples/legacy_run")
    })
}

fn probes(fence: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("existing"), "x").unwrap();
    let out = Proc::new(helper()).arg("confine").arg(fence).arg(&root).arg(&outside).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!outside.join("x").exists());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn landlock_fences() {
    for fence in ["sftp", "legacy"] {
        let got = probes(fence);
        let first = got.lines().next().unwrap();
        eprintln!("{fence}: {first}");
        if first.starts_with("confined None") {
            eprintln!("kernel without Landlock: fence not tested");
            continue;
        }
        let legacy = fence == "legacy";
        let want = |p: &str, ok: bool| {
            let line = format!("probe {p} {}", if ok { "ok" } else { "denied" });
            assert!(got.lines().any(|l| l == line), "{fence}: want {line}\n{got}");
        };
        assert!(first.ends_with("nnp true"), "{got}");
        want("read-etc-hostname", false);
        want("write-outside", false);
        want("read-outside", false);
        want("write-root", true);
        want("read-root", true);
        want("mkdir-root", true);
        want("read-etc-passwd", legacy);
        want("read-usr", legacy);
        want("write-dev-null", legacy);
    }
}

/// A root, a client-side directory, and a way to run a client with the helper as its ssh.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    client: PathBuf,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let client = dir.path().join("client");
        std::fs::create_dir_all(client.join("src/sub")).unwrap();
        std::fs::create_dir(&root).unwrap();
        std::fs::write(client.join("src/a.txt"), "alpha\n").unwrap();
        std::fs::write(client.join("src/sub/b w$.txt"), "beta\n").unwrap();
        Site { _dir: dir, root, client }
    }

    /// Runs a client program in the client directory; returns (success, stderr).
    fn run(&self, flags: &str, prog: &str, args: &[&str]) -> (bool, String) {
        let mut cmd = Proc::new(prog);
        cmd.args(args).current_dir(&self.client).env("LEGACY_ROOT", &self.root).env("LEGACY_FLAGS", flags);
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn rsync(&self, flags: &str, args: &[&str]) -> (bool, String) {
        let h = helper().display().to_string();
        let mut all = vec!["-e", &h];
        all.extend_from_slice(args);
        self.run(flags, "rsync", &all)
    }

    fn scp(&self, flags: &str, args: &[&str]) -> (bool, String) {
        let h = helper().display().to_string();
        let mut all = vec!["-O", "-S", &h];
        all.extend_from_slice(args);
        self.run(flags, "scp", &all)
    }

    fn read(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(p)).ok()
    }
}

#[test]
fn rsync_through_run() {
    let site = Site::new();
    let (ok, err) = site.rsync("", &["-rt", "src/", "host:/dst/"]);
    assert!(ok, "{err}");
    assert_eq!(site.read("dst/a.txt").as_deref(), Some("alpha\n"));
    assert_eq!(site.read("dst/sub/b w$.txt").as_deref(), Some("beta\n"));

    // `..` is clamped at the root.
    let (ok, err) = site.rsync("", &["-rt", "src/a.txt", "host:../../../up.txt"]);
    assert!(ok, "{err}");
    assert_eq!(site.read("up.txt").as_deref(), Some("alpha\n"));

    // Symlinks cannot be uploaded: -a (which implies -l) is refused with a hint.
    std::os::unix::fs::symlink("/etc/passwd", site.client.join("src/link")).unwrap();
    let (ok, err) = site.rsync("", &["-a", "src/", "host:/l/"]);
    assert!(!ok && err.contains("use -rt instead of -a"), "{err}");
    assert!(!site.root.join("l").exists());
    // Without -l rsync skips it.
    let (ok, err) = site.rsync("", &["-rt", "src/", "host:/l/"]);
    assert!(ok, "{err}");
    assert!(std::fs::symlink_metadata(site.root.join("l/link")).is_err());
    std::fs::remove_file(site.client.join("src/link")).unwrap();

    // Downloads: `-a` works, `..` cannot climb out, a symlink in the tree cannot lead out.
    let (ok, err) = site.rsync("ro", &["-a", "host:/dst/", "dl/"]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(site.client.join("dl/sub/b w$.txt")).unwrap(), "beta\n");
    let (ok, _) = site.rsync("ro", &["-a", "host:../../etc/passwd", "dl2/"]);
    assert!(!ok);
    assert!(!site.client.join("dl2/passwd").exists());
    std::os::unix::fs::symlink("/etc", site.root.join("esc")).unwrap();
    let (ok, err) = site.rsync("ro", &["-a", "-L", "host:esc/hostname", "dl3/"]);
    assert!(!ok && err.contains("option -L"), "{err}");
    let (ok, err) = site.rsync("ro", &["-r", "host:esc/hostname", "dl3/"]);
    assert!(!ok && err.contains("Permission denied"), "{err}");
    assert!(!site.client.join("dl3/hostname").exists());

    // Read-only: no upload. No delete rights: no overwrite, no --delete. Size cap.
    let (ok, err) = site.rsync("ro", &["-rt", "src/", "host:/ro/"]);
    assert!(!ok && err.contains("read-only"), "{err}");
    std::fs::write(site.client.join("src/a.txt"), "changed\n").unwrap();
    let (ok, err) = site.rsync("nodelete", &["-rt", "-I", "src/", "host:/dst/"]);
    assert!(ok, "{err}");
    assert_eq!(site.read("dst/a.txt").as_deref(), Some("alpha\n"), "overwritten without delete rights");
    let (ok, err) = site.rsync("nodelete", &["-rt", "--delete", "src/", "host:/dst/"]);
    assert!(!ok && err.contains("may not delete"), "{err}");
    std::fs::write(site.client.join("src/big.bin"), vec![7u8; 4096]).unwrap();
    let (ok, err) = site.rsync("max=1000", &["-rt", "src/", "host:/cap/"]);
    assert!(ok, "{err}");
    assert!(site.read("cap/a.txt").is_some() && site.read("cap/big.bin").is_none());
    let (ok, err) = site.rsync("rules", &["-rt", "src/", "host:/x/"]);
    assert!(!ok && err.contains("use sftp"), "{err}");
}

#[test]
fn scp_through_run() {
    let site = Site::new();
    let (ok, err) = site.scp("", &["src/a.txt", "host:/up.txt"]);
    assert!(ok, "{err}");
    assert_eq!(site.read("up.txt").as_deref(), Some("alpha\n"));
    let (ok, err) = site.scp("", &["-r", "-p", "src", "host:../../tree"]);
    assert!(ok, "{err}");
    assert_eq!(site.read("tree/sub/b w$.txt").as_deref(), Some("beta\n"));

    std::fs::create_dir(site.client.join("dl")).unwrap();
    let (ok, err) = site.scp("ro", &["-r", "host:/tree", "dl/"]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(site.client.join("dl/tree/a.txt")).unwrap(), "alpha\n");
    let (ok, _) = site.scp("ro", &["host:../../etc/passwd", "dl/"]);
    assert!(!ok);
    assert!(!site.client.join("dl/passwd").exists());
    std::os::unix::fs::symlink("/etc", site.root.join("esc")).unwrap();
    let (ok, err) = site.scp("ro", &["host:esc/hostname", "dl/"]);
    assert!(!ok && err.contains("Permission denied"), "{err}");
    assert!(!site.client.join("dl/hostname").exists());
    // scp -O does not quote; a shell metacharacter is refused, never run.
    let (ok, err) = site.scp("ro", &["host:x;touch /tmp/pwned", "dl/"]);
    assert!(!ok && err.contains("`;` is not allowed"), "{err}");

    let (ok, err) = site.scp("ro", &["src/a.txt", "host:/ro.txt"]);
    assert!(!ok && err.contains("read-only"), "{err}");
    let (ok, err) = site.scp("nodelete", &["src/a.txt", "host:/nd.txt"]);
    assert!(!ok && err.contains("use sftp"), "{err}");
    assert!(site.read("ro.txt").is_none() && site.read("nd.txt").is_none());
}

/// `rsync -p` uploads carry the sender's mode bits, setuid and setgid included; they are
/// stripped on the receiving side, as SFTP SETSTAT strips them (a file made setuid in a user's
/// root would run as that user for whoever executes it). Directories lose setgid and sticky too.
#[test]
fn rsync_p_uploads_never_keep_setuid_or_setgid() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let src = site.client.join("modes");
    std::fs::create_dir_all(src.join("sgdir")).unwrap();
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2755), ("both", 0o6750), ("plain", 0o640)] {
        std::fs::write(src.join(name), name).unwrap();
        std::fs::set_permissions(src.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(src.join("sgdir"), std::fs::Permissions::from_mode(0o3775)).unwrap();
    let mode = |p: &str| std::fs::symlink_metadata(site.root.join(p)).unwrap().permissions().mode() & 0o7777;
    for flags in ["-rtp", "-rtpI"] {
        // The second run finds the files there: rsync -p then changes the modes of existing ones.
        let (ok, err) = site.rsync("", &[flags, "modes/", "host:/up/"]);
        assert!(ok, "{err}");
        assert_eq!(
            [mode("up/suid"), mode("up/sgid"), mode("up/both"), mode("up/plain"), mode("up/sgdir")],
            [0o755, 0o755, 0o750, 0o640, 0o775],
            "rsync {flags}"
        );
        // Make the copies setuid again by hand: the next run must strip them again.
        std::fs::set_permissions(site.root.join("up/suid"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    }
}

/// The same for `scp -O -p` (the C line carries four octal digits: setuid, setgid, sticky),
/// whose times must still arrive.
#[test]
fn scp_p_uploads_never_keep_setuid_or_setgid() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let site = Site::new();
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2750)] {
        let file = site.client.join(name);
        std::fs::write(&file, name).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let old = std::fs::File::options().write(true).open(&file).unwrap();
        old.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)).unwrap();
    }
    let mut kept = Vec::new();
    for flags in [&["-p"][..], &[][..]] {
        let mut args = flags.to_vec();
        args.extend(["suid", "sgid", "host:/"]);
        let (ok, err) = site.scp("", &args);
        assert!(ok, "{err}");
        for name in ["suid", "sgid"] {
            let meta = std::fs::metadata(site.root.join(name)).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o7000 != 0 {
                kept.push(format!("scp {flags:?} {name}: mode {mode:o}"));
            }
            if !flags.is_empty() {
                assert_eq!(meta.mtime(), 1_000_000_000, "scp -p: the times are kept");
            }
            std::fs::remove_file(site.root.join(name)).unwrap();
        }
    }
    assert!(kept.is_empty(), "{kept:?}");
}
