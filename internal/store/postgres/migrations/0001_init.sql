-- Initial schema. Times are integers: version times (vtime, created,
-- modified) in nanoseconds since the Unix epoch, because STIX timestamps may
-- carry more than the microsecond precision timestamptz keeps and a version
-- key must round-trip exactly; date_added in microseconds, the precision
-- TAXII clients see and the unit the counter steps by.

-- Every stored object version, once per node. Versioned objects are keyed by
-- (id, modified-or-created); SCOs by (id, hash), with the time their content
-- was first stored as vtime so that (id, vtime) stays the one key.
CREATE TABLE versions (
    pk           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text    NOT NULL,
    type         text    NOT NULL,
    spec_version text    NOT NULL,
    created      bigint,
    modified     bigint,
    vtime        bigint  NOT NULL,
    revoked      boolean NOT NULL,
    hash         bytea   NOT NULL,
    body         bytea   NOT NULL,
    UNIQUE (id, vtime)
);
-- SCOs are found by content; the index is partial so that versioned
-- objects, the bulk of a store, do not pay for it.
CREATE INDEX versions_unversioned ON versions (id, hash)
    WHERE created IS NULL AND modified IS NULL;

-- One row per object id: its current version (latest vtime) and the earliest
-- revoked version time. The row is also the lock that serialises writers of
-- the object, so duplicate, conflict and revocation checks and the
-- first/last flags are decided without races.
CREATE TABLE heads (
    id         text   PRIMARY KEY,
    version_pk bigint NOT NULL,
    vtime      bigint NOT NULL,
    revoked_at bigint
);

CREATE TABLE collections (
    pk          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text    NOT NULL UNIQUE,
    alias       text    UNIQUE,
    title       text    NOT NULL,
    description text    NOT NULL,
    media_types text[],
    created     bigint  NOT NULL
);

-- A version listed in a collection. seq and date_added come from the counter
-- row, so both increase in commit order. The object columns are copied from
-- the version so that every TAXII filter is answered from this table's
-- indexes. No foreign keys: their per-row checks would run while the counter
-- row is locked, and Put alone writes these rows.
CREATE TABLE collection_rows (
    collection   integer NOT NULL,
    seq          bigint  NOT NULL,
    version_pk   bigint  NOT NULL,
    id           text    NOT NULL,
    type         text    NOT NULL,
    spec_version text    NOT NULL,
    vtime        bigint  NOT NULL,
    date_added   bigint  NOT NULL,
    is_first     boolean NOT NULL,
    is_last      boolean NOT NULL,
    PRIMARY KEY (collection, seq),
    -- A version is listed at most once per collection.
    UNIQUE (collection, id, vtime)
);
CREATE INDEX collection_rows_type  ON collection_rows (collection, type, seq);
CREATE INDEX collection_rows_type_last ON collection_rows (collection, type, seq) WHERE is_last;
CREATE INDEX collection_rows_added ON collection_rows (collection, date_added);
CREATE INDEX collection_rows_last  ON collection_rows (collection, seq) WHERE is_last;
CREATE INDEX collection_rows_first ON collection_rows (collection, seq) WHERE is_first;

-- The single commit-ordered counter: the last seq and date_added handed out.
CREATE TABLE counter (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq        bigint  NOT NULL,
    date_added bigint  NOT NULL
);
INSERT INTO counter (one, seq, date_added) VALUES (true, 0, 0);

-- The change log, one record per collection row, sharing its seq.
CREATE TABLE changes (
    seq        bigint  PRIMARY KEY,
    kind       text    NOT NULL,
    collection integer NOT NULL,
    id         text    NOT NULL,
    vtime      bigint  NOT NULL
);
