//! App passwords: per-application secrets a user's FTP client or script logs in with instead of
//! the password, limited to some protocols, never asking for a TOTP code, revocable by label.
//!
//! A token is `ghap_<id>_<secret>`: `ghap_` marks it, `<id>` is 10 characters (50 random bits)
//! naming the one stored record, `<secret>` 32 characters (160 random bits) from the OS RNG,
//! both lower-case base32. The store keeps the id in clear and only an argon2id hash of the
//! secret. Like GitHub's tokens, the public id selects the one hash to verify, so an app-password
//! login costs one argon2 verify, the same as a password login (DESIGN: unknown users and wrong
//! passwords cost the same), however many app passwords a user has. A typed secret without this
//! exact shape is never an app password and goes down the password path unchanged.
use crate::error::PolicyError;
use crate::secret::Secret;

/// What every token starts with.
pub const PREFIX: &str = "ghap_";
/// Characters of the public id.
pub const ID_LEN: usize = 10;
/// Characters of the secret part.
pub const SECRET_LEN: usize = 32;
/// Lower-case base32 (RFC 4648 letters, lower-cased): 32 symbols, so the low 5 bits of a random
/// byte pick one uniformly.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Longest label.
pub const MAX_LABEL_LEN: usize = 64;

/// A new token, split: the public id (stored in clear) and the whole token (shown once).
///
/// Fails only if the operating system's random number generator fails.
pub fn generate() -> Result<(String, Secret), PolicyError> {
    let mut raw = [0u8; ID_LEN + SECRET_LEN];
    getrandom::fill(&mut raw)
        .map_err(|e| PolicyError::secret("app password", format!("no randomness from the OS: {e}")))?;
    let pick = |b: &u8| char::from(ALPHABET[usize::from(b & 31)]);
    let id: String = raw[..ID_LEN].iter().map(pick).collect();
    let mut token = String::with_capacity(PREFIX.len() + ID_LEN + 1 + SECRET_LEN);
    token.push_str(PREFIX);
    token.push_str(&id);
    token.push('_');
    token.extend(raw[ID_LEN..].iter().map(pick));
    zeroize::Zeroize::zeroize(&mut raw);
    Ok((id, Secret::new(token)))
}

/// Splits a typed secret into the public id and the secret part to verify, or `None` when it
/// does not have the exact shape of a token (then it is a password, not an app password).
pub fn parse(typed: &Secret) -> Option<(String, Secret)> {
    let rest = typed.expose().strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let ok = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| ALPHABET.contains(&b));
    (ok(id, ID_LEN) && ok(secret, SECRET_LEN)).then(|| (id.to_string(), Secret::new(secret.to_string())))
}

/// Validates a label: 1 to 64 characters, no control characters, not only spaces.
pub fn validate_label(s: &str) -> Result<(), PolicyError> {
    if s.trim().is_empty() || s.chars().count() > MAX_LABEL_LEN || s.chars().any(char::is_control) {
        return Err(PolicyError::invalid("label", s, "expected 1 to 64 characters, no control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_parse_back_and_differ() {
        let (id, token) = generate().unwrap();
        let t = token.expose();
        assert_eq!(t.len(), PREFIX.len() + ID_LEN + 1 + SECRET_LEN);
        let (pid, secret) = parse(&token).unwrap();
        assert_eq!(pid, id);
        assert_eq!(format!("{PREFIX}{id}_{}", secret.expose()), t);
        assert_ne!(generate().unwrap().1, token);
    }

    #[test]
    fn passwords_are_not_tokens() {
        let good = format!("{PREFIX}{}_{}", "a".repeat(ID_LEN), "b".repeat(SECRET_LEN));
        assert!(parse(&Secret::new(good.clone())).is_some());
        for bad in [
            "correct horse battery staple".to_string(),
            good.to_uppercase(),
            format!("{good}x"),
            good.replacen('_', "-", 1),
            format!("{PREFIX}{}_{}", "a".repeat(ID_LEN), "1".repeat(SECRET_LEN)),
            format!("{PREFIX}{}_{}", "a".repeat(ID_LEN + 1), "b".repeat(SECRET_LEN - 1)),
            String::new(),
        ] {
            assert!(parse(&Secret::new(bad.clone())).is_none(), "{bad}");
        }
        validate_label("FileZilla on laptop").unwrap();
        for bad in ["", "  ", "a\nb", &"x".repeat(65)] {
            assert!(validate_label(bad).is_err(), "{bad:?}");
        }
    }
}
