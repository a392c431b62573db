-- What a node needs besides objects: accounts and collection grants, TAXII
-- statuses with the jobs that finish them, and node secrets.

CREATE TABLE orgs (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	country TEXT NOT NULL,
	sectors TEXT NOT NULL,             -- JSON array of strings
	kind    TEXT NOT NULL,
	created INTEGER NOT NULL           -- ns
);

CREATE TABLE users (
	name     TEXT PRIMARY KEY,
	org      TEXT NOT NULL REFERENCES orgs (id),
	role     TEXT NOT NULL,
	disabled INTEGER NOT NULL,
	created  INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org, name);

-- API tokens are stored as the SHA-256 of the secret only.
CREATE TABLE tokens (
	id      TEXT PRIMARY KEY,
	user    TEXT NOT NULL REFERENCES users (name),
	hash    BLOB NOT NULL UNIQUE,
	label   TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER,                   -- NULL: never
	revoked INTEGER NOT NULL
);
CREATE INDEX tokens_user ON tokens (user, created, id);

-- org is an organisation id or '*' (every organisation), so it is not a
-- foreign key.
CREATE TABLE grants (
	collection INTEGER NOT NULL REFERENCES collections (pk),
	org        TEXT NOT NULL,
	read       INTEGER NOT NULL,
	write      INTEGER NOT NULL,
	PRIMARY KEY (collection, org)
) WITHOUT ROWID;

-- A TAXII status; the detail lists are JSON arrays of {id, version, message}.
CREATE TABLE statuses (
	id         TEXT PRIMARY KEY,
	collection TEXT NOT NULL,
	user       TEXT NOT NULL,
	created    INTEGER NOT NULL,
	total      INTEGER NOT NULL,
	successes  TEXT NOT NULL,
	failures   TEXT NOT NULL,
	pendings   TEXT NOT NULL,
	finished   INTEGER NOT NULL
);
CREATE INDEX statuses_finished ON statuses (created) WHERE finished = 1;

-- The envelope a status waits on, leased by the instance that runs it.
-- pk orders claims (oldest first).
CREATE TABLE jobs (
	pk          INTEGER PRIMARY KEY,
	status      TEXT NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
	envelope    BLOB NOT NULL,
	lease_owner TEXT,
	lease_until INTEGER                -- ns; NULL: never leased
);

CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
