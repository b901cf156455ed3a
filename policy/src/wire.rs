//! The daemon wire protocol as the daemon and gatehouse-sftp use it: everything of
//! [`gatehouse_wire`], with [`Response::Session`] carrying [`SessionPolicy`], the one message
//! made of policy types (rules and the mode). The frames, the other messages and their bounds
//! live in `gatehouse-wire`, which the PAM module uses without this crate.
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

pub use gatehouse_wire::{
    admin_reads_stdin, check_len, decode_request, encode_request, read_frame, read_request, write_frame, write_request,
    ClientResponse, Request, WireError, MAX_ADMIN_ARG, MAX_ADMIN_ARGS, MAX_ADMIN_INPUT, MAX_FIELD, MAX_FRAME,
    MAX_SECRET, PROTOCOL_PREFIX, VERSION,
};

/// The daemon's answer, with [`SessionPolicy`] in [`gatehouse_wire::Response::Session`].
pub type Response = gatehouse_wire::Response<SessionPolicy>;

/// What gatehouse-sftp needs to serve one user: the root, the caps, the rules (the user's and
/// each group's, merged by the client with `rules::Policy::new`, the one place that merges), and
/// whether the session may go on at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// The login name.
    pub user: String,
    /// The user's uid (the caller's, for non-root callers).
    pub uid: u32,
    /// The root folder, an absolute host path.
    pub root: String,
    /// `r` or `rw`.
    pub mode: crate::rules::Mode,
    /// Whether existing data may be deleted or overwritten.
    pub delete_allowed: bool,
    /// Largest file an upload may create or grow, in bytes.
    #[serde(default)]
    pub max_file_size: Option<u64>,
    /// The user's own rules.
    #[serde(default)]
    pub rules: Vec<crate::rules::Rule>,
    /// Each group's name and rules, in the order the store gives them.
    #[serde(default)]
    pub groups: Vec<(String, Vec<crate::rules::Rule>)>,
    /// `None` while the account may use SSH now; otherwise why not (inactive, expired, `ssh` not
    /// among the protocols, address not allowed): the session ends.
    #[serde(default)]
    pub refused: Option<String>,
}

/// Decodes a response frame body. Never panics.
pub fn decode_response(body: &[u8]) -> Result<Response, WireError> {
    gatehouse_wire::decode_response(body)
}

/// Encodes a response as a frame body.
pub fn encode_response(resp: &Response) -> Result<Vec<u8>, WireError> {
    gatehouse_wire::encode_response(resp)
}

/// Reads and decodes one response.
pub fn read_response(r: &mut impl Read, max: usize) -> Result<Response, WireError> {
    gatehouse_wire::read_response(r, max)
}

/// Encodes and writes one response.
pub fn write_response(w: &mut impl Write, resp: &Response) -> Result<(), WireError> {
    gatehouse_wire::write_response(w, resp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rules::{Level, Mode, Rule};

    fn session() -> Response {
        Response::Session(Box::new(SessionPolicy {
            user: "alice".into(),
            uid: 1_900_000_002,
            root: "/srv/gatehouse/alice".into(),
            mode: Mode::Rw,
            delete_allowed: false,
            max_file_size: Some(1 << 20),
            rules: vec![Rule::new("/in", Level::Upload).unwrap()],
            groups: vec![("acme".into(), vec![Rule::new("/acme/*", Level::Read).unwrap()])],
            refused: Some("account is inactive (active=false)".into()),
        }))
    }

    #[test]
    fn session_round_trips() {
        let mut buf = Vec::new();
        write_response(&mut buf, &session()).unwrap();
        assert_eq!(read_response(&mut buf.as_slice(), MAX_FRAME).unwrap(), session());
    }

    #[test]
    fn invalid_rule_key_is_a_malformed_frame() {
        let body = br#"{"v":1,"response":{"session":{"user":"a","uid":1,"root":"/r","mode":"rw","delete_allowed":true,"rules":[{"path":"in","level":"read"}]}}}"#;
        assert!(matches!(decode_response(body), Err(WireError::Malformed(_))));
    }

    #[test]
    fn clients_skip_a_session_unread() {
        let body = encode_response(&session()).unwrap();
        let r: ClientResponse = gatehouse_wire::decode_response(&body).unwrap();
        assert!(matches!(r, gatehouse_wire::Response::Session(_)));
    }
}
