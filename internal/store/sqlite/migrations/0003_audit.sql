-- The audit log: an append-only, hash-chained sequence of records (see
-- package audit). Each record holds ids, versions and hashes only.
--
-- audit_head is one row naming the last record (seq 0 and the zero hash
-- while the log is empty). It is written in the same transaction as the
-- records, under the single writer, so a record and the head that covers it
-- commit together; deleting records from the end then leaves a head that
-- points past the log.

CREATE TABLE audit_log (
	seq        INTEGER PRIMARY KEY,    -- 1, 2, 3, … without gaps
	time       INTEGER NOT NULL,       -- µs since the Unix epoch
	actor      TEXT NOT NULL,
	org        TEXT NOT NULL,
	action     TEXT NOT NULL,
	path       TEXT NOT NULL,
	collection TEXT NOT NULL,
	objects    TEXT NOT NULL,          -- JSON array of "id@version" strings
	rule       TEXT NOT NULL,
	status     INTEGER NOT NULL,
	prev       BLOB NOT NULL CHECK (length(prev) = 32),
	hash       BLOB NOT NULL CHECK (length(hash) = 32)
);
-- Export filters by time and by actor; both page by seq.
CREATE INDEX audit_log_time ON audit_log (time, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TABLE audit_head (
	one  INTEGER PRIMARY KEY CHECK (one = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (one, seq, hash) VALUES (1, 0, zeroblob(32));

-- The store never changes or removes a record; these triggers make the
-- database refuse it too, so a mistaken statement cannot. (Someone able to
-- drop them is what the hash chain is for.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
	SELECT RAISE(ABORT, 'audit_head cannot be removed');
END;
