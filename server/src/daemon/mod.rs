//! gatehoused: answers the PAM module and gatehouse-keys over a Unix socket.
//!
//! Each connection gets a slot by its `SO_PEERCRED` uid ([`conns`]: a share reserved for root
//! and the daemon's own callers, a small cap per unprivileged uid), or is closed at once. One
//! task per connection reads frames in a loop ([`gatehouse_policy::wire`]: length checked
//! before allocating, each whole frame within the idle timeout), checks the caller's
//! `SO_PEERCRED` uid for each request ([`authz::authorize`]), and answers exactly once per
//! request. Password hashing runs on a fixed set of hashing threads ([`hashpool`]), FIFO, one per
//! CPU, so memory stays bounded (argon2id takes 19 MiB per hash) and a burst of logins queues
//! instead of thrashing; per-source throttling ([`throttle`]) happens before any hashing.
//!
//! Every decision is one `tracing` line (kind, user, service, rhost, caller uid, answer, reason),
//! never a secret. Entry points: [`DaemonConfig::from_config`] and [`serve`]; the binary
//! (`src/bin/gatehoused.rs`) adds the fixed socket path, signals and readiness.
//!
//! **Where the NSS snapshot export plugs in.** [`DaemonConfig::changed`] is a
//! [`tokio::sync::Notify`] that the daemon signals after every change it makes to the database
//! itself (password changes, re-hashes). The snapshot exporter waits on it, together with its
//! own watch on changes made by others (SQLite's trigger-kept change counter, PostgreSQL `LISTEN`), and
//! coalesces bursts; it is started beside [`serve`] by the binary.
pub mod admin;
pub mod authz;
pub mod conns;
pub mod exporter;
pub mod handlers;
pub mod hashpool;
pub mod ldap;
pub mod offline;
pub mod othernss;
pub mod throttle;
pub mod watch;

use crate::store::Store;
use authz::{authorize, Access, CallerMap};
use gatehouse_policy::config::{parse_duration, Config};
use gatehouse_policy::password::PasswordPolicy;
use gatehouse_policy::wire::{self, Request, Response, WireError};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use throttle::{Admit, Throttle, ThrottleConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use zeroize::Zeroizing;

/// `[lockout]` in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures that lock the account; 0 never locks.
    pub failures: u32,
    /// Window the failures are counted in, seconds.
    pub window: u64,
    /// Lock duration, seconds.
    pub lock_for: u64,
}

/// Everything the daemon needs besides the store. Built from the config file by
/// [`DaemonConfig::from_config`]; tests adjust the fields.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// PAM service → protocol (`[protocols]`).
    pub protocols: BTreeMap<String, String>,
    /// Non-root callers, resolved to uids.
    pub callers: CallerMap,
    /// Per-user lockout.
    pub lockout: Lockout,
    /// Policy for new passwords (`[password]`, with the breached list loaded).
    pub password_policy: PasswordPolicy,
    /// Per-source throttling and lockout.
    pub throttle: ThrottleConfig,
    /// A connection idle this long (no complete frame) is closed.
    pub idle_timeout: Duration,
    /// Largest request frame accepted.
    pub max_frame: usize,
    /// Password hashes computed at once.
    pub hash_permits: usize,
    /// Connections served at once, and how they are split between privileged callers and
    /// each unprivileged uid ([`conns`]); connections over a limit are closed at once.
    pub connections: conns::ConnLimits,
    /// How long in-flight requests may finish after shutdown is asked for.
    pub shutdown_grace: Duration,
    /// Signalled after every change the daemon itself writes (see the module doc: the snapshot
    /// exporter waits on it).
    pub changed: Arc<Notify>,
    /// `[ldap]`: the directory that checks `password_source = ldap` users; `None` when none is
    /// configured (their password logins then fail closed).
    pub directory: Option<Arc<ldap::Directory>>,
}

