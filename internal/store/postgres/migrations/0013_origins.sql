-- Origins: nodes whose provenance signatures this node verifies on the
-- objects its peers relay from them, without ever connecting to them (a
-- partner's partners). A peer of the same name supersedes an origin.
CREATE TABLE origins (
    name        text        PRIMARY KEY,
    signing_key bytea       NOT NULL CHECK (octet_length(signing_key) = 32), -- Ed25519 public key
    country     text        NOT NULL DEFAULT '',
    created     timestamptz NOT NULL
);
