//! `[ldap]`: the directory that checks the passwords of users whose `password_source` is `ldap`,
//! and the bind DN each such user is checked as.
//!
//! gatehoused verifies such a password with one LDAP simple bind as
//! `bind_dn` with `{user}` replaced by the login name, escaped as an RFC 4514 attribute value
//! ([`escape_dn_value`]), so no name can change the DN's structure. Everything else about the
//! login (keys, IPs, protocols, expiry, lockout, paths) is still gatehouse's decision.
//!
//! The whole bind (connect, TLS, StartTLS, the bind itself) must end within `timeout`, at most
//! [`MAX_TIMEOUT_SECS`], so gatehoused answers "unavailable" (and logs why) before pam_gatehouse
//! gives up on it (3 s, `modcore::client::DEADLINE`); with pam_unix's fail delay the login then
//! fails closed within 6 s.
pub use crate::config::{LdapConfig, MAX_TIMEOUT_SECS, USER_PLACEHOLDER};

/// The bind DN: the part of `[ldap]` that is a decision about a user, not a key of the file.
impl LdapConfig {
    /// The DN a user binds as: the template with `{user}` replaced by the escaped name.
    pub fn bind_dn_for(&self, user: &str) -> String {
        self.bind_dn.replace(USER_PLACEHOLDER, &escape_dn_value(user))
    }
}

/// Escapes an attribute value for a DN string (RFC 4514 section 2.4): `"`, `+`, `,`, `;`, `<`,
/// `>`, `\` and `=` with a backslash anywhere; `#` and a space at the start and a space at the end
/// likewise; NUL and other control characters as `\XX` hex pairs.
pub fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 4);
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{byte:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escaping_table() {
        let cases = [
            ("alice", "alice"),
            ("a.b-c_d", "a.b-c_d"),
            ("a,ou=admins", "a\\,ou\\=admins"),
            ("x+y", "x\\+y"),
            ("\"q\"", "\\\"q\\\""),
            ("back\\slash", "back\\\\slash"),
            ("<>;", "\\<\\>\\;"),
            ("#lead", "\\#lead"),
            ("mid#dle", "mid#dle"),
            (" pad ", "\\ pad\\ "),
            ("in side", "in side"),
            ("nul\0x", "nul\\00x"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escape_dn_value(input), want, "{input:?}");
        }
    }

    fn cfg(url: &str, dn: &str) -> LdapConfig {
        LdapConfig { url: url.into(), bind_dn: dn.into(), ..LdapConfig::default() }
    }

    #[test]
    fn bind_dn_is_the_template_with_the_escaped_name() {
        let c = cfg("ldap://127.0.0.1:3890", "uid={user},ou=people,dc=example,dc=org");
        assert_eq!(c.bind_dn_for("alice"), "uid=alice,ou=people,dc=example,dc=org");
        assert_eq!(c.bind_dn_for("x,dc=evil"), "uid=x\\,dc\\=evil,ou=people,dc=example,dc=org");
    }

    #[test]
    fn validation() {
        LdapConfig::default().validate().unwrap();
        cfg("ldap://dir.example.org", "uid={user},dc=example").validate().unwrap();
        cfg("ldaps://dir.example.org:636/", "cn={user},dc=example").validate().unwrap();
        cfg("ldap://[::1]:3890", "uid={user}").validate().unwrap();
        let bad = [
            cfg("http://dir", "uid={user}"),
            cfg("ldap://", "uid={user}"),
            cfg("ldap://dir/dc=x?uid", "uid={user}"),
            cfg("ldap://user@dir", "uid={user}"),
            cfg("ldap://dir", "uid=alice"),
            cfg("ldap://dir", "uid={user},cn={user}"),
            cfg("ldap://dir", "uid={name}"),
            cfg("", "uid={user}"),
            LdapConfig { starttls: true, ..cfg("ldaps://dir", "uid={user}") },
            LdapConfig { ca_file: Some("ca.pem".into()), ..cfg("ldap://dir", "uid={user}") },
            LdapConfig { timeout: "3s".into(), ..cfg("ldap://dir", "uid={user}") },
            LdapConfig { timeout: "0".into(), ..cfg("ldap://dir", "uid={user}") },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }

    #[test]
    fn cleartext_is_plain_ldap_without_starttls() {
        assert!(cfg("ldap://d", "uid={user}").is_cleartext());
        assert!(!LdapConfig { starttls: true, ..cfg("ldap://d", "uid={user}") }.is_cleartext());
        assert!(!cfg("ldaps://d", "uid={user}").is_cleartext());
    }
}
