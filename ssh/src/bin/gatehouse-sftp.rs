//! `gatehouse-sftp`: the ForceCommand and login shell of gatehouse users.
//!
//! sshd runs it as the user, through the login shell, as `gatehouse-sftp -c "<command>"`, with
//! the real request in `SSH_ORIGINAL_COMMAND` (DESIGN, checked facts). It decides only from
//! that variable (`gatehouse_ssh::command`): the sftp subsystem is served in process;
//! `scp -t/-f` and `rsync --server` are re-rooted, checked and exec'd under Landlock for users
//! without sub-rules; `gatehouse …` goes to gatehoused as an admin request (it decides by our
//! uid); anything else is refused with one line. The policy comes from gatehoused,
//! which finds the user by this process's uid.
use gatehouse_policy::config::{Config, CONFIG_PATH, SOCKET_PATH};
use gatehouse_ssh::command::{classify, Command};
use gatehouse_ssh::confine::{confine, Fence};
use gatehouse_ssh::legacy::{plan_rsync, plan_scp, run, LegacyUser, RunError};
use gatehouse_ssh::session::{rhost_from_ssh_connection, Session};
use gatehouse_ssh::sftp::fs::Root;
use gatehouse_ssh::sftp::run::{serve, End};
use gatehouse_ssh::sftp::server::{Identity, Server};
use gatehouse_ssh::syslog::Syslog;
use std::path::Path;

/// Tells the user (stderr reaches the ssh client) and the log, and gives the exit code.
fn refuse(log: &Syslog, user_msg: &str, log_msg: &str) -> i32 {
    eprintln!("{user_msg}");
    log.warn(log_msg);
    1
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let original = std::env::var("SSH_ORIGINAL_COMMAND").ok();
    let log = Syslog::open("/dev/log", format!("gatehouse-sftp[{}]", std::process::id()));
    let code = match classify(&args, original.as_deref()) {
        Command::Refused(msg) => {
            let uid = rustix::process::getuid().as_raw();
            refuse(&log, &msg, &format!("uid {uid}: refused command {:?}", original.as_deref().unwrap_or("")))
        }
        Command::Admin(words) => {
            let uid = rustix::process::getuid().as_raw();
            log.info(&format!("uid {uid}: admin command {:?}", words.join(" ")));
            gatehouse_wire::admin::run(SOCKET_PATH, words)
        }
        cmd => start(cmd, log),
    };
    std::process::exit(code);
}

/// The config file at its fixed path (never a path from the environment, which the client can
/// set). A missing file is the defaults; one that cannot be read or parsed is `None`, so a broken
/// config never loosens anything.
fn host_config(log: &Syslog) -> Option<Config> {
    match std::fs::read_to_string(CONFIG_PATH) {
        Ok(text) => match Config::parse(&text) {
            Ok(cfg) => Some(cfg),
            Err(e) => {
                log.warn(&format!("{CONFIG_PATH}: {e}"));
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Config::default()),
        Err(e) => {
            log.warn(&format!("cannot read {CONFIG_PATH}: {e}"));
            None
        }
    }
}

/// `legacy_without_landlock` from [`host_config`]; `false` when the file is broken.
fn legacy_without_landlock(log: &Syslog) -> bool {
    host_config(log).is_some_and(|c| c.legacy_without_landlock)
}

/// Defence in depth: the root the daemon named must lie under `home_base` or a root prefix of
/// this host's config, checked again here before it is opened (the daemon checks every row, but
/// this process serves the user's files and must not trust a single check elsewhere).
fn root_allowed(log: &Syslog, root: &str) -> Result<(), String> {
    match host_config(log) {
        Some(cfg) => cfg.check_root(root).map_err(|e| e.to_string()),
        None => Err(format!("{CONFIG_PATH} cannot be read, so no root can be checked")),
    }
}

/// Gets the session policy, opens the root, and serves the command.
fn start(cmd: Command, log: Syslog) -> i32 {
    let uid = rustix::process::getuid().as_raw();
    let rhost = rhost_from_ssh_connection(std::env::var("SSH_CONNECTION").ok().as_deref());
    let mut session = match Session::start(SOCKET_PATH, rhost) {
        Ok(s) => s,
        Err(e) => return refuse(&log, &e, &format!("uid {uid}: {e}")),
    };
    let info = session.info.clone();
    if info.uid != uid {
        return refuse(&log, "access denied", &format!("uid {uid}: the daemon described uid {}", info.uid));
    }
    if let Err(why) = root_allowed(&log, &info.root) {
        let msg = "Your root folder is not available; ask your administrator.";
        return refuse(&log, msg, &format!("{}: refused root {}: {why}", info.user, info.root));
    }
    let root = match Root::open(Path::new(&info.root)) {
        Ok(r) => r,
        Err(e) => {
            let msg = "Your root folder is not available; ask your administrator.";
            return refuse(&log, msg, &format!("{}: cannot open root {}: {e}", info.user, info.root));
        }
    };
    match cmd {
        Command::Sftp => {
            match confine(root.fd(), Fence::Sftp) {
                Ok(c) => log.info(&format!("{}: sftp session in {} ({c:?})", info.user, info.root)),
                Err(e) => {
                    return refuse(&log, "access denied", &format!("{}: cannot confine the session: {e}", info.user))
                }
            }
            let me = Identity { name: info.user.clone(), uid, gid: rustix::process::getgid().as_raw() };
            let mut server = Server::new(root, session.policy.clone(), info.max_file_size, me, log);
            let end = serve(&mut server, &mut session);
            let log = server.log();
            match end {
                End::ClientDone => {
                    log.info(&format!("{}: session closed", info.user));
                    0
                }
                End::Policy(why) => {
                    log.warn(&format!("{}: session ended: {why}", info.user));
                    1
                }
                End::Broken(why) => {
                    log.warn(&format!("{}: session broken: {why}", info.user));
                    1
                }
            }
        }
        Command::Scp(words) | Command::Rsync(words) => {
            let is_scp = words.first().is_some_and(|w| w.ends_with("scp"));
            let user = LegacyUser {
                root: Path::new(&info.root),
                read_only: session.policy.mode() == gatehouse_policy::rules::Mode::R,
                delete_allowed: info.delete_allowed,
                has_rules: !session.policy.has_no_rules(),
                max_file_size: info.max_file_size,
            };
            let plan = if is_scp { plan_scp(&words, &user) } else { plan_rsync(&words, &user) };
            match plan {
                Ok(plan) => {
                    log.info(&format!("{}: {} {:?}", info.user, plan.program.display(), plan.args));
                    match run(&plan, root.fd(), Path::new(&info.root), legacy_without_landlock(&log)) {
                        RunError::Refused { user, reason } => {
                            refuse(&log, user, &format!("{}: refused {:?}: {reason}", info.user, words.join(" ")))
                        }
                        RunError::Failed(e) => refuse(
                            &log,
                            "the transfer program could not be started",
                            &format!("{}: exec failed: {e}", info.user),
                        ),
                    }
                }
                Err(msg) => refuse(&log, &msg, &format!("{}: refused {:?}: {msg}", info.user, words.join(" "))),
            }
        }
        Command::Refused(_) | Command::Admin(_) => refuse(&log, "refused", &format!("{}: refused", info.user)),
    }
}
