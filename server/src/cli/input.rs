//! Reading what a command wants from outside ([`Wants`]), for each front end: root's CLI reads
//! its standard input, the terminal and files; gatehoused takes the standard input the request
//! carried and nothing else (it never prompts and never opens a file on a caller's behalf).
use crate::command::{CommandError, Input, Wants};
use crate::store::Store;
use gatehouse_policy::secret::Secret;
use std::io::BufRead;

/// The first line of `text`, without its line end, as a secret.
fn first_line(text: &str) -> Secret {
    Secret::new(text.lines().next().unwrap_or("").trim_end_matches(['\n', '\r']).to_string())
}

fn read_file(f: &str) -> Result<String, CommandError> {
    std::fs::read_to_string(f).map_err(|e| CommandError::Io(format!("cannot read {f}: {e}")))
}

fn stdin_error(e: std::io::Error) -> CommandError {
    CommandError::Io(format!("cannot read standard input: {e}"))
}

/// Root's CLI: one line of standard input, a prompt on the terminal (twice, without echo), a
/// file or standard input for keys, the import's files.
pub async fn from_terminal(store: &Store, wants: Wants<'_>) -> Result<Input, CommandError> {
    let mut input = Input::default();
    match wants {
        Wants::Nothing => {}
        Wants::PasswordLine => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(stdin_error)?;
            let end = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(end);
            input.password = Some(Secret::new(line));
        }
        Wants::PasswordPrompt { user } => {
            let name = store.get_user(user).await?.name;
            input.password = Some(prompt_twice(&name)?);
        }
        Wants::KeyFile { path: "-" } => {
            input.text = Some(std::io::read_to_string(std::io::stdin()).map_err(stdin_error)?)
        }
        Wants::KeyFile { path } => input.text = Some(read_file(path)?),
        Wants::ImportFiles { file, shadow } => {
            input.text = Some(read_file(file)?);
            input.shadow = shadow.map(read_file).transpose()?;
        }
    }
    Ok(input)
}

/// Prompts twice on the terminal, without echo.
fn prompt_twice(name: &str) -> Result<Secret, CommandError> {
    let a = Secret::new(
        rpassword::prompt_password(format!("New password for {name}: "))
            .map_err(|e| CommandError::Io(format!("cannot prompt (no terminal? use --stdin): {e}")))?,
    );
    let b = Secret::new(
        rpassword::prompt_password("Retype it: ").map_err(|e| CommandError::Io(format!("cannot prompt: {e}")))?,
    );
    if a != b {
        return Err(CommandError::usage("the passwords do not match; nothing was changed"));
    }
    Ok(a)
}

/// gatehoused: the standard input the request carried (an absent one is empty).
pub fn from_request(wants: Wants<'_>, stdin: Option<&Secret>) -> Result<Input, CommandError> {
    let text = || stdin.map_or_else(String::new, |s| s.expose().to_string());
    let mut input = Input::default();
    match wants {
        Wants::Nothing => {}
        Wants::PasswordLine => input.password = Some(first_line(stdin.map_or("", Secret::expose))),
        Wants::PasswordPrompt { user: _ } => {
            return Err(CommandError::usage("no terminal here: give the password on standard input with --stdin"))
        }
        Wants::KeyFile { path: "-" } => input.text = Some(text()),
        // gatehoused must never read a file on a caller's behalf.
        Wants::KeyFile { path: _ } => {
            return Err(CommandError::usage("give the keys on standard input (--file -) or as an argument"))
        }
        Wants::ImportFiles { file: _, shadow: _ } => {
            return Err(CommandError::usage("gatehoused reads no files on a caller's behalf; run the import as root"))
        }
    }
    Ok(input)
}
