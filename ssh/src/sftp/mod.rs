//! The SFTP v3 server (plus OpenSSH's extensions) that gatehouse-sftp runs in process.
//!
//! - [`codec`]: the wire format: packet framing, the bounded reader, requests and replies.
//! - [`fs`]: every filesystem access, beneath a directory fd of the user's root.
//! - [`server`]: the handler table: decode → decide (policy core) → act → exactly one reply.
pub mod codec;
pub mod fs;
pub mod run;
pub mod server;
