//! The `gatehouse` command: parses arguments, opens the store, runs one command.
//!
//! Every command either succeeds completely or changes nothing (each store call is one
//! transaction, and inputs are validated before the first write). Errors are one line on stderr
//! and exit status 2; `check` exits 1 when a decision denies.
/// `println!` that ends the process quietly when stdout is closed (`gatehouse export | head`)
/// instead of panicking.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::emit(format_args!($($t)*)) };
}

pub mod args;
pub mod delegated;
mod mail;
mod output;
mod run;
pub mod status;

pub use args::Cli;

/// A command's failure, printed as one line.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Reads the config (`GATEHOUSE_CONFIG` or the fixed path); a missing file means the defaults.
pub fn load_config() -> Result<gatehouse_policy::config::Config, CliError> {
    crate::service::load_config(&crate::service::config_path()).map_err(CliError)
}

/// Where a command's output goes and its standard input comes from while gatehoused runs it for
/// a delegated admin: the text travels back in the answer, and the input came in the request.
/// Outside such a run (the CLI run by root) there is no console and the process's own stdout
/// and stdin are used.
#[derive(Debug, Default)]
pub struct Console {
    /// Everything the command printed, one line each.
    pub output: String,
    /// The caller's standard input, if the request carried it; taken by the first reader.
    pub input: Option<gatehouse_policy::secret::Secret>,
}

tokio::task_local! {
    static CONSOLE: std::cell::RefCell<Console>;
}

/// Runs `f` with `console` as its output and input; returns what `f` returned and the console.
pub async fn with_console<T>(console: Console, f: impl std::future::Future<Output = T>) -> (T, Console) {
    CONSOLE
        .scope(std::cell::RefCell::new(console), async move {
            let out = f.await;
            (out, CONSOLE.with(|c| c.take()))
        })
        .await
}

/// True while a command runs for a delegated admin inside gatehoused.
pub(crate) fn in_console() -> bool {
    CONSOLE.try_with(|_| ()).is_ok()
}

/// The caller's standard input in a console (taken once); `None` outside one.
pub(crate) fn console_input() -> Option<gatehouse_policy::secret::Secret> {
    CONSOLE
        .try_with(|c| {
            c.borrow_mut().input.take().unwrap_or_else(|| gatehouse_policy::secret::Secret::new(String::new()))
        })
        .ok()
}

/// One line of output as it may reach a terminal: every control character but tab is written
/// as its Rust escape (ESC as `\u{1b}`, a newline as `\n`), so a value that came from the
/// database (ops edit it with plain SQL) can never move the cursor, retitle the window or forge
/// a line on root's terminal. JSON output is escaped by serde instead.
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

/// Writes one line to stdout (or the console), made [`terminal_safe`]; a closed pipe ends the
/// process with status 141, as SIGPIPE would.
pub fn emit(args: std::fmt::Arguments<'_>) {
    let line = args.to_string();
    emit_unescaped(&terminal_safe(&line));
}

/// Writes text that is safe as it is: serde's JSON, whose strings carry every control character
/// escaped, so its only newlines are its own layout.
pub(crate) fn emit_json(text: &str) {
    emit_unescaped(text);
}

fn emit_unescaped(line: &str) {
    use std::io::Write;
    if CONSOLE
        .try_with(|c| {
            use std::fmt::Write as _;
            let mut c = c.borrow_mut();
            let _ = writeln!(c.output, "{line}");
        })
        .is_ok()
    {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("gatehouse: error: cannot write output: {e}");
        std::process::exit(2);
    }
}

/// Runs `cmd` for `who` (named in the audit log) on an open store: what gatehoused does for a
/// delegated admin, inside [`with_console`], after `delegated::authorize`.
pub async fn run_as(store: &crate::store::Store, who: &str, cmd: args::Command) -> Result<i32, CliError> {
    run::dispatch(store, who, cmd).await
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
    match run::run(cli).await {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("gatehouse: error: {}", terminal_safe(&msg));
            2
        }
    }
}
