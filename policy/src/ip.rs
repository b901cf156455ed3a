//! The IP allow/deny decision (DESIGN, the permission rule, step 8).
//!
//! Addresses and networks are normalised before anything compares them: a bare IP is a /32 or
//! /128, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, as dual-stack servers report IPv4
//! clients) becomes the plain IPv4 address, so one `192.0.2.0/24` entry covers both spellings.
//! Any deny entry, the user's or any group's, is checked first. The effective allow-list is the
//! union of the *non-empty* allow lists, so a group without an IP list never widens a restricted
//! user; it is "any" only when every list is empty. A `PAM_RHOST` that is a host name rather than
//! an address fails closed for users with any IP rule.
//!
//! A network with host bits set (`192.0.2.7/24`) is **rejected**, not truncated: in an allow list a
//! typo such as `10.1.2.3/8` would otherwise silently open a whole /8. The error says which
//! network or single address was probably meant.
use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

use crate::error::PolicyError;

/// Parses a CIDR network or a bare IP (a bare IP is a /32 or /128).
///
/// An IPv4-mapped address normalises to IPv4, with its prefix reduced by 96
/// (`::ffff:192.0.2.0/120` is `192.0.2.0/24`); a mapped network shorter than /96 is rejected, as
/// it would reach beyond the mapped range. Surrounding whitespace is ignored. `field` names the
/// list in errors (`allowed_ips`, `denied_ips`).
///
/// # Errors
/// [`PolicyError::Invalid`] naming `field`: not an address, a bad prefix length, a short mapped
/// prefix, or host bits set (the message suggests the network and the single address).
pub fn parse_net(field: &'static str, s: &str) -> Result<IpNet, PolicyError> {
    let t = s.trim();
    let bad = |reason: &str| PolicyError::invalid(field, s, reason);
    let (addr_s, len_s) = match t.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (t, None),
    };
    let addr: IpAddr = addr_s.parse().map_err(|_| {
        bad("not an IP address or CIDR network (expected e.g. 192.0.2.0/24, 2001:db8::/32 or 192.0.2.7)")
    })?;
    let len = match len_s {
        None => None,
        Some(l) if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => {
            Some(l.parse::<u8>().map_err(|_| bad("prefix length is out of range"))?)
        }
        Some(_) => return Err(bad("prefix length after / must be a number")),
    };
    let (addr, len) = match addr {
        IpAddr::V4(_) => (addr, len.unwrap_or(32)),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => {
                let len = len.unwrap_or(128);
                if len < 96 {
                    return Err(bad(
                        "an IPv4-mapped (::ffff:) network needs a prefix of at least /96; write the IPv4 network instead",
                    ));
                }
                (IpAddr::V4(v4), len.saturating_sub(96).min(33))
            }
            None => (addr, len.unwrap_or(128)),
        },
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad(if max == 32 {
            "prefix length must be at most 32 for IPv4"
        } else {
            "prefix length must be at most 128 for IPv6"
        }));
    }
    let net = IpNet::new(addr, len).map_err(|_| bad("prefix length is out of range"))?;
    if net.trunc() != net {
        return Err(bad(&format!(
            "host bits are set; did you mean {} (the network) or {addr}/{max} (one address)?",
            net.trunc()
        )));
    }
    Ok(net)
}

/// Parses a client address as `PAM_RHOST` gives it: IPv4, IPv6, IPv4-mapped IPv6, optionally in
/// `[...]` brackets and with a `%zone` suffix (IPv6 only). Returns the normalised address, or
/// `None` for anything else (a host name).
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    let mut t = s.trim();
    if let Some(inner) = t.strip_prefix('[') {
        t = inner.strip_suffix(']')?;
    }
    if let Ok(a) = t.parse::<IpAddr>() {
        return Some(normalize(a));
    }
    let (a, zone) = t.split_once('%')?;
    if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return None;
    }
    let v6: Ipv6Addr = a.parse().ok()?;
    Some(normalize(IpAddr::V6(v6)))
}

/// Turns an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) into the IPv4 address; anything else is
/// returned unchanged (in particular `::1` and the deprecated IPv4-compatible form stay IPv6).
pub fn normalize(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// A network as compared: IPv4-mapped networks of /96 or longer become IPv4, so a list built
/// without [`parse_net`] still matches normalised addresses.
fn normalize_net(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if let (Some(v4), true) = (n.network().to_ipv4_mapped(), n.prefix_len() >= 96) {
            if let Ok(v4net) = IpNet::new(IpAddr::V4(v4), n.prefix_len() - 96) {
                return v4net;
            }
        }
    }
    net
}

/// The IP lists of the user or of one group.
#[derive(Clone, Copy, Debug)]
pub struct IpLists<'a> {
    /// Who the lists belong to, as explanations name it: `user` or `group NAME`.
    pub owner: &'a str,
    /// `allowed_ips`; empty means "no restriction from this owner".
    pub allow: &'a [IpNet],
    /// `denied_ips`.
    pub deny: &'a [IpNet],
}

