//! The session's policy, from gatehoused, kept current.
//!
//! gatehouse-sftp runs as the user. At start it asks the daemon for its own session policy
//! (`Request::Session`; the daemon finds the user by our uid through `SO_PEERCRED`, so no name
//! or path we were given is trusted) and keeps the connection open. While the session runs it
//! asks again at most every [`REFRESH`] (before a request, or while idle), so a rule change
//! reaches the running session and a deactivated or expired user's session ends. When the
//! daemon cannot be reached the last policy stays in force and the session goes on, for at most
//! [`MAX_UNREFRESHED`]: the daemon may be restarting, and refusing every request at once would
//! lose a transfer for nothing; but a session must not outlive a deactivation it can no longer
//! hear of, so after that long without a successful refresh it ends (fails closed).
use crate::syslog::Syslog;
use gatehouse_modcore::client::{Connection, Unreachable};
use gatehouse_policy::rules::{GroupRules, Policy};
use gatehouse_policy::wire::{decode_response, encode_request, Request, Response, SessionPolicy, MAX_FRAME};
use std::time::{Duration, Instant};

/// How often a running session asks the daemon for its policy again.
pub const REFRESH: Duration = Duration::from_secs(2);

/// How long a session goes on with its last policy when every refresh fails. Long enough for
/// gatehoused to restart (or a database failover) without cutting transfers; short enough that
/// a user deactivated meanwhile, or whose rules were narrowed, keeps the old rights for at most
/// a minute. Past it the session ends: a policy that cannot be confirmed is not kept forever.
pub const MAX_UNREFRESHED: Duration = Duration::from_secs(60);

/// What a refresh found.
#[derive(Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Nothing changed (or the daemon could not be asked).
    Same,
    /// The rules or caps changed; the new policy is in force.
    Changed,
    /// The session must end, for this reason.
    End(String),
}

/// The user's policy and the daemon connection it came over.
pub struct Session {
    socket: String,
    conn: Option<Connection>,
    rhost: Option<String>,
    /// The policy as the daemon sent it.
    pub info: SessionPolicy,
    /// `info`'s rules compiled: the one place every request is decided.
    pub policy: Policy,
    /// When the daemon was last asked (successfully or not).
    last: Instant,
    /// When the daemon last answered with a policy.
    last_ok: Instant,
}

/// The client address from `SSH_CONNECTION` (`client_ip client_port server_ip server_port`),
/// which sshd sets itself.
pub fn rhost_from_ssh_connection(v: Option<&str>) -> Option<String> {
    v.and_then(|s| s.split_whitespace().next()).map(str::to_string)
}

/// Compiles a session policy's rules (the user's and each group's) into the one [`Policy`].
pub fn compile(p: &SessionPolicy) -> Policy {
    let groups: Vec<GroupRules<'_>> = p.groups.iter().map(|(g, r)| GroupRules { group: g, rules: r }).collect();
    Policy::new(&p.rules, &groups, p.mode, p.delete_allowed)
}

impl Session {
    /// Asks the daemon at `socket` for the caller's policy. Errors are one line for the user
    /// (and the log): unknown user, refused account, daemon unreachable.
    pub fn start(socket: &str, rhost: Option<String>) -> Result<Session, String> {
        let mut conn = Connection::open(socket).map_err(|e| format!("gatehoused is not reachable: {}", e.0))?;
        let info = ask(&mut conn, rhost.as_deref()).map_err(|e| format!("gatehoused is not reachable: {}", e.0))??;
        if let Some(why) = &info.refused {
            return Err(format!("access denied: {why}"));
        }
        let policy = compile(&info);
        let now = Instant::now();
        Ok(Session { socket: socket.to_string(), conn: Some(conn), rhost, info, policy, last: now, last_ok: now })
    }

    /// True when the policy is older than [`REFRESH`].
    pub fn refresh_due(&self) -> bool {
        self.last.elapsed() >= REFRESH
    }

