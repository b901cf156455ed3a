//! `gatehouse invite --mail`: hands an invitation code to the host's MTA.
//!
//! The message goes to a sendmail-compatible program (`[mail] sendmail`), run as
//! `PROGRAM -oi -- ADDRESS` with the message on its standard input: the recipient is an argument
//! after `--`, never read from the headers (`-t`), so nothing in a user's record can add a
//! recipient or pass an option. The only values put in headers are the validated email addresses
//! (no spaces, no control characters) and the user name (gatehouse's name rules); the display
//! name is left out. The program gets [`SEND_TIMEOUT`] and is killed after it: a hung MTA makes
//! the command fail, it does not hang it. The code is in the body only, and the caller zeroises
//! the message.
use gatehouse_policy::config::MailConfig;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long the sendmail program may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The message for `user` at `to`: headers and a plain-text body with the code and its expiry.
pub fn compose(cfg: &MailConfig, to: &str, user: &str, host: &str, code: &str, expires: &str) -> Zeroizing<String> {
    let mut m = Zeroizing::new(String::new());
    if let Some(from) = cfg.from.as_deref().filter(|f| !f.is_empty()) {
        m.push_str(&format!("From: {from}\n"));
    }
    m.push_str(&format!(
        "To: {to}\nSubject: Your file transfer account on {host}\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n\
         An account has been set up for you on {host}.\n\n\
         User name:     {user}\nOne-time code: {code}\nValid until:   {expires}\n\n\
         Log in once over SFTP (for example: sftp {user}@{host}) and type the code when asked for\n\
         the password; you will then choose your own password. The code works once.\n"
    ));
    m
}

/// Runs the sendmail program with `message` for `to`. Errors say what went wrong, without the
/// message.
pub fn send(program: &str, to: &str, message: &[u8]) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(["-oi", "--", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(message).map_err(|e| format!("cannot write to {program}: {e}")),
        None => Err(format!("{program} has no standard input")),
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < SEND_TIMEOUT => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {} s", SEND_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("cannot wait for {program}: {e}")),
        }
    };
    if status.success() {
        // A program that exits 0 without reading the whole message did not send it.
        return written;
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let err: String = err.lines().next().unwrap_or("").chars().take(200).collect();
    Err(format!("{program} failed ({status}){}", if err.is_empty() { String::new() } else { format!(": {err}") }))
}

/// This host's name for the message (`/proc/sys/kernel/hostname`; "this host" if unreadable).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .unwrap_or_else(|| "this host".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn headers_carry_addresses_and_the_name_only() {
        let cfg = MailConfig { sendmail: None, from: Some("ops@example.org".into()) };
        let m = compose(&cfg, "alice@example.org", "alice", "files.example.org", "ABCD-EFGH", "2026-12-01T00:00:00Z");
        let (head, body) = m.split_once("\n\n").unwrap();
        assert!(head.starts_with("From: ops@example.org\nTo: alice@example.org\n"));
        assert!(!head.contains("ABCD-EFGH"));
        assert!(body.contains("One-time code: ABCD-EFGH"));
        let none = compose(&MailConfig::default(), "a@b.c", "a", "h", "X", "t");
        assert!(none.starts_with("To: a@b.c\n"));
    }

    #[test]
    fn a_failing_or_missing_program_is_an_error() {
        assert!(send("/bin/false", "a@b.c", b"x").unwrap_err().contains("failed"));
        assert!(send("/nonexistent/sendmail", "a@b.c", b"x").unwrap_err().contains("cannot run"));
        let dir = tempfile::tempdir().unwrap();
        let reader = dir.path().join("sendmail");
        std::fs::write(&reader, "#!/bin/sh\n[ \"$1 $2 $3\" = '-oi -- a@b.c' ] && cat >/dev/null\n").unwrap();
        std::fs::set_permissions(&reader, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        assert_eq!(send(reader.to_str().unwrap(), "a@b.c", b"x"), Ok(()));
        assert!(send(reader.to_str().unwrap(), "other@b.c", b"x").is_err());
    }
}
