-- Federation sync: durable cursors per peer, direction and collection,
-- counters per peer, and the provenance of object versions that crossed.

CREATE TABLE sync_cursors (
    peer         text        NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
    direction    text        NOT NULL,          -- out | in | push
    collection   text        NOT NULL,
    seq          bigint      NOT NULL DEFAULT 0,
    added        timestamptz,                   -- NULL: from the start
    agreement    bytea,                         -- SHA-256 of the agreement (out)
    objects      bigint      NOT NULL DEFAULT 0,
    last_success timestamptz,                   -- NULL: never
    last_error   text        NOT NULL DEFAULT '',
    updated      timestamptz NOT NULL,
    PRIMARY KEY (peer, direction, collection)
);

CREATE TABLE sync_counts (
    peer  text   NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
    name  text   NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (peer, name)
);

-- route '' is the record a version arrived with (or its origin
-- signature); a peer's name, the record as sent on to that peer.
CREATE TABLE provenance (
    key    text  NOT NULL,
    route  text  NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (key, route)
);
