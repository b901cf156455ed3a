//! Per-source throttling and lockout, in memory, checked *before* any hashing.
//!
//! Each source has a token bucket: `burst` attempts at once, refilled at `burst` per `per`. A
//! source is the normalised `PAM_RHOST` ([`source_key`]): an IPv4 address; an IPv6 address's
//! `ipv6_prefix` network (a /64 by default: one customer or site is handed a whole /64 and can
//! rotate addresses inside it at will, so a per-address key would not hold an attacker); the
//! host name as given; or `-` for none. Separately, `lock_failures` failed passwords from one
//! source within `window` lock that source for `lock_for` (DESIGN, "Lockout": "the account (or
//! the source IP)").
//!
//! **What costs a token (issue 15, item 8).** The throttle is for what an attacker does: wrong
//! passwords and unknown users. A login that succeeds must not be refused later because of
//! earlier successes, or an office behind one NAT, a backup job, or an FTP client that logs in
//! once per transfer is answered "throttled" after ten logins. Yet the bucket cannot be
//! consulted only *after* the outcome is known: the outcome costs a hash, and the point of the
//! throttle is that sprayed names cannot queue hashes and starve real logins of the hashing
//! threads. So an attempt *takes* a token before anything is looked up or hashed ([`Throttle::admit`]),
//! and the token is *given back* when the secret proves right ([`Throttle::refund`]). Taking it
//! first (rather than just checking that one is left) also bounds concurrency: a source can
//! never have more than `burst` attempts in flight, so a thousand attempts sent at once are not
//! all admitted before the first of them fails. The net effect: failures (and answers that are
//! neither, such as a dead LDAP directory) spend tokens; successes spend none.
//!
//! The state is lost on restart, which is fine for both: they bound the rate, the per-user lock
//! in the database is what persists. Memory is bounded: when more than `max_tracked` sources are
//! known, idle ones are forgotten first. Time is an argument, so tests need no clock.
use gatehouse_policy::error::PolicyError;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The limits, from `[throttle]` ([`ThrottleConfig::from_config`]); the defaults are the
/// config file's.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Attempts a source may make at once (the bucket size); 0 disables throttling.
    pub burst: u32,
    /// Time to refill a whole bucket.
    pub per: Duration,
    /// Failed passwords from one source within `window` that lock it; 0 disables.
    pub lock_failures: u32,
    /// Window in which a source's failures are counted.
    pub window: Duration,
    /// How long a source lock lasts.
    pub lock_for: Duration,
    /// Sources tracked at most before idle ones are forgotten.
    pub max_tracked: usize,
    /// IPv6 sources are tracked by their network of this prefix length (1–128; 128 is per
    /// address). IPv4 sources are always per address.
    pub ipv6_prefix: u8,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            burst: 10,
            per: Duration::from_secs(10),
            lock_failures: 20,
            window: Duration::from_secs(300),
            lock_for: Duration::from_secs(900),
            max_tracked: 65_536,
            ipv6_prefix: 64,
        }
    }
}

impl ThrottleConfig {
    /// The limits `[throttle]` sets (durations parsed and checked there, in one place).
    pub fn from_config(c: &gatehouse_policy::config::ThrottleConfig) -> Result<ThrottleConfig, PolicyError> {
        let d = c.durations()?;
        Ok(ThrottleConfig {
            burst: c.burst,
            per: Duration::from_secs(d.per),
            lock_failures: c.lock_failures,
            window: Duration::from_secs(d.lock_window),
            lock_for: Duration::from_secs(d.lock_for),
            ipv6_prefix: c.ipv6_prefix,
            ..ThrottleConfig::default()
        })
    }
}

/// The answer to "may this source try now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Go ahead (a token was taken; [`Throttle::refund`] gives it back if the secret is right).
    Yes,
    /// Too many attempts too fast.
    Throttled,
    /// The source is locked for this much longer.
    Locked(Duration),
}

#[derive(Debug)]
struct Source {
    tokens: f64,
    refilled: Instant,
    failures: u32,
    first_failure: Option<Instant>,
    locked_until: Option<Instant>,
}

