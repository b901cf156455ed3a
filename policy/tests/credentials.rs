//! Credentials against real-world inputs: password hashes made by libxcrypt (`mkpasswd`),
//! htpasswd and the reference argon2, and public keys made by `ssh-keygen`. The fixtures and the
//! scripts that made them are in `tests/data/`; nothing here runs those tools.
// Tests panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::password::{
    dummy_verify, hash_kind, hash_password, is_locked, verify_password, HashKind, PasswordPolicy, Verified,
};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::PolicyError;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

fn kind_named(name: &str) -> HashKind {
    match name {
        "Argon2id" => HashKind::Argon2id,
        "Argon2Other" => HashKind::Argon2Other,
        "Yescrypt" => HashKind::Yescrypt,
        "ShaCrypt512" => HashKind::ShaCrypt512,
        "ShaCrypt256" => HashKind::ShaCrypt256,
        "Bcrypt" => HashKind::Bcrypt,
        other => panic!("unknown kind {other:?} in hashes.txt"),
    }
}

/// `(kind, password, hash)` for every line of `hashes.txt`.
fn fixtures() -> Vec<(HashKind, String, String)> {
    read("hashes.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "bad fixture line {l:?}");
            (kind_named(f[0]), f[1].to_owned(), f[2].to_owned())
        })
        .collect()
}

/// What the hash should be re-hashed to argon2id after a successful login? Everything except
/// argon2id v=19 with m=19456,t=2,p=1 and a 32-byte output (43 Base64 characters).
fn expect_rehash(hash: &str) -> bool {
    let standard = "$argon2id$v=19$m=19456,t=2,p=1$";
    !(hash.starts_with(standard) && hash.rsplit('$').next().map(str::len) == Some(43))
}

// ---------------------------------------------------------------------------------------------
// Password hashes

#[test]
fn imported_hashes_from_real_implementations_verify() {
    let all = fixtures();
    for kind in [
        HashKind::Argon2id,
        HashKind::Argon2Other,
        HashKind::Yescrypt,
        HashKind::ShaCrypt512,
        HashKind::ShaCrypt256,
        HashKind::Bcrypt,
    ] {
        assert!(all.iter().filter(|f| f.0 == kind).count() >= 2, "too few {kind:?} fixtures");
    }
    for prefix in ["$2b$", "$2y$", "$2a$", "$6$rounds=", "$5$rounds=", "$argon2i$", "$argon2d$"] {
        assert!(all.iter().any(|f| f.2.starts_with(prefix)), "no {prefix} fixture");
    }
    for (kind, pw, hash) in &all {
        assert_eq!(hash_kind(hash), Ok(*kind), "{hash}");
        let rehash = expect_rehash(hash);
        assert_eq!(
            verify_password(&secret(pw), hash),
            Ok(Verified { ok: true, needs_rehash: rehash }),
            "right password for {hash}"
        );
        let wrong = format!("x{pw}");
        assert_eq!(
            verify_password(&secret(&wrong), hash),
            Ok(Verified { ok: false, needs_rehash: false }),
            "wrong password for {hash}"
        );
    }
}

#[test]
fn empty_and_near_passwords_fail() {
    let all = fixtures();
    // One of each kind: the empty password, and the right one with its last character dropped.
    let mut seen = HashSet::new();
    for (kind, pw, hash) in all.iter().filter(|f| seen.insert(format!("{:?}", f.0))) {
        let mut short = pw.clone();
        short.pop();
        for bad in ["", short.as_str()] {
            let v = verify_password(&secret(bad), hash);
            assert_eq!(v, Ok(Verified { ok: false, needs_rehash: false }), "{kind:?} {bad:?}");
        }
    }
}

#[test]
fn hash_password_output_is_standard_argon2id() {
    let pw = secret("a long enough passphrase");
    let hash = hash_password(&pw).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    let fields: Vec<&str> = hash.split('$').collect();
    assert_eq!(fields.len(), 6);
    assert_eq!(fields[4].len(), 22, "16-byte salt in unpadded Base64");
    assert_eq!(fields[5].len(), 43, "32-byte output in unpadded Base64");
    assert_eq!(hash_kind(&hash), Ok(HashKind::Argon2id));
    assert_eq!(verify_password(&pw, &hash), Ok(Verified { ok: true, needs_rehash: false }));
    assert_eq!(
        verify_password(&secret("a long enough passphrasE"), &hash),
        Ok(Verified { ok: false, needs_rehash: false })
    );
    let again = hash_password(&pw).unwrap();
    assert_ne!(hash, again, "every hash gets a fresh salt");
    assert!(!hash.contains("passphrase"));
}

