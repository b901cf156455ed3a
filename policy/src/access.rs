//! Login-time decisions: is the account usable, from this address, over this protocol.
//!
//! The daemon's account phase, gatehouse-keys and `gatehouse check` all call [`login_checks`],
//! so the reasons an operator reads in `check` are the ones the log lines give at login.
use crate::ip::{decide_ip, parse_addr, IpLists};
use crate::model::{format_time, Group, User};
use crate::rules::{GroupRules, Policy};

/// What is being asked at login. `None` fields are not checked.
#[derive(Debug, Clone, Copy)]
pub struct LoginRequest<'a> {
    /// Unix seconds now.
    pub now: i64,
    /// The protocol of the service (`ssh`, `ftp`, ...).
    pub protocol: Option<&'a str>,
    /// The client address as the server gave it (an IP, or a hostname that fails closed).
    pub rhost: Option<&'a str>,
}

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `active`, `expiry`, `lock`, `protocol` or `ip`.
    pub what: &'static str,
    /// The answer.
    pub allowed: bool,
    /// Which setting, group or list decided, in words.
    pub reason: String,
}

/// The protocols a user may use: their own set united with their groups' sets.
pub fn effective_protocols(user: &User, groups: &[Group]) -> Vec<String> {
    let mut v: Vec<String> =
        user.protocols.iter().chain(groups.iter().flat_map(|g| g.protocols.iter())).cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// The compiled path policy of a user and their groups.
pub fn policy_for(user: &User, groups: &[Group]) -> Policy {
    let g: Vec<GroupRules<'_>> = groups.iter().map(|g| GroupRules { group: &g.name, rules: &g.rules }).collect();
    Policy::new(&user.rules, &g, user.mode, user.delete_allowed)
}

/// Answers every login question that applies, in a fixed order. Access is granted only if all
/// are allowed.
pub fn login_checks(user: &User, groups: &[Group], req: &LoginRequest<'_>) -> Vec<Check> {
    let mut out = Vec::with_capacity(5);
    out.push(if user.active {
        Check { what: "active", allowed: true, reason: "account is active".into() }
    } else {
        Check { what: "active", allowed: false, reason: "account is inactive (active=false)".into() }
    });
    out.push(match user.expires_at {
        Some(t) if t <= req.now => {
            Check { what: "expiry", allowed: false, reason: format!("account expired at {}", format_time(t)) }
        }
        Some(t) => Check { what: "expiry", allowed: true, reason: format!("account expires at {}", format_time(t)) },
        None => Check { what: "expiry", allowed: true, reason: "account does not expire".into() },
    });
    out.push(match user.locked_until {
        Some(t) if t > req.now => Check {
            what: "lock",
            allowed: false,
            reason: format!(
                "locked until {} after {} failed logins (gatehouse unlock)",
                format_time(t),
                user.failed_logins
            ),
        },
        _ => Check { what: "lock", allowed: true, reason: "not locked".into() },
    });
    if let Some(p) = req.protocol {
        let own = user.protocols.iter().any(|x| x == p);
        let via: Vec<&str> =
            groups.iter().filter(|g| g.protocols.iter().any(|x| x == p)).map(|g| g.name.as_str()).collect();
        out.push(if own {
            Check { what: "protocol", allowed: true, reason: format!("{p} is in the user's protocols") }
        } else if !via.is_empty() {
            Check { what: "protocol", allowed: true, reason: format!("{p} is granted by group {}", via.join(", ")) }
        } else {
            let eff = effective_protocols(user, groups);
            let list = if eff.is_empty() { "none".to_string() } else { eff.join(",") };
            Check {
                what: "protocol",
                allowed: false,
                reason: format!("{p} is not among the user's protocols ({list})"),
            }
        });
    }
    if let Some(rhost) = req.rhost {
        let addr = parse_addr(rhost);
        let mut lists = vec![IpLists { owner: "user", allow: &user.allowed_ips, deny: &user.denied_ips }];
        let owners: Vec<String> = groups.iter().map(|g| format!("group {}", g.name)).collect();
        for (g, owner) in groups.iter().zip(&owners) {
            lists.push(IpLists { owner, allow: &g.allowed_ips, deny: &g.denied_ips });
        }
        let d = decide_ip(addr, &lists);
        out.push(Check { what: "ip", allowed: d.allowed, reason: d.reason });
    }
    out
}