/// The per-source state.
#[derive(Debug)]
pub struct Throttle {
    cfg: ThrottleConfig,
    sources: HashMap<String, Source>,
}

/// The key a client address is tracked under: an IPv4 address as is (an IPv4-mapped IPv6 one
/// is IPv4), an IPv6 address as its `ipv6_prefix` network (`2001:db8:1:2::/64`; the bare
/// address at 128), else the host name as given (lowercased), else `-`.
pub fn source_key(rhost: Option<&str>, ipv6_prefix: u8) -> String {
    match rhost {
        None => "-".to_string(),
        Some(r) => match gatehouse_policy::ip::parse_addr(r) {
            Some(IpAddr::V6(a)) if ipv6_prefix < 128 => format!("{}/{ipv6_prefix}", v6_network(a, ipv6_prefix)),
            Some(ip) => ip.to_string(),
            None if r.trim().is_empty() => "-".to_string(),
            None => r.trim().to_ascii_lowercase(),
        },
    }
}

/// `a` with every bit after the first `prefix` cleared.
fn v6_network(a: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let keep = u32::from(prefix.min(128));
    let mask = u128::MAX.checked_shl(128 - keep).unwrap_or(0);
    Ipv6Addr::from(u128::from(a) & mask)
}

impl Throttle {
    /// An empty table.
    pub fn new(cfg: ThrottleConfig) -> Throttle {
        Throttle { cfg, sources: HashMap::new() }
    }

    fn refill(&self, s: &mut Source, now: Instant) {
        let per = self.cfg.per.as_secs_f64();
        let burst = f64::from(self.cfg.burst);
        let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
        s.tokens = if per <= 0.0 { burst } else { (s.tokens + elapsed * burst / per).min(burst) };
        s.refilled = now;
    }

    /// The key `rhost` is tracked under, with this table's IPv6 prefix ([`source_key`]).
    pub fn key(&self, rhost: Option<&str>) -> String {
        source_key(rhost, self.cfg.ipv6_prefix)
    }

    /// Takes one attempt for `key` if the source is neither locked nor out of tokens. Called
    /// before any lookup or hash; see the module doc for why the token is taken, not just looked at.
    pub fn admit(&mut self, key: &str, now: Instant) -> Admit {
        self.prune(now);
        let burst = f64::from(self.cfg.burst);
        let mut s = self.sources.remove(key).unwrap_or(Source {
            tokens: burst,
            refilled: now,
            failures: 0,
            first_failure: None,
            locked_until: None,
        });
        self.refill(&mut s, now);
        let answer = match s.locked_until {
            Some(t) if t > now => Admit::Locked(t - now),
            _ => {
                s.locked_until = None;
                if self.cfg.burst == 0 {
                    Admit::Yes
                } else if s.tokens >= 1.0 {
                    s.tokens -= 1.0;
                    Admit::Yes
                } else {
                    Admit::Throttled
                }
            }
        };
        self.sources.insert(key.to_string(), s);
        answer
    }

    /// Gives back the token [`Throttle::admit`] took for `key`: the secret was right, and
    /// successful logins are not what the throttle limits. Never above `burst`.
    pub fn refund(&mut self, key: &str, now: Instant) {
        if self.cfg.burst == 0 {
            return;
        }
        let burst = f64::from(self.cfg.burst);
        let mut s = match self.sources.remove(key) {
            Some(s) => s,
            None => return,
        };
        self.refill(&mut s, now);
        s.tokens = (s.tokens + 1.0).min(burst);
        self.sources.insert(key.to_string(), s);
    }

    /// Counts a failed password (or an unknown user) from `key`. Returns true if this failure
    /// locked the source.
    pub fn failure(&mut self, key: &str, now: Instant) -> bool {
        if self.cfg.lock_failures == 0 {
            return false;
        }
        let burst = f64::from(self.cfg.burst);
        let s = self.sources.entry(key.to_string()).or_insert(Source {
            tokens: burst,
            refilled: now,
            failures: 0,
            first_failure: None,
            locked_until: None,
        });
        match s.first_failure {
            Some(t) if now.saturating_duration_since(t) <= self.cfg.window => s.failures += 1,
            _ => {
                s.first_failure = Some(now);
                s.failures = 1;
            }
        }
        if s.failures >= self.cfg.lock_failures {
            s.locked_until = Some(now + self.cfg.lock_for);
            s.failures = 0;
            s.first_failure = None;
            true
        } else {
            false
        }
    }

