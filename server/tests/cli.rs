//! End-to-end tests of the `gatehouse` CLI: the real binary, driven through `std::process::Command`,
//! each test on its own temp dir with its own config and SQLite database.
//!
//! Bad input: every class gets a test asserting exit status 2, one `gatehouse: error:` line on
//! stderr naming the problem, nothing on stdout, and an unchanged database (`gatehouse export
//! --json` byte-identical before and after). Then the happy paths, `gatehouse check`, the
//! importers (passwd/shadow with real `mkpasswd` hashes, CSV, SFTPGo), `--help` and a closed pipe.
//!
//! Needs `ssh-keygen` (openssh-client) and `mkpasswd` (whois) on PATH. Uses the host's real NSS:
//! `root`, `daemon` and `nobody` (uid 65534) are taken locally.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_policy::password::verify_password;
use gatehouse_policy::secret::Secret;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// The fixtures of this suite.
fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cli").join(name).to_str().unwrap().to_string()
}

/// What a run of the binary gave.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// One test's world: a temp dir holding the config, the database and a folder for real roots.
struct Env {
    dir: tempfile::TempDir,
    cfg: PathBuf,
}

impl Env {
    /// A fresh migrated database. Ids come from 65000..=66000 (so `nobody`, 65534, is inside the
    /// range); `home_base` is `/srv/gatehouse` (never created: the CLI only checks the prefix);
    /// `<tmp>/roots` is an allowed prefix for tests that need real folders.
    fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("gatehouse-cli").tempdir().unwrap();
        let env = Env { cfg: dir.path().join("gatehouse.toml"), dir };
        std::fs::create_dir(env.roots()).unwrap();
        std::fs::create_dir(env.path("vsftpd")).unwrap();
        env.write_config(&[env.roots().as_str()]);
        let out = env.run(&["db", "migrate"]);
        assert_eq!(out.code, 0, "db migrate failed: {out:?}");
        assert!(out.stdout.contains("applied migrations"), "{out:?}");
        env
    }

    /// (Re)writes the config with these extra root prefixes.
    fn write_config(&self, prefixes: &[&str]) {
        let list: Vec<String> = prefixes.iter().map(|p| format!("{p:?}")).collect();
        let text = format!(
            "database = \"sqlite://{d}/gatehouse.db\"\nhome_base = \"/srv/gatehouse\"\nroot_prefixes = [{}]\n\
             ftp_servers = [\"vsftpd\"]\nvsftpd_user_config_dir = \"{d}/vsftpd\"\n\n[ids]\nfirst = 65000\nlast = 66000\n",
            list.join(", "),
            d = self.dir.path().display(),
        );
        std::fs::write(&self.cfg, text).unwrap();
    }

    /// `<tmp>/roots`, an allowed prefix that exists.
    fn roots(&self) -> String {
        self.dir.path().join("roots").to_str().unwrap().to_string()
    }

    /// A path inside the temp dir.
    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_str().unwrap().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).env("GATEHOUSE_CONFIG", &self.cfg).env_remove("RUST_BACKTRACE");
        c
    }

    /// Runs the binary with empty standard input.
    fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    /// Runs the binary with `input` on standard input.
    fn run_stdin(&self, args: &[&str], input: &str) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        // The binary may exit before reading (bad input); a closed pipe here is fine.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code, 0, "gatehouse {args:?} failed: {out:?}");
        out.stdout
    }

    /// [`Env::ok`] with standard input.
    fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self.run_stdin(args, input);
        assert_eq!(out.code, 0, "gatehouse {args:?} failed: {out:?}");
        out.stdout
    }

    /// Runs a command whose stdout is JSON.
    fn json(&self, args: &[&str]) -> Value {
        let s = self.ok(args);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("gatehouse {args:?} printed no JSON ({e}): {s}"))
    }

    /// The raw bytes of `gatehouse export --json`.
    fn export(&self) -> Vec<u8> {
        let out = self.command(&["export", "--json"]).output().unwrap();
        assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// One user's record from `export --json` (which keeps `password_hash`).
    fn exported_user(&self, name: &str) -> Value {
        let v: Value = serde_json::from_slice(&self.export()).unwrap();
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not exported"))
    }

    /// Names of every user, from the export.
    fn user_names(&self) -> Vec<String> {
        let v: Value = serde_json::from_slice(&self.export()).unwrap();
        v["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_string()).collect()
    }

    /// `user show NAME --json`.
    fn show(&self, name: &str) -> Value {
        self.json(&["user", "show", name, "--json"])
    }
}

/// Runs `f` and asserts the database did not change: `gatehouse export --json` is byte-identical
/// before and after.
fn assert_unchanged(env: &Env, f: impl FnOnce() -> Out) -> Out {
    let before = env.export();
    let out = f();
    let after = env.export();
    assert!(
        before == after,
        "the database changed although the command failed: {out:?}\nbefore: {}\nafter: {}",
        String::from_utf8_lossy(&before),
        String::from_utf8_lossy(&after)
    );
    out
}

/// Asserts the shape of a refusal: exit 2, exactly one stderr line `gatehouse: error: …` that
/// contains `what`, and nothing on stdout (so nothing claims success).
fn assert_refused(out: &Out, what: &str) {
    assert_eq!(out.code, 2, "expected exit 2: {out:?}");
    assert!(out.stdout.is_empty(), "stdout must be empty on an error: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {out:?}");
    assert!(lines[0].starts_with("gatehouse: error: "), "{out:?}");
    assert!(lines[0].contains(what), "stderr should mention {what:?}: {out:?}");
}

/// Bad input on stdin `input`: refused with `what` in the message, database unchanged.
fn bad_stdin(env: &Env, args: &[&str], input: &str, what: &str) {
    let out = assert_unchanged(env, || env.run_stdin(args, input));
    assert_refused(&out, what);
}

/// Bad input: refused with `what` in the message, database unchanged.
fn bad(env: &Env, args: &[&str], what: &str) {
    bad_stdin(env, args, "", what);
}

/// An env with one plain user `alice` (no password), so there is data that must survive.
fn env_with_alice() -> Env {
    let env = Env::new();
    env.ok(&["user", "add", "alice", "--email", "alice@example.com"]);
    env.ok(&["rule", "add", "alice", "/", "read"]);
    env
}

/// Makes an OpenSSH key pair with ssh-keygen; returns the path of the public key, or `None` if
/// this ssh-keygen cannot make that type (DSA is gone from OpenSSH 10).
fn keygen(dir: &str, name: &str, args: &[&str]) -> Option<String> {
    let path = format!("{dir}/{name}");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-f", &path])
        .args(args)
        .output()
        .expect("ssh-keygen not found: install openssh-client");
    out.status.success().then(|| format!("{path}.pub"))
}

/// `mkpasswd -m METHOD PASSWORD` (package whois).
fn mkpasswd(method: &str, pw: &str) -> String {
    let out = Command::new("mkpasswd")
        .args(["-m", method, pw])
        .output()
        .unwrap_or_else(|e| panic!("mkpasswd not found ({e}): install the `whois` package (CI does)"));
    assert!(out.status.success(), "mkpasswd -m {method} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn verifies(pw: &str, hash: &str) -> bool {
    verify_password(&Secret::new(pw.into()), hash).unwrap_or_else(|e| panic!("{hash} does not parse: {e}")).ok
}

/// The line of `check` output about `what` (`active`, `ip`, `delete /x`, ...).
fn check_line<'a>(stdout: &'a str, what: &str) -> &'a str {
    stdout.lines().find(|l| l.starts_with(what)).unwrap_or_else(|| panic!("no {what:?} line in:\n{stdout}"))
}

// ------------------------------------------------------------------------------------------------
// Bad input: one test per class
// ------------------------------------------------------------------------------------------------

#[test]
fn bad_names_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "Alice"], "invalid name \"Alice\"");
    bad(&env, &["user", "add", "1abc"], "invalid name \"1abc\"");
    let long = "a".repeat(33);
    bad(&env, &["user", "add", &long], "longer than 32 characters");
    bad(&env, &["user", "add", "gatehouse-users"], "reserved");
    bad(&env, &["group", "add", "Acme"], "invalid group \"Acme\"");
}

#[test]
fn duplicate_names_are_refused() {
    let env = env_with_alice();
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["user", "add", "alice"], "user \"alice\" already exists");
    // Users and groups share the name space (every user has a private group of its name).
    bad(&env, &["user", "add", "acme"], "group \"acme\" already exists");
    bad(&env, &["group", "add", "alice"], "user \"alice\" already exists");
}

#[test]
fn names_taken_locally_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "root"], "name \"root\" is already a local user");
    bad(&env, &["group", "add", "daemon"], "\"daemon\" is already a local");
    // Debian's `staff` group (gid 50): a local group name is taken for users too.
    bad(&env, &["user", "add", "staff"], "name \"staff\" is already a local group");
}

#[test]
fn uids_taken_locally_or_out_of_range_are_refused() {
    let env = env_with_alice();
    // 65534 is `nobody` on the host, and inside this config's range 65000..=66000.
    bad(&env, &["user", "add", "x", "--uid", "65534"], "id 65534 is already uid of local user \"nobody\"");
    bad(&env, &["user", "add", "x", "--uid", "70000"], "outside the configured range");
    // The first two ids of the range are gatehouse's virtual groups.
    bad(&env, &["user", "add", "x", "--uid", "65001"], "outside the configured range");
    let alice_uid = env.show("alice")["uid"].as_u64().unwrap().to_string();
    bad(&env, &["user", "add", "x", "--uid", &alice_uid], "already exists");
}

