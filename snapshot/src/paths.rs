//! The fixed paths the modules trust. They are compiled in: no environment variable or file
//! changes them (DESIGN, "Configuration and paths"). The policy crate re-exports them in
//! `gatehouse_policy::config`.

/// The fixed path of the NSS snapshot.
pub const SNAPSHOT_PATH: &str = "/var/lib/gatehouse/nss.db";
/// The fixed path of the daemon socket (the PAM module's default for `socket=`).
pub const SOCKET_PATH: &str = "/run/gatehouse/socket";
/// The shared, root-owned, read-only home directory of every gatehouse user.
pub const SHARED_HOME: &str = "/var/lib/gatehouse/home";
/// The login shell of every gatehouse user.
pub const LOGIN_SHELL: &str = "/usr/sbin/gatehouse-sftp";