impl DaemonConfig {
    /// Builds the daemon's settings from the config file: durations parsed, `[callers]` and the
    /// keys user resolved through NSS, the breached-password list read. Returns warnings to log
    /// (callers that do not resolve).
    pub fn from_config(cfg: &Config) -> Result<(DaemonConfig, Vec<String>), String> {
        let window = parse_duration("lockout.window", &cfg.lockout.window).map_err(|e| e.to_string())?;
        let lock_for = parse_duration("lockout.lock_for", &cfg.lockout.lock_for).map_err(|e| e.to_string())?;
        let mut password_policy = PasswordPolicy { min_length: cfg.password.min_length, ..PasswordPolicy::default() };
        if let Some(path) = &cfg.password.breached_list {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read password.breached_list {path}: {e}"))?;
            let set = text.lines().filter_map(PasswordPolicy::breached_entry).collect();
            password_policy.breached = Some(Arc::new(set));
        }
        let (callers, mut warnings) = CallerMap::resolve(cfg);
        let directory = ldap::Directory::from_config(&cfg.ldap)?.map(Arc::new);
        if cfg.ldap.is_cleartext() {
            warnings.push(format!(
                "[ldap] url {} without starttls: LDAP users' passwords cross the network in clear",
                cfg.ldap.url
            ));
        }
        let cpus = std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1);
        let throttle = ThrottleConfig::from_config(&cfg.throttle).map_err(|e| e.to_string())?;
        Ok((
            DaemonConfig {
                protocols: cfg.protocols.clone(),
                callers,
                lockout: Lockout { failures: cfg.lockout.failures, window, lock_for },
                password_policy,
                throttle,
                idle_timeout: Duration::from_secs(10),
                max_frame: wire::MAX_FRAME,
                hash_permits: cpus,
                connections: conns::ConnLimits::default(),
                shutdown_grace: Duration::from_secs(5),
                changed: Arc::new(Notify::new()),
                directory,
            },
            warnings,
        ))
    }
}

/// How long a verified password (or a redeemed invitation) lets the same caller send the
/// second step (`VerifyTotp`, or a `ChangePassword` without the current password).
pub const SECOND_STEP_TTL: Duration = Duration::from_secs(120);

/// What a first step granted, kept in memory for [`SECOND_STEP_TTL`] and consumed on use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The password verified; a TOTP code may follow.
    Totp,
    /// An invitation code was redeemed; a new password may be set without the current one.
    Invitation,
    /// A TOTP user's invitation code was redeemed; [`Grant::Invitation`] is given only once
    /// the TOTP code is right too, so a code alone never sets a TOTP user's password.
    InvitationAfterTotp,
}

/// Shared by every connection.
pub struct State {
    /// The database, and the offline cache beside it.
    db: Arc<offline::Offline>,
    cfg: DaemonConfig,
    hashing: hashpool::HashPool,
    throttle: Mutex<Throttle>,
    /// (user, grant) → (when, caller uid): first steps awaiting their second.
    grants: Mutex<BTreeMap<(String, GrantKey), (Instant, u32)>>,
}

/// [`Grant`] as an ordered map key.
type GrantKey = u8;

fn grant_key(g: Grant) -> GrantKey {
    match g {
        Grant::Totp => 0,
        Grant::Invitation => 1,
        Grant::InvitationAfterTotp => 2,
    }
}

impl State {
    /// Runs CPU-heavy work (a hash) on one of the hashing threads, first come first served.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        self.hashing.run(f).await
    }

    /// The throttle's key for a client address (IPv6 by its configured prefix).
    fn source_key(&self, rhost: Option<&str>) -> String {
        self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).key(rhost)
    }

    fn admit(&self, source: &str, now: Instant) -> Admit {
        self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).admit(source, now)
    }

    /// Gives back the token a login that proved its secret took (see [`throttle`]).
    fn refund(&self, source: &str) {
        self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).refund(source, Instant::now());
    }

    fn ip_failure(&self, source: &str) {
        let locked =
            self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).failure(source, Instant::now());
        if locked {
            tracing::warn!(source, "source locked after repeated failures");
        }
    }

    fn changed(&self) {
        self.cfg.changed.notify_one();
    }

    /// Records a first step for `user` by `caller_uid`; drops expired records.
    fn grant(&self, user: &str, g: Grant, caller_uid: u32) {
        let now = Instant::now();
        let mut map = self.grants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (at, _)| now.duration_since(*at) <= SECOND_STEP_TTL);
        map.insert((user.to_string(), grant_key(g)), (now, caller_uid));
    }

    /// True if `user` has a live first step of kind `g` from this caller (not consumed).
    fn has_grant(&self, user: &str, g: Grant, caller_uid: u32) -> bool {
        let map = self.grants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&(user.to_string(), grant_key(g)))
            .is_some_and(|(at, uid)| *uid == caller_uid && at.elapsed() <= SECOND_STEP_TTL)
    }

    /// Consumes a first step: true if `user` has one of kind `g` from the same caller, younger
    /// than [`SECOND_STEP_TTL`]. Used once either way.
    fn take_grant(&self, user: &str, g: Grant, caller_uid: u32) -> bool {
        let mut map = self.grants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.remove(&(user.to_string(), grant_key(g))) {
            Some((at, uid)) => uid == caller_uid && at.elapsed() <= SECOND_STEP_TTL,
            None => false,
        }
    }
}

/// Serves requests on `listener` until `shutdown` completes, then lets requests in flight finish
/// (up to [`DaemonConfig::shutdown_grace`]) and returns. The store must be migrated.
pub async fn serve(store: Store, cfg: DaemonConfig, listener: UnixListener, shutdown: impl Future<Output = ()>) {
    serve_with(Arc::new(offline::Offline::direct(store)), cfg, listener, shutdown).await;
}

