//! gatehoused's side of the root helper: after each successful snapshot export, users whose root
//! does not exist yet are sent to gatehouse-tasks as [`Request::EnsureRoot`], and, when vsftpd
//! files are generated ([`RootHook::with_vsftpd`]), each vsftpd file that differs from what the
//! database says is sent as [`Request::VsftpdWrite`] or [`Request::VsftpdRemove`]; the same for
//! ProFTPD ([`RootHook::with_proftpd`]), followed by [`Request::ProftpdReload`].
//!
//! The vsftpd files are compared with what is on disk (the directory is 0755 and the files
//! 0644, so gatehoused reads them), so only changes travel and a pass with nothing to do sends
//! nothing. Which users get a file, and what it says, is [`vsftpd_entry`]: users allowed `ftp`
//! whom vsftpd can serve; every other file in the directory is removed.
//!
//! The hook never holds up an export: each pass runs as its own task, every request has a
//! [`CALL_TIMEOUT`] and a pass stops asking after [`PASS_BUDGET`] (the next export picks up the
//! rest). An export that finds a pass still running marks the hook dirty, and the running pass
//! goes round again when it ends, so no change is left behind. A missing helper socket is logged
//! once at warn, not at every export; a refusal is logged once per request.
//!
//! Whether a server's files are kept ([`FtpFiles`]) is decided again at every pass and by
//! [`RootHook::watch_ftp_dirs`] every [`WATCH_EVERY`], never once at start: the README has the
//! admin install gatehouse first and the FTP server and its directory after, and a user with no
//! file meanwhile would get the server's default. The account check refuses such a user
//! ([`missing_ftp_file`]), so the watch is what lets them in within a second.
use super::call;
use crate::store::Store;
use gatehouse_policy::config::Config;
use gatehouse_policy::ftp::{vsftpd_entry, FtpFiles, FtpServer};
use gatehouse_policy::model::{served_on, validate_name, Group, User};
use gatehouse_policy::proftpd::proftpd_user;
use gatehouse_tasks::proftpd::render;
use gatehouse_tasks::proto::{Request, Response};
use gatehouse_tasks::vsftpd::user_file as vsftpd_user_file;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long one request to the helper may take at each step.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one pass keeps sending requests.
pub const PASS_BUDGET: Duration = Duration::from_secs(5);
/// How often [`RootHook::watch_ftp_dirs`] looks at the FTP servers' binaries and directories
/// (four `stat` calls): well under a second, so a directory's files are written within a second
/// of it appearing.
pub const WATCH_EVERY: Duration = Duration::from_millis(250);

/// One FTP server whose per-user files the hook may keep: in `dir`, when the config wants them
/// (`binary` installed, or named in `ftp_servers`) and `dir` exists.
#[derive(Clone, Debug)]
struct FtpWatch {
    server: FtpServer,
    dir: PathBuf,
    binary: PathBuf,
}

impl FtpWatch {
    /// What the config and the file system say at this moment.
    fn now(&self, cfg: &Config) -> FtpFiles {
        cfg.ftp_files(self.server, self.binary.exists(), self.dir.is_dir())
    }
}

/// Why `name` may not log in through `server` yet, with whether the server's files are kept
/// right now, or `None` when their per-user file exists. Without the file the server would not
/// apply the user's root and mode (vsftpd logs them in, chrooted to the shared home), so the
/// account check fails closed on it; the reason says what is missing and whether gatehoused
/// will write it.
pub fn missing_ftp_file(cfg: &Config, server: FtpServer, name: &str) -> Option<(FtpFiles, String)> {
    let dir = Path::new(server.config_dir(cfg));
    let file = dir.join(server.user_file_name(name));
    if file.is_file() {
        return None;
    }
    let s = server.name();
    let w = FtpWatch { server, dir: dir.to_path_buf(), binary: PathBuf::from(server.binary()) };
    let state = w.now(cfg);
    Some((
        state,
        match state {
            FtpFiles::Kept => format!(
                "no {s} file for this user yet ({} is missing); gatehoused writes it within a second",
                file.display()
            ),
            FtpFiles::NoDir => format!(
                "no {s} file for this user: {} does not exist (create it as the README's FTP section \
             says); gatehoused writes the files within a second of it appearing",
                dir.display()
            ),
            FtpFiles::Off if cfg.ftp_servers.is_empty() => format!(
                "no {s} file for this user: gatehouse does not generate {s} files on this host ({} is \
                 not installed and ftp_servers does not name {s})",
                server.binary()
            ),
            FtpFiles::Off => format!(
                "no {s} file for this user: gatehouse does not generate {s} files on this host \
                 (ftp_servers does not name {s})"
            ),
        },
    ))
}

