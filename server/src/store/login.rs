//! Login bookkeeping in `login_state`: failures, lockout, last login. Written by gatehoused.
//!
//! The table is kept apart from `users` so logins never touch the user record (no `updated_at`
//! churn, no audit line per login). Every statement is an `INSERT … ON CONFLICT (user_id) DO
//! UPDATE`, so a user without a row yet needs no special case, and each call is one short
//! transaction (the upsert takes the row's lock first, so concurrent failures count correctly).
//! Times are the schema's text form; they compare correctly as strings.
use super::{audit, now, Result, Store};
use gatehouse_policy::model::format_time;
use sqlx::Row;

/// What a failed login did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Failures counted in the current window, this one included.
    pub failures: u32,
    /// Set when this failure locked the account: the lock lasts until then (Unix seconds).
    pub locked_until: Option<i64>,
}

impl Store {
    /// Counts a failed password for a user. Failures older than `window` seconds start a new
    /// count; the `failures`-th within the window locks the account for `lock_for` seconds and
    /// starts a new count (so one more failure after the lock does not re-lock at once).
    /// `failures == 0` counts but never locks.
    pub async fn record_failure(
        &self,
        user_id: &str,
        at: i64,
        window: u64,
        failures: u32,
        lock_for: u64,
    ) -> Result<FailureOutcome> {
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        let lock_for = i64::try_from(lock_for).unwrap_or(i64::MAX);
        let now_text = format_time(at);
        let window_start = format_time(at.saturating_sub(window));
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO login_state (user_id, failed_logins, first_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET \
               failed_logins = CASE WHEN login_state.first_failure_at IS NULL OR login_state.first_failure_at < $3 \
                               THEN 1 ELSE login_state.failed_logins + 1 END, \
               first_failure_at = CASE WHEN login_state.first_failure_at IS NULL OR login_state.first_failure_at < $3 \
                               THEN $2 ELSE login_state.first_failure_at END \
             RETURNING failed_logins",
        )
        .bind(user_id)
        .bind(&now_text)
        .bind(&window_start)
        .fetch_one(&mut *tx)
        .await?;
        let count: i64 = row.try_get(0)?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let mut locked_until = None;
        if failures > 0 && count >= failures {
            let until = at.saturating_add(lock_for);
            sqlx::query("UPDATE login_state SET locked_until = $2, first_failure_at = NULL WHERE user_id = $1")
                .bind(user_id)
                .bind(format_time(until))
                .execute(&mut *tx)
                .await?;
            locked_until = Some(until);
        }
        tx.commit().await?;
        Ok(FailureOutcome { failures: count, locked_until })
    }

    /// Forgets failures after a correct password (the lock, if any, has expired or the caller
    /// would not have checked the password).
    pub async fn clear_failures(&self, user_id: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_state (user_id, failed_logins) VALUES ($1, 0) \
             ON CONFLICT (user_id) DO UPDATE SET failed_logins = 0, first_failure_at = NULL, locked_until = NULL",
        )
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a granted login: time and client address; failures are forgotten.
    pub async fn record_success(&self, user_id: &str, at: i64, ip: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_state (user_id, last_login_at, last_login_ip, failed_logins) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (user_id) DO UPDATE SET last_login_at = $2, last_login_ip = $3, failed_logins = 0, \
               first_failure_at = NULL, locked_until = NULL",
        )
        .bind(user_id)
        .bind(format_time(at))
        .bind(ip.map(str::to_owned))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `gatehouse unlock NAME`: clears the lock and the failure count, with an audit record.
    pub async fn unlock(&self, actor: &str, name_or_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let user = super::users::load_one(&mut tx, name_or_id).await?;
        sqlx::query(
            "INSERT INTO login_state (user_id, failed_logins) VALUES ($1, 0) \
             ON CONFLICT (user_id) DO UPDATE SET failed_logins = 0, first_failure_at = NULL, locked_until = NULL",
        )
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
        let detail = match user.locked_until {
            Some(t) if t > now() => format!("was locked until {}", format_time(t)),
            _ => "was not locked".to_string(),
        };
        audit(&mut tx, actor, "user.unlock", &user.name, &detail).await?;
        tx.commit().await?;
        Ok(())
    }
}
