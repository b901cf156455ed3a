//! One handler per request kind. Each is: look up → check → act → exactly one answer, plus the
//! words for the log line (which never carry a secret).
use super::offline::{Applied, LoginEvent};
use super::throttle::Admit;
use super::{Grant, State};
use crate::store::{now, StoreError};
use crate::tasks::hook::missing_ftp_file;
use gatehouse_policy::access::{effective_protocols, login_checks, LoginRequest};
use gatehouse_policy::ftp::{FtpFiles, FtpServer};
use gatehouse_policy::model::{format_time, served_on, validate_name, Group, PasswordSource, User};
use gatehouse_policy::password::{dummy_verify, hash_password, verify_password, Verified};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::wire::{Response, SessionPolicy};
use gatehouse_policy::{apppass, invite, totp};
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
    pub(super) fn new(response: Response, reason: impl Into<String>) -> Outcome {
        Outcome { response, reason: reason.into() }
    }
    pub(super) fn denied(reason: impl Into<String>) -> Outcome {
        let reason = reason.into();
        Outcome { response: Response::Denied { reason: reason.clone() }, reason }
    }
    pub(super) fn unavailable(e: impl std::fmt::Display) -> Outcome {
        Outcome::unreachable(format!("database: {e}"))
    }
    pub(super) fn unreachable(reason: impl Into<String>) -> Outcome {
        let reason = reason.into();
        Outcome { response: Response::Unavailable { reason: reason.clone() }, reason }
    }
}

/// Loads a gatehouse user by login name (never by UUID: PAM hands over names). `None` for an
/// unknown or impossible name, and for a user this host does not serve (host scoping).
async fn lookup(st: &State, name: &str) -> Result<Option<User>, StoreError> {
    Ok(lookup_with_groups(st, name).await?.map(|(u, _)| u))
}

