//! gatehouse-wire: the daemon wire protocol, what the PAM module, gatehouse-keys, gatehouse-sftp
//! and the admin CLI say to gatehoused over `/run/gatehouse/socket`, and what it answers; the
//! [`secret::Secret`] its password fields are; and [`admin`], the delegated-admin client.
//!
//! Its own crate so that pam_gatehouse.so, which runs inside sshd, su and vsftpd, speaks the
//! protocol without linking the policy core (password hashing, key parsing, the config file).
//! The one message that carries policy types, [`Response::Session`], is generic here: the policy
//! crate fills it with its `SessionPolicy` (`gatehouse_policy::wire::Response`), and clients that
//! never ask for a session decode it as [`ClientResponse`], skipping it unread.
//!
//! **Frames.** A frame is a 4-byte big-endian length followed by that many bytes of JSON. The
//! length is checked against the caller's maximum ([`MAX_FRAME`] by default) *before* anything is
//! allocated, so a header announcing 4 GiB costs nothing; a frame cut short, and JSON followed by
//! anything but whitespace, are errors. [`read_frame`] and [`write_frame`] are plain `std::io`,
//! so the PAM module (no async runtime, no threads) uses them directly; the daemon wraps the same
//! length check ([`check_len`]) for tokio.
//!
//! **Messages.** Every frame carries the protocol version: `{"v":1,"request":…}` or
//! `{"v":1,"response":…}`. The version is read first, on its own, and any other version is
//! refused ([`WireError::UnsupportedVersion`]) before the body is interpreted, so a peer from a
//! future release gets a clear answer instead of a parse error. Inside one version, unknown
//! fields are ignored, so an optional field can be added without breaking an older peer; a
//! change that an older peer would misread needs a new version. Variants are externally tagged
//! in `snake_case`: `"ping"`, `{"authenticate":{"user":"alice",…}}`.
//!
//! **Secrets.** Passwords travel as [`Secret`], which serialises as a plain JSON string but
//! prints as `<redacted>` and is wiped on drop; `Debug` of a [`Request`] therefore never shows
//! one. [`read_request`] and [`encode_request`] wipe the frame buffers that held the JSON text.
//! (serde_json may still copy a string that contains escapes through a scratch buffer; clients
//! send passwords without escapes where they can, and nothing here logs a frame.)
//!
//! **Robustness.** [`decode_request`] and [`decode_response`] take any bytes and never panic
//! (serde_json bounds nesting depth), and [`Request::validate`] bounds every string, so one
//! fuzz target per decoder covers the parser.
#![forbid(unsafe_code)]

use std::io::{Read, Write};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

pub mod admin;
pub mod secret;

use crate::secret::Secret;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// The PAM service value that names a protocol directly: pam_gatehouse sends
/// `protocol:NAME` for a `protocol=NAME` module argument (pam.d is root's, so it is trusted).
pub const PROTOCOL_PREFIX: &str = "protocol:";

/// The default (and the daemon's) maximum frame size: 64 KiB. A request is a few hundred bytes;
/// a `Keys` answer with many long RSA keys stays well under it.
pub const MAX_FRAME: usize = 64 * 1024;

/// Longest user name, service, rhost or tty accepted in a request, in bytes.
pub const MAX_FIELD: usize = 256;

/// Longest password accepted in a request, in bytes (PAM conversations and FTP carry far less;
/// the cap bounds what a client can make the daemon hash).
pub const MAX_SECRET: usize = 4096;

/// Most words in an [`Request::Admin`] command line.
pub const MAX_ADMIN_ARGS: usize = 64;

/// Longest word of an admin command line, in bytes (a long RSA key line fits).
pub const MAX_ADMIN_ARG: usize = 4096;

/// Most bytes of standard input an admin command carries (a password, or a few key lines).
pub const MAX_ADMIN_INPUT: usize = 16 * 1024;

