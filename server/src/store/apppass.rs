//! App passwords (`app_passwords`): add, list, revoke, and the daemon's lookup by public id.
//!
//! The token format and why a login costs one hash are in [`gatehouse_policy::apppass`]. Only
//! the argon2id hash of the secret part is stored; the token is returned once, by
//! [`Store::add_app_password`].
use super::rows::time_text;
use super::users::load_one;
use super::{audit, now, Result, Store, StoreError};
use gatehouse_policy::apppass;
use gatehouse_policy::model::{format_time, parse_protocols, parse_time, validate_protocol};
use gatehouse_policy::password::hash_password;
use gatehouse_policy::secret::Secret;
use sqlx::any::AnyRow;
use sqlx::Row;

/// An app password as `apppass list` shows it (never the secret or its hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppPassword {
    /// The operator's name for it, unique per user.
    pub label: String,
    /// The public part of the token (`ghap_<id>_…`), to recognise it in logs and lists.
    pub id: String,
    /// Protocols it may be used for; empty = every protocol the user has.
    pub protocols: Vec<String>,
    /// Unix seconds after which it no longer works.
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last successful login with it.
    pub last_used_at: Option<i64>,
}

/// What the daemon needs to check a presented app password.
#[derive(Debug, Clone)]
pub struct StoredAppPassword {
    /// The record, for the protocol and expiry checks and the log line.
    pub info: AppPassword,
    /// argon2id of the secret part.
    pub secret_hash: String,
}

const COLS: &str = "id, label, secret_hash, protocols, expires_at, created_at, last_used_at";

fn from_row(row: &AnyRow, user: &str) -> Result<StoredAppPassword> {
    let corrupt = |col: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("app password of user {user:?}, column {col}: {e}"))
    };
    let time = |col: &'static str| -> Result<Option<i64>> {
        let v: Option<String> = row.try_get(col)?;
        v.map(|s| parse_time(col, &s).map_err(|e| corrupt(col, &e))).transpose()
    };
    let protocols: String = row.try_get("protocols")?;
    Ok(StoredAppPassword {
        info: AppPassword {
            label: row.try_get("label")?,
            id: row.try_get("id")?,
            protocols: parse_protocols(&protocols).map_err(|e| corrupt("protocols", &e))?,
            expires_at: time("expires_at")?,
            created_at: time("created_at")?.unwrap_or(0),
            last_used_at: time("last_used_at")?,
        },
        secret_hash: row.try_get("secret_hash")?,
    })
}

impl Store {
    /// Creates an app password for a user and returns it with the token, which is shown once.
    /// `protocols` empty means every protocol the user has; an expiry must lie in the future.
    pub async fn add_app_password(
        &self,
        actor: &str,
        name_or_id: &str,
        label: &str,
        protocols: Vec<String>,
        expires_at: Option<i64>,
    ) -> Result<(AppPassword, Secret)> {
        apppass::validate_label(label)?;
        for p in &protocols {
            validate_protocol(p)?;
        }
        let at = now();
        if let Some(t) = expires_at.filter(|&t| t <= at) {
            return Err(StoreError::Refused(format!("--expires {} is not in the future", format_time(t))));
        }
        let (id, token) = apppass::generate()?;
        let (_, secret) = apppass::parse(&token)
            .ok_or_else(|| StoreError::Refused("generated an app password of the wrong shape".into()))?;
        let hash = hash_password(&secret)?;
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        let dup = sqlx::query("SELECT 1 FROM app_passwords WHERE user_id = $1 AND label = $2")
            .bind(&user.id)
            .bind(label)
            .fetch_optional(&mut *tx)
            .await?;
        if dup.is_some() {
            return Err(StoreError::Exists { kind: "app password", name: format!("{label} (of user {})", user.name) });
        }
        sqlx::query(
            "INSERT INTO app_passwords (id, user_id, label, secret_hash, protocols, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&user.id)
        .bind(label)
        .bind(hash)
        .bind(protocols.join(","))
        .bind(time_text(expires_at))
        .bind(format_time(at))
        .execute(&mut *tx)
        .await?;
        let scope = if protocols.is_empty() { "all protocols".to_string() } else { protocols.join(",") };
        audit(&mut tx, actor, "apppass.add", &user.name, &format!("label {label:?} (ghap_{id}), {scope}")).await?;
        tx.commit().await?;
        let info =
            AppPassword { label: label.to_string(), id, protocols, expires_at, created_at: at, last_used_at: None };
        Ok((info, token))
    }

    /// A user's app passwords, by label.
    pub async fn list_app_passwords(&self, name_or_id: &str) -> Result<Vec<AppPassword>> {
        let mut conn = self.pool.acquire().await?;
        let user = load_one(&mut conn, name_or_id).await?;
        let sql = format!("SELECT {COLS} FROM app_passwords WHERE user_id = $1 ORDER BY label");
        let rows = sqlx::query(&sql).bind(&user.id).fetch_all(&mut *conn).await?;
        rows.iter().map(|r| from_row(r, &user.name).map(|s| s.info)).collect()
    }

    /// Revokes (deletes) a user's app password by label; it stops working at once.
    pub async fn revoke_app_password(&self, actor: &str, name_or_id: &str, label: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        let n = sqlx::query("DELETE FROM app_passwords WHERE user_id = $1 AND label = $2")
            .bind(&user.id)
            .bind(label)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Missing(format!("user {} has no app password labelled {label:?}", user.name)));
        }
        audit(&mut tx, actor, "apppass.revoke", &user.name, &format!("label {label:?}")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The app password with this public id, if it belongs to this user (the daemon's lookup:
    /// at most one row, so at most one hash to verify).
    pub async fn app_password_for(
        &self,
        user_id: &str,
        user: &str,
        public_id: &str,
    ) -> Result<Option<StoredAppPassword>> {
        let sql = format!("SELECT {COLS} FROM app_passwords WHERE id = $1 AND user_id = $2");
        let row = sqlx::query(&sql).bind(public_id).bind(user_id).fetch_optional(&self.pool).await?;
        row.map(|r| from_row(&r, user)).transpose()
    }

    /// Records a successful login with an app password.
    pub async fn app_password_used(&self, public_id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE app_passwords SET last_used_at = $2 WHERE id = $1")
            .bind(public_id)
            .bind(format_time(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
