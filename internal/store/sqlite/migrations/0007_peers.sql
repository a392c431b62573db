-- Federation: this node's identity, its partner nodes and the sharing
-- agreements with them.

-- One row at most: the name partner nodes know this node by and its
-- country, which never changes once set.
CREATE TABLE node_info (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	name    TEXT NOT NULL,
	country TEXT NOT NULL,
	created INTEGER NOT NULL,        -- ns
	updated INTEGER NOT NULL         -- ns
);

-- cert_sha256 is unique because an incoming mutual-TLS connection is
-- attributed to a peer by its client certificate.
CREATE TABLE peers (
	name         TEXT PRIMARY KEY,
	url          TEXT NOT NULL,
	cert_sha256  BLOB NOT NULL UNIQUE,   -- SHA-256 of the certificate DER
	signing_key  BLOB,                   -- Ed25519 public key; NULL: unknown
	token        TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,       -- ns
	last_contact INTEGER NOT NULL DEFAULT 0 -- ns; 0: never
);

-- Every applied version of each peer's agreement; the highest is in force.
CREATE TABLE agreements (
	peer    TEXT NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	hash    BLOB NOT NULL,               -- SHA-256 of body
	body    BLOB NOT NULL,               -- canonical JSON
	applied INTEGER NOT NULL,            -- ns
	PRIMARY KEY (peer, version)
) WITHOUT ROWID;
