//! `/etc/gatehouse/gatehouse.toml`: every key has a default, so an empty file works.
//!
//! The file is 0644 and holds no secret. Unknown keys are an error, so a typo is caught when the
//! file is read instead of being silently ignored.
//!
//! This module holds the top-level keys, the fixed paths and the checks that span sections; each
//! table has its own submodule (`[ids]`, `[postgres]`, `[ldap]`, `[fleet]`, `[mail]`,
//! `[password]`, `[lockout]` and `[throttle]`, the FTP server keys, and the duration syntax in
//! `units`), all re-exported here. It imports only [`crate::error`] and [`crate::fields`], so
//! every other module may depend on it.
use crate::error::PolicyError;
use crate::fields::{root_under, validate_protocol, validate_root};
use serde::Deserialize;
use std::collections::BTreeMap;

mod fleet;
mod ftp;
mod ids;
mod ldap;
mod lockout;
mod mail;
mod password;
mod postgres;
mod units;

pub use fleet::{validate_host_name, FleetConfig};
pub use ftp::{FtpFiles, FtpServer, PROFTPD_CONFIG_DIR, PROFTPD_PID_FILE, VSFTPD_USER_CONFIG_DIR};
pub use gatehouse_snapshot::paths::{LOGIN_SHELL, SHARED_HOME, SNAPSHOT_PATH, SOCKET_PATH};
pub use gatehouse_snapshot::{IdRange, MIN_ID};
pub use ldap::{LdapConfig, MAX_TIMEOUT_SECS, USER_PLACEHOLDER};
pub use lockout::{LockoutConfig, ThrottleConfig, ThrottleDurations};
pub use mail::MailConfig;
pub use password::PasswordConfig;
pub use postgres::PostgresConfig;
pub use units::parse_duration;

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
    #[serde(deserialize_with = "ids::from_toml")]
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
            crate::fields::validate_email(f)
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
        let shipped = include_str!("../../../packaging/etc/gatehouse.toml");
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
}
