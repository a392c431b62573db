-- An organisation may be anonymous towards partner nodes only: its
-- versions then keep a released body (naming the node as creator) that
-- partner nodes alone are served.
ALTER TABLE orgs ADD COLUMN anonymous_partners boolean NOT NULL DEFAULT false;