#[derive(Default)]
struct State {
    /// Requests the helper refused (logged once; not asked again until gatehoused restarts):
    /// roots by path, vsftpd requests by their whole text.
    refused: BTreeSet<String>,
    /// The socket was missing at the last attempt (warned once).
    absent: bool,
}

/// Asks gatehouse-tasks at `socket` for missing roots and changed vsftpd files. Cheap to clone.
#[derive(Clone)]
pub struct RootHook {
    socket: PathBuf,
    ftp: Vec<FtpWatch>,
    state: Arc<Mutex<State>>,
    again: Arc<AtomicBool>,
}

impl RootHook {
    /// A hook talking to the helper socket at `socket`; roots only.
    pub fn new(socket: impl Into<PathBuf>) -> RootHook {
        RootHook {
            socket: socket.into(),
            ftp: Vec::new(),
            state: Arc::new(Mutex::new(State::default())),
            again: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Also keeps `server`'s per-user files in `dir` in step (and, for ProFTPD, has it reload
    /// after a change), whenever the config wants them (`Config::ftp_files`: `binary` exists or
    /// `ftp_servers` names the server) and `dir` exists; looked at again at every pass.
    pub fn with_ftp(mut self, server: FtpServer, dir: impl Into<PathBuf>, binary: impl Into<PathBuf>) -> RootHook {
        self.ftp.retain(|w| w.server != server);
        self.ftp.push(FtpWatch { server, dir: dir.into(), binary: binary.into() });
        self
    }

    /// [`RootHook::with_ftp`] for every server this host might run: its directory from `cfg`,
    /// its installed binary ([`FtpServer::binary`]).
    pub fn with_ftp_servers(self, cfg: &Config) -> RootHook {
        FtpServer::ALL.into_iter().fold(self, |hook, s| hook.with_ftp(s, s.config_dir(cfg), s.binary()))
    }

    /// Runs until aborted: every [`WATCH_EVERY`], looks whether each server's files are kept
    /// ([`FtpFiles`]) and starts a pass when that becomes so (a directory created, a server
    /// installed), so the files are there within a second without waiting for a database
    /// change. Logs each change of state, the first one included. Returns at once when no
    /// server is watched.
    pub async fn watch_ftp_dirs(self, store: Store) {
        if self.ftp.is_empty() {
            return;
        }
        let mut last: Vec<Option<FtpFiles>> = vec![None; self.ftp.len()];
        loop {
            let (ftp, cfg) = (self.ftp.clone(), store.config().clone());
            let now =
                match tokio::task::spawn_blocking(move || ftp.iter().map(|w| w.now(&cfg)).collect::<Vec<_>>()).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot look at the FTP servers' directories");
                        return;
                    }
                };
            let mut pass = false;
            for ((w, before), now) in self.ftp.iter().zip(last.iter_mut()).zip(now) {
                if *before == Some(now) {
                    continue;
                }
                let (server, dir) = (w.server.name(), w.dir.display());
                match now {
                    FtpFiles::Kept => {
                        tracing::info!(server, dir = %dir, "per-user FTP files are kept by gatehouse-tasks");
                        pass = true;
                    }
                    FtpFiles::NoDir => tracing::info!(
                        server,
                        dir = %dir,
                        "per-user FTP files wait for their directory (the server's users are refused until it exists)"
                    ),
                    FtpFiles::Off if before.is_some() => {
                        tracing::info!(server, "per-user FTP files are no longer generated (not installed)")
                    }
                    FtpFiles::Off => {}
                }
                *before = Some(now);
            }
            if pass {
                self.after_export(&store);
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    }

    /// Starts one pass in the background; returns at once. If a pass is running, it runs again
    /// when it ends instead.
    pub fn after_export(&self, store: &Store) {
        // Set before trying the lock, read by the holder after releasing it: a pass that misses
        // this flag started after it was set, so it reads the database as this export did.
        self.again.store(true, Ordering::SeqCst);
        let (store, hook) = (store.clone(), self.clone());
        tokio::spawn(async move {
            loop {
                let Ok(guard) = hook.state.clone().try_lock_owned() else { return };
                hook.again.store(false, Ordering::SeqCst);
                hook.one_pass(&store, guard).await;
                if !hook.again.load(Ordering::SeqCst) {
                    return;
                }
            }
        });
    }

    async fn one_pass(&self, store: &Store, mut guard: tokio::sync::OwnedMutexGuard<State>) {
        // Only rows this host may serve: a root outside the prefixes or an id outside `[ids]`
        // written with plain SQL gets no directory and no FTP file (the export logged why).
        let (users, groups) = match store.served().await {
            Ok(s) => (s.users, s.groups),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list users and groups for their roots and FTP server files");
                return;
            }
        };
        // Only the users this host serves (host scoping): no root, no FTP file for the others.
        let fleet = &store.config().fleet;
        let by_name = by_name(&groups);
        let users: Vec<User> = users.into_iter().filter(|u| served_on(u, &groups_of(u, &by_name), fleet)).collect();
        let (socket, ftp, cfg) = (self.socket.clone(), self.ftp.clone(), store.config().clone());
        let job = tokio::task::spawn_blocking(move || {
            let mut wanted: Vec<Request> = users
                .iter()
                .filter(|u| matches!(std::fs::symlink_metadata(&u.root), Err(e) if e.kind() == std::io::ErrorKind::NotFound))
                .map(|u| Request::EnsureRoot { root: u.root.clone(), uid: u.uid, gid: u.gid })
                .collect();
            // Decided again at each pass (see the module's docs): no file is written or removed for
            // a server whose files are not kept right now.
            for w in ftp.iter().filter(|w| w.now(&cfg) == FtpFiles::Kept) {
                wanted.extend(match w.server {
                    FtpServer::Vsftpd => vsftpd_changes(&w.dir, &users, &groups),
                    FtpServer::Proftpd => proftpd_changes(&w.dir, &users, &groups),
                });
            }
            wanted.retain(|r| !guard.refused.contains(&refusal_key(r)));
            // A reload only follows a ProFTPD file change that is still to be made.
            if !wanted.iter().any(|r| matches!(r, Request::ProftpdWrite { .. } | Request::ProftpdRemove { .. })) {
                wanted.retain(|r| *r != Request::ProftpdReload);
            }
            if !wanted.is_empty() {
                pass(&socket, &wanted, &mut guard);
            }
        });
        if let Err(e) = job.await {
            tracing::error!(error = %e, "gatehouse-tasks pass failed");
        }
    }
}

/// The requests that bring vsftpd's `dir` in line with the database: a write for each user whose
/// file is missing or says something else, a remove for each file of a name that should have
/// none ([`file_changes`]).
pub fn vsftpd_changes(dir: &Path, users: &[User], groups: &[Group]) -> Vec<Request> {
    file_changes(
        dir,
        users,
        groups,
        FtpServer::Vsftpd,
        |u, g| {
            let (root, write) = vsftpd_entry(u, g)?;
            let req = Request::VsftpdWrite { name: u.name.clone(), root: root.to_string(), write };
            Some((vsftpd_user_file(root, write), req))
        },
        |name| Request::VsftpdRemove { name },
    )
}

/// The same for ProFTPD's `dir` (files `NAME.conf`), followed by one [`Request::ProftpdReload`]
/// when anything is to change.
pub fn proftpd_changes(dir: &Path, users: &[User], groups: &[Group]) -> Vec<Request> {
    let mut out = file_changes(
        dir,
        users,
        groups,
        FtpServer::Proftpd,
        |u, g| {
            let user = proftpd_user(u, g)?;
            let text = render(&user).ok()?;
            Some((text, Request::ProftpdWrite { user }))
        },
        |name| Request::ProftpdRemove { name },
    );
    if !out.is_empty() {
        out.push(Request::ProftpdReload);
    }
    out
}

/// Groups by name.
fn by_name(groups: &[Group]) -> BTreeMap<&str, &Group> {
    groups.iter().map(|g| (g.name.as_str(), g)).collect()
}

/// The groups `u` is in.
fn groups_of(u: &User, by_name: &BTreeMap<&str, &Group>) -> Vec<Group> {
    u.groups.iter().filter_map(|n| by_name.get(n.as_str()).map(|g| (*g).clone())).collect()
}

/// The requests that bring the per-user files in `dir` (named as [`FtpServer::user_file_name`] says) in line with
/// the database: `want` gives a user's file text and the request that writes it (`None`: the
/// user has no file); `remove` the request that removes a name's file. Files whose names are not
/// gatehouse names (dot files, an admin's notes) are left alone. Nothing is asked while `dir`
/// does not exist.
fn file_changes(
    dir: &Path,
    users: &[User],
    groups: &[Group],
    server: FtpServer,
    want: impl Fn(&User, &[Group]) -> Option<(String, Request)>,
    remove: impl Fn(String) -> Request,
) -> Vec<Request> {
    if !dir.is_dir() {
        // Not set up yet (the admin creates the directory with the server's config).
        return Vec::new();
    }
    let by_name = by_name(groups);
    let mut keep = BTreeSet::new();
    let mut out = Vec::new();
    for u in users {
        let Some((text, req)) = want(u, &groups_of(u, &by_name)) else { continue };
        keep.insert(u.name.as_str());
        let now = std::fs::read_to_string(dir.join(server.user_file_name(&u.name))).ok();
        if now.as_deref() != Some(text.as_str()) {
            out.push(req);
        }
    }
    let suffix = server.user_file_name("");
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut gone: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(suffix.as_str()).map(str::to_string))
            .filter(|n| !keep.contains(n.as_str()) && validate_name("name", n).is_ok())
            .collect();
        gone.sort();
        out.extend(gone.into_iter().map(remove));
    }
    out
}

