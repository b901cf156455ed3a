//! Users: `user add|set|list|del` (show is one store call in [`super::run`]).
use super::{credentials, Actor, AdminChange, CommandError, Files, Input, Output, UserAdd, UserList, UserSet};
use crate::store::{NewUser, Store, UserQuery};

type R = Result<Output, CommandError>;

/// `user add`: the password (if one came in) is checked against the policy and hashed here.
pub(super) async fn add(store: &Store, who: &str, a: UserAdd, input: Input) -> R {
    let UserAdd {
        name,
        password_stdin,
        active,
        uid,
        display_name,
        email,
        locale,
        time_zone,
        root,
        mode,
        delete_allowed,
        allowed_ips,
        denied_ips,
        protocols,
        groups,
        hosts,
        expires_at,
        max_file_size,
        password_source,
    } = a;
    gatehouse_policy::model::validate_name("name", &name)?;
    let password_hash = if password_stdin {
        let pw = credentials::password(input)?;
        Some(credentials::hash_checked(store, &name, &pw)?)
    } else {
        None
    };
    let nu = NewUser {
        uid,
        display_name,
        email,
        locale,
        time_zone,
        password_hash,
        root,
        mode,
        delete_allowed: Some(delete_allowed),
        allowed_ips,
        denied_ips,
        protocols,
        groups,
        hosts,
        active: Some(active),
        expires_at,
        max_file_size,
        password_source,
        name,
        ..NewUser::default()
    };
    Ok(Output::UserAdded(store.add_user(who, nu).await?))
}

/// `user set`: the fields given change; a rename keeps the id, uid and root.
pub(super) async fn set(store: &Store, who: &str, s: UserSet) -> R {
    let UserSet { name, changes: ch, admin } = s;
    if ch.is_empty() && admin.is_none() {
        return Err(CommandError::usage("nothing to change: give at least one option (see gatehouse user set --help)"));
    }
    let before = store.get_user(&name).await?;
    let user = if ch.is_empty() { before.clone() } else { store.update_user(who, &before.id, ch).await? };
    match admin {
        Some(AdminChange::Grant(groups)) => store.set_user_admin(who, &user.id, Some(&groups)).await?,
        Some(AdminChange::Revoke) => store.set_user_admin(who, &user.id, None).await?,
        None => {}
    }
    Ok(Output::UserUpdated { before: before.name, user })
}

/// `user list`.
pub(super) async fn list(store: &Store, l: UserList) -> R {
    let UserList { filter, inactive, expired, locked, group, limit, after } = l;
    let mut q = UserQuery::default();
    (q.inactive, q.expired, q.locked, q.group, q.after) = (inactive, expired, locked, group, after);
    (q.limit, q.now) = (limit.map(i64::from), crate::store::now());
    for f in &filter {
        q.filter(f)?;
    }
    Ok(Output::Users(store.find_users(&q).await?))
}

/// `user del`: with `remove_files`, the root is checked before anything changes (the rules
/// gatehouse-tasks applies), then removed the way the actor's front end removes roots.
pub(super) async fn delete(store: &Store, actor: &Actor<'_>, name: &str, remove_files: bool) -> R {
    let u = store.get_user(name).await?;
    if remove_files {
        let sharers = store.users_sharing_root(&u.root, &u.id).await?;
        gatehouse_tasks::check_remove(store.config(), &u.root, &sharers, u.uid)
            .map_err(|e| CommandError::Policy(format!("{e}; refusing --remove-files (nothing was changed)")))?;
    }
    let user = store.delete_user(&actor.name, &u.id).await?;
    let files = if remove_files {
        match actor.roots.remove_root(store, &user.root, user.uid) {
            Ok(gatehouse_tasks::Removed::Removed) => Files::Removed,
            Ok(gatehouse_tasks::Removed::Absent) => Files::Absent,
            Err(e) => {
                return Err(CommandError::Io(format!(
                    "deleted user {}, but removing {} failed: {e}",
                    user.name, user.root
                )))
            }
        }
    } else {
        Files::Kept
    };
    Ok(Output::UserDeleted { user, files })
}
