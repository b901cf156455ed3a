//! Builders for the unit tests of the FTP modules.
#![allow(clippy::unwrap_used)]
use crate::model::{Group, User};
use crate::rules::{Mode, Rule};

pub fn user(mode: Mode, delete_allowed: bool, max: Option<u64>, rules: Vec<Rule>) -> User {
    let json = serde_json::json!({
        "id": "u", "name": "alice", "uid": 1900000002, "gid": 1900000002, "display_name": "",
        "email": "", "locale": "", "time_zone": "", "password_hash": null, "password_source": "local",
        "must_change_password": false, "keys": [], "root": "/srv/gatehouse/alice", "mode": "rw",
        "delete_allowed": true, "rules": [], "allowed_ips": [], "denied_ips": [], "protocols": ["ftp"],
        "groups": [], "active": true, "expires_at": null, "max_file_size": null, "admin": false,
        "created_at": 0, "updated_at": 0, "last_login_at": null, "last_login_ip": null,
        "failed_logins": 0, "locked_until": null
    });
    let mut u: User = serde_json::from_value(json).unwrap();
    (u.mode, u.delete_allowed, u.max_file_size, u.rules) = (mode, delete_allowed, max, rules);
    u
}

pub fn group(name: &str, rules: Vec<Rule>, protocols: &[&str]) -> Group {
    let json = serde_json::json!({
        "id": "g", "name": name, "gid": 1900000003, "description": "", "rules": [], "allowed_ips": [],
        "denied_ips": [], "protocols": [], "members": ["alice"]
    });
    let mut g: Group = serde_json::from_value(json).unwrap();
    g.rules = rules;
    g.protocols = protocols.iter().map(|p| p.to_string()).collect();
    g
}
