//! Builders for the unit tests of the FTP modules, on `model::fixtures`.
#![allow(clippy::unwrap_used)]
use crate::model::{fixtures, Group, User};
use crate::rules::{Mode, Rule};

/// `alice`, allowed ftp, with this mode, delete right, size cap and rules.
pub fn user(mode: Mode, delete_allowed: bool, max: Option<u64>, rules: Vec<Rule>) -> User {
    let mut u = fixtures::user("alice");
    u.protocols = vec!["ftp".into()];
    (u.mode, u.delete_allowed, u.max_file_size, u.rules) = (mode, delete_allowed, max, rules);
    u
}

/// A group of `alice` with these rules and protocols.
pub fn group(name: &str, rules: Vec<Rule>, protocols: &[&str]) -> Group {
    let mut g = fixtures::group(name);
    g.rules = rules;
    g.protocols = protocols.iter().map(|p| p.to_string()).collect();
    g
}
