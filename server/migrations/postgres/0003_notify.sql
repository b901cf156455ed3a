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

DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'user_keys', 'user_rules', 'groups', 'group_rules', 'memberships', 'invitations'] LOOP
        -- Creates e.g. users_notify: AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users.
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify()', t || '_notify', t);
    END LOOP;
END;
$$;