#[test]
fn bad_cidrs_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "x", "--allow-ip", "10.0.0.0/33"], "invalid allowed_ips \"10.0.0.0/33\"");
    bad(&env, &["user", "add", "x", "--allow-ip", "10.1.2.3/8"], "host bits are set");
    bad(&env, &["user", "add", "x", "--deny-ip", "nonsense"], "invalid denied_ips \"nonsense\"");
    bad(&env, &["user", "set", "alice", "--allow-ip", "10.1.2.3/8"], "host bits are set");
    bad(&env, &["group", "add", "acme", "--allow-ip", "2001:db8::/129"], "invalid allowed_ips");
}

#[test]
fn bad_rule_paths_are_refused() {
    let env = env_with_alice();
    bad(&env, &["rule", "add", "alice", "relative/x", "read"], "must be absolute");
    bad(&env, &["rule", "add", "alice", "/a/../b", "read"], "invalid path \"/a/../b\"");
    bad(&env, &["rule", "add", "alice", "/a//b", "read"], "invalid path \"/a//b\"");
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["group", "rule", "add", "acme", "/a/./b", "read"], "invalid path \"/a/./b\"");
}

#[test]
fn roots_outside_the_allowed_prefixes_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "x", "--root", "/etc/x"], "must lie under /srv/gatehouse");
    bad(&env, &["user", "add", "x", "--root", "/srv/gatehouse"], "must lie under");
    bad(&env, &["user", "add", "x", "--root", "/srv/gatehouse/../etc"], "invalid root");
    bad(&env, &["user", "add", "x", "--root", "srv/gatehouse/x"], "must be an absolute path");
    bad(&env, &["user", "set", "alice", "--root", "/etc/x"], "must lie under");
}

#[test]
fn bad_levels_are_refused() {
    let env = env_with_alice();
    bad(&env, &["rule", "add", "alice", "/x", "admin"], "invalid level \"admin\"");
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["group", "rule", "add", "acme", "/x", "rw"], "invalid level \"rw\"");
}

#[test]
fn bad_modes_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "x", "--mode", "rwx"], "invalid mode \"rwx\"");
    bad(&env, &["user", "set", "alice", "--mode", "w"], "invalid mode \"w\"");
}

#[test]
fn weak_passwords_are_refused() {
    let env = env_with_alice();
    bad_stdin(&env, &["user", "add", "bob", "--password-stdin"], "short\n", "too short");
    // Equal to the username (ignoring case); the name is long enough to pass the length check.
    bad_stdin(
        &env,
        &["user", "add", "longusername-x", "--password-stdin"],
        "LongUserName-X\n",
        "must not be the username",
    );
    bad_stdin(&env, &["user", "add", "bob", "--password-stdin"], "", "no password on standard input");
    bad_stdin(&env, &["passwd", "alice", "--stdin"], "short\n", "too short");
    bad_stdin(&env, &["passwd", "alice", "--stdin"], "alice\n", "too short");
    // Nothing about the password itself is echoed.
    let out = assert_unchanged(&env, || env.run_stdin(&["passwd", "alice", "--stdin"], "s3cr3t\n"));
    assert!(!out.stderr.contains("s3cr3t"), "{out:?}");
}

#[test]
fn bad_keys_are_refused() {
    let env = env_with_alice();
    let dir = env.path("");
    bad(&env, &["key", "add", "alice", "garbage"], "invalid key \"garbage\"");
    let ed = keygen(&dir, "ed", &["-t", "ed25519", "-C", "me@host"]).unwrap();
    let line = std::fs::read_to_string(&ed).unwrap();
    // Truncated base64.
    let truncated: String = line.chars().take(60).collect();
    bad(&env, &["key", "add", "alice", &truncated], "invalid key");
    let rsa = keygen(&dir, "rsa1024", &["-t", "rsa", "-b", "1024"]).expect("ssh-keygen -t rsa -b 1024");
    bad(&env, &["key", "add", "alice", "--file", &rsa], "RSA key of 1024 bits is too weak");
    match keygen(&dir, "dsa", &["-t", "dsa"]) {
        Some(dsa) => bad(&env, &["key", "add", "alice", "--file", &dsa], "DSA keys (ssh-dss) are obsolete"),
        None => eprintln!("this ssh-keygen cannot make DSA keys; the DSA case is covered by policy's key tests"),
    }
    // A file with a good key and a bad one adds neither.
    let mixed = env.path("mixed.pub");
    std::fs::write(&mixed, format!("{line}garbage\n")).unwrap();
    bad(&env, &["key", "add", "alice", "--file", &mixed], "invalid key");
    // A file naming the same key twice, or a key the user already has, adds nothing.
    let twice = env.path("twice.pub");
    std::fs::write(&twice, format!("{line}{line}")).unwrap();
    bad(&env, &["key", "add", "alice", "--file", &twice], "is given twice");
    env.ok(&["key", "add", "alice", "--file", &ed]);
    let other = keygen(&dir, "other", &["-t", "ed25519"]).unwrap();
    let both = env.path("both.pub");
    std::fs::write(&both, std::fs::read_to_string(&other).unwrap() + &line).unwrap();
    bad(&env, &["key", "add", "alice", "--file", &both], "(on user alice)\" already exists");
    bad(&env, &["key", "add", "alice", "--file", &env.path("missing.pub")], "cannot read");
    bad(&env, &["key", "del", "alice", "SHA256:nosuchkey"], "has no key with fingerprint or comment");
}

#[test]
fn unknown_users_and_groups_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "show", "nobodyhere"], "no user named \"nobodyhere\"");
    bad(&env, &["user", "set", "nobodyhere", "--mode", "r"], "no user named \"nobodyhere\"");
    bad(&env, &["user", "del", "nobodyhere"], "no user named \"nobodyhere\"");
    bad(&env, &["rule", "add", "nobodyhere", "/", "read"], "no user named \"nobodyhere\"");
    bad(&env, &["key", "list", "nobodyhere"], "no user named \"nobodyhere\"");
    bad(&env, &["check", "nobodyhere"], "no user named \"nobodyhere\"");
    bad_stdin(&env, &["passwd", "nobodyhere", "--stdin"], "a long enough password\n", "no user named \"nobodyhere\"");
    bad(&env, &["rule", "del", "alice", "/not-a-rule"], "has no rule for \"/not-a-rule\"");
    bad(&env, &["group", "show", "nogroup-here"], "no group named \"nogroup-here\"");
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["group", "members", "acme", "--add", "alice", "--add", "nobodyhere"], "no user named \"nobodyhere\"");
    bad(&env, &["group", "members", "acme", "--remove", "alice"], "is not a member of group acme");
}

#[test]
fn unknown_groups_in_group_option_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "x", "--group", "nogroup-here"], "no group named \"nogroup-here\"");
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["user", "add", "x", "--group", "acme", "--group", "nogroup-here"], "no group named \"nogroup-here\"");
    bad(
        &env,
        &["user", "set", "alice", "--group", "acme", "--group", "nogroup-here"],
        "no group named \"nogroup-here\"",
    );
}

#[test]
fn bad_expiry_dates_are_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "add", "x", "--expires", "tomorrow"], "invalid expires \"tomorrow\"");
    bad(&env, &["user", "add", "x", "--expires", "2027-13-01"], "invalid expires \"2027-13-01\"");
    bad(&env, &["user", "set", "alice", "--expires", "31/12/2027"], "invalid expires");
}

#[test]
fn user_set_without_options_is_refused() {
    let env = env_with_alice();
    bad(&env, &["user", "set", "alice"], "nothing to change");
    env.ok(&["group", "add", "acme"]);
    bad(&env, &["group", "set", "acme"], "nothing to change");
}

#[test]
fn malformed_csv_imports_are_refused() {
    let env = env_with_alice();
    bad(&env, &["import", "csv", &fixture("unknown-column.csv")], "unknown column \"emial\"");
    // The parser names the file and the line (3) of the bad cell.
    bad(
        &env,
        &["import", "csv", &fixture("bad-cidr.csv")],
        "bad-cidr.csv:3: allowed_ips: invalid allowed_ips \"10.0.0.0/33\"",
    );
    bad(&env, &["import", "csv", &env.path("missing.csv")], "cannot read");
}

#[test]
fn csv_import_with_one_bad_row_imports_nothing() {
    let env = env_with_alice();
    // gina (line 2) and ivan (line 4) are fine; hank's root is outside the prefixes, which only
    // the store sees, inside the import's transaction.
    bad(&env, &["import", "csv", &fixture("bad-root.csv")], "user \"hank\"");
    bad(&env, &["import", "csv", &fixture("bad-cidr.csv")], ":3:");
    assert_eq!(env.user_names(), ["alice"]);
    // A row naming an existing user: nothing else lands either.
    let dup = env.path("dup.csv");
    std::fs::write(&dup, "name,email\ngina,gina@example.com\nalice,a@example.com\n").unwrap();
    bad(&env, &["import", "csv", &dup], "user \"alice\" already exists");
    assert_eq!(env.user_names(), ["alice"]);
}

