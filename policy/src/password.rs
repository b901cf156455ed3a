//! Password hashing, verification of native and imported hashes, and the password policy.
//!
//! gatehouse stores argon2id (m=19456 KiB, t=2, p=1: the OWASP baseline) for every password it
//! sets. Sites moving users over from `/etc/shadow` or another product bring yescrypt (`$y$`),
//! SHA-crypt (`$6$`, `$5$`) and bcrypt (`$2b$`, `$2y$`, `$2a$`) hashes; those verify as they are and
//! the caller re-hashes the password to argon2id at the next successful login
//! ([`Verified::needs_rehash`]).
//!
//! Why parsing is strict: a stored hash is checked completely by [`hash_kind`] when it is imported,
//! so an operator learns about a truncated or mangled hash from the import command, not from a
//! user who cannot log in weeks later. The same parse also bounds the work factor a stored hash
//! may ask for ([`MAX_ARGON2_M_COST`] and friends), because the daemon computes one of these hashes
//! for every login attempt and a hash with an absurd cost would stall it.
//!
//! Everything here is pure Rust (RustCrypto's `argon2`, `yescrypt`, `sha-crypt`, and the `bcrypt`
//! crate); compatibility with libxcrypt and the reference argon2 is checked against hashes those C
//! implementations produced (`tests/data/hashes.txt`). All comparisons of hash outputs are
//! constant-time inside those crates.
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64ct::{Base64ShaCrypt, Encoding};
use sha1::{Digest, Sha1};

use crate::error::PolicyError;
use crate::secret::Secret;

/// The field name used in every error about a stored hash.
const HASH_FIELD: &str = "password_hash";
/// The field name used in every error about a password.
const PASSWORD_FIELD: &str = "password";

/// argon2id memory cost in KiB for new hashes.
pub const ARGON2_M_COST: u32 = 19_456;
/// argon2id time cost (passes) for new hashes.
pub const ARGON2_T_COST: u32 = 2;
/// argon2id parallelism for new hashes.
pub const ARGON2_P_COST: u32 = 1;
/// argon2id output length in bytes for new hashes.
pub const ARGON2_OUTPUT_LEN: usize = 32;

/// Largest argon2 memory cost (KiB) a stored hash may ask for: 1 GiB.
pub const MAX_ARGON2_M_COST: u32 = 1 << 20;
/// Largest argon2 time cost a stored hash may ask for.
pub const MAX_ARGON2_T_COST: u32 = 16;
/// Largest argon2 parallelism a stored hash may ask for (lanes are computed one after another).
pub const MAX_ARGON2_P_COST: u32 = 16;
/// Largest yescrypt memory (`128 * N * r * p` bytes) a stored hash may ask for: 1 GiB, which is
/// libxcrypt's highest cost setting.
pub const MAX_YESCRYPT_BYTES: u64 = 1 << 30;
/// Largest SHA-crypt `rounds=` a stored hash may ask for (passlib's defaults are 535,000 and
/// 656,000; glibc's default is 5,000).
pub const MAX_SHA_CRYPT_ROUNDS: u32 = 2_000_000;
/// Largest bcrypt cost a stored hash may ask for (each step doubles the time; 16 takes seconds).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Longest stored hash accepted at all.
const MAX_HASH_LEN: usize = 512;
/// Longest password accepted by [`PasswordPolicy::check`], in bytes. PAM conversations and FTP
/// commands carry far less; the cap keeps hashing cost and memory bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A fixed argon2id hash with the standard parameters, of a random password nobody kept.
/// [`dummy_verify`] computes against it so an unknown user costs as much as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$TFZyNFEyc3N1bmdhT2Q3bQ$Bpk8tzrD6+Yd48kuW8H0a736xDDDSGqHAUHGZQ0nqM8";

/// The crypt(3) Base64 alphabet used by yescrypt, SHA-crypt and bcrypt salts and outputs.
fn is_crypt_b64(s: &str) -> bool {
    s.bytes().all(|b| b == b'.' || b == b'/' || b.is_ascii_alphanumeric())
}

