-- Initial schema. Times are integers: version times (created, modified,
-- vtime) in nanoseconds since the Unix epoch, so a STIX timestamp's digits
-- are kept exactly; date_added in microseconds, the precision TAXII uses.

CREATE TABLE collections (
	pk          INTEGER PRIMARY KEY,      -- creation order
	id          TEXT NOT NULL UNIQUE,
	alias       TEXT UNIQUE,              -- NULL when the collection has none
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	media_types TEXT NOT NULL,            -- JSON array of strings
	created     INTEGER NOT NULL
);

-- Every version of every object, stored once. pk grows with each insert, so
-- the table itself is appended to; only the (id, vtime) index takes random
-- inserts.
CREATE TABLE versions (
	pk           INTEGER PRIMARY KEY,
	id           TEXT NOT NULL,
	vtime        INTEGER NOT NULL,        -- modified, else created, else first stored (SCO)
	hash         BLOB NOT NULL,           -- SHA-256 of body
	type         TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	created      INTEGER,                 -- NULL when absent
	modified     INTEGER,                 -- NULL when absent
	revoked      INTEGER NOT NULL,
	body         BLOB NOT NULL            -- last: reads that skip it (manifests) stop before it
);
CREATE UNIQUE INDEX versions_id_vtime ON versions (id, vtime);

-- Unversioned objects (SCOs) are found by content. The index is partial so
-- that versioned objects, the bulk of a store, do not pay for it.
CREATE INDEX versions_unversioned ON versions (id, hash)
	WHERE created IS NULL AND modified IS NULL;

-- A version listed in a collection. seq is global and commit-ordered; the
-- table is clustered by (collection, seq), so a page is one range scan.
CREATE TABLE collection_rows (
	collection  INTEGER NOT NULL REFERENCES collections (pk),
	seq         INTEGER NOT NULL,
	version_pk  INTEGER NOT NULL REFERENCES versions (pk),
	type        TEXT NOT NULL,            -- copied from the version for the type indexes
	date_added  INTEGER NOT NULL,         -- microseconds, unique, increasing with seq
	is_first    INTEGER NOT NULL,         -- oldest version of the object in this collection
	is_last     INTEGER NOT NULL,         -- newest version of the object in this collection
	PRIMARY KEY (collection, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX collection_rows_version ON collection_rows (collection, version_pk);

-- The indexes behind each page shape. Latest versions, the TAXII default,
-- have their own partial index. A type filter reads the type's range and
-- skips rows that are not selected, so it reads about versions-per-object
-- rows per row returned; "first" and exact version times likewise filter
-- the all-versions range. Each index costs every Put, so only the default
-- gets an exact one.
CREATE INDEX collection_rows_last ON collection_rows (collection, seq) WHERE is_last = 1;
CREATE INDEX collection_rows_type ON collection_rows (collection, type, seq);
-- added_after becomes a seq bound: seq and date_added increase together.
CREATE INDEX collection_rows_date_added ON collection_rows (date_added);

-- The single counter row from which each write transaction takes its seq
-- range and date_added values.
CREATE TABLE counter (
	one             INTEGER PRIMARY KEY CHECK (one = 1),
	last_seq        INTEGER NOT NULL,
	last_date_added INTEGER NOT NULL      -- microseconds
);
INSERT INTO counter (one, last_seq, last_date_added) VALUES (1, 0, 0);

-- The change log, in commit order. Records are self-contained, so followers
-- need no join to act on them.
CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY,
	kind       TEXT NOT NULL,
	collection INTEGER NOT NULL REFERENCES collections (pk),
	id         TEXT NOT NULL,
	vtime      INTEGER NOT NULL
);