/// A valid hash of each shape, for mutating into invalid ones.
const GOOD_512: &str =
    "$6$LiMU/0ZaX/q5EGyu$lQ0ShfRoayByGH1ZGuHp0MoF95vbjJyLV5ql3TEJgFOG1ZY5WHhhGwPU9lf1gP2bzQEPKgSyixEW5YeyKcydr/";
const GOOD_256: &str = "$5$VbRMERtnhXNgKm1f$OEsCXkd2cAD3B3.PklVF6fb3uxalksRalvN0mm4AT42";
const GOOD_Y: &str = "$y$j9T$snvFX4Y3QBTW8C1FbwNfD0$vl.TnH9w1UVTjxP2KtpC1DcKUla3/YhFsIUi.TEfkg1";
const GOOD_BCRYPT: &str = "$2b$05$ehEAFhSkAunqE.VrI.wxN.wRlMGTvDU4ytOHQ0woXQZSiRGITY2aa";
const GOOD_ARGON: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$TFZyNFEyc3N1bmdhT2Q3bQ$Bpk8tzrD6+Yd48kuW8H0a736xDDDSGqHAUHGZQ0nqM8";

#[test]
fn the_good_shapes_are_good() {
    for good in [GOOD_512, GOOD_256, GOOD_Y, GOOD_BCRYPT, GOOD_ARGON] {
        assert!(hash_kind(good).is_ok(), "{good}");
    }
    // libxcrypt's most expensive yescrypt setting (mkpasswd -R 11: 1 GiB) is within bounds; one
    // step more is not. Parsing only: verifying would allocate the gigabyte.
    let cost11 = "$y$jFT$rAoHP3njEBEo2pkdcYtbD.$ao8wCRC8Fz87lSrQ5OUjOick/6NY1/j0Aqq8WZqzBN2";
    assert_eq!(hash_kind(cost11), Ok(HashKind::Yescrypt));
    assert!(hash_kind(&cost11.replace("$jFT$", "$jGT$")).is_err());
}