/// Everything that can go wrong reading or decoding a frame.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer closed the connection cleanly before the first byte of a frame header.
    #[error("the peer closed the connection")]
    Closed,
    /// The connection ended inside a frame (`got` of `expected` bytes of the header or body).
    #[error("truncated frame: got {got} of {expected} bytes")]
    Truncated {
        /// Bytes expected (4 for the header, the announced length for the body).
        expected: usize,
        /// Bytes received before the end.
        got: usize,
    },
    /// The announced (or encoded) length is larger than the maximum; nothing was allocated.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The maximum in force.
        max: usize,
    },
    /// The frame carries a protocol version this build does not speak.
    #[error("unsupported protocol version {got} (this build speaks version {VERSION})")]
    UnsupportedVersion {
        /// The version in the frame.
        got: u64,
    },
    /// The JSON is malformed, has trailing bytes, lacks a field, or a field is out of bounds.
    /// The message names the field where it can; it never contains a secret.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A request to the daemon. Fields are what the caller knows; `None` means it was not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Check a password (PAM `pam_sm_authenticate`).
    Authenticate {
        /// The login name (`PAM_USER`).
        user: String,
        /// The PAM service (`sshd`, `vsftpd`, …), mapped to a protocol by the daemon's config.
        service: String,
        /// `PAM_RHOST`: the client address (or a host name, which fails closed for IP rules).
        #[serde(default)]
        rhost: Option<String>,
        /// `PAM_TTY`.
        #[serde(default)]
        tty: Option<String>,
        /// The password the user typed.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        password: Secret,
    },
    /// Decide whether the account may log in now (PAM `pam_sm_acct_mgmt`): active, expiry,
    /// lock, protocol, IP, and whether a new password is required.
    Account {
        /// The login name.
        user: String,
        /// The PAM service.
        service: String,
        /// `PAM_RHOST`.
        #[serde(default)]
        rhost: Option<String>,
        /// `PAM_TTY`.
        #[serde(default)]
        tty: Option<String>,
    },
    /// Set a new password (PAM `pam_sm_chauthtok`), checked against the password policy.
    ChangePassword {
        /// The login name.
        user: String,
        /// The PAM service.
        service: String,
        /// The current password; required unless the caller is root.
        #[serde(default, serialize_with = "ser_opt_secret", deserialize_with = "de_opt_secret")]
        old: Option<Secret>,
        /// The new password.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        new: Secret,
    },
    /// The second step of a TOTP login over SSH: the code the user typed after
    /// [`Response::TotpRequired`]. Accepted only shortly after the same caller verified the same
    /// user's password, so it is never a login on its own.
    VerifyTotp {
        /// The login name.
        user: String,
        /// The PAM service.
        service: String,
        /// `PAM_RHOST`.
        #[serde(default)]
        rhost: Option<String>,
        /// The code as typed.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        code: Secret,
    },
    /// The `authorized_keys` lines for a user (gatehouse-keys, sshd's `AuthorizedKeysCommand`).
    Keys {
        /// The login name.
        user: String,
    },
    /// The calling user's own session policy (gatehouse-sftp, which runs as the user). The
    /// daemon finds the user by the caller's uid (`SO_PEERCRED`); only root may name a user.
    Session {
        /// For root callers (tests, admin tools): the user to describe. Ignored otherwise.
        #[serde(default)]
        user: Option<String>,
        /// `SSH_CONNECTION`'s client address, for the IP check of a running session.
        #[serde(default)]
        rhost: Option<String>,
    },
    /// A delegated admin's command (`gatehouse` run by a non-root account, or `ssh admin@host
    /// gatehouse …` through gatehouse-sftp): the words after `gatehouse`, parsed by the daemon
    /// with the CLI's own definitions and run within the caller's admin role (`SO_PEERCRED`).
    /// Answered with [`Response::Output`], or `Denied` naming what the role does not allow.
    Admin {
        /// The command line after the program name, already split into words.
        argv: Vec<String>,
        /// Standard input for `--password-stdin`, `passwd --stdin` and `key add --file -`.
        #[serde(default, serialize_with = "ser_opt_secret", deserialize_with = "de_opt_secret")]
        stdin: Option<Secret>,
    },
    /// Is the daemon there? Answered with [`Response::Ok`] to anyone.
    Ping,
}

