-- Relationship versions by the objects they join, for indexes that follow
-- relationships (the detection engine's indicates and mitigates) without
-- reading every relationship. The write path records new versions; those
-- stored before are recorded here.
CREATE TABLE relations (
	id      TEXT    NOT NULL,
	vtime   INTEGER NOT NULL,           -- modified, ns
	kind    TEXT    NOT NULL,
	source  TEXT    NOT NULL,
	target  TEXT    NOT NULL,
	revoked INTEGER NOT NULL,
	PRIMARY KEY (id, vtime)
) WITHOUT ROWID;
CREATE INDEX relations_source ON relations (source);
CREATE INDEX relations_target ON relations (target);

INSERT OR IGNORE INTO relations (id, vtime, kind, source, target, revoked)
SELECT id, vtime,
       json_extract(CAST(body AS TEXT), '$.relationship_type'),
       json_extract(CAST(body AS TEXT), '$.source_ref'),
       json_extract(CAST(body AS TEXT), '$.target_ref'),
       revoked
FROM versions
WHERE type = 'relationship'
  AND json_extract(CAST(body AS TEXT), '$.relationship_type') IN ('indicates', 'mitigates');
