-- The country of a partner node (ISO 3166-1 alpha-2), as its operator
-- declared it when adding the peer; '' when not given. Residency markings
-- let an object reach partner nodes of its own country only.
ALTER TABLE peers ADD COLUMN country TEXT NOT NULL DEFAULT '';
