//! gatehouse-modcore: what the programs that run inside or beside host processes share — the
//! PAM module, the NSS module and gatehouse-keys.
//!
//! - [`snapmap`]: the process-wide read-only mapping of the NSS snapshot;
//! - [`client`]: one request to gatehoused, with a deadline and a check of the daemon's uid;
//! - [`admin`]: a delegated admin's command sent to gatehoused (the `gatehouse` CLI run by a
//!   non-root account, and gatehouse-sftp for gatehouse users with the admin flag).
//!
//! Its own crate, not part of either module, so that pam_gatehouse.so does not also export the
//! NSS module's `_nss_gatehouse_*` symbols, and so nothing here pulls in an async runtime.
#![allow(unsafe_code)]

pub mod admin;
pub mod client;
pub mod snapmap;