#[test]
fn malformed_sftpgo_imports_are_refused() {
    let env = env_with_alice();
    bad(&env, &["import", "sftpgo", &fixture("sftpgo-not-json.json")], "not valid JSON");
    bad(
        &env,
        &["import", "sftpgo", &fixture("sftpgo-wrong-type.json")],
        "users[0] \"sam\": status: expected an integer, found a string",
    );
    let arr = env.path("array.json");
    std::fs::write(&arr, "[1, 2]").unwrap();
    bad(&env, &["import", "sftpgo", &arr], "expected a JSON object with a `users` array");
    let obj = env.path("users-object.json");
    std::fs::write(&obj, "{\"users\": {}}").unwrap();
    bad(&env, &["import", "sftpgo", &obj], "users: expected an array, found an object");
}

#[test]
fn malformed_passwd_imports_are_refused() {
    let env = env_with_alice();
    bad(&env, &["import", "passwd", &fixture("passwd-malformed")], "passwd-malformed:2: expected 7 fields");
    let p = env.path("passwd");
    std::fs::write(&p, "ann:x:10o1:1001:Ann:/home/ann:/bin/sh\n").unwrap();
    bad(&env, &["import", "passwd", &p], "passwd:1: uid: expected a number");
    let (p2, s2) = (env.path("passwd2"), env.path("shadow2"));
    std::fs::write(&p2, "ann:x:1001:1001:Ann:/home/ann:/bin/sh\n").unwrap();
    std::fs::write(&s2, "ann:$6$short:19000:0:99999:7\n").unwrap();
    bad(&env, &["import", "passwd", &p2, &s2], "shadow2:1: expected 9 fields");
}

#[test]
fn bad_check_arguments_exit_2() {
    let env = env_with_alice();
    bad(&env, &["check", "alice", "--path", "/x", "--op", "frob"], "invalid op \"frob\"");
    bad(&env, &["check", "alice", "--ip", "1.2.3"], "invalid --ip \"1.2.3\"");
    bad(&env, &["check", "alice", "--ip", "10.0.0.0/8"], "invalid --ip");
    bad(&env, &["check", "alice", "--protocol", "SSH"], "invalid protocols \"SSH\"");
    bad(&env, &["check", "alice", "--path", "/x", "--op", "rename"], "--op rename needs --to");
}

#[test]
fn bad_config_and_unmigrated_database_are_refused() {
    let dir = tempfile::Builder::new().prefix("gatehouse-cli").tempdir().unwrap();
    let cfg = dir.path().join("gatehouse.toml");
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).env("GATEHOUSE_CONFIG", &cfg).output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    };
    let db = format!("database = \"sqlite://{}/gatehouse.db\"\n", dir.path().display());
    // A typo in the config is an error, not silently ignored.
    std::fs::write(&cfg, format!("{db}home_bsae = \"/srv/x\"\n")).unwrap();
    assert_refused(&run(&["user", "list"]), "unknown field `home_bsae`");
    std::fs::write(&cfg, format!("{db}[ids]\nfirst = 5\nlast = 4\n")).unwrap();
    assert_refused(&run(&["user", "list"]), "ids");
    // A database that was never migrated: every command but `db` refuses and names the fix.
    std::fs::write(&cfg, &db).unwrap();
    assert_refused(&run(&["user", "add", "alice"]), "run `gatehouse db migrate`");
    assert_refused(&run(&["export", "--json"]), "run `gatehouse db migrate`");
    // Nothing but `db migrate` creates the database.
    assert_refused(&run(&["db", "status"]), "does not exist yet");
    assert!(!dir.path().join("gatehouse.db").exists(), "a refused command leaves no database file behind");
    assert_eq!(run(&["db", "migrate"]).code, 0);
    assert_eq!(run(&["user", "add", "alice"]).code, 0);
    // The database file is created 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("gatehouse.db")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

// ------------------------------------------------------------------------------------------------
// Happy paths
// ------------------------------------------------------------------------------------------------

#[test]
fn user_add_with_every_flag_then_show() {
    let env = Env::new();
    env.ok(&["group", "add", "team"]);
    env.ok(&["group", "add", "acme"]);
    let root = format!("{}/carol", env.roots());
    #[rustfmt::skip]
    let args = [
        "user", "add", "carol", "--password-stdin", "--inactive", "--uid", "65100",
        "--email", "carol@example.com", "--display-name", "Carol Client", "--root", &root,
        "--mode", "r", "--no-delete", "--allow-ip", "10.0.0.0/8", "--allow-ip", "2001:db8::/32",
        "--deny-ip", "10.0.0.66", "--protocols", "ssh,ftp", "--expires", "2099-01-31",
        "--group", "team", "--group", "acme", "--max-file-size", "500M",
    ];
    let out = env.ok_stdin(&args, "correct horse battery staple\n");
    assert_eq!(out.trim(), format!("added user carol (uid 65100, root {root})"));

    let u = env.show("carol");
    assert_eq!(u["name"], "carol");
    assert_eq!(u["uid"], 65100);
    assert_eq!(u["gid"], 65100);
    assert_eq!(u["email"], "carol@example.com");
    assert_eq!(u["display_name"], "Carol Client");
    assert_eq!(u["root"], root.as_str());
    assert_eq!(u["mode"], "r");
    assert_eq!(u["delete_allowed"], false);
    assert_eq!(u["allowed_ips"], serde_json::json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(u["denied_ips"], serde_json::json!(["10.0.0.66/32"]));
    assert_eq!(u["protocols"], serde_json::json!(["ftp", "ssh"]));
    assert_eq!(u["groups"], serde_json::json!(["acme", "team"]));
    assert_eq!(u["active"], false);
    assert_eq!(u["expires_at"], 4_073_500_800_i64); // 2099-01-31T00:00:00Z
    assert_eq!(u["max_file_size"], 500 << 20);
    assert_eq!(u["password_set"], true);
    assert!(u.get("password_hash").is_none(), "show --json must not print the hash: {u}");
    assert!(!u.to_string().contains("$argon2"), "{u}");
    assert!(uuid_like(u["id"].as_str().unwrap()), "{u}");
    // The id is accepted wherever a name is.
    let by_id = env.show(u["id"].as_str().unwrap());
    assert_eq!(by_id["name"], "carol");

    let text = env.ok(&["user", "show", "carol"]);
    for want in [
        "name:            carol",
        "uid/gid:         65100/65100",
        "display name:    Carol Client",
        "mode:            r",
        "delete allowed:  no",
        "protocols:       ftp, ssh",
        "allowed ips:     10.0.0.0/8, 2001:db8::/32",
        "denied ips:      10.0.0.66/32",
        "groups:          acme, team",
        "active:          no",
        "expires:         2099-01-31T00:00:00Z",
        "max file size:   524288000 bytes",
        "password:        set (argon2id)",
    ] {
        assert!(text.contains(want), "user show lacks {want:?}:\n{text}");
    }
    assert!(!text.contains("$argon2"), "{text}");

    // Defaults: a user added with no flags.
    env.ok(&["user", "add", "dave"]);
    let d = env.show("dave");
    assert_eq!(d["root"], "/srv/gatehouse/dave");
    assert_eq!(d["mode"], "rw");
    assert_eq!(d["delete_allowed"], true);
    assert_eq!(d["active"], true);
    assert_eq!(d["password_set"], false);
    assert_eq!(d["protocols"], serde_json::json!(["ftp", "ssh"]));
    assert_eq!(d["expires_at"], Value::Null);
    assert!(d["uid"].as_u64().unwrap() >= 65002, "{d}");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

#[test]
fn user_list_pages_by_name() {
    let env = Env::new();
    for n in ["erin", "bob", "dave", "alice", "carol"] {
        env.ok(&["user", "add", n]);
    }
    let names = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_string()).collect()
    };
    let all = env.json(&["user", "list", "--json"]);
    assert_eq!(names(&all), ["alice", "bob", "carol", "dave", "erin"]);
    assert!(all.as_array().unwrap().iter().all(|u| u.get("password_hash").is_none() && u["password_set"] == false));
    let p1 = env.json(&["user", "list", "--json", "--limit", "2"]);
    assert_eq!(names(&p1), ["alice", "bob"]);
    let p2 = env.json(&["user", "list", "--json", "--limit", "2", "--after", "bob"]);
    assert_eq!(names(&p2), ["carol", "dave"]);
    let p3 = env.json(&["user", "list", "--json", "--limit", "2", "--after", "dave"]);
    assert_eq!(names(&p3), ["erin"]);
    let p4 = env.json(&["user", "list", "--json", "--limit", "2", "--after", "erin"]);
    assert_eq!(names(&p4), Vec::<String>::new());
    // The text table has a header and one row per user.
    let text = env.ok(&["user", "list"]);
    assert!(text.lines().next().unwrap().starts_with("NAME"), "{text}");
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn user_set_changes_only_what_is_given() {
    let env = Env::new();
    env.ok(&["group", "add", "team"]);
    env.ok(&[
        "user",
        "add",
        "alice",
        "--allow-ip",
        "10.0.0.0/8",
        "--deny-ip",
        "10.0.0.66",
        "--expires",
        "2099-01-01",
        "--group",
        "team",
        "--max-file-size",
        "1M",
        "--no-delete",
        "--inactive",
        "--email",
        "a@example.com",
    ]);
    let before = env.show("alice");
    let out = env.ok(&["user", "set", "alice", "--mode", "r", "--display-name", "Alice A"]);
    assert_eq!(out.trim(), "updated user alice");
    let u = env.show("alice");
    assert_eq!(u["mode"], "r");
    assert_eq!(u["display_name"], "Alice A");
    for same in [
        "email",
        "allowed_ips",
        "denied_ips",
        "expires_at",
        "groups",
        "max_file_size",
        "delete_allowed",
        "active",
        "uid",
    ] {
        assert_eq!(u[same], before[same], "{same} changed");
    }
    env.ok(&[
        "user",
        "set",
        "alice",
        "--active",
        "--delete",
        "--clear-allow-ip",
        "--clear-deny-ip",
        "--no-expires",
        "--no-groups",
        "--max-file-size",
        "0",
        "--protocols",
        "ftp",
        "--email",
        "alice@example.org",
    ]);
    let u = env.show("alice");
    assert_eq!(u["active"], true);
    assert_eq!(u["delete_allowed"], true);
    assert_eq!(u["allowed_ips"], serde_json::json!([]));
    assert_eq!(u["denied_ips"], serde_json::json!([]));
    assert_eq!(u["expires_at"], Value::Null);
    assert_eq!(u["groups"], serde_json::json!([]));
    assert_eq!(u["max_file_size"], Value::Null);
    assert_eq!(u["protocols"], serde_json::json!(["ftp"]));
    assert_eq!(u["email"], "alice@example.org");
    assert_eq!(u["mode"], "r");
    env.ok(&[
        "user",
        "set",
        "alice",
        "--allow-ip",
        "192.0.2.0/24",
        "--allow-ip",
        "2001:db8::/32",
        "--expires",
        "2030-06-01T12:00:00Z",
    ]);
    let u = env.show("alice");
    assert_eq!(u["allowed_ips"], serde_json::json!(["192.0.2.0/24", "2001:db8::/32"]));
    assert_eq!(u["expires_at"], 1_906_545_600_i64);
}

#[test]
fn passwd_stdin_replaces_the_hash() {
    let env = Env::new();
    env.ok_stdin(&["user", "add", "alice", "--password-stdin"], "first password of alice\n");
    let h1 = env.exported_user("alice")["password_hash"].as_str().unwrap().to_string();
    assert!(h1.starts_with("$argon2id$"), "{h1}");
    assert!(verifies("first password of alice", &h1));
    let out = env.ok_stdin(&["passwd", "alice", "--stdin"], "second password of alice\r\n");
    assert_eq!(out.trim(), "password of alice changed");
    let h2 = env.exported_user("alice")["password_hash"].as_str().unwrap().to_string();
    assert_ne!(h1, h2);
    assert!(verifies("second password of alice", &h2), "the trailing CR LF is not part of the password");
    assert!(!verifies("first password of alice", &h2));
    assert_eq!(env.show("alice")["password_set"], true);
}

#[test]
fn keys_add_list_del() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    let dir = env.path("");
    let pubfile = keygen(&dir, "k", &["-t", "ed25519", "-C", "alice@laptop"]).unwrap();
    let lf = Command::new("ssh-keygen").args(["-lf", &pubfile]).output().unwrap();
    let lf = String::from_utf8(lf.stdout).unwrap();
    let fingerprint = lf.split_whitespace().nth(1).unwrap().to_string();
    assert!(fingerprint.starts_with("SHA256:"), "{lf}");

    let out = env.ok(&["key", "add", "alice", "--file", &pubfile]);
    assert_eq!(out.trim(), format!("added ED25519 256 {fingerprint}"));
    let list = env.ok(&["key", "list", "alice"]);
    assert_eq!(list.trim(), format!("ED25519 256 {fingerprint} alice@laptop"));
    let fields: Vec<&str> = list.split_whitespace().collect();
    assert_eq!(fields[2], fingerprint, "key list shows the fingerprint ssh-keygen -l shows");

    // A second key, given on the command line.
    let other = keygen(&dir, "k2", &["-t", "ed25519", "-C", "alice@desk"]).unwrap();
    let line = std::fs::read_to_string(&other).unwrap();
    env.ok(&["key", "add", "alice", line.trim()]);
    let keys = env.json(&["key", "list", "alice", "--json"]);
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["algorithm"], "ssh-ed25519");
    assert_eq!(keys[0]["fingerprint"], fingerprint.as_str());
    assert_eq!(keys[0]["comment"], "alice@laptop");
    assert_eq!(env.show("alice")["keys"].as_array().unwrap().len(), 2);

    // Delete by fingerprint, then by comment.
    assert_eq!(env.ok(&["key", "del", "alice", &fingerprint]).trim(), "deleted 1 key(s)");
    assert_eq!(env.ok(&["key", "del", "alice", "alice@desk"]).trim(), "deleted 1 key(s)");
    assert_eq!(env.ok(&["key", "list", "alice"]), "");
}