/// The argon2id context used for every new hash.
fn standard_argon2() -> Result<Argon2<'static>, PolicyError> {
    let params = argon2::Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, Some(ARGON2_OUTPUT_LEN))
        .map_err(|e| PolicyError::secret(PASSWORD_FIELD, format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// Hashes a password with argon2id (m=19456 KiB, t=2, p=1), a random 16-byte salt, and returns the
/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) to store in `password_hash`.
///
/// Fails only if the operating system's random number generator fails.
pub fn hash_password(pw: &Secret) -> Result<String, PolicyError> {
    let salt = argon2::password_hash::try_generate_salt()
        .map_err(|e| PolicyError::secret(PASSWORD_FIELD, format!("no random salt from the OS: {e}")))?;
    let hash = standard_argon2()?
        .hash_password_with_salt(pw.expose().as_bytes(), &salt)
        .map_err(|e| PolicyError::secret(PASSWORD_FIELD, format!("argon2 hashing failed: {e}")))?;
    Ok(hash.to_string())
}

/// The family of a stored password hash, as recognised by [`hash_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// `$argon2id$`: gatehouse's own format (it may still carry other parameters).
    Argon2id,
    /// `$argon2i$` or `$argon2d$`, imported.
    Argon2Other,
    /// `$y$`: yescrypt, Debian's default since 11 (libxcrypt).
    Yescrypt,
    /// `$6$`: SHA-512-crypt.
    ShaCrypt512,
    /// `$5$`: SHA-256-crypt.
    ShaCrypt256,
    /// `$2b$`, `$2y$` or `$2a$`: bcrypt.
    Bcrypt,
}

