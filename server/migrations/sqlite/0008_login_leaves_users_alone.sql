-- gatehouse schema: a login changes nothing a host's snapshot depends on.
--
-- 1. The TOTP replay guard (the last accepted time step) moves from users to login_state, with
--    the other bookkeeping the daemon writes at each login. Before, every TOTP login updated its
--    users row, which made every host re-export its whole NSS snapshot.
-- 2. A change counter for SQLite hosts (PostgreSQL hosts have the NOTIFY triggers of 0003):
--    `changes.n` grows with every row inserted, updated or deleted, by anyone (the CLI, plain
--    SQL, another tool), in the tables a host serves from: the same tables as PostgreSQL's
--    triggers. gatehoused polls it instead of `PRAGMA data_version`, which also moved on every
--    login (login_state), so each login cost a full export. login_state, app_passwords (their
--    last-use time), audit_log and meta are left out on purpose.
ALTER TABLE login_state ADD COLUMN totp_last_step INTEGER;
INSERT INTO login_state (user_id, totp_last_step)
    SELECT id, totp_last_step FROM users WHERE totp_last_step IS NOT NULL
    ON CONFLICT (user_id) DO UPDATE SET totp_last_step = excluded.totp_last_step;
ALTER TABLE users DROP COLUMN totp_last_step;

CREATE TABLE changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO changes (id, n) VALUES (1, 0);
CREATE TRIGGER users_insert_counted AFTER INSERT ON users BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_counted AFTER UPDATE ON users BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_counted AFTER DELETE ON users BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_keys_insert_counted AFTER INSERT ON user_keys BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_keys_update_counted AFTER UPDATE ON user_keys BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_keys_delete_counted AFTER DELETE ON user_keys BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_rules_insert_counted AFTER INSERT ON user_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_rules_update_counted AFTER UPDATE ON user_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_rules_delete_counted AFTER DELETE ON user_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER groups_insert_counted AFTER INSERT ON groups BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER groups_update_counted AFTER UPDATE ON groups BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER groups_delete_counted AFTER DELETE ON groups BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER group_rules_insert_counted AFTER INSERT ON group_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER group_rules_update_counted AFTER UPDATE ON group_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER group_rules_delete_counted AFTER DELETE ON group_rules BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_insert_counted AFTER INSERT ON memberships BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_update_counted AFTER UPDATE ON memberships BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER memberships_delete_counted AFTER DELETE ON memberships BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER invitations_insert_counted AFTER INSERT ON invitations BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER invitations_update_counted AFTER UPDATE ON invitations BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER invitations_delete_counted AFTER DELETE ON invitations BEGIN UPDATE changes SET n = n + 1 WHERE id = 1; END;
