//! `[password]`: the password policy.
use serde::Deserialize;

/// `[password]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Optional file of breached passwords, one per line.
    pub breached_list: Option<String>,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig { min_length: 14, breached_list: None }
    }
}
