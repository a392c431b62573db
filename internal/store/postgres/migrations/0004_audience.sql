-- Policy in the index. A version keeps the policy metadata of its first
-- store: its submitter, the policy's encoded facts about it, and its
-- audience, the keys of readers who may possibly see it. The keys are kept
-- on the version so that listing it in another collection later gives the
-- new row the same keys without asking the policy again.
ALTER TABLE versions
    ADD COLUMN submitter text   NOT NULL DEFAULT '',
    ADD COLUMN facts     bytea,
    ADD COLUMN audience  text[] NOT NULL DEFAULT '{}';

-- One row per collection row and audience key of its version. A reader's
-- page is found by merging, key by key, the seqs after its cursor in this
-- primary key, so the cost of a page follows the rows the reader may see,
-- not the size of the collection. Rows are written by Put in the statement
-- that takes their seqs from the counter, and removed by Delete with their
-- collection rows; as for collection_rows, no foreign keys.
--
-- Versions stored before this migration have no keys, hence no audience
-- rows: a query restricted to an audience does not return them.
CREATE TABLE audience (
    collection integer NOT NULL,
    key        text    NOT NULL,
    seq        bigint  NOT NULL,
    PRIMARY KEY (collection, key, seq)
);
