//! The gatehouse-tasks socket protocol (`/run/gatehouse/tasks.socket`): its own small request
//! set, separate from the daemon's, in the same frames (4-byte big-endian length + JSON, at most
//! [`MAX_FRAME`], via [`read_frame`] and [`write_frame`]) and the same envelope:
//! `{"v":1,"request":{"ensure_root":{"root":"/srv/gatehouse/alice","uid":1900000002,"gid":1900000002}}}`
//! and `{"v":1,"response":"ok"}`. One request per connection, one answer.
//!
//! Who may ask: the helper checks `SO_PEERCRED` on every connection with [`authorised`]: root,
//! or the `gatehouse` system user gatehoused runs as. Nobody else, whatever the socket's mode.
use super::{Created, Removed, TaskError};
use gatehouse_policy::config::Config;
use gatehouse_policy::proftpd::ProftpdUser;
use gatehouse_wire::{read_frame, write_frame, WireError, MAX_FRAME, VERSION};
use serde::{Deserialize, Serialize};
use std::os::unix::net::UnixStream;

/// Most sharers a [`Request::RemoveRoot`] may list (the frame size bounds it anyway).
pub const MAX_SHARERS: usize = 1000;

/// A request to gatehouse-tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Create a user's root if it does not exist (see [`super::ensure_root`]).
    EnsureRoot {
        /// The root, canonical and under an allowed prefix.
        root: String,
        /// Owner to give a root this request creates.
        uid: u32,
        /// Group to give a root this request creates.
        gid: u32,
    },
    /// Remove a root and everything in it (see [`super::remove_root`]).
    RemoveRoot {
        /// The root.
        root: String,
        /// Other users whose root is, lies inside or contains this one; non-empty is refused.
        #[serde(default)]
        sharers: Vec<String>,
        /// The deleted user's uid: the root must be a directory this uid owns (see
        /// [`super::check_remove`]).
        owner: u32,
    },
    /// Write a user's vsftpd file (see [`super::vsftpd::write_user`]).
    VsftpdWrite {
        /// The user's login name (the file's name).
        name: String,
        /// `local_root`: the user's root.
        root: String,
        /// `write_enable`.
        write: bool,
    },
    /// Remove a user's vsftpd file (see [`super::vsftpd::remove_user`]).
    VsftpdRemove {
        /// The user's login name.
        name: String,
    },
    /// Write a user's ProFTPD file (see [`super::proftpd::write_user`]); the helper renders it.
    ProftpdWrite {
        /// The user's root and blocks.
        user: ProftpdUser,
    },
    /// Remove a user's ProFTPD file (see [`super::proftpd::remove_user`]).
    ProftpdRemove {
        /// The user's login name.
        name: String,
    },
    /// Make ProFTPD re-read its config (see [`super::proftpd::reload`]).
    ProftpdReload,
}

impl Request {
    /// The operation's name and the path or name it is about, for log lines.
    pub fn describe(&self) -> (&'static str, &str) {
        match self {
            Request::EnsureRoot { root, .. } => ("ensure_root", root),
            Request::RemoveRoot { root, .. } => ("remove_root", root),
            Request::VsftpdWrite { name, .. } => ("vsftpd_write", name),
            Request::VsftpdRemove { name } => ("vsftpd_remove", name),
            Request::ProftpdWrite { user } => ("proftpd_write", &user.name),
            Request::ProftpdRemove { name } => ("proftpd_remove", name),
            Request::ProftpdReload => ("proftpd_reload", "proftpd"),
        }
    }
}

/// The helper's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Done: the root was created, or removed; the FTP file was written, or removed; ProFTPD
    /// was signalled.
    Ok,
    /// `ensure_root`: the root already existed and was left as it was; `vsftpd_write`: the
    /// file already said exactly that.
    Existed,
    /// `remove_root`, `vsftpd_remove`, `proftpd_remove`: there was nothing to remove;
    /// `proftpd_reload`: ProFTPD is not running.
    Absent,
    /// Not done: the request breaks a rule or the caller may not ask. Nothing was changed.
    Refused {
        /// Which rule, in words.
        reason: String,
    },
    /// A system call failed part way.
    Failed {
        /// The operation, path and error.
        reason: String,
    },
}

#[derive(Serialize)]
struct Out<'a, T> {
    v: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a T>,
}

#[derive(Deserialize)]
struct Version {
    v: u64,
}

#[derive(Deserialize)]
struct RequestIn {
    request: Request,
}

#[derive(Deserialize)]
struct ResponseIn {
    response: Response,
}

fn malformed(e: impl std::fmt::Display) -> WireError {
    WireError::Malformed(e.to_string())
}

fn check_version(body: &[u8]) -> Result<(), WireError> {
    let v: Version = serde_json::from_slice(body).map_err(malformed)?;
    if v.v == u64::from(VERSION) {
        Ok(())
    } else {
        Err(WireError::UnsupportedVersion { got: v.v })
    }
}

/// Decodes and bounds a request frame body.
pub fn decode_request(body: &[u8]) -> Result<Request, WireError> {
    check_version(body)?;
    let r: RequestIn = serde_json::from_slice(body).map_err(malformed)?;
    if let Request::RemoveRoot { sharers, .. } = &r.request {
        if sharers.len() > MAX_SHARERS {
            return Err(WireError::Malformed(format!("sharers: more than {MAX_SHARERS}")));
        }
    }
    Ok(r.request)
}

