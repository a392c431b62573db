-- Anonymous submission: an organisation may ask that others never see it as
-- the creator of what it submits. Its versions then keep, besides the body
-- as submitted, a released body naming the node as creator, which everyone
-- else is served.
ALTER TABLE orgs ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN released BLOB;

-- Node settings every instance must agree on (the default TLP).
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