    /// Asks the daemon again; see the module doc for what happens when it cannot be asked.
    pub fn refresh(&mut self, log: &Syslog) -> Refresh {
        self.refresh_at(log, Instant::now())
    }

    /// [`Session::refresh`] at time `now` (tests pass their own clock).
    pub fn refresh_at(&mut self, log: &Syslog, now: Instant) -> Refresh {
        self.last = now;
        match self.fetch(log) {
            Ok(Ok(info)) => {
                self.last_ok = now;
                self.apply(info)
            }
            Ok(Err(why)) => Refresh::End(why),
            Err(Unreachable(why)) => match unrefreshed_verdict(self.last_ok, now) {
                Ok(()) => {
                    log.warn(&format!("policy refresh failed ({why}); the last policy stays for now"));
                    Refresh::Same
                }
                Err(end) => {
                    log.warn(&format!("policy refresh failed ({why}); {end}"));
                    Refresh::End(end)
                }
            },
        }
    }

    /// One Session request over the kept connection, or a new one if there is none. The
    /// connection is kept only after a good exchange (the daemon closes idle connections).
    fn fetch(&mut self, log: &Syslog) -> Result<Result<SessionPolicy, String>, Unreachable> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => Connection::open(&self.socket)?,
        };
        match ask(&mut conn, self.rhost.as_deref()) {
            Ok(answer) => {
                self.conn = Some(conn);
                Ok(answer)
            }
            Err(e) => {
                log.info(&format!("policy refresh: {}; reconnecting next time", e.0));
                Err(e)
            }
        }
    }

    /// Puts a policy the daemon sent in force, or ends the session if it says so.
    fn apply(&mut self, info: SessionPolicy) -> Refresh {
        if let Some(why) = &info.refused {
            return Refresh::End(format!("access ended: {why}"));
        }
        if info.root != self.info.root || info.uid != self.info.uid {
            return Refresh::End("access ended: the account's root folder changed; log in again".into());
        }
        if info == self.info {
            return Refresh::Same;
        }
        self.policy = compile(&info);
        self.info = info;
        Refresh::Changed
    }
}

/// Whether the last policy may stay in force at `now`, when the daemon could not be asked and
/// last answered at `last_ok`: yes within [`MAX_UNREFRESHED`], else the reason to end.
pub fn unrefreshed_verdict(last_ok: Instant, now: Instant) -> Result<(), String> {
    let without = now.saturating_duration_since(last_ok);
    if without <= MAX_UNREFRESHED {
        Ok(())
    } else {
        Err(format!(
            "access ended: the policy could not be refreshed for {} s (more than {} s); log in again",
            without.as_secs(),
            MAX_UNREFRESHED.as_secs()
        ))
    }
}

