//! The SFTP request handlers (`sftp::server::Server`) driven directly with encoded packets, on a
//! real tree and a real policy, without a transport: for cases a client library cannot produce
//! at will (copy-data into an `APPEND` handle, a target created between a rename's check and its
//! act) and for exact status codes. Each test builds `<tmp>/root` (the user's root).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_policy::rules::{Level, Mode, Rule};
use gatehouse_policy::wire::SessionPolicy;
use gatehouse_ssh::session::compile;
use gatehouse_ssh::sftp::codec::{encode_request, msg, pflags, split_packet, Attrs, Request};
use gatehouse_ssh::sftp::fs::Root;
use gatehouse_ssh::sftp::server::{Identity, Server};
use gatehouse_ssh::syslog::Syslog;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// SFTP status codes the tests look for.
const OK: u32 = 0;
const NO_SUCH_FILE: u32 = 2;
const PERMISSION_DENIED: u32 = 3;
const FAILURE: u32 = 4;

/// A policy for `root`: mode rw, the given delete right, cap and rules.
fn policy(root: &Path, delete_allowed: bool, max_file_size: Option<u64>, rules: &[(&str, Level)]) -> SessionPolicy {
    SessionPolicy {
        user: "alice".into(),
        uid: rustix::process::getuid().as_raw(),
        root: root.display().to_string(),
        mode: Mode::Rw,
        delete_allowed,
        max_file_size,
        rules: rules.iter().map(|(p, l)| Rule::new(p, *l).unwrap()).collect(),
        groups: Vec::new(),
        refused: None,
    }
}

/// One server on `<tmp>/root`, and the next request id.
struct Session {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    server: Server,
    id: u32,
}

/// A decoded reply: its type and the bytes after the id.
struct Reply {
    kind: u8,
    body: Vec<u8>,
}

impl Reply {
    fn status(&self) -> u32 {
        assert_eq!(self.kind, msg::STATUS, "not a STATUS reply");
        u32::from_be_bytes(self.body[..4].try_into().unwrap())
    }

    /// The first string of the body (a HANDLE's handle, a NAME's first filename after the count).
    fn string_at(&self, at: usize) -> Vec<u8> {
        let len = u32::from_be_bytes(self.body[at..at + 4].try_into().unwrap()) as usize;
        self.body[at + 4..at + 4 + len].to_vec()
    }

    fn handle(&self) -> Vec<u8> {
        assert_eq!(self.kind, msg::HANDLE, "not a HANDLE reply (status {:?})", self.body.get(..4));
        self.string_at(0)
    }

    fn name(&self) -> String {
        assert_eq!(self.kind, msg::NAME, "not a NAME reply (status {:?})", self.body.get(..4));
        String::from_utf8(self.string_at(4)).unwrap()
    }
}

impl Session {
    fn new(make: impl FnOnce(&Path) -> SessionPolicy) -> Session {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let info = make(&root);
        let me = Identity { name: info.user.clone(), uid: info.uid, gid: rustix::process::getgid().as_raw() };
        let server = Server::new(Root::open(&root).unwrap(), compile(&info), info.max_file_size, me, Syslog::none());
        let mut s = Session { _tmp: tmp, root, server, id: 0 };
        s.send(&Request::Init { version: 3 });
        s
    }

    fn next_id(&mut self) -> u32 {
        self.id += 1;
        self.id
    }

    /// Handles one request and returns its one reply.
    fn send(&mut self, req: &Request<'_>) -> Reply {
        let mut packet = Vec::new();
        encode_request(req, &mut packet);
        let (body, used) = split_packet(&packet).unwrap().unwrap();
        assert_eq!(used, packet.len());
        self.server.out.clear();
        self.server.handle(body);
        let out = std::mem::take(&mut self.server.out);
        let (reply, used) = split_packet(&out).unwrap().expect("one whole reply");
        assert_eq!(used, out.len(), "exactly one reply");
        let kind = reply[0];
        let body = if kind == msg::VERSION { reply[1..].to_vec() } else { reply[5..].to_vec() };
        Reply { kind, body }
    }

    fn open(&mut self, path: &str, flags: u32) -> Reply {
        let id = self.next_id();
        self.send(&Request::Open { id, path: path.as_bytes(), pflags: flags, attrs: Attrs::default() })
    }