/// [`lookup`], with the user's groups.
async fn lookup_with_groups(st: &State, name: &str) -> Result<Option<(User, Vec<Group>)>, StoreError> {
    if validate_name("user", name).is_err() {
        return Ok(None);
    }
    let (u, groups) = match st.db.read(|s| s.served_user(name)).await {
        Ok((u, g)) if u.name == name => (u, g),
        Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(None),
        // A row this host must not serve is answered as an unknown user (fail closed), with the
        // column and the reason in the log.
        Err(StoreError::NotServed(r)) => {
            tracing::warn!(user = name, column = r.why.column, why = %r.why.why, "refused: {r}; this host serves nothing of it");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if !served_on(&u, &groups, &st.db.primary.config().fleet) {
        return Ok(None);
    }
    // The export leaves out names and ids the host's own files have, but only at the next
    // export: a local account added since then must win at once. Reading the two files is
    // cheap (tens of microseconds), with no NSS call that could block.
    if let Some(why) = crate::store::LocalFiles::load().clash(&u.name, u.uid) {
        tracing::warn!(user = name, "refused: {why}; the local account wins");
        return Ok(None);
    }
    Ok(Some((u, groups)))
}

/// A gatehouse user and their groups, or the answer to give: unknown user, or unavailable.
async fn user_and_groups(st: &State, name: &str) -> Result<(User, Vec<Group>), Outcome> {
    match lookup_with_groups(st, name).await {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err(Outcome::new(Response::UnknownUser, "no such gatehouse user on this host")),
        Err(e) => Err(Outcome::unavailable(e)),
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

/// Checks a password where the user's `password_source` says: the stored hash (on the hashing
/// threads), or an LDAP simple bind ([`super::ldap`], on the async threads, so it never holds a
/// hashing thread). `Err` is the answer when the directory cannot say (unreachable, not
/// configured): the login fails closed and no failure is counted against the user.
async fn check_password(st: &State, u: &User, pw: &Secret) -> Result<Result<Verified, String>, Outcome> {
    match u.password_source {
        PasswordSource::Local => Ok(verify(st, pw, u.password_hash.clone()).await),
        PasswordSource::Ldap => {
            let Some(dir) = &st.cfg.directory else {
                return Err(Outcome::unreachable("password_source is ldap but no [ldap] url is configured"));
            };
            match dir.check(&u.name, pw).await {
                Ok(ok) => Ok(Ok(Verified { ok, needs_rehash: false })),
                Err(why) => Err(Outcome::unreachable(format!("LDAP directory: {why}"))),
            }
        }
    }
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
    match st.db.record(LoginEvent::failure(&user.id, l)).await {
        Ok(Applied::Failure(o)) => match o.locked_until {
            Some(t) => format!("; {} failures: account locked until {}", o.failures, format_time(t)),
            None => format!("; failure {} of {}", o.failures, l.failures),
        },
        Ok(_) => String::new(),
        Err(e) => format!("; failure not recorded: {e}"),
    }
}

/// The protocol whose clients append the TOTP code to the password (they have no second prompt).
pub const FTP: &str = "ftp";

/// `Authenticate`: throttle by source, then [`authenticate_admitted`]; the throttle token is
/// given back when the secret was right ([`secret_was_right`]), so successful logins are never
/// throttled (see [`super::throttle`] for why it is taken first and refunded after).
pub async fn authenticate(
    st: &State,
    caller_uid: u32,
    user: &str,
    protocol: &str,
    rhost: Option<&str>,
    password: &Secret,
) -> Outcome {
    let source = st.source_key(rhost);
    match st.admit(&source, Instant::now()) {
        Admit::Yes => {}
        Admit::Throttled => {
            return Outcome::denied(format!("throttled: too many failed logins from {source}; try again shortly"))
        }
        Admit::Locked(d) => {
            return Outcome::denied(format!("source {source} is locked for {}s after repeated failures", d.as_secs()))
        }
    }
    let out = authenticate_admitted(st, caller_uid, user, protocol, &source, password).await;
    if secret_was_right(&out.response) {
        st.refund(&source);
    }
    out
}

/// The one decision of what gives the throttle token back: an answer that only a right secret
/// gets (a login, the TOTP prompt after a right password, a forced or invited password change).
/// Everything else keeps it: wrong secrets, unknown users, locked accounts, and answers that are
/// neither, such as an unreachable directory (those still must not pile up per source).
fn secret_was_right(r: &Response) -> bool {
    matches!(r, Response::Ok | Response::TotpRequired | Response::NewPasswordRequired)
}

/// `Authenticate` once admitted by the throttle: user lookup, lock, one verify.
///
/// - A TOTP user over FTP appends the code: the last [`totp::DIGITS`] characters are the code,
///   the rest the password, and both must be right (the code once: replay-guarded).
/// - A TOTP user over anything else gets [`Response::TotpRequired`] after the password, and a
///   grant for the same caller to send [`verify_totp`] within two minutes. Failures are cleared
///   only once the code is right too, so guessing codes behind a known password still locks.
/// - A secret that is not the password but has the shape of an invitation code is checked
///   against the user's open invitation (one more hash; plain wrong passwords cost none), and a
///   match is redeemed once and answered with [`Response::NewPasswordRequired`] (for a TOTP
///   user, [`Response::TotpRequired`] first: the code stands in for the password, never for
///   the second factor). Not over FTP, which cannot change a password (the code would be used
///   up for nothing).
async fn authenticate_admitted(
    st: &State,
    caller_uid: u32,
    user: &str,
    protocol: &str,
    source: &str,
    password: &Secret,
) -> Outcome {
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            dummy(st, password).await;
            st.ip_failure(source);
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
    if let Some((public_id, secret)) = apppass::parse(password) {
        return app_password_login(st, &u, protocol, source, &public_id, &secret, t).await;
    }
    let ftp_code = u.totp_enabled && protocol == FTP;
    let (pw, code) = if ftp_code { split_code(password) } else { (password.clone(), None) };
    let checked = match check_password(st, &u, &pw).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    match checked {
        Ok(v) if v.ok => {
            let mut note = String::new();
            if v.needs_rehash {
                note = rehash(st, &u, &pw).await;
            }
            if u.totp_enabled && !ftp_code {
                st.grant(&u.name, Grant::Totp, caller_uid);
                return Outcome::new(Response::TotpRequired, format!("password correct, TOTP code next{note}"));
            }
            if ftp_code {
                match check_code(st, &u, code.as_ref(), t).await {
                    Ok(()) => note.push_str("; TOTP code correct"),
                    Err(why) => {
                        let lock = count_failure(st, &u, source).await;
                        return Outcome::denied(format!("password correct but {why}{lock}"));
                    }
                }
            }
            success(st, &u, format!("password correct{note}")).await
        }
        outcome => {
            // Invitations set a local password: none for a directory's user.
            if protocol != FTP && u.password_source == PasswordSource::Local {
                match redeem(st, &u, password, t).await {
                    // A TOTP user's code is a first factor like a password: the TOTP code
                    // follows, and only then may a new password be set.
                    Ok(true) if u.totp_enabled => {
                        st.grant(&u.name, Grant::InvitationAfterTotp, caller_uid);
                        st.grant(&u.name, Grant::Totp, caller_uid);
                        return Outcome::new(
                            Response::TotpRequired,
                            "invitation code redeemed; the TOTP code next, then a new password",
                        );
                    }
                    Ok(true) => {
                        st.grant(&u.name, Grant::Invitation, caller_uid);
                        return Outcome::new(
                            Response::NewPasswordRequired,
                            "invitation code redeemed; a new password is required",
                        );
                    }
                    Ok(false) => {}
                    Err(e) => return Outcome::unavailable(e),
                }
            }
            let why = match outcome {
                Ok(_) => "wrong password".to_string(),
                Err(why) => why,
            };
            let lock = count_failure(st, &u, source).await;
            Outcome::denied(format!("{why}{lock}"))
        }
    }
}

/// An app password (a secret with the token's shape; see [`apppass`]): its public id selects the
/// one stored hash, so the cost is one verify as for a password (a dummy one when the id is not
/// this user's). A right secret is then held to the app password's expiry and protocols, and
/// never asks for a TOTP code: that is what app passwords are for. The log line names the
/// label, never the secret.
async fn app_password_login(
    st: &State,
    u: &User,
    protocol: &str,
    source: &str,
    public_id: &str,
    secret: &Secret,
    t: i64,
) -> Outcome {
    let stored = match st.db.read(|s| s.app_password_for(&u.id, &u.name, public_id)).await {
        Ok(s) => s,
        Err(e) => return Outcome::unavailable(e),
    };
    let Some(ap) = stored else {
        dummy(st, secret).await;
        let lock = count_failure(st, u, source).await;
        return Outcome::denied(format!("no app password ghap_{public_id} (revoked, or never issued){lock}"));
    };
    let label = &ap.info.label;
    match verify(st, secret, Some(ap.secret_hash.clone())).await {
        Ok(v) if v.ok => {}
        outcome => {
            let why = outcome.err().unwrap_or_else(|| "wrong secret".into());
            let lock = count_failure(st, u, source).await;
            return Outcome::denied(format!("app password {label:?}: {why}{lock}"));
        }
    }
    if let Some(e) = ap.info.expires_at.filter(|&e| e <= t) {
        return Outcome::denied(format!("app password {label:?} expired at {}", format_time(e)));
    }
    if !ap.info.protocols.is_empty() && !ap.info.protocols.iter().any(|p| p == protocol) {
        let allowed = ap.info.protocols.join(",");
        return Outcome::denied(format!("app password {label:?} is limited to {allowed}, not {protocol}"));
    }
    // Last use is informational: not recorded while the database is unreachable.
    if st.db.link.online() {
        if let Err(e) = st.db.primary.app_password_used(&ap.info.id, t).await {
            tracing::warn!(user = %u.name, error = %e, "cannot record the app password's use");
        }
    }
    success(st, u, format!("app password {label:?} (ghap_{public_id}) correct; no TOTP code asked")).await
}

/// The end of a successful authentication: failures forgotten, the forced change reported.
async fn success(st: &State, u: &User, reason: String) -> Outcome {
    if let Err(e) = st.db.record(LoginEvent::Cleared { user_id: u.id.clone() }).await {
        tracing::warn!(user = %u.name, error = %e, "cannot clear failed-login count");
    }
    if u.must_change_password {
        Outcome::new(Response::NewPasswordRequired, format!("{reason}, must be changed"))
    } else {
        Outcome::new(Response::Ok, reason)
    }
}

/// Splits an FTP password into the password and the appended code (the last
/// [`totp::DIGITS`] characters); a string too short to hold both is all password.
fn split_code(pw: &Secret) -> (Secret, Option<Secret>) {
    let text = pw.expose();
    let n = text.chars().count();
    if n <= totp::DIGITS {
        return (pw.clone(), None);
    }
    let cut = text.char_indices().nth(n - totp::DIGITS).map_or(text.len(), |(i, _)| i);
    (Secret::new(text[..cut].to_string()), Some(Secret::new(text[cut..].to_string())))
}

/// Checks a TOTP code for a user at time `t`, replay-guarded. `Err` says why it failed.
async fn check_code(st: &State, u: &User, code: Option<&Secret>, t: i64) -> Result<(), String> {
    let Some(code) = code else {
        return Err("no TOTP code was appended".into());
    };
    let (secret, _) = match st.db.read(|s| s.totp_secret_of(&u.id)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err("TOTP was disabled meanwhile".into()),
        Err(e) => return Err(format!("database: {e}")),
    };
    let step = match totp::verify(secret.expose(), code.expose(), t) {
        Ok(Some(step)) => step,
        Ok(None) => return Err("wrong TOTP code".into()),
        Err(e) => return Err(format!("the stored TOTP secret is unusable: {e}")),
    };
    match st.db.record(LoginEvent::TotpStep { user_id: u.id.clone(), step }).await {
        Ok(Applied::Step(false)) => Err("TOTP code already used".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("database: {e}")),
    }
}

/// Checks a secret against the user's open invitation and marks it used. Costs a hash only if
/// the secret has the shape of a code and an invitation is open.
async fn redeem(st: &State, u: &User, typed: &Secret, t: i64) -> Result<bool, StoreError> {
    let Some(code) = invite::normalize(typed) else {
        return Ok(false);
    };
    // Redeeming writes to the database; while it is unreachable a code is just a wrong password.
    if !st.db.link.online() {
        return Ok(false);
    }
    for inv in st.db.primary.open_invitations(&u.id, t).await? {
        let (c, h) = (code.clone(), inv.code_hash.clone());
        let ok = st.blocking(move || verify_password(&c, &h).map(|v| v.ok).unwrap_or(false)).await.unwrap_or(false);
        if ok {
            return st.db.primary.mark_invitation_used(&inv.id, t).await;
        }
    }
    Ok(false)
}

/// `VerifyTotp`: the second step over SSH. Only after [`authenticate`] answered
/// `TotpRequired` to the same caller for the same user within two minutes (the grant is used
/// up either way); a wrong or reused code counts as a failed login.
pub async fn verify_totp(st: &State, caller_uid: u32, user: &str, rhost: Option<&str>, code: &Secret) -> Outcome {
    // No throttle token of its own: the grant comes from an `Authenticate` that was admitted.
    let source = st.source_key(rhost);
    if !st.take_grant(user, Grant::Totp, caller_uid) {
        return Outcome::denied("no password was verified for this user by this caller in the last two minutes");
    }
    let u = match lookup(st, user).await {
        Ok(Some(u)) => u,
        Ok(None) => return Outcome::new(Response::UnknownUser, "no such gatehouse user"),
        Err(e) => return Outcome::unavailable(e),
    };
    let t = now();
    if let Some(until) = u.locked_until.filter(|&x| x > t) {
        return Outcome::denied(format!("account locked until {}", format_time(until)));
    }
    match check_code(st, &u, Some(code), t).await {
        Ok(()) if st.take_grant(&u.name, Grant::InvitationAfterTotp, caller_uid) => {
            st.grant(&u.name, Grant::Invitation, caller_uid);
            Outcome::new(Response::NewPasswordRequired, "invitation and TOTP code correct; a new password is required")
        }
        Ok(()) => success(st, &u, "password and TOTP code correct".into()).await,
        Err(why) => {
            let lock = count_failure(st, &u, &source).await;
            Outcome::denied(format!("{why}{lock}"))
        }
    }
}

/// Stores argon2id of a password that just verified against an imported hash. Returns a note
/// for the log line.
async fn rehash(st: &State, u: &User, password: &Secret) -> String {
    if !st.db.link.online() {
        return "; re-hash deferred: the database is unreachable".to_string();
    }
    let pw = password.clone();
    let hash = match st.blocking(move || hash_password(&pw)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return format!("; re-hash failed: {e}"),
        Err(e) => return format!("; re-hash failed: {e}"),
    };
    match st.db.primary.set_password(ACTOR, &u.id, Some(hash), u.must_change_password).await {
        Ok(()) => {
            st.changed();
            "; re-hashed to argon2id".to_string()
        }
        Err(e) => format!("; re-hash not stored: {e}"),
    }
}

/// `Account`: every login check, then what the FTP server behind `service` can enforce (a user
/// vsftpd or ProFTPD cannot serve as the policy says is refused there, see
/// [`FtpServer::limits`]) and whether the user's file for it is there yet (refused until it
/// is, see [`missing_ftp_file`]), then the forced password change (refused outright over FTP, which
/// cannot change a password, with a reason that says how to change it).
pub async fn account(st: &State, user: &str, service: &str, protocol: &str, rhost: Option<&str>) -> Outcome {
    let (u, groups) = match user_and_groups(st, user).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = now();
    // No PAM_RHOST at all is treated like a host name: it fails closed for IP-restricted users.
    let req = LoginRequest { now: t, protocol: Some(protocol), rhost: Some(rhost.unwrap_or("")) };
    let checks = login_checks(&u, &groups, &req);
    if let Some(c) = checks.iter().find(|c| !c.allowed) {
        return Outcome::denied(format!("{}: {}", c.what, c.reason));
    }
    if let Some(server) = FtpServer::for_service(service) {
        if let Err(why) = server.limits(&u, &groups) {
            return Outcome::denied(why);
        }
        // Fail closed: without its per-user file the server would not apply this user's root
        // and mode (vsftpd would chroot them to the shared home).
        let (cfg, name) = (st.db.primary.config().clone(), u.name.clone());
        // A few `stat` calls: not on the hashing pool, where they would wait behind hashes.
        match tokio::task::spawn_blocking(move || missing_ftp_file(&cfg, server, &name)).await {
            Ok(None) => {}
            Ok(Some((state, why))) => {
                if state == FtpFiles::Kept {
                    // The files are kept but this one is not there (removed by hand, or the
                    // pass that writes it is still to come): an export runs the hook's pass,
                    // which writes it, so the next login passes.
                    st.changed();
                }
                return Outcome::denied(why);
            }
            Err(e) => return Outcome::unreachable(format!("cannot look for the {} file: {e}", server.name())),
        }
    }
    if u.must_change_password {
        // FTP cannot change a password (no PAM conversation after the login), so say how.
        if protocol == "ftp" {
            return Outcome::denied(format!(
                "password: must be changed before an FTP login; change it over SSH (sftp with \
                 keyboard-interactive), or an admin runs `gatehouse passwd {}`",
                u.name
            ));
        }
        return Outcome::new(Response::NewPasswordRequired, "all checks pass; a new password is required first");
    }
    let ev = LoginEvent::Success { user_id: u.id.clone(), at: t, ip: rhost.map(str::to_string) };
    if let Err(e) = st.db.record(ev).await {
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
    if u.password_source == PasswordSource::Ldap {
        return Outcome::denied("the password of an LDAP-sourced user is changed in the directory");
    }
    // A caller that just redeemed this user's invitation sets the new password without the
    // current one, whatever PAM kept as the old token (the code, or an old password). The grant
    // is used up only when a password is set, so a refused (too short) one can be retried.
    let invited = st.has_grant(&u.name, Grant::Invitation, caller_uid);
    match old {
        _ if invited => {}
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
    match st.db.primary.set_password(ACTOR, &u.id, Some(hash), false).await {
        Ok(()) => {
            if invited {
                st.take_grant(&u.name, Grant::Invitation, caller_uid);
            }
            st.changed();
            Outcome::new(Response::Ok, "password changed")
        }
        Err(e) => Outcome::unavailable(e),
    }
}

/// `Session`: the policy gatehouse-sftp serves a user with, asked for by the user's own process
/// (found by `caller_uid`) or by root naming the user. Answered again on every refresh, so a rule
/// change reaches running sessions and a deactivated or expired user's session ends.
pub async fn session(st: &State, caller_uid: u32, named: Option<&str>, rhost: Option<&str>) -> Outcome {
    let name = match named {
        Some(n) if caller_uid == 0 => Some(n.to_string()),
        _ => match st.db.read(|s| s.user_name_by_uid(caller_uid)).await {
            Ok(n) => n,
            Err(e) => return Outcome::unavailable(e),
        },
    };
    let Some(name) = name else {
        return Outcome::new(Response::UnknownUser, format!("uid {caller_uid} is not a gatehouse user"));
    };
    let (u, groups) = match user_and_groups(st, &name).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let policy = session_policy(&u, &groups, rhost, now());
    let reason = match &policy.refused {
        Some(r) => r.clone(),
        None => format!("session policy: {} rule(s), {} group(s)", u.rules.len(), groups.len()),
    };
    Outcome::new(Response::Session(Box::new(policy)), reason)
}

/// A user's session policy at time `now`: the account checks of a login over `ssh` (active,
/// expiry, protocol, and the address when one is given) decide `refused`; a lock after failed
/// logins does not end a session that is already open.
pub fn session_policy(u: &User, groups: &[Group], rhost: Option<&str>, now: i64) -> SessionPolicy {
    let req = LoginRequest { now, protocol: Some("ssh"), rhost };
    let refused = login_checks(u, groups, &req).into_iter().find(|c| !c.allowed && c.what != "lock").map(|c| c.reason);
    SessionPolicy {
        user: u.name.clone(),
        uid: u.uid,
        root: u.root.clone(),
        mode: u.mode,
        delete_allowed: u.delete_allowed,
        max_file_size: u.max_file_size,
        rules: u.rules.clone(),
        groups: groups.iter().map(|g| (g.name.clone(), g.rules.clone())).collect(),
        refused,
    }
}

/// `Keys`: the lines sshd reads as `authorized_keys`.
pub async fn keys(st: &State, user: &str) -> Outcome {
    let (u, groups) = match user_and_groups(st, user).await {
        Ok(x) => x,
        Err(o) => return o,
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
