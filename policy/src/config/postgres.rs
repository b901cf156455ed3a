//! `[postgres]`: TLS and pool size for a PostgreSQL `database`.
use crate::error::PolicyError;
use crate::fields::validate_root;
use serde::Deserialize;

/// `[postgres]`: how gatehoused and the CLI connect to a PostgreSQL `database`. The keys are
/// libpq's where libpq has them, and when set they win over the same parameters in the URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// TLS: `disable`, `prefer`, `require`, `verify-ca` or `verify-full`. Empty: the URL's own
    /// `sslmode`, else `prefer`. `require` encrypts without checking who answers; fleets across
    /// a network want `verify-full`.
    pub sslmode: String,
    /// PEM file of the CA(s) the server's certificate must chain to (`verify-ca`,
    /// `verify-full`). Empty: the system's CA store.
    pub ca_file: String,
    /// Connections each process keeps open to the server at most (gatehoused's logins share
    /// them; the `LISTEN` connection is apart). 1–100.
    pub pool_size: u32,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig { sslmode: String::new(), ca_file: String::new(), pool_size: 8 }
    }
}

/// libpq's `sslmode` values that sqlx implements.
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

impl PostgresConfig {
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        if !self.sslmode.is_empty() && !SSL_MODES.contains(&self.sslmode.as_str()) {
            return Err(PolicyError::invalid(
                "postgres.sslmode",
                &self.sslmode,
                "expected disable, prefer, require, verify-ca or verify-full",
            ));
        }
        if !self.ca_file.is_empty() {
            validate_root(&self.ca_file).map_err(|_| {
                PolicyError::invalid("postgres.ca_file", &self.ca_file, "must be an absolute canonical path")
            })?;
        }
        if !(1..=100).contains(&self.pool_size) {
            return Err(PolicyError::invalid("postgres.pool_size", self.pool_size.to_string(), "expected 1 to 100"));
        }
        Ok(())
    }

    /// `database` with `sslmode` and `sslrootcert` (from `ca_file`) set from these keys, replacing
    /// the URL's own where a key is set.
    pub fn url(&self, database: &str) -> String {
        let mut set: Vec<(&str, String)> = Vec::new();
        if !self.sslmode.is_empty() {
            set.push(("sslmode", self.sslmode.clone()));
        }
        if !self.ca_file.is_empty() {
            set.push(("sslrootcert", percent_encode(&self.ca_file)));
        }
        if set.is_empty() {
            return database.to_string();
        }
        let (base, query) = database.split_once('?').unwrap_or((database, ""));
        let kept = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .filter(|kv| !set.iter().any(|(k, _)| kv.split('=').next() == Some(*k)));
        let params: Vec<String> = kept.map(str::to_string).chain(set.iter().map(|(k, v)| format!("{k}={v}"))).collect();
        format!("{base}?{}", params.join("&"))
    }
}

/// Percent-encodes what may not stand as is in a URL's query value.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
