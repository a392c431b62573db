-- Federation sync: durable cursors per peer, direction and collection,
-- counters per peer, and the provenance of object versions that crossed.

CREATE TABLE sync_cursors (
	peer         TEXT NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	direction    TEXT NOT NULL,          -- out | in | push
	collection   TEXT NOT NULL,
	seq          INTEGER NOT NULL DEFAULT 0,
	added        INTEGER NOT NULL DEFAULT 0, -- ns; 0: from the start
	agreement    BLOB,                   -- SHA-256 of the agreement (out)
	objects      INTEGER NOT NULL DEFAULT 0,
	last_success INTEGER NOT NULL DEFAULT 0, -- ns; 0: never
	last_error   TEXT NOT NULL DEFAULT '',
	updated      INTEGER NOT NULL,       -- ns
	PRIMARY KEY (peer, direction, collection)
) WITHOUT ROWID;

CREATE TABLE sync_counts (
	peer  TEXT NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	name  TEXT NOT NULL,
	value INTEGER NOT NULL,
	PRIMARY KEY (peer, name)
) WITHOUT ROWID;

-- route '' is the record a version arrived with (or its origin
-- signature); a peer's name, the record as sent on to that peer.
CREATE TABLE provenance (
	key    TEXT NOT NULL,
	route  TEXT NOT NULL,
	record BLOB NOT NULL,
	PRIMARY KEY (key, route)
) WITHOUT ROWID;
