-- Provenance is kept by the version's pk instead of a text key made of the
-- object id and the version time: versions are stored, released and served
-- in pk order, so the records of a batch are written and read side by
-- side, where keys led by random object ids scattered every batch over the
-- whole index.

CREATE TABLE provenance_by_version (
    version_pk bigint NOT NULL REFERENCES versions (pk),
    route      text   NOT NULL,
    record     bytea  NOT NULL,
    shared     bytea,                -- NULL: the record is whole
    PRIMARY KEY (version_pk, route)
);

-- The old key is the object id, '@', and the version time in RFC 3339 UTC
-- with the fraction's trailing zeros dropped, or for an SCO '@sha256:' and
-- its content hash in lower-case hex. A record whose version is not stored
-- proves nothing and is not kept.
INSERT INTO provenance_by_version (version_pk, route, record, shared)
SELECT v.pk, p.route, p.record, p.shared
FROM provenance p
JOIN versions v ON v.id = split_part(p.key, '@', 1)
CROSS JOIN LATERAL (SELECT ((v.vtime % 1000000000) + 1000000000) % 1000000000 AS frac) f
WHERE p.key = v.id || '@' || CASE
    WHEN v.created IS NULL AND v.modified IS NULL THEN 'sha256:' || encode(v.hash, 'hex')
    ELSE to_char(to_timestamp(((v.vtime - f.frac) / 1000000000)::double precision) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN f.frac = 0 THEN '' ELSE '.' || rtrim(lpad(f.frac::text, 9, '0'), '0') END
        || 'Z'
    END;

DROP TABLE provenance;
ALTER TABLE provenance_by_version RENAME TO provenance;
ALTER TABLE provenance RENAME CONSTRAINT provenance_by_version_pkey TO provenance_pkey;