/// [`serve`] over a database with an offline cache beside it (see [`offline`]).
pub async fn serve_with(
    db: Arc<offline::Offline>,
    cfg: DaemonConfig,
    listener: UnixListener,
    shutdown: impl Future<Output = ()>,
) {
    let slots = conns::Slots::new(cfg.connections);
    let state = Arc::new(State {
        hashing: hashpool::HashPool::new(cfg.hash_permits),
        throttle: Mutex::new(Throttle::new(cfg.throttle.clone())),
        grants: Mutex::new(BTreeMap::new()),
        db,
        cfg,
    });
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let uid = match stream.peer_cred() {
                        Ok(c) => c.uid(),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the caller's credentials; closing");
                            continue;
                        }
                    };
                    // Dropping the stream closes it; the refusal is logged inside, rate-limited.
                    let privileged = state.cfg.callers.is_privileged(uid);
                    let Some(slot) = slots.take(uid, privileged, Instant::now()) else { continue };
                    let st = state.clone();
                    tasks.spawn(async move {
                        connection(&st, stream, uid).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    let grace = state.cfg.shutdown_grace;
    let drained = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = tasks.len(), "connections still open at shutdown; closing them");
        tasks.abort_all();
    }
}

/// How reading a frame ended, short of a frame.
enum ReadEnd {
    /// The wire error (closed, truncated, too large, I/O).
    Wire(WireError),
    /// Nothing (or not a whole frame) arrived within the idle timeout.
    Idle,
}

