//! `gatehouse status`: is every part really wired in on this host?
//!
//! Each line answers one question an operator asks when a login does not work: is the database
//! current, does the daemon answer, is the snapshot fresh, do nsswitch.conf and the PAM stacks
//! name gatehouse, is the sshd drop-in installed. It reads the real files; it changes nothing.
use crate::daemon::offline::SyncStatus;
use crate::store::Store;
use gatehouse_policy::config::{SNAPSHOT_PATH, SOCKET_PATH, SYNC_STATUS_PATH};
use gatehouse_policy::model::format_time;
use gatehouse_policy::snapshot::Snapshot;
use gatehouse_policy::wire::{decode_response, encode_request, Request, Response, MAX_FRAME};
use std::path::Path;

/// One checked part.
#[derive(Debug, serde::Serialize)]
pub struct Part {
    /// `database`, `daemon`, `snapshot`, `nsswitch`, `pam`, `sshd`.
    pub part: &'static str,
    /// True when the part is in place and working.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

fn part(part: &'static str, ok: bool, detail: impl Into<String>) -> Part {
    Part { part, ok, detail: detail.into() }
}

async fn database(store: &Store) -> Part {
    match store.status().await {
        Ok(st) if st.pending.is_empty() => part(
            "database",
            true,
            format!(
                "{}, schema current, {} users, {} groups",
                st.backend,
                st.users.unwrap_or(0),
                st.groups.unwrap_or(0)
            ),
        ),
        Ok(st) => part("database", false, format!("{} migrations pending: run gatehouse db migrate", st.pending.len())),
        Err(e) => part("database", false, e.to_string()),
    }
}

/// Rows this host leaves out of everything it serves (malformed, or outside what the config
/// allows: see `gatehouse_policy::servable`), counted, with the first few named.
async fn rows(store: &Store) -> Part {
    match store.served().await {
        Ok(s) if s.rejected.is_empty() => part("rows", true, "every user and group row can be served"),
        Ok(s) => {
            let first: Vec<String> = s.rejected.iter().take(3).map(ToString::to_string).collect();
            let more = s.rejected.len().saturating_sub(first.len());
            let more = if more > 0 { format!("; {more} more") } else { String::new() };
            part(
                "rows",
                false,
                format!(
                    "{} rows left out of everything this host serves (gatehouse check NAME says why): {}{more}",
                    s.rejected.len(),
                    first.join("; ")
                ),
            )
        }
        Err(e) => part("rows", false, e.to_string()),
    }
}

fn daemon(socket: &str) -> Part {
    let t = std::time::Instant::now();
    let answer = encode_request(&Request::Ping)
        .map_err(|e| e.to_string())
        .and_then(|body| gatehouse_modcore::client::exchange(socket, &body, MAX_FRAME).map_err(|e| e.0))
        .and_then(|reply| decode_response(&reply).map_err(|e| e.to_string()));
    match answer {
        Ok(Response::Ok) => {
            part("daemon", true, format!("gatehoused answers at {socket} ({:.1} ms)", t.elapsed().as_secs_f64() * 1e3))
        }
        Ok(other) => part("daemon", false, format!("gatehoused at {socket} answered {other:?}")),
        Err(e) => part("daemon", false, format!("gatehoused does not answer at {socket}: {e}")),
    }
}

fn snapshot(path: &str) -> Part {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return part("snapshot", false, format!("{path}: {e} (gatehoused writes it)")),
    };
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or_else(|| "unknown age".to_string(), |d| format!("written {} s ago", d.as_secs()));
    match Snapshot::parse(&bytes) {
        Ok(s) => part(
            "snapshot",
            true,
            format!(
                "{path}: generation {}, {} users, {} groups, {age}",
                s.generation(),
                s.user_count(),
                s.group_count()
            ),
        ),
        Err(e) => part("snapshot", false, format!("{path}: {e}")),
    }
}

/// The daemon's view of the database ([`SyncStatus`], published by gatehoused): backend,
/// connection state, last sync, and the offline cache's age against `max_staleness`.
fn sync(path: &str, now: i64) -> Part {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return part("sync", false, format!("{path}: {e} (gatehoused writes it while it runs)")),
    };
    let st: SyncStatus = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => return part("sync", false, format!("{path}: {e}")),
    };
    let ago = |t: Option<i64>| t.map_or_else(|| "never".to_string(), |t| format!("{} s ago", now.saturating_sub(t)));
    let cache = match st.cache_synced_at {
        Some(t) => format!(
            "; offline cache refreshed {} (staleness {} s, max {} s); {} login update(s) queued",
            ago(Some(t)),
            now.saturating_sub(t),
            st.max_staleness,
            st.queued
        ),
        None if st.backend == "postgres" => "; no offline cache yet".to_string(),
        None => String::new(),
    };
    let state = if st.online { "connected" } else { "UNREACHABLE, serving from the offline cache" };
    let detail =
        format!("{}: {state} since {}; last sync {}{cache}", st.backend, format_time(st.since), ago(st.last_sync));
    part("sync", st.online, detail)
}

