//! The session's policy, from gatehoused, kept current.
//!
//! gatehouse-sftp runs as the user. At start it asks the daemon for its own session policy
//! (`Request::Session`; the daemon finds the user by our uid through `SO_PEERCRED`, so no name
//! or path we were given is trusted) and keeps the connection open. While the session runs it
//! asks again at most every [`REFRESH`] (before a request, or while idle), so a rule change
//! reaches the running session and a deactivated or expired user's session ends. When the
//! daemon cannot be reached the last policy stays in force and the session goes on: the daemon
//! may be restarting, and refusing every request would lose a transfer for nothing.
use crate::syslog::Syslog;
use gatehouse_modcore::client::{Connection, Unreachable};
use gatehouse_policy::rules::{GroupRules, Policy};
use gatehouse_policy::wire::{decode_response, encode_request, Request, Response, SessionPolicy, MAX_FRAME};
use std::time::{Duration, Instant};

/// How often a running session asks the daemon for its policy again.
pub const REFRESH: Duration = Duration::from_secs(2);

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
    last: Instant,
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
        Ok(Session { socket: socket.to_string(), conn: Some(conn), rhost, info, policy, last: Instant::now() })
    }

    /// True when the policy is older than [`REFRESH`].
    pub fn refresh_due(&self) -> bool {
        self.last.elapsed() >= REFRESH
    }

    /// Asks the daemon again; see the module doc for what happens when it cannot be asked.
    pub fn refresh(&mut self, log: &Syslog) -> Refresh {
        self.last = Instant::now();
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => match Connection::open(&self.socket) {
                Ok(c) => c,
                Err(e) => {
                    log.warn(&format!("policy refresh: gatehoused is not reachable ({}); the last policy stays", e.0));
                    return Refresh::Same;
                }
            },
        };
        let info = match ask(&mut conn, self.rhost.as_deref()) {
            Ok(Ok(info)) => {
                self.conn = Some(conn);
                info
            }
            Ok(Err(why)) => return Refresh::End(why),
            Err(e) => {
                // The daemon closes idle connections; try once more on a new one next time.
                log.info(&format!("policy refresh: {}; reconnecting next time", e.0));
                return Refresh::Same;
            }
        };
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
    use super::*;

    #[test]
    fn rhost_is_the_first_word() {
        assert_eq!(rhost_from_ssh_connection(Some("192.0.2.1 50000 127.0.0.1 22")).as_deref(), Some("192.0.2.1"));
        assert_eq!(rhost_from_ssh_connection(Some("::1 5 ::1 22")).as_deref(), Some("::1"));
        assert_eq!(rhost_from_ssh_connection(Some("")), None);
        assert_eq!(rhost_from_ssh_connection(None), None);
    }
}