/// A stored hash after the complete parse that [`hash_kind`] and [`verify_password`] share.
enum Parsed<'a> {
    /// An argon2 PHC string; `standard` when it is argon2id v=19 with exactly gatehouse's costs.
    Argon2 { hash: Box<PhcHash>, kind: HashKind, standard: bool },
    /// A `$y$` string.
    Yescrypt(&'a str),
    /// A `$6$` or `$5$` string.
    ShaCrypt(&'a str, HashKind),
    /// A `$2?$` string.
    Bcrypt(&'a str),
}

impl Parsed<'_> {
    fn kind(&self) -> HashKind {
        match self {
            Parsed::Argon2 { kind, .. } | Parsed::ShaCrypt(_, kind) => *kind,
            Parsed::Yescrypt(_) => HashKind::Yescrypt,
            Parsed::Bcrypt(_) => HashKind::Bcrypt,
        }
    }
}

/// How many characters of a rejected hash an error shows: enough to see the scheme and the cost,
/// too few to hand anyone a hash to crack offline.
const SHOWN_HASH_CHARS: usize = 12;

/// An error about the stored hash `stored`, echoing only its first [`SHOWN_HASH_CHARS`]
/// characters.
fn bad_hash(stored: &str, reason: impl std::fmt::Display) -> PolicyError {
    let mut shown: String = stored.chars().take(SHOWN_HASH_CHARS).collect();
    if stored.chars().nth(SHOWN_HASH_CHARS).is_some() {
        shown.push('…');
    }
    PolicyError::invalid(HASH_FIELD, shown, reason)
}

/// Reason given for a locked shadow entry (`!`, `!!`, `!$6$...`).
const LOCKED_REASON: &str = "the account is locked (the entry starts with `!`), so there is no \
     password to import; import the account without a password, or unlock it first";
/// Reason given for a shadow entry that never had a password (`*`, `x`, `*LK*`, ...).
const NO_PASSWORD_REASON: &str = "this is a placeholder, not a password hash (`*` and `x` mean \
     no password is set); import the account without a password";

/// True if `stored` is a locked shadow entry: it starts with `!` (`passwd -l`, `usermod -L`).
/// [`hash_kind`] rejects such entries; this lets an importer tell them apart from garbage and
/// decide what to do (for example import the user as locked, with no password).
pub fn is_locked(stored: &str) -> bool {
    stored.starts_with('!')
}

/// Recognises a stored hash string and checks it completely: structure, alphabet, lengths,
/// parameters and work-factor bounds.
///
/// Rejects (field `password_hash`): the empty string; locked shadow entries starting with `!`
/// (see [`is_locked`]); placeholders such as `*` and `x`; unsupported schemes (MD5-crypt `$1$`,
/// scrypt `$7$`, DES, `$2x$`, ...); and malformed or truncated hashes of supported schemes.
pub fn hash_kind(stored: &str) -> Result<HashKind, PolicyError> {
    parse(stored).map(|p| p.kind())
}

/// The complete parse of a stored hash.
fn parse(stored: &str) -> Result<Parsed<'_>, PolicyError> {
    if stored.is_empty() {
        return Err(bad_hash(stored, "empty: there is no password hash to import"));
    }
    if is_locked(stored) {
        return Err(bad_hash(stored, LOCKED_REASON));
    }
    if stored.len() > MAX_HASH_LEN {
        return Err(bad_hash(stored, format!("longer than {MAX_HASH_LEN} bytes")));
    }
    if !stored.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_hash(stored, "contains whitespace, control or non-ASCII characters; no supported hash does"));
    }
    if !stored.starts_with('$') {
        if stored.starts_with('*') || stored == "x" {
            return Err(bad_hash(stored, NO_PASSWORD_REASON));
        }
        return Err(bad_hash(
            stored,
            "not a supported hash (DES and BSDi crypt are not accepted); supported are argon2, \
             yescrypt $y$, SHA-crypt $6$/$5$ and bcrypt $2b$/$2y$/$2a$",
        ));
    }
    let scheme = stored.split('$').nth(1).unwrap_or_default();
    match scheme {
        "argon2id" | "argon2i" | "argon2d" => parse_argon2(stored),
        "y" => parse_yescrypt(stored),
        "6" => parse_sha_crypt(stored, HashKind::ShaCrypt512),
        "5" => parse_sha_crypt(stored, HashKind::ShaCrypt256),
        "2b" | "2y" | "2a" => parse_bcrypt(stored),
        "2x" => Err(bad_hash(
            stored,
            "$2x$ marks a hash made by the buggy pre-2011 crypt_blowfish and is not accepted; \
             set a new password for this user",
        )),
        "" => Err(bad_hash(stored, "malformed: no scheme name between the `$` signs")),
        _ => Err(bad_hash(
            stored,
            format!(
                "unsupported hash scheme `${scheme}$`; supported are argon2, yescrypt $y$, \
                 SHA-crypt $6$/$5$ and bcrypt $2b$/$2y$/$2a$; set a new password for this user"
            ),
        )),
    }
}

/// argon2: a PHC string whose variant, version, parameters, salt and output all parse, within the
/// work bounds.
fn parse_argon2(stored: &str) -> Result<Parsed<'_>, PolicyError> {
    let hash = PhcHash::new(stored).map_err(|e| bad_hash(stored, format!("malformed argon2 PHC string: {e}")))?;
    let algorithm = argon2::Algorithm::try_from(hash.algorithm.as_str())
        .map_err(|e| bad_hash(stored, format!("argon2 variant: {e}")))?;
    let version = match hash.version {
        Some(v) => argon2::Version::try_from(v).map_err(|e| bad_hash(stored, format!("argon2 version: {e}")))?,
        None => return Err(bad_hash(stored, "argon2 hash without a `v=` version field")),
    };
    let params = argon2::Params::try_from(&hash).map_err(|e| bad_hash(stored, format!("argon2 parameters: {e}")))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(bad_hash(stored, "argon2 hash without a salt or an output"));
    }
    if params.m_cost() > MAX_ARGON2_M_COST || params.t_cost() > MAX_ARGON2_T_COST || params.p_cost() > MAX_ARGON2_P_COST
    {
        return Err(bad_hash(
            stored,
            format!(
                "argon2 cost above gatehouse's bounds (m <= {MAX_ARGON2_M_COST}, \
                 t <= {MAX_ARGON2_T_COST}, p <= {MAX_ARGON2_P_COST})"
            ),
        ));
    }
    let kind = if algorithm == argon2::Algorithm::Argon2id { HashKind::Argon2id } else { HashKind::Argon2Other };
    let standard = kind == HashKind::Argon2id
        && version == argon2::Version::V0x13
        && params.m_cost() == ARGON2_M_COST
        && params.t_cost() == ARGON2_T_COST
        && params.p_cost() == ARGON2_P_COST
        && params.keyid().is_empty()
        && params.data().is_empty()
        && params.output_len() == Some(ARGON2_OUTPUT_LEN);
    Ok(Parsed::Argon2 { hash: Box::new(hash), kind, standard })
}

