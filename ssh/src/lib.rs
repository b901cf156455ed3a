//! gatehouse-ssh: the programs sshd runs for gatehouse users: `gatehouse-keys` (the
//! `AuthorizedKeysCommand`) and `gatehouse-sftp` (the `ForceCommand` and login shell, which is
//! the SFTP server itself, and serves scp and rsync too).
//!
//! Named for what starts them, sshd, and not `sftp-hook` as it once was: neither program hooks
//! into an SFTP server (gatehouse-sftp *is* the server, and also serves scp, rsync and a
//! gatehouse admin's commands), and gatehouse-keys has nothing to do with SFTP. What the two
//! share is that OpenSSH runs them, as the user or as the keys user, on every SSH login; the
//! crates beside this one are named the same way, for where their code runs (`pam/`, `nss/`,
//! `tasks/` for gatehouse-tasks, `server/` for gatehoused and the CLI).
#![forbid(unsafe_code)]

pub mod command;
pub mod confine;
pub mod keys;
pub mod legacy;
pub mod session;
pub mod sftp;
pub mod syslog;
