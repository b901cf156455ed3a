//! One handler per request kind. Each is: look up → check → act → exactly one answer, plus the
//! words for the log line (which never carry a secret).
use super::throttle::{source_key, Admit};
use super::State;
use crate::store::{now, StoreError};
use gatehouse_policy::access::{effective_protocols, login_checks, LoginRequest};
use gatehouse_policy::model::{format_time, validate_name, Group, User};
use gatehouse_policy::password::{dummy_verify, hash_password, verify_password, Verified};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::wire::Response;
use std::time::Instant;

/// The actor named in the audit log for changes the daemon makes.
pub const ACTOR: &str = "gatehoused";

/// An answer and the reason to log with it.
pub struct Outcome {
    /// What the client gets.
    pub response: Response,
    /// Why, for the log line.
    pub reason: String,
}

impl Outcome {
    fn new(response: Response, reason: impl Into<String>) -> Outcome {
        Outcome { response, reason: reason.into() }
    }
    fn denied(reason: impl Into<String>) -> Outcome {
        let reason = reason.into();
        Outcome { response: Response::Denied { reason: reason.clone() }, reason }
    }
    fn unavailable(e: impl std::fmt::Display) -> Outcome {
        let reason = format!("database: {e}");
        Outcome { response: Response::Unavailable { reason: reason.clone() }, reason }
    }
}

/// Loads a gatehouse user by login name (never by UUID: PAM hands over names). `None` for an
/// unknown or impossible name.
async fn lookup(st: &State, name: &str) -> Result<Option<User>, StoreError> {
    if validate_name("user", name).is_err() {
        return Ok(None);
    }
    match st.store.get_user(name).await {
        Ok(u) if u.name == name => Ok(Some(u)),
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Verifies a password under the hashing semaphore, off the async threads. An unusable stored
/// hash (or none) costs a dummy verify and counts as a wrong password.
async fn verify(st: &State, pw: &Secret, stored: Option<String>) -> Result<Verified, String> {
    let pw = pw.clone();
    st.blocking(move || match stored.as_deref().map(|h| verify_password(&pw, h)) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => {
            dummy_verify(&pw);
            Err(format!("the stored password hash is unusable: {e}"))
        }
        None => {
            dummy_verify(&pw);
            Err("no password is set".to_string())
        }
    })
    .await?
}

/// Spends the time of one verify (unknown users cost what wrong passwords cost).
async fn dummy(st: &State, pw: &Secret) {
    let pw = pw.clone();
    let _ = st.blocking(move || dummy_verify(&pw)).await;
}

/// Counts a failed password against the user (database) and the source (memory).
async fn count_failure(st: &State, user: &User, source: &str) -> String {
    st.ip_failure(source);
    let l = &st.cfg.lockout;
    match st.store.record_failure(&user.id, now(), l.window, l.failures, l.lock_for).await {
        Ok(o) => match o.locked_until {
            Some(t) => format!("; {} failures: account locked until {}", o.failures, format_time(t)),
            None => format!("; failure {} of {}", o.failures, l.failures),
        },
        Err(e) => format!("; failure not recorded: {e}"),
    }
}

/// `Authenticate`: throttle by source, then user lookup, lock, one verify.
pub async fn authenticate(st: &State, user: &str, rhost: Option<&str>, password: &Secret) -> Outcome {
    let source = source_key(rhost);
    match st.admit(&source, Instant::now()) {
        Admit::Yes => {}
        Admit::Throttled => return Outcome::denied("throttled"),
        Admit::Locked(d) => {
            return Outcome::denied(format!("source {source} is locked for {}s after repeated failures", d.as_secs()))
        }
    }
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            dummy(st, password).await;
            st.ip_failure(&source);
            return Outcome::new(Response::UnknownUser, "no such gatehouse user");
        }
        Err(e) => return Outcome::unavailable(e),
    };
    let t = now();
    if let Some(until) = u.locked_until.filter(|&x| x > t) {
        return Outcome::denied(format!(
            "account locked until {} after {} failed logins (gatehouse unlock)",
            format_time(until),
            u.failed_logins
        ));
    }
    match verify(st, password, u.password_hash.clone()).await {
        Ok(v) if v.ok => {
            if let Err(e) = st.store.clear_failures(&u.id).await {
                tracing::warn!(user = %u.name, error = %e, "cannot clear failed-login count");
            }
            let mut note = String::new();
            if v.needs_rehash {
                note = rehash(st, &u, password).await;
            }
            if u.must_change_password {
                Outcome::new(Response::NewPasswordRequired, format!("password correct, must be changed{note}"))
            } else {
                Outcome::new(Response::Ok, format!("password correct{note}"))
            }
        }
        Ok(_) => {
            let lock = count_failure(st, &u, &source).await;
            Outcome::denied(format!("wrong password{lock}"))
        }
        Err(why) => {
            let lock = count_failure(st, &u, &source).await;
            Outcome::denied(format!("{why}{lock}"))
        }
    }
}

