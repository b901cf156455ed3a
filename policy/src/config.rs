//! `/etc/gatehouse/gatehouse.toml`: every key has a default, so an empty file works.
//!
//! The file is 0644 and holds no secret. Unknown keys are an error, so a typo is caught when the
//! file is read instead of being silently ignored.
use crate::error::PolicyError;
use crate::ftp::{FtpFiles, FtpServer};
use crate::ldap::LdapConfig;
use crate::model::{root_under, validate_protocol, validate_root};
use serde::Deserialize;
use std::collections::BTreeMap;

pub use gatehouse_snapshot::paths::{LOGIN_SHELL, SHARED_HOME, SNAPSHOT_PATH, SOCKET_PATH};
pub use gatehouse_snapshot::{IdRange, MIN_ID};

/// The fixed path of the configuration file.
pub const CONFIG_PATH: &str = "/etc/gatehouse/gatehouse.toml";
/// The fixed path of the gatehouse-tasks socket (root:gatehouse 0660; callers checked by
/// `SO_PEERCRED`).
pub const TASKS_SOCKET_PATH: &str = "/run/gatehouse/tasks.socket";
/// The system user gatehoused runs as (the one non-root caller gatehouse-tasks accepts).
pub const DAEMON_USER: &str = "gatehouse";
/// The fixed path where gatehoused publishes its database connection state for `gatehouse
/// status` (0644, no secrets).
pub const SYNC_STATUS_PATH: &str = "/run/gatehouse/sync.json";
/// The fixed path of the offline cache a host keeps of a PostgreSQL database (0600).
pub const CACHE_PATH: &str = "/var/lib/gatehouse/cache.db";
/// Default of `vsftpd_user_config_dir`.
pub const VSFTPD_USER_CONFIG_DIR: &str = "/etc/vsftpd/gatehouse";
/// Default of `proftpd_config_dir`.
pub const PROFTPD_CONFIG_DIR: &str = "/etc/proftpd/gatehouse";
/// Default of `proftpd_pid_file` (Debian's `PidFile`).
pub const PROFTPD_PID_FILE: &str = "/run/proftpd.pid";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite:///path` or `postgres://…` (its password, if any, lives in secrets.toml).
    pub database: String,
    /// Roots of users created without `--root` are `home_base/NAME`.
    pub home_base: String,
    /// Other folders under which roots may lie.
    pub root_prefixes: Vec<String>,
    /// Which FTP server configs to generate (`vsftpd`, `proftpd`); empty means the installed ones.
    pub ftp_servers: Vec<String>,
    /// vsftpd's `user_config_dir`: gatehouse-tasks keeps one root-owned file per FTP user here.
    /// The directory belongs to gatehouse: files of users who are gone are removed.
    pub vsftpd_user_config_dir: String,
    /// ProFTPD: gatehouse-tasks keeps one root-owned `NAME.conf` per FTP user here (the example
    /// fragment includes `*.conf` from it). The directory belongs to gatehouse.
    pub proftpd_config_dir: String,
    /// ProFTPD's `PidFile`: gatehouse-tasks sends that process SIGHUP after changing the files.
    pub proftpd_pid_file: String,
    /// Protocols given to users created without `--protocols`.
    pub default_protocols: Vec<String>,
    /// The uid/gid range.
    #[serde(deserialize_with = "ids_from_toml")]
    pub ids: IdRange,
    /// PAM service name → protocol.
    pub protocols: BTreeMap<String, String>,
    /// Password policy.
    pub password: PasswordConfig,
    /// Lockout after repeated failures.
    pub lockout: LockoutConfig,
    /// gatehoused's per-source limits on login attempts.
    pub throttle: ThrottleConfig,
    /// Non-root uids (by name) allowed to authenticate users for a protocol.
    pub callers: BTreeMap<String, Vec<String>>,
    /// The directory for users whose `password_source` is `ldap`.
    pub ldap: LdapConfig,
    /// This host's place in a fleet (host scoping, the offline cache).
    pub fleet: FleetConfig,
    /// Mailing invitations (`gatehouse invite --mail`).
    pub mail: MailConfig,
    /// How to connect to a PostgreSQL `database`: TLS and pool size.
    pub postgres: PostgresConfig,
    /// Serve legacy `scp -O` and `rsync --server` (gatehouse-sftp) even when the kernel enforces
    /// no Landlock fence (a kernel without it, or booted with an `lsm=` list that leaves it
    /// out). Default `false`: those stock programs follow symlinks already in a user's tree and
    /// know nothing of the root, so the fence is what keeps them inside it; without one they are
    /// refused (the user is told to use sftp, which checks every path itself, and the log says
    /// why). Set it only where every root is free of links the user did not make.
    pub legacy_without_landlock: bool,
}

