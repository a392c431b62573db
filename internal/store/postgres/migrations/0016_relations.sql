-- Relationship versions by the objects they join, for indexes that follow
-- relationships (the detection engine's indicates and mitigates) without
-- reading every relationship. The write path records new versions; those
-- stored before are recorded here.
CREATE TABLE relations (
    id      text    NOT NULL,
    vtime   bigint  NOT NULL,           -- modified, ns
    kind    text    NOT NULL,
    source  text    NOT NULL,
    target  text    NOT NULL,
    revoked boolean NOT NULL,
    PRIMARY KEY (id, vtime)
);
CREATE INDEX relations_source ON relations (source);
CREATE INDEX relations_target ON relations (target);

INSERT INTO relations (id, vtime, kind, source, target, revoked)
SELECT id, vtime, b->>'relationship_type', b->>'source_ref', b->>'target_ref', revoked
FROM (SELECT id, vtime, revoked, convert_from(body, 'UTF8')::jsonb AS b
      FROM versions WHERE type = 'relationship') r
WHERE b->>'relationship_type' IN ('indicates', 'mitigates')
ON CONFLICT DO NOTHING;
