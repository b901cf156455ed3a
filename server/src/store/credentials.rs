//! Second factors and one-time codes: TOTP secrets (`users.totp_secret`, with the replay guard in
//! `login_state.totp_last_step`) and invitations (`invitations`).
//!
//! **TOTP.** The secret is stored as base32 text: the daemon must compute codes from it, so it
//! cannot be hashed; the database is 0600 and the secret never appears in [`User`], JSON or the
//! export (only `totp_enabled`). The replay guard is one conditional upsert of
//! `login_state.totp_last_step` ([`Store::totp_accept_step`]): of two logins presenting the same
//! code, or an older code after a newer one, exactly one wins, on SQLite and PostgreSQL alike. It
//! lives in `login_state`, not `users`, so a login changes nothing a host's snapshot depends on
//! (no re-export on either backend).
//!
//! **Invitations.** `gatehouse invite` stores an argon2id hash of a fresh code with an expiry and
//! sets `must_change_password`; a new invitation replaces the user's earlier unused ones, so
//! checking a typed code costs at most one hash. Redeeming marks `used_at` with a conditional
//! `UPDATE`, so a code works once even when two logins race.
use super::users::load_one;
use super::{audit, b, now, Result, Store, StoreError};
use gatehouse_policy::model::{format_time, User};
use gatehouse_policy::password::{hash_password, verify_password};
use gatehouse_policy::secret::Secret;
use gatehouse_policy::{invite, totp};
use sqlx::Row;

/// A new invitation, as `gatehouse invite` prints it.
#[derive(Debug)]
pub struct Invitation {
    /// The user it is for.
    pub user: String,
    /// The code, grouped with dashes (shown once; only its hash is stored).
    pub code: Secret,
    /// Unix seconds after which the code no longer works.
    pub expires_at: i64,
}

/// An unused, unexpired invitation's row id and hash (for the daemon to verify off the async
/// threads).
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    /// `invitations.id`.
    pub id: String,
    /// argon2id of the normalised code.
    pub code_hash: String,
}

impl Store {
    /// Gives a user a new TOTP secret and returns it (shown to the operator once). Refused if
    /// one is set already, unless `replace` (a lost phone). The replay counter starts afresh.
    pub async fn totp_enable(&self, actor: &str, name_or_id: &str, replace: bool) -> Result<(User, Secret)> {
        let secret = Secret::new(totp::generate_secret()?);
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        if user.totp_enabled && !replace {
            return Err(StoreError::Refused(format!(
                "{} already has TOTP enabled; `gatehouse totp enable {} --replace` issues a new secret",
                user.name, user.name
            )));
        }
        sqlx::query("UPDATE users SET totp_secret = $2, updated_at = $3 WHERE id = $1")
            .bind(&user.id)
            .bind(secret.expose().to_string())
            .bind(format_time(now()))
            .execute(&mut *tx)
            .await?;
        forget_totp_step(&mut tx, &user.id).await?;
        let detail = if user.totp_enabled { "secret replaced" } else { "" };
        audit(&mut tx, actor, "totp.enable", &user.name, detail).await?;
        let user = load_one(&mut tx, &user.id).await?;
        tx.commit().await?;
        Ok((user, secret))
    }

    /// Removes a user's TOTP secret. Refused if none is set.
    pub async fn totp_disable(&self, actor: &str, name_or_id: &str) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        if !user.totp_enabled {
            return Err(StoreError::Missing(format!("{} does not have TOTP enabled", user.name)));
        }
        sqlx::query("UPDATE users SET totp_secret = NULL, updated_at = $2 WHERE id = $1")
            .bind(&user.id)
            .bind(format_time(now()))
            .execute(&mut *tx)
            .await?;
        forget_totp_step(&mut tx, &user.id).await?;
        audit(&mut tx, actor, "totp.disable", &user.name, "").await?;
        let user = load_one(&mut tx, &user.id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// A user's TOTP secret (base32) and the last step accepted, or `None` without TOTP.
    pub async fn totp_secret_of(&self, user_id: &str) -> Result<Option<(Secret, Option<i64>)>> {
        let row = sqlx::query(
            "SELECT u.totp_secret, l.totp_last_step FROM users u LEFT JOIN login_state l ON l.user_id = u.id \
             WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound { kind: "user", name: user_id.to_string() });
        };
        let secret: Option<String> = row.try_get("totp_secret")?;
        let last: Option<i64> = row.try_get("totp_last_step")?;
        Ok(secret.map(|s| (Secret::new(s), last)))
    }

    /// The replay guard: records `step` as the last accepted one if it is later than the one
    /// stored. False means this code (or a later one) was already used: refuse the login.
    pub async fn totp_accept_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO login_state (user_id, failed_logins, totp_last_step) \
             SELECT id, 0, $2 FROM users WHERE id = $1 AND totp_secret IS NOT NULL \
             ON CONFLICT (user_id) DO UPDATE SET totp_last_step = excluded.totp_last_step \
             WHERE login_state.totp_last_step IS NULL OR login_state.totp_last_step < excluded.totp_last_step",
        )
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Issues a one-time code valid for `ttl` seconds: stores its argon2id hash, replaces the
    /// user's earlier unused invitations, and sets `must_change_password`. The code is returned
    /// once.
    pub async fn invite(&self, actor: &str, name_or_id: &str, ttl: u64) -> Result<Invitation> {
        self.invite_and(actor, name_or_id, ttl, &|_, _| Ok(())).await
    }

