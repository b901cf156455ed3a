//! What a login asked for. sshd runs the ForceCommand through the login shell, i.e. as
//! `gatehouse-sftp -c "<command>"`, and puts the client's real request in
//! `SSH_ORIGINAL_COMMAND`; we decide from that variable alone and never hand anything to a shell.
//! Clients build that string for a POSIX shell (rsync escapes with backslashes, scp -O quotes
//! nothing), so it is split here with a small shell-word splitter that understands quotes and
//! backslashes and refuses every unquoted character a shell would act on (`;|&$\`<>()`, a
//! newline, a leading `#`): whatever we accept means the same thing to us as to a shell, and
//! nothing we refuse ever reaches one.
//!
//! `gatehouse …` (`ssh admin@host gatehouse user add bob --group acme`) is split the same way
//! and its words are sent to gatehoused as an admin request, never executed: the daemon finds
//! the user by our uid and runs only what their admin role allows.

/// The service a session gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The sftp subsystem (also what the default, SFTP-mode `scp` uses).
    Sftp,
    /// `scp -t` or `scp -f` (`scp -O`); the words of the request, `scp` first.
    Scp(Vec<String>),
    /// `rsync --server …`; the words of the request, `rsync` first.
    Rsync(Vec<String>),
    /// `gatehouse …` from a gatehouse admin: the words after `gatehouse`, sent to gatehoused as
    /// an admin request (never run here: gatehoused decides by our uid what the user may do).
    Admin(Vec<String>),
    /// Anything else, with the one-line message to show the user.
    Refused(String),
}

/// The message for a login with no command (an interactive shell).
pub const NO_SHELL: &str = "This account is for file transfer only (sftp, scp, rsync); it has no shell.";

/// Characters a shell would act on when they are not quoted.
const META: &[char] = &[';', '|', '&', '$', '`', '<', '>', '(', ')', '\n', '\r'];

/// Decides what to serve. `args` is our argv after the program name (sshd passes `-c <command>`
/// or nothing); `original` is `SSH_ORIGINAL_COMMAND`.
pub fn classify(args: &[String], original: Option<&str>) -> Command {
    if !(args.is_empty() || (args.len() == 2 && args[0] == "-c")) {
        return Command::Refused("gatehouse-sftp is run by sshd only (as `gatehouse-sftp -c <command>`).".into());
    }
    let Some(original) = original.filter(|s| !s.trim().is_empty()) else {
        return Command::Refused(NO_SHELL.into());
    };
    let words = match split_words(original) {
        Ok(w) => w,
        Err(why) => return Command::Refused(format!("This account is for file transfer only: {why}.")),
    };
    let Some(first) = words.first() else {
        return Command::Refused(NO_SHELL.into());
    };
    let base = first.rsplit('/').next().unwrap_or(first);
    match base {
        "sftp-server" | "internal-sftp" => Command::Sftp,
        "scp" if scp_direction(&words[1..]) => Command::Scp(words),
        "rsync" if words.get(1).is_some_and(|w| w == "--server") => Command::Rsync(words),
        "gatehouse" => Command::Admin(words[1..].to_vec()),
        _ => Command::Refused(format!(
            "This account is for file transfer only: use sftp, scp or rsync (`{}` is not available).",
            printable(first)
        )),
    }
}

/// True if the scp options (before `--` or the first path) include `-t` or `-f`.
fn scp_direction(rest: &[String]) -> bool {
    rest.iter().take_while(|w| w.starts_with('-') && w.as_str() != "--").any(|w| w.contains('t') || w.contains('f'))
}

/// A word shown back to the user: control characters escaped, length capped.
pub(crate) fn printable(s: &str) -> String {
    s.chars().take(64).flat_map(char::escape_default).collect()
}

/// Splits a command line into words the way a POSIX shell would, without any expansion.
/// Errors name the first construct a shell would give a meaning to.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a quote (') is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('$' | '`' | '"' | '\\')) => w.push(e),
                            Some('\n') | None => return Err("a backslash ends the command".into()),
                            Some(e) => {
                                w.push('\\');
                                w.push(e);
                            }
                        },
                        Some(c @ ('$' | '`' | '\n' | '\r')) => {
                            return Err(format!("`{}` is not allowed", c.escape_default()))
                        }
                        Some(c) => w.push(c),
                        None => return Err("a quote (\") is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n' | '\r') | None => return Err("a backslash ends the command".into()),
                Some(e) => cur.get_or_insert_with(String::new).push(e),
            },
            '#' if cur.is_none() => return Err("`#` is not allowed".into()),
            c if META.contains(&c) => return Err(format!("`{}` is not allowed", c.escape_default())),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = cur {
        words.push(w);
    }
    Ok(words)
}
