//! Delegated administration in the daemon: who is calling, with which [`Scope`], and running the
//! command for them (see `crate::cli::delegated` for the rules).
//!
//! The caller is found by `SO_PEERCRED` alone. A uid that belongs to a gatehouse user is that
//! user, an admin only through its own `admin` flag and roles; roles granted to Unix accounts or
//! `%groups` never apply to gatehouse users (every gatehouse user is in the virtual group
//! `gatehouse-users`, which must not become a way in). Any other uid is a local account: its
//! name and its Unix groups (`getgrouplist`) are matched against the roles. Root is a full
//! admin. The audit log names the account (`alice`) or the gatehouse admin (`gatehouse:bob`).
use super::handlers::Outcome;
use super::State;
use crate::cli::{self, delegated, Cli, Console};
use crate::store::{Scope, StoreError};
use clap::Parser;
use gatehouse_policy::access::{login_checks, LoginRequest};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::snapshot::{TOTP_GROUP, USERS_GROUP};
use gatehouse_policy::wire::{Response, MAX_FRAME};

/// Largest output an admin command may answer with (the rest of the frame is the envelope).
const MAX_OUTPUT: usize = MAX_FRAME - 1024;

static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Who is calling and what they may manage; `None`: no admin role.
async fn caller(st: &State, uid: u32) -> Result<Option<(String, Scope)>, StoreError> {
    if uid == 0 {
        return Ok(Some(("root".into(), Scope::All)));
    }
    if let Some(name) = st.db.primary.user_name_by_uid(uid).await? {
        let (u, groups) = match st.db.primary.served_user(&name).await {
            Ok(x) => x,
            Err(StoreError::NotServed(r)) => {
                tracing::warn!(user = %name, "admin request refused: {r}");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        // The admin flag is worth nothing to an account that could not log in now: a deactivated,
        // expired or locked admin keeps no powers through a session (or a multiplexed channel)
        // opened before the change. The same checks as a login, the address aside (the request
        // carries none; sshd's PAM account check judged it when the session began).
        let req = LoginRequest { now: crate::store::now(), protocol: Some("ssh"), rhost: None };
        if let Some(c) = login_checks(&u, &groups, &req).into_iter().find(|c| !c.allowed) {
            tracing::warn!(user = %u.name, check = c.what, "admin request refused: {}", c.reason);
            return Ok(None);
        }
        return Ok(st.db.primary.scope_of_user(&u.id).await?.map(|s| (format!("gatehouse:{}", u.name), s)));
    }
    // A uid in gatehouse's range that is not a gatehouse user now (a deleted user's session, a
    // stale snapshot) is never taken for a local account.
    let ids = &st.db.primary.config().ids;
    if (ids.first..=ids.last).contains(&uid) {
        return Ok(None);
    }
    let Ok(Some((name, principals))) = tokio::task::spawn_blocking(move || unix_principals(uid)).await else {
        return Ok(None);
    };
    Ok(st.db.primary.scope_of_principals(&principals).await?.map(|s| (name, s)))
}

/// A local account's name and the principals that name it: the name and `%group` for each of
/// its Unix groups.
fn unix_principals(uid: u32) -> Option<(String, Vec<String>)> {
    use nix::unistd::{getgrouplist, Group, User};
    let user = User::from_uid(uid.into()).ok().flatten()?;
    let mut principals = vec![user.name.clone()];
    let cname = std::ffi::CString::new(user.name.clone()).ok()?;
    for gid in getgrouplist(&cname, user.gid).unwrap_or_default() {
        match Group::from_gid(gid) {
            // The NSS module's virtual groups hold gatehouse users only; never a way in here.
            Ok(Some(g)) if g.name == USERS_GROUP || g.name == TOTP_GROUP => {}
            Ok(Some(g)) => principals.push(format!("%{}", g.name)),
            _ => {}
        }
    }
    Some((user.name, principals))
}

/// Answers a `Request::Admin`: finds the caller's scope, parses the words with the CLI's
/// definitions, checks them against the scope, and runs the command in a console. Changes are
/// audited by the store with the caller as actor; refusals as `admin.refused`.
pub async fn run(st: &State, caller_uid: u32, argv: &[String], stdin: Option<&Secret>) -> Outcome {
    let words = argv.join(" ");
    let (actor, scope) = match caller(st, caller_uid).await {
        Ok(Some(c)) => c,
        Ok(None) => return denied(format!("uid {caller_uid} holds no gatehouse admin role"), &words),
        Err(e) => return Outcome::unavailable(e),
    };
    let cli = match Cli::try_parse_from(std::iter::once("gatehouse").chain(argv.iter().map(String::as_str))) {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let msg = e.render().to_string();
            return denied(msg.trim().trim_start_matches("error: ").to_string(), &words);
        }
        // --help and --version: printed, not an error.
        Err(e) => return output(e.render().to_string(), 0, format!("{actor}: {words}")),
    };
    if let Err(why) = delegated::authorize(&st.db.primary, &scope, &cli.command).await {
        return refused(st, &actor, &words, format!("{actor} may not run `gatehouse {words}`: {why}")).await;
    }
    // One admin command at a time: the store serialises writers anyway, and a password given
    // to `user add`/`passwd` is hashed inside the command, on this task's thread; one at a
    // time keeps that to one worker thread whatever a role holder sends.
    let _one = ONE_AT_A_TIME.acquire().await;
    let console = Console { output: String::new(), input: stdin.cloned() };
    let (result, console) = cli::with_console(console, cli::run_as(&st.db.primary, &actor, cli.command)).await;
    st.changed();
    match result {
        Ok(status) => output(console.output, status, format!("{actor}: {words}")),
        Err(cli::CliError(msg)) => refused(st, &actor, &words, msg).await,
    }
}

/// A role holder's command that was refused, by the rules or by the store: audited, then
/// answered. (Callers without a role are only logged: any local account could fill the audit
/// log otherwise.)
async fn refused(st: &State, actor: &str, words: &str, reason: String) -> Outcome {
    if let Err(e) = st.db.primary.audit_refused(actor, &format!("gatehouse {words}"), &reason).await {
        tracing::warn!(error = %e, "cannot audit a refused admin command");
    }
    denied(reason, words)
}

fn output(stdout: String, status: i32, reason: String) -> Outcome {
    if stdout.len() > MAX_OUTPUT {
        let why =
            format!("the output is larger than {MAX_OUTPUT} bytes; ask for less (user list --limit N --after NAME)");
        return Outcome::denied(why);
    }
    Outcome::new(Response::Output { stdout, status }, reason)
}

/// The refusal the caller's terminal shows: made terminal-safe here (it may quote a database
/// value), as the command's own output was by `cli::emit`.
fn denied(reason: String, words: &str) -> Outcome {
    let mut o = Outcome::denied(cli::terminal_safe(&reason).into_owned());
    o.reason = format!("{} ({words})", o.reason);
    o
}
