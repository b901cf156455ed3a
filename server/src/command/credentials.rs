//! Credentials: `passwd`, `totp enable`, `invite` (and the password policy they share with
//! `user add`). The password itself comes in [`Input::password`]: this module hashes it and
//! never reads it from anywhere.
use super::{CommandError, Input, Output};
use crate::store::Store;
use gatehouse_policy::password::{hash_password, PasswordPolicy};
use gatehouse_policy::secret::Secret;

type R = Result<Output, CommandError>;

/// The password the front end read; an empty or missing one is the usual one-line error.
pub(super) fn password(input: Input) -> Result<Secret, CommandError> {
    match input.password {
        Some(pw) if !pw.expose().is_empty() => Ok(pw),
        _ => Err(CommandError::usage("no password on standard input")),
    }
}

fn password_policy(store: &Store) -> Result<PasswordPolicy, CommandError> {
    let cfg = &store.config().password;
    let mut p = PasswordPolicy { min_length: cfg.min_length, ..PasswordPolicy::default() };
    if let Some(path) = &cfg.breached_list {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CommandError::Io(format!("cannot read password.breached_list {path}: {e}")))?;
        let set = text.lines().filter_map(PasswordPolicy::breached_entry).collect();
        p.breached = Some(std::sync::Arc::new(set));
    }
    Ok(p)
}

/// Checks the policy and hashes: the plain password never leaves this function.
pub(super) fn hash_checked(store: &Store, name: &str, pw: &Secret) -> Result<String, CommandError> {
    password_policy(store)?.check(name, pw)?;
    Ok(hash_password(pw)?)
}

/// `passwd NAME`.
pub(super) async fn passwd(store: &Store, who: &str, name: &str, input: Input) -> R {
    let user = store.get_user(name).await?;
    let pw = password(input)?;
    let hash = hash_checked(store, &user.name, &pw)?;
    store.set_password(who, &user.id, Some(hash), false).await?;
    Ok(Output::Done(format!("password of {} changed", user.name)))
}

/// `totp enable`.
pub(super) async fn totp_enable(store: &Store, who: &str, name: &str, replace: bool) -> R {
    let (u, secret) = store.totp_enable(who, name, replace).await?;
    let uri = Secret::new(gatehouse_policy::totp::uri(&u.name, secret.expose()));
    Ok(Output::TotpEnabled { user: u.name, secret, uri })
}

/// `invite NAME [--mail]`.
pub(super) async fn invite(store: &Store, who: &str, name: &str, ttl: u64, mail: bool) -> R {
    if ttl == 0 {
        return Err(CommandError::usage("--expires-in must be longer than 0s"));
    }
    if mail {
        return invite_by_mail(store, who, name, ttl).await;
    }
    let inv = store.invite(who, name, ttl).await?;
    let crate::store::Invitation { user, code, expires_at } = inv;
    Ok(Output::Invited { user, code, expires_at })
}

/// `gatehouse invite NAME --mail`: the code goes to the user's email through `[mail] sendmail`
/// and is never answered; a failed delivery stores nothing (see [`Store::invite_and`]).
async fn invite_by_mail(store: &Store, who: &str, name: &str, ttl: u64) -> R {
    let cfg = store.config().mail.clone();
    let Some(program) = cfg.sendmail.clone() else {
        return Err(CommandError::usage("--mail needs [mail] sendmail = \"/usr/sbin/sendmail\" in gatehouse.toml"));
    };
    let user = store.get_user(name).await?;
    if user.email.is_empty() {
        return Err(CommandError::usage(format!(
            "{} has no email address (gatehouse user set {} --email ADDRESS)",
            user.name, user.name
        )));
    }
    let host = super::mail::host_name();
    let deliver = |u: &gatehouse_policy::model::User, inv: &crate::store::Invitation| {
        let expires = gatehouse_policy::model::format_time(inv.expires_at);
        let msg = super::mail::compose(&cfg, &u.email, &u.name, &host, inv.code.expose(), &expires);
        super::mail::send(&program, &u.email, msg.as_bytes())
            .map_err(|e| format!("the invitation was not mailed, nothing changed: {e}"))
    };
    let inv = store.invite_and(who, &user.id, ttl, &deliver).await?;
    Ok(Output::InviteMailed { user: inv.user.clone(), mailed_to: user.email, expires_at: inv.expires_at })
}