/// yescrypt: `$y$<params>$<salt>$<hash>` as libxcrypt writes it.
fn parse_yescrypt(stored: &str) -> Result<Parsed<'_>, PolicyError> {
    let fields: Vec<&str> = stored.split('$').collect();
    let [_, _, params_str, salt, output] = fields[..] else {
        return Err(bad_hash(stored, "yescrypt hash must be $y$<params>$<salt>$<hash>"));
    };
    let params =
        yescrypt::Params::from_str(params_str).map_err(|e| bad_hash(stored, format!("yescrypt parameters: {e}")))?;
    let (n, r, p) = (params.n(), u64::from(params.r()), u64::from(params.p()));
    let bytes = 128u64.saturating_mul(n).saturating_mul(r).saturating_mul(p);
    if n < 2 || r == 0 || p == 0 || p > 16 || bytes > MAX_YESCRYPT_BYTES {
        return Err(bad_hash(
            stored,
            format!("yescrypt cost above gatehouse's bounds (at most {MAX_YESCRYPT_BYTES} bytes)"),
        ));
    }
    // libxcrypt never sets the optional t, g or NROM fields. Re-encoding the parameters without
    // them must give back the stored text; this also rejects non-canonical encodings. The bounds
    // above keep the re-encoding from failing (it needs N >= 2 and r * p < 2^30).
    let canonical = [yescrypt::Mode::Rw, yescrypt::Mode::Worm, yescrypt::Mode::Classic]
        .into_iter()
        .filter_map(|mode| yescrypt::Params::new(mode, params.n(), params.r(), params.p()).ok())
        .any(|candidate| candidate == params && candidate.to_string() == params_str);
    if !canonical {
        return Err(bad_hash(
            stored,
            "yescrypt parameters use fields libxcrypt never writes (t, g or ROM); not accepted",
        ));
    }
    if salt.is_empty() || !is_crypt_b64(salt) || Base64ShaCrypt::decode_vec(salt).is_err() {
        return Err(bad_hash(stored, "yescrypt salt is empty or not crypt Base64"));
    }
    if output.len() != 43 || !is_crypt_b64(output) || Base64ShaCrypt::decode_vec(output).is_err() {
        return Err(bad_hash(stored, "yescrypt output must be 43 characters of crypt Base64"));
    }
    Ok(Parsed::Yescrypt(stored))
}

