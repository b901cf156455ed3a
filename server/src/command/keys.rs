//! Keys and a user's path rules: `key add`, `rule add|del` (the lists are one store call each in
//! [`super::run`]).
use super::{CommandError, Input, KeysFrom, Output};
use crate::store::{RuleOwner, Store};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::rules::{Level, Rule};

type R = Result<Output, CommandError>;

/// `key add`: one line from the command, or the lines the front end read (blank lines and
/// `#` comments skipped). Every key is parsed before any is stored, so a bad line changes
/// nothing.
pub(super) async fn add(store: &Store, who: &str, user: &str, keys: KeysFrom, input: Input) -> R {
    let lines: Vec<String> = match keys {
        KeysFrom::Line(k) => vec![k],
        KeysFrom::File(_) => {
            let text = input.text.ok_or_else(|| CommandError::usage("give a key or --file"))?;
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
        }
    };
    let keys = lines.iter().map(|l| PublicKey::parse(l)).collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(CommandError::usage("no key found"));
    }
    Ok(Output::KeysAdded(store.add_keys(who, user, &keys).await?))
}

/// Sets a rule for a user or a group (`rule add`, `group rule add`).
pub(super) async fn add_rule(store: &Store, who: &str, owner: RuleOwner, name: &str, path: &str, level: Level) -> R {
    let r = Rule::new(path, level)?;
    store.add_rule(who, owner, name, &r).await?;
    let whose = match owner {
        RuleOwner::User => name.to_string(),
        RuleOwner::Group => format!("group {name}"),
    };
    Ok(Output::Done(format!("rule {} → {} set for {whose}", r.path, r.level)))
}

/// Deletes a rule of a user or a group (`rule del`, `group rule del`).
pub(super) async fn del_rule(store: &Store, who: &str, owner: RuleOwner, name: &str, path: &str) -> R {
    store.del_rule(who, owner, name, path).await?;
    let whose = match owner {
        RuleOwner::User => name.to_string(),
        RuleOwner::Group => format!("group {name}"),
    };
    Ok(Output::Done(format!("rule {path} deleted for {whose}")))
}
