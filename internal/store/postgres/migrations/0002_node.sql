-- What a node needs beside its objects: organisations, users, API tokens,
-- collection grants, TAXII statuses with their jobs, and node secrets.
--
-- These records are not version keys, so their times are timestamptz: the
-- microsecond precision it keeps is more than any of them needs, and an
-- operator reading the tables sees dates.

CREATE TABLE orgs (
    id      text        PRIMARY KEY,
    name    text        NOT NULL,
    country text        NOT NULL,
    kind    text        NOT NULL,
    sectors text[]      NOT NULL DEFAULT '{}',
    created timestamptz NOT NULL
);

CREATE TABLE users (
    name     text        PRIMARY KEY,
    org      text        NOT NULL REFERENCES orgs (id),
    role     text        NOT NULL,
    disabled boolean     NOT NULL DEFAULT false,
    created  timestamptz NOT NULL
);
CREATE INDEX users_org ON users (org);

-- A token is found by the SHA-256 of its secret on every request; the
-- secret itself is never stored.
CREATE TABLE tokens (
    id        text        PRIMARY KEY,
    user_name text        NOT NULL REFERENCES users (name),
    hash      bytea       NOT NULL UNIQUE,
    label     text        NOT NULL,
    created   timestamptz NOT NULL,
    expires   timestamptz,
    revoked   boolean     NOT NULL DEFAULT false
);
CREATE INDEX tokens_user ON tokens (user_name);

-- org is an organisation id or '*' (every organisation), so it has no
-- foreign key. A grant with neither right is deleted, never stored.
CREATE TABLE grants (
    collection integer NOT NULL REFERENCES collections (pk),
    org        text    NOT NULL,
    read       boolean NOT NULL,
    write      boolean NOT NULL,
    PRIMARY KEY (collection, org)
);

-- One row per TAXII POST. The details are kept as JSON arrays of
-- {"id", "version", "message"}: a status is always read and written whole.
-- collection and user_name are kept as posted, without foreign keys: a
-- status records a request and stays readable whatever later becomes of
-- what it names.
CREATE TABLE statuses (
    id         text        PRIMARY KEY,
    collection text        NOT NULL,
    user_name  text        NOT NULL,
    created    timestamptz NOT NULL,
    total      integer     NOT NULL,
    successes  jsonb       NOT NULL,
    failures   jsonb       NOT NULL,
    pendings   jsonb       NOT NULL,
    finished   boolean     NOT NULL DEFAULT false
);
CREATE INDEX statuses_finished ON statuses (created) WHERE finished;

-- The envelope of an undecided status, leased by one worker at a time.
-- lease_until is on the database's clock, the one clock every instance
-- shares.
CREATE TABLE jobs (
    status_id   text        PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    envelope    bytea       NOT NULL,
    lease_owner text,
    lease_until timestamptz,
    created     timestamptz NOT NULL
);
CREATE INDEX jobs_created ON jobs (created, status_id);

CREATE TABLE secrets (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