/// Stores argon2id of a password that just verified against an imported hash. Returns a note
/// for the log line.
async fn rehash(st: &State, u: &User, password: &Secret) -> String {
    let pw = password.clone();
    let hash = match st.blocking(move || hash_password(&pw)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return format!("; re-hash failed: {e}"),
        Err(e) => return format!("; re-hash failed: {e}"),
    };
    match st.store.set_password(ACTOR, &u.id, Some(hash), u.must_change_password).await {
        Ok(()) => {
            st.changed();
            "; re-hashed to argon2id".to_string()
        }
        Err(e) => format!("; re-hash not stored: {e}"),
    }
}

/// `Account`: every login check, then the forced password change.
pub async fn account(st: &State, user: &str, protocol: &str, rhost: Option<&str>) -> Outcome {
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => return Outcome::new(Response::UnknownUser, "no such gatehouse user"),
        Err(e) => return Outcome::unavailable(e),
    };
    let groups = match st.store.groups_of(&u).await {
        Ok(g) => g,
        Err(e) => return Outcome::unavailable(e),
    };
    let t = now();
    // No PAM_RHOST at all is treated like a host name: it fails closed for IP-restricted users.
    let req = LoginRequest { now: t, protocol: Some(protocol), rhost: Some(rhost.unwrap_or("")) };
    let checks = login_checks(&u, &groups, &req);
    if let Some(c) = checks.iter().find(|c| !c.allowed) {
        return Outcome::denied(format!("{}: {}", c.what, c.reason));
    }
    if u.must_change_password {
        return Outcome::new(Response::NewPasswordRequired, "all checks pass; a new password is required first");
    }
    if let Err(e) = st.store.record_success(&u.id, t, rhost).await {
        tracing::warn!(user = %u.name, error = %e, "cannot record the login");
    }
    Outcome::new(Response::Ok, "all checks pass")
}

/// `ChangePassword`: the current password (unless root asks), the policy, then the new hash.
pub async fn change_password(
    st: &State,
    caller_uid: u32,
    user: &str,
    rhost_source: &str,
    old: Option<&Secret>,
    new: &Secret,
) -> Outcome {
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => return Outcome::new(Response::UnknownUser, "no such gatehouse user"),
        Err(e) => return Outcome::unavailable(e),
    };
    match old {
        Some(old) => {
            if let Some(until) = u.locked_until.filter(|&x| x > now()) {
                return Outcome::denied(format!("account locked until {}", format_time(until)));
            }
            match verify(st, old, u.password_hash.clone()).await {
                Ok(v) if v.ok => {}
                Ok(_) => {
                    let lock = count_failure(st, &u, rhost_source).await;
                    return Outcome::denied(format!("the current password is wrong{lock}"));
                }
                // No password set yet (an invitation) or an unusable hash: only root may set one.
                Err(why) if caller_uid != 0 => return Outcome::denied(why),
                Err(_) => {}
            }
        }
        None if caller_uid != 0 => return Outcome::denied("the current password is required"),
        None => {}
    }
    if let Err(e) = st.cfg.password_policy.check(&u.name, new) {
        return Outcome::denied(e.to_string());
    }
    let pw = new.clone();
    let hash = match st.blocking(move || hash_password(&pw)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return Outcome::new(Response::Unavailable { reason: e.to_string() }, e.to_string()),
        Err(e) => return Outcome::new(Response::Unavailable { reason: e.clone() }, e),
    };
    match st.store.set_password(ACTOR, &u.id, Some(hash), false).await {
        Ok(()) => {
            st.changed();
            Outcome::new(Response::Ok, "password changed")
        }
        Err(e) => Outcome::unavailable(e),
    }
}

