//! gatehouse-sftp's log: one line per decision to the host's syslog (`/dev/log`, facility
//! AUTHPRIV, as sshd's own sftp-server logs), never to stderr, which sshd would hand to the
//! client. The socket is connected once at start, before Landlock, and kept; if there is no
//! syslog the lines are dropped. Lines never hold a secret; paths are client paths.
use std::os::unix::net::UnixDatagram;

/// Where log lines go.
pub struct Syslog {
    sock: Option<UnixDatagram>,
    tag: String,
    /// Test servers only: lines go to stderr instead.
    to_stderr: bool,
}

const AUTHPRIV: u8 = 10;
const WARNING: u8 = 4;
const INFO: u8 = 6;

impl Syslog {
    /// Connects to `path` (`/dev/log`); `ident` names the session (`gatehouse-sftp[pid]`).
    pub fn open(path: &str, ident: String) -> Syslog {
        let sock = UnixDatagram::unbound().ok().filter(|s| s.connect(path).is_ok() && s.set_nonblocking(true).is_ok());
        Syslog { sock, tag: ident, to_stderr: false }
    }

    /// A logger that drops everything (tests).
    pub fn none() -> Syslog {
        Syslog { sock: None, tag: String::new(), to_stderr: false }
    }

    /// A logger that writes to stderr: only for the local test server, never under sshd (where
    /// stderr reaches the client).
    pub fn stderr(ident: String) -> Syslog {
        Syslog { sock: None, tag: ident, to_stderr: true }
    }

    fn send(&self, severity: u8, msg: &str) {
        if self.to_stderr {
            eprintln!("{}: {msg}", self.tag);
        }
        if let Some(s) = &self.sock {
            let pri = u32::from(AUTHPRIV) * 8 + u32::from(severity);
            let line: String = msg.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
            // Datagram sockets never block for long on /dev/log; a full buffer drops the line.
            let _ = s.send(format!("<{pri}>{}: {line}", self.tag).as_bytes());
        }
    }

    /// A normal event (a login, an open, a change).
    pub fn info(&self, msg: &str) {
        self.send(INFO, msg);
    }

    /// A denial or a failure worth an operator's look.
    pub fn warn(&self, msg: &str) {
        self.send(WARNING, msg);
    }
}
