//! Per-source-address throttling and lockout, in memory, checked *before* any hashing.
//!
//! Each source (the normalised `PAM_RHOST`: an IP address, or the host name as given, or `-` for
//! none) has a token bucket: `burst` attempts at once, refilled at `burst` per `per`. A source
//! with no token left is answered "throttled" without a hash being computed, so sprayed names
//! cannot starve real logins of the hashing permits. Separately, `lock_failures` failed
//! passwords from one source within `window` lock that source for `lock_for` (DESIGN,
//! "Lockout": "the account (or the source IP)").
//!
//! The state is lost on restart, which is fine for both: they bound the rate, the per-user lock
//! in the database is what persists. Memory is bounded: when more than `max_tracked` sources are
//! known, idle ones are forgotten first. Time is an argument, so tests need no clock.
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The limits.
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
        }
    }
}

/// The answer to "may this source try now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Go ahead (a token was taken).
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

/// The key a client address is tracked under: the normalised IP, else the host name as given
/// (lowercased), else `-`.
pub fn source_key(rhost: Option<&str>) -> String {
    match rhost {
        None => "-".to_string(),
        Some(r) => match gatehouse_policy::ip::parse_addr(r) {
            Some(ip) => ip.to_string(),
            None if r.trim().is_empty() => "-".to_string(),
            None => r.trim().to_ascii_lowercase(),
        },
    }
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

    /// Takes one attempt for `key` if the source is neither locked nor out of tokens.
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
    use super::*;

    fn cfg() -> ThrottleConfig {
        ThrottleConfig {
            burst: 3,
            per: Duration::from_secs(3),
            lock_failures: 4,
            window: Duration::from_secs(60),
            lock_for: Duration::from_secs(100),
            max_tracked: 1000,
        }
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
        assert_eq!(source_key(None), "-");
        assert_eq!(source_key(Some("")), "-");
        assert_eq!(source_key(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(source_key(Some("[2001:db8::1]")), "2001:db8::1");
        assert_eq!(source_key(Some("Host.Example")), "host.example");
    }
}
