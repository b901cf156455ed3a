//! Names and ids that the host's *other* NSS sources already answer (LDAP, sssd, extrausers,
//! winbind, …). At export a host leaves out a gatehouse user whose name or uid another source
//! has, as it does for `/etc/passwd` and `/etc/group` (read directly: [`LocalFiles`]); otherwise
//! `getpwnam` would answer with whichever source `nsswitch.conf` lists first, and files on disk
//! would change owner by name.
//!
//! The sources are those of the `passwd:` and `group:` lines of `/etc/nsswitch.conf` other than
//! `files` (read directly), `gatehouse` (this) and `systemd` (its users are the host's own
//! dynamic service users, outside gatehouse's id range, and every Debian host lists it, so a
//! default host needs no lookup at all). The lookups run in `getent -s DB:SOURCES` child
//! processes, not in gatehoused: `__nss_configure_lookup` is process-wide and not thread-safe,
//! and a source that hangs (an LDAP server that does not answer) must not stall an export. Each
//! run has a deadline ([`DEADLINE`]), after which it is killed and the earlier verdicts stand
//! (logged). Verdicts are kept for [`RECHECK`], so an export looks up only the names and ids it
//! has not asked about lately: 100,000 users cost their lookups once an hour, not at every
//! export.
//!
//! [`LocalFiles`]: crate::store::LocalFiles
use gatehouse_snapshot::SnapUser;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a verdict (found or not) is trusted before it is asked again.
pub const RECHECK: Duration = Duration::from_secs(3600);
/// The most one `getent` run may take.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// Keys per `getent` run (its command line stays far below `ARG_MAX`).
const BATCH: usize = 1000;
/// Sources never asked (see the module docs).
const SKIPPED: [&str; 3] = ["files", "gatehouse", "systemd"];

