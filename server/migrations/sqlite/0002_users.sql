-- gatehouse schema, version 2 (SQLite): the rest of the user model (issue 9).
--
-- Stable ids. Every user and group has a UUID `id` (the text form, lowercase). Version 1 already
-- had the column, but SQLite lets a TEXT PRIMARY KEY be NULL, so a row added with plain SQL
-- without an id had none. Such rows get a random (version 4) UUID here, and the triggers give one
-- to every later plain-SQL INSERT that leaves `id` out. SQLite has no uuid function, so the
-- value is made from randomblob(): 122 random bits, the version nibble 4, the variant bits 10.
UPDATE users SET id = lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)), substr(hex(randomblob(2)), 2), substr('89AB', 1 + abs(random() % 4), 1), substr(hex(randomblob(2)), 2), hex(randomblob(6))))
WHERE id IS NULL;
UPDATE groups SET id = lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)), substr(hex(randomblob(2)), 2), substr('89AB', 1 + abs(random() % 4), 1), substr(hex(randomblob(2)), 2), hex(randomblob(6))))
WHERE id IS NULL;

CREATE TRIGGER users_default_id AFTER INSERT ON users WHEN NEW.id IS NULL
BEGIN
    UPDATE users SET id = lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)), substr(hex(randomblob(2)), 2), substr('89AB', 1 + abs(random() % 4), 1), substr(hex(randomblob(2)), 2), hex(randomblob(6))))
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER groups_default_id AFTER INSERT ON groups WHEN NEW.id IS NULL
BEGIN
    UPDATE groups SET id = lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)), substr(hex(randomblob(2)), 2), substr('89AB', 1 + abs(random() % 4), 1), substr(hex(randomblob(2)), 2), hex(randomblob(6))))
    WHERE rowid = NEW.rowid;
END;

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
