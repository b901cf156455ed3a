//! Admin roles: `admin grant|revoke` (`admin list` is one store call in [`super::run`]).
use super::{CommandError, Output};
use crate::store::Store;

type R = Result<Output, CommandError>;

/// `admin grant`.
pub(super) async fn grant(store: &Store, who: &str, principal: &str, group: Option<&str>) -> R {
    Ok(Output::Granted(store.grant_admin(who, principal, group).await?))
}

/// `admin revoke`.
pub(super) async fn revoke(store: &Store, who: &str, principal: &str, group: Option<String>) -> R {
    store.revoke_admin(who, principal, group.as_deref()).await?;
    Ok(Output::Done(format!(
        "revoked the role of {principal} for {}",
        group.map_or("every user".into(), |g| format!("group {g}"))
    )))
}
