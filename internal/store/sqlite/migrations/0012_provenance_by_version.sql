-- Provenance is kept by the version's pk instead of a text key made of the
-- object id and the version time: versions are stored, released and served
-- in pk order, so the records of a batch are written and read side by
-- side, where keys led by random object ids scattered every batch over the
-- whole table (one page written per record at a million versions).

CREATE TABLE provenance_by_version (
	version_pk INTEGER NOT NULL REFERENCES versions (pk),
	route      TEXT NOT NULL,
	record     BLOB NOT NULL,
	shared     BLOB,                 -- NULL: the record is whole
	PRIMARY KEY (version_pk, route)
) WITHOUT ROWID;

-- The old key is the object id, '@', and the version time in RFC 3339 UTC
-- with the fraction's trailing zeros dropped, or for an SCO '@sha256:' and
-- its content hash in lower-case hex. A record whose version is not stored
-- proves nothing and is not kept.
INSERT INTO provenance_by_version (version_pk, route, record, shared)
SELECT v.pk, p.route, p.record, p.shared
FROM provenance p
JOIN versions v ON v.id = substr(p.key, 1, instr(p.key, '@') - 1)
WHERE p.key = v.id || '@' || CASE
	WHEN v.created IS NULL AND v.modified IS NULL THEN 'sha256:' || lower(hex(v.hash))
	ELSE strftime('%Y-%m-%dT%H:%M:%S', (v.vtime - ((v.vtime % 1000000000) + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
		|| CASE WHEN ((v.vtime % 1000000000) + 1000000000) % 1000000000 = 0 THEN ''
			ELSE '.' || rtrim(printf('%09d', ((v.vtime % 1000000000) + 1000000000) % 1000000000), '0') END
		|| 'Z'
	END;

DROP TABLE provenance;
ALTER TABLE provenance_by_version RENAME TO provenance;