/// SHA-crypt: `$6$[rounds=N$]<salt>$<hash>` as glibc and libxcrypt write it.
fn parse_sha_crypt(stored: &str, kind: HashKind) -> Result<Parsed<'_>, PolicyError> {
    let fields: Vec<&str> = stored.split('$').collect();
    let (rounds, salt, output) = match fields[..] {
        [_, _, salt, output] => (None, salt, output),
        [_, _, rounds, salt, output] => (Some(rounds), salt, output),
        _ => return Err(bad_hash(stored, "SHA-crypt hash must be $6$[rounds=N$]<salt>$<hash> (or $5$...)")),
    };
    if let Some(rounds) = rounds {
        let digits = rounds.strip_prefix("rounds=").unwrap_or_default();
        let ok = !digits.is_empty()
            && digits.len() <= 9
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        let value: u32 = if ok { digits.parse().unwrap_or(0) } else { 0 };
        if !(sha_crypt::Params::ROUNDS_MIN..=MAX_SHA_CRYPT_ROUNDS).contains(&value) {
            return Err(bad_hash(
                stored,
                format!(
                    "SHA-crypt `rounds=` must be a number from {} to {MAX_SHA_CRYPT_ROUNDS}",
                    sha_crypt::Params::ROUNDS_MIN
                ),
            ));
        }
    }
    if salt.is_empty() || salt.len() > 16 || !is_crypt_b64(salt) {
        return Err(bad_hash(stored, "SHA-crypt salt must be 1 to 16 characters of [./0-9A-Za-z]"));
    }
    let (chars, bytes) = if kind == HashKind::ShaCrypt512 { (86, 64) } else { (43, 32) };
    let decoded_len = if output.len() == chars && is_crypt_b64(output) {
        Base64ShaCrypt::decode_vec(output).map(|v| v.len()).ok()
    } else {
        None
    };
    if decoded_len != Some(bytes) {
        return Err(bad_hash(stored, format!("SHA-crypt output must be {chars} characters of crypt Base64")));
    }
    Ok(Parsed::ShaCrypt(stored, kind))
}

/// bcrypt: `$2b$NN$<22 salt><31 hash>`, exactly 60 characters, canonical Base64.
fn parse_bcrypt(stored: &str) -> Result<Parsed<'_>, PolicyError> {
    let parts =
        bcrypt::HashParts::from_str(stored).map_err(|e| bad_hash(stored, format!("malformed bcrypt hash: {e}")))?;
    let cost = parts.get_cost();
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(bad_hash(stored, format!("bcrypt cost must be 4 to {MAX_BCRYPT_COST}")));
    }
    let version = match stored.get(1..3) {
        Some("2a") => bcrypt::Version::TwoA,
        Some("2y") => bcrypt::Version::TwoY,
        _ => bcrypt::Version::TwoB,
    };
    // Re-encoding must give the stored text back: no stray bits in the last Base64 characters.
    if parts.format_for_version(version) != stored {
        return Err(bad_hash(stored, "bcrypt salt or hash is not canonical bcrypt Base64"));
    }
    Ok(Parsed::Bcrypt(stored))
}

/// The outcome of [`verify_password`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the stored hash.
    pub ok: bool,
    /// The password matched and the stored hash is not argon2id with gatehouse's exact parameters:
    /// the caller should store [`hash_password`] of the same password now.
    pub needs_rehash: bool,
}

/// Verifies `pw` against a stored hash of any supported kind (argon2 with any parameters within
/// bounds, yescrypt `$y$`, SHA-crypt `$6$`/`$5$` with or without `rounds=`, bcrypt
/// `$2b$`/`$2y$`/`$2a$`). Output comparison is constant-time.
///
/// A wrong password is `Ok` with `ok == false`. An `Err` means the stored hash itself is unusable
/// (the same rejections as [`hash_kind`]); a caller answering a login should then still spend the
/// time of a verify ([`dummy_verify`]) and refuse.
pub fn verify_password(pw: &Secret, stored: &str) -> Result<Verified, PolicyError> {
    let parsed = parse(stored)?;
    let password = pw.expose().as_bytes();
    let fail = |e: &dyn std::fmt::Display| bad_hash(stored, format!("cannot verify: {e}"));
    let (result, standard) = match &parsed {
        Parsed::Argon2 { hash, standard, .. } => (Argon2::default().verify_password(password, &**hash), *standard),
        Parsed::Yescrypt(s) => (yescrypt::Yescrypt::default().verify_password(password, *s), false),
        Parsed::ShaCrypt(s, _) => (sha_crypt::ShaCrypt::default().verify_password(password, *s), false),
        Parsed::Bcrypt(s) => {
            let ok = bcrypt::verify(password, s).map_err(|e| fail(&e))?;
            return Ok(Verified { ok, needs_rehash: ok });
        }
    };
    let ok = match result {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(e) => return Err(fail(&e)),
    };
    Ok(Verified { ok, needs_rehash: ok && !standard })
}