/// The daemon's answer: exactly one per request. `P` is what [`Response::Session`] carries: the
/// policy crate's `SessionPolicy` for the daemon and gatehouse-sftp, [`IgnoredAny`] for clients
/// that never ask for one ([`ClientResponse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response<P> {
    /// Allowed / done.
    Ok,
    /// Refused. The reason is for the caller's log (the PAM module maps the answer to a PAM
    /// code); it never contains a secret.
    Denied {
        /// Why, in words, naming the setting that decided.
        reason: String,
    },
    /// No gatehouse user by that name.
    UnknownUser,
    /// The password is right (or the account is usable) but must be changed first
    /// (PAM `NEW_AUTHTOK_REQD`).
    NewPasswordRequired,
    /// The password is right and the user has TOTP: ask for the code and send
    /// [`Request::VerifyTotp`] within two minutes.
    TotpRequired,
    /// The caller's session policy ([`Request::Session`]).
    Session(Box<P>),
    /// The `authorized_keys` lines to print (possibly none).
    Keys {
        /// One line per key, with options (`restrict,from="…" ssh-ed25519 AAAA… comment`).
        lines: Vec<String>,
    },
    /// What an admin command printed, and the exit status the CLI gives (0, or 1 for a
    /// `check` that denies).
    Output {
        /// Standard output of the command.
        stdout: String,
        /// The exit status.
        status: i32,
    },
    /// The daemon cannot answer now (database down, …); PAM maps it to `AUTHINFO_UNAVAIL`.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The request was malformed or out of bounds.
    BadRequest {
        /// What was wrong, naming the field.
        reason: String,
    },
}

/// A response as the clients that never send [`Request::Session`] decode it (the PAM module, the
/// admin client): a session policy, should one come, is skipped unread.
pub type ClientResponse = Response<IgnoredAny>;

fn ser_secret<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

fn de_secret<'de, D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
    String::deserialize(de).map(Secret::new)
}

fn ser_opt_secret<S: Serializer>(s: &Option<Secret>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_some(s.expose()),
        None => ser.serialize_none(),
    }
}

fn de_opt_secret<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Secret>, D::Error> {
    Option::<String>::deserialize(de).map(|o| o.map(Secret::new))
}

/// True if an admin command line reads standard input: `--password-stdin`, `--stdin` (passwd),
/// or `--file -` (key add). Both admin clients use this one rule, so what they send does not
/// depend on which one the admin used.
pub fn admin_reads_stdin(argv: &[String]) -> bool {
    argv.iter().enumerate().any(|(i, w)| {
        w == "--password-stdin"
            || w == "--stdin"
            || w == "--file=-"
            || (w == "--file" && argv.get(i + 1).is_some_and(|n| n == "-"))
    })
}

/// The version probe: only `v` is read; every other field is skipped without being kept.
#[derive(Deserialize)]
struct Probe {
    v: u64,
}

#[derive(Serialize)]
struct RequestOut<'a> {
    v: u32,
    request: &'a Request,
}

#[derive(Deserialize)]
struct RequestIn {
    #[allow(dead_code)]
    v: u64,
    request: Request,
}

#[derive(Serialize)]
struct ResponseOut<'a, P> {
    v: u32,
    response: &'a Response<P>,
}

#[derive(Deserialize)]
struct ResponseIn<P> {
    #[allow(dead_code)]
    v: u64,
    response: Response<P>,
}

/// Checks one string field: length and no NUL (no PAM item, user name or password has one).
fn check_field(field: &str, value: &str, max: usize) -> Result<(), WireError> {
    if value.len() > max {
        return Err(WireError::Malformed(format!("{field} is longer than {max} bytes")));
    }
    if value.contains('\0') {
        return Err(WireError::Malformed(format!("{field} contains a NUL character")));
    }
    Ok(())
}

