-- Federation: this node's identity, its partner nodes and the sharing
-- agreements with them.

-- One row at most: the name partner nodes know this node by and its
-- country, which never changes once set.
CREATE TABLE node_info (
    id      integer     PRIMARY KEY CHECK (id = 1),
    name    text        NOT NULL,
    country text        NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL
);

-- cert_sha256 is unique because an incoming mutual-TLS connection is
-- attributed to a peer by its client certificate.
CREATE TABLE peers (
    name         text        PRIMARY KEY,
    url          text        NOT NULL,
    cert_sha256  bytea       NOT NULL UNIQUE,   -- SHA-256 of the certificate DER
    signing_key  bytea,                         -- Ed25519 public key; NULL: unknown
    token        text        NOT NULL DEFAULT '',
    created      timestamptz NOT NULL,
    last_contact timestamptz                    -- NULL: never
);

-- Every applied version of each peer's agreement; the highest is in force.
CREATE TABLE agreements (
    peer    text        NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
    version bigint      NOT NULL,
    hash    bytea       NOT NULL,               -- SHA-256 of body
    body    bytea       NOT NULL,               -- canonical JSON
    applied timestamptz NOT NULL,
    PRIMARY KEY (peer, version)
);