/// `[postgres]`: how gatehoused and the CLI connect to a PostgreSQL `database`. The keys are
/// libpq's where libpq has them, and when set they win over the same parameters in the URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// TLS: `disable`, `prefer`, `require`, `verify-ca` or `verify-full`. Empty: the URL's own
    /// `sslmode`, else `prefer`. `require` encrypts without checking who answers; fleets across
    /// a network want `verify-full`.
    pub sslmode: String,
    /// PEM file of the CA(s) the server's certificate must chain to (`verify-ca`,
    /// `verify-full`). Empty: the system's CA store.
    pub ca_file: String,
    /// Connections each process keeps open to the server at most (gatehoused's logins share
    /// them; the `LISTEN` connection is apart). 1–100.
    pub pool_size: u32,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig { sslmode: String::new(), ca_file: String::new(), pool_size: 8 }
    }
}

/// libpq's `sslmode` values that sqlx implements.
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

impl PostgresConfig {
    fn validate(&self) -> Result<(), PolicyError> {
        if !self.sslmode.is_empty() && !SSL_MODES.contains(&self.sslmode.as_str()) {
            return Err(PolicyError::invalid(
                "postgres.sslmode",
                &self.sslmode,
                "expected disable, prefer, require, verify-ca or verify-full",
            ));
        }
        if !self.ca_file.is_empty() {
            validate_root(&self.ca_file).map_err(|_| {
                PolicyError::invalid("postgres.ca_file", &self.ca_file, "must be an absolute canonical path")
            })?;
        }
        if !(1..=100).contains(&self.pool_size) {
            return Err(PolicyError::invalid("postgres.pool_size", self.pool_size.to_string(), "expected 1 to 100"));
        }
        Ok(())
    }

    /// `database` with `sslmode` and `sslrootcert` (from `ca_file`) set from these keys, replacing
    /// the URL's own where a key is set.
    pub fn url(&self, database: &str) -> String {
        let mut set: Vec<(&str, String)> = Vec::new();
        if !self.sslmode.is_empty() {
            set.push(("sslmode", self.sslmode.clone()));
        }
        if !self.ca_file.is_empty() {
            set.push(("sslrootcert", percent_encode(&self.ca_file)));
        }
        if set.is_empty() {
            return database.to_string();
        }
        let (base, query) = database.split_once('?').unwrap_or((database, ""));
        let kept = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .filter(|kv| !set.iter().any(|(k, _)| kv.split('=').next() == Some(*k)));
        let params: Vec<String> = kept.map(str::to_string).chain(set.iter().map(|(k, v)| format!("{k}={v}"))).collect();
        format!("{base}?{}", params.join("&"))
    }
}

/// Percent-encodes what may not stand as is in a URL's query value.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `[mail]`: how `gatehouse invite --mail` delivers a code. Nothing is mailed unless `sendmail`
/// is set: the host's MTA is the admin's choice (exim4, postfix, msmtp-mta all provide one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// A sendmail-compatible program, e.g. `/usr/sbin/sendmail`. It is run as
    /// `PROGRAM -oi -- ADDRESS` with the message on its standard input.
    pub sendmail: Option<String>,
    /// The From: address; default: the MTA's own choice (no From: header is written).
    pub from: Option<String>,
}

/// `[fleet]`: what matters when many hosts share one PostgreSQL database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// This host's name, matched against users' and groups' `hosts` lists. Empty: the kernel's
    /// host name (`uname -n`).
    pub host: String,
    /// Host groups this host belongs to, matched against `host_groups` lists.
    pub host_groups: Vec<String>,
    /// How old the offline cache may be and still serve logins, keys and NSS while PostgreSQL
    /// is unreachable, e.g. `7d`. Older, every gatehouse login is refused as unavailable.
    pub max_staleness: String,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig { host: String::new(), host_groups: Vec::new(), max_staleness: "7d".into() }
    }
}

