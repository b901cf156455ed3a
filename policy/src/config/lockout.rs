//! `[lockout]` (per account) and `[throttle]` (per source): what repeated failed logins cost.
use super::units::parse_duration;
use crate::error::PolicyError;
use serde::Deserialize;

/// `[lockout]`: `failures` failed logins within `window` lock the account for `lock_for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Failures that trigger a lock; 0 disables lockout.
    pub failures: u32,
    /// Window in which failures are counted, e.g. `5m`.
    pub window: String,
    /// How long a lock lasts, e.g. `15m`.
    pub lock_for: String,
}

/// `[throttle]`: gatehoused's per-source limits on password attempts, kept in memory and
/// checked before any password is hashed, so sprayed names cannot queue hashes. A source is the
/// client address PAM reports: an IPv4 address, or an IPv6 address's `ipv6_prefix` network.
///
/// Only what an attacker does is limited: a wrong password or an unknown user spends a token, a
/// right password gives its token back. So an office behind one NAT, a backup job, or an FTP
/// client that logs in once per transfer is never throttled by its own successful logins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Attempts a source may have in flight or failed at once (the bucket); 0 disables the
    /// bucket.
    pub burst: u32,
    /// Time to refill a whole bucket, e.g. `10s` (tokens come back steadily: `burst` per `per`).
    pub per: String,
    /// Failed passwords (or unknown users) from one source within `lock_window` that lock the
    /// source; 0 never locks a source. Accounts have their own `[lockout]`.
    pub lock_failures: u32,
    /// Window in which a source's failures are counted, e.g. `5m`.
    pub lock_window: String,
    /// How long a source lock lasts, e.g. `15m`.
    pub lock_for: String,
    /// IPv6 sources are counted by their network of this prefix length (32–128): a site or a
    /// customer usually holds a whole /64 and can rotate addresses inside it at will, so counting
    /// per address would not hold it. 128 counts each address. IPv4 is always per address, and
    /// an IPv4-mapped address (`::ffff:a.b.c.d`) is IPv4.
    pub ipv6_prefix: u8,
}

/// `[throttle]`'s durations in seconds, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleDurations {
    /// `per`.
    pub per: u64,
    /// `lock_window`.
    pub lock_window: u64,
    /// `lock_for`.
    pub lock_for: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            burst: 10,
            per: "10s".into(),
            lock_failures: 20,
            lock_window: "5m".into(),
            lock_for: "15m".into(),
            ipv6_prefix: 64,
        }
    }
}

impl ThrottleConfig {
    /// Parses and checks the durations and the prefix: the one place both `validate` and the
    /// daemon read them from. A limit that is on must have a non-zero duration (a zero `per`
    /// would refill at once, which is `burst = 0` spelled wrong).
    pub fn durations(&self) -> Result<ThrottleDurations, PolicyError> {
        let d = ThrottleDurations {
            per: parse_duration("throttle.per", &self.per)?,
            lock_window: parse_duration("throttle.lock_window", &self.lock_window)?,
            lock_for: parse_duration("throttle.lock_for", &self.lock_for)?,
        };
        if self.burst > 0 && d.per == 0 {
            return Err(PolicyError::invalid("throttle.per", &self.per, "must be at least 1s (burst = 0 disables)"));
        }
        for (field, value, secs) in [
            ("throttle.lock_window", &self.lock_window, d.lock_window),
            ("throttle.lock_for", &self.lock_for, d.lock_for),
        ] {
            if self.lock_failures > 0 && secs == 0 {
                return Err(PolicyError::invalid(field, value, "must be at least 1s (lock_failures = 0 disables)"));
            }
        }
        if !(32..=128).contains(&self.ipv6_prefix) {
            return Err(PolicyError::invalid(
                "throttle.ipv6_prefix",
                self.ipv6_prefix.to_string(),
                "expected 32 to 128: 64 for a customer's or site's network, 48 or 56 for a larger site, 128 per address",
            ));
        }
        Ok(d)
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig { failures: 5, window: "5m".into(), lock_for: "15m".into() }
    }
}