/// `Keys`: the lines sshd reads as `authorized_keys`.
pub async fn keys(st: &State, user: &str) -> Outcome {
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => return Outcome::new(Response::UnknownUser, "no such gatehouse user"),
        Err(e) => return Outcome::unavailable(e),
    };
    let groups = match st.store.groups_of(&u).await {
        Ok(g) => g,
        Err(e) => return Outcome::unavailable(e),
    };
    let (lines, why) = authorized_keys(&u, &groups, now());
    let reason = match why {
        Some(w) => format!("no keys: {w}"),
        None => format!("{} key(s)", lines.len()),
    };
    Outcome::new(Response::Keys { lines }, reason)
}

/// The `authorized_keys` lines for a user at time `now`, or none and the reason: inactive,
/// expired, `ssh` not among the effective protocols, or a password change pending.
///
/// Each line is `restrict[,from="<allowed cidrs>"][,expiry-time="YYYYMMDDHHMM"] <alg> <base64>
/// [<comment>]`. `from` lists the effective allow-list (the union of the user's and their
/// groups' non-empty lists; deny lists are enforced by the PAM account check, which also runs for
/// key logins). `expiry-time` is the account expiry in UTC, rounded down to the minute; sshd reads
/// it in the host's time zone, so on a host not set to UTC sshd's own cut-off may be off by the
/// offset, and the exact cut-off is the account check's.
pub fn authorized_keys(user: &User, groups: &[Group], now: i64) -> (Vec<String>, Option<&'static str>) {
    if !user.active {
        return (Vec::new(), Some("account is inactive"));
    }
    if user.expires_at.is_some_and(|t| t <= now) {
        return (Vec::new(), Some("account has expired"));
    }
    if !effective_protocols(user, groups).iter().any(|p| p == "ssh") {
        return (Vec::new(), Some("ssh is not among the user's protocols"));
    }
    if user.must_change_password {
        return (Vec::new(), Some("a new password is required first (keyboard-interactive only)"));
    }
    let mut allow: Vec<String> = Vec::new();
    for net in user.allowed_ips.iter().chain(groups.iter().flat_map(|g| g.allowed_ips.iter())) {
        let s = net.to_string();
        if !allow.contains(&s) {
            allow.push(s);
        }
    }
    let mut opts = String::from("restrict");
    if !allow.is_empty() {
        opts.push_str(&format!(",from=\"{}\"", allow.join(",")));
    }
    if let Some(t) = user.expires_at {
        // format_time gives YYYY-MM-DDTHH:MM:SSZ; sshd wants YYYYMMDDHHMM.
        let digits: String = format_time(t).chars().filter(char::is_ascii_digit).take(12).collect();
        opts.push_str(&format!(",expiry-time=\"{digits}\""));
    }
    let lines = user
        .keys
        .iter()
        .map(|k| {
            let comment = k.comment.trim();
            if comment.is_empty() {
                format!("{opts} {}", k.openssh())
            } else {
                format!("{opts} {} {comment}", k.openssh())
            }
        })
        .collect();
    (lines, None)
}
