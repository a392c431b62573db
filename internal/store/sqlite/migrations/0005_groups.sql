-- Sharing groups: named sets of organisations and other groups that
-- distribution markings name by id.
--
-- Ids and names share one namespace, because a group is looked up by either;
-- the writer checks that across both columns, and the unique constraints
-- back it up within each.
CREATE TABLE groups (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL         -- ns
);

-- A group's direct members: 'org:ID' or 'group:ID'. member is not a foreign
-- key, as it names rows of two tables; the writer checks it exists. The
-- primary key serves walks down from a group (its members); the member
-- index serves walks up from an organisation or group (the groups holding
-- it).
CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	member   TEXT NOT NULL,
	PRIMARY KEY (group_id, member)
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members (member, group_id);