impl Request {
    /// Bounds every field: names and PAM items at most [`MAX_FIELD`] bytes, secrets at most
    /// [`MAX_SECRET`] bytes, no NUL anywhere, user and service not empty.
    pub fn validate(&self) -> Result<(), WireError> {
        let opt = |field: &str, v: &Option<String>| v.as_deref().map_or(Ok(()), |s| check_field(field, s, MAX_FIELD));
        let user_service = |user: &str, service: Option<&str>| -> Result<(), WireError> {
            if user.is_empty() {
                return Err(WireError::Malformed("user is empty".into()));
            }
            check_field("user", user, MAX_FIELD)?;
            if let Some(s) = service {
                if s.is_empty() {
                    return Err(WireError::Malformed("service is empty".into()));
                }
                check_field("service", s, MAX_FIELD)?;
            }
            Ok(())
        };
        match self {
            Request::Authenticate { user, service, rhost, tty, password } => {
                user_service(user, Some(service))?;
                opt("rhost", rhost)?;
                opt("tty", tty)?;
                check_field("password", password.expose(), MAX_SECRET)
            }
            Request::Account { user, service, rhost, tty } => {
                user_service(user, Some(service))?;
                opt("rhost", rhost)?;
                opt("tty", tty)
            }
            Request::ChangePassword { user, service, old, new } => {
                user_service(user, Some(service))?;
                if let Some(old) = old {
                    check_field("old", old.expose(), MAX_SECRET)?;
                }
                check_field("new", new.expose(), MAX_SECRET)
            }
            Request::VerifyTotp { user, service, rhost, code } => {
                user_service(user, Some(service))?;
                opt("rhost", rhost)?;
                check_field("code", code.expose(), MAX_FIELD)
            }
            Request::Keys { user } => user_service(user, None),
            Request::Session { user, rhost } => {
                if let Some(u) = user {
                    user_service(u, None)?;
                }
                opt("rhost", rhost)
            }
            Request::Admin { argv, stdin } => {
                if argv.len() > MAX_ADMIN_ARGS {
                    return Err(WireError::Malformed(format!("argv has more than {MAX_ADMIN_ARGS} words")));
                }
                for a in argv {
                    check_field("argv", a, MAX_ADMIN_ARG)?;
                }
                stdin.as_ref().map_or(Ok(()), |s| check_field("stdin", s.expose(), MAX_ADMIN_INPUT))
            }
            Request::Ping => Ok(()),
        }
    }

    /// A short name of the request kind, for log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Authenticate { .. } => "authenticate",
            Request::Account { .. } => "account",
            Request::ChangePassword { .. } => "change_password",
            Request::VerifyTotp { .. } => "verify_totp",
            Request::Keys { .. } => "keys",
            Request::Session { .. } => "session",
            Request::Admin { .. } => "admin",
            Request::Ping => "ping",
        }
    }
}

/// Reads the version of a frame and refuses any but [`VERSION`].
fn check_version(body: &[u8]) -> Result<(), WireError> {
    let probe: Probe = serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))?;
    if probe.v != u64::from(VERSION) {
        return Err(WireError::UnsupportedVersion { got: probe.v });
    }
    Ok(())
}

/// Decodes a request frame body (the JSON, without the length header). Never panics.
pub fn decode_request(body: &[u8]) -> Result<Request, WireError> {
    check_version(body)?;
    let r: RequestIn = serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))?;
    r.request.validate()?;
    Ok(r.request)
}

/// Decodes a response frame body. Never panics.
pub fn decode_response<P: DeserializeOwned>(body: &[u8]) -> Result<Response<P>, WireError> {
    check_version(body)?;
    let r: ResponseIn<P> = serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(r.response)
}

/// Encodes a request as a frame body. The buffer is wiped when dropped (it may hold a password).
pub fn encode_request(req: &Request) -> Result<Zeroizing<Vec<u8>>, WireError> {
    serde_json::to_vec(&RequestOut { v: VERSION, request: req })
        .map(Zeroizing::new)
        .map_err(|e| WireError::Malformed(e.to_string()))
}

/// Encodes a response as a frame body.
pub fn encode_response<P: Serialize>(resp: &Response<P>) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(&ResponseOut { v: VERSION, response: resp }).map_err(|e| WireError::Malformed(e.to_string()))
}

/// Checks an announced frame length against `max`; returns it as a `usize` to allocate.
pub fn check_len(header: [u8; 4], max: usize) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(header);
    match usize::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(WireError::TooLarge { len: u64::from(len), max }),
    }
}