#[test]
fn hash_kind_rejects_garbage() {
    let hash_512 = &GOOD_512[GOOD_512.len() - 86..];
    let cases: Vec<String> = vec![
        // Not hashes at all.
        "".into(),
        "*".into(),
        "x".into(),
        "*LK*".into(),
        "*NP*".into(),
        "password".into(),
        "$".into(),
        "$$".into(),
        "$6".into(),
        "$6$".into(),
        "$6$$".into(),
        // Unsupported schemes.
        "$1$saltsalt$hUNdZhx/RwUGDTFDdVxX81".into(),
        "abJnggxhB/yWI".into(),
        "_J9..CCCCXBrJUJV154M".into(),
        "$7$CU..../....abcdefgh$0123456789abcdef".into(),
        "$gy$j9T$abc$def".into(),
        "$sha1$40000$salt$hash".into(),
        GOOD_BCRYPT.replace("$2b$", "$2x$"),
        "$argon2x$v=19$m=19456,t=2,p=1$TFZyNFEyc3N1bmdhT2Q3bQ$Bpk8tzrD6".into(),
        // SHA-crypt: bad salt, bad output, bad rounds, wrong lengths.
        format!("$6$bad_salt$%{hash_512}"),
        format!("$6$bad salt${hash_512}"),
        format!("$6$$%{hash_512}"),
        format!("$6$12345678901234567${hash_512}"),
        GOOD_512.replacen('/', "!", 2),
        GOOD_512[..GOOD_512.len() - 1].to_owned(),
        format!("{GOOD_512}$"),
        format!("{GOOD_512}x"),
        GOOD_256.replace("$5$", "$6$"),
        GOOD_512.replace("$6$", "$5$"),
        GOOD_512.replace("$6$", "$6$rounds=999$"),
        GOOD_512.replace("$6$", "$6$rounds=$"),
        GOOD_512.replace("$6$", "$6$rounds=abc$"),
        GOOD_512.replace("$6$", "$6$rounds=05000$"),
        GOOD_512.replace("$6$", "$6$rounds=-5000$"),
        GOOD_512.replace("$6$", "$6$rounds=999999999$"),
        GOOD_512.replace("$6$", "$6$rounds=99999999999999$"),
        GOOD_512.replace("$6$", "$6$rounds=5000$rounds=5000$"),
        // Whitespace and line breaks.
        format!(" {GOOD_512}"),
        format!("{GOOD_512}\n"),
        format!("{GOOD_512}\0"),
        GOOD_512.replace('$', "\u{ff04}"),
        // yescrypt.
        GOOD_Y[..GOOD_Y.len() - 1].to_owned(),
        GOOD_Y.replace("$j9T$", "$$"),
        GOOD_Y.replace("$j9T$", "$!!!$"),
        GOOD_Y.replace("$j9T$", "$jzzzzz$"),
        GOOD_Y.replace("$j9T$", "$a9T$"),
        GOOD_Y.replace("$j9T$", "$j9T/$"),
        GOOD_Y.replace("$j9T$", "$j9T.$"),
        GOOD_Y.replace("$j9T$", "$jHT$"),
        GOOD_Y.replace("snvFX4Y3QBTW8C1FbwNfD0", ""),
        GOOD_Y.replace("snvFX4Y3QBTW8C1FbwNfD0", "snv_X4Y3"),
        format!("{GOOD_Y}$extra"),
        // bcrypt.
        GOOD_BCRYPT[..59].to_owned(),
        format!("{GOOD_BCRYPT}a"),
        GOOD_BCRYPT.replace("$05$", "$03$"),
        GOOD_BCRYPT.replace("$05$", "$31$"),
        GOOD_BCRYPT.replace("$05$", "$5a$"),
        GOOD_BCRYPT.replace("$05$", "$5$$"),
        GOOD_BCRYPT.replacen('.', "_", 1),
        GOOD_BCRYPT.replace("Y2aa", "Y2ab"),
        // argon2.
        GOOD_ARGON.rsplit_once('$').map(|(head, _)| head.to_owned()).unwrap_or_default(),
        GOOD_ARGON.replace("v=19$", ""),
        GOOD_ARGON.replace("v=19", "v=20"),
        GOOD_ARGON.replace("m=19456", "m=4194304"),
        GOOD_ARGON.replace("t=2", "t=1000"),
        GOOD_ARGON.replace("p=1", "p=0"),
        GOOD_ARGON.replace("p=1", "p=1,x=3"),
        GOOD_ARGON.replace("m=19456", "m=abc"),
        GOOD_ARGON.replace("TFZyNFEyc3N1bmdhT2Q3bQ", "c2FsdA"),
        GOOD_ARGON.replace("Bpk8tzrD6", "Bpk8tzrD!"),
        format!("{GOOD_ARGON}$more"),
    ];
    for case in &cases {
        match hash_kind(case) {
            Err(e) => {
                assert_eq!(e.field(), "password_hash", "{case:?}");
                // Only the first characters of a hash are echoed, never the whole of it.
                if let PolicyError::Invalid { value, .. } = &e {
                    assert!(value.chars().count() <= 13, "{value:?}");
                    assert!(case.starts_with(value.trim_end_matches('…')), "{value:?}");
                }
            }
            Ok(kind) => panic!("{case:?} accepted as {kind:?}"),
        }
        assert!(verify_password(&secret("x"), case).is_err(), "{case:?} verified");
    }
}

fn reason(e: &PolicyError) -> String {
    match e {
        PolicyError::Invalid { reason, .. } | PolicyError::InvalidSecret { reason, .. } => reason.clone(),
    }
}

#[test]
fn locked_entries_are_rejected_with_their_own_reason() {
    let locked = ["!", "!!", "!*", &format!("!{GOOD_512}"), &format!("!{GOOD_Y}")];
    let garbage = reason(&hash_kind("garbage").unwrap_err());
    let placeholder = reason(&hash_kind("*").unwrap_err());
    assert_ne!(garbage, placeholder);
    for entry in locked {
        assert!(is_locked(entry));
        let e = hash_kind(entry).unwrap_err();
        assert_eq!(e.field(), "password_hash");
        let r = reason(&e);
        assert!(r.contains("locked"), "{r}");
        assert_ne!(r, garbage);
        assert_ne!(r, placeholder);
    }
    assert!(!is_locked(GOOD_512));
    assert!(!is_locked("*"));
}

