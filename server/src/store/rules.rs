//! Path rules of users and of groups: one pair of functions for both owners.
use super::groups::load_one_group;
use super::users::{load_one, touch};
use super::{audit, Result, Store, StoreError};
use gatehouse_policy::rules::Rule;

/// Whose rules: a user's own, or a group's (which apply to every member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOwner {
    /// Table `user_rules`.
    User,
    /// Table `group_rules`.
    Group,
}

impl RuleOwner {
    /// (rules table, owner column, owner table, word for messages, audit prefix, listing command)
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        match self {
            RuleOwner::User => ("user_rules", "user_id", "users", "user", "rule", "gatehouse rule list"),
            RuleOwner::Group => {
                ("group_rules", "group_id", "groups", "group", "group.rule", "gatehouse group rule list")
            }
        }
    }
}

/// Finds the owner's (id, name).
async fn owner(tx: &mut sqlx::AnyConnection, who: RuleOwner, name_or_id: &str) -> Result<(String, String)> {
    Ok(match who {
        RuleOwner::User => {
            let u = load_one(tx, name_or_id).await?;
            (u.id, u.name)
        }
        RuleOwner::Group => {
            let g = load_one_group(tx, name_or_id).await?;
            (g.id, g.name)
        }
    })
}

/// Inserts or replaces one rule inside the caller's transaction.
async fn upsert_rule(tx: &mut sqlx::AnyConnection, who: RuleOwner, owner_id: &str, r: &Rule) -> Result<()> {
    let (table, col, ..) = who.names();
    let sql = format!(
        "INSERT INTO {table} ({col}, path, level) VALUES ($1, $2, $3) ON CONFLICT ({col}, path) DO UPDATE SET level = excluded.level"
    );
    sqlx::query(&sql).bind(owner_id).bind(&r.path).bind(r.level.to_string()).execute(&mut *tx).await?;
    Ok(())
}

impl Store {
    /// Adds or replaces the rule for one path of a user or group.
    pub async fn add_rule(&self, actor: &str, who: RuleOwner, name_or_id: &str, rule: &Rule) -> Result<()> {
        let (_, _, owner_table, _, prefix, _) = who.names();
        let mut tx = self.begin_write().await?;
        let (id, name) = owner(&mut tx, who, name_or_id).await?;
        upsert_rule(&mut tx, who, &id, rule).await?;
        touch(&mut tx, owner_table, &id).await?;
        audit(&mut tx, actor, &format!("{prefix}.add"), &name, &format!("{} {}", rule.path, rule.level)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the rule for one path of a user or group.
    pub async fn del_rule(&self, actor: &str, who: RuleOwner, name_or_id: &str, path: &str) -> Result<()> {
        let (table, col, owner_table, word, prefix, list) = who.names();
        let mut tx = self.begin_write().await?;
        let (id, name) = owner(&mut tx, who, name_or_id).await?;
        let sql = format!("DELETE FROM {table} WHERE {col} = $1 AND path = $2");
        let n = sqlx::query(&sql).bind(&id).bind(path).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Missing(format!("{word} {name} has no rule for {path:?} (see {list} {name})")));
        }
        touch(&mut tx, owner_table, &id).await?;
        audit(&mut tx, actor, &format!("{prefix}.del"), &name, path).await?;
        tx.commit().await?;
        Ok(())
    }
}
