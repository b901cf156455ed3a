//! The programs sshd runs for gatehouse users. Today: the logic of `gatehouse-keys`.
#![forbid(unsafe_code)]

pub mod keys;