#[test]
fn dummy_verify_is_false_and_costs_a_verify() {
    for pw in ["", "x", "correct horse battery staple"] {
        assert!(!dummy_verify(&secret(pw)));
    }
    // Time a real argon2id verify (wrong password) against the dummy, interleaved; compare the
    // fastest of each (the least disturbed by other tests running on the same two cores).
    let pw = secret("correct horse battery staple");
    let stored = hash_password(&pw).unwrap();
    let wrong = secret("wrong horse battery staple");
    let (mut real, mut dummy) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        assert!(!verify_password(&wrong, &stored).unwrap().ok);
        real.push(t.elapsed());
        let t = Instant::now();
        assert!(!dummy_verify(&wrong));
        dummy.push(t.elapsed());
    }
    let fastest = |v: Vec<Duration>| v.into_iter().min().unwrap_or_default();
    let ratio = fastest(dummy).as_secs_f64() / fastest(real).as_secs_f64();
    assert!((0.3..3.0).contains(&ratio), "dummy/real verify time ratio {ratio}");
}

// ---------------------------------------------------------------------------------------------
// Password policy

fn assert_rejected(policy: &PasswordPolicy, user: &str, pw: &str, why: &str) {
    let e = policy.check(user, &secret(pw)).expect_err(why);
    assert_eq!(e.field(), "password", "{why}");
    assert!(matches!(e, PolicyError::InvalidSecret { .. }), "{why}: {e:?}");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(pw), "{why}: error echoes the password: {shown}");
    assert!(reason(&e).contains(why), "{why}: {shown}");
}

#[test]
fn policy_length() {
    let p = PasswordPolicy::default();
    assert_eq!(p.min_length, 14);
    assert!(p.breached.is_none());
    assert_rejected(&p, "alice", "Xq7!vLm#2pRz9", "too short"); // 13 characters
    assert!(p.check("alice", &secret("Xq7!vLm#2pRz9w")).is_ok()); // 14
                                                                  // Characters, not bytes: 13 two-byte characters are still too short.
    assert_rejected(&p, "alice", &"é".repeat(13), "too short");
    assert!(p.check("alice", &secret(&"é".repeat(14))).is_ok());
    let custom = PasswordPolicy { min_length: 20, breached: None };
    assert_rejected(&custom, "alice", "Xq7!vLm#2pRz9wXq7!v", "too short");
    assert_rejected(&p, "alice", &"a".repeat(1025), "too long");
    assert!(p.check("alice", &secret(&"b".repeat(1024))).is_ok());
    assert_rejected(&p, "alice", "fine long password\0but with a NUL", "NUL");
}

#[test]
fn policy_not_the_username() {
    let p = PasswordPolicy { min_length: 8, breached: None };
    assert_rejected(&p, "wonderland42", "wonderland42", "username");
    assert_rejected(&p, "wonderland42", "WonderLand42", "username");
    assert_rejected(&p, "WONDERLAND42", "wonderland42", "username");
    assert!(p.check("wonderland42", &secret("wonderland42!")).is_ok());
    assert!(p.check("", &secret("wonderland42")).is_ok());
}