/// Verifies `pw` against a fixed argon2id hash with the standard parameters and returns `false`,
/// always. Call it for unknown users (and unusable stored hashes) so that they cost the same time
/// as a wrong password and cannot be told apart by timing.
pub fn dummy_verify(pw: &Secret) -> bool {
    if let Ok(hash) = PhcHash::new(DUMMY_HASH) {
        // The result is ignored on purpose: the work is the point, and the answer is always no.
        let _ = std::hint::black_box(Argon2::default().verify_password(pw.expose().as_bytes(), &hash));
    }
    false
}

/// The password policy applied when a password is set (not when one is verified).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values). Default 14.
    pub min_length: usize,
    /// Breached passwords, each entry a lowercase SHA-1 hex digest or a password in plain text, as
    /// loaded by the caller from the configured file (see [`PasswordPolicy::breached_entry`]).
    /// `None`: no list.
    pub breached: Option<Arc<HashSet<String>>>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_length: 14, breached: None }
    }
}

impl PasswordPolicy {
    /// Checks a new password for `username`. Rejects (field `password`, the password never
    /// echoed): a NUL character (no login path can send one), more than [`MAX_PASSWORD_BYTES`]
    /// bytes, fewer than `min_length` characters, the username itself ignoring case, and any
    /// password on the breached list (by SHA-1 or in plain text).
    pub fn check(&self, username: &str, pw: &Secret) -> Result<(), PolicyError> {
        let text = pw.expose();
        if text.contains('\0') {
            return Err(PolicyError::secret(
                PASSWORD_FIELD,
                "contains a NUL character, which no login (PAM, SSH, FTP) can send",
            ));
        }
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(PolicyError::secret(PASSWORD_FIELD, format!("too long: at most {MAX_PASSWORD_BYTES} bytes")));
        }
        if pw.char_len() < self.min_length {
            return Err(PolicyError::secret(
                PASSWORD_FIELD,
                format!("too short: use at least {} characters", self.min_length),
            ));
        }
        if !username.is_empty() && text.to_lowercase() == username.to_lowercase() {
            return Err(PolicyError::secret(PASSWORD_FIELD, "must not be the username"));
        }
        if let Some(list) = &self.breached {
            if list.contains(&sha1_hex(text)) || list.contains(text) {
                return Err(PolicyError::secret(
                    PASSWORD_FIELD,
                    "appears in the list of breached passwords; choose another",
                ));
            }
        }
        Ok(())
    }

    /// Normalises one line of a breached-password file into a set entry, for callers that load
    /// the file: blank lines and `#` comments give `None`; a SHA-1 hex digest, optionally with a
    /// `:count` suffix as in the Have I Been Pwned downloads, gives the lowercase digest; anything
    /// else is taken as a password in plain text (without its line ending).
    pub fn breached_entry(line: &str) -> Option<String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.starts_with('#') {
            return None;
        }
        let head = line.split(':').next().unwrap_or(line).trim();
        if head.len() == 40 && head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(head.to_ascii_lowercase());
        }
        Some(line.to_owned())
    }
}

/// Lowercase hex SHA-1 of a password, the form breached-password lists use.
fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_standard() {
        let parsed = parse(DUMMY_HASH).map(|p| match p {
            Parsed::Argon2 { standard, kind, .. } => (standard, kind),
            _ => (false, HashKind::Bcrypt),
        });
        assert_eq!(parsed, Ok((true, HashKind::Argon2id)));
    }

    #[test]
    fn sha1_hex_matches_known_digest() {
        assert_eq!(sha1_hex("password"), "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8");
    }
}
