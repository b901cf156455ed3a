//! OpenSSH public keys: parsing, normalisation and fingerprints.
//!
//! A key reaches gatehouse as one line pasted by a user or an operator. It leaves gatehouse as a
//! line printed by the `AuthorizedKeysCommand` helper, behind options that gatehouse itself
//! writes. So a stored key must be exactly one key and nothing else: no options of its own (they
//! could loosen what gatehouse sets), no second line, no NUL, no control characters, and an
//! algorithm OpenSSH 9.2 accepts with a size that is still safe. [`PublicKey::parse`] enforces
//! that once, when the key is added; everything after works on the normalised form
//! ([`PublicKey::openssh`]).
//!
//! Decoding is done by RustCrypto's `ssh-key` (no crypto backends: parsing and the SHA-256
//! fingerprint need none). Fingerprints are printed the way `ssh-keygen -l` prints them
//! (`SHA256:` and unpadded Base64), which `tests/data/keys/expected.txt` checks against keys that
//! ssh-keygen made.
use base64ct::{Base64, Encoding};
use ssh_key::public::KeyData;
use ssh_key::HashAlg;

use crate::error::PolicyError;

/// The field name used in every error about a key.
const FIELD: &str = "key";

/// Key types gatehouse accepts, as they appear at the start of the line.
pub const SUPPORTED_ALGORITHMS: [&str; 7] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Smallest RSA modulus accepted, in bits (OpenSSH's own floor since 9.1 is 1024; 2048 is the
/// smallest size NIST still allows).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (OpenSSH refuses larger ones).
pub const MAX_RSA_BITS: usize = 16384;
/// Longest line accepted, in bytes: a 16384-bit RSA key with a long comment fits easily.
const MAX_LINE: usize = 16 * 1024;

/// An OpenSSH public key as stored: normalised to `<algorithm> <base64>` plus comment.
///
/// Invariants when built by [`PublicKey::parse`]: `algorithm` is one of
/// [`SUPPORTED_ALGORITHMS`] and equals the name inside the key data; `base64` is the canonical
/// Base64 of a key blob that decodes completely; `comment` has no control characters and no
/// surrounding whitespace; `fingerprint` is the blob's SHA-256 fingerprint. A value deserialised
/// from storage is trusted to have been built that way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicKey {
    /// Key type, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// The key blob in standard Base64 with padding, as in `authorized_keys`.
    pub base64: String,
    /// The free-text comment after the key (often `user@host`); may be empty.
    pub comment: String,
    /// `SHA256:` followed by unpadded Base64, exactly as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// An error about the key line `line`.
fn bad(line: &str, reason: impl std::fmt::Display) -> PolicyError {
    PolicyError::invalid(FIELD, line, reason)
}

/// True if `token` could be the start of an `authorized_keys` options list.
fn looks_like_options(token: &str) -> bool {
    const OPTIONS: [&str; 14] = [
        "agent-forwarding",
        "cert-authority",
        "no-agent-forwarding",
        "no-port-forwarding",
        "no-pty",
        "no-user-rc",
        "no-x11-forwarding",
        "port-forwarding",
        "pty",
        "no-touch-required",
        "verify-required",
        "restrict",
        "user-rc",
        "x11-forwarding",
    ];
    token.contains(['=', ',', '"']) || OPTIONS.iter().any(|o| token.eq_ignore_ascii_case(o))
}

/// The key type names OpenSSH knows but gatehouse refuses, with the reason.
fn refused_reason(algorithm: &str) -> Option<String> {
    if algorithm == "ssh-dss" {
        return Some(
            "DSA keys (ssh-dss) are obsolete and disabled in OpenSSH; make a new key with \
             `ssh-keygen -t ed25519`"
                .to_owned(),
        );
    }
    if algorithm.ends_with("-cert-v01@openssh.com") {
        return Some("certificates are not accepted; give the plain public key".to_owned());
    }
    if algorithm == "rsa-sha2-256" || algorithm == "rsa-sha2-512" {
        return Some(format!("`{algorithm}` is a signature algorithm, not a key type; RSA keys start with `ssh-rsa`"));
    }
    None
}

/// Reads the first SSH string (u32 big-endian length, then bytes) of a key blob: the algorithm
/// name embedded in the key data.
fn embedded_name(blob: &[u8]) -> Option<&str> {
    let len_bytes: [u8; 4] = blob.get(..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    std::str::from_utf8(name).ok()
}

/// Size in bits of an RSA modulus, as `ssh-keygen -l` counts it (`None` if it is not positive).
fn rsa_bits(key: &KeyData) -> Option<usize> {
    let n = key.rsa()?.n.as_positive_bytes()?;
    let first = n.iter().position(|&b| b != 0)?;
    let top = n[first];
    Some((n.len() - first - 1) * 8 + (8 - top.leading_zeros() as usize))
}

impl PublicKey {
    /// Parses one `authorized_keys`-style line, `type base64 [comment]`; leading and trailing
    /// whitespace (including a final newline) is ignored.
    ///
    /// Rejects (field `key`): an options prefix such as `restrict,command=... ssh-ed25519 ...`
    /// (gatehouse writes its own options), private keys, unknown or unsupported algorithms, DSA
    /// (`ssh-dss`, obsolete), certificates, RSA under [`MIN_RSA_BITS`] or over [`MAX_RSA_BITS`],
    /// bad Base64, key data whose embedded algorithm differs from the declared one or that does
    /// not decode completely, more than one line, NUL and other control characters.
    pub fn parse(line: &str) -> Result<PublicKey, PolicyError> {
        if line.len() > MAX_LINE {
            return Err(bad(line, format!("longer than {MAX_LINE} bytes; give one public key")));
        }
        if line.contains('\0') {
            return Err(bad(line, "contains a NUL character"));
        }
        let armoured =
            line.contains("-----BEGIN ") || line.contains("---- BEGIN ") || line.contains("PuTTY-User-Key-File");
        if armoured && (line.contains("PRIVATE") || line.contains("PuTTY-User-Key-File")) {
            // Echo nothing of a private key, not even its first line.
            return Err(PolicyError::secret(
                FIELD,
                "this is a private key; never share it. Give the public half (the .pub file)",
            ));
        }
        if armoured {
            return Err(bad(
                line,
                "a PEM or RFC 4716 file, not an OpenSSH public key line; convert it with \
                 `ssh-keygen -i -f FILE` (RFC 4716) or `ssh-keygen -i -m PKCS8 -f FILE` (PEM)",
            ));
        }
        let text = line.trim();
        if text.is_empty() {
            return Err(bad(line, "empty; give one line `type base64 [comment]`"));
        }
        if text.contains(['\n', '\r']) {
            return Err(bad(line, "more than one line; add one key at a time"));
        }
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad(line, "contains control characters"));
        }

        let mut tokens = text.split([' ', '\t']).filter(|t| !t.is_empty());
        let declared = tokens.next().unwrap_or_default();
        if !SUPPORTED_ALGORITHMS.contains(&declared) {
            if let Some(reason) = refused_reason(declared) {
                return Err(bad(line, reason));
            }
            let later_key_type = text
                .split([' ', '\t'])
                .skip(1)
                .any(|t| SUPPORTED_ALGORITHMS.contains(&t) || refused_reason(t).is_some());
            if looks_like_options(declared) || later_key_type {
                return Err(bad(
                    line,
                    "starts with authorized_keys options; gatehouse writes its own options, so \
                     give only `type base64 [comment]`",
                ));
            }
            if declared.starts_with("AAAA") {
                return Err(bad(line, "starts with key data; the line must begin with the key type"));
            }
            return Err(bad(line, format!("unsupported key type; accepted: {}", SUPPORTED_ALGORITHMS.join(", "))));
        }

        // Split off the Base64 and the comment by position, so the comment keeps inner spaces.
        let rest = text[declared.len()..].trim_start_matches([' ', '\t']);
        let b64_len = rest.find([' ', '\t']).unwrap_or(rest.len());
        let (b64, comment) = (&rest[..b64_len], rest[b64_len..].trim_matches([' ', '\t']));
        if b64.is_empty() {
            return Err(bad(line, "no key data after the key type"));
        }
        let blob =
            Base64::decode_vec(b64).map_err(|_| bad(line, "key data is not valid Base64 (it may be cut short)"))?;
        match embedded_name(&blob) {
            Some(name) if name == declared => {}
            Some(name) => {
                return Err(bad(
                    line,
                    format!(
                        "the line says `{declared}` but the key data is `{}`",
                        name.chars().take(40).collect::<String>()
                    ),
                ))
            }
            None => return Err(bad(line, "key data is malformed (no algorithm name)")),
        }
        let key =
            ssh_key::PublicKey::from_bytes(&blob).map_err(|e| bad(line, format!("key data is malformed: {e}")))?;
        if key.algorithm().as_str() != declared {
            return Err(bad(line, "key data does not match the declared key type"));
        }
        if key.key_data().is_rsa() {
            match rsa_bits(key.key_data()) {
                Some(bits) if bits < MIN_RSA_BITS => {
                    return Err(bad(
                        line,
                        format!(
                            "RSA key of {bits} bits is too weak; use at least {MIN_RSA_BITS} bits \
                             (better: `ssh-keygen -t ed25519`)"
                        ),
                    ))
                }
                Some(bits) if bits > MAX_RSA_BITS => {
                    return Err(bad(line, format!("RSA key over {MAX_RSA_BITS} bits")))
                }
                Some(_) => {}
                None => return Err(bad(line, "RSA modulus is not a positive number")),
            }
        }
        let canonical = key.to_bytes().map_err(|e| bad(line, format!("key data cannot be re-encoded: {e}")))?;
        Ok(PublicKey {
            algorithm: declared.to_owned(),
            base64: Base64::encode_string(&canonical),
            comment: comment.to_owned(),
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        })
    }

    /// `algorithm base64`, without the comment: the normalised form used to compare keys and
    /// printed to sshd.
    pub fn openssh(&self) -> String {
        format!("{} {}", self.algorithm, self.base64)
    }

    /// The key type and size for listings, as `ssh-keygen -l` names them: `ED25519 256`,
    /// `RSA 3072`, `ECDSA 384`, `ED25519-SK 256`, `ECDSA-SK 256`. An RSA key whose data cannot be
    /// decoded (only possible for a hand-edited record) is shown as `RSA ?`.
    pub fn describe(&self) -> String {
        let (kind, bits) = match self.algorithm.as_str() {
            "ssh-ed25519" => ("ED25519", Some(256)),
            "ecdsa-sha2-nistp256" => ("ECDSA", Some(256)),
            "ecdsa-sha2-nistp384" => ("ECDSA", Some(384)),
            "ecdsa-sha2-nistp521" => ("ECDSA", Some(521)),
            "sk-ssh-ed25519@openssh.com" => ("ED25519-SK", Some(256)),
            "sk-ecdsa-sha2-nistp256@openssh.com" => ("ECDSA-SK", Some(256)),
            "ssh-rsa" => {
                let bits = Base64::decode_vec(&self.base64)
                    .ok()
                    .and_then(|blob| ssh_key::PublicKey::from_bytes(&blob).ok())
                    .and_then(|key| rsa_bits(key.key_data()));
                ("RSA", bits)
            }
            other => (other, None),
        };
        match bits {
            Some(bits) => format!("{kind} {bits}"),
            None => format!("{kind} ?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_name_bounds() {
        assert_eq!(embedded_name(b""), None);
        assert_eq!(embedded_name(b"\0\0\0\x05abc"), None);
        assert_eq!(embedded_name(b"\0\0\0\x03abcdef"), Some("abc"));
        assert_eq!(embedded_name(b"\xff\xff\xff\xffabc"), None);
    }
}
