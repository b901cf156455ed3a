-- Host scoping for fleets: a user or group may be limited to named hosts. `hosts` is a
-- comma-separated list of host names (`[fleet] host` of the host) and host groups written
-- `@name` (`[fleet] host_groups`); empty means every host. A user with a list of their own is
-- served where it says; otherwise, if any of their groups has a list, where any of those says;
-- otherwise everywhere. Example: UPDATE users SET hosts = 'web1,@eu' WHERE name = 'alice';
ALTER TABLE users ADD COLUMN hosts TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN hosts TEXT NOT NULL DEFAULT '';
