-- gatehouse schema, version 2 (PostgreSQL): the rest of the user model (issue 9).
--
-- Stable ids. Every user and group has a UUID `id` (the text form, lowercase). The PRIMARY KEY
-- already makes it NOT NULL here; the default gives one to plain-SQL INSERTs that leave it out
-- (gen_random_uuid() is built in from PostgreSQL 13 on).
ALTER TABLE users ALTER COLUMN id SET DEFAULT gen_random_uuid()::text;
ALTER TABLE groups ALTER COLUMN id SET DEFAULT gen_random_uuid()::text;

-- App passwords: per-application secrets (`gatehouse apppass`), accepted where the user's
-- password is, limited to `protocols` (comma-separated; empty = every protocol the user has),
-- never asking for a TOTP code. `id` is the public part of the token (`ghap_<id>_<secret>`),
-- which selects the one hash to verify; `secret_hash` is argon2id of the secret part. Revoking
-- deletes the row (the audit log keeps the history).
CREATE TABLE app_passwords (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    protocols    TEXT NOT NULL DEFAULT '',
    expires_at   TEXT,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    UNIQUE (user_id, label)
);