/// Checks a host or host-group name: 1–64 characters of `a-z A-Z 0-9 . _ -`.
pub fn validate_host_name(field: &'static str, s: &str) -> Result<(), PolicyError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(field, s, "expected 1-64 characters of letters, digits, '.', '_' or '-'"))
    }
}

/// `[password]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Optional file of breached passwords, one per line.
    pub breached_list: Option<String>,
}

/// `[lockout]`: `failures` failed logins within `window` lock the account for `lock_for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Failures that trigger a lock; 0 disables lockout.
    pub failures: u32,
    /// Window in which failures are counted, e.g. `5m`.
    pub window: String,
    /// How long a lock lasts, e.g. `15m`.
    pub lock_for: String,
}

/// `[throttle]`: gatehoused's per-source limits on password attempts, kept in memory and
/// checked before any password is hashed, so sprayed names cannot queue hashes. A source is the
/// client address PAM reports: an IPv4 address, or an IPv6 address's `ipv6_prefix` network.
///
/// Only what an attacker does is limited: a wrong password or an unknown user spends a token, a
/// right password gives its token back. So an office behind one NAT, a backup job, or an FTP
/// client that logs in once per transfer is never throttled by its own successful logins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Attempts a source may have in flight or failed at once (the bucket); 0 disables the
    /// bucket.
    pub burst: u32,
    /// Time to refill a whole bucket, e.g. `10s` (tokens come back steadily: `burst` per `per`).
    pub per: String,
    /// Failed passwords (or unknown users) from one source within `lock_window` that lock the
    /// source; 0 never locks a source. Accounts have their own `[lockout]`.
    pub lock_failures: u32,
    /// Window in which a source's failures are counted, e.g. `5m`.
    pub lock_window: String,
    /// How long a source lock lasts, e.g. `15m`.
    pub lock_for: String,
    /// IPv6 sources are counted by their network of this prefix length (32–128): a site or a
    /// customer usually holds a whole /64 and can rotate addresses inside it at will, so counting
    /// per address would not hold it. 128 counts each address. IPv4 is always per address, and
    /// an IPv4-mapped address (`::ffff:a.b.c.d`) is IPv4.
    pub ipv6_prefix: u8,
}

/// `[throttle]`'s durations in seconds, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleDurations {
    /// `per`.
    pub per: u64,
    /// `lock_window`.
    pub lock_window: u64,
    /// `lock_for`.
    pub lock_for: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            burst: 10,
            per: "10s".into(),
            lock_failures: 20,
            lock_window: "5m".into(),
            lock_for: "15m".into(),
            ipv6_prefix: 64,
        }
    }
}

impl ThrottleConfig {
    /// Parses and checks the durations and the prefix: the one place both `validate` and the
    /// daemon read them from. A limit that is on must have a non-zero duration (a zero `per`
    /// would refill at once, which is `burst = 0` spelled wrong).
    pub fn durations(&self) -> Result<ThrottleDurations, PolicyError> {
        let d = ThrottleDurations {
            per: parse_duration("throttle.per", &self.per)?,
            lock_window: parse_duration("throttle.lock_window", &self.lock_window)?,
            lock_for: parse_duration("throttle.lock_for", &self.lock_for)?,
        };
        if self.burst > 0 && d.per == 0 {
            return Err(PolicyError::invalid("throttle.per", &self.per, "must be at least 1s (burst = 0 disables)"));
        }
        for (field, value, secs) in [
            ("throttle.lock_window", &self.lock_window, d.lock_window),
            ("throttle.lock_for", &self.lock_for, d.lock_for),
        ] {
            if self.lock_failures > 0 && secs == 0 {
                return Err(PolicyError::invalid(field, value, "must be at least 1s (lock_failures = 0 disables)"));
            }
        }
        if !(32..=128).contains(&self.ipv6_prefix) {
            return Err(PolicyError::invalid(
                "throttle.ipv6_prefix",
                self.ipv6_prefix.to_string(),
                "expected 32 to 128: 64 for a customer's or site's network, 48 or 56 for a larger site, 128 per address",
            ));
        }
        Ok(d)
    }
}

