-- Change notification for fleets (PostgreSQL only; SQLite hosts watch PRAGMA data_version).
-- Every statement that changes what a host serves (users, their keys and rules, groups, group
-- rules, memberships, invitations) sends one NOTIFY on channel `gatehouse_changed` with the
-- table's name as payload, whoever makes it: the CLI on any host, plain SQL, another tool.
-- Each gatehoused LISTENs and re-exports its snapshot within a second, coalescing bursts.
-- Statement-level triggers, so a 100,000-row import sends one notification per statement, not
-- per row, and PostgreSQL folds identical notifications of one transaction into one.
-- login_state is left out on purpose: every login on any host writes it, and no host's
-- snapshot depends on it (PAM reads it live; the offline cache picks it up at each refresh).
CREATE FUNCTION gatehouse_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gatehouse_changed', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER user_keys_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_keys
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER user_rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_rules
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER groups_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER group_rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_rules
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER memberships_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
CREATE TRIGGER invitations_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON invitations
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify();
