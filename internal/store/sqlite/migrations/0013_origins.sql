-- Origins: nodes whose provenance signatures this node verifies on the
-- objects its peers relay from them, without ever connecting to them (a
-- partner's partners). A peer of the same name supersedes an origin.
CREATE TABLE origins (
	name        TEXT PRIMARY KEY,
	signing_key BLOB NOT NULL CHECK (length(signing_key) = 32), -- Ed25519 public key
	country     TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL        -- ns
);