/// The decision on a client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpDecision {
    /// True if the address may connect.
    pub allowed: bool,
    /// One line naming the entry and owner that decided (`denied: 192.0.2.7 is in denied_ips
    /// 192.0.2.0/24 of group acme`).
    pub reason: String,
}

/// Decides a client address against the user's and their groups' lists (DESIGN step 8).
///
/// Deny entries of every owner are checked first. Then the effective allow-list is the union of
/// the non-empty allow lists; if every allow list is empty, any address passes. `addr: None` (a
/// host name in `PAM_RHOST`) is denied if any list is non-empty, and allowed otherwise.
pub fn decide_ip(addr: Option<IpAddr>, lists: &[IpLists<'_>]) -> IpDecision {
    let Some(addr) = addr.map(normalize) else {
        return match lists.iter().find(|l| !l.allow.is_empty() || !l.deny.is_empty()) {
            Some(l) => IpDecision {
                allowed: false,
                reason: format!(
                    "denied: the client address is a host name, not an IP address, and {} has IP rules (IP-restricted users fail closed)",
                    l.owner
                ),
            },
            None => IpDecision { allowed: true, reason: "allowed: no IP rules apply".to_owned() },
        };
    };
    for l in lists {
        if let Some(net) = l.deny.iter().find(|n| normalize_net(**n).contains(&addr)) {
            return IpDecision {
                allowed: false,
                reason: format!("denied: {addr} is in denied_ips {net} of {}", l.owner),
            };
        }
    }
    let mut restricted = lists.iter().filter(|l| !l.allow.is_empty()).peekable();
    if restricted.peek().is_none() {
        return IpDecision {
            allowed: true,
            reason: format!("allowed: {addr} is in no denied_ips, and no allowed_ips restrict this user"),
        };
    }
    let mut owners = Vec::new();
    for l in restricted {
        if let Some(net) = l.allow.iter().find(|n| normalize_net(**n).contains(&addr)) {
            return IpDecision {
                allowed: true,
                reason: format!("allowed: {addr} is in allowed_ips {net} of {}", l.owner),
            };
        }
        owners.push(l.owner);
    }
    IpDecision { allowed: false, reason: format!("denied: {addr} is not in the allowed_ips of {}", owners.join(", ")) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_net_accepts() {
        let cases: &[(&str, &str)] = &[
            ("192.0.2.0/24", "192.0.2.0/24"),
            ("192.0.2.7", "192.0.2.7/32"),
            (" 10.0.0.0/8 ", "10.0.0.0/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::/0", "::/0"),
            ("::ffff:192.0.2.7", "192.0.2.7/32"),
            ("::ffff:192.0.2.0/120", "192.0.2.0/24"),
            ("::ffff:0.0.0.0/96", "0.0.0.0/0"),
            ("::1", "::1/128"),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_net("allowed_ips", s).unwrap().to_string(), want, "{s}");
        }
    }

    #[test]
    fn parse_net_rejects_naming_field() {
        let cases: &[(&str, &str)] = &[
            ("", "not an IP"),
            ("example.com", "not an IP"),
            ("192.0.2.0/33", "at most 32"),
            ("2001:db8::/129", "at most 128"),
            ("192.0.2.0/", "must be a number"),
            ("192.0.2.0/-1", "must be a number"),
            ("192.0.2.0/2a", "must be a number"),
            ("192.0.2.0/999", "out of range"),
            ("192.0.2.7/24", "did you mean 192.0.2.0/24 (the network) or 192.0.2.7/32"),
            ("2001:db8::1/32", "host bits"),
            ("::ffff:192.0.2.0/80", "at least /96"),
            ("[::1]", "not an IP"),
            ("fe80::1%eth0", "not an IP"),
            ("1.2.3", "not an IP"),
        ];
        for &(s, why) in cases {
            let e = parse_net("denied_ips", s).unwrap_err();
            assert_eq!(e.field(), "denied_ips", "{s}");
            assert!(e.to_string().contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn parse_addr_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("192.0.2.7", Some("192.0.2.7")),
            ("::ffff:192.0.2.7", Some("192.0.2.7")),
            ("[::ffff:192.0.2.7]", Some("192.0.2.7")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("fe80::1%eth0", Some("fe80::1")),
            ("[fe80::1%eth0]", Some("fe80::1")),
            ("::1", Some("::1")),
            ("::192.0.2.7", Some("::c000:207")),
            ("host.example.com", None),
            ("localhost", None),
            ("", None),
            ("[192.0.2.7", None),
            ("192.0.2.7%eth0", None),
            ("fe80::1%", None),
            ("1.2.3.4.example.com", None),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_addr(s).map(|a| a.to_string()).as_deref(), want, "{s:?}");
        }
    }

    #[test]
    fn mapped_list_entry_built_by_hand_still_matches() {
        let net: IpNet = "::ffff:192.0.2.0/120".parse().unwrap();
        let d = decide_ip(parse_addr("192.0.2.9"), &[IpLists { owner: "user", allow: &[net], deny: &[] }]);
        assert!(d.allowed, "{}", d.reason);
    }
}