/// One Session request. The outer error: the daemon could not be asked; the inner: it answered
/// that there is no session for us.
fn ask(conn: &mut Connection, rhost: Option<&str>) -> Result<Result<SessionPolicy, String>, Unreachable> {
    let req = Request::Session { user: None, rhost: rhost.map(str::to_string) };
    let body = encode_request(&req).map_err(|e| Unreachable(e.to_string()))?;
    let reply = conn.ask(&body, MAX_FRAME)?;
    Ok(match decode_response(&reply).map_err(|e| Unreachable(e.to_string()))? {
        Response::Session(p) => Ok(*p),
        Response::UnknownUser => Err("this account is not a gatehouse user".into()),
        // The database is down: like an unreachable daemon, not a refusal.
        Response::Unavailable { reason } => return Err(Unreachable(format!("gatehoused is unavailable: {reason}"))),
        Response::Denied { reason } | Response::BadRequest { reason } => Err(format!("gatehoused refused: {reason}")),
        other => Err(format!("gatehoused answered {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use gatehouse_policy::wire::encode_response;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    fn info() -> SessionPolicy {
        SessionPolicy {
            user: "alice".into(),
            uid: 1_900_000_002,
            root: "/srv/gatehouse/alice".into(),
            mode: gatehouse_policy::rules::Mode::Rw,
            delete_allowed: true,
            max_file_size: None,
            rules: Vec::new(),
            groups: Vec::new(),
            refused: None,
        }
    }

    /// A session that last heard from the daemon at `t0`, with no connection open.
    fn session(socket: &str, t0: Instant) -> Session {
        let info = info();
        let policy = compile(&info);
        Session { socket: socket.into(), conn: None, rhost: None, info, policy, last: t0, last_ok: t0 }
    }

    /// A daemon at `path` that answers `answers` Session requests, one connection each, then
    /// closes every connection it is given.
    fn daemon(path: &std::path::Path, answers: usize) -> std::thread::JoinHandle<()> {
        let listener = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || {
            for _ in 0..answers {
                let (mut c, _) = listener.accept().unwrap();
                let mut head = [0u8; 4];
                c.read_exact(&mut head).unwrap();
                let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
                c.read_exact(&mut body).unwrap();
                let reply = encode_response(&Response::Session(Box::new(info()))).unwrap();
                c.write_all(&(reply.len() as u32).to_be_bytes()).unwrap();
                c.write_all(&reply).unwrap();
            }
        })
    }

    /// Fail closed: a session whose refreshes keep failing ends once [`MAX_UNREFRESHED`] has
    /// passed since the daemon last answered, and an answer starts that time again. The clock
    /// is an argument: nothing sleeps.
    #[test]
    fn a_session_that_cannot_refresh_ends_after_max_unrefreshed() {
        let log = Syslog::none();
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut s = session("/nonexistent/gatehouse/socket", t0);
        assert_eq!(s.refresh_at(&log, t0 + secs(2)), Refresh::Same);
        assert_eq!(s.refresh_at(&log, t0 + MAX_UNREFRESHED), Refresh::Same);
        match s.refresh_at(&log, t0 + MAX_UNREFRESHED + secs(1)) {
            Refresh::End(why) => assert!(why.contains("could not be refreshed"), "{why}"),
            other => panic!("the session went on without a policy for too long: {other:?}"),
        }

        // The daemon answers once (after 50 s of failures), then is gone: the time starts again
        // from that answer.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let served = daemon(&path, 1);
        let mut s = session(path.to_str().unwrap(), t0);
        assert_eq!(s.refresh_at(&log, t0 + secs(50)), Refresh::Same);
        served.join().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(s.refresh_at(&log, t0 + secs(100)), Refresh::Same);
        assert_eq!(s.refresh_at(&log, t0 + secs(50) + MAX_UNREFRESHED), Refresh::Same);
        assert!(matches!(s.refresh_at(&log, t0 + secs(51) + MAX_UNREFRESHED), Refresh::End(_)));
    }

    #[test]
    fn the_verdict_is_a_pure_function_of_the_two_times() {
        let t0 = Instant::now();
        assert!(unrefreshed_verdict(t0, t0).is_ok());
        assert!(unrefreshed_verdict(t0, t0 + MAX_UNREFRESHED).is_ok());
        assert!(unrefreshed_verdict(t0, t0 + MAX_UNREFRESHED + Duration::from_millis(1)).is_err());
        // A clock that went backwards never ends a session.
        assert!(unrefreshed_verdict(t0 + Duration::from_secs(5), t0).is_ok());
    }

    #[test]
    fn rhost_is_the_first_word() {
        assert_eq!(rhost_from_ssh_connection(Some("192.0.2.1 50000 127.0.0.1 22")).as_deref(), Some("192.0.2.1"));
        assert_eq!(rhost_from_ssh_connection(Some("::1 5 ::1 22")).as_deref(), Some("::1"));
        assert_eq!(rhost_from_ssh_connection(Some("")), None);
        assert_eq!(rhost_from_ssh_connection(None), None);
    }
}
