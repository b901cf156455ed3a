//! Groups: `group add|set` (the rest are one store call each in [`super::run`]; group rules
//! share the user rules' code in [`super::keys`]).
use super::{CommandError, GroupAdd, GroupSet, Output};
use crate::store::{NewGroup, Store};

type R = Result<Output, CommandError>;

/// `group add`.
pub(super) async fn add(store: &Store, who: &str, a: GroupAdd) -> R {
    let GroupAdd { name, description, allowed_ips, denied_ips, protocols, hosts } = a;
    let g = NewGroup { name, description, allowed_ips, denied_ips, protocols, hosts };
    Ok(Output::GroupAdded(store.add_group(who, g).await?))
}

/// `group set`.
pub(super) async fn set(store: &Store, who: &str, s: GroupSet) -> R {
    let GroupSet { name, changes: ch } = s;
    // As before this layer: a change of `hosts` alone is not taken as a change.
    if ch.name.is_none()
        && ch.description.is_none()
        && ch.allowed_ips.is_none()
        && ch.denied_ips.is_none()
        && ch.protocols.is_none()
    {
        return Err(CommandError::usage(
            "nothing to change: give at least one option (see gatehouse group set --help)",
        ));
    }
    let g = store.update_group(who, &name, ch).await?;
    Ok(Output::Done(format!("updated group {}", g.name)))
}