impl Default for Config {
    fn default() -> Self {
        let protocols = [("sshd", "ssh"), ("vsftpd", "ftp"), ("proftpd", "ftp"), ("ftp", "ftp"), ("pure-ftpd", "ftp")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config {
            database: "sqlite:///var/lib/gatehouse/gatehouse.db".into(),
            home_base: "/srv/gatehouse".into(),
            root_prefixes: Vec::new(),
            ftp_servers: Vec::new(),
            vsftpd_user_config_dir: VSFTPD_USER_CONFIG_DIR.into(),
            proftpd_config_dir: PROFTPD_CONFIG_DIR.into(),
            proftpd_pid_file: PROFTPD_PID_FILE.into(),
            default_protocols: vec!["ftp".into(), "ssh".into()],
            ids: IdRange::default(),
            protocols,
            password: PasswordConfig::default(),
            lockout: LockoutConfig::default(),
            throttle: ThrottleConfig::default(),
            callers: BTreeMap::new(),
            mail: MailConfig::default(),
            fleet: FleetConfig::default(),
            ldap: LdapConfig::default(),
            postgres: PostgresConfig::default(),
            legacy_without_landlock: false,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig { min_length: 14, breached_list: None }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig { failures: 5, window: "5m".into(), lock_for: "15m".into() }
    }
}

/// The `[ids]` table as the file spells it; [`IdRange`] itself is a plain type of the snapshot
/// crate, which has no serde.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdsToml {
    #[serde(default = "default_first")]
    first: u32,
    #[serde(default = "default_last")]
    last: u32,
}

fn default_first() -> u32 {
    IdRange::default().first
}

fn default_last() -> u32 {
    IdRange::default().last
}

fn ids_from_toml<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IdRange, D::Error> {
    IdsToml::deserialize(d).map(|t| IdRange { first: t.first, last: t.last })
}

/// Parses a duration such as `90s`, `5m`, `2h`, `1d` (a bare number is seconds). Returns seconds.
pub fn parse_duration(field: &'static str, s: &str) -> Result<u64, PolicyError> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 =
        num.parse().map_err(|_| PolicyError::invalid(field, s, "expected a duration such as 90s, 5m, 2h or 1d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(PolicyError::invalid(field, s, "unknown unit (use s, m, h or d)")),
    };
    n.checked_mul(mult).ok_or_else(|| PolicyError::invalid(field, s, "too large"))
}

impl Config {
    /// Parses and validates the file's text.
    pub fn parse(text: &str) -> Result<Config, PolicyError> {
        let cfg: Config = toml::from_str(text).map_err(|e| PolicyError::invalid("config", "", e.message()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value, so a bad config is refused at start-up, not at the first login.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(self.database.starts_with("sqlite:")
            || self.database.starts_with("postgres:")
            || self.database.starts_with("postgresql:"))
        {
            return Err(PolicyError::invalid(
                "database",
                &self.database,
                "expected sqlite:///path or postgres://host/db",
            ));
        }
        validate_root(&self.home_base)
            .map_err(|_| PolicyError::invalid("home_base", &self.home_base, "must be an absolute canonical path"))?;
        for p in &self.root_prefixes {
            validate_root(p)
                .map_err(|_| PolicyError::invalid("root_prefixes", p, "must be an absolute canonical path"))?;
        }
        for s in &self.ftp_servers {
            if s != "vsftpd" && s != "proftpd" {
                return Err(PolicyError::invalid("ftp_servers", s, "expected vsftpd or proftpd"));
            }
        }
        validate_root(&self.vsftpd_user_config_dir).map_err(|_| {
            PolicyError::invalid(
                "vsftpd_user_config_dir",
                &self.vsftpd_user_config_dir,
                "must be an absolute canonical path",
            )
        })?;
        for (field, v) in
            [("proftpd_config_dir", &self.proftpd_config_dir), ("proftpd_pid_file", &self.proftpd_pid_file)]
        {
            validate_root(v).map_err(|_| PolicyError::invalid(field, v, "must be an absolute canonical path"))?;
        }
        for p in &self.default_protocols {
            validate_protocol(p)?;
        }
        for p in self.protocols.values() {
            validate_protocol(p)?;
        }
        if self.ids.first >= self.ids.last || self.ids.last - self.ids.first < 2 {
            return Err(PolicyError::invalid(
                "ids",
                format!("{}..{}", self.ids.first, self.ids.last),
                "first must be below last, with room for at least one id",
            ));
        }
        if self.ids.first < MIN_ID {
            return Err(PolicyError::invalid(
                "ids.first",
                self.ids.first.to_string(),
                format!("must be at least {MIN_ID} (below are system accounts)"),
            ));
        }
        if self.password.min_length == 0 {
            return Err(PolicyError::invalid("password.min_length", "0", "must be at least 1"));
        }
        parse_duration("lockout.window", &self.lockout.window)?;
        parse_duration("lockout.lock_for", &self.lockout.lock_for)?;
        self.throttle.durations()?;
        if let Some(p) = &self.mail.sendmail {
            validate_root(p)
                .map_err(|_| PolicyError::invalid("mail.sendmail", p, "must be an absolute canonical path"))?;
        }
        if let Some(f) = &self.mail.from {
            crate::model::validate_email(f)
                .map_err(|_| PolicyError::invalid("mail.from", f, "not an email address"))?;
        }
        parse_duration("fleet.max_staleness", &self.fleet.max_staleness)?;
        if !self.fleet.host.is_empty() {
            validate_host_name("fleet.host", &self.fleet.host)?;
        }
        for g in &self.fleet.host_groups {
            validate_host_name("fleet.host_groups", g)?;
        }
        for p in self.callers.keys() {
            validate_protocol(p)?;
        }
        self.ldap.validate()?;
        self.postgres.validate()?;
        Ok(())
    }

    /// The URL to connect with: `database`, with `[postgres]`'s TLS keys applied to a
    /// PostgreSQL one (one place, for the pool, the `LISTEN` connection and the CLI alike).
    pub fn database_url(&self) -> String {
        if self.database.starts_with("sqlite:") {
            self.database.clone()
        } else {
            self.postgres.url(&self.database)
        }
    }

    /// The allowed root prefixes: `home_base` and `root_prefixes`.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.home_base.as_str()).chain(self.root_prefixes.iter().map(String::as_str))
    }

    /// Checks that `root` is canonical and lies under one of the allowed prefixes.
    pub fn check_root(&self, root: &str) -> Result<(), PolicyError> {
        validate_root(root)?;
        if self.prefixes().any(|p| root_under(root, p) && root != p) {
            Ok(())
        } else {
            let allowed: Vec<&str> = self.prefixes().collect();
            Err(PolicyError::invalid(
                "root",
                root,
                format!("must lie under {} (home_base or root_prefixes)", allowed.join(", ")),
            ))
        }
    }

    /// Should configs for `server` be generated? Yes when `ftp_servers` names it, or when
    /// `ftp_servers` is empty and the server is `installed` (the caller looks for its binary).
    pub fn generates_for(&self, server: FtpServer, installed: bool) -> bool {
        if self.ftp_servers.is_empty() {
            installed
        } else {
            self.ftp_servers.iter().any(|s| s == server.name())
        }
    }

    /// Are `server`'s per-user files kept right now ([`FtpFiles`])? `installed`: its binary
    /// exists; `dir_present`: its [`FtpServer::config_dir`] exists. The one decision behind the
    /// hook's passes, its directory watch and the account check's denial reason.
    pub fn ftp_files(&self, server: FtpServer, installed: bool, dir_present: bool) -> FtpFiles {
        if !self.generates_for(server, installed) {
            FtpFiles::Off
        } else if !dir_present {
            FtpFiles::NoDir
        } else {
            FtpFiles::Kept
        }
    }

    /// The protocol a PAM service maps to, if any.
    pub fn protocol_for_service(&self, service: &str) -> Option<&str> {
        self.protocols.get(service).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_file_is_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.home_base, "/srv/gatehouse");
        assert_eq!(c.ids.first, 1_900_000_000);
        assert_eq!(c.protocol_for_service("sshd"), Some("ssh"));
        assert_eq!(c.protocol_for_service("su"), None);
        assert_eq!(c.lockout.failures, 5);
        assert!(!c.legacy_without_landlock);
        assert!(Config::parse("legacy_without_landlock = true").unwrap().legacy_without_landlock);
    }

    #[test]
    fn postgres_keys_apply_to_the_url_and_are_checked() {
        let c = Config::parse(
            "database = \"postgres://gh@db.example/gatehouse?sslmode=disable&application_name=gh\"\n\
             [postgres]\nsslmode = \"verify-full\"\nca_file = \"/etc/gatehouse/pg ca.pem\"\npool_size = 20",
        )
        .unwrap();
        assert_eq!(
            c.database_url(),
            "postgres://gh@db.example/gatehouse?application_name=gh&sslmode=verify-full&sslrootcert=/etc/gatehouse/pg%20ca.pem"
        );
        assert_eq!(c.postgres.pool_size, 20);
        // Unset keys leave the URL alone; SQLite URLs are never touched.
        let c = Config::parse("database = \"postgres://db/g?sslmode=require\"").unwrap();
        assert_eq!((c.database_url().as_str(), c.postgres.pool_size), ("postgres://db/g?sslmode=require", 8));
        let c = Config::parse("database = \"sqlite:///x.db\"\n[postgres]\nsslmode = \"require\"").unwrap();
        assert_eq!(c.database_url(), "sqlite:///x.db");
        for (text, field) in [
            ("sslmode = \"verify\"", "postgres.sslmode"),
            ("ca_file = \"ca.pem\"", "postgres.ca_file"),
            ("pool_size = 0", "postgres.pool_size"),
            ("pool_size = 101", "postgres.pool_size"),
            ("ssl_mode = \"require\"", "ssl_mode"),
        ] {
            let e = Config::parse(&format!("[postgres]\n{text}")).unwrap_err().to_string();
            assert!(e.contains(field), "{text}: {e}");
        }
    }

    #[test]
    fn rejects_typos_and_bad_values() {
        assert!(Config::parse("home_bsae = \"/x\"").unwrap_err().to_string().contains("home_bsae"));
        assert!(Config::parse("home_base = \"rel\"").is_err());
        assert!(Config::parse("[ids]\nfirst = 5\nlast = 4").is_err());
        assert!(Config::parse("[lockout]\nwindow = \"5x\"").is_err());
        assert!(Config::parse("ftp_servers = [\"iis\"]").is_err());
        assert!(Config::parse("vsftpd_user_config_dir = \"rel\"").is_err());
        assert!(Config::parse("proftpd_config_dir = \"rel\"").is_err());
        assert!(Config::parse("proftpd_pid_file = \"/run/../x\"").is_err());
        assert!(Config::parse("[ldap]\nurl = \"ldap://d\"\nbind_dn = \"uid=x\"").is_err());
        assert!(Config::parse("[callers]\n\"Web Portal\" = [\"www-data\"]").is_err());
    }

    #[test]
    fn ftp_servers_default_to_the_installed_ones() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.vsftpd_user_config_dir, "/etc/vsftpd/gatehouse");
        assert_eq!(
            (c.proftpd_config_dir.as_str(), c.proftpd_pid_file.as_str()),
            ("/etc/proftpd/gatehouse", "/run/proftpd.pid")
        );
        assert!(c.generates_for(FtpServer::Vsftpd, true));
        assert!(!c.generates_for(FtpServer::Vsftpd, false));
        let c = Config::parse("ftp_servers = [\"proftpd\"]").unwrap();
        assert!(!c.generates_for(FtpServer::Vsftpd, true));
        assert!(c.generates_for(FtpServer::Proftpd, false));
    }

