-- An organisation's STIX identity id, fixed when it is created, so that
-- organisations of the same id on two nodes are two identities. Existing
-- organisations keep '' and with it the id derived from their id alone,
-- which their stored objects already name.
ALTER TABLE orgs ADD COLUMN identity text NOT NULL DEFAULT '';
