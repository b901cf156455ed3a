//! Connection slots by peer uid: no local account can take the slots PAM needs (issue 15).
//!
//! The socket is 0666 (who may ask what is decided per request), so any local account can
//! connect, and a `Ping` every few seconds keeps a connection from ever going idle. With one
//! pool of slots, 600 such connections from `nobody` left root's `Authenticate` nothing: every
//! gatehouse login on the host stopped. So the slots are split by the caller's `SO_PEERCRED`
//! uid, read once when the connection is accepted:
//!
//! - **Privileged** peers (root, the keys user, the uids `[callers]` names: see
//!   [`super::authz::CallerMap::is_privileged`]) may take any free slot, including the
//!   [`ConnLimits::reserved`] share no one else may take. PAM runs as root, so its requests
//!   always find a slot while unprivileged peers are crowding in.
//! - **Unprivileged** peers share the rest, and each uid holds at most [`ConnLimits::per_uid`]
//!   at once, so one account cannot starve the others either (gatehouse-sftp keeps one
//!   connection per open session, as the user).
//!
//! A connection over its limit is closed at once, before anything is read from it. The refusals
//! are logged at most once per [`REFUSAL_LOG_INTERVAL`] with a count, so a flood of connections
//! cannot become a flood of log lines. Time is an argument, so tests need no clock.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Connections served at once, all peers together.
pub const MAX_CONNECTIONS: usize = 512;
/// Of [`MAX_CONNECTIONS`], the share only privileged peers may use. sshd's default
/// `MaxStartups` allows 100 unauthenticated connections, each with at most one PAM call in
/// flight; vsftpd and ProFTPD add their own. 128 leaves room for that.
pub const RESERVED_FOR_PRIVILEGED: usize = 128;
/// Connections one unprivileged uid may hold at once. A legitimate unprivileged caller is
/// gatehouse-sftp (one connection per open session, kept for its policy refreshes) or an
/// admin's `gatehouse` command (one at a time); 32 covers a client that opens many parallel
/// SFTP sessions, while 600 idle connections from one account are refused.
pub const MAX_PER_UNPRIVILEGED_UID: usize = 32;
/// Refused connections are logged at most once per this interval, with how many there were.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How the slots are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Slots in all.
    pub total: usize,
    /// Slots only privileged peers may take (at most `total`).
    pub reserved: usize,
    /// Slots one unprivileged uid may hold.
    pub per_uid: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits { total: MAX_CONNECTIONS, reserved: RESERVED_FOR_PRIVILEGED, per_uid: MAX_PER_UNPRIVILEGED_UID }
    }
}

/// Why a connection got no slot: the words of the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is taken.
    Full,
    /// The unprivileged share is taken (the rest is reserved for root and the daemon's callers).
    UnprivilegedFull,
    /// This uid already holds its share.
    UidCap,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Full => "every connection slot is taken",
            Refused::UnprivilegedFull => "the unprivileged callers' share of connections is taken",
            Refused::UidCap => "this uid holds its maximum of connections",
        })
    }
}

/// The counts, under one lock.
#[derive(Debug, Default)]
struct Table {
    total: usize,
    unprivileged: usize,
    per_uid: HashMap<u32, usize>,
}

impl Table {
    /// Takes a slot for `uid` if the limits allow it.
    fn take(&mut self, lim: &ConnLimits, uid: u32, privileged: bool) -> Result<(), Refused> {
        if self.total >= lim.total {
            return Err(Refused::Full);
        }
        if !privileged {
            if self.unprivileged >= lim.total.saturating_sub(lim.reserved) {
                return Err(Refused::UnprivilegedFull);
            }
            let held = self.per_uid.entry(uid).or_insert(0);
            if *held >= lim.per_uid {
                return Err(Refused::UidCap);
            }
            *held += 1;
            self.unprivileged += 1;
        }
        self.total += 1;
        Ok(())
    }

    /// Gives back a slot [`Table::take`] gave.
    fn release(&mut self, uid: u32, privileged: bool) {
        self.total = self.total.saturating_sub(1);
        if !privileged {
            self.unprivileged = self.unprivileged.saturating_sub(1);
            if let Some(held) = self.per_uid.get_mut(&uid) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    self.per_uid.remove(&uid);
                }
            }
        }
    }
}

/// Counts refusals and says when to log them: the first at once, then at most one line per
/// interval, carrying how many were refused since the last line.
#[derive(Debug, Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    /// Notes one refusal at `now`; returns the count to log, if a line is due.
    fn note(&mut self, now: Instant, interval: Duration) -> Option<u64> {
        self.unlogged += 1;
        match self.last {
            Some(t) if now.saturating_duration_since(t) < interval => None,
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.unlogged))
            }
        }
    }
}

