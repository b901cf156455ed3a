//! One-time invitation (and reset) codes: what `gatehouse invite` prints and the user types at
//! the password prompt once, to be made to choose a password.
//!
//! A code is 12 characters from a 32-letter alphabet without look-alikes (no `0`/`O`, `1`/`I`),
//! 60 random bits, shown in groups of four (`K7QX-M9PA-R3TD`). The store keeps only an argon2id
//! hash of the [normalised](normalize) form, so a typed code may use lower case, spaces or no
//! dashes. [`normalize`] also tells whether a typed secret could be a code at all, so a plain
//! wrong password costs no extra hash.
use crate::error::PolicyError;
use crate::secret::Secret;

/// The alphabet: upper-case letters and digits without `0 O 1 I`.
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a code (without dashes).
pub const LEN: usize = 12;

/// A new random code, grouped with dashes for reading it out.
///
/// Fails only if the operating system's random number generator fails.
pub fn generate() -> Result<Secret, PolicyError> {
    let mut raw = [0u8; LEN];
    getrandom::fill(&mut raw)
        .map_err(|e| PolicyError::secret("invitation", format!("no randomness from the OS: {e}")))?;
    let mut out = String::with_capacity(LEN + LEN / 4);
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32, so taking the low 5 bits is uniform.
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    zeroize::Zeroize::zeroize(&mut raw);
    Ok(Secret::new(out))
}

/// The canonical form of a typed code (dashes and spaces dropped, upper case), or `None` when
/// the text cannot be a code (wrong length or a character outside the alphabet).
pub fn normalize(typed: &Secret) -> Option<Secret> {
    let s: String = typed.expose().chars().filter(|c| *c != '-' && *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
    let s = Secret::new(s);
    (s.expose().len() == LEN && s.expose().bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_are_grouped_and_normalise() {
        let c = generate().unwrap();
        let t = c.expose();
        assert_eq!(t.len(), 14);
        assert_eq!(t.as_bytes()[4], b'-');
        assert_eq!(t.as_bytes()[9], b'-');
        assert_ne!(generate().unwrap(), c);
        let n = normalize(&c).unwrap();
        assert_eq!(n.expose(), t.replace('-', ""));
        let typed = Secret::new(t.to_lowercase().replace('-', " "));
        assert_eq!(normalize(&typed).unwrap(), n);
    }

    #[test]
    fn passwords_are_not_codes() {
        for p in ["correct horse battery staple", "ABCD-EFGH-JKL", "ABCD-EFGH-JKL0", "ABCDEFGHJKLMN", ""] {
            assert!(normalize(&Secret::new(p.into())).is_none(), "{p}");
        }
    }
}
