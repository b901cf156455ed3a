//! A local gatehouse-sftp for tests and benchmarks: serves SFTP on stdin/stdout for the root
//! and the session policy (the daemon's JSON `SessionPolicy`) given on the command line, with no
//! daemon and no sshd. The policy file is re-read when it changes, as the daemon's answer would
//! be. Log lines go to stderr. Not installed; the real program is `gatehouse-sftp`.
//!
//! `sftp_local POLICY.json` (run it with `sftp -D`, or spawn it on a socket pair).
use gatehouse_policy::rules::Policy;
use gatehouse_policy::wire::SessionPolicy;
use gatehouse_ssh::session::{compile, Refresh};
use gatehouse_ssh::sftp::fs::Root;
use gatehouse_ssh::sftp::run::{serve, PolicyFeed};
use gatehouse_ssh::sftp::server::{Identity, Server};
use gatehouse_ssh::syslog::Syslog;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

struct FileFeed {
    path: PathBuf,
    mtime: Option<SystemTime>,
    info: SessionPolicy,
    last: Instant,
}

fn load(path: &Path) -> Result<(SessionPolicy, Option<SystemTime>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let info: SessionPolicy = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((info, std::fs::metadata(path).and_then(|m| m.modified()).ok()))
}

impl PolicyFeed for FileFeed {
    fn refresh_due(&self) -> bool {
        self.last.elapsed().as_millis() >= 200
    }
    fn refresh(&mut self, _log: &Syslog) -> Refresh {
        self.last = Instant::now();
        let m = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if m == self.mtime {
            return Refresh::Same;
        }
        match load(&self.path) {
            Ok((info, m)) => {
                self.mtime = m;
                if let Some(why) = &info.refused {
                    return Refresh::End(why.clone());
                }
                if info == self.info {
                    return Refresh::Same;
                }
                self.info = info;
                Refresh::Changed
            }
            Err(_) => Refresh::Same,
        }
    }
    fn current(&self) -> (Policy, Option<u64>) {
        (compile(&self.info), self.info.max_file_size)
    }
}

fn main() {
    let Some(path) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: sftp_local POLICY.json");
        std::process::exit(2);
    };
    let (info, mtime) = match load(&path) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("sftp_local: {e}");
            std::process::exit(2);
        }
    };
    let root = match Root::open(Path::new(&info.root)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sftp_local: root {}: {e}", info.root);
            std::process::exit(2);
        }
    };
    let me = Identity {
        name: info.user.clone(),
        uid: rustix::process::getuid().as_raw(),
        gid: rustix::process::getgid().as_raw(),
    };
    let log = Syslog::stderr(format!("sftp_local[{}]", std::process::id()));
    let mut feed = FileFeed { path, mtime, info: info.clone(), last: Instant::now() };
    let (policy, max) = feed.current();
    let mut server = Server::new(root, policy, max, me, log);
    let end = serve(&mut server, &mut feed);
    eprintln!("sftp_local: {end:?}");
}