#[test]
fn rules_add_list_del() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    assert_eq!(env.ok(&["rule", "add", "alice", "/", "read"]).trim(), "rule / → read set for alice");
    env.ok(&["rule", "add", "alice", "/uploads", "write"]);
    env.ok(&["rule", "add", "alice", "/clients/*/in", "upload"]);
    env.ok(&["rule", "add", "alice", "/secret", "none"]);
    // Adding a path again replaces its level.
    env.ok(&["rule", "add", "alice", "/secret", "list"]);
    let rules = env.json(&["rule", "list", "alice", "--json"]);
    let mut got: Vec<(String, String)> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["level"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    let want = [("/", "read"), ("/clients/*/in", "upload"), ("/secret", "list"), ("/uploads", "write")];
    assert_eq!(got, want.map(|(p, l)| (p.to_string(), l.to_string())));
    let text = env.ok(&["rule", "list", "alice"]);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().any(|l| l.starts_with("/clients/*/in") && l.trim_end().ends_with("upload")), "{text}");
    assert_eq!(env.ok(&["rule", "del", "alice", "/secret"]).trim(), "rule /secret deleted for alice");
    assert_eq!(env.json(&["rule", "list", "alice", "--json"]).as_array().unwrap().len(), 3);
}

#[test]
fn groups_members_rules_and_delete_keeps_users() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    env.ok(&["user", "add", "bob"]);
    let out = env.ok(&[
        "group",
        "add",
        "acme",
        "--description",
        "ACME Corp",
        "--allow-ip",
        "198.51.100.0/24",
        "--protocols",
        "ssh",
    ]);
    assert!(out.starts_with("added group acme (gid "), "{out}");
    env.ok(&["group", "members", "acme", "--add", "alice", "--add", "bob"]);
    assert_eq!(env.ok(&["group", "members", "acme"]), "alice\nbob\n");
    env.ok(&["group", "members", "acme", "--remove", "bob"]);
    assert_eq!(env.json(&["group", "members", "acme", "--json"]), serde_json::json!(["alice"]));
    assert_eq!(env.show("alice")["groups"], serde_json::json!(["acme"]));

    env.ok(&["group", "rule", "add", "acme", "/shared", "read"]);
    env.ok(&["group", "rule", "add", "acme", "/drop", "upload"]);
    let rules = env.json(&["group", "rule", "list", "acme", "--json"]);
    assert_eq!(rules.as_array().unwrap().len(), 2);
    env.ok(&["group", "rule", "del", "acme", "/drop"]);
    assert_eq!(env.ok(&["group", "rule", "list", "acme"]).lines().count(), 1);

    env.ok(&["group", "set", "acme", "--protocols", "ssh,ftp", "--description", "ACME"]);
    let g = env.json(&["group", "show", "acme", "--json"]);
    assert_eq!(g["description"], "ACME");
    assert_eq!(g["protocols"], serde_json::json!(["ftp", "ssh"]));
    assert_eq!(g["allowed_ips"], serde_json::json!(["198.51.100.0/24"]));
    assert_eq!(g["members"], serde_json::json!(["alice"]));
    let text = env.ok(&["group", "show", "acme"]);
    assert!(text.contains("members:         alice"), "{text}");
    let list = env.json(&["group", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    let out = env.ok(&["group", "del", "acme"]);
    assert_eq!(out.trim(), "deleted group acme (1 members kept as users)");
    assert_eq!(env.user_names(), ["alice", "bob"]);
    assert_eq!(env.show("alice")["groups"], serde_json::json!([]));
    assert_eq!(env.json(&["group", "list", "--json"]), serde_json::json!([]));
}

#[test]
fn user_del_keeps_files_unless_asked() {
    let env = Env::new();
    let root = format!("{}/alice", env.roots());
    std::fs::create_dir(&root).unwrap();
    std::fs::write(format!("{root}/file"), "data").unwrap();
    env.ok(&["user", "add", "alice", "--root", &root]);
    let out = env.ok(&["user", "del", "alice"]);
    assert_eq!(out.trim(), format!("deleted user alice (files in {root} kept)"));
    assert!(Path::new(&format!("{root}/file")).exists());
    assert!(env.user_names().is_empty());

    // Same root again: not made for the new alice (root owns it), so it is not removed with her.
    env.ok(&["user", "add", "alice", "--root", &root]);
    bad(&env, &["user", "del", "alice", "--remove-files"], "owned by uid 0");
    assert!(Path::new(&format!("{root}/file")).exists());
    // Once it is hers (as gatehouse-tasks makes roots), it is removed with the user.
    let uid: u32 = env
        .ok(&["user", "show", "alice", "--json"])
        .split("\"uid\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::os::unix::fs::chown(&root, Some(uid), Some(uid)).unwrap();
    let out = env.ok(&["user", "del", "alice", "--remove-files"]);
    assert_eq!(out.trim(), format!("deleted user alice and removed {root}"));
    assert!(!Path::new(&root).exists());
    // A root that never existed is fine too.
    env.ok(&["user", "add", "bob", "--root", &format!("{}/bob", env.roots())]);
    let out = env.ok(&["user", "del", "bob", "--remove-files"]);
    assert!(out.contains("did not exist"), "{out}");
    assert!(Path::new(&env.roots()).exists(), "the prefix itself stays");
}

#[test]
fn user_del_remove_files_refuses_a_shared_root() {
    let env = Env::new();
    let shared = format!("{}/shared", env.roots());
    std::fs::create_dir_all(format!("{shared}/inner")).unwrap();
    std::fs::write(format!("{shared}/inner/precious"), "data").unwrap();
    env.ok(&["user", "add", "alice", "--root", &shared]);
    env.ok(&["user", "add", "bob", "--root", &shared]);
    bad(&env, &["user", "del", "alice", "--remove-files"], "is shared with bob");
    assert!(Path::new(&format!("{shared}/inner/precious")).exists());

    // A root inside another user's root is shared too: removing the outer one would destroy it.
    env.ok(&["user", "del", "bob"]);
    env.ok(&["user", "add", "carol", "--root", &format!("{shared}/inner")]);
    bad(&env, &["user", "del", "alice", "--remove-files"], "is shared with carol");
    bad(&env, &["user", "del", "carol", "--remove-files"], "is shared with alice");
    assert!(Path::new(&format!("{shared}/inner/precious")).exists());
    assert_eq!(env.user_names(), ["alice", "carol"]);
}

#[test]
fn user_del_remove_files_refuses_a_root_outside_the_prefixes() {
    let env = Env::new();
    let root = format!("{}/alice", env.roots());
    std::fs::create_dir(&root).unwrap();
    env.ok(&["user", "add", "alice", "--root", &root]);
    // The operator narrows the config afterwards: the root is no longer under an allowed prefix.
    env.write_config(&[]);
    bad(&env, &["user", "del", "alice", "--remove-files"], "refusing --remove-files");
    assert!(Path::new(&root).exists());
}

#[test]
fn db_status_shows_counts() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    env.ok(&["user", "add", "bob"]);
    env.ok(&["group", "add", "acme"]);
    let text = env.ok(&["db", "status"]);
    for want in ["backend:         sqlite", "pending: none", "users: 2", "groups: 1"] {
        assert!(text.contains(want), "db status lacks {want:?}:\n{text}");
    }
    let v = env.json(&["db", "status", "--json"]);
    assert_eq!(v["users"], 2);
    assert_eq!(v["groups"], 1);
    assert_eq!(v["pending"], serde_json::json!([]));
    // Migrating again is a no-op.
    assert_eq!(env.ok(&["db", "migrate"]).trim(), "schema is current; nothing to do");
}

// ------------------------------------------------------------------------------------------------
// gatehouse check
// ------------------------------------------------------------------------------------------------

#[test]
fn check_exit_codes_and_drop_box_explanation() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    env.ok(&["rule", "add", "alice", "/drop", "upload"]);
    // Nothing asked beyond the account: allowed.
    let out = env.run(&["check", "alice"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(check_line(&out.stdout, "active").contains("allow"), "{out:?}");
    assert!(check_line(&out.stdout, "expiry").contains("account does not expire"), "{out:?}");
    // A drop box: upload allowed, delete denied, with the rule named.
    let out = env.run(&["check", "alice", "--path", "/drop/a.pdf", "--op", "upload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(check_line(&out.stdout, "upload /drop/a.pdf").contains("allow: /drop → upload (user rule)"), "{out:?}");
    let out = env.run(&["check", "alice", "--path", "/drop/a.pdf", "--op", "delete"]);
    assert_eq!(out.code, 1, "{out:?}");
    let line = check_line(&out.stdout, "delete /drop/a.pdf");
    assert!(line.contains("DENY"), "{line}");
    assert!(line.contains("deny: /drop → upload (user rule): delete needs write"), "{line}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let out = env.run(&["check", "alice", "--path", "/drop/a.pdf", "--op", "download"]);
    assert_eq!(out.code, 1, "a drop box stays write-only: {out:?}");
    // Relative and dotted paths are canonicalised before the decision.
    let out = env.run(&["check", "alice", "--path", "/x/../drop/./b", "--op", "delete"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("delete /drop/b"), "{out:?}");
    // Rename needs --to; with it, the decision covers both ends.
    let out = env.run(&["check", "alice", "--path", "/drop/a", "--op", "rename", "--to", "/elsewhere/a"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("rename /drop/a → /elsewhere/a"), "{out:?}");
    // Errors exit 2.
    assert_eq!(env.run(&["check", "alice", "--path", "/x", "--op", "frob"]).code, 2);
    assert_eq!(env.run(&["check", "alice", "--ip", "not-an-ip"]).code, 2);
}

#[test]
fn check_inactive_and_expired_users() {
    let env = Env::new();
    env.ok(&["user", "add", "alice", "--inactive"]);
    let out = env.run(&["check", "alice"]);
    assert_eq!(out.code, 1, "{out:?}");
    let line = check_line(&out.stdout, "active");
    assert!(line.contains("DENY") && line.contains("account is inactive"), "{line}");

    env.ok(&["user", "set", "alice", "--active", "--expires", "2020-01-01"]);
    let out = env.run(&["check", "alice"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(check_line(&out.stdout, "active").contains("allow"), "{out:?}");
    let line = check_line(&out.stdout, "expiry");
    assert!(line.contains("DENY") && line.contains("account expired at 2020-01-01T00:00:00Z"), "{line}");

    env.ok(&["user", "set", "alice", "--expires", "2099-01-01"]);
    let out = env.run(&["check", "alice"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(check_line(&out.stdout, "expiry").contains("account expires at 2099-01-01T00:00:00Z"), "{out:?}");
}

#[test]
fn check_ip_lists() {
    let env = Env::new();
    env.ok(&[
        "user",
        "add",
        "alice",
        "--allow-ip",
        "10.0.0.0/8",
        "--allow-ip",
        "2001:db8::/32",
        "--deny-ip",
        "10.9.0.0/16",
    ]);
    let code = |ip: &str| {
        let out = env.run(&["check", "alice", "--ip", ip]);
        assert!(out.code == 0 || out.code == 1, "{out:?}");
        (out.code, check_line(&out.stdout, "ip").to_string())
    };
    let (c, line) = code("10.1.2.3");
    assert_eq!(c, 0, "{line}");
    assert!(line.contains("10.0.0.0/8"), "{line}");
    // An IPv4-mapped IPv6 address is the IPv4 address.
    let (c, line) = code("::ffff:10.1.2.3");
    assert_eq!(c, 0, "{line}");
    assert!(line.contains("10.1.2.3") && line.contains("10.0.0.0/8"), "{line}");
    let (c, line) = code("2001:db8::5");
    assert_eq!(c, 0, "{line}");
    let (c, line) = code("192.0.2.1");
    assert_eq!(c, 1, "{line}");
    assert!(line.contains("DENY") && line.contains("not in the allowed_ips"), "{line}");
    let (c, _) = code("2001:db9::1");
    assert_eq!(c, 1);
    // The deny list wins over the allow list.
    let (c, line) = code("10.9.1.1");
    assert_eq!(c, 1, "{line}");
    assert!(line.contains("10.9.0.0/16"), "{line}");
    // A group's allow list widens the user's.
    env.ok(&["group", "add", "acme", "--allow-ip", "192.0.2.0/24"]);
    env.ok(&["group", "members", "acme", "--add", "alice"]);
    let (c, line) = code("192.0.2.1");
    assert_eq!(c, 0, "{line}");
    assert!(line.contains("group acme"), "{line}");
}

#[test]
fn check_protocols_own_and_from_groups() {
    let env = Env::new();
    env.ok(&["user", "add", "alice", "--protocols", "ssh"]);
    let out = env.run(&["check", "alice", "--protocol", "ssh"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(check_line(&out.stdout, "protocol").contains("ssh is in the user's protocols"), "{out:?}");
    let out = env.run(&["check", "alice", "--protocol", "ftp"]);
    assert_eq!(out.code, 1, "{out:?}");
    let line = check_line(&out.stdout, "protocol");
    assert!(line.contains("DENY") && line.contains("ftp is not among the user's protocols (ssh)"), "{line}");
    env.ok(&["group", "add", "ftpers", "--protocols", "ftp"]);
    env.ok(&["user", "set", "alice", "--group", "ftpers"]);
    // Allowed by protocol, but vsftpd has no file for alice yet (gatehouse-tasks writes it):
    // the login would be refused, and check says so, as the account check would.
    let out = env.run(&["check", "alice", "--protocol", "ftp"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(check_line(&out.stdout, "protocol").contains("ftp is granted by group ftpers"), "{out:?}");
    let line = check_line(&out.stdout, "vsftpd");
    assert!(line.contains("DENY") && line.contains("no vsftpd file for this user yet"), "{line}");
    std::fs::write(env.path("vsftpd/alice"), "local_root=/x\n").unwrap();
    let out = env.run(&["check", "alice", "--protocol", "ftp"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(check_line(&out.stdout, "vsftpd").contains("allow"), "{out:?}");
}

#[test]
fn check_json_output() {
    let env = Env::new();
    env.ok(&["user", "add", "alice", "--mode", "r"]);
    let out = env.run(&["check", "alice", "--json", "--path", "/a.txt", "--op", "upload"]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["user"], "alice");
    assert_eq!(v["allowed"], false);
    let ds = v["decisions"].as_array().unwrap();
    let last = ds.last().unwrap();
    assert_eq!(last["what"], "upload /a.txt");
    assert_eq!(last["allowed"], false);
    assert!(last["reason"].as_str().unwrap().contains("mode"), "{last}");
    assert!(ds.iter().any(|d| d["what"] == "active" && d["allowed"] == true), "{v}");

    let out = env.run(&["check", "alice", "--json", "--path", "/a.txt", "--op", "download", "--ip", "192.0.2.7"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["allowed"], true);
    assert!(v["decisions"].as_array().unwrap().iter().all(|d| d["allowed"] == true), "{v}");
}

// ------------------------------------------------------------------------------------------------
// Imports
// ------------------------------------------------------------------------------------------------

#[test]
fn import_passwd_with_real_shadow_hashes() {
    let env = env_with_alice();
    let (pw_ann, pw_ben) = ("ann's yescrypt password", "ben's sha-512 password");
    let y = mkpasswd("yescrypt", pw_ann);
    let s = mkpasswd("sha-512", pw_ben);
    assert!(y.starts_with("$y$") && s.starts_with("$6$"), "{y} {s}");
    let (passwd, shadow) = (env.path("passwd"), env.path("shadow"));
    // `daemon` has an in-range uid on the old host but is a local account here.
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\n\
         daemon:x:1500:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
         ann:x:1001:1001:Ann Example,,,:/home/ann:/bin/bash\n\
         ben:x:1002:1002:Ben:/home/ben:/bin/bash\n",
    )
    .unwrap();
    std::fs::write(
        &shadow,
        format!(
            "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nann:{y}:19000:0:99999:7:::\nben:{s}:19000:0:99999:7:::\n"
        ),
    )
    .unwrap();

    // A dry run changes nothing and says so.
    let out = assert_unchanged(&env, || env.run(&["import", "passwd", &passwd, &shadow, "--dry-run"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("would import ann") && out.stdout.contains("would import ben"), "{out:?}");
    assert!(out.stdout.contains("2 users would be imported, 2 skipped (dry run, nothing changed)"), "{out:?}");

    let out = env.run(&["import", "passwd", &passwd, &shadow]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "imported 2 users, skipped 2");
    let skipped_root = out.stderr.lines().find(|l| l.starts_with("skipped root:")).unwrap_or_else(|| panic!("{out:?}"));
    assert!(skipped_root.contains("system account"), "{skipped_root}");
    let skipped_daemon =
        out.stderr.lines().find(|l| l.starts_with("skipped daemon:")).unwrap_or_else(|| panic!("{out:?}"));
    assert!(skipped_daemon.contains("already a local user"), "{skipped_daemon}");
    assert_eq!(env.user_names(), ["alice", "ann", "ben"]);

    let ann = env.exported_user("ann");
    assert_eq!(ann["display_name"], "Ann Example");
    assert_eq!(ann["root"], "/srv/gatehouse/ann");
    assert_ne!(ann["uid"], 1001, "uids are allocated, not kept, without --keep-uids");
    let h = ann["password_hash"].as_str().unwrap();
    assert_eq!(h, y, "the yescrypt hash is kept as it is");
    assert!(verifies(pw_ann, h));
    assert!(!verifies(pw_ben, h));
    let h = env.exported_user("ben")["password_hash"].as_str().unwrap().to_string();
    assert_eq!(h, s);
    assert!(verifies(pw_ben, &h));
    assert!(!verifies("wrong password", &h));
    assert_eq!(env.show("ben")["password_set"], true);

    // Importing the same file again refuses the whole batch, naming the first clash (after the
    // lines about skipped accounts).
    let out = assert_unchanged(&env, || env.run(&["import", "passwd", &passwd, &shadow]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let last = out.stderr.lines().last().unwrap();
    assert!(last.starts_with("gatehouse: error: user \"ann\": user \"ann\" already exists"), "{out:?}");
    assert_eq!(out.stderr.lines().filter(|l| l.starts_with("gatehouse: error:")).count(), 1, "{out:?}");
}

#[test]
fn import_csv_happy_path_and_dry_run() {
    let env = Env::new();
    env.ok(&["group", "add", "team"]);
    let file = fixture("users.csv");
    let out = assert_unchanged(&env, || env.run(&["import", "csv", &file, "--dry-run"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("3 users would be imported, 0 skipped"), "{out:?}");
    assert_eq!(env.ok(&["import", "csv", &file]).trim(), "imported 3 users, skipped 0");

    let c = env.exported_user("carol");
    assert_eq!(c["uid"], 65500);
    assert_eq!(c["email"], "carol@example.com");
    assert_eq!(c["display_name"], "Carol Client");
    assert_eq!(c["root"], "/srv/gatehouse/clients/carol");
    assert_eq!(c["delete_allowed"], false);
    assert_eq!(c["allowed_ips"], serde_json::json!(["10.0.0.0/8", "192.0.2.0/24"]));
    assert_eq!(c["denied_ips"], serde_json::json!(["10.0.0.66/32"]));
    assert_eq!(c["protocols"], serde_json::json!(["ssh"]));
    assert_eq!(c["expires_at"], 4_070_908_800_i64); // 2099-01-01
    assert_eq!(c["max_file_size"], 10 << 20);
    assert_eq!(c["groups"], serde_json::json!(["team"]));
    assert_eq!(c["keys"][0]["fingerprint"], "SHA256:6ZQhcz814PLzdi8Z2VTnjYn1toei7NDEG3d2QHK7Zt0");
    assert_eq!(c["rules"].as_array().unwrap().len(), 2);
    assert!(verifies("csv-pass-for-carol", c["password_hash"].as_str().unwrap()));
    let d = env.exported_user("dora");
    assert_eq!(d["mode"], "r");
    assert_eq!(d["active"], false);
    assert_eq!(d["protocols"], serde_json::json!(["ftp", "ssh"]));
    assert_eq!(d["password_hash"], Value::Null);
    let e = env.exported_user("erik");
    assert_eq!(e["root"], "/srv/gatehouse/erik");
    assert_eq!(e["mode"], "rw");
    assert_eq!(e["active"], true);

    // The imported rules decide like added ones.
    let out = env.run(&["check", "carol", "--path", "/in/x", "--op", "delete"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("/in → upload (user rule)"), "{out:?}");
}

#[test]
fn import_sftpgo_happy_path_and_dry_run() {
    let env = env_with_alice();
    env.ok(&["group", "add", "partners"]);
    let file = fixture("sftpgo.json");
    let out = assert_unchanged(&env, || env.run(&["import", "sftpgo", &file, "--dry-run"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("would import sam") && out.stdout.contains("would import tina"), "{out:?}");
    assert!(out.stdout.contains("2 users would be imported"), "{out:?}");
    let out = env.run(&["import", "sftpgo", &file]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "imported 2 users, skipped 0");
    assert!(out.stderr.lines().all(|l| l.starts_with("note: ")), "only notes on stderr: {out:?}");

    let s = env.exported_user("sam");
    assert_eq!(s["email"], "sam@example.com");
    assert_eq!(s["display_name"], "Sam Supplier");
    assert_eq!(s["root"], "/srv/gatehouse/sftpgo/sam");
    assert_eq!(s["active"], true);
    assert_eq!(s["allowed_ips"], serde_json::json!(["198.51.100.0/24"]));
    assert_eq!(s["protocols"], serde_json::json!(["ssh"]));
    assert_eq!(s["max_file_size"], 1_048_576);
    assert_eq!(s["groups"], serde_json::json!(["partners"]));
    assert_eq!(s["keys"].as_array().unwrap().len(), 1);
    assert!(verifies("csv-pass-for-carol", s["password_hash"].as_str().unwrap()));
    let mut rules: Vec<(String, String)> = s["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["level"].as_str().unwrap().to_string()))
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [("/", "read"), ("/in", "upload"), ("/work", "write")].map(|(p, l)| (p.to_string(), l.to_string()))
    );
    let t = env.exported_user("tina");
    assert_eq!(t["active"], false);
    assert_eq!(t["expires_at"], 4_102_444_800_i64);
    assert_eq!(t["password_hash"], Value::Null);
    // sam's drop box in SFTPGo is a drop box here.
    let out = env.run(&["check", "sam", "--path", "/in/f", "--op", "download"]);
    assert_eq!(out.code, 1, "{out:?}");
}

// ------------------------------------------------------------------------------------------------
// Help and pipes
// ------------------------------------------------------------------------------------------------

#[test]
fn help_shows_examples() {
    let env = Env::new();
    for args in [&["--help"][..], &["user", "add", "--help"], &["rule", "add", "--help"], &["check", "--help"]] {
        let out = env.run(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(out.stdout.contains("Examples:"), "gatehouse {args:?} has no Examples section:\n{}", out.stdout);
        assert!(out.stdout.contains("  gatehouse "), "{args:?}: {}", out.stdout);
    }
    let out = env.run(&["check", "--help"]);
    assert!(out.stdout.contains("Exit status: 0"), "{}", out.stdout);
}

#[test]
fn export_into_a_closed_pipe_is_quiet() {
    let env = Env::new();
    // Enough users that the export is far larger than a pipe buffer, so the write really fails.
    let mut csv = String::from("name,display_name,allowed_ips,rules\n");
    for i in 0..400 {
        csv.push_str(&format!(
            "user{i:03},User number {i} with a long display name,10.{}.0.0/16;192.0.2.7,/=read;/in=upload\n",
            i % 256
        ));
    }
    let file = env.path("many.csv");
    std::fs::write(&file, csv).unwrap();
    env.ok(&["import", "csv", &file]);
    assert!(env.export().len() > 256 * 1024);

    // `gatehouse export --json | head -c 10`: read 10 bytes, then close the pipe.
    let mut child = env.command(&["export", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 10];
    stdout.read_exact(&mut head).unwrap();
    assert_eq!(&head[..1], b"{");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(stderr.is_empty(), "a closed pipe must not print anything (a panic?): {stderr}");
    assert!(!status.success(), "the export cannot have completed into a closed pipe: {status:?}");

    // The same through a real shell pipeline.
    let out = Command::new("sh")
        .args(["-c", &format!("{BIN} export --json | head -c 10")])
        .env("GATEHOUSE_CONFIG", &env.cfg)
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 10);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new("sh")
        .args(["-c", &format!("{BIN} user list | head -n 1")])
        .env("GATEHOUSE_CONFIG", &env.cfg)
        .output()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `gatehouse unlock` clears a lock the daemon set (here set with plain SQL, as ops may), and
/// `check` reports the lock before and not after.
#[test]
fn unlock_clears_a_lock() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    let db = format!("sqlite://{}/gatehouse.db", env.dir.path().display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        sqlx::query("INSERT INTO login_state (user_id, failed_logins, locked_until) SELECT id, 5, '2999-01-01T00:00:00Z' FROM users WHERE name = 'alice'")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let out = env.run(&["check", "alice"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("locked until 2999-01-01T00:00:00Z after 5 failed logins"), "{out:?}");
    assert_eq!(env.ok(&["unlock", "alice"]), "unlocked alice\n");
    assert_eq!(env.run(&["check", "alice"]).code, 0);
    assert_refused(&env.run(&["unlock", "nobodyhere"]), "no user named \"nobodyhere\"");
}

/// Text from the database reaches root's terminal escaped: a display name and a rule key written
/// with plain SQL holding ESC sequences and a newline are shown as `\u{1b}` and `\n` by `user
/// show` and `rule list` (never a raw control character, never a forged line), and as JSON
/// escapes by `--json`.
#[test]
fn control_characters_from_the_database_never_reach_the_terminal() {
    let env = Env::new();
    env.ok(&["user", "add", "alice"]);
    env.ok(&["rule", "add", "alice", "/in", "read"]);
    let db = format!("sqlite://{}/gatehouse.db", env.dir.path().display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        for q in [
            "UPDATE users SET display_name = 'Al' || char(27) || ']0;owned' || char(7) || char(10) || 'root:x:0:0' WHERE name = 'alice'",
            "UPDATE user_rules SET path = '/in' || char(27) || '[2J' WHERE path = '/in'",
        ] {
            sqlx::query(q).execute(&mut c).await.unwrap();
        }
    });
    for args in [&["user", "show", "alice"][..], &["rule", "list", "alice"], &["user", "list"]] {
        let out = env.run(args);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{args:?}: {text:?}");
        assert!(!text.lines().any(|l| l.starts_with("root:x:0:0")), "{args:?}: a forged line: {text}");
        assert!(text.contains("\\u{1b}"), "{args:?} shows the escape: {text}");
    }
    let out = env.run(&["user", "show", "alice", "--json"]);
    if out.code == 0 {
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert!(v["display_name"].as_str().unwrap().contains('\u{1b}'), "{v}");
        assert!(!out.stdout.contains('\u{1b}'), "raw ESC in JSON: {:?}", out.stdout);
    }
}

#[test]
fn totp_enable_disable_and_show() {
    let env = env_with_alice();
    let text = env.ok(&["totp", "enable", "alice"]);
    let secret = text.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_string();
    assert_eq!(secret.len(), 32, "{text}");
    assert!(text.contains(&format!("otpauth://totp/gatehouse:alice?secret={secret}&issuer=gatehouse")), "{text}");
    assert!(env.ok(&["user", "show", "alice"]).lines().any(|l| l.starts_with("totp:") && l.ends_with("enabled")));
    assert_eq!(env.show("alice")["totp_enabled"], Value::Bool(true));
    // The secret is never shown again: not by show, not by the export.
    let export = String::from_utf8(env.export()).unwrap();
    assert!(!export.contains(&secret) && !env.ok(&["user", "show", "alice", "--json"]).contains(&secret));
    // Enabling twice is refused (and changes nothing) unless --replace.
    let out = assert_unchanged(&env, || env.run(&["totp", "enable", "alice"]));
    assert_refused(&out, "already has TOTP enabled");
    let v = env.json(&["totp", "enable", "alice", "--replace", "--json"]);
    assert_ne!(v["secret"].as_str().unwrap(), secret);
    assert!(v["uri"].as_str().unwrap().starts_with("otpauth://totp/gatehouse:alice?secret="));
    env.ok(&["totp", "disable", "alice"]);
    assert!(env.ok(&["user", "show", "alice"]).lines().any(|l| l.starts_with("totp:") && l.ends_with("disabled")));
    let out = assert_unchanged(&env, || env.run(&["totp", "disable", "alice"]));
    assert_refused(&out, "does not have TOTP enabled");
    let out = assert_unchanged(&env, || env.run(&["totp", "enable", "nobody-here"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(env.ok(&["totp", "enable", "--help"]).contains("Examples:"));
}

#[test]
fn invite_prints_a_code_and_forces_a_new_password() {
    let env = env_with_alice();
    let text = env.ok(&["invite", "alice", "--expires-in", "24h"]);
    assert!(text.starts_with("invitation for alice: ") && text.contains("valid until"), "{text}");
    let v = env.json(&["invite", "alice", "--json"]);
    let code = v["code"].as_str().unwrap();
    assert_eq!(code.len(), 14, "{v}");
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(env.show("alice")["must_change_password"], Value::Bool(true));
    assert!(!String::from_utf8(env.export()).unwrap().contains(code));
    for bad in ["0s", "soon", "-5m"] {
        let out = assert_unchanged(&env, || env.run(&["invite", "alice", "--expires-in", bad]));
        assert_eq!(out.code, 2, "{bad}: {out:?}");
    }
    let help = env.ok(&["invite", "--help"]);
    assert!(help.contains("Examples:") && help.contains("--mail"), "{help}");
}

/// A real SMTP listener on loopback (Python's `smtpd` DebuggingServer, which prints each message
/// it receives), stopped by pid when dropped.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl SmtpSink {
    fn start(dir: &Path) -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("smtp.log");
        let child = Command::new("python3")
            .args(["-W", "ignore", "-u", "-m", "smtpd", "-n", "-c", "DebuggingServer", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sink = SmtpSink { child, port, log };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sink;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the SMTP listener did not start on port {port}");
    }

    /// What it has received so far, waiting up to 10 s for `want` to appear.
    fn received(&self, want: &str) -> String {
        for _ in 0..200 {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.contains(want) {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no message with {want:?}: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The code hash of the user's one unused invitation (read with Python's sqlite3: the CLI has no
/// command that shows it, by design).
fn invitation_hash(env: &Env) -> String {
    let db = env.path("gatehouse.db");
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT code_hash FROM invitations WHERE used_at IS NULL').fetchone()[0])", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `invite --mail` hands the code to a real sendmail-compatible client (msmtp) that delivers it
/// to a real SMTP listener; the code is not printed, and the stored hash is the mailed code's.
/// A user without an email address, a missing `[mail] sendmail`, and a failing program are
/// errors that change nothing (the earlier invitation stands).
#[test]
fn invite_mail_delivers_the_code_and_a_failed_delivery_changes_nothing() {
    let env = env_with_alice();
    env.ok(&["user", "add", "bob"]);
    let out = assert_unchanged(&env, || env.run(&["invite", "alice", "--mail"]));
    assert_refused(&out, "[mail] sendmail");

    let sink = SmtpSink::start(env.dir.path());
    let rc = env.path(".msmtprc");
    std::fs::write(
        &rc,
        format!(
            "account default\nhost 127.0.0.1\nport {}\nfrom gatehouse@test.invalid\nauth off\ntls off\n",
            sink.port
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mail_config = |program: &str| {
        env.write_config(&[env.roots().as_str()]);
        let mut f = std::fs::OpenOptions::new().append(true).open(&env.cfg).unwrap();
        writeln!(f, "\n[mail]\nsendmail = {program:?}\nfrom = \"ops@example.org\"").unwrap();
    };
    mail_config("/usr/bin/msmtp");
    let run = |args: &[&str]| {
        let o = env.command(args).env("HOME", env.dir.path()).output().unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    };

    let out = assert_unchanged(&env, || run(&["invite", "bob", "--mail"]));
    assert_refused(&out, "no email address");

    let out = run(&["invite", "alice", "--mail", "--expires-in", "24h"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("mailed to alice@example.com"), "{out:?}");
    let text = sink.received("One-time code:");
    assert!(text.contains("To: alice@example.com") && text.contains("From: ops@example.org"), "{text}");
    // DebuggingServer prints each line as a Python bytes literal: b'...'.
    let code = text
        .lines()
        .find_map(|l| l.trim_start_matches("b'").trim_end_matches('\'').strip_prefix("One-time code: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(!out.stdout.contains(&code), "the mailed code was printed: {out:?}");
    let hash = invitation_hash(&env);
    let normal = gatehouse_policy::invite::normalize(&Secret::new(code.clone())).unwrap();
    assert!(verify_password(&normal, &hash).unwrap().ok, "the stored hash is not the mailed code's");
    assert_eq!(env.show("alice")["must_change_password"], Value::Bool(true));

    mail_config("/bin/false");
    let out = assert_unchanged(&env, || run(&["invite", "alice", "--mail"]));
    assert_refused(&out, "not mailed, nothing changed");
    assert_eq!(invitation_hash(&env), hash, "a failed delivery replaced the invitation");
}

/// Stable ids (issue 9): every command takes a user's or group's id where it takes a name; a
/// rename keeps the id, uid, keys, rules and root, and says the root was not moved; `export`
/// shows the id and a CSV import keeps one; bad profile fields are refused with nothing changed.
#[test]
fn ids_work_everywhere_and_renames_keep_them() {
    let env = env_with_alice();
    env.ok(&["group", "add", "acme"]);
    let id = env.show("alice")["id"].as_str().unwrap().to_string();
    let gid = env.json(&["group", "show", "acme", "--json"])["id"].as_str().unwrap().to_string();
    let upper = id.to_uppercase();
    let key = keygen(&env.path(""), "k", &["-t", "ed25519"]).unwrap();
    env.ok(&["key", "add", &id, "--file", &key]);
    env.ok(&["rule", "add", &upper, "/in", "upload"]);
    env.ok(&["group", "members", &gid, "--add", &id]);
    env.ok(&["group", "rule", "add", &gid, "/shared", "read"]);
    env.ok(&["totp", "enable", &id]);
    env.ok(&["invite", &id]);
    env.ok(&["unlock", &id]);
    env.ok(&["check", &id]);
    env.ok_stdin(&["passwd", &id, "--stdin"], "correct horse battery staple\n");
    assert_eq!(env.json(&["rule", "list", &id, "--json"]).as_array().unwrap().len(), 2);

    let before = env.show("alice");
    let out =
        env.ok(&["user", "set", &id, "--name", "alice.smith", "--time-zone", "Europe/Berlin", "--locale", "de_DE"]);
    assert!(out.contains("renamed user alice to alice.smith") && out.contains("was not moved"), "{out}");
    let after = env.show(&id);
    assert_eq!(after["name"], "alice.smith");
    for field in ["id", "uid", "gid", "root", "keys", "rules", "groups", "totp_enabled", "password_set", "email"] {
        assert_eq!(after[field], before[field], "{field} changed in the rename");
    }
    assert_eq!((after["time_zone"].as_str(), after["locale"].as_str()), (Some("Europe/Berlin"), Some("de_DE")));
    let text = env.ok(&["user", "show", "alice.smith"]);
    assert!(
        text.contains(&format!("id:              {id}")) && text.contains("time zone:       Europe/Berlin"),
        "{text}"
    );
    assert_eq!(env.exported_user("alice.smith")["id"], id.as_str());
    env.ok(&["group", "set", &gid, "--name", "acme-corp"]);
    assert_eq!(env.show(&id)["groups"], serde_json::json!(["acme-corp"]));

    bad(&env, &["user", "set", &id, "--name", "acme-corp"], "already exists");
    bad(&env, &["user", "set", &id, "--name", "root"], "root");
    bad(&env, &["user", "set", &id, "--time-zone", "../../etc/passwd"], "time_zone");
    bad(&env, &["user", "set", &id, "--time-zone", "Europe/Atlantis"], "time_zone");
    bad(&env, &["user", "show", "00000000-0000-4000-8000-000000000000"], "no user");

    env.ok(&["user", "add", "erin", "--group", &gid.to_uppercase()]);
    assert_eq!(env.show("erin")["groups"], serde_json::json!(["acme-corp"]));
    let csv = env.path("ids.csv");
    std::fs::write(&csv, "name,id,time_zone\nbob,0B5E2A4C-1D3F-4E5A-8B6C-7D8E9F0A1B2C,UTC\n").unwrap();
    env.ok(&["import", "csv", &csv]);
    assert_eq!(env.show("0b5e2a4c-1d3f-4e5a-8b6c-7d8e9f0a1b2c")["name"], "bob");
    std::fs::write(&csv, format!("name,id\ncarol,{id}\n")).unwrap();
    bad(&env, &["import", "csv", &csv], "id");
}

/// `user list` filters (issue 9) through the binary: field=value, --group, --inactive, JSON;
/// an unknown field is refused by name.
#[test]
fn user_list_filters() {
    let env = env_with_alice();
    env.ok(&["group", "add", "acme"]);
    env.ok(&["user", "add", "bob", "--email", "bob@acme.example", "--group", "acme", "--inactive"]);
    env.ok(&["user", "add", "carol", "--email", "carol@acme.example", "--time-zone", "UTC"]);
    let list = |args: &[&str]| -> Vec<String> {
        let v = env.json(&[&["user", "list", "--json"], args].concat());
        v.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(list(&["--filter", "email=*@ACME.example"]), ["bob", "carol"]);
    assert_eq!(list(&["--filter", "email=*@acme.example", "--filter", "time_zone=UTC"]), ["carol"]);
    assert_eq!(list(&["--group", "acme", "--inactive"]), ["bob"]);
    assert!(list(&["--expired"]).is_empty());
    let text = env.ok(&["user", "list", "--inactive"]);
    assert!(text.contains("bob") && !text.contains("carol"), "{text}");
    bad(&env, &["user", "list", "--filter", "password_hash=x"], "unknown field");
    bad(&env, &["user", "list", "--filter", "email"], "FIELD=VALUE");
}

/// `gatehouse apppass` (issue 9): the secret is printed once and never listed or exported; list
/// and revoke by label; bad input refused with nothing changed.
#[test]
fn apppass_add_list_revoke() {
    let env = env_with_alice();
    let out = env.ok(&["apppass", "add", "alice", "--label", "filezilla", "--protocols", "ftp"]);
    let token = out.lines().find(|l| l.starts_with("ghap_")).unwrap_or_else(|| panic!("{out}")).to_string();
    let v = env.json(&["apppass", "add", "alice", "--label", "ci", "--expires", "2099-01-01", "--json"]);
    assert!(v["secret"].as_str().unwrap().starts_with("ghap_"), "{v}");
    assert_eq!(v["app_password"]["expires_at"], 4_070_908_800_i64);
    let list = env.json(&["apppass", "list", "alice", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["label"], "filezilla");
    assert_eq!(list[1]["protocols"], serde_json::json!(["ftp"]));
    let text = env.ok(&["apppass", "list", "alice"]);
    let export = String::from_utf8(env.export()).unwrap();
    let secret_part = token.rsplit('_').next().unwrap();
    assert!(text.contains("filezilla") && !text.contains(secret_part), "{text}");
    assert!(!export.contains(secret_part), "never exported");
    bad(&env, &["apppass", "add", "alice", "--label", "filezilla"], "already exists");
    bad(&env, &["apppass", "add", "alice", "--label", "x", "--expires", "2001-01-01"], "not in the future");
    bad(&env, &["apppass", "add", "alice", "--label", "x", "--protocols", "FTP"], "protocol");
    env.ok(&["apppass", "revoke", "alice", "--label", "filezilla"]);
    bad(&env, &["apppass", "revoke", "alice", "--label", "filezilla"], "no app password");
    assert_eq!(env.json(&["apppass", "list", "alice", "--json"]).as_array().unwrap().len(), 1);
}

/// `--password-source` (issue 9): shown by `user show`, filtered on, explained by `check` (a
/// deny while no `[ldap]` directory is configured, the bind DN once one is); an LDAP user gets
/// no local password; a bad source or `[ldap]` section is one clear error.
#[test]
fn ldap_password_source() {
    let env = Env::new();
    env.ok(&["user", "add", "dave", "--password-source", "ldap"]);
    let v: Value = serde_json::from_str(&env.ok(&["user", "show", "dave", "--json"])).unwrap();
    assert_eq!(v["password_source"], "ldap");
    assert!(env.ok(&["user", "list", "--filter", "password_source=ldap"]).contains("dave"));
    let out = env.run(&["check", "dave"]);
    assert_eq!(out.code, 1, "{out:?}");
    let line = check_line(&out.stdout, "password");
    assert!(line.contains("DENY") && line.contains("no [ldap] url is configured"), "{line}");

    let out = env.run_stdin(
        &["user", "add", "erin", "--password-stdin", "--password-source", "ldap"],
        "a long local passphrase\n",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("password_source ldap"), "{out:?}");
    let out = env.run(&["user", "add", "erin", "--password-source", "kerberos"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("expected local or ldap"), "{out:?}");

    let mut text = std::fs::read_to_string(&env.cfg).unwrap();
    text.push_str(
        "\n[ldap]\nurl = \"ldaps://dir.example.org\"\nbind_dn = \"uid={user},ou=people,dc=example,dc=org\"\n",
    );
    std::fs::write(&env.cfg, &text).unwrap();
    let out = env.run(&["check", "dave"]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = check_line(&out.stdout, "password");
    assert!(
        line.contains("ldap: a simple bind as uid=dave,ou=people,dc=example,dc=org at ldaps://dir.example.org"),
        "{line}"
    );
    std::fs::write(&env.cfg, text.replace("uid={user}", "uid=dave")).unwrap();
    let out = env.run(&["user", "show", "dave"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("ldap.bind_dn"), "{out:?}");
}