/// Decodes a response frame body.
pub fn decode_response(body: &[u8]) -> Result<Response, WireError> {
    check_version(body)?;
    let r: ResponseIn = serde_json::from_slice(body).map_err(malformed)?;
    Ok(r.response)
}

/// Encodes a request frame body.
pub fn encode_request(req: &Request) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(&Out { v: VERSION, request: Some(req), response: None }).map_err(malformed)
}

/// Encodes a response frame body.
pub fn encode_response(resp: &Response) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(&Out { v: VERSION, request: None, response: Some(resp) }).map_err(malformed)
}

/// May a caller with uid `peer` send requests? Root always; otherwise only the uid of the
/// `gatehouse` system user (`None` when that user does not exist: then root alone).
pub fn authorised(peer: u32, gatehouse_uid: Option<u32>) -> bool {
    peer == 0 || gatehouse_uid == Some(peer)
}

/// Carries out one request.
pub fn handle(cfg: &Config, req: &Request) -> Response {
    let created = |c: Created| match c {
        Created::Created => Response::Ok,
        Created::Existed => Response::Existed,
    };
    let removed = |r: Removed| match r {
        Removed::Removed => Response::Ok,
        Removed::Absent => Response::Absent,
    };
    let result = match req {
        Request::EnsureRoot { root, uid, gid } => super::ensure_root(cfg, root, *uid, *gid).map(created),
        Request::RemoveRoot { root, sharers, owner } => super::remove_root(cfg, root, sharers, *owner).map(removed),
        Request::VsftpdWrite { name, root, write } => super::vsftpd::write_user(cfg, name, root, *write).map(created),
        Request::VsftpdRemove { name } => super::vsftpd::remove_user(cfg, name).map(removed),
        Request::ProftpdWrite { user } => super::proftpd::write_user(cfg, user).map(created),
        Request::ProftpdRemove { name } => super::proftpd::remove_user(cfg, name).map(removed),
        Request::ProftpdReload => super::proftpd::reload(cfg).map(removed),
    };
    match result {
        Ok(r) => r,
        Err(TaskError::Refused(reason)) => Response::Refused { reason },
        Err(e @ TaskError::Io { .. }) => Response::Failed { reason: e.to_string() },
    }
}

/// Serves one connection (blocking): reads one request, answers it, returns the request (for
/// the log line) and the answer. `peer` is the caller's uid from `SO_PEERCRED`.
pub fn serve_one(
    cfg: &Config,
    stream: &mut UnixStream,
    peer: u32,
    gatehouse_uid: Option<u32>,
) -> Result<(Option<Request>, Response), WireError> {
    let body = read_frame(stream, MAX_FRAME)?;
    let (req, resp) = if !authorised(peer, gatehouse_uid) {
        (None, Response::Refused { reason: format!("uid {peer} may not use gatehouse-tasks") })
    } else {
        match decode_request(&body) {
            Ok(req) => {
                let resp = handle(cfg, &req);
                (Some(req), resp)
            }
            Err(e) => (None, Response::Refused { reason: e.to_string() }),
        }
    };
    write_frame(stream, &encode_response(&resp)?, MAX_FRAME)?;
    Ok((req, resp))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_checks_the_version() {
        let req = Request::EnsureRoot { root: "/srv/g/a".into(), uid: 7, gid: 8 };
        let body = encode_request(&req).unwrap();
        assert_eq!(decode_request(&body).unwrap(), req);
        let resp = Response::Refused { reason: "no".into() };
        assert_eq!(decode_response(&encode_response(&resp).unwrap()).unwrap(), resp);
        assert_eq!(encode_response(&Response::Ok).unwrap(), br#"{"v":1,"response":"ok"}"#);
        assert!(matches!(
            decode_request(br#"{"v":2,"request":{"remove_root":{"root":"/a"}}}"#),
            Err(WireError::UnsupportedVersion { got: 2 })
        ));
        // A removal must name the owner the root must belong to; without it, nothing is removed.
        assert!(decode_request(br#"{"v":1,"request":{"remove_root":{"root":"/a"}}}"#).is_err());
        assert!(decode_request(br#"{"v":1,"request":{"remove_root":{"root":"/a","owner":5000}}}"#).is_ok());
        assert!(decode_request(b"{").is_err());
        let req = Request::VsftpdWrite { name: "alice".into(), root: "/srv/g/a".into(), write: false };
        assert_eq!(
            String::from_utf8(encode_request(&req).unwrap()).unwrap(),
            r#"{"v":1,"request":{"vsftpd_write":{"name":"alice","root":"/srv/g/a","write":false}}}"#
        );
        assert_eq!(req.describe(), ("vsftpd_write", "alice"));
    }

    #[test]
    fn only_root_and_gatehouse_may_ask() {
        assert!(authorised(0, None));
        assert!(authorised(0, Some(998)));
        assert!(authorised(998, Some(998)));
        assert!(!authorised(1000, Some(998)));
        assert!(!authorised(998, None));
    }
}
