//! `scp -t/-f` (`scp -O`) and `rsync --server`, served by exec'ing the stock programs for users
//! with no per-folder rules only: these programs cannot ask the policy core about each path, so
//! the account's caps are turned into their own options and everything else is refused.
//!
//! As rrsync does, the request is parsed against an allow-list of the options a client sends
//! to a server, and every path is re-rooted: the client's `/` is the user's root, `..` is
//! clamped there, and each path is passed as `./rel` so it can never be read as an option. The
//! program then runs with the root as its working directory, a cleared environment and the
//! [`Fence::Legacy`] Landlock fence, which is what keeps symlinks already in the tree (and any
//! path trick we missed) from reaching outside it. So a kernel that enforces no fence at all
//! (no Landlock, or an `lsm=` list without it) gets no legacy transfers, unless the admin set
//! `legacy_without_landlock` ([`unfenced_verdict`]).
//!
//! Uploads never keep setuid or setgid bits, as SFTP strips them: rsync gets `--chmod=a-st`,
//! and `scp -t` never gets `-p` (with it scp sets the client's mode bits as sent; without it,
//! it masks them and still applies the times the client sends).
//! Caps: read-only users may only download; users without delete rights get rsync's
//! `--ignore-existing` (no overwrite), no `--delete*`, `--remove-*` or backups, and no scp
//! upload at all (scp always overwrites); `max_file_size` becomes `--max-size` (scp has no such
//! cap, so scp uploads are refused for those users). Uploads may not create symlinks, hard
//! links, devices or specials (`-l`, `-H`, `-D` and their long forms are refused: a server cannot
//! silently turn them off, since both ends must agree on the file-list format); downloads may
//! send them (a symlink travels as its target string, never followed).

use crate::command::printable;
use crate::confine::{confine, Enforcement, Fence};
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// What the caller knows about the user (from the policy).
#[derive(Debug, Clone, Copy)]
pub struct LegacyUser<'a> {
    /// The real directory the user sees as `/`.
    pub root: &'a Path,
    /// Mode `r`: downloads only.
    pub read_only: bool,
    /// False: existing data may not be deleted or overwritten.
    pub delete_allowed: bool,
    /// The user (or a group) has per-path rules, which only the SFTP server can enforce.
    pub has_rules: bool,
    /// Upload size cap in bytes.
    pub max_file_size: Option<u64>,
}

/// A program to exec, with the root as its working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Absolute path of the program.
    pub program: PathBuf,
    /// Its arguments (not including argv\[0\]).
    pub args: Vec<String>,
}

const HAS_RULES: &str =
    "Your account has per-folder rules; use sftp (for example `sftp user@host`), not scp -O or rsync.";
const SCP: &str = "/usr/bin/scp";
const RSYNC: &str = "/usr/bin/rsync";

/// Checks `scp -t|-f …` and builds the command that serves it. `Err` is a one-line message.
pub fn plan_scp(words: &[String], user: &LegacyUser<'_>) -> Result<Plan, String> {
    if user.has_rules {
        return Err(HAS_RULES.into());
    }
    let mut dir = None;
    let mut flags = Vec::new();
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if w == "--" {
            i += 1;
            break;
        }
        let Some(letters) = w.strip_prefix('-').filter(|l| !l.is_empty()) else {
            break;
        };
        for l in letters.chars() {
            match l {
                't' | 'f' => {
                    if dir.replace(l).is_some_and(|d| d != l) {
                        return Err("scp: use either -t or -f, not both.".into());
                    }
                }
                'r' | 'p' | 'd' | 'v' | 'q' => {
                    let f = format!("-{l}");
                    if !flags.contains(&f) {
                        flags.push(f);
                    }
                }
                _ => return Err(format!("scp: option -{} is not allowed here.", printable(&l.to_string()))),
            }
        }
        i += 1;
    }
    let Some(dir) = dir else {
        return Err("scp: only `scp -t` and `scp -f` (scp -O uploads and downloads) are served.".into());
    };
    let paths = &words[i.min(words.len())..];
    if dir == 't' {
        // `scp -t -p` would fchmod each file to the four octal digits the client sends,
        // setuid and setgid included. Without it the sink masks the mode as it creates the
        // file, and still sets the times the client's T lines carry.
        flags.retain(|f| f != "-p");
        if user.read_only {
            return Err("Your account is read-only: scp uploads are not allowed.".into());
        }
        if !user.delete_allowed {
            return Err("Your account may not overwrite files and scp always does: use sftp to upload.".into());
        }
        if user.max_file_size.is_some() {
            return Err("Your account has an upload size limit that scp cannot enforce: use sftp or rsync.".into());
        }
        if paths.len() != 1 {
            return Err("scp: an upload needs exactly one target.".into());
        }
    } else if paths.is_empty() {
        return Err("scp: a download needs at least one source.".into());
    }
    let mut args = vec![format!("-{dir}")];
    args.extend(flags);
    args.push("--".into());
    for p in paths {
        args.push(reroot(p)?);
    }
    Ok(Plan { program: SCP.into(), args })
}

