//! One error type for the whole policy crate. Every variant names the field that was wrong, so a
//! CLI can print a one-line message that tells the operator what to fix.
use std::fmt;

/// A rejection by the policy core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A field of a record or of a request is malformed or out of range.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        /// The field's name as the CLI and JSON spell it (`name`, `email`, `allowed_ips`, ...).
        field: &'static str,
        /// The offending input, truncated to 80 characters; never a secret.
        value: String,
        /// Why it was rejected and, where possible, what would be accepted.
        reason: String,
    },
    /// A secret (a password) was rejected; the value is never echoed.
    #[error("invalid {field}: {reason}")]
    InvalidSecret {
        /// The field's name (`password`).
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

impl PolicyError {
    /// Builds [`PolicyError::Invalid`], truncating the echoed value.
    pub fn invalid(field: &'static str, value: impl AsRef<str>, reason: impl fmt::Display) -> Self {
        let value: String = value.as_ref().chars().take(80).collect();
        PolicyError::Invalid { field, value, reason: reason.to_string() }
    }

    /// Builds [`PolicyError::InvalidSecret`].
    pub fn secret(field: &'static str, reason: impl fmt::Display) -> Self {
        PolicyError::InvalidSecret { field, reason: reason.to_string() }
    }

    /// The field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            PolicyError::Invalid { field, .. } | PolicyError::InvalidSecret { field, .. } => field,
        }
    }
}

impl From<gatehouse_snapshot::BuildError> for PolicyError {
    /// The snapshot writer's refusals read like the policy core's own (`invalid name "a:b": …`).
    fn from(e: gatehouse_snapshot::BuildError) -> Self {
        PolicyError::Invalid { field: e.field, value: e.value, reason: e.reason }
    }
}