    /// Number of sources tracked (tests, status).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    /// Forgets idle sources when the table is full: full bucket, not locked, no failure in the
    /// window. If that is not enough, keeps only locked sources.
    fn prune(&mut self, now: Instant) {
        if self.sources.len() < self.cfg.max_tracked {
            return;
        }
        let cfg = self.cfg.clone();
        let burst = f64::from(cfg.burst);
        let per = cfg.per.as_secs_f64();
        self.sources.retain(|_, s| {
            let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
            let full = per <= 0.0 || s.tokens + elapsed * burst / per >= burst;
            let locked = s.locked_until.is_some_and(|t| t > now);
            let failing = s.first_failure.is_some_and(|t| now.saturating_duration_since(t) <= cfg.window);
            locked || failing || !full
        });
        if self.sources.len() >= cfg.max_tracked {
            self.sources.retain(|_, s| s.locked_until.is_some_and(|t| t > now));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cfg() -> ThrottleConfig {
        ThrottleConfig {
            burst: 3,
            per: Duration::from_secs(3),
            lock_failures: 4,
            window: Duration::from_secs(60),
            lock_for: Duration::from_secs(100),
            max_tracked: 1000,
            ipv6_prefix: 64,
        }
    }

    #[test]
    fn defaults_are_the_config_files() {
        let from_file = ThrottleConfig::from_config(&gatehouse_policy::config::ThrottleConfig::default()).unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{:?}", ThrottleConfig::default()));
    }

    #[test]
    fn bucket_empties_and_refills() {
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.admit("192.0.2.1", t0), Admit::Yes);
        }
        assert_eq!(t.admit("192.0.2.1", t0), Admit::Throttled);
        // Another source is not affected.
        assert_eq!(t.admit("192.0.2.2", t0), Admit::Yes);
        // One token per second comes back.
        assert_eq!(t.admit("192.0.2.1", t0 + Duration::from_millis(1100)), Admit::Yes);
        assert_eq!(t.admit("192.0.2.1", t0 + Duration::from_millis(1200)), Admit::Throttled);
        // Never more than the burst.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(t.admit("192.0.2.1", later), Admit::Yes);
        }
        assert_eq!(t.admit("192.0.2.1", later), Admit::Throttled);
    }

    #[test]
    fn failures_lock_the_source_then_expire() {
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(!t.failure("192.0.2.1", t0 + Duration::from_secs(i)));
        }
        assert!(t.failure("192.0.2.1", t0 + Duration::from_secs(3)));
        assert_eq!(t.admit("192.0.2.1", t0 + Duration::from_secs(4)), Admit::Locked(Duration::from_secs(99)));
        assert_eq!(t.admit("192.0.2.9", t0 + Duration::from_secs(4)), Admit::Yes);
        assert_eq!(t.admit("192.0.2.1", t0 + Duration::from_secs(104)), Admit::Yes);
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(!t.failure("a", t0 + Duration::from_secs(i * 100)));
        }
        assert!(!t.failure("a", t0 + Duration::from_secs(301)));
    }

    #[test]
    fn zero_disables() {
        let mut t = Throttle::new(ThrottleConfig { burst: 0, lock_failures: 0, ..cfg() });
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(t.admit("a", t0), Admit::Yes);
            assert!(!t.failure("a", t0));
        }
    }

    #[test]
    fn table_is_bounded() {
        let mut t = Throttle::new(ThrottleConfig { max_tracked: 10, ..cfg() });
        let t0 = Instant::now();
        assert!(
            t.failure("locked", t0) || t.failure("locked", t0) || t.failure("locked", t0) || t.failure("locked", t0)
        );
        for i in 0..100 {
            t.admit(&format!("10.0.0.{i}"), t0 + Duration::from_secs(i));
        }
        assert!(t.tracked() <= 11, "{}", t.tracked());
        assert!(matches!(t.admit("locked", t0 + Duration::from_secs(50)), Admit::Locked(_)));
    }

    #[test]
    fn source_keys() {
        assert_eq!(source_key(None, 64), "-");
        assert_eq!(source_key(Some(""), 64), "-");
        assert_eq!(source_key(Some("::ffff:192.0.2.7"), 64), "192.0.2.7");
        assert_eq!(source_key(Some("[::ffff:192.0.2.7]"), 48), "192.0.2.7");
        assert_eq!(source_key(Some("192.0.2.7"), 64), "192.0.2.7");
        assert_eq!(source_key(Some("[2001:db8::1]"), 64), "2001:db8::/64");
        assert_eq!(source_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64), "2001:db8:1:2::/64");
        assert_eq!(source_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 48), "2001:db8:1::/48");
        assert_eq!(source_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 128), "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        assert_eq!(source_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 1), "::/1");
        assert_eq!(source_key(Some("fe80::1%eth0"), 64), "fe80::/64");
        assert_eq!(source_key(Some("Host.Example"), 64), "host.example");
    }

    #[test]
    fn addresses_in_one_ipv6_prefix_share_a_bucket() {
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        for a in ["2001:db8:0:7::1", "2001:db8:0:7::2", "2001:db8:0:7:ffff:ffff:ffff:ffff"] {
            assert_eq!(t.admit(&t.key(Some(a)), t0), Admit::Yes, "{a}");
        }
        assert_eq!(t.admit(&t.key(Some("2001:db8:0:7::99")), t0), Admit::Throttled, "same /64");
        assert_eq!(t.admit(&t.key(Some("2001:db8:0:8::1")), t0), Admit::Yes, "the next /64");
        // Per address when configured so.
        let mut t = Throttle::new(ThrottleConfig { ipv6_prefix: 128, ..cfg() });
        for last in 1..=5 {
            assert_eq!(t.admit(&t.key(Some(&format!("2001:db8:0:7::{last}"))), t0), Admit::Yes);
        }
    }

    #[test]
    fn successes_are_refunded_failures_are_not() {
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        // Thirty good logins in the same instant: each token comes back.
        for _ in 0..30 {
            assert_eq!(t.admit("192.0.2.1", t0), Admit::Yes);
            t.refund("192.0.2.1", t0);
        }
        // Failures keep theirs: three, then throttled, and a good password waits its turn too.
        for _ in 0..3 {
            assert_eq!(t.admit("192.0.2.1", t0), Admit::Yes);
            assert!(!t.failure("192.0.2.1", t0));
        }
        assert_eq!(t.admit("192.0.2.1", t0), Admit::Throttled);
        // A refund never raises the bucket above the burst.
        let mut t = Throttle::new(cfg());
        t.admit("a", t0);
        for _ in 0..10 {
            t.refund("a", t0);
        }
        for _ in 0..3 {
            assert_eq!(t.admit("a", t0), Admit::Yes);
        }
        assert_eq!(t.admit("a", t0), Admit::Throttled);
    }

    #[test]
    fn tokens_are_taken_before_the_outcome_so_concurrency_is_bounded() {
        // Ten attempts admitted at once (nothing settled yet): only `burst` go through.
        let mut t = Throttle::new(cfg());
        let t0 = Instant::now();
        let admitted = (0..10).filter(|_| t.admit("192.0.2.1", t0) == Admit::Yes).count();
        assert_eq!(admitted, 3);
        // A source that is locked stays locked whatever its successes.
        for i in 0..4 {
            t.failure("192.0.2.1", t0 + Duration::from_secs(i));
        }
        t.refund("192.0.2.1", t0 + Duration::from_secs(4));
        assert!(matches!(t.admit("192.0.2.1", t0 + Duration::from_secs(5)), Admit::Locked(_)));
    }
}