    fn copy_data(&mut self, from: &[u8], len: u64, to: &[u8], to_offset: u64) -> Reply {
        let id = self.next_id();
        self.send(&Request::CopyData {
            id,
            read_handle: from,
            read_offset: 0,
            read_len: len,
            write_handle: to,
            write_offset: to_offset,
        })
    }

    fn write(&mut self, handle: &[u8], offset: u64, data: &[u8]) -> Reply {
        let id = self.next_id();
        self.send(&Request::Write { id, handle, offset, data })
    }

    fn readlink(&mut self, path: &str) -> Reply {
        let id = self.next_id();
        self.send(&Request::Readlink { id, path: path.as_bytes() })
    }

    fn posix_rename(&mut self, from: &str, to: &str) -> Reply {
        let id = self.next_id();
        self.send(&Request::PosixRename { id, from: from.as_bytes(), to: to.as_bytes() })
    }

    fn size(&self, p: &str) -> u64 {
        std::fs::metadata(self.root.join(p)).unwrap().len()
    }
}

/// copy-data into a handle opened with APPEND writes at the end of the file whatever offset the
/// client names (pwrite on an O_APPEND fd appends), so the size cap must be judged from the real
/// end of file. Twenty copies of 900 bytes under a 1,000-byte cap: the first fits, the second
/// would make 1,800 bytes and is refused, and the file never exceeds the cap.
#[test]
fn copy_data_into_an_append_handle_respects_max_file_size() {
    let mut s = Session::new(|root| policy(root, true, Some(1000), &[]));
    std::fs::write(s.root.join("src.bin"), vec![7u8; 900]).unwrap();
    let src = s.open("/src.bin", pflags::READ).handle();
    let dst = s.open("/dst.bin", pflags::WRITE | pflags::APPEND | pflags::CREAT).handle();
    let mut refused = 0;
    for i in 0..20 {
        let r = s.copy_data(&src, 900, &dst, 0);
        match r.status() {
            OK => assert_eq!(i, 0, "copy {i} accepted"),
            PERMISSION_DENIED => refused += 1,
            other => panic!("copy {i}: status {other}"),
        }
        assert!(s.size("dst.bin") <= 1000, "after copy {i}: {} bytes under a 1000-byte cap", s.size("dst.bin"));
    }
    assert_eq!((s.size("dst.bin"), refused), (900, 19));

    // WRITE into the same APPEND handle is judged the same way, whatever offset it names.
    assert_eq!(s.write(&dst, 0, &[1u8; 100]).status(), OK);
    assert_eq!(s.write(&dst, 0, &[1u8; 1]).status(), PERMISSION_DENIED);
    assert_eq!(s.size("dst.bin"), 1000);

    // A plain handle is judged by the offset it writes at.
    let plain = s.open("/dst.bin", pflags::WRITE).handle();
    assert_eq!(s.copy_data(&src, 100, &plain, 900).status(), OK);
    assert_eq!(s.copy_data(&src, 101, &plain, 900).status(), PERMISSION_DENIED);
    assert_eq!(s.size("dst.bin"), 1000);
}