/// How a long rsync option is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// No argument.
    Flag,
    /// Takes an argument that needs no checking (a number, a name, a format).
    Value,
    /// Deletes or moves existing data away: needs delete rights (and never for read-only users).
    Destroys,
    /// Creates links, devices or specials: downloads only.
    SendOnly,
    /// `--partial-dir`: a relative directory without `..` (rsync puts it next to each file).
    PartialDir,
    /// `--files-from`: only `-` (the list travels over the connection).
    FilesFrom,
}

/// The long options a client sends to an rsync server that we pass on (after rrsync's table).
/// Anything not listed is refused: `--daemon`, `--config`, `--rsh`, `--log-file*`,
/// `--temp-dir`, `--backup-dir`, `--*-dest`, `--copy-links`, `--copy-dirlinks`,
/// `--keep-dirlinks`, `--copy-unsafe-links`, `--*-batch`, `--debug`, `--protect-args`, …
const LONG: &[(&str, Opt)] = &[
    ("server", Opt::Flag),
    ("sender", Opt::Flag),
    ("append", Opt::Flag),
    ("append-verify", Opt::Flag),
    ("block-size", Opt::Value),
    ("bwlimit", Opt::Value),
    ("checksum-choice", Opt::Value),
    ("checksum-seed", Opt::Value),
    ("compress-choice", Opt::Value),
    ("compress-level", Opt::Value),
    ("compress-threads", Opt::Value),
    ("delay-updates", Opt::Flag),
    ("delete", Opt::Destroys),
    ("delete-after", Opt::Destroys),
    ("delete-before", Opt::Destroys),
    ("delete-delay", Opt::Destroys),
    ("delete-during", Opt::Destroys),
    ("delete-excluded", Opt::Destroys),
    ("delete-missing-args", Opt::Destroys),
    ("devices", Opt::SendOnly),
    ("dirs", Opt::Flag),
    ("existing", Opt::Flag),
    ("files-from", Opt::FilesFrom),
    ("force", Opt::Destroys),
    ("from0", Opt::Flag),
    ("fsync", Opt::Flag),
    ("fuzzy", Opt::Flag),
    ("group", Opt::Flag),
    ("groupmap", Opt::Value),
    ("hard-links", Opt::SendOnly),
    ("iconv", Opt::Value),
    ("ignore-errors", Opt::Flag),
    ("ignore-existing", Opt::Flag),
    ("ignore-missing-args", Opt::Flag),
    ("ignore-times", Opt::Flag),
    ("info", Opt::Value),
    ("inplace", Opt::Flag),
    ("links", Opt::SendOnly),
    ("list-only", Opt::Flag),
    ("log-format", Opt::Value),
    ("max-alloc", Opt::Value),
    ("max-delete", Opt::Value),
    ("max-size", Opt::Value),
    ("min-size", Opt::Value),
    ("mkpath", Opt::Flag),
    ("modify-window", Opt::Value),
    ("msgs2stderr", Opt::Flag),
    ("munge-links", Opt::Flag),
    ("new-compress", Opt::Flag),
    ("no-W", Opt::Flag),
    ("no-implied-dirs", Opt::Flag),
    ("no-msgs2stderr", Opt::Flag),
    ("no-r", Opt::Flag),
    ("no-relative", Opt::Flag),
    ("no-devices", Opt::Flag),
    ("no-specials", Opt::Flag),
    ("no-links", Opt::Flag),
    ("numeric-ids", Opt::Flag),
    ("old-compress", Opt::Flag),
    ("one-file-system", Opt::Flag),
    ("open-noatime", Opt::Flag),
    ("owner", Opt::Flag),
    ("partial", Opt::Flag),
    ("partial-dir", Opt::PartialDir),
    ("perms", Opt::Flag),
    ("preallocate", Opt::Flag),
    ("recursive", Opt::Flag),
    ("relative", Opt::Flag),
    ("remove-sent-files", Opt::Destroys),
    ("remove-source-files", Opt::Destroys),
    ("safe-links", Opt::Flag),
    ("size-only", Opt::Flag),
    ("skip-compress", Opt::Value),
    ("specials", Opt::SendOnly),
    ("stats", Opt::Flag),
    ("stderr", Opt::Value),
    ("suffix", Opt::Value),
    ("timeout", Opt::Value),
    ("times", Opt::Flag),
    ("use-qsort", Opt::Flag),
    ("usermap", Opt::Value),
];