#[test]
fn policy_breached_list() {
    // The list as a caller loads it: HIBP-style "SHA1:count" lines, plain lines, comments.
    let file = "# breached\n\
                076D3E6C4B9F654B5B220B9045B7458AB6B4CBC6:123\n\
                correct horse battery staple\n\
                \n\
                d637e6edaf4193ffcd807b5f60282a26ff72989b\r\n";
    let set: HashSet<String> = file.lines().filter_map(PasswordPolicy::breached_entry).collect();
    assert_eq!(set.len(), 3, "{set:?}");
    let p = PasswordPolicy { min_length: 8, breached: Some(Arc::new(set)) };
    assert_rejected(&p, "alice", "P@ssw0rd!", "breached"); // by SHA-1 (uppercase in the file)
    assert_rejected(&p, "alice", "qwertyuiop123", "breached"); // by SHA-1
    assert_rejected(&p, "alice", "correct horse battery staple", "breached"); // plain
    assert!(p.check("alice", &secret("Correct horse battery staple")).is_ok());
    assert!(p.check("alice", &secret("a fine unbreached passphrase")).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Public keys

/// `(file, ssh-keygen -l output)` from `keys/expected.txt`.
fn key_fixtures() -> Vec<(String, String)> {
    read("keys/expected.txt")
        .lines()
        .map(|l| {
            let (file, out) = l.split_once('\t').unwrap();
            (file.to_owned(), out.to_owned())
        })
        .collect()
}

fn key_line(file: &str) -> String {
    read(&format!("keys/{file}"))
}

#[test]
fn keys_match_ssh_keygen() {
    let fixtures = key_fixtures();
    let mut accepted = 0;
    for (file, expected) in &fixtures {
        // "3072 SHA256:... comment (RSA)"
        let fields: Vec<&str> = expected.split(' ').collect();
        let (bits, fp, comment, kind) = (fields[0], fields[1], fields[2], fields[3]);
        let kind = kind.trim_start_matches('(').trim_end_matches(')');
        let line = key_line(file);
        let parsed = PublicKey::parse(&line);
        if file == "dsa.pub" || file == "rsa1024.pub" {
            assert_eq!(parsed.unwrap_err().field(), "key", "{file}");
            continue;
        }
        let key = parsed.unwrap_or_else(|e| panic!("{file}: {e}"));
        accepted += 1;
        assert_eq!(key.fingerprint, fp, "{file}");
        assert_eq!(key.describe(), format!("{kind} {bits}"), "{file}");
        assert_eq!(key.comment, comment, "{file}");
        let mut tokens = line.split_whitespace();
        let normalised = format!("{} {}", tokens.next().unwrap(), tokens.next().unwrap());
        assert_eq!(key.openssh(), normalised, "{file}");
        assert_eq!(key.algorithm, line.split(' ').next().unwrap());
        // The normalised form parses back to the same key, with no comment.
        let again = PublicKey::parse(&key.openssh()).unwrap();
        assert_eq!(again.fingerprint, key.fingerprint);
        assert_eq!(again.comment, "");
    }
    assert_eq!(accepted, 9, "ed25519, 3 RSA, 3 ECDSA, 2 FIDO");
}

#[test]
fn key_whitespace_and_comments() {
    let line = key_line("ed25519.pub");
    let base = PublicKey::parse(&line).unwrap();
    let openssh = base.openssh();
    for variant in [format!("  {openssh}  \r\n"), format!("\t{openssh}\t"), openssh.replace(' ', " \t ")] {
        let k = PublicKey::parse(&variant).unwrap_or_else(|e| panic!("{variant:?}: {e}"));
        assert_eq!(k.openssh(), openssh);
        assert_eq!(k.comment, "");
    }
    let k = PublicKey::parse(&format!("{openssh}  Alice's laptop  (work) ")).unwrap();
    assert_eq!(k.comment, "Alice's laptop  (work)");
    assert_eq!(k.fingerprint, base.fingerprint);
}

fn assert_key_rejected(line: &str, why: &str) {
    match PublicKey::parse(line) {
        Err(e) => {
            assert_eq!(e.field(), "key", "{why}");
            assert!(reason(&e).contains(why), "{line:?}: wanted {why:?}, got {e}");
        }
        Ok(k) => panic!("{line:?} accepted as {k:?}"),
    }
}

fn blob_of(file: &str) -> Vec<u8> {
    use base64ct::Encoding;
    let line = key_line(file);
    base64ct::Base64::decode_vec(line.split(' ').nth(1).unwrap()).unwrap()
}

fn b64(blob: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(blob)
}

#[test]
fn key_rejections() {
    let ed = PublicKey::parse(&key_line("ed25519.pub")).unwrap().openssh();
    let rsa = PublicKey::parse(&key_line("rsa3072.pub")).unwrap().openssh();
    let ed_b64 = ed.split(' ').nth(1).unwrap().to_owned();
    let rsa_b64 = rsa.split(' ').nth(1).unwrap().to_owned();

    // Options prefixes.
    assert_key_rejected(&format!("restrict,command=\"/bin/sh\" {ed}"), "options");
    assert_key_rejected(&format!("command=\"echo hi there\" {ed}"), "options");
    assert_key_rejected(&format!("no-pty {ed}"), "options");
    assert_key_rejected(&format!("from=\"10.0.0.0/8\" {ed}"), "options");
    assert_key_rejected(&format!("restrict {}", key_line("dsa.pub")), "options");
    // Obsolete, weak, unsupported.
    assert_key_rejected(&key_line("dsa.pub"), "DSA");
    assert_key_rejected(&key_line("rsa1024.pub"), "1024 bits");
    assert_key_rejected(&format!("ssh-foo {ed_b64}"), "unsupported key type");
    assert_key_rejected(&format!("ssh-ed448 {ed_b64}"), "unsupported key type");
    assert_key_rejected(&format!("rsa-sha2-256 {rsa_b64}"), "signature algorithm");
    assert_key_rejected(&format!("ssh-ed25519-cert-v01@openssh.com {ed_b64}"), "certificate");
    assert_key_rejected(&ed_b64, "key type");
    // Bad Base64 and bad key data.
    assert_key_rejected("ssh-ed25519", "no key data");
    assert_key_rejected("ssh-ed25519 AAAA!!!!", "Base64");
    assert_key_rejected(&format!("ssh-ed25519 {}", &ed_b64[..ed_b64.len() - 4]), "");
    assert_key_rejected(&format!("ssh-ed25519 {}", &ed_b64[..ed_b64.len() - 1]), "Base64");
    let mut long = blob_of("ed25519.pub");
    long.extend_from_slice(b"\0\0\0\x01x");
    assert_key_rejected(&format!("ssh-ed25519 {}", b64(&long)), "malformed");
    let mut short_rsa = blob_of("rsa3072.pub");
    short_rsa.truncate(200);
    assert_key_rejected(&format!("ssh-rsa {}", b64(&short_rsa)), "malformed");
    // Declared algorithm differs from the one in the key data.
    assert_key_rejected(&format!("ssh-rsa {ed_b64}"), "the key data is `ssh-ed25519`");
    assert_key_rejected(&format!("ssh-ed25519 {rsa_b64}"), "the key data is `ssh-rsa`");
    let p256 = key_line("ecdsa256.pub");
    let p256_b64 = p256.split(' ').nth(1).unwrap();
    assert_key_rejected(&format!("ecdsa-sha2-nistp384 {p256_b64}"), "the key data is");
    // A P-256 point inside a blob that claims P-384 in both names.
    let mut fake384 = blob_of("ecdsa256.pub");
    let name = b"ecdsa-sha2-nistp256";
    let start = 4;
    fake384[start..start + name.len()].copy_from_slice(b"ecdsa-sha2-nistp384");
    let curve_at = 4 + name.len() + 4;
    fake384[curve_at..curve_at + 8].copy_from_slice(b"nistp384");
    assert_key_rejected(&format!("ecdsa-sha2-nistp384 {}", b64(&fake384)), "malformed");
    // Lines, NUL, control characters, emptiness.
    assert_key_rejected(&format!("{ed}\n{rsa}"), "more than one line");
    assert_key_rejected(&format!("{ed} one\r\ntwo"), "more than one line");
    assert_key_rejected(&format!("{ed} comment\0"), "NUL");
    assert_key_rejected(&format!("{ed} bell\x07"), "control");
    assert_key_rejected("", "empty");
    assert_key_rejected("  \n", "empty");
    assert_key_rejected(&format!("{ed} {}", "c".repeat(17 * 1024)), "longer than");
    // PEM / RFC 4716 public keys.
    assert_key_rejected(
        &format!("---- BEGIN SSH2 PUBLIC KEY ----\n{ed_b64}\n---- END SSH2 PUBLIC KEY ----"),
        "RFC 4716",
    );
}

#[test]
fn private_keys_are_rejected_without_echo() {
    let body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\
                QyNTUxOQAAACDd3QE4DZHtWwSzE4aVb0pjRYkWpsm2uD1DNkzs9U2NmQAAAJg3o2pWN6Nq";
    for key in [
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"),
        format!("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n{body}"),
        format!("-----BEGIN OPENSSH PRIVATE KEY----- {body}"),
    ] {
        let e = PublicKey::parse(&key).unwrap_err();
        assert_eq!(e.field(), "key");
        assert!(reason(&e).contains("private key"), "{e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(&body[..20]), "private key echoed: {shown}");
    }
}
