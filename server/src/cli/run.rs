//! Root's CLI: open the store, convert the words, read the input, run, print.
use super::args::{Cli, Command as Words, DbCmd};
use super::{convert, input, render};
use crate::command::{self, Actor, CommandError, InProcess, Output};
use crate::store::Store;

/// Who is running the command, for the audit log.
fn actor() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// Runs the command and prints its answer; returns the exit status.
pub(super) async fn run(cli: Cli) -> i32 {
    let result = execute(cli).await;
    let printed = match &result {
        Ok((out, json)) => render::render(out, *json).map_err(|e| CommandError::Io(e.to_string())),
        Err(_) => Ok(render::Rendered::default()),
    };
    match (result, printed) {
        (Ok((out, _)), Ok(text)) => {
            eprint!("{}", text.stderr);
            super::emit(&text.stdout);
            command::exit_code(Ok(&out))
        }
        (Err(e), _) | (Ok(_), Err(e)) => {
            eprintln!("gatehouse: error: {}", super::terminal_safe(&e.to_string()));
            command::exit_code(Err(&e))
        }
    }
}

async fn execute(cli: Cli) -> Result<(Output, bool), CommandError> {
    let cfg = crate::service::load_config(&crate::service::config_path()).map_err(CommandError::Io)?;
    // Only `db migrate` may create the database; anything else on a missing file is an error
    // that says what to run, and leaves nothing behind.
    let create = matches!(cli.command, Words::Db(DbCmd::Migrate));
    let store = match Store::open(cfg, create).await {
        // `status` still reports every other part when the database cannot be reached.
        Err(e) if e.is_unreachable() => match cli.command {
            Words::Status { json } => return Ok((command::status_without_store(e.to_string()).await, json)),
            _ => return Err(e.into()),
        },
        other => other?,
    };
    if !matches!(cli.command, Words::Db(_)) {
        store.ensure_current().await?;
    }
    let result = async {
        let parsed = convert::convert(cli.command)?;
        let input = input::from_terminal(&store, parsed.cmd.wants()).await?;
        let actor = Actor { name: actor(), roots: &InProcess };
        Ok((command::run(&store, &actor, parsed.cmd, input).await?, parsed.json))
    }
    .await;
    store.close().await;
    result
}
