//! The programs sshd runs for gatehouse users: `gatehouse-keys` (the `AuthorizedKeysCommand`)
//! and `gatehouse-sftp` (the `ForceCommand` and login shell, which is the SFTP server itself).
#![forbid(unsafe_code)]

pub mod command;
pub mod confine;
pub mod keys;
pub mod legacy;
pub mod session;
pub mod sftp;
pub mod syslog;