/// Reads into `buf` until it is full; returns how many bytes were read before end of file.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, WireError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    Ok(got)
}

/// Reads one frame and returns its body. The length is checked against `max` before the body is
/// allocated. End of file before the first header byte is [`WireError::Closed`]; anywhere else
/// it is [`WireError::Truncated`].
pub fn read_frame(r: &mut impl Read, max: usize) -> Result<Vec<u8>, WireError> {
    let mut header = [0u8; 4];
    match read_full(r, &mut header)? {
        0 => return Err(WireError::Closed),
        4 => {}
        got => return Err(WireError::Truncated { expected: 4, got }),
    }
    let len = check_len(header, max)?;
    let mut body = vec![0u8; len];
    let got = read_full(r, &mut body)?;
    if got != len {
        body.zeroize();
        return Err(WireError::Truncated { expected: len, got });
    }
    Ok(body)
}

/// Writes one frame (header and body in one write, so a frame is never interleaved).
pub fn write_frame(w: &mut impl Write, body: &[u8], max: usize) -> Result<(), WireError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n as usize <= max)
        .ok_or(WireError::TooLarge { len: body.len() as u64, max })?;
    let mut frame = Zeroizing::new(Vec::with_capacity(body.len() + 4));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads and decodes one request; the frame buffer is wiped afterwards.
pub fn read_request(r: &mut impl Read, max: usize) -> Result<Request, WireError> {
    let body = Zeroizing::new(read_frame(r, max)?);
    decode_request(&body)
}

/// Encodes and writes one request.
pub fn write_request(w: &mut impl Write, req: &Request) -> Result<(), WireError> {
    write_frame(w, &encode_request(req)?, MAX_FRAME)
}

/// Reads and decodes one response.
pub fn read_response<P: DeserializeOwned>(r: &mut impl Read, max: usize) -> Result<Response<P>, WireError> {
    decode_response(&read_frame(r, max)?)
}