/// Short option letters a client packs into one word (`-logDtpre.iLsfxCIvu`), after rrsync's
/// list minus `s` (protect-args: the real arguments would then arrive unchecked over the
/// protocol) and `k`, `K`, `L` (following or keeping symlinks to directories).
const SHORT: &str = "ACEIJNORSUWXbcdgmnopqrtuvxyz";
/// Letters that create links, devices or specials on the receiving side.
const SHORT_SEND_ONLY: &str = "lHD";

/// Added to every upload: the receiving rsync applies it to the mode of every file and directory
/// it creates or (with `-p`) updates, so setuid, setgid and sticky bits never land in the root,
/// as SFTP SETSTAT and OPEN never set them (`safe_mode`). rsync's own option, on its own side:
/// no window in which the bits are set and then removed.
const STRIP_SPECIAL_BITS: &str = "--chmod=a-st";

/// Checks `rsync --server …` and builds the command that serves it. `Err` is a one-line message.
pub fn plan_rsync(words: &[String], user: &LegacyUser<'_>) -> Result<Plan, String> {
    if user.has_rules {
        return Err(HAS_RULES.into());
    }
    if words.first().map(String::as_str) != Some("rsync") || words.get(1).map(String::as_str) != Some("--server") {
        return Err("rsync: only `rsync --server` is served.".into());
    }
    let sender = words.iter().take_while(|w| *w != ".").any(|w| w == "--sender");
    if user.read_only && !sender {
        return Err("Your account is read-only: rsync uploads are not allowed.".into());
    }
    let destroys_ok = user.delete_allowed && !user.read_only;
    let mut opts: Vec<String> = vec!["--server".into()];
    let mut rest = words[2..].iter();
    let mut saw_dot = false;
    while let Some(w) = rest.next() {
        if w == "." {
            saw_dot = true;
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if name == "server" {
                continue;
            }
            let Some(&(_, kind)) = LONG.iter().find(|(n, _)| *n == name) else {
                return Err(format!("rsync: option --{} is not allowed here.", printable(name)));
            };
            let refuse = |why: &str| Err(format!("rsync: option --{name} is not allowed: {why}."));
            match kind {
                Opt::Destroys if !destroys_ok => return refuse("your account may not delete or overwrite files"),
                Opt::SendOnly if !sender => return refuse("uploads may not create links, devices or specials"),
                Opt::Flag | Opt::Destroys | Opt::SendOnly => {
                    if value.is_some() {
                        return refuse("it takes no value");
                    }
                    opts.push(w.clone());
                }
                Opt::Value | Opt::PartialDir | Opt::FilesFrom => {
                    let value = match value {
                        Some(v) => v,
                        None => rest.next().cloned().ok_or_else(|| format!("rsync: --{name} needs a value."))?,
                    };
                    if kind == Opt::FilesFrom && value != "-" {
                        return refuse("only a list sent by the client (`-`) is accepted");
                    }
                    if kind == Opt::PartialDir
                        && (value.is_empty() || value.starts_with('/') || value.split('/').any(|c| c == ".."))
                    {
                        return refuse("use a relative name without `..`");
                    }
                    opts.push(format!("--{name}={value}"));
                }
            }
        } else if let Some(letters) = w.strip_prefix('-').filter(|l| !l.is_empty()) {
            check_short(letters, sender, destroys_ok)?;
            opts.push(w.clone());
        } else {
            return Err(format!("rsync: unexpected argument `{}` before `.`.", printable(w)));
        }
    }
    if !saw_dot {
        return Err("rsync: invalid server command (no `.` argument).".into());
    }
    opts.push("--numeric-ids".into());
    if !sender {
        opts.extend(["--no-links", "--no-devices", "--no-specials", STRIP_SPECIAL_BITS].map(String::from));
        if let Some(max) = user.max_file_size {
            opts.push(format!("--max-size={max}"));
        }
        if !user.delete_allowed {
            opts.push("--ignore-existing".into());
        }
    }
    let mut paths = Vec::new();
    for p in rest {
        paths.push(reroot(p)?);
    }
    if paths.is_empty() {
        paths.push(".".into());
    }
    opts.push("--".into());
    opts.push(".".into());
    opts.extend(paths);
    Ok(Plan { program: RSYNC.into(), args: opts })
}