/// One lookup: a database (`passwd`, `group`) and a key (a name or a decimal id).
type Key = (&'static str, String);

/// The other sources and what they answered.
#[derive(Debug, Default)]
pub struct OtherSources {
    /// Per database, the service line handed to `getent -s` (empty: nothing to ask).
    lines: HashMap<&'static str, String>,
    /// Key → (the source's answer line if found, when asked).
    seen: HashMap<Key, (Option<String>, Instant)>,
}

/// The sources of `db`'s line in an `nsswitch.conf` text other than the skipped ones, with
/// their `[STATUS=action]` items, as a service line (empty if none).
pub fn other_sources(nsswitch: &str, db: &str) -> String {
    let Some(rest) = nsswitch
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find_map(|l| l.strip_prefix(db).and_then(|r| r.trim_start().strip_prefix(':')))
    else {
        return String::new();
    };
    let mut out: Vec<&str> = Vec::new();
    for item in rest.split_whitespace() {
        if item.starts_with('[') {
            // An action belongs to the source before it; dropped with a skipped one.
            if out.last().is_some_and(|l: &&str| !l.starts_with('[')) {
                out.push(item);
            }
        } else if !SKIPPED.contains(&item) {
            out.push(item);
        } else {
            while out.last().is_some_and(|l| l.starts_with('[')) {
                out.pop();
            }
        }
    }
    while out.last().is_some_and(|l| l.starts_with('[')) {
        out.pop();
    }
    out.join(" ")
}

impl OtherSources {
    /// Re-reads `/etc/nsswitch.conf` (an admin may add a source while the daemon runs); a
    /// changed line forgets the verdicts of that database.
    pub fn reload(&mut self) {
        let text = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
        self.set_config(&text);
    }

    fn set_config(&mut self, nsswitch: &str) {
        for db in ["passwd", "group"] {
            let line = other_sources(nsswitch, db);
            if self.lines.get(db) != Some(&line) {
                self.seen.retain(|(d, _), _| *d != db);
                self.lines.insert(db, line);
            }
        }
    }

    /// True when no other source is configured (the common case: nothing to look up).
    pub fn is_empty(&self) -> bool {
        self.lines.values().all(String::is_empty)
    }

    /// Looks up what is due of `users`' names and uids (as users and as their private groups)
    /// and returns, per user name, why another source has it. Runs that fail or pass the
    /// deadline are logged and leave their keys unknown (asked again at the next export).
    pub async fn clashes(&mut self, users: &[SnapUser]) -> HashMap<String, String> {
        let now = Instant::now();
        let keys_of = |u: &SnapUser| -> [Key; 4] {
            [
                ("passwd", u.name.clone()),
                ("group", u.name.clone()),
                ("passwd", u.uid.to_string()),
                ("group", u.gid.to_string()),
            ]
        };
        for db in ["passwd", "group"] {
            let line = self.lines.get(db).cloned().unwrap_or_default();
            if line.is_empty() {
                continue;
            }
            let due: Vec<String> = users
                .iter()
                .flat_map(keys_of)
                .filter(|k| k.0 == db)
                .filter(|k| self.seen.get(k).is_none_or(|(_, at)| now.duration_since(*at) >= RECHECK))
                .map(|(_, key)| key)
                .collect();
            for batch in due.chunks(BATCH) {
                match getent(db, &line, batch).await {
                    Ok(found) => {
                        for key in batch {
                            let hit = found.get(key.as_str()).cloned();
                            self.seen.insert((db, key.clone()), (hit, now));
                        }
                    }
                    Err(why) => {
                        tracing::warn!(database = db, sources = %line, "cannot ask the other NSS sources: {why}")
                    }
                }
            }
        }
        let mut out = HashMap::new();
        for u in users {
            for key in keys_of(u) {
                if let Some((Some(entry), _)) = self.seen.get(&key) {
                    let line = self.lines.get(key.0).map(String::as_str).unwrap_or("");
                    out.entry(u.name.clone()).or_insert_with(|| {
                        format!("{} {:?} is answered by NSS source(s) \"{line}\": {entry}", key.0, key.1)
                    });
                }
            }
        }
        out
    }
}

/// Runs `getent -s DB:LINE DB KEYS…` with a deadline and returns the entries found, by the key
/// that found them (a name, or a decimal id).
async fn getent(db: &'static str, line: &str, keys: &[String]) -> Result<HashMap<String, String>, String> {
    let mut cmd = tokio::process::Command::new("getent");
    cmd.arg("-s").arg(format!("{db}:{line}")).arg(db).args(keys);
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .map_err(|_| format!("no answer within {} s", DEADLINE.as_secs()))?
        .map_err(|e| format!("cannot run getent: {e}"))?;
    // 0: all found, 2: some not found; anything else is a failure.
    if !matches!(out.status.code(), Some(0 | 2)) {
        return Err(format!("getent {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut found = HashMap::new();
    for entry in String::from_utf8_lossy(&out.stdout).lines() {
        let fields: Vec<&str> = entry.split(':').collect();
        if fields.len() < 3 {
            continue;
        }
        // Both the name and the id identify the entry, whichever key was asked.
        for key in [fields[0], fields[2]] {
            found.entry(key.to_string()).or_insert_with(|| entry.to_string());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn other_sources_of_a_line() {
        let conf = "# comment\npasswd:   files systemd gatehouse\ngroup: files [NOTFOUND=return] sss [UNAVAIL=continue] ldap gatehouse # x\n";
        assert_eq!(other_sources(conf, "passwd"), "");
        assert_eq!(other_sources(conf, "group"), "sss [UNAVAIL=continue] ldap");
        assert_eq!(other_sources("passwd: extrausers files\n", "passwd"), "extrausers");
        assert_eq!(other_sources("shadow: ldap\n", "passwd"), "");
        let mut o = OtherSources::default();
        o.set_config(conf);
        assert!(!o.is_empty());
        o.set_config("passwd: files\ngroup: files\n");
        assert!(o.is_empty());
    }
}
