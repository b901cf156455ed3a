//! gatehouse-modcore: what the programs that run inside or beside host processes share — the
//! PAM module, the NSS module and gatehouse-keys.
//!
//! - [`snapmap`]: the process-wide read-only mapping of the NSS snapshot;
//! - [`client`]: one request to gatehoused (bytes in, bytes out), with a deadline and a check of
//!   the daemon's uid. The messages themselves are `gatehouse-wire`'s.
//!
//! Its own crate, not part of either module, so that pam_gatehouse.so does not also export the
//! NSS module's `_nss_gatehouse_*` symbols, and so nothing here pulls in an async runtime. It
//! depends on the snapshot format and `libc` only.
#![allow(unsafe_code)]

pub mod client;
pub mod snapmap;