/// READLINK shows a link's stored text only when what it names is visible to the user: a target
/// in a `none` subtree (directly, through a further link, or on the way) answers NO_SUCH_FILE, as
/// every request on a `none` path does; one outside the root is PERMISSION_DENIED, as every
/// escape is.
#[test]
fn readlink_hides_targets_in_none_subtrees() {
    let mut s = Session::new(|root| policy(root, true, None, &[("/secret", Level::None), ("/pub", Level::Read)]));
    for d in ["secret/inner", "pub", "work"] {
        std::fs::create_dir_all(s.root.join(d)).unwrap();
    }
    std::fs::write(s.root.join("secret/s.txt"), b"s").unwrap();
    std::fs::write(s.root.join("pub/p.txt"), b"p").unwrap();
    let links = [
        ("work/to_secret_file", "../secret/s.txt"),
        ("work/to_secret", "../secret"),
        ("work/to_missing_in_secret", "../secret/nothing"),
        ("work/via_link", "to_secret_file"),
        ("work/through_secret", "../secret/../pub/p.txt"),
        ("work/to_pub", "../pub/p.txt"),
        ("work/to_dir", "../pub"),
        ("work/dangling", "nothing"),
        ("work/out", "../../outside"),
        ("secret/link", "../pub/p.txt"),
    ];
    for (link, target) in links {
        symlink(target, s.root.join(link)).unwrap();
    }
    for link in ["to_secret_file", "to_secret", "to_missing_in_secret", "via_link", "through_secret"] {
        let r = s.readlink(&format!("/work/{link}"));
        assert_eq!(r.kind, msg::STATUS, "/work/{link} revealed {:?}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.status(), NO_SUCH_FILE, "/work/{link}");
    }
    assert_eq!(s.readlink("/secret/link").status(), NO_SUCH_FILE);
    assert_eq!(s.readlink("/work/out").status(), PERMISSION_DENIED);
    assert_eq!(s.readlink("/work/to_pub").name(), "../pub/p.txt");
    assert_eq!(s.readlink("/work/to_dir").name(), "../pub");
    assert_eq!(s.readlink("/work/dangling").name(), "nothing");
}

/// posix-rename for a user without delete rights checks that the target is absent, then
/// renames. A target created between the two must not be replaced: the kernel must be told
/// (`RENAME_NOREPLACE`) so that the answer is "File exists" and the new file stays. Another
/// thread creates the target (exclusively) at varying moments while the server handles the
/// rename, until the race has been hit a few times or the time is up. Also: a plain rename
/// onto an existing file is refused with the file intact.
#[test]
fn posix_rename_without_delete_rights_never_replaces_a_file_created_meanwhile() {
    use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let mut s = Session::new(|root| policy(root, false, None, &[]));
    // The plain case: the target exists when checked.
    std::fs::write(s.root.join("a.txt"), b"source").unwrap();
    std::fs::write(s.root.join("b.txt"), b"victim").unwrap();
    assert_eq!(s.posix_rename("/a.txt", "/b.txt").status(), PERMISSION_DENIED);
    assert_eq!(std::fs::read(s.root.join("b.txt")).unwrap(), b"victim");
    assert_eq!(std::fs::read(s.root.join("a.txt")).unwrap(), b"source");

    // The race. A deep source directory makes the walk to it (after the target's check) longer.
    let deep: String = (0..24).map(|i| format!("d{i}/")).collect();
    std::fs::create_dir_all(s.root.join(&deep)).unwrap();
    let src = format!("/{deep}src.txt");
    let dst = s.root.join("dst.txt");
    let generation = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicU32::new(0));
    let created = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let delay_ns = Arc::new(AtomicU64::new(0));
    let victim = {
        let (generation, done, created, stop, delay_ns, dst) =
            (generation.clone(), done.clone(), created.clone(), stop.clone(), delay_ns.clone(), dst.clone());
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(Ordering::Acquire) {
                let g = generation.load(Ordering::Acquire);
                if g == seen {
                    std::hint::spin_loop();
                    continue;
                }
                seen = g;
                let until = Instant::now() + Duration::from_nanos(delay_ns.load(Ordering::Acquire));
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                let made = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&dst)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, b"victim"));
                created.store(made.is_ok(), Ordering::Release);
                done.store(g, Ordering::Release);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(8);
    let (mut hits, mut clobbered, mut rounds) = (0, 0, 0u32);
    while Instant::now() < deadline && hits < 5 && clobbered == 0 {
        rounds += 1;
        let _ = std::fs::remove_file(&dst);
        std::fs::write(s.root.join(&deep).join("src.txt"), b"source").unwrap();
        // Delays spread over 0-40 µs, in a fixed pseudo-random order.
        delay_ns.store(u64::from(rounds.wrapping_mul(2_654_435_761) % 40_000), Ordering::Release);
        generation.store(rounds, Ordering::Release);
        let status = s.posix_rename(&src, "/dst.txt").status();
        while done.load(Ordering::Acquire) != rounds {
            std::hint::spin_loop();
        }
        if !created.load(Ordering::Acquire) {
            continue; // the rename came first: the victim found the target there
        }
        let content = std::fs::read(&dst).unwrap();
        if content != b"victim" {
            clobbered += 1;
        } else if status == FAILURE {
            hits += 1; // created between the check and the rename, and kept
        } else {
            assert_eq!(status, PERMISSION_DENIED, "round {rounds}");
        }
    }
    stop.store(true, Ordering::Release);
    victim.join().unwrap();
    eprintln!("{rounds} rounds, {hits} races refused by the kernel, {clobbered} clobbered");
    assert_eq!(clobbered, 0, "a file created between the check and the rename was replaced");
}
