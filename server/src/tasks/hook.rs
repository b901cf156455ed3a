//! gatehoused's side of root creation: after each successful snapshot export, users whose root
//! does not exist yet are sent to gatehouse-tasks as [`Request::EnsureRoot`].
//!
//! The hook never holds up an export: each pass runs as its own task, a pass is skipped while
//! the previous one is still running, every request has a [`CALL_TIMEOUT`] and a pass stops
//! asking after [`PASS_BUDGET`] (the next export picks up the rest). A missing helper socket is
//! logged once at warn, not at every export; a refusal is logged once per root.
use super::proto::{call, Request, Response};
use crate::store::Store;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long one request to the helper may take at each step.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one pass keeps sending requests.
pub const PASS_BUDGET: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    /// Roots the helper refused (logged once; not asked again until gatehoused restarts).
    refused: BTreeSet<String>,
    /// The socket was missing at the last attempt (warned once).
    absent: bool,
}

/// Asks gatehouse-tasks at `socket` for missing roots. Cheap to clone.
#[derive(Clone)]
pub struct RootHook {
    socket: PathBuf,
    state: Arc<Mutex<State>>,
}

impl RootHook {
    /// A hook talking to the helper socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> RootHook {
        RootHook { socket: socket.into(), state: Arc::new(Mutex::new(State::default())) }
    }

    /// Starts one pass in the background unless one is still running; returns at once.
    pub fn after_export(&self, store: &Store) {
        let Ok(guard) = self.state.clone().try_lock_owned() else { return };
        let store = store.clone();
        let socket = self.socket.clone();
        tokio::spawn(async move {
            let users = match store.list_users(None, None).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list users to create their roots");
                    return;
                }
            };
            let mut guard = guard;
            let wanted: Vec<(String, u32, u32)> = users
                .into_iter()
                .filter(|u| !guard.refused.contains(&u.root))
                .filter(|u| matches!(std::fs::symlink_metadata(&u.root), Err(e) if e.kind() == std::io::ErrorKind::NotFound))
                .map(|u| (u.root, u.uid, u.gid))
                .collect();
            if wanted.is_empty() {
                return;
            }
            let pass = tokio::task::spawn_blocking(move || {
                pass(&socket, &wanted, &mut guard);
            });
            if let Err(e) = pass.await {
                tracing::error!(error = %e, "root creation pass failed");
            }
        });
    }
}

/// Sends the requests, within [`PASS_BUDGET`].
fn pass(socket: &std::path::Path, wanted: &[(String, u32, u32)], state: &mut State) {
    let start = Instant::now();
    for (root, uid, gid) in wanted {
        if start.elapsed() > PASS_BUDGET {
            tracing::info!("root creation pass out of time; the rest waits for the next export");
            return;
        }
        let req = Request::EnsureRoot { root: root.clone(), uid: *uid, gid: *gid };
        match call(socket, &req, CALL_TIMEOUT) {
            Ok(resp) => {
                if state.absent {
                    tracing::info!(socket = %socket.display(), "gatehouse-tasks is reachable again");
                    state.absent = false;
                }
                match resp {
                    Response::Ok => tracing::info!(root = %root, uid, "created the user's root"),
                    Response::Existed | Response::Absent => {}
                    Response::Refused { reason } => {
                        tracing::warn!(root = %root, reason = %reason, "gatehouse-tasks refused to create the root");
                        state.refused.insert(root.clone());
                    }
                    Response::Failed { reason } => {
                        tracing::warn!(root = %root, reason = %reason, "gatehouse-tasks could not create the root")
                    }
                }
            }
            Err(gatehouse_policy::wire::WireError::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) =>
            {
                if !state.absent {
                    tracing::warn!(socket = %socket.display(), "gatehouse-tasks is not running; users' roots are not created");
                    state.absent = true;
                }
                return;
            }
            Err(e) => {
                tracing::warn!(socket = %socket.display(), error = %e, "cannot ask gatehouse-tasks to create a root");
                return;
            }
        }
    }
}
