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

/// Writes one line to stdout; a closed pipe ends the process with status 141, as SIGPIPE would.
pub fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("gatehouse: error: cannot write output: {e}");
        std::process::exit(2);
    }
}

/// Runs the parsed command. Returns the process exit status.
pub async fn main(cli: Cli) -> i32 {
    match run::run(cli).await {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("gatehouse: error: {msg}");
            2
        }
    }
}
