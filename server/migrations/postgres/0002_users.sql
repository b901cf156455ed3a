-- gatehouse schema, version 2 (PostgreSQL): the rest of the user model (issue 9).
--
-- Stable ids. Every user and group has a UUID `id` (the text form, lowercase). The PRIMARY KEY
-- already makes it NOT NULL here; the default gives one to plain-SQL INSERTs that leave it out
-- (gen_random_uuid() is built in from PostgreSQL 13 on).
ALTER TABLE users ALTER COLUMN id SET DEFAULT gen_random_uuid()::text;
ALTER TABLE groups ALTER COLUMN id SET DEFAULT gen_random_uuid()::text;
