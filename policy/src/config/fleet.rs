//! `[fleet]`: this host's name and groups, and how stale the offline cache may be.
use crate::error::PolicyError;
use serde::Deserialize;

/// `[fleet]`: what matters when many hosts share one PostgreSQL database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// This host's name, matched against users' and groups' `hosts` lists. Empty: the kernel's
    /// host name (`uname -n`).
    pub host: String,
    /// Host groups this host belongs to, matched against `host_groups` lists.
    pub host_groups: Vec<String>,
    /// How old the offline cache may be and still serve logins, keys and NSS while PostgreSQL
    /// is unreachable, e.g. `7d`. Older, every gatehouse login is refused as unavailable.
    pub max_staleness: String,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig { host: String::new(), host_groups: Vec::new(), max_staleness: "7d".into() }
    }
}

/// Checks a host or host-group name: 1–64 characters of `a-z A-Z 0-9 . _ -`.
pub fn validate_host_name(field: &'static str, s: &str) -> Result<(), PolicyError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(field, s, "expected 1-64 characters of letters, digits, '.', '_' or '-'"))
    }
}
