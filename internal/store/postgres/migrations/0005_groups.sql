-- Sharing groups: named sets of organisations and other groups that
-- distribution markings name by id.
--
-- Ids and names share one namespace, because a group is looked up by either;
-- writers check that across both columns under an advisory lock, and the
-- unique constraints back it up within each.
CREATE TABLE groups (
    id          text        PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    created     timestamptz NOT NULL
);

-- A group's direct members: 'org:ID' or 'group:ID'. member is not a foreign
-- key, as it names rows of two tables; the writer checks it exists. The
-- primary key serves walks down from a group (its members); the member
-- index serves walks up from an organisation or group (the groups holding
-- it).
CREATE TABLE group_members (
    group_id text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member   text NOT NULL,
    PRIMARY KEY (group_id, member)
);
CREATE INDEX group_members_member ON group_members (member, group_id);
