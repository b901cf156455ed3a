//! `[ldap]`: the directory that checks the passwords of users whose `password_source` is `ldap`
//! (the keys and their checks; the bind DN of a user is [`crate::ldap`]'s).
use super::units::parse_duration;
use crate::error::PolicyError;
use serde::Deserialize;

/// The longest `[ldap] timeout` accepted, in seconds: below pam_gatehouse's 3 s deadline for a
/// daemon answer, so the daemon answers "unavailable" before the module gives up.
pub const MAX_TIMEOUT_SECS: u64 = 2;

/// The placeholder in `bind_dn` replaced by the escaped login name.
pub const USER_PLACEHOLDER: &str = "{user}";

/// `[ldap]`. Not configured (`url` empty) means LDAP-sourced users cannot log in by password.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`; empty when no directory is configured.
    pub url: String,
    /// The DN to bind as, with `{user}` once, e.g. `uid={user},ou=people,dc=example,dc=org`.
    pub bind_dn: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding (refused with `ldaps://`).
    pub starttls: bool,
    /// PEM file of the CA(s) that sign the directory's certificate; the system's roots when
    /// unset.
    pub ca_file: Option<String>,
    /// Deadline for the whole bind, e.g. `2s`; at most [`MAX_TIMEOUT_SECS`].
    pub timeout: String,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig { url: String::new(), bind_dn: String::new(), starttls: false, ca_file: None, timeout: "2s".into() }
    }
}

impl LdapConfig {
    /// True when a directory is configured.
    pub fn is_configured(&self) -> bool {
        !self.url.is_empty()
    }

    /// True when the password would cross the network in clear: `ldap://` without StartTLS.
    pub fn is_cleartext(&self) -> bool {
        self.url.starts_with("ldap://") && !self.starttls
    }

    /// The bind deadline in seconds.
    pub fn timeout_secs(&self) -> Result<u64, PolicyError> {
        let s = parse_duration("ldap.timeout", &self.timeout)?;
        if s == 0 || s > MAX_TIMEOUT_SECS {
            return Err(PolicyError::invalid(
                "ldap.timeout",
                &self.timeout,
                format!("must be between 1s and {MAX_TIMEOUT_SECS}s (below the PAM module's 3 s deadline)"),
            ));
        }
        Ok(s)
    }

    /// Checks every value; an unconfigured section must be empty apart from defaults.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.timeout_secs()?;
        if !self.is_configured() {
            if !self.bind_dn.is_empty() || self.starttls || self.ca_file.is_some() {
                return Err(PolicyError::invalid("ldap.url", "", "is required when other [ldap] keys are set"));
            }
            return Ok(());
        }
        let rest = match (self.url.strip_prefix("ldap://"), self.url.strip_prefix("ldaps://")) {
            (Some(r), _) | (_, Some(r)) => r,
            _ => {
                return Err(PolicyError::invalid(
                    "ldap.url",
                    &self.url,
                    "expected ldap://host[:port] or ldaps://host[:port]",
                ))
            }
        };
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty()
            || host.contains(['/', '?', '#', '@'])
            || host.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(PolicyError::invalid(
                "ldap.url",
                &self.url,
                "expected ldap://host[:port] or ldaps://host[:port], nothing after the port",
            ));
        }
        if self.starttls && self.url.starts_with("ldaps://") {
            return Err(PolicyError::invalid(
                "ldap.starttls",
                "true",
                "StartTLS goes with ldap://; ldaps:// is TLS already",
            ));
        }
        let n = self.bind_dn.matches(USER_PLACEHOLDER).count();
        let stray = self.bind_dn.replace(USER_PLACEHOLDER, "").contains(['{', '}']);
        if n != 1 || stray {
            return Err(PolicyError::invalid(
                "ldap.bind_dn",
                &self.bind_dn,
                "must contain {user} exactly once and no other braces, e.g. uid={user},ou=people,dc=example,dc=org",
            ));
        }
        if let Some(ca) = &self.ca_file {
            if !ca.starts_with('/') {
                return Err(PolicyError::invalid("ldap.ca_file", ca, "must be an absolute path"));
            }
        }
        Ok(())
    }
}
