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
use super::proto::{call, Request, Response};
use crate::store::Store;
use gatehouse_policy::ftp::{vsftpd_entry, vsftpd_user_file};
use gatehouse_policy::model::{served_on, validate_name, Group, User};
use gatehouse_policy::proftpd::{proftpd_user, render};
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
    vsftpd_dir: Option<PathBuf>,
    proftpd_dir: Option<PathBuf>,
    state: Arc<Mutex<State>>,
    again: Arc<AtomicBool>,
}

impl RootHook {
    /// A hook talking to the helper socket at `socket`; roots only.
    pub fn new(socket: impl Into<PathBuf>) -> RootHook {
        RootHook {
            socket: socket.into(),
            vsftpd_dir: None,
            proftpd_dir: None,
            state: Arc::new(Mutex::new(State::default())),
            again: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Also keeps vsftpd's per-user files in `dir` in step (`None`: vsftpd files are not
    /// generated, see `Config::generates_for`).
    pub fn with_vsftpd(mut self, dir: Option<PathBuf>) -> RootHook {
        self.vsftpd_dir = dir;
        self
    }

    /// Also keeps ProFTPD's per-user files in `dir` in step, and has ProFTPD reload after a
    /// change (`None`: not generated).
    pub fn with_proftpd(mut self, dir: Option<PathBuf>) -> RootHook {
        self.proftpd_dir = dir;
        self
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
        let (socket, dir, pdir) = (self.socket.clone(), self.vsftpd_dir.clone(), self.proftpd_dir.clone());
        let job = tokio::task::spawn_blocking(move || {
            let mut wanted: Vec<Request> = users
                .iter()
                .filter(|u| matches!(std::fs::symlink_metadata(&u.root), Err(e) if e.kind() == std::io::ErrorKind::NotFound))
                .map(|u| Request::EnsureRoot { root: u.root.clone(), uid: u.uid, gid: u.gid })
                .collect();
            if let Some(dir) = &dir {
                wanted.extend(vsftpd_changes(dir, &users, &groups));
            }
            if let Some(dir) = &pdir {
                wanted.extend(proftpd_changes(dir, &users, &groups));
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
        "",
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
        ".conf",
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

/// The requests that bring the per-user files in `dir` (named `<name><suffix>`) in line with
/// the database: `want` gives a user's file text and the request that writes it (`None`: the
/// user has no file); `remove` the request that removes a name's file. Files whose names are not
/// gatehouse names (dot files, an admin's notes) are left alone. Nothing is asked while `dir`
/// does not exist.
/// Groups by name.
fn by_name(groups: &[Group]) -> BTreeMap<&str, &Group> {
    groups.iter().map(|g| (g.name.as_str(), g)).collect()
}

/// The groups `u` is in.
fn groups_of(u: &User, by_name: &BTreeMap<&str, &Group>) -> Vec<Group> {
    u.groups.iter().filter_map(|n| by_name.get(n.as_str()).map(|g| (*g).clone())).collect()
}

fn file_changes(
    dir: &Path,
    users: &[User],
    groups: &[Group],
    suffix: &str,
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
        let now = std::fs::read_to_string(dir.join(format!("{}{suffix}", u.name))).ok();
        if now.as_deref() != Some(text.as_str()) {
            out.push(req);
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut gone: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(suffix).map(str::to_string))
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