    #[test]
    fn ftp_files_are_kept_only_when_wanted_and_the_directory_exists() {
        let auto = Config::parse("").unwrap();
        let named = Config::parse("ftp_servers = [\"vsftpd\"]").unwrap();
        // (config, installed, dir present, vsftpd, proftpd)
        let cases = [
            (&auto, false, false, FtpFiles::Off, FtpFiles::Off),
            (&auto, false, true, FtpFiles::Off, FtpFiles::Off),
            (&auto, true, false, FtpFiles::NoDir, FtpFiles::NoDir),
            (&auto, true, true, FtpFiles::Kept, FtpFiles::Kept),
            (&named, false, false, FtpFiles::NoDir, FtpFiles::Off),
            (&named, false, true, FtpFiles::Kept, FtpFiles::Off),
            (&named, true, true, FtpFiles::Kept, FtpFiles::Off),
        ];
        for (c, installed, dir, v, p) in cases {
            assert_eq!(c.ftp_files(FtpServer::Vsftpd, installed, dir), v, "{:?} {installed} {dir}", c.ftp_servers);
            assert_eq!(c.ftp_files(FtpServer::Proftpd, installed, dir), p, "{:?} {installed} {dir}", c.ftp_servers);
        }
    }

    #[test]
    fn roots_must_lie_under_prefixes() {
        let c = Config::parse("home_base = \"/srv/g\"\nroot_prefixes = [\"/data\"]").unwrap();
        c.check_root("/srv/g/alice").unwrap();
        c.check_root("/data/x/y").unwrap();
        assert!(c.check_root("/srv/g").is_err());
        assert!(c.check_root("/srv/gx/a").is_err());
        assert!(c.check_root("/etc").is_err());
        assert!(c.check_root("/srv/g/../etc").is_err());
    }