/// True if the `db:` line of an nsswitch.conf text lists `gatehouse`.
pub fn nsswitch_has(text: &str, db: &str) -> bool {
    text.lines().map(|l| l.split('#').next().unwrap_or("")).any(|l| {
        let mut it = l.split_whitespace();
        it.next() == Some(&format!("{db}:")[..]) && it.any(|w| w == "gatehouse")
    })
}

fn nsswitch(path: &str) -> Part {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            let (p, g) = (nsswitch_has(&t, "passwd"), nsswitch_has(&t, "group"));
            let missing: Vec<&str> =
                [("passwd", p), ("group", g)].iter().filter(|(_, ok)| !ok).map(|(n, _)| *n).collect();
            if missing.is_empty() {
                part("nsswitch", true, format!("{path}: passwd and group list gatehouse"))
            } else {
                part("nsswitch", false, format!("{path}: add gatehouse to the {} line(s)", missing.join(" and ")))
            }
        }
        Err(e) => part("nsswitch", false, format!("{path}: {e}")),
    }
}

fn pam(dir: &str) -> Part {
    let mut missing = Vec::new();
    for f in ["common-auth", "common-account", "common-password"] {
        let has = std::fs::read_to_string(Path::new(dir).join(f))
            .is_ok_and(|t| t.lines().any(|l| !l.trim_start().starts_with('#') && l.contains("pam_gatehouse.so")));
        if !has {
            missing.push(f);
        }
    }
    if missing.is_empty() {
        part("pam", true, format!("{dir}/common-auth, -account, -password call pam_gatehouse.so"))
    } else {
        part(
            "pam",
            false,
            format!("{dir}/{} do not call pam_gatehouse.so (pam-auth-update --enable gatehouse)", missing.join(", ")),
        )
    }
}

/// What `sshd -T` must print for a gatehouse user (lowercase keywords, as `-T` prints them).
const SSHD_FOR_GATEHOUSE: &[&str] = &[
    "forcecommand /usr/sbin/gatehouse-sftp",
    "authorizedkeyscommand /usr/sbin/gatehouse-keys %u %U %f %t %k",
    "authorizedkeyscommanduser gatehouse-keys",
    "authorizedkeysfile none",
    "kbdinteractiveauthentication yes",
    "disableforwarding yes",
    "permittty no",
    "usepam yes",
];

/// The lines of [`SSHD_FOR_GATEHOUSE`] missing from an `sshd -T` output.
pub fn sshd_missing(t_output: &str) -> Vec<&'static str> {
    let lines: Vec<&str> = t_output.lines().map(str::trim).collect();
    SSHD_FOR_GATEHOUSE.iter().copied().filter(|want| !lines.contains(want)).collect()
}

