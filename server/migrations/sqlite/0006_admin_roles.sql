-- gatehouse schema, version 4: delegated administration (issue 9).
--
-- One row per admin role. A role belongs either to a local Unix account or group (`principal`:
-- `alice`, or `%staff` for every member of the Unix group staff) or to a gatehouse user whose
-- `users.admin` flag is set (`user_id`), never both. `group_id` is the gatehouse group the role
-- manages; NULL means every user (a full admin). A role goes with its group or user (ON DELETE
-- CASCADE): a group admin whose group is deleted is left with no rights, never with more.
CREATE TABLE admin_roles (
    principal  TEXT,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id   TEXT REFERENCES groups (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    CHECK ((principal IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX admin_roles_unique ON admin_roles (COALESCE(principal, ''), COALESCE(user_id, ''), COALESCE(group_id, ''));
