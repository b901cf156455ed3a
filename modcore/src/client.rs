//! The connection to gatehoused: one per call (PAM, gatehouse-keys) or one kept by a session
//! (gatehouse-sftp, [`Connection`]), with a deadline per request, checked by the peer's uid.
//!
//! Nothing here is static: no socket that a forked child could share. The whole
//! exchange (connect, send, receive) has one deadline, so a stopped or hung daemon gives
//! `AUTHINFO_UNAVAIL` within [`DEADLINE`], never a hang. The daemon must run as root or as the
//! `gatehouse` system user (`SO_PEERCRED`), so a user who binds a socket at the configured path
//! after the daemon died cannot answer for it.
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The longest a PAM call waits for the daemon, in total. Chosen so that a failed password
/// login in Debian's stack, which also pays pam_unix's fail delay (2 s ± 25 %, applied by
/// libpam after every module ran), still ends within 6 s when the daemon is hung.
pub const DEADLINE: Duration = Duration::from_secs(3);

/// The system user gatehoused runs as.
pub const DAEMON_USER: &str = "gatehouse";

/// Why the daemon could not be asked.
#[derive(Debug)]
pub struct Unreachable(pub String);

/// Connects to `path` without blocking past `deadline`.
fn connect(path: &str, deadline: Instant) -> Result<UnixStream, Unreachable> {
    let mut addr: libc::sockaddr_un = unsafe_zeroed_sockaddr();
    let bytes = path.as_bytes();
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(Unreachable(format!("bad socket path {path:?}")));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket(2); the fd is owned by `fd` from here on (closed on every path).
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
    if raw < 0 {
        return Err(Unreachable(format!("socket: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: raw is a fresh, valid fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    loop {
        // SAFETY: addr is a valid sockaddr_un of `len` bytes; fd is open.
        let rc = unsafe { libc::connect(raw, (&addr as *const libc::sockaddr_un).cast(), len) };
        if rc == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        // EAGAIN on a Unix socket: the daemon's backlog is full (it is alive but slow, or
        // stopped). Retry until the deadline rather than block.
        if e.raw_os_error() == Some(libc::EAGAIN) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        return Err(Unreachable(format!("connect {path}: {e}")));
    }
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false).map_err(|e| Unreachable(format!("socket mode: {e}")))?;
    Ok(stream)
}

fn unsafe_zeroed_sockaddr() -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid (empty) value.
    unsafe { std::mem::zeroed() }
}

/// The uid of the process at the other end of `s`.
fn peer_uid(s: &UnixStream) -> Result<u32, Unreachable> {
    use std::os::fd::AsRawFd;
    // SAFETY: ucred is plain old data.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid fd, and a buffer of `len` bytes for SO_PEERCRED.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(Unreachable(format!("SO_PEERCRED: {}", std::io::Error::last_os_error())));
    }
    Ok(cred.uid)
}

/// The uid of the `gatehouse` system user, if it exists.
fn daemon_uid() -> Option<u32> {
    match passwd_uid(DAEMON_USER) {
        Lookup::Found(uid) => Some(uid),
        Lookup::Absent | Lookup::Failed => None,
    }
}

/// What the system's name service says of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A passwd entry with this uid.
    Found(u32),
    /// No source has the name.
    Absent,
    /// A source failed (or the entry is too large to copy): neither found nor absent.
    Failed,
}

/// `getpwnam_r` through every source in nsswitch.conf (the reentrant call: a module must not
/// overwrite the application's `getpwnam` buffer).
pub fn passwd_uid(name: &str) -> Lookup {
    let Ok(name) = std::ffi::CString::new(name) else {
        return Lookup::Absent;
    };
    // SAFETY: passwd is plain old data; getpwnam_r writes into `pwd` and `buf` only.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given.
    let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
    match (rc, out.is_null()) {
        (0, false) => Lookup::Found(pwd.pw_uid),
        // glibc answers 0 with no entry for "not found"; some sources say ENOENT instead.
        (0, true) | (libc::ENOENT, _) => Lookup::Absent,
        _ => Lookup::Failed,
    }
}

/// Sends one request frame and reads one response frame, within [`DEADLINE`].
pub fn exchange(socket: &str, request: &[u8], max_response: usize) -> Result<Vec<u8>, Unreachable> {
    let deadline = Instant::now() + DEADLINE;
    Connection::open_until(socket, deadline)?.ask_until(request, max_response, deadline)
}

/// Like [`exchange`], with a longer total deadline (admin commands hash passwords and may wait
/// for the root helper; they never run inside PAM).
pub fn exchange_within(
    socket: &str,
    request: &[u8],
    max_response: usize,
    limit: Duration,
) -> Result<Vec<u8>, Unreachable> {
    let deadline = Instant::now() + limit;
    Connection::open_until(socket, deadline)?.ask_until(request, max_response, deadline)
}

