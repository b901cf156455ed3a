-- gatehouse schema: a login changes nothing a host's snapshot depends on.
--
-- The TOTP replay guard (the last accepted time step) moves from users to login_state, with the
-- other bookkeeping the daemon writes at each login. Before, every TOTP login updated its users
-- row, and the users trigger of 0003 made every host of the fleet re-export its NSS snapshot.
-- (SQLite's migration 0008 also adds the change counter SQLite hosts poll.)
ALTER TABLE login_state ADD COLUMN totp_last_step BIGINT;
INSERT INTO login_state (user_id, totp_last_step)
    SELECT id, totp_last_step FROM users WHERE totp_last_step IS NOT NULL
    ON CONFLICT (user_id) DO UPDATE SET totp_last_step = excluded.totp_last_step;
ALTER TABLE users DROP COLUMN totp_last_step;
