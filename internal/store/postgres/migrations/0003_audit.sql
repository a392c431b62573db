-- The audit log: an append-only, hash-chained sequence of records (see
-- package audit). Each record holds ids, versions and hashes only.
--
-- audit_head is one row naming the last record (seq 0 and the zero hash
-- while the log is empty). Every append locks it (SELECT … FOR UPDATE) for
-- the whole transaction, so appends from all instances are chained one after
-- another, and a record and the head that covers it commit together:
-- deleting records from the end then leaves a head that points past the log.

CREATE TABLE audit_log (
    seq        bigint      PRIMARY KEY,   -- 1, 2, 3, … without gaps
    time       timestamptz NOT NULL,
    actor      text        NOT NULL,
    org        text        NOT NULL,
    action     text        NOT NULL,
    path       text        NOT NULL,
    collection text        NOT NULL,
    objects    jsonb       NOT NULL,      -- array of "id@version" strings
    rule       text        NOT NULL,
    status     integer     NOT NULL,
    prev       bytea       NOT NULL CHECK (length(prev) = 32),
    hash       bytea       NOT NULL CHECK (length(hash) = 32)
);
-- Export filters by time and by actor; both page by seq.
CREATE INDEX audit_log_time ON audit_log (time, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint  NOT NULL,
    hash bytea   NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- The store never changes or removes a record; these triggers make the
-- database refuse it too, so a mistaken statement cannot. (Someone able to
-- disable them is what the hash chain is for.)
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
