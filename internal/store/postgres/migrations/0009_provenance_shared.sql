-- Provenance stored per batch: the part common to the records of a batch
-- (signed Merkle roots and the tree hashes the records' proofs are made
-- of) is kept once, content-addressed by its SHA-256, and each version's
-- row keeps only its own part and the hash of the shared one.

CREATE TABLE provenance_shared (
    hash bytea PRIMARY KEY, -- SHA-256 of body
    body bytea NOT NULL
);

-- NULL: the record is whole.
ALTER TABLE provenance ADD COLUMN shared bytea;