/// Checks one packed word of short options (`-vlogDtpre.iLsfxCIvu`, `-B1024`, `-@-1`).
fn check_short(letters: &str, sender: bool, destroys_ok: bool) -> Result<(), String> {
    // `-B<n>` / `-@<n>` (block size, modify window) stand alone with their number.
    if let Some(num) = letters.strip_prefix('B').or_else(|| letters.strip_prefix('@')) {
        let digits = num.strip_prefix('-').unwrap_or(num);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(());
        }
    }
    // The server-only `e` carries the client's protocol capabilities and ends the word:
    // `e<digits>.<word chars>`, as rrsync accepts it.
    let (plain, caps) = match letters.find('e') {
        Some(at) => (&letters[..at], Some(&letters[at + 1..])),
        None => (letters, None),
    };
    if let Some(caps) = caps {
        let ok = caps.split_once('.').is_some_and(|(num, word)| {
            num.bytes().all(|b| b.is_ascii_digit()) && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !ok {
            return Err("rsync: malformed server options.".into());
        }
    }
    for l in plain.chars() {
        if SHORT_SEND_ONLY.contains(l) && !sender {
            return Err(format!(
                "rsync: option -{l} is not allowed for uploads (no symlinks, hard links, devices or specials): \
                 use -rt instead of -a, or sftp."
            ));
        }
        if l == 'b' && !destroys_ok {
            return Err("rsync: backups (-b) are not allowed: your account may not overwrite files.".into());
        }
        if !SHORT.contains(l) && !SHORT_SEND_ONLY.contains(l) {
            // Also `s` (protect-args), `k`, `K` and `L` (symlinks to directories followed or kept).
            return Err(format!("rsync: option -{} is not allowed here.", printable(&l.to_string())));
        }
    }
    Ok(())
}

/// A client path (where `/` is the root) as a path relative to the root that cannot be taken
/// for an option: `.` for the root, else `./rel`, keeping a trailing `/` (it means "the
/// contents of" to rsync).
fn reroot(p: &str) -> Result<String, String> {
    let canon = gatehouse_policy::path::canonicalize("/", p).map_err(|e| format!("bad path: {e}"))?;
    let mut out = match canon.strip_prefix('/').unwrap_or(&canon) {
        "" => ".".to_string(),
        rel => format!("./{rel}"),
    };
    if p.ends_with('/') || p.ends_with("/.") {
        out.push('/');
    }
    Ok(out)
}

/// The user's message when a legacy transfer is refused for want of a fence.
const NO_FENCE: &str = "scp -O and rsync are not available on this server (its kernel cannot confine them); use sftp.";

/// Whether a legacy transfer may run: always under a (full or partial) Landlock fence; without
/// one only if the config allows it (`legacy_without_landlock`). `Err` is the reason for the
/// log.
pub fn unfenced_verdict(landlock_available: bool, allowed_without: bool) -> Result<(), String> {
    if landlock_available || allowed_without {
        Ok(())
    } else {
        Err("the kernel enforces no Landlock fence and legacy_without_landlock is off".into())
    }
}

/// Why [`run`] returned (it returns only when the program was not started).
#[derive(Debug)]
pub enum RunError {
    /// Refused by policy before exec: `user` is the one line for the client, `reason` the log's.
    Refused {
        /// For the client (stderr).
        user: &'static str,
        /// For the log.
        reason: String,
    },
    /// The root could not be entered, the fence not set up, or the exec failed.
    Failed(std::io::Error),
}

/// Serves the request: the root as working directory, the legacy Landlock fence (refused when
/// the kernel enforces none, unless `allowed_without_landlock`), a cleared environment, then
/// exec. Returns only when the program was not started, with the reason.
pub fn run(plan: &Plan, root: BorrowedFd<'_>, root_path: &Path, allowed_without_landlock: bool) -> RunError {
    if let Err(e) = rustix::process::fchdir(root) {
        let e = std::io::Error::from(e);
        return RunError::Failed(std::io::Error::new(e.kind(), format!("cannot enter {}: {e}", root_path.display())));
    }
    let confined = match confine(root, Fence::Legacy) {
        Ok(c) => c,
        Err(e) => return RunError::Failed(std::io::Error::other(e.to_string())),
    };
    if let Err(reason) = unfenced_verdict(confined.enforcement != Enforcement::None, allowed_without_landlock) {
        return RunError::Refused { user: NO_FENCE, reason };
    }
    RunError::Failed(
        std::process::Command::new(&plan.program).args(&plan.args).env_clear().env("PATH", "/usr/bin:/bin").exec(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// No fence, no legacy transfer, unless the config says so; any fence (full or partial)
    /// serves them.
    #[test]
    fn legacy_transfers_need_a_fence_or_the_admins_consent() {
        assert!(unfenced_verdict(true, false).is_ok());
        assert!(unfenced_verdict(true, true).is_ok());
        assert!(unfenced_verdict(false, true).is_ok());
        let why = unfenced_verdict(false, false).unwrap_err();
        assert!(why.contains("Landlock") && why.contains("legacy_without_landlock"), "{why}");
    }
}