/// A checked connection to the daemon that may carry many requests, one at a time (the daemon
/// closes it after its idle timeout; the owner then opens a new one). PAM and NSS never keep
/// one: gatehouse-sftp does, for the session's policy refreshes. Each `ask` has its own
/// [`DEADLINE`].
pub struct Connection {
    stream: UnixStream,
}

impl Connection {
    /// Connects to `socket` and checks that root or the daemon user answers there.
    pub fn open(socket: &str) -> Result<Connection, Unreachable> {
        Connection::open_until(socket, Instant::now() + DEADLINE)
    }

    fn open_until(socket: &str, deadline: Instant) -> Result<Connection, Unreachable> {
        let stream = connect(socket, deadline)?;
        let uid = peer_uid(&stream)?;
        if uid != 0 && Some(uid) != daemon_uid() {
            return Err(Unreachable(format!(
                "the process behind {socket} runs as uid {uid}, not root or {DAEMON_USER}"
            )));
        }
        Ok(Connection { stream })
    }

    /// Sends one request frame and reads one response frame, within [`DEADLINE`]. After an
    /// error the connection is unusable (a frame may be half sent or half read): drop it.
    pub fn ask(&mut self, request: &[u8], max_response: usize) -> Result<Vec<u8>, Unreachable> {
        self.ask_until(request, max_response, Instant::now() + DEADLINE)
    }

    fn ask_until(&mut self, request: &[u8], max_response: usize, deadline: Instant) -> Result<Vec<u8>, Unreachable> {
        let s = &mut self.stream;
        let left = |d: Instant| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        s.set_write_timeout(Some(left(deadline))).map_err(|e| Unreachable(e.to_string()))?;
        let len = u32::try_from(request.len()).map_err(|_| Unreachable("request too large".into()))?;
        s.write_all(&len.to_be_bytes())
            .and_then(|()| s.write_all(request))
            .map_err(|e| Unreachable(format!("send: {e}")))?;
        s.set_read_timeout(Some(left(deadline))).map_err(|e| Unreachable(e.to_string()))?;
        let mut head = [0u8; 4];
        s.read_exact(&mut head).map_err(|e| Unreachable(format!("receive: {e}")))?;
        let n = u32::from_be_bytes(head) as usize;
        if n > max_response {
            return Err(Unreachable(format!("response of {n} bytes exceeds {max_response}")));
        }
        let mut body = vec![0u8; n];
        s.set_read_timeout(Some(left(deadline))).map_err(|e| Unreachable(e.to_string()))?;
        s.read_exact(&mut body).map_err(|e| Unreachable(format!("receive: {e}")))?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn absent_daemon_is_unreachable_at_once() {
        let dir = std::env::temp_dir().join(format!("gh-pam-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let t = Instant::now();
        let e = exchange(dir.join("nope").to_str().unwrap(), b"{}", 1024).unwrap_err();
        assert!(e.0.contains("connect"), "{}", e.0);
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn hung_daemon_times_out_within_the_deadline() {
        let dir = std::env::temp_dir().join(format!("gh-pam-hung-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        // Accepts (the kernel does, via the backlog) but never answers.
        let t = Instant::now();
        let e = exchange(path.to_str().unwrap(), b"{}", 1024).unwrap_err();
        let took = t.elapsed();
        assert!(e.0.contains("receive"), "{}", e.0);
        assert!(took >= DEADLINE - Duration::from_millis(200) && took < DEADLINE + Duration::from_secs(1), "{took:?}");
        drop(listener);
    }

    #[test]
    fn answers_within_limits() {
        let dir = std::env::temp_dir().join(format!("gh-pam-ok-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut head = [0u8; 4];
            c.read_exact(&mut head).unwrap();
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            c.read_exact(&mut body).unwrap();
            c.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
            c.write_all(&body).unwrap();
            // A second connection announces a frame larger than the client accepts.
            let (mut c, _) = listener.accept().unwrap();
            c.read_exact(&mut head).unwrap();
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            c.read_exact(&mut body).unwrap();
            c.write_all(&u32::MAX.to_be_bytes()).unwrap();
        });
        // Tests run as root, and root is an accepted daemon uid.
        assert_eq!(exchange(path.to_str().unwrap(), b"hello", 1024).unwrap(), b"hello");
        let e = exchange(path.to_str().unwrap(), b"hello", 1024).unwrap_err();
        assert!(e.0.contains("exceeds"), "{}", e.0);
        server.join().unwrap();
    }
}
