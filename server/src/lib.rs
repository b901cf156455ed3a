//! gatehouse-server: the store over SQLite and PostgreSQL, the `gatehouse` CLI, and (in a later
//! step) the daemon. Everything that decides access lives in `gatehouse-policy`; this crate only
//! stores records and hands them to it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod command;
pub mod daemon;
pub mod export;
pub mod import;
pub mod service;
pub mod store;
pub mod tasks;
