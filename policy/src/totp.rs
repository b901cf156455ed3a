//! TOTP (RFC 6238) with the parameters every authenticator app uses by default: HMAC-SHA-1,
//! 6 digits, a 30-second step, counted from the Unix epoch.
//!
//! A code is accepted for the current step and one step either side ([`WINDOW`]), for clock
//! drift and for the seconds a person takes to type it. [`verify`] returns the *step* that
//! matched, not a yes/no, so the caller can refuse a step at or before the last one it accepted:
//! that is the replay guard (each code is accepted once, and an older code cannot follow a newer
//! one). The store keeps the last accepted step per user and compares it atomically.
//!
//! Secrets are 20 random bytes (the HMAC-SHA-1 block of RFC 4226's recommendation), kept and
//! shown as RFC 4648 base32 without padding, the form authenticator apps read from an
//! `otpauth://` URI ([`uri`]). Time is an argument everywhere, so tests are deterministic.
use crate::error::PolicyError;
use hmac::{KeyInit, Mac};

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one.
pub const WINDOW: i64 = 1;
/// Bytes of a new secret.
pub const SECRET_BYTES: usize = 20;
/// The issuer named in the URI (and shown by authenticator apps).
pub const ISSUER: &str = "gatehouse";

const FIELD: &str = "totp_secret";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes bytes as RFC 4648 base32, upper case, without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(B32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32: case-insensitive, spaces and trailing `=` ignored (as apps show
/// secrets in groups). The error never echoes the secret.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, PolicyError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes().filter(|&c| c != b' ') {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(PolicyError::secret(FIELD, "not base32 (A-Z, 2-7)")),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if out.is_empty() {
        return Err(PolicyError::secret(FIELD, "empty"));
    }
    Ok(out)
}

/// A new random secret, base32 without padding (32 characters).
///
/// Fails only if the operating system's random number generator fails.
pub fn generate_secret() -> Result<String, PolicyError> {
    let mut key = [0u8; SECRET_BYTES];
    getrandom::fill(&mut key).map_err(|e| PolicyError::secret(FIELD, format!("no randomness from the OS: {e}")))?;
    let s = base32_encode(&key);
    zeroize::Zeroize::zeroize(&mut key);
    Ok(s)
}

/// The `otpauth://` URI authenticator apps enrol from (as a QR code or pasted):
/// `otpauth://totp/gatehouse:NAME?secret=…&issuer=gatehouse`. User names are `[a-z0-9_.-]`, so
/// nothing needs escaping; anything else is percent-encoded all the same.
pub fn uri(name: &str, secret: &str) -> String {
    let mut label = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            label.push(char::from(b));
        } else {
            label.push_str(&format!("%{b:02X}"));
        }
    }
    format!("otpauth://totp/{ISSUER}:{label}?secret={secret}&issuer={ISSUER}")
}

/// The step a Unix time falls in (negative times are step 0).
pub fn step_of(now: i64) -> i64 {
    now.max(0) / STEP
}

/// HOTP (RFC 4226) of `key` at counter `step`: the 6-digit code as a number.
pub fn hotp(key: &[u8], step: u64) -> u32 {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC gives code 0.
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(DIGITS as u32)
}

/// The code for a base32 secret at Unix time `now`, as the user's app shows it (zero-padded).
pub fn code_at(secret: &str, now: i64) -> Result<String, PolicyError> {
    let key = zeroize::Zeroizing::new(base32_decode(secret)?);
    Ok(format!("{:0width$}", hotp(&key, step_of(now) as u64), width = DIGITS))
}

/// Checks `code` against the secret at time `now`, within ±[`WINDOW`] steps. Returns the step
/// that matched (the caller refuses a step not greater than the last one it accepted), or
/// `None`. Anything but exactly [`DIGITS`] ASCII digits is `None`. Every step in the window is
/// computed and compared without an early exit, so timing does not say which step matched.
pub fn verify(secret: &str, code: &str, now: i64) -> Result<Option<i64>, PolicyError> {
    let key = zeroize::Zeroizing::new(base32_decode(secret)?);
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let wanted: u32 = code.parse().unwrap_or(u32::MAX);
    let current = step_of(now);
    let mut matched = None;
    for step in (current - WINDOW)..=(current + WINDOW) {
        if step < 0 {
            continue;
        }
        let diff = hotp(&key, step as u64) ^ wanted;
        if diff == 0 {
            // The latest matching step wins, so a code is never accepted twice in the window.
            matched = Some(step);
        }
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6238's SHA-1 seed, "12345678901234567890".
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1() {
        // (time, 8-digit code from the RFC); 6-digit codes are the last 6 digits.
        let rows = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        let secret = base32_encode(SEED);
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (t, code8) in rows {
            let six = &code8[2..];
            assert_eq!(format!("{:06}", hotp(SEED, step_of(t) as u64)), six, "t={t}");
            assert_eq!(code_at(&secret, t).unwrap(), six, "t={t}");
            assert_eq!(verify(&secret, six, t).unwrap(), Some(step_of(t)), "t={t}");
        }
    }

    #[test]
    fn rfc4226_appendix_d() {
        let want = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(SEED, i as u64), *w);
        }
    }

    #[test]
    fn window_is_one_step_each_side() {
        let secret = base32_encode(SEED);
        let t = 1_700_000_015;
        let s = step_of(t);
        let prev = code_at(&secret, t - STEP).unwrap();
        let next = code_at(&secret, t + STEP).unwrap();
        let far = code_at(&secret, t + 2 * STEP).unwrap();
        assert_eq!(verify(&secret, &prev, t).unwrap(), Some(s - 1));
        assert_eq!(verify(&secret, &next, t).unwrap(), Some(s + 1));
        assert_eq!(verify(&secret, &far, t).unwrap(), None);
    }

    #[test]
    fn malformed_codes_and_secrets() {
        let secret = base32_encode(SEED);
        let t = 59;
        for bad in ["", "28708", "2870822", "28708a", "-28708", "２８７０８２"] {
            assert_eq!(verify(&secret, bad, t).unwrap(), None, "{bad:?}");
        }
        assert_eq!(verify(&secret, " 287082\n", t).unwrap(), Some(1), "surrounding space is trimmed");
        assert!(verify("not base32!", "287082", t).is_err());
        let e = base32_decode("SECRET1").unwrap_err().to_string();
        assert!(!e.contains("SECRET1"), "{e}");
        assert!(base32_decode("").is_err());
    }

    #[test]
    fn base32_round_trips_and_tolerates_app_formatting() {
        for len in 0..=25 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let s = base32_encode(&bytes);
            assert!(!s.contains('='));
            if len > 0 {
                assert_eq!(base32_decode(&s).unwrap(), bytes);
            }
        }
        // RFC 4648 test vector, with padding, lower case and spaces.
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
    }

    #[test]
    fn generated_secrets_and_uri() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(base32_decode(&a).unwrap().len(), SECRET_BYTES);
        assert_eq!(uri("alice", "ABC"), "otpauth://totp/gatehouse:alice?secret=ABC&issuer=gatehouse");
        assert_eq!(uri("a b", "ABC"), "otpauth://totp/gatehouse:a%20b?secret=ABC&issuer=gatehouse");
    }
}