/// Reads into `buf` until full or end of file; returns the count.
async fn read_full(s: &mut UnixStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]).await {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame: the header within the idle timeout, the length checked before the body is
/// allocated, the body within the same deadline.
async fn read_frame(s: &mut UnixStream, max: usize, idle: Duration) -> Result<Zeroizing<Vec<u8>>, ReadEnd> {
    let deadline = tokio::time::Instant::now() + idle;
    let mut header = [0u8; 4];
    match tokio::time::timeout_at(deadline, read_full(s, &mut header)).await {
        Err(_) => return Err(ReadEnd::Idle),
        Ok(Err(e)) => return Err(ReadEnd::Wire(WireError::Io(e))),
        Ok(Ok(0)) => return Err(ReadEnd::Wire(WireError::Closed)),
        Ok(Ok(4)) => {}
        Ok(Ok(got)) => return Err(ReadEnd::Wire(WireError::Truncated { expected: 4, got })),
    }
    let len = wire::check_len(header, max).map_err(ReadEnd::Wire)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    match tokio::time::timeout_at(deadline, read_full(s, &mut body)).await {
        Err(_) => Err(ReadEnd::Idle),
        Ok(Err(e)) => Err(ReadEnd::Wire(WireError::Io(e))),
        Ok(Ok(got)) if got == len => Ok(body),
        Ok(Ok(got)) => Err(ReadEnd::Wire(WireError::Truncated { expected: len, got })),
    }
}

/// Writes one response frame, within the idle timeout.
async fn write_response(s: &mut UnixStream, resp: &Response, idle: Duration) -> Result<(), String> {
    let body = wire::encode_response(resp).map_err(|e| e.to_string())?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    let len = u32::try_from(body.len()).map_err(|_| "response too large".to_string())?;
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    match tokio::time::timeout(idle, s.write_all(&frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the client does not read its answer".to_string()),
    }
}

/// Serves one connection from `uid` (its `SO_PEERCRED`): requests in a loop, one answer each.
/// Every frame must arrive whole within the idle timeout, so neither a silent client nor one that
/// trickles a byte at a time holds its slot for longer.
async fn connection(st: &State, mut stream: UnixStream, uid: u32) {
    loop {
        let body = match read_frame(&mut stream, st.cfg.max_frame, st.cfg.idle_timeout).await {
            Ok(b) => b,
            Err(ReadEnd::Wire(WireError::Closed)) => return,
            Err(ReadEnd::Idle) => {
                tracing::info!(caller_uid = uid, "idle connection closed");
                return;
            }
            Err(ReadEnd::Wire(e @ WireError::TooLarge { .. })) => {
                tracing::warn!(caller_uid = uid, error = %e, "refused frame; closing");
                let resp = Response::BadRequest { reason: e.to_string() };
                let _ = write_response(&mut stream, &resp, st.cfg.idle_timeout).await;
                return;
            }
            Err(ReadEnd::Wire(e)) => {
                tracing::warn!(caller_uid = uid, error = %e, "bad frame; closing");
                return;
            }
        };
        let resp = match wire::decode_request(&body) {
            Ok(req) => dispatch(st, uid, req).await,
            Err(e) => {
                tracing::warn!(caller_uid = uid, error = %e, "bad request");
                Response::BadRequest { reason: e.to_string() }
            }
        };
        drop(body);
        if let Err(e) = write_response(&mut stream, &resp, st.cfg.idle_timeout).await {
            tracing::info!(caller_uid = uid, error = %e, "cannot answer; closing");
            return;
        }
    }
}

/// Authorises and answers one request, and logs the decision.
pub async fn dispatch(st: &State, caller_uid: u32, req: Request) -> Response {
    let kind = req.kind();
    let (user, service, rhost) = match &req {
        Request::Authenticate { user, service, rhost, .. } | Request::Account { user, service, rhost, .. } => {
            (user.as_str(), service.as_str(), rhost.as_deref())
        }
        Request::ChangePassword { user, service, .. } => (user.as_str(), service.as_str(), None),
        Request::VerifyTotp { user, service, rhost, .. } => (user.as_str(), service.as_str(), rhost.as_deref()),
        Request::Keys { user } => (user.as_str(), "", None),
        Request::Session { user, rhost } => (user.as_deref().unwrap_or("-"), "", rhost.as_deref()),
        Request::Admin { .. } | Request::Ping => ("", "", None),
    };
    let out = answer(st, caller_uid, &req).await;
    let answer = match &out.response {
        Response::Ok | Response::Keys { .. } | Response::Output { .. } => "allow",
        Response::Session(p) if p.refused.is_some() => "deny",
        Response::Session(_) => "allow",
        Response::NewPasswordRequired => "new-password-required",
        Response::TotpRequired => "totp-required",
        Response::UnknownUser => "unknown-user",
        Response::Denied { .. } => "deny",
        Response::Unavailable { .. } => "unavailable",
        Response::BadRequest { .. } => "bad-request",
    };
    if !matches!(req, Request::Ping) {
        tracing::info!(kind, user, service, rhost = rhost.unwrap_or("-"), caller_uid, answer, reason = %out.reason);
    }
    out.response
}

async fn answer(st: &State, caller_uid: u32, req: &Request) -> handlers::Outcome {
    let login = |what: &'static str, service: &str| -> Result<String, handlers::Outcome> {
        // `protocol:NAME` is what pam_gatehouse sends for a `protocol=NAME` module argument
        // (pam.d is root's); the caller is still authorised for that protocol only.
        let explicit = service.strip_prefix(wire::PROTOCOL_PREFIX).map(str::to_string);
        let Some(protocol) = explicit.as_ref().or_else(|| st.cfg.protocols.get(service)) else {
            return Err(outcome_denied(format!("service {service:?} has no protocol mapping ([protocols])")));
        };
        authorize(Access::Login { what, protocol }, caller_uid, &st.cfg.callers).map_err(outcome_denied)?;
        Ok(protocol.clone())
    };
    match req {
        Request::Ping => handlers::Outcome { response: Response::Ok, reason: "pong".into() },
        // Delegated administration: the caller's roles decide (`admin`), not `[callers]`.
        Request::Admin { argv, stdin } => admin::run(st, caller_uid, argv, stdin.as_ref()).await,
        Request::Keys { user } => match authorize(Access::Keys, caller_uid, &st.cfg.callers) {
            Ok(()) => handlers::keys(st, user).await,
            Err(why) => outcome_denied(why),
        },
        // Anyone may ask for their own session policy: the user is found by the caller's uid,
        // and only root may name another.
        Request::Session { user, rhost } => handlers::session(st, caller_uid, user.as_deref(), rhost.as_deref()).await,
        Request::Authenticate { user, service, rhost, password, .. } => match login("authenticate users", service) {
            Ok(protocol) => handlers::authenticate(st, caller_uid, user, &protocol, rhost.as_deref(), password).await,
            Err(o) => o,
        },
        Request::Account { user, service, rhost, .. } => match login("check accounts", service) {
            Ok(protocol) => handlers::account(st, user, service, &protocol, rhost.as_deref()).await,
            Err(o) => o,
        },
        Request::VerifyTotp { user, service, rhost, code } => match login("authenticate users", service) {
            Ok(_) => handlers::verify_totp(st, caller_uid, user, rhost.as_deref(), code).await,
            Err(o) => o,
        },
        // Changing a password is not a login: root may do it from any PAM service (`passwd
        // alice` run by an admin); other callers only for a protocol they are allowed.
        Request::ChangePassword { user, service, old, new } => match login("change passwords", service) {
            Ok(_) => handlers::change_password(st, caller_uid, user, "-", old.as_ref(), new).await,
            Err(_) if caller_uid == 0 => handlers::change_password(st, caller_uid, user, "-", old.as_ref(), new).await,
            Err(o) => o,
        },
    }
}

fn outcome_denied(reason: String) -> handlers::Outcome {
    handlers::Outcome { response: Response::Denied { reason: reason.clone() }, reason }
}
