-- gatehouse schema, version 1 (SQLite). This schema is a public interface: ops may edit it with
-- plain SQL. Conventions shared with the PostgreSQL schema so the same statements work on both:
--   * booleans are INTEGER 0/1;
--   * times are TEXT 'YYYY-MM-DDTHH:MM:SSZ' (UTC; 'YYYY-MM-DD' is accepted on input);
--   * lists (IPs, protocols) are comma-separated TEXT.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- next_id: the uid/gid high-water mark; ids are never reused.
INSERT INTO meta (key, value) VALUES ('next_id', '0');

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    uid                  INTEGER NOT NULL UNIQUE,
    gid                  INTEGER NOT NULL,
    display_name         TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    locale               TEXT NOT NULL DEFAULT '',
    time_zone            TEXT NOT NULL DEFAULT '',
    password_hash        TEXT,
    password_source      TEXT NOT NULL DEFAULT 'local' CHECK (password_source IN ('local', 'ldap')),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    root                 TEXT NOT NULL,
    mode                 TEXT NOT NULL DEFAULT 'rw' CHECK (mode IN ('r', 'rw')),
    delete_allowed       INTEGER NOT NULL DEFAULT 1 CHECK (delete_allowed IN (0, 1)),
    allowed_ips          TEXT NOT NULL DEFAULT '',
    denied_ips           TEXT NOT NULL DEFAULT '',
    protocols            TEXT NOT NULL DEFAULT 'ftp,ssh',
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    expires_at           TEXT,
    max_file_size        INTEGER CHECK (max_file_size IS NULL OR max_file_size > 0),
    admin                INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    totp_secret          TEXT,
    totp_last_step       INTEGER,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE user_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    algorithm   TEXT NOT NULL,
    base64      TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (user_id, fingerprint)
);
CREATE INDEX user_keys_fingerprint ON user_keys (fingerprint);

CREATE TABLE user_rules (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    level   TEXT NOT NULL CHECK (level IN ('none', 'list', 'read', 'upload', 'write')),
    PRIMARY KEY (user_id, path)
);

CREATE TABLE groups (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    gid          INTEGER NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    allowed_ips  TEXT NOT NULL DEFAULT '',
    denied_ips   TEXT NOT NULL DEFAULT '',
    protocols    TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE group_rules (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    path     TEXT NOT NULL,
    level    TEXT NOT NULL CHECK (level IN ('none', 'list', 'read', 'upload', 'write')),
    PRIMARY KEY (group_id, path)
);

CREATE TABLE memberships (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX memberships_group ON memberships (group_id);

-- Written by the daemon at each login; kept apart from users so logins do not change the record.
CREATE TABLE login_state (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_login_at TEXT,
    last_login_ip TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    first_failure_at TEXT,
    locked_until  TEXT
);

CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