/// Runs `sshd -T -C user=…` with a deadline (it reads only local files, but a broken NSS
/// source could stall it).
fn sshd_t(user: &str) -> Result<String, String> {
    use std::process::{Command, Stdio};
    let spec = format!("user={user},addr=127.0.0.1,host=localhost,laddr=127.0.0.1,lport=22");
    let mut child = Command::new("/usr/sbin/sshd")
        .args(["-T", "-C", &spec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run /usr/sbin/sshd -T: {e}"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("sshd -T did not answer within 5 s".into());
            }
            Err(e) => return Err(format!("sshd -T: {e}")),
        }
    }
    let out = child.wait_with_output().map_err(|e| format!("sshd -T: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("sshd -T failed: {}", err.lines().next().unwrap_or("")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Is the drop-in there, and does sshd really apply it to a gatehouse user (`sample`) and not
/// to root?
fn sshd(path: &str, sample: Option<&str>) -> Part {
    if !Path::new(path).exists() {
        return part("sshd", false, format!("{path} is missing"));
    }
    let Some(user) = sample else {
        return part("sshd", true, format!("{path} is installed (no gatehouse user yet to check sshd -T with)"));
    };
    let ours = match sshd_t(user) {
        Ok(t) => t,
        Err(e) => return part("sshd", false, e),
    };
    let missing = sshd_missing(&ours);
    if !missing.is_empty() {
        return part(
            "sshd",
            false,
            format!("sshd -T -C user={user} lacks: {} (is {path} included, and not overridden?)", missing.join("; ")),
        );
    }
    match sshd_t("root") {
        Ok(t) if t.lines().any(|l| l.trim() == "forcecommand /usr/sbin/gatehouse-sftp") => part(
            "sshd",
            false,
            "sshd -T -C user=root shows gatehouse's ForceCommand: the Match block leaks to local users",
        ),
        Ok(_) => part("sshd", true, format!("sshd applies {path} to gatehouse users ({user} checked) and not to root")),
        Err(e) => part("sshd", false, e),
    }
}

/// Whether this kernel enforces Landlock: a ruleset made with the hard requirement asks the
/// kernel without restricting this process (the fd is closed again at once).
pub fn kernel_enforces_landlock() -> bool {
    use landlock::{Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, ABI};
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .and_then(|r| r.create())
        .is_ok()
}

/// What gatehouse-sftp does with legacy scp (`scp -O`) and rsync here: with Landlock they run
/// fenced in the user's root; without it they are refused, or run unfenced when the config says
/// `legacy_without_landlock` (both are shown as a failure: something is missing).
fn landlock(enforced: bool, allowed_without: Option<bool>) -> Part {
    match (enforced, allowed_without) {
        (true, _) => {
            part("landlock", true, "the kernel enforces Landlock: legacy scp and rsync run fenced in the root")
        }
        (false, Some(true)) => part(
            "landlock",
            false,
            "the kernel enforces no Landlock and legacy_without_landlock = true: legacy scp and rsync run \
             UNFENCED (symlinks in a root can lead out of it)",
        ),
        (false, Some(false)) => part(
            "landlock",
            false,
            "the kernel enforces no Landlock: legacy scp and rsync are refused (sftp, and scp over \
             SFTP, work); enable Landlock in the kernel's lsm= list",
        ),
        (false, None) => part("landlock", false, "the kernel enforces no Landlock (config unreadable)"),
    }
}

/// Runs every check against the host's real paths.
/// Every part; `store` is the error text when the database could not even be opened.
pub async fn run(store: Result<&Store, String>) -> Vec<Part> {
    let (sample, db, rows, legacy_unfenced) = match store {
        Ok(s) => {
            let served = s.served().await.map(|s| s.users).unwrap_or_default();
            let legacy = Some(s.config().legacy_without_landlock);
            (served.into_iter().next().map(|u| u.name), database(s).await, Some(rows(s).await), legacy)
        }
        Err(e) => (None, part("database", false, e), None, None),
    };
    let mut parts = vec![db];
    parts.extend(rows);
    parts.extend([
        daemon(SOCKET_PATH),
        sync(SYNC_STATUS_PATH, crate::store::now()),
        snapshot(SNAPSHOT_PATH),
        nsswitch("/etc/nsswitch.conf"),
        pam("/etc/pam.d"),
        sshd("/etc/ssh/sshd_config.d/gatehouse.conf", sample.as_deref()),
        landlock(kernel_enforces_landlock(), legacy_unfenced),
    ]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landlock_lines() {
        assert!(landlock(true, Some(false)).ok);
        let refused = landlock(false, Some(false));
        assert!(!refused.ok && refused.detail.contains("refused"), "{}", refused.detail);
        let unfenced = landlock(false, Some(true));
        assert!(!unfenced.ok && unfenced.detail.contains("UNFENCED"), "{}", unfenced.detail);
    }

    /// The probe agrees with the kernel's list of active security modules (securityfs, mounted
    /// in a private mount namespace when the host has not mounted it: the tests run as root).
    #[test]
    #[allow(clippy::expect_used)]
    fn the_probe_agrees_with_the_kernels_lsm_list() {
        let script =
            "f=/sys/kernel/security/lsm; [ -r $f ] || mount -t securityfs securityfs /sys/kernel/security; cat $f";
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script])
            .output()
            .expect("unshare");
        let lsm = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !lsm.trim().is_empty(), "cannot read the lsm list: {out:?}");
        assert_eq!(kernel_enforces_landlock(), lsm.trim().split(',').any(|m| m == "landlock"), "lsm: {lsm}");
    }

    #[test]
    fn nsswitch_lines() {
        let t = "# comment gatehouse\npasswd:         files gatehouse systemd\ngroup: files systemd # gatehouse\n";
        assert!(nsswitch_has(t, "passwd"));
        assert!(!nsswitch_has(t, "group"));
        assert!(!nsswitch_has(t, "shadow"));
    }

    #[test]
    fn missing_parts_are_reported() {
        let dir = std::env::temp_dir().join(format!("gh-status-{}", std::process::id()));
        let d = dir.display().to_string();
        assert!(!daemon(&format!("{d}/socket")).ok);
        assert!(!snapshot(&format!("{d}/nss.db")).ok);
        assert!(!nsswitch(&format!("{d}/nsswitch.conf")).ok);
        assert!(!pam(&d).ok);
        assert!(!sshd(&format!("{d}/x.conf"), Some("alice")).ok);
    }

    #[test]
    fn sshd_t_lines() {
        let all = SSHD_FOR_GATEHOUSE.join("\n");
        assert!(sshd_missing(&all).is_empty());
        let without = all.replace("permittty no", "permittty yes");
        assert_eq!(sshd_missing(&without), vec!["permittty no"]);
        assert_eq!(sshd_missing("").len(), SSHD_FOR_GATEHOUSE.len());
    }
}