    #[test]
    fn throttle_keys_default_parse_and_are_checked() {
        let c = Config::parse("").unwrap();
        assert_eq!((c.throttle.burst, c.throttle.lock_failures, c.throttle.ipv6_prefix), (10, 20, 64));
        assert_eq!(c.throttle.durations().unwrap(), ThrottleDurations { per: 10, lock_window: 300, lock_for: 900 });
        let c = Config::parse(
            "[throttle]\nburst = 50\nper = \"1m\"\nlock_failures = 0\nlock_window = \"0s\"\nlock_for = \"1h\"\nipv6_prefix = 56",
        )
        .unwrap();
        assert_eq!((c.throttle.burst, c.throttle.lock_failures, c.throttle.ipv6_prefix), (50, 0, 56));
        assert_eq!(c.throttle.durations().unwrap(), ThrottleDurations { per: 60, lock_window: 0, lock_for: 3600 });
        // Off is spelled with zero counts, so zero durations are allowed only then.
        Config::parse("[throttle]\nburst = 0\nper = \"0s\"").unwrap();
        for (text, field, words) in [
            ("per = \"10x\"", "throttle.per", "unknown unit"),
            ("per = \"0s\"", "throttle.per", "burst = 0 disables"),
            ("lock_window = \"0\"", "throttle.lock_window", "lock_failures = 0 disables"),
            ("lock_for = \"soon\"", "throttle.lock_for", "expected a duration"),
            ("ipv6_prefix = 16", "throttle.ipv6_prefix", "expected 32 to 128"),
            ("ipv6_prefix = 129", "throttle.ipv6_prefix", "expected 32 to 128"),
            ("burst = -1", "config", ""),
            ("window = \"5m\"", "window", "unknown field"),
        ] {
            let e = Config::parse(&format!("[throttle]\n{text}")).unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(words), "{text}: {e}");
        }
    }

    /// The shipped file shows `[throttle]`'s defaults, commented: uncommented they parse, and
    /// they are the defaults.
    #[test]
    fn shipped_file_shows_the_throttle_defaults() {
        let shipped = include_str!("../../packaging/etc/gatehouse.toml");
        let section: Vec<&str> = shipped
            .lines()
            .skip_while(|l| !l.starts_with("# [throttle]"))
            .take_while(|l| l.len() > 2)
            .map(|l| l.trim_start_matches("# ").split(" #").next().unwrap_or(""))
            .collect();
        assert!(section.len() > 6, "{section:?}");
        let c = Config::parse(&section.join("\n")).unwrap();
        let d = ThrottleConfig::default();
        assert_eq!(
            (c.throttle.burst, c.throttle.per, c.throttle.lock_failures, c.throttle.ipv6_prefix),
            (d.burst, d.per, d.lock_failures, d.ipv6_prefix)
        );
        assert_eq!((c.throttle.lock_window, c.throttle.lock_for), (d.lock_window, d.lock_for));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("d", "5m").unwrap(), 300);
        assert_eq!(parse_duration("d", "10").unwrap(), 10);
        assert!(parse_duration("d", "m").is_err());
    }
}
