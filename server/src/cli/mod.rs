//! The `gatehouse` command: parses arguments, opens the store, runs one command.
//!
//! A front end of the typed command layer ([`crate::command`]): clap parses the words
//! ([`args`]), [`convert`] turns them into a [`crate::command::Command`], [`input`] reads what
//! the command wants from outside (standard input, a prompt, a file), `command::run` runs it,
//! and [`render`] prints the answer as text or `--json`. gatehoused uses the same definitions,
//! conversion and renderer for delegated admins (`daemon::admin`).
//!
//! Every command either succeeds completely or changes nothing (each store call is one
//! transaction, and inputs are validated before the first write). Errors are one line on stderr
//! and exit status 2; `check` exits 1 when a decision denies ([`crate::command::exit_code`]).
pub mod args;
pub mod convert;
pub mod delegated;
pub mod input;
pub mod render;
mod run;

pub use args::Cli;

/// One line of output as it may reach a terminal: every control character but tab is written
/// as its Rust escape (ESC as `\u{1b}`, a newline as `\n`), so a value that came from the
/// database (ops edit it with plain SQL) can never move the cursor, retitle the window or forge
/// a line on root's terminal. Every text line [`render`] makes goes through it (and the one
/// error line); JSON output is escaped by serde instead.
pub fn terminal_safe(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes `text` to stdout; a closed pipe ends the process with status 141, as SIGPIPE would
/// (`gatehouse export | head`), instead of panicking.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("gatehouse: error: cannot write output: {e}");
        std::process::exit(2);
    }
}

/// True for the accounts that use the database themselves: root, and the daemon's own user, who
/// owns it (the postinst runs `gatehouse db migrate` as that user, with no daemon running yet).
fn opens_the_database() -> bool {
    let uid = nix::unistd::getuid();
    uid.is_root()
        || nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .is_some_and(|u| u.name == gatehouse_policy::config::DAEMON_USER)
}

/// Runs the parsed command. Returns the process exit status. Run by any other account than
/// root or the daemon's user, every command but `status` goes to gatehoused ([`delegated`]) with
/// the words it was given: the daemon runs what the caller's admin role allows and names what it
/// does not.
pub async fn main(cli: Cli) -> i32 {
    if !opens_the_database() && !matches!(cli.command, args::Command::Status { .. }) {
        let argv: Result<Vec<String>, _> = std::env::args_os().skip(1).map(std::ffi::OsString::into_string).collect();
        return match argv {
            Ok(argv) => delegated::run_remote(argv),
            Err(_) => {
                eprintln!("gatehouse: error: an argument is not UTF-8");
                2
            }
        };
    }
    run::run(cli).await
}
