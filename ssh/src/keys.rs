//! `gatehouse-keys %u %U %f %t %k`: sshd's `AuthorizedKeysCommand`.
//!
//! sshd runs it (twice per key login) as the unprivileged `gatehouse-keys` user with the login
//! name, the uid, and the offered key's fingerprint, type and base64. It asks gatehoused for the
//! user's keys and prints the line for the offered key, with the options sshd then enforces
//! itself (`restrict`, `from="…"`, `expiry-time="…"`). Nothing is printed for unknown, inactive,
//! expired or ssh-disabled users, or when the daemon is down: then sshd simply finds no key.
//! No environment variable or config value changes what it trusts (the socket path is fixed).
use gatehouse_modcore::client;
use gatehouse_policy::wire::{decode_response, encode_request, Request, Response, MAX_FRAME};

/// The arguments sshd passes (`%u %U %f %t %k`); only the user is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `%u`: the login name.
    pub user: String,
    /// `%k`: the offered key's base64, if given; only its line is printed.
    pub key: Option<String>,
}

/// Parses `argv[1..]`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    match args {
        [user, rest @ ..] if !user.is_empty() && rest.len() <= 4 => Ok(Args { user: user.clone(), key: rest.get(3).filter(|k| !k.is_empty()).cloned() }),
        _ => Err("usage: gatehouse-keys USER [UID FINGERPRINT TYPE KEY]  (sshd: AuthorizedKeysCommand /usr/sbin/gatehouse-keys %u %U %f %t %k)".into()),
    }
}

/// The lines to print: the daemon's lines, only the offered key's when one was given.
pub fn select(lines: Vec<String>, key: Option<&str>) -> Vec<String> {
    match key {
        None => lines,
        Some(k) => lines.into_iter().filter(|l| l.split_whitespace().any(|f| f == k)).collect(),
    }
}

/// Asks the daemon at `socket`; every failure is a message for stderr and no lines.
pub fn lookup(socket: &str, args: &Args) -> Result<Vec<String>, String> {
    let body = encode_request(&Request::Keys { user: args.user.clone() }).map_err(|e| e.to_string())?;
    let reply = client::exchange(socket, &body, MAX_FRAME).map_err(|e| e.0)?;
    match decode_response(&reply).map_err(|e| e.to_string())? {
        Response::Keys { lines } => Ok(select(lines, args.key.as_deref())),
        Response::UnknownUser => Ok(Vec::new()),
        other => Err(format!("gatehoused answered {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn args() {
        assert_eq!(parse_args(&s(&["alice"])).unwrap(), Args { user: "alice".into(), key: None });
        let a = parse_args(&s(&["alice", "1900000002", "SHA256:x", "ssh-ed25519", "AAAA"])).unwrap();
        assert_eq!(a.key.as_deref(), Some("AAAA"));
        assert!(parse_args(&s(&[])).is_err());
        assert!(parse_args(&s(&["", "1"])).is_err());
        assert!(parse_args(&s(&["a", "1", "2", "3", "4", "5"])).is_err());
    }

    #[test]
    fn only_the_offered_key() {
        let lines = s(&["restrict ssh-ed25519 AAAA one", "restrict ssh-ed25519 BBBB two"]);
        assert_eq!(select(lines.clone(), Some("BBBB")), s(&["restrict ssh-ed25519 BBBB two"]));
        assert_eq!(select(lines.clone(), None), lines);
        assert!(select(lines, Some("CCCC")).is_empty());
    }
}