/// What a refusal is remembered by: a root by its path (whoever asks for it), any other request
/// by its whole text (a changed request is asked again).
fn refusal_key(req: &Request) -> String {
    match req {
        Request::EnsureRoot { root, .. } => root.clone(),
        other => format!("{other:?}"),
    }
}

/// Sends the requests, within [`PASS_BUDGET`].
fn pass(socket: &Path, wanted: &[Request], state: &mut State) {
    let start = Instant::now();
    for req in wanted {
        if start.elapsed() > PASS_BUDGET {
            tracing::info!("gatehouse-tasks pass out of time; the rest waits for the next export");
            return;
        }
        let (op, what) = req.describe();
        match call(socket, req, CALL_TIMEOUT) {
            Ok(resp) => {
                if state.absent {
                    tracing::info!(socket = %socket.display(), "gatehouse-tasks is reachable again");
                    state.absent = false;
                }
                match resp {
                    Response::Ok => tracing::info!(op, what, "gatehouse-tasks did it"),
                    Response::Existed | Response::Absent => {}
                    Response::Refused { reason } => {
                        tracing::warn!(op, what, reason = %reason, "gatehouse-tasks refused");
                        if *req != Request::ProftpdReload {
                            state.refused.insert(refusal_key(req));
                        }
                    }
                    Response::Failed { reason } => tracing::warn!(op, what, reason = %reason, "gatehouse-tasks failed"),
                }
            }
            Err(gatehouse_policy::wire::WireError::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) =>
            {
                if !state.absent {
                    tracing::warn!(socket = %socket.display(), "gatehouse-tasks is not running; users' roots and FTP files are not written");
                    state.absent = true;
                }
                return;
            }
            Err(e) => {
                tracing::warn!(socket = %socket.display(), op, what, error = %e, "cannot ask gatehouse-tasks");
                return;
            }
        }
    }
}
