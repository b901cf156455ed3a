//! `check`: every decision asked for, each with what decided it. The inputs are validated here,
//! after the user's row: a row this host leaves out is the one decision there is.
use super::{CheckQuery, CommandError, Output};
use crate::store::Store;
use gatehouse_policy::access::{login_checks, policy_for, LoginRequest};
use gatehouse_policy::model::PasswordSource;
use gatehouse_policy::path::canonicalize;
use gatehouse_policy::rules::{Op, Request};

/// One decision of `gatehouse check`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Answer {
    /// What was asked (`active`, `ip`, `upload /x`, ...).
    pub what: String,
    /// The answer.
    pub allowed: bool,
    /// What decided it.
    pub reason: String,
}

/// Every decision for one user; `allowed` when all of them allow.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The user's name.
    pub user: String,
    /// True when every decision allows.
    pub allowed: bool,
    /// The decisions, in the order asked.
    pub decisions: Vec<Answer>,
}

pub(super) async fn run(store: &Store, a: CheckQuery) -> Result<Output, CommandError> {
    let CheckQuery { name, ip, protocol, path, op, to, target_exists } = a;
    let (user, groups) = match store.served_user(&name).await {
        Ok(x) => x,
        // A row this host leaves out: that is the one decision there is.
        Err(crate::store::StoreError::NotServed(r)) => {
            let answer = Answer {
                what: "row".into(),
                allowed: false,
                reason: format!(
                    "{}: this host serves nothing of this user (fix the column, e.g. with gatehouse user set)",
                    r.why
                ),
            };
            return Ok(Output::Check(CheckReport { user: r.name, allowed: false, decisions: vec![answer] }));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(p) = &protocol {
        gatehouse_policy::model::validate_protocol(p)?;
    }
    if let Some(ip) = &ip {
        if gatehouse_policy::ip::parse_addr(ip).is_none() {
            return Err(CommandError::usage(format!("invalid --ip {ip:?}: expected an IPv4 or IPv6 address")));
        }
    }
    let req = LoginRequest { now: crate::store::now(), protocol: protocol.as_deref(), rhost: ip.as_deref() };
    let mut answers: Vec<Answer> = login_checks(&user, &groups, &req)
        .into_iter()
        .map(|c| Answer { what: c.what.to_string(), allowed: c.allowed, reason: c.reason })
        .collect();
    answers.push(password_answer(&user, &store.config().ldap));
    // FTP: what the generated files of a server cannot express is refused there at login; say so.
    for server in gatehouse_policy::ftp::FtpServer::ALL {
        if protocol.as_deref() != Some("ftp")
            || !store.config().generates_for(server, std::path::Path::new(server.binary()).exists())
        {
            continue;
        }
        // The same two refusals as the account check: what the server cannot enforce, then a
        // per-user file that is not there (yet).
        let (allowed, reason) = match server.limits(&user, &groups) {
            Ok(()) => match crate::tasks::hook::missing_ftp_file(store.config(), server, &user.name) {
                None => (true, server.enforces().to_string()),
                Some((_, why)) => (false, why),
            },
            Err(why) => (false, why),
        };
        answers.push(Answer { what: server.name().into(), allowed, reason });
    }
    if let (Some(path), Some(op)) = (&path, &op) {
        let op: Op = op.parse()?;
        let path = canonicalize("/", path)?;
        let to = to.as_deref().map(|t| canonicalize("/", t)).transpose()?;
        if op == Op::Rename && to.is_none() {
            return Err(CommandError::usage("--op rename needs --to PATH"));
        }
        if op != Op::Rename && (to.is_some() || target_exists) {
            return Err(CommandError::usage("--to and --target-exists go with --op rename only"));
        }
        let policy = policy_for(&user, &groups);
        let d = policy.decide(&Request { op, path: &path, to: to.as_deref(), target_exists });
        let what = match &to {
            Some(t) => format!("{op} {path} → {t}"),
            None => format!("{op} {path}"),
        };
        answers.push(Answer { what, allowed: d.allowed, reason: d.explain(&policy) });
    }
    let allowed = answers.iter().all(|x| x.allowed);
    Ok(Output::Check(CheckReport { user: user.name, allowed, decisions: answers }))
}

/// Where `gatehouse check` says a user's password is checked (`password_source`). An LDAP user
/// with no `[ldap]` directory configured cannot log in by password: a deny.
fn password_answer(u: &gatehouse_policy::model::User, ldap: &gatehouse_policy::ldap::LdapConfig) -> Answer {
    let (allowed, reason) = match (u.password_source, &u.password_hash) {
        (PasswordSource::Local, Some(h)) => {
            (true, format!("local: checked against the stored {} hash", h.split('$').nth(1).unwrap_or("?")))
        }
        (PasswordSource::Local, None) => (true, "local: no password set (keys, invitations, app passwords)".into()),
        (PasswordSource::Ldap, _) if ldap.is_configured() => {
            let tls = if ldap.starttls { " with StartTLS" } else { "" };
            (true, format!("ldap: a simple bind as {} at {}{tls}", ldap.bind_dn_for(&u.name), ldap.url))
        }
        (PasswordSource::Ldap, _) => (false, "ldap, but no [ldap] url is configured: password logins fail".into()),
    };
    Answer { what: "password".into(), allowed, reason }
}