/// The daemon's connection slots.
#[derive(Debug)]
pub struct Slots {
    limits: ConnLimits,
    table: Mutex<Table>,
    refusals: Mutex<RefusalLog>,
}

/// One taken slot, given back when dropped (when the connection's task ends).
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    uid: u32,
    privileged: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.table.lock().unwrap_or_else(PoisonError::into_inner).release(self.uid, self.privileged);
    }
}

impl Slots {
    /// No slot taken yet.
    pub fn new(limits: ConnLimits) -> Arc<Slots> {
        Arc::new(Slots { limits, table: Mutex::new(Table::default()), refusals: Mutex::new(RefusalLog::default()) })
    }

    /// A slot for a connection from `uid`, or why not (the refusal is logged, rate-limited).
    pub fn take(self: &Arc<Self>, uid: u32, privileged: bool, now: Instant) -> Option<Slot> {
        let taken = self.table.lock().unwrap_or_else(PoisonError::into_inner).take(&self.limits, uid, privileged);
        match taken {
            Ok(()) => Some(Slot { slots: self.clone(), uid, privileged }),
            Err(why) => {
                let due = self.refusals.lock().unwrap_or_else(PoisonError::into_inner).note(now, REFUSAL_LOG_INTERVAL);
                if let Some(refused) = due {
                    tracing::warn!(
                        caller_uid = uid,
                        reason = %why,
                        refused,
                        "connection refused and closed (at most one such line per {}s; refused counts since the last)",
                        REFUSAL_LOG_INTERVAL.as_secs()
                    );
                }
                None
            }
        }
    }

    /// Slots taken now (tests, status).
    pub fn in_use(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIM: ConnLimits = ConnLimits { total: 10, reserved: 4, per_uid: 3 };

    #[test]
    fn one_uid_gets_its_cap_and_others_still_get_in() {
        let mut t = Table::default();
        for _ in 0..3 {
            t.take(&LIM, 65534, false).unwrap();
        }
        assert_eq!(t.take(&LIM, 65534, false), Err(Refused::UidCap));
        t.take(&LIM, 1000, false).unwrap();
        t.take(&LIM, 0, true).unwrap();
        t.release(65534, false);
        t.take(&LIM, 65534, false).unwrap();
    }

    #[test]
    fn the_reserved_share_is_for_privileged_peers_only() {
        let mut t = Table::default();
        // Six unprivileged uids fill the unprivileged share (10 - 4).
        for uid in 1000..1006 {
            t.take(&LIM, uid, false).unwrap();
        }
        assert_eq!(t.take(&LIM, 2000, false), Err(Refused::UnprivilegedFull));
        for _ in 0..4 {
            t.take(&LIM, 0, true).unwrap();
        }
        assert_eq!(t.take(&LIM, 0, true), Err(Refused::Full));
        t.release(1003, false);
        assert_eq!(t.take(&LIM, 2000, false), Ok(()));
        assert_eq!((t.total, t.unprivileged), (10, 6));
    }

    #[test]
    fn privileged_peers_may_use_every_slot() {
        let mut t = Table::default();
        for _ in 0..10 {
            t.take(&LIM, 0, true).unwrap();
        }
        assert_eq!(t.take(&LIM, 0, true), Err(Refused::Full));
        assert_eq!(t.take(&LIM, 1000, false), Err(Refused::Full));
    }

    #[test]
    fn slots_are_given_back_on_drop() {
        let s = Slots::new(LIM);
        let t0 = Instant::now();
        let held: Vec<Slot> = (0..3).filter_map(|_| s.take(65534, false, t0)).collect();
        assert_eq!((held.len(), s.in_use()), (3, 3));
        assert!(s.take(65534, false, t0).is_none());
        drop(held);
        assert_eq!(s.in_use(), 0);
        assert!(s.take(65534, false, t0).is_some());
        assert!(!s.table.lock().unwrap().per_uid.contains_key(&65534), "released uids are forgotten");
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let mut log = RefusalLog::default();
        let t0 = Instant::now();
        let i = Duration::from_secs(10);
        assert_eq!(log.note(t0, i), Some(1));
        for k in 1..=599 {
            assert_eq!(log.note(t0 + Duration::from_millis(k), i), None);
        }
        assert_eq!(log.note(t0 + Duration::from_secs(10), i), Some(600));
        assert_eq!(log.note(t0 + Duration::from_secs(11), i), None);
    }
}
