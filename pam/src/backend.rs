//! The real [`Backend`]: the snapshot mapped by the NSS code, and gatehoused over its socket.
use crate::flow::{Answer, Args, Backend};
use gatehouse_modcore::client;
use gatehouse_policy::config::SOCKET_PATH;
use gatehouse_policy::secret::Secret;
use gatehouse_policy::snapshot::Snapshot;
use gatehouse_policy::wire::{decode_response, encode_request, Request, Response, MAX_FRAME};

/// The snapshot and the daemon at the socket the arguments name (default: the fixed path).
pub struct Real {
    socket: String,
}

impl Real {
    /// From the module arguments.
    pub fn new(args: &Args) -> Real {
        Real { socket: args.socket.clone().unwrap_or_else(|| SOCKET_PATH.to_string()) }
    }

    fn call(&self, req: &Request) -> Result<Answer, String> {
        let body = encode_request(req).map_err(|e| format!("encode: {e}"))?;
        let reply = client::exchange(&self.socket, &body, MAX_FRAME).map_err(|e| e.0)?;
        match decode_response(&reply).map_err(|e| format!("bad response: {e}"))? {
            Response::Ok => Ok(Answer::Ok),
            Response::Denied { reason } => Ok(Answer::Denied(reason)),
            Response::UnknownUser => Ok(Answer::UnknownUser),
            Response::NewPasswordRequired => Ok(Answer::NewPasswordRequired),
            Response::TotpRequired => Ok(Answer::TotpRequired),
            Response::Unavailable { reason } => Err(format!("daemon unavailable: {reason}")),
            Response::BadRequest { reason } => Err(format!("daemon refused the request: {reason}")),
            Response::Keys { .. } | Response::Session(_) | Response::Output { .. } => Err("unexpected response".into()),
        }
    }
}

impl Backend for Real {
    fn is_ours(&self, name: &str) -> Result<bool, String> {
        gatehouse_modcore::snapmap::with_snapshot(|bytes| {
            if bytes.is_empty() {
                return Ok(false);
            }
            let snap = Snapshot::parse(bytes).map_err(|e| e.to_string())?;
            snap.user_by_name(name.as_bytes()).map(|u| u.is_some()).map_err(|e| e.to_string())
        })
    }

    fn host_knows(&self, name: &str) -> bool {
        // A failing source is not "absent": the name may exist there, so it is answered at once
        // like a known name (its own module decides; the outcome is USER_UNKNOWN either way).
        !matches!(client::passwd_uid(name), client::Lookup::Absent)
    }

    fn authenticate(
        &self,
        user: &str,
        service: &str,
        rhost: Option<&str>,
        tty: Option<&str>,
        pw: &Secret,
    ) -> Result<Answer, String> {
        self.call(&Request::Authenticate {
            user: user.into(),
            service: service.into(),
            rhost: rhost.map(Into::into),
            tty: tty.map(Into::into),
            password: pw.clone(),
        })
    }

    fn verify_totp(&self, user: &str, service: &str, rhost: Option<&str>, code: &Secret) -> Result<Answer, String> {
        self.call(&Request::VerifyTotp {
            user: user.into(),
            service: service.into(),
            rhost: rhost.map(Into::into),
            code: code.clone(),
        })
    }

    fn account(&self, user: &str, service: &str, rhost: Option<&str>, tty: Option<&str>) -> Result<Answer, String> {
        self.call(&Request::Account {
            user: user.into(),
            service: service.into(),
            rhost: rhost.map(Into::into),
            tty: tty.map(Into::into),
        })
    }

    fn change_password(&self, user: &str, service: &str, old: Option<&Secret>, new: &Secret) -> Result<Answer, String> {
        self.call(&Request::ChangePassword {
            user: user.into(),
            service: service.into(),
            old: old.cloned(),
            new: new.clone(),
        })
    }
}