    /// [`Store::invite`], handing the invitation to `deliver` (e.g. a mailer) before it is
    /// committed: when `deliver` fails, nothing is stored and the user's earlier invitation
    /// stands (the error is [`StoreError::Refused`] with `deliver`'s message).
    pub async fn invite_and(
        &self,
        actor: &str,
        name_or_id: &str,
        ttl: u64,
        deliver: &(dyn Fn(&gatehouse_policy::model::User, &Invitation) -> std::result::Result<(), String> + Sync),
    ) -> Result<Invitation> {
        let code = invite::generate()?;
        let normal = invite::normalize(&code)
            .ok_or_else(|| StoreError::Refused("generated an invitation code outside the alphabet".into()))?;
        let hash = hash_password(&normal)?;
        let at = now();
        let expires_at = at.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX / 2));
        let mut tx = self.begin_write().await?;
        let user = load_one(&mut tx, name_or_id).await?;
        if user.password_source == gatehouse_policy::model::PasswordSource::Ldap {
            return Err(super::users::ldap_has_no_local_password(&user.name));
        }
        let replaced = sqlx::query("DELETE FROM invitations WHERE user_id = $1 AND used_at IS NULL")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO invitations (id, user_id, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&user.id)
        .bind(hash)
        .bind(format_time(expires_at))
        .bind(format_time(at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET must_change_password = $2, updated_at = $3 WHERE id = $1")
            .bind(&user.id)
            .bind(b(true))
            .bind(format_time(at))
            .execute(&mut *tx)
            .await?;
        let mut detail = format!("expires {}", format_time(expires_at));
        if replaced > 0 {
            detail.push_str(&format!("; replaced {replaced} unused invitation(s)"));
        }
        audit(&mut tx, actor, "user.invite", &user.name, &detail).await?;
        let inv = Invitation { user: user.name.clone(), code, expires_at };
        // Dropping `tx` on failure rolls everything back.
        deliver(&user, &inv).map_err(StoreError::Refused)?;
        tx.commit().await?;
        Ok(inv)
    }

    /// The user's invitations that are neither used nor expired at `at` (at most one, unless
    /// rows were added with plain SQL).
    pub async fn open_invitations(&self, user_id: &str, at: i64) -> Result<Vec<OpenInvitation>> {
        let rows = sqlx::query(
            "SELECT id, code_hash FROM invitations WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(format_time(at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(OpenInvitation { id: r.try_get("id")?, code_hash: r.try_get("code_hash")? })).collect()
    }

    /// Marks an invitation used at `at`. False if it was used meanwhile (a race: refuse).
    pub async fn mark_invitation_used(&self, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE invitations SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(id)
            .bind(format_time(at))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Checks a typed code against the user's open invitations and marks the matching one used.
    /// True exactly once per code. Hashes on a blocking thread; the daemon uses
    /// [`Store::open_invitations`] and [`Store::mark_invitation_used`] itself, under its hashing
    /// limit.
    pub async fn redeem_invitation(&self, user_id: &str, typed: &Secret, at: i64) -> Result<bool> {
        let Some(code) = invite::normalize(typed) else {
            return Ok(false);
        };
        for inv in self.open_invitations(user_id, at).await? {
            let (c, h) = (code.clone(), inv.code_hash.clone());
            let ok = tokio::task::spawn_blocking(move || verify_password(&c, &h).map(|v| v.ok).unwrap_or(false))
                .await
                .map_err(|e| StoreError::Io(format!("hashing task failed: {e}")))?;
            if ok {
                return self.mark_invitation_used(&inv.id, at).await;
            }
        }
        Ok(false)
    }
}

/// Starts the replay guard afresh (a new or removed secret): the next code of the new secret is
/// accepted whatever step the old one reached.
async fn forget_totp_step(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<()> {
    sqlx::query("UPDATE login_state SET totp_last_step = NULL WHERE user_id = $1").bind(user_id).execute(conn).await?;
    Ok(())
}
