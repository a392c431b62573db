-- Anonymous submission: an organisation may ask that others never see it as
-- the creator of what it submits. Its versions then keep, besides the body
-- as submitted, a released body naming the node as creator, which everyone
-- else is served.
ALTER TABLE orgs ADD COLUMN anonymous boolean NOT NULL DEFAULT false;
ALTER TABLE versions ADD COLUMN released bytea;

-- Node settings every instance must agree on (the default TLP).
CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
