//! gatehouse-policy: the pure core that makes every gatehouse decision.
//!
//! Nothing in this crate does I/O beyond what a caller hands it: no async runtime, no database,
//! no sockets. The daemon, the CLI, the PAM and NSS modules and gatehouse-sftp all call the same
//! functions here, so a decision is made in exactly one place.
//!
//! The public API, in one list:
//! - [`config::Config`]: the configuration file and its defaults.
//! - [`access`]: login-time checks (active, expiry, lock, protocol, IP).
//! - [`error::PolicyError`]: every rejection, naming the field and the reason.
//! - [`ftp`]: what vsftpd can enforce for a user, and its per-user files.
//! - [`proftpd`]: the per-user ProFTPD files that enforce the whole rule set.
//! - [`model`]: user and group records and the validation of each field.
//! - [`fields`]: the validators the config file and the records share (names, roots, protocols).
//! - [`path`]: canonicalisation of client paths.
//! - [`rules`]: permission levels, rule keys and the permission rule itself.
//! - [`invite`]: one-time invitation and reset codes.
//! - [`ip`]: the allow/deny decision on a client address.
//! - [`password`]: hashing, verification of native and imported hashes, password policy.
//! - [`keys`]: OpenSSH public key parsing, normalisation and fingerprints.
//! - [`ldap`]: the `[ldap]` section and the bind DN of an LDAP-sourced user (RFC 4514 escaping).
//! - [`servable`]: whether a stored user or group may be served on this host (every row is input).
//! - [`secret::Secret`]: a string that never prints and is wiped on drop.
//! - [`totp`]: RFC 6238 codes, secrets, `otpauth://` URIs, verification with a replay step.
//! - [`wire`]: the daemon socket protocol (frames and messages; `gatehouse-wire` with the
//!   session policy filled in).
#![forbid(unsafe_code)]

pub mod access;
pub mod apppass;
pub mod config;
pub mod error;
pub mod fields;
pub mod ftp;
pub mod invite;
pub mod ip;
pub mod keys;
pub mod ldap;
pub mod model;
pub mod password;
pub mod path;
pub mod proftpd;
pub mod rules;
pub mod servable;
#[cfg(test)]
mod testutil;
pub mod totp;
pub mod wire;

pub use error::PolicyError;
/// [`secret::Secret`] lives in `gatehouse-wire` (the PAM module needs it without this crate).
pub use gatehouse_wire::secret;