/// Encodes and writes one response.
pub fn write_response<P: Serialize>(w: &mut impl Write, resp: &Response<P>) -> Result<(), WireError> {
    write_frame(w, &encode_response(resp)?, MAX_FRAME)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn auth() -> Request {
        Request::Authenticate {
            user: "alice".into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.7".into()),
            tty: Some("ssh".into()),
            password: Secret::new("hunter2 \"quoted\" ünï".into()),
        }
    }

    fn all_requests() -> Vec<Request> {
        vec![
            auth(),
            Request::Authenticate {
                user: "bob".into(),
                service: "vsftpd".into(),
                rhost: None,
                tty: None,
                password: Secret::new(String::new()),
            },
            Request::Account { user: "alice".into(), service: "sshd".into(), rhost: None, tty: Some("ssh".into()) },
            Request::ChangePassword {
                user: "alice".into(),
                service: "sshd".into(),
                old: Some(Secret::new("old one".into())),
                new: Secret::new("new one".into()),
            },
            Request::ChangePassword {
                user: "alice".into(),
                service: "passwd".into(),
                old: None,
                new: Secret::new("x".into()),
            },
            Request::VerifyTotp {
                user: "alice".into(),
                service: "sshd".into(),
                rhost: Some("192.0.2.7".into()),
                code: Secret::new("123456".into()),
            },
            Request::Keys { user: "alice".into() },
            Request::Session { user: None, rhost: Some("192.0.2.7".into()) },
            Request::Session { user: Some("alice".into()), rhost: None },
            Request::Admin { argv: vec!["user".into(), "show".into(), "bob".into()], stdin: None },
            Request::Admin { argv: vec!["passwd".into(), "bob".into()], stdin: Some(Secret::new("pw\n".into())) },
            Request::Ping,
        ]
    }

    /// The tests fill [`Response::Session`] with any JSON; the policy crate tests its own.
    type Response = super::Response<serde_json::Value>;

    fn all_responses() -> Vec<Response> {
        vec![
            Response::Ok,
            Response::Denied { reason: "account is inactive".into() },
            Response::UnknownUser,
            Response::NewPasswordRequired,
            Response::TotpRequired,
            Response::Keys { lines: vec!["restrict ssh-ed25519 AAAA x".into()] },
            Response::Keys { lines: vec![] },
            Response::Session(Box::new(serde_json::json!({"user": "alice", "rules": [{"path": "/in"}]}))),
            Response::Output { stdout: "added user bob\n".into(), status: 0 },
            Response::Unavailable { reason: "db".into() },
            Response::BadRequest { reason: "user is empty".into() },
        ]
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_frame(&mut v, body, MAX_FRAME).unwrap();
        v
    }

    #[test]
    fn requests_round_trip() {
        for req in all_requests() {
            let mut buf = Vec::new();
            write_request(&mut buf, &req).unwrap();
            let back = read_request(&mut buf.as_slice(), MAX_FRAME).unwrap();
            assert_eq!(back, req);
        }
    }

    #[test]
    fn responses_round_trip() {
        for resp in all_responses() {
            let mut buf = Vec::new();
            write_response(&mut buf, &resp).unwrap();
            assert_eq!(read_response(&mut buf.as_slice(), MAX_FRAME).unwrap(), resp);
        }
    }

    #[test]
    fn wire_format_is_documented_shape() {
        let body = encode_request(&Request::Ping).unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"v":1,"request":"ping"}"#);
        let body = encode_response(&Response::Denied { reason: "r".into() }).unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"v":1,"response":{"denied":{"reason":"r"}}}"#);
        let body = encode_response(&Response::TotpRequired).unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"v":1,"response":"totp_required"}"#);
        let body = encode_request(&Request::Keys { user: "a".into() }).unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"v":1,"request":{"keys":{"user":"a"}}}"#);
        // Field order does not matter, optional fields may be left out, unknown fields are ignored.
        let r = decode_request(br#"{"request":{"account":{"service":"sshd","user":"a","x":1}},"v":1}"#).unwrap();
        assert_eq!(r, Request::Account { user: "a".into(), service: "sshd".into(), rhost: None, tty: None });
    }

    #[test]
    fn four_gib_header_fails_at_once() {
        // No body follows: if the reader tried to allocate or read 4 GiB it would hang or abort.
        let input = [0xffu8, 0xff, 0xff, 0xff];
        match read_frame(&mut input.as_slice(), MAX_FRAME) {
            Err(WireError::TooLarge { len, max }) => {
                assert_eq!(len, u64::from(u32::MAX));
                assert_eq!(max, MAX_FRAME);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        let just_over = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(read_frame(&mut just_over.as_slice(), MAX_FRAME), Err(WireError::TooLarge { .. })));
        // The writer refuses too.
        let big = vec![b' '; MAX_FRAME + 1];
        assert!(matches!(write_frame(&mut Vec::new(), &big, MAX_FRAME), Err(WireError::TooLarge { .. })));
    }

    #[test]
    fn truncated_frames() {
        assert!(matches!(read_frame(&mut [].as_slice(), MAX_FRAME), Err(WireError::Closed)));
        assert!(matches!(
            read_frame(&mut [0u8, 0].as_slice(), MAX_FRAME),
            Err(WireError::Truncated { expected: 4, got: 2 })
        ));
        let mut f = framed(br#"{"v":1,"request":"ping"}"#);
        f.truncate(f.len() - 3);
        assert!(matches!(read_frame(&mut f.as_slice(), MAX_FRAME), Err(WireError::Truncated { got: 21, .. })));
    }

    #[test]
    fn trailing_bytes_and_garbage_rejected() {
        for body in [
            &br#"{"v":1,"request":"ping"}x"#[..],
            br#"{"v":1,"request":"ping"}{}"#,
            br#"{"v":1,"request":"dance"}"#,
            br#"{"v":1}"#,
            br#"{"request":"ping"}"#,
            br#"{"v":"1","request":"ping"}"#,
            br#"{"v":1,"request":{"authenticate":{"user":"a","service":"s"}}}"#,
            b"",
            b"\xff\xfe",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        ] {
            assert!(decode_request(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        // Trailing whitespace is JSON, not trailing bytes.
        assert_eq!(decode_request(b"{\"v\":1,\"request\":\"ping\"}\n").unwrap(), Request::Ping);
        // Two frames back to back are read one at a time.
        let mut two = framed(br#"{"v":1,"request":"ping"}"#);
        two.extend(framed(br#"{"v":1,"request":{"keys":{"user":"a"}}}"#));
        let mut r = two.as_slice();
        assert_eq!(read_request(&mut r, MAX_FRAME).unwrap(), Request::Ping);
        assert_eq!(read_request(&mut r, MAX_FRAME).unwrap(), Request::Keys { user: "a".into() });
        assert!(matches!(read_request(&mut r, MAX_FRAME), Err(WireError::Closed)));
    }

    #[test]
    fn wrong_version_rejected_before_body() {
        for (body, got) in [
            (&br#"{"v":2,"request":"ping"}"#[..], 2),
            (br#"{"v":0,"request":"ping"}"#, 0),
            (br#"{"v":2,"request":{"something_new":{"x":[1,2]}}}"#, 2),
        ] {
            match decode_request(body) {
                Err(WireError::UnsupportedVersion { got: g }) => assert_eq!(g, got),
                other => panic!("expected UnsupportedVersion, got {other:?}"),
            }
        }
        assert!(matches!(
            decode_response::<serde_json::Value>(br#"{"v":9,"response":"ok"}"#),
            Err(WireError::UnsupportedVersion { got: 9 })
        ));
    }

    #[test]
    fn fields_are_bounded() {
        let long = "a".repeat(MAX_FIELD + 1);
        let bad = [
            Request::Keys { user: String::new() },
            Request::Keys { user: long.clone() },
            Request::Keys { user: "a\0b".into() },
            Request::Account { user: "a".into(), service: String::new(), rhost: None, tty: None },
            Request::Account { user: "a".into(), service: "s".into(), rhost: Some(long), tty: None },
            Request::Authenticate {
                user: "a".into(),
                service: "s".into(),
                rhost: None,
                tty: None,
                password: Secret::new("x".repeat(MAX_SECRET + 1)),
            },
            Request::Admin { argv: vec!["a".into(); MAX_ADMIN_ARGS + 1], stdin: None },
            Request::Admin { argv: vec!["x".repeat(MAX_ADMIN_ARG + 1)], stdin: None },
            Request::Admin { argv: vec!["user\0".into()], stdin: None },
            Request::Admin { argv: vec![], stdin: Some(Secret::new("x".repeat(MAX_ADMIN_INPUT + 1))) },
        ];
        for req in bad {
            let body = encode_request(&req).unwrap();
            assert!(matches!(decode_request(&body), Err(WireError::Malformed(_))), "{req:?}");
        }
    }

    #[test]
    fn admin_stdin_words() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        for yes in
            ["user add bob --password-stdin", "passwd bob --stdin", "key add bob --file -", "key add bob --file=-"]
        {
            assert!(admin_reads_stdin(&w(yes)), "{yes}");
        }
        for no in ["user add bob", "key add bob --file x.pub", "key add bob --file", "user show --stdinx"] {
            assert!(!admin_reads_stdin(&w(no)), "{no}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let req = auth();
        let shown = format!("{req:?} {req:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
        let req = Request::ChangePassword {
            user: "alice".into(),
            service: "sshd".into(),
            old: Some(Secret::new("oldsecret".into())),
            new: Secret::new("newsecret".into()),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("oldsecret") && !shown.contains("newsecret"), "{shown}");
        // A malformed frame's error message does not echo the password either.
        let e = decode_request(br#"{"v":1,"request":{"authenticate":{"user":"a","service":"s","password":7}}}"#)
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn decoders_never_panic_on_mutations() {
        // A cheap in-tree stand-in for the fuzz target: every truncation and single-byte flip of
        // valid frames decodes to a value or an error.
        for req in all_requests() {
            let body = encode_request(&req).unwrap();
            for cut in 0..body.len() {
                let _ = decode_request(&body[..cut]);
            }
            for i in 0..body.len() {
                for flip in [0x01u8, 0x20, 0x80] {
                    let mut b = body.to_vec();
                    b[i] ^= flip;
                    let _ = decode_request(&b);
                    let _ = decode_response::<serde_json::Value>(&b);
                }
            }
        }
    }
}
